"""/delete (Telegram, as a reply): a member takes back a message, everywhere.

Telegram gives bots no delete events, so a member asks. The command names the message
it replies to (``Command.reply_to``, in the command's chat): either an original written
there, or a relayed copy (then the id map says which original it stands for). Who may:

- its author: the original is in their index of what they wrote (core/storage/members.py,
  written when it crossed), so a copy of their message in another chat works too;
- an admin of the chat where /delete is said (``Command.admin``): any message there.

What goes: every copy of the original in every chat (delete posts, as when a Discord
member deletes a message), the original too where it is a Telegram message the bot may
delete (its author asked, or it is in the admin's own chat: an admin of one chat has no
say over the original in another), and the /delete message itself. Telegram deletes
only messages younger than 48 hours: past that, the copies on Discord still go and the
member is told that the Telegram ones stay. Someone else's message: refused privately,
nothing deleted. The answers are in the chat community's language.

A command run twice (a redelivered update is deduplicated at the ingress; a worker crash
runs it again) queues its deletes with retiring the command, once (workers/ordering.py);
a delete delivered twice finds nothing the second time.
"""

from __future__ import annotations

import time

from core import delete_phrases
from core.idmap import origin_sync, trace_sync
from core.links import LinksConfig
from core.models import ChatRef, Command, EventKind, MessageRef, OutboundPost
from core.storage import members
from core.storage.keys import Keys
from core.storage.reactions import forget_sync as forget_reactions

from .notices import SYSTEM_LINK, answer, tell_privately

TELEGRAM_WINDOW = 48 * 3600  # seconds: Telegram's bots delete messages younger than this only
TELEGRAM = "telegram"


def handle(command: Command, config: LinksConfig, redis, keys: Keys, now: float | None = None) -> list[OutboundPost]:
    now = time.time() if now is None else now
    language = _language(config, command.chat)
    if command.platform != TELEGRAM:
        return [answer(command, delete_phrases.on_discord(language))]
    if command.private or not command.reply_to:
        text = delete_phrases.how_to(language)
        return [tell_privately(command, text, fallback=text)]
    replied = MessageRef(command.platform, command.chat_id, command.reply_to)
    link_id, source = _original(redis, keys, replied)
    links = [link_id] if link_id else [m.link.id for m in config.memberships(source.chat)]
    author = members.wrote_any(redis, keys, command.user_ref, [f"{link}|{source.key}" for link in links])
    if not (author or command.admin):
        text = delete_phrases.refused(language)
        return [tell_privately(command, text, fallback=text)]
    trace = trace_sync(redis, keys, source)
    found = {*trace.copies, *((i.link_id, i.destination) for i in trace.unknown)}
    destinations = sorted(found, key=lambda pair: (pair[0], pair[1].key))
    if not destinations:
        text = delete_phrases.not_relayed(language)
        return [tell_privately(command, text, fallback=text)]
    too_old = bool(command.reply_to_at) and now - command.reply_to_at > TELEGRAM_WINDOW
    posts = [
        _delete(link, destination, source, config)
        for link, destination in destinations
        if not (too_old and destination.platform == TELEGRAM)
    ]
    if not too_old and source.platform == TELEGRAM and (author or source.chat == command.chat):
        posts.append(_delete(destinations[0][0], source.chat, source, config, itself=True))
    # The reactions counted on its copies go with them, and the count line replying to it.
    forget_reactions(redis, keys, source, max((post.retention_days for post in posts), default=1))
    # The /delete message goes too (it is the member's own, and new: the 48 hours do not bite).
    said = MessageRef(command.platform, command.chat_id, command.message_id)
    posts.append(_delete(SYSTEM_LINK, command.chat, said, config, itself=True))
    if too_old:
        text = delete_phrases.too_old(language, others_go=any(d.platform != TELEGRAM for _, d in destinations))
        posts.append(tell_privately(command, text, fallback=text))
    return posts


def _original(redis, keys: Keys, replied: MessageRef) -> tuple[str, MessageRef]:
    """(link, original) when ``replied`` is a relayed copy, else ("", ``replied``)."""
    found = origin_sync(redis, keys, replied)
    return found if found is not None else ("", replied)


def _delete(
    link_id: str, destination: ChatRef, source: MessageRef, config: LinksConfig, *, itself: bool = False
) -> OutboundPost:
    link = config.link(link_id)
    return OutboundPost(
        kind=EventKind.DELETE,
        link_id=link_id,
        destination=destination,
        source=source,
        sender="",
        community="",
        retention_days=link.policy.retention_days if link is not None else 1,
        itself=itself,
    )


def _language(config: LinksConfig, chat: ChatRef) -> str:
    community = config.community_of(chat)
    return community.language if community is not None else "en"
