"""Reading one platform's outbox stream and handing each post to its destination's lane."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from core.models import ChatRef
from core.stats import Stats
from core.storage import outbox
from core.storage.deliveries import DeliveryBook
from core.storage.keys import Keys

from ..adapter import Sender
from ..lease import process_identity
from .delivery import MAX_ATTEMPTS, Delivery
from .lane import Lane

log = logging.getLogger(__name__)

# A missing position that is still in flight (accepted, not yet published) is
# waited for up to GAP_TIMEOUT (a task lost with a worker comes back after the
# visibility timeout); one that is not in flight only briefly (lane.py).
GAP_TIMEOUT = 600.0
MAX_IN_HAND = 2000  # entries read but not yet delivered, across lanes (back-pressure)
READ_COUNT = 100  # entries one read of the stream takes at most


class OutboxConsumer:
    def __init__(
        self,
        redis,
        keys: Keys,
        sender: Sender,
        *,
        consumer: str | None = None,
        limiter=None,
        limits_for: Callable[[str], Sequence] | None = None,
        gap_timeout: float = GAP_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        claim_idle: float = 0.0,
        refusals=None,
    ):
        self.platform = sender.platform
        self._stream = outbox.OutboxStream(redis, keys, sender.platform)
        # Unique per consumer: two adapters sharing a name would share one pending list.
        self._consumer = consumer or f"{sender.platform}:{process_identity()}"
        self.stats = Stats(redis, keys)
        self.book = DeliveryBook(redis, keys, self._stream, sender.platform)
        self.delivery = Delivery(
            redis,
            keys,
            sender,
            self.book,
            self.stats,
            released=self._released,
            limiter=limiter,
            limits_for=limits_for,
            max_attempts=max_attempts,
            refusals=refusals,
        )
        self.gap_timeout = gap_timeout
        self.claim_idle = claim_idle
        self.stopping = asyncio.Event()
        self._lanes: dict[ChatRef, Lane] = {}
        self._ended: list[Lane] = []
        self._in_hand: set[str] = set()
        self._room = asyncio.Condition()
        # Reads of new entries begun, and the last of them that came back with everything
        # the stream had (fewer than READ_COUNT entries) once its entries were in their
        # lanes: a post appended before read N began is in its lane once _read_through >= N.
        self._reads_begun = 0
        self._read_through = 0

    def stop(self) -> None:
        self.stopping.set()
        for lane in self._lanes.values():
            lane.wake()

    async def run(self) -> None:
        await self._stream.ensure_group()
        await self._take_over()
        try:
            await self._read_loop()
        finally:
            # Let each lane finish the post in hand; the rest stays pending in the group.
            # Also when the read loop failed (Redis away): lanes only return once stopping
            # is set, and waiting for them without it would hang this consumer for good.
            self.stop()
            await asyncio.gather(*(lane.task for lane in self._lanes.values()), return_exceptions=True)

    async def _take_over(self) -> None:
        """Make what earlier consumers of the group read but never acknowledged (a
        process that died, or an adapter restarted in this one) this consumer's, so
        that it is read again below; then drop those consumers. Only one consumer of a
        platform runs at a time (the adapter lease, bridge/lease.py), so they are
        gone: ``claim_idle`` is 0 unless a caller runs consumers side by side."""
        claimed = await self._stream.take_over(self._consumer, self.claim_idle)
        if claimed:
            log.info("%s outbox: took over %d post(s) an earlier consumer had in hand", self.platform, claimed)

    async def _read_loop(self) -> None:
        # First what this consumer had read but not acknowledged (all of it, page by
        # page: a restart under load can leave thousands), then new entries.
        pending_from: str | None = "0"
        while not self.stopping.is_set():
            async with self._room:
                await self._room.wait_for(lambda: len(self._in_hand) < MAX_IN_HAND or self.stopping.is_set())
            start = pending_from if pending_from is not None else ">"
            if pending_from is None:
                self._reads_begun += 1
            this_read = self._reads_begun
            entries = await self._stream.read(
                self._consumer, start, count=READ_COUNT, block=None if pending_from is not None else 500
            )
            if entries is None:
                # The stream expired or Redis lost it: a new group, nothing is pending.
                pending_from = "0"
                continue
            if pending_from is not None:
                if not entries:
                    pending_from = None  # the pending list is read through
                    continue
                pending_from = entries[-1][0]
                entries = [e for e in entries if e[0] not in self._in_hand]
            for entry_id, fields in entries:
                if entry_id in self._in_hand:
                    continue
                await self._take(entry_id, fields)
            if start == ">" and len(entries) < READ_COUNT:
                self._read_through = this_read
            self._check_lanes()

    def read_mark(self) -> int:
        """A mark for :meth:`read_past`: taken now, before what the caller saw (a marker
        gone) can have been appended to the stream and read."""
        return self._reads_begun

    def read_past(self, mark: int) -> bool:
        """Whether everything appended to the stream before ``mark`` was taken is in its
        lane now: a read begun after it came back with all there was."""
        return self._read_through > mark

    def _check_lanes(self) -> None:
        # Only lanes that ended (noted by their done callback): with hundreds of
        # destinations, looking at every lane after every read was measurable.
        while self._ended:
            lane = self._ended.pop()
            if not lane.task.cancelled() and lane.task.exception():
                raise lane.task.exception()

    async def _take(self, entry_id, fields) -> None:
        try:
            post = outbox.load_post(fields)
        except Exception:  # noqa: BLE001 - a malformed entry must not stop the others
            log.warning("dropping malformed outbox entry %s", entry_id)
            await self.stats.incr(f"{self.platform}.outbox.malformed")
            await self._ack(entry_id)
            return
        self._in_hand.add(entry_id)
        lane = self._lanes.get(post.destination)
        if lane is None:
            lane = self._lanes[post.destination] = Lane(self, post.destination)
            lane.task.add_done_callback(lambda _task, lane=lane: self._ended.append(lane))
        if not lane.put(entry_id, post):
            # The same post twice in hand (a worker ran its task again): one is enough.
            await self.stats.incr(f"{self.platform}.delivery.duplicate")
            await self._ack(entry_id)

    async def _ack(self, entry_id) -> None:
        await self._stream.ack(entry_id)
        await self._released(entry_id)

    async def _released(self, entry_id) -> None:
        self._in_hand.discard(entry_id)
        async with self._room:
            self._room.notify_all()
