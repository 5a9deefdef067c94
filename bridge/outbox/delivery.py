"""Delivering one post: rate limited, retried, looked for on the platform when an earlier
attempt may have sent it, dead-lettered when hopeless; then its bookkeeping, in one
transaction (core/storage/deliveries.py)."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import AsyncRetrying, retry_if_exception_type

from core import deadletters
from core.backoff import Backoff, log_retry
from core.correlation import correlated, of_source
from core.idmap import IdMap
from core.intents import Intents
from core.models import EventKind, MessageRef, OutboundPost
from core.ratelimit import Booking
from core.stats import Stats
from core.storage.deliveries import DeliveryBook
from core.storage.writes import Writes, together
from core.storage.keys import Keys

from .. import metrics
from ..adapter import DeliveryError, Sender
from ..media.refusals import RefusalNotices, collecting
from .erasure import ErasureGuard, notice_chat
from .recovery import UNREAD, Recovery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_RATE_LIMITED = 1000  # 429s in a row before a post counts them as failed attempts
SKIPPED = object()  # an edit or delete of a post that has no copy in the destination
# After a 5xx, a timeout or a network error (a 429 waits its retry_after instead).
RETRY_BACKOFF = Backoff(first=0.5, cap=30.0, jitter=(0.5, 1.0))
# How old the first look's tombstone read may be at the first attempt (else read again).
FIRST_LOOK_FRESH = 0.05
# Recording a sent post while Redis is away: for as long as it takes.
RECORD_BACKOFF = Backoff(first=0.25, cap=5.0)
# A post wakes a lead before its rate-limit slot to check what must be checked right
# before it is sent (its author not erased, no earlier attempt's copy), so the request
# leaves at the slot: the lead follows what those checks take (LEAD_FACTOR times,
# decaying by LEAD_DECAY a post), at most MAX_LEAD.
LEAD_FACTOR, LEAD_DECAY, MAX_LEAD = 1.5, 0.95, 0.25


async def on_time(booking: Booking | None) -> None:
    """Right before a request: keep the post's rate-limit slot, or move it if late."""
    if booking is not None:
        await booking.on_time()


