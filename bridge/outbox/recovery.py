"""Posts an earlier attempt may have sent without recording them: a NEW post's intent
(core/intents.py) is left over after a crash or an error that may have posted it; the
platform is searched for its messages before the post is sent again."""

from __future__ import annotations

import logging

from core.intents import Intents
from core.models import OutboundPost
from core.stats import Stats
from core.storage.deliveries import DeliveryBook
from core.storage.writes import Writes

from ..adapter import Sender

log = logging.getLogger(__name__)

UNREAD = object()  # the intent is read from Redis (else: the caller read it, None or one)


class Recovery:
    def __init__(self, sender: Sender, book: DeliveryBook, intents: Intents, stats: Stats):
        self._sender = sender
        self._book = book
        self._intents = intents
        self._stats = stats

    async def find_intended(self, post: OutboundPost, intent=UNREAD) -> tuple[list[str], bool, bool] | None:
        """Look on the platform for the messages of the intent ``post`` left unrecorded:
        None without such an intent, else (ids found, whether all parts were found,
        whether the platform let us look at all). ``intent``: already read (a
        :class:`~core.intents.DeliveryIntent` or None), else read here."""
        if intent is UNREAD:
            intent = await self._intents.get(post.link_id, post.source, post.destination)
        if intent is None:
            return None
        found = await self._sender.find_sent(intent, post)
        platform = self._sender.platform
        if found is None:  # the platform does not let us look (Telegram)
            await self._stats.incr(f"{platform}.intent.unverifiable")
            return [], False, False
        ids = [i for i in found if i is not None]
        complete = bool(ids) and len(ids) == len(found)
        await self._stats.incr(f"{platform}.intent.{'found' if complete else 'partly_found' if ids else 'not_found'}")
        return ids, complete, True

    async def sent_earlier(self, post: OutboundPost, intent=UNREAD) -> Writes | None:
        """The id-map writes of ``post`` if an earlier attempt did post it, else None (send it).
        A split post found only in part is taken back, so that sending it again shows it once."""
        looked = await self.find_intended(post, intent)
        if looked is None:
            return None
        ids, complete, _ = looked
        if complete:
            log.info(
                "a post to %s was found on the platform, sent before a restart or error; recorded, not sent again",
                post.destination.key,
            )
            return self._book.copies(post, ids)
        if ids:
            await self._sender.delete(post, ids)
        return None

    async def recover_copies(self, post: OutboundPost) -> list[str]:
        """For an edit or delete of a post without recorded copies: the copies an
        unrecorded intent left, found on the platform and recorded now (else [])."""
        looked = await self.find_intended(post)
        if looked is None or not looked[1]:
            return []
        ids = looked[0]
        await self._book.record_now(self._book.copies(post, ids))
        return ids
