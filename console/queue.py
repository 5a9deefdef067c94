"""The approval queue: what waits for a moderator, and their decisions.

A decision is handed to the workers exactly as a moderator's /approve or /reject in chat is:
a :class:`~core.models.Command` through the ingress (bridge/ingress.py) to the moderation
worker, which checks the moderator, the link's pause and the author's consent, releases an
approved message to the translation stage (workers/holds.py) and tells the moderator
privately. So what the console approves arrives as a chat approval does, and a rejected
message never does. The console's commands are answered privately (``private_to``): they
were said in no chat.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from core.links import Link, LinksConfig
from core.models import Author, Command, PlatformEvent
from core.storage import holds as stored_holds
from core.storage.keys import Keys

DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class HeldItem:
    hold_id: str
    shown_as: str
    preview: str  # redacted, as the policy lets it cross
    written_at: float
    attachments: int
    position: int = 0  # its place in its chat (the order it was written in)


def waiting(redis, keys: Keys, link: Link) -> list[HeldItem]:
    items = []
    for hold_id, stored in stored_holds.pending_in_link(redis, keys, link.id):
        event = PlatformEvent.from_dict(stored["event"])
        items.append(
            HeldItem(
                hold_id=hold_id,
                shown_as=stored.get("shown_as") or "a member",
                # A hold made before the console existed kept no redacted copy: not shown here.
                preview=stored.get("preview", "(open it in your private chat with the bot)"),
                written_at=event.timestamp,
                attachments=len(event.attachments),
                position=event.seq,
            )
        )
    # In the order they were written (two held side by side may be held in either order).
    return sorted(items, key=lambda item: (item.written_at, item.position))


def signature(items: list[HeldItem]) -> str:
    """What the page shows, in a few characters: a poll answers "no change" when it is the same."""
    return hashlib.sha256(",".join(i.hold_id for i in items).encode()).hexdigest()[:16]


def stored(redis, keys: Keys, hold_id: str, link_id: str) -> dict | None:
    """The stored hold ``hold_id`` if it waits in ``link_id``."""
    found = stored_holds.load(redis, keys, hold_id)
    return found if found is not None and found.get("link_id") == link_id else None


def belongs(redis, keys: Keys, hold_id: str, link_id: str) -> bool:
    return stored(redis, keys, hold_id, link_id) is not None


def decision(moderator: str, name: str, hold_id: str, language: str = "") -> Command:
    """The command a moderator's click stands for: theirs, as if said to the bot."""
    platform, _, user_id = moderator.partition(":")
    return Command(
        name=name,
        args=hold_id,
        platform=platform,
        # Said in no chat: the answer goes to the moderator privately (private_to), and the
        # command takes its place in a sequence of its own (the click's id).
        chat_id=user_id,
        message_id=f"console-{uuid.uuid4().hex}",
        user=Author(id=user_id, display_name=""),
        private=False,
        via="console",
        language=language,  # the answer in the moderator's language where the bridge has words for it
    )


def languages_across(config: LinksConfig, link: Link) -> str:
    from core.phrases import language_name

    return ", ".join(language_name(lang) for lang in config.languages(link))
