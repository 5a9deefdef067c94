"""Erasure at the moment of sending: a post whose author was erased after writing it
does not go out (or is taken back at once), and a notice showing a member's data is
noted where it went, so that their erasure can delete it."""

from __future__ import annotations

import logging

from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.stats import Stats
from core.storage.deliveries import DeliveryBook

from ..adapter import DeliveryError, Sender

log = logging.getLogger(__name__)


def notice_chat(post: OutboundPost) -> ChatRef:
    """Where a notice without a fallback went: the member's private chat when it was
    sent privately (on Telegram its id is the member's; on Discord the sender opens the
    DM channel from ``private_to`` again), else its destination."""
    if post.private_to:
        return ChatRef(post.destination.platform, post.private_to)
    return post.destination


def notice_ref(post: OutboundPost) -> MessageRef:
    """The id-map reference of a notice's copies: its destination chat and a digest
    of the notice (one command may be answered several times from one message)."""
    digest = post.delivery_key.rsplit(":", 1)[-1]
    return MessageRef(post.destination.platform, post.destination.chat_id, f"notice-{digest}")


class ErasureGuard:
    def __init__(self, sender: Sender, book: DeliveryBook, stats: Stats):
        self._sender = sender
        self._book = book
        self._stats = stats

    async def author_erased(self, post: OutboundPost) -> bool:
        """Whether ``post`` shows what a member wrote before their erasure."""
        if not post.author or post.kind not in (EventKind.NEW, EventKind.EDIT, EventKind.NOTICE):
            return False
        return await self._book.erased_since(post.author, post.written_at)

    async def take_back(self, post: OutboundPost, ids: list[str]) -> bool:
        """The author was erased while their post was being sent (the platform client
        may retry for seconds): delete it at once. False if that failed (then it is
        recorded as usual, for a later erasure to find)."""
        try:
            await self._sender.delete(post, ids)
        except DeliveryError as exc:
            log.warning("could not take back a post of an erased member in %s: %s", post.destination.key, exc.reason)
            return False
        await self._stats.incr(f"{self._sender.platform}.erasure.taken_back")
        return True

    async def note_notice(self, post: OutboundPost, ids: list[str]) -> bool:
        """Remember where a notice showing a member's data went, for their erasure (its
        copies go in the id map under a reference of their own); False, recording
        nothing, when the member's tombstone is there."""
        return await self._book.note_notice(post, notice_ref(post), notice_chat(post), ids)
