"""/console: a one-time sign-in link to the web console, privately, for the organisers and
moderators the configuration names (issue 18). The link's token is stored only as a hash
(core/storage/console.py); it is never logged, and is never said in a group: where the bot
cannot write privately, the member is told how to open a private chat instead."""

from __future__ import annotations

from core.console_access import named
from core.links import LinksConfig
from core.models import Command, OutboundPost
from core.storage import console

from .notices import tell_privately

NOT_NAMED = (
    "The web console is for the organisers and moderators named in the bridge's configuration. "
    "Ask whoever runs the bridge to add you."
)
NOT_SET_UP = "The web console is not set up on this bridge (TWINBRIDGE_CONSOLE_URL is not set): ask whoever runs it."


def handle(command: Command, config: LinksConfig, redis, keys, console_url: str) -> list[OutboundPost]:
    if not named(config, command.user_ref):
        return [tell_privately(command, NOT_NAMED, fallback=NOT_NAMED)]
    if not console_url:
        return [tell_privately(command, NOT_SET_UP, fallback=NOT_SET_UP)]
    token = console.new_signin(redis, keys, command.user_ref)
    minutes = keys.CONSOLE_SIGNIN_TTL // 60
    text = (
        f"Your sign-in link to the twinbridge console (it works once, for {minutes} minutes; "
        f"do not pass it on):\n{console_url}/signin/{token}"
    )
    # fallback=None: said in a group, the group is told only how to open a private chat.
    return [tell_privately(command, text)]