class Delivery:
    def __init__(
        self,
        redis,
        keys: Keys,
        sender: Sender,
        book: DeliveryBook,
        stats: Stats,
        *,
        released: Callable[[object], Awaitable[None]],
        limiter=None,
        limits_for: Callable[[str], Sequence] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        refusals: RefusalNotices | None = None,
    ):
        self._redis = redis  # for the dead letters (core/deadletters.py)
        self.refusals = refusals  # tells a member once that a file of theirs did not cross
        self._keys = keys
        self.sender = sender
        self.book = book
        self.stats = stats
        self._released = released  # told when an entry is dealt with (the consumer's back-pressure)
        self.limiter = limiter
        self.limits_for = limits_for
        self.max_attempts = max_attempts
        self._lead = 0.0  # seconds between waking for a slot and the request (estimated)
        self._idmap = IdMap(redis, keys)
        self._intents = Intents(redis, keys)
        self.recovery = Recovery(sender, book, self._intents, stats)
        self.erasure = ErasureGuard(sender, book, stats)

    @property
    def platform(self) -> str:
        return self.sender.platform

    async def pace(self, post: OutboundPost, *, lead: float = 0.0) -> Booking | None:
        """Wait for this post's turn under the shared rate limits of its destination,
        or only until ``lead`` seconds before it: the caller then does what must come
        right before the request and calls :func:`on_time`, which waits for the rest.
        Each waits until the booked moment, and a send that would leave late (a busy
        machine) has its booking moved instead (core/ratelimit.py)."""
        if self.limiter is None or self.limits_for is None:
            return None
        booking = await self.limiter.book(self.limits_for(post.destination.chat_id))
        if lead > 0:
            await booking.wait(lead)
        else:
            await booking.on_time()
        return booking

    def _prepared(self, booking: Booking | None, since: float) -> None:
        """Note how long the checks between waking and the request took (the lead)."""
        if booking is not None:
            took = time.monotonic() - since
            self._lead = min(MAX_LEAD, max(LEAD_FACTOR * took, LEAD_DECAY * self._lead))

    async def pause_destination(self, post: OutboundPost, delay: float, *, shared: bool = False) -> None:
        """The platform said "later": everyone sending to this chat waits, not just this
        lane; after a 429 of a limit all chats share (``shared``: Discord's global one),
        everyone sending anywhere (its per-bot bucket is paused too)."""
        if self.limiter is not None and self.limits_for is not None:
            limits = self.limits_for(post.destination.chat_id)
            for limit in limits if shared else limits[:1]:
                await self.limiter.pause(limit.bucket, delay)

    async def deliver(self, post: OutboundPost, entry_id=None) -> None:
        """Deliver one post: rate limited, retried, dead-lettered when hopeless; then
        record it (id map, delivery marker, order cursor) and acknowledge ``entry_id``,
        all in one transaction. Its log lines carry its message's correlation id."""
        with correlated(of_source(post.source)):
            await self._deliver(post, entry_id)

    async def _deliver(self, post: OutboundPost, entry_id=None) -> None:
        # The reads before a NEW post's (or a notice's) first attempt, in one round trip.
        first = await self.book.first_look(post) if post.kind in (EventKind.NEW, EventKind.NOTICE) else None
        if first is not None and first.delivered:
            await self.stats.incr(f"{self.platform}.delivery.duplicate")
            await self.finish(post, entry_id)
            return
        attempt = limited = 0
        # A NEW post may have been sent already, by a process that died before recording
        # it (its intent is still there): look for it before sending it again. Also after
        # an error that leaves open whether the platform took the post (5xx, timeout).
        look_first = post.kind == EventKind.NEW
        while True:
            attempt += 1
            paced_from = time.monotonic()
            booking = await self.pace(post, lead=self._lead)
            woke = time.monotonic()
            # Its author was erased while it waited (in the lane, for its turn, for a
            # retry): it must not go out now. Checked right before each attempt: the first
            # look counts as that unless pacing kept the post waiting.
            fresh = first is not None and woke - paced_from < FIRST_LOOK_FRESH
            erased = first.erased if first is not None and fresh else await self.erasure.author_erased(post)
            if erased:
                await self._refuse_erased(post, entry_id)
                return
            intent = first.intent if first is not None else UNREAD  # only this lane writes it
            first = None
            try:
                recovered = await self.recovery.sent_earlier(post, intent) if look_first else None
                look_first = False
                self._prepared(booking, woke)
                await on_time(booking)
                try:
                    writes = recovered if recovered is not None else await self._deliver_once(post, booking)
                finally:
                    if booking is not None and booking.moves:
                        # Sent late by a busy process: its slot was moved (core/ratelimit.py).
                        self.stats.incr_soon(f"{self.platform}.delivery.slot_moved", booking.moves)
                accepted_at = time.time()  # the platform has answered: the copy is there
            except DeliveryError as exc:
                if post.kind == EventKind.NEW and exc.retry_after is None and not exc.permanent:
                    look_first = True
                if exc.retry_after is not None and not exc.permanent:
                    # A 429 is the platform saying "later", not a failure: it does not
                    # use up the attempts (but a platform that never stops is bounded).
                    limited += 1
                    if limited <= MAX_RATE_LIMITED:
                        attempt -= 1
                if exc.permanent or attempt >= self.max_attempts:
                    log.warning(
                        "giving up on a post to %s after %d attempt(s): %s", post.destination.key, attempt, exc.reason
                    )
                    await self.stats.incr(f"{self.platform}.delivery.dead_lettered")
                    await self.dead_letter(post, exc.reason, attempt, entry_id)
                    # The intent stays only if an attempt may have posted it after all.
                    await self.finish(post, entry_id, resolve_intent=not look_first)
                    return
                if exc.retry_after is not None:
                    delay = exc.retry_after
                    await self.stats.incr(f"{self.platform}.delivery.rate_limited")
                    await self.pause_destination(post, delay, shared=exc.shared)
                else:
                    delay = RETRY_BACKOFF.delay(attempt)
                    await self.stats.incr(f"{self.platform}.delivery.retried")
                log.info("retrying a post to %s in %.1fs (%s)", post.destination.key, delay, exc.reason)
                await asyncio.sleep(delay)
                continue
            if recovered is None and writes is not SKIPPED and writes is not None:
                # A copy sent now (not found from an earlier attempt: when that was is unknown),
                # not taken back at once: end-to-end latency (bridge/metrics.py).
                metrics.accepted(post, accepted_at)
            if writes is not SKIPPED:
                log.debug("delivered a %s post to %s (attempt %d)", post.kind.value, post.destination.key, attempt)
                # The post is on the platform: its bookkeeping must reach Redis, whatever it takes.
                await self.after_send(functools.partial(self.finish, post, entry_id, writes, delivered=True))
            else:
                await self.finish(post, entry_id)
            return

    async def _deliver_once(self, post: OutboundPost, booking: Booking | None = None):
        """Send ``post``; return the id-map writes it calls for (or None), or SKIPPED
        when there was nothing to change. ``booking``: its slot under the rate limits,
        kept (or moved) right before the request."""
        if post.kind == EventKind.NOTICE:
            await on_time(booking)
            ids = await self.sender.notify(post)
            if not (post.author and ids) or (post.private_to and post.fallback):
                # Nothing of a member's, or no telling where it went: a private notice with
                # a fallback may have gone to its chat instead (and the fallback never
                # carries private data).
                return None
            recorded = []

            async def note() -> None:
                recorded.append(await self.erasure.note_notice(post, ids))

            await self.after_send(note)
            if not recorded[-1]:
                # Its member was erased while it was being sent: take it back at once.
                await self.erasure.take_back(replace(post, destination=notice_chat(post)), ids)
            return None
        if post.kind == EventKind.NEW:
            reply_to = quoted = None
            if post.reply_to is not None:
                reply_to = await self._idmap.reply_target(post.link_id, post.reply_to, post.destination)
                if reply_to is not None and hasattr(self.sender, "unquote"):
                    quoted = await self._original_of(post)

            async def before_post(shown) -> None:
                await self._intents.record(post, shown)
                await on_time(booking)

            with collecting() as refused:
                ids = await self.sender.send(post, reply_to, before_post=before_post)
            if await self.erasure.author_erased(post) and await self.erasure.take_back(post, ids):
                return None
            if refused and self.refusals is not None:
                tell = self.refusals.tell
                await self.after_send(lambda: tell(post, refused))
            return together(self.book.copies(post, ids), self.book.quote(post, quoted) if quoted is not None else None)
        copies = await self.copies_of(post)
        await on_time(booking)
        if post.itself:
            return await self._delete_itself(post, copies)
        if not copies:
            # Never relayed there (older than the id map, or filtered): nothing to change.
            await self.stats.incr(f"{self.platform}.skipped.{post.kind.value}_without_copy")
            return SKIPPED
        if post.kind == EventKind.UNQUOTE:
            unquote = getattr(self.sender, "unquote", None)
            if unquote is None:
                return SKIPPED  # this platform's replies quote nothing
            await unquote(post, copies)
            return None
        if post.kind == EventKind.EDIT:
            ids = await self.sender.edit(post, copies)
            return self.book.copies(post, ids)
        await self.sender.delete(post, copies)
        return self.book.copies_gone(post, copies)

    async def copies_of(self, post: OutboundPost) -> list[str]:
        """The recorded copies of ``post``'s source in its destination; without any, those
        a crash may have left unrecorded, found on the platform. A delete of the source
        message ``itself`` (a member's /delete) names it alone."""
        if post.itself:
            return [post.source.message_id]
        copies = await self._idmap.copies(post.link_id, post.source, post.destination)
        if not copies:
            copies = await self.recovery.recover_copies(post)
        return copies

    async def _delete_itself(self, post: OutboundPost, ids: list[str]):
        """Delete a member's message in its own chat (/delete: the original, the command).
        The platform may refuse (the bot is no admin there with the right to delete, or
        the message is past Telegram's 48 hours): counted, and that is all, since trying
        again cannot help and the copies went with their own posts."""
        try:
            await self.sender.delete(post, ids)
        except DeliveryError as exc:
            if not exc.permanent:
                raise
            log.info("a message in %s could not be deleted (%s)", post.destination.key, exc.reason)
            await self.stats.incr(f"{self.platform}.delete.refused")
        return None

    async def finish(
        self,
        post: OutboundPost,
        entry_id,
        writes: Writes | None = None,
        *,
        delivered: bool = False,
        resolve_intent: bool = True,
    ) -> None:
        """Everything that follows one post, in one round trip (DeliveryBook.finish); then
        the entry is out of hand."""
        await self.book.finish(post, entry_id, writes, delivered=delivered, resolve_intent=resolve_intent)
        if entry_id is not None:
            await self._released(entry_id)

    async def after_send(self, write: Callable[[], Awaitable[object]]) -> None:
        """Record in Redis that a post is on the platform, waiting out a Redis outage:
        failing here would leave the entry unacknowledged and unmarked, so it would be
        read again and posted twice once Redis is back."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type((RedisConnectionError, RedisTimeoutError, OSError)),
            wait=RECORD_BACKOFF,
            before_sleep=log_retry(
                log, "Redis unavailable after a post to %s was sent (%s); retrying in %.1fs", self.platform
            ),
            reraise=True,
        )

        async def record() -> None:  # a coroutine function: tenacity awaits only those
            await write()

        await retrying(record)

    async def dead_letter(self, post: OutboundPost, reason: str, attempts: int, entry_id=None) -> None:
        """Park an undeliverable post where organisers can see, retry or purge it
        (`twinbridge dead-letters`, core/deadletters.py): it expires with the link's
        retention, and is filed under its author (``post.author``, a person key) for erasure."""
        if await deadletters.add(self._redis, self._keys, deadletters.post_record(post, reason, attempts)) == 0:
            log.warning(
                "a dead letter for %s was refused: its link's or sender's dead letters are full", post.destination.key
            )

    async def _refuse_erased(self, post: OutboundPost, entry_id) -> None:
        await self.stats.incr(f"{self.platform}.erasure.refused")
        resolved = True
        if post.kind == EventKind.NEW:
            # An earlier attempt may have posted it before a crash: take that copy back too.
            try:
                looked = await self.recovery.find_intended(post)
            except DeliveryError:
                looked = ([], False, False)
            if looked is not None:
                ids, _, verified = looked
                if ids:
                    await self.erasure.take_back(post, ids)
                # Where nobody could look, the intent stays (IdMap.trace reports it).
                resolved = verified
        await self.finish(post, entry_id, resolve_intent=resolved)

    async def _original_of(self, post: OutboundPost) -> MessageRef:
        """The source message a reply answers (its reply_to may be a relayed copy)."""
        origin = await self._idmap.origin(post.reply_to)
        return origin[1] if origin and origin[0] == post.link_id else post.reply_to
