"""The member and moderator commands (the same words on both platforms).

Adapters recognise them here and hand them to the workers as
:class:`~core.models.Command`; a command is never relayed to the other side.
"""

from __future__ import annotations

import re

from . import phrases
from .announcements import parse_rsvp_button

# name -> (description shown by the platform, takes an argument)
COMMANDS: dict[str, str] = {
    "consent": "Let your messages cross to the twin chats (/consent withdraw stops it)",
    "privacy": "What this bridge shares, with whom, and for how long",
    "mydata": "Everything the bridge stores about you, sent to you privately",
    "forgetme": "Erase what the bridge stores about you and the copies of your messages",
    "approve": "Moderators: let a held message cross (/approve ID)",
    "reject": "Moderators: refuse a held message (/reject ID)",
}
# Understood but not advertised: /start opens a private chat with the bot on Telegram.
HIDDEN = ("start",)

_COMMAND = re.compile(r"^/([A-Za-z]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)


def parse(text: str, bot_username: str | None = None) -> tuple[str, str] | None:
    """("consent", "withdraw") for "/consent withdraw"; None if ``text`` is not
    one of our commands (or is addressed to another bot)."""
    match = _COMMAND.match((text or "").strip())
    if not match:
        return None
    name = match.group(1).lower()
    if name not in COMMANDS and name not in HIDDEN:
        return None
    addressed = re.match(r"^/[A-Za-z]+@(\w+)", text.strip())
    if addressed and bot_username and addressed.group(1).lower() != bot_username.lower():
        return None
    return name, (match.group(2) or "").strip()


def parse_button(data: str) -> tuple[str, str] | None:
    """The command a button press stands for: buttons carry "approve:ID" / "reject:ID",
    and an event notice's RSVP buttons "rsvp:ID:CHOICE" (core.announcements), which is
    the command ("rsvp", "ID CHOICE")."""
    rsvp = parse_rsvp_button(data)
    if rsvp is not None:
        return "rsvp", " ".join(rsvp)
    name, _, args = (data or "").partition(":")
    return (name, args) if name in ("approve", "reject") and args else None


def pressed(name: str, args: str, language: str) -> str:
    """What a button press is answered at once, before the workers decide (a short
    toast on Telegram, an ephemeral line on Discord): for an RSVP the choice in the
    chat community's words ("✓ Zusage"), else an ellipsis (the answer follows)."""
    if name == "rsvp":
        choice = args.rpartition(" ")[2]
        label = phrases.rsvp_labels(language).get(choice)
        return f"✓ {label}" if label else "✓"
    return "…"
