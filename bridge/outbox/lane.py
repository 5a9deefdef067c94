"""A lane: the posts for one destination chat, delivered one at a time, in order per
source chat, waiting a while for a missing position that will come."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.models import ChatRef, EventKind, OutboundPost

from .deletes import deletes_in_batches, deliver_deletes, take_deletes_after, take_positioned_deletes_after
from ..waiting import wait_event

if TYPE_CHECKING:
    from .consumer import OutboxConsumer

log = logging.getLogger(__name__)

# Any missing position is waited for at least GAP_GRACE; one in flight up to the
# consumer's gap_timeout (see Lane._gap_wait).
GAP_GRACE = 1.5


@dataclass
class _Gap:
    """What a lane saw of a missing position of a source chat."""

    seq: int
    seen_in_flight: bool = False
    gone_at: float | None = None  # when its in-flight marker was first seen gone
    read_mark: int | None = None  # the reader's mark (OutboxConsumer.read_mark) at that moment


class Lane:
    """Delivers the posts for one destination chat, one at a time, in order per source chat."""

    def __init__(self, outbox: OutboxConsumer, destination: ChatRef):
        self.outbox = outbox
        self.destination = destination
        # source chat key -> {seq: [(entry_id, post, monotonic time taken), ...]}
        self.held: dict[str, dict[int, list[tuple[object, OutboundPost, float]]]] = {}
        self.cursors: dict[str, int] = {}
        # Source chats whose cursor above was read from Redis (not moved on by this lane) since.
        self._cursor_read: set[str] = set()
        # source chat key -> what was seen of its missing position (_Gap)
        self._gaps: dict[str, _Gap] = {}
        self._wakeup = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name=f"outbox-lane-{destination.key}")

    def put(self, entry_id, post: OutboundPost) -> bool:
        """Hold ``post`` for delivery; False if the very same post is already held."""
        items = self.held.setdefault(post.source.chat.key, {}).setdefault(post.seq, [])
        if post.seq and any(p.kind == post.kind and p.text == post.text for _, p, _ in items):
            return False
        items.append((entry_id, post, time.monotonic()))
        self.wake()
        return True

    def wake(self) -> None:
        self._wakeup.set()

    async def _next(self):
        """(the next post this lane may deliver, None), or (None, seconds to wait)."""
        now = time.monotonic()
        soonest = None
        for source, by_seq in self.held.items():
            if not by_seq:
                continue
            seq = min(by_seq)
            # The cursor this lane moved on stands for the next position only: any other
            # one reads it again (it may have expired with its counter after a long idle,
            # and the counter restarted; or another process delivered meanwhile). Not a
            # round trip per message to read what this lane wrote.
            if source not in self.cursors or (seq != self.cursors[source] + 1 and source not in self._cursor_read):
                self.cursors[source] = await self.outbox.book.last_delivered(self.destination, source)
                self._cursor_read.add(source)
            items = by_seq[seq]
            expected = self.cursors[source] + 1
            waited = now - items[0][2]
            if seq > expected and waited < self.outbox.gap_timeout:
                wait = await self._gap_wait(source, expected, waited, now)
                if wait is not None:
                    soonest = wait if soonest is None else min(soonest, wait)
                    continue
            if seq > expected:
                # The missing positions never came (filtered, lost before ingress, or the
                # cursor expired): do not hold the chat up any longer.
                log.info(
                    "order gap in %s from %s: %d..%d missing; going on", self.destination.key, source, expected, seq - 1
                )
                await self.outbox.stats.incr(f"{self.outbox.platform}.order.gap_skipped")
            item = items.pop(0)
            if not items:
                del by_seq[seq]
            return item, None
        return None, soonest

    async def _gap_wait(self, source: str, expected: int, waited: float, now: float) -> float | None:
        """How long to wait for the missing position ``expected`` of ``source`` before
        going on without it (None: go on now). Briefly for any gap (GAP_GRACE); as long as
        it is in flight; and once it is not, until the reader has read past that moment.
        A worker that publishes the position clears its in-flight marker in the same
        script that appends the post, and only the reader puts the post in this lane:
        however long the reader takes (a loaded machine, back-pressure), a post published
        before the marker was seen gone is here once a read begun after that came back
        with everything the stream had. A position seen in flight and then gone also
        keeps the GAP_GRACE it had before (a post restored after a worker died).
        Without that read, a lane that looked in between let the next position overtake
        it (tests/faults/test_worker_recovery.py, once in a full run)."""
        if waited < GAP_GRACE:
            return max(0.05, GAP_GRACE - waited)
        gap = self._gaps.get(source)
        if gap is None or gap.seq != expected:
            gap = self._gaps[source] = _Gap(expected)
        if await self.outbox.book.in_flight(source, expected):
            gap.seen_in_flight, gap.gone_at, gap.read_mark = True, None, None
            return 0.5
        if gap.gone_at is None:
            # Taken after the marker was read as gone: a read begun later finds the post.
            gap.gone_at, gap.read_mark = now, self.outbox.read_mark()
        if gap.seen_in_flight and now - gap.gone_at < GAP_GRACE:
            return max(0.05, GAP_GRACE - (now - gap.gone_at))
        if not self.outbox.read_past(gap.read_mark):
            return 0.1
        return None  # not in flight, and not in the stream: filtered, or lost before ingress

    def _deletes_after(self, first: OutboundPost) -> list[tuple[object, OutboundPost]]:
        """The deletes waiting right behind ``first`` in its source chat's queue, taken out
        to go with it: without a position (as erasure queues them), those behind it; with
        one (a Discord bulk delete: many deletes in a row), those at the next positions,
        so nothing written between them is overtaken."""
        if first.private_to or first.itself:
            return []
        by_seq = self.held.get(first.source.chat.key, {})
        if first.seq:
            return take_positioned_deletes_after(by_seq, first)
        taken = take_deletes_after(by_seq.get(0, []), first)
        if not by_seq.get(0):
            by_seq.pop(0, None)
        return taken

    async def _run(self) -> None:
        outbox = self.outbox
        delivery = outbox.delivery
        while True:
            # Cleared before looking, so a put() while we look is not missed.
            self._wakeup.clear()
            item, wait = await self._next()
            if item is None:
                if outbox.stopping.is_set():
                    return
                await wait_event(self._wakeup, wait)
                continue
            entry_id, post, _ = item
            batch = self._deletes_after(post) if post.kind == EventKind.DELETE and deletes_in_batches(delivery) else []
            if batch:
                await deliver_deletes(delivery, [(entry_id, post), *batch])
            else:
                await delivery.deliver(post, entry_id)
            last = max(p.seq for _, p in [(entry_id, post), *batch])
            if last:
                source = post.source.chat.key
                self.cursors[source] = max(self.cursors.get(source, 0), last)
                self._cursor_read.discard(source)
            if outbox.stopping.is_set():
                return
