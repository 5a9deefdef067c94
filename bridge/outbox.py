"""Outbox consumption: the adapter side of delivery.

Workers append one entry per destination post to the platform's outbox stream.
The platform's adapter reads them with a consumer group (what it had in hand
when it stopped is read again after a restart) and hands each to the *lane* of
its destination chat:

- one lane per destination, so a chat that is rate limited or failing never
  holds up the others;
- inside a lane, a source chat's posts go out in the order they were written
  (their ``seq``), whatever order the workers finished them in; a missing
  position is waited for while it is still in flight (at most ``gap_timeout``
  seconds), otherwise only briefly;
- each post is rate limited (shared limiter in Redis), retried on 429 (after
  ``retry_after``) and on 5xx/network errors (backoff with jitter), and after
  ``max_attempts`` parked in the dead letters with its reason;
- before a NEW post is sent its *intent* is recorded (core/intents.py); a post read
  again with an intent left over (a crash, an error that may have posted it) is looked
  for on the platform before it is sent again;
- the id map records the copies (and drops the intent); then the entry is acknowledged
  and deleted (message text lives in Redis only while in flight);
- for erasure (workers/erasure.py): a post whose author was erased after writing
  it is not sent (their tombstone, core/persons.py); the bot's notices showing a
  member's data and the relayed replies quoting a message are indexed, so erasure
  can delete the notices and drop the quotes.
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core import deadletters, persons
from .adapter import DeliveryError, Sender
from core.idmap import IdMap
from core.intents import Intents
from core.storage import scripts
from core.storage.keys import DAY, Keys
from core.storage.outbox import GROUP
from .lease import process_identity
from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.stats import Stats

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A missing position that is still in flight (accepted, not yet published) is
# waited for up to GAP_TIMEOUT (a task lost with a worker comes back after the
# visibility timeout); one that is not in flight only for GAP_GRACE (time for
# an already published post to be read from the stream).
GAP_TIMEOUT = 600.0
GAP_GRACE = 1.5
READ_COUNT = 100  # entries one read of the stream takes at most
MAX_RATE_LIMITED = 1000  # 429s in a row before a post counts them as failed attempts
MAX_IN_HAND = 2000  # entries read but not yet delivered, across lanes (back-pressure)
DELETE_BATCH = 100  # consecutive deletes of a lane taken together, where the platform deletes in batches
_SKIPPED = object()  # an edit or delete of a post that has no copy in the destination


class OutboxConsumer:
    def __init__(self, redis, keys: Keys, sender: Sender, *, consumer: str | None = None,
                 limiter=None, limits_for: Callable[[str], Sequence] | None = None,
                 gap_timeout: float = GAP_TIMEOUT, max_attempts: int = MAX_ATTEMPTS, claim_idle: float = 0.0):
        self._redis = redis
        self._keys = keys
        self._sender = sender
        self._stream = keys.outbox(sender.platform)
        # Unique per consumer: two adapters sharing a name would share one pending list.
        self._consumer = consumer or f"{sender.platform}:{process_identity()}"
        self._idmap = IdMap(redis, keys)
        self._intents = Intents(redis, keys)
        self._stats = Stats(redis, keys)
        self._limiter = limiter
        self._limits_for = limits_for
        self.gap_timeout = gap_timeout
        self.max_attempts = max_attempts
        self.claim_idle = claim_idle
        self._max_set = scripts.register(redis, "cursor_advance")
        self._note_notice_script = scripts.register(redis, "notice_note")
        self._stopping = asyncio.Event()
        self._lanes: dict[ChatRef, _Lane] = {}
        self._ended: list[_Lane] = []
        self._in_hand: set[str] = set()
        self._room = asyncio.Condition()
        # Reads of new entries begun, and the last of them that came back with everything
        # the stream had (fewer than READ_COUNT entries) once its entries were in their
        # lanes: a post appended before read N began is in its lane once _read_through >= N.
        self._reads_begun = 0
        self._read_through = 0

    def stop(self) -> None:
        self._stopping.set()
        for lane in self._lanes.values():
            lane.wake()

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        await self._ensure_group()
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
        start = "0-0"
        claimed = 0
        while True:
            reply = await self._redis.xautoclaim(self._stream, GROUP, self._consumer, int(self.claim_idle * 1000),
                                                 start_id=start, count=500)
            # (redis-py drops the cursor of a JUSTID reply, hence the entries)
            start, entries = reply[0], reply[1]
            claimed += len(entries)
            if start in ("0-0", b"0-0"):
                break
        for info in await self._redis.xinfo_consumers(self._stream, GROUP):
            name = info["name"]
            if name != self._consumer and int(info["pending"]) == 0:
                await self._redis.xgroup_delconsumer(self._stream, GROUP, name)
        if claimed:
            log.info("%s outbox: took over %d post(s) an earlier consumer had in hand", self._sender.platform, claimed)

    async def _read_loop(self) -> None:
        # First what this consumer had read but not acknowledged (all of it, page by
        # page: a restart under load can leave thousands), then new entries.
        pending_from: str | None = "0"
        while not self._stopping.is_set():
            async with self._room:
                await self._room.wait_for(lambda: len(self._in_hand) < MAX_IN_HAND or self._stopping.is_set())
            start = pending_from if pending_from is not None else ">"
            if pending_from is None:
                self._reads_begun += 1
            this_read = self._reads_begun
            try:
                reply = await self._redis.xreadgroup(GROUP, self._consumer, {self._stream: start},
                                                     count=READ_COUNT,
                                                     block=None if pending_from is not None else 500)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # The stream expired or Redis lost it: start a new group, nothing is pending.
                await self._ensure_group()
                pending_from = "0"
                continue
            entries = reply[0][1] if reply else []
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
        raw = fields.get("post") if "post" in fields else fields.get(b"post")
        try:
            post = OutboundPost.from_dict(json.loads(raw))
        except Exception:  # noqa: BLE001 - a malformed entry must not stop the others
            log.warning("dropping malformed outbox entry %s", entry_id)
            await self._stats.incr(f"{self._sender.platform}.outbox.malformed")
            await self._ack(entry_id)
            return
        self._in_hand.add(entry_id)
        lane = self._lanes.get(post.destination)
        if lane is None:
            lane = self._lanes[post.destination] = _Lane(self, post.destination)
            lane.task.add_done_callback(lambda _task, lane=lane: self._ended.append(lane))
        if not lane.put(entry_id, post):
            # The same post twice in hand (a worker ran its task again): one is enough.
            await self._stats.incr(f"{self._sender.platform}.delivery.duplicate")
            await self._ack(entry_id)

    async def _ack(self, entry_id) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, GROUP, entry_id)
            pipe.xdel(self._stream, entry_id)
            await pipe.execute()
        await self._released(entry_id)

    async def _released(self, entry_id) -> None:
        self._in_hand.discard(entry_id)
        async with self._room:
            self._room.notify_all()

    # -- delivering one post ---------------------------------------------------------
    async def deliver(self, post: OutboundPost, entry_id=None) -> None:
        """Deliver one post: rate limited, retried, dead-lettered when hopeless; then
        record it (id map, delivery marker, order cursor) and acknowledge ``entry_id``,
        all in one transaction."""
        done_key = self._keys.delivered(post.delivery_key)
        if post.kind in (EventKind.NEW, EventKind.NOTICE) and await self._redis.exists(done_key):
            await self._stats.incr(f"{self._sender.platform}.delivery.duplicate")
            await self._finish(post, entry_id)
            return
        attempt = limited = 0
        # A NEW post may have been sent already, by a process that died before recording
        # it (its intent is still there): look for it before sending it again. Also after
        # an error that leaves open whether the platform took the post (5xx, timeout).
        look_first = post.kind == EventKind.NEW
        while True:
            attempt += 1
            if self._limiter is not None and self._limits_for is not None:
                await self._limiter.acquire(self._limits_for(post.destination.chat_id))
            if await self._author_erased(post):
                # Its author was erased while it waited (in the lane, for its turn, for a
                # retry): it must not go out now. Checked right before each attempt.
                await self._refuse_erased(post, entry_id)
                return
            try:
                writes = await self._sent_earlier(post) if look_first else None
                look_first = False
                if writes is None:
                    writes = await self._deliver_once(post)
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
                    log.warning("giving up on a post to %s after %d attempt(s): %s",
                                post.destination.key, attempt, exc.reason)
                    await self._stats.incr(f"{self._sender.platform}.delivery.dead_lettered")
                    await self.dead_letter(post, exc.reason, attempt, entry_id)
                    # The intent stays only if an attempt may have posted it after all.
                    await self._finish(post, entry_id, resolve_intent=not look_first)
                    return
                if exc.retry_after is not None:
                    delay = exc.retry_after
                    await self._stats.incr(f"{self._sender.platform}.delivery.rate_limited")
                    if self._limiter is not None and self._limits_for is not None:
                        # Everyone sending to this chat waits, not just this lane.
                        for limit in self._limits_for(post.destination.chat_id)[:1]:
                            await self._limiter.pause(limit.bucket, delay)
                else:
                    delay = min(30.0, 0.5 * 2 ** attempt) * random.uniform(0.5, 1.0)
                    await self._stats.incr(f"{self._sender.platform}.delivery.retried")
                log.info("retrying a post to %s in %.1fs (%s)", post.destination.key, delay, exc.reason)
                await asyncio.sleep(delay)
                continue
            if writes is not _SKIPPED:
                # The post is on the platform: its bookkeeping must reach Redis, whatever it takes.
                await self._after_send(functools.partial(self._finish, post, entry_id, writes, delivered=True))
            else:
                await self._finish(post, entry_id)
            return

    async def _deliver_once(self, post: OutboundPost):
        """Send ``post``; return the id-map writes it calls for (a function adding them
        to a pipeline, or None), or _SKIPPED when there was nothing to change."""
        if post.kind == EventKind.NOTICE:
            ids = await self._sender.notify(post)
            if not (post.author and ids) or (post.private_to and post.fallback):
                # Nothing of a member's, or no telling where it went: a private notice with
                # a fallback may have gone to its chat instead (and the fallback never
                # carries private data).
                return None
            recorded = []

            async def note() -> None:
                recorded.append(await self._note_notice(post, ids))
            await self._after_send(note)
            if not recorded[-1]:
                # Its member was erased while it was being sent: take it back at once.
                await self._take_back(replace(post, destination=notice_chat(post)), ids)
            return None
        if post.kind == EventKind.NEW:
            reply_to = quoted = None
            if post.reply_to is not None:
                reply_to = await self._idmap.reply_target(post.link_id, post.reply_to, post.destination)
                if reply_to is not None and hasattr(self._sender, "unquote"):
                    quoted = await self._original_of(post)
            ids = await self._sender.send(post, reply_to,
                                          before_post=lambda shown: self._intents.record(post, shown))
            if await self._author_erased(post) and await self._take_back(post, ids):
                return None

            def writes(pipe):
                self._record_copies(post, ids)(pipe)
                if quoted is not None:
                    self._note_quote(pipe, post, quoted)
            return writes
        copies = await self._idmap.copies(post.link_id, post.source, post.destination)
        if not copies:
            # Not recorded; but a crash may have left a copy whose id is unknown.
            copies = await self._recover_copies(post)
        if not copies:
            # Never relayed there (older than the id map, or filtered): nothing to change.
            await self._stats.incr(f"{self._sender.platform}.skipped.{post.kind.value}_without_copy")
            return _SKIPPED
        if post.kind == EventKind.UNQUOTE:
            unquote = getattr(self._sender, "unquote", None)
            if unquote is None:
                return _SKIPPED  # this platform's replies quote nothing
            await unquote(post, copies)
            return None
        if post.kind == EventKind.EDIT:
            ids = await self._sender.edit(post, copies)
            return self._record_copies(post, ids)
        await self._sender.delete(post, copies)
        return lambda pipe: self._idmap.forget_into(pipe, post.link_id, post.source, post.destination, copies)

    # -- deletes in batches --------------------------------------------------------------
    @property
    def deletes_in_batches(self) -> bool:
        """Whether the platform deletes many messages of a chat in one request (Telegram's
        deleteMessages; a Discord webhook deletes its messages one by one)."""
        return hasattr(self._sender, "delete_many")

    async def deliver_deletes(self, batch: list[tuple[object, OutboundPost]]) -> None:
        """Delete the copies of several posts in one destination with one request per
        ``DELETE_BATCH`` copies (an erasure queues one delete per message: 1,000 copies
        in a group are 10 requests, not 1,000 paced at the group's 20 per minute). Each
        post's bookkeeping is then what :meth:`deliver` does for a delete. Whatever goes
        wrong with a batch (a copy too old to delete, the chat gone), its posts are
        delivered one by one instead, which handles each case as usual."""
        found = []
        for entry_id, post in batch:
            copies = await self._idmap.copies(post.link_id, post.source, post.destination)
            if not copies:
                copies = await self._recover_copies(post)
            if copies:
                found.append((entry_id, post, copies))
                continue
            await self._stats.incr(f"{self._sender.platform}.skipped.{post.kind.value}_without_copy")
            await self._finish(post, entry_id)
        ids = [copy_id for _, _, copies in found for copy_id in copies]
        chunks = [ids[i:i + DELETE_BATCH] for i in range(0, len(ids), DELETE_BATCH)]
        done = 0
        attempt = 0
        while done < len(chunks):
            if self._limiter is not None and self._limits_for is not None:
                await self._limiter.acquire(self._limits_for(found[0][1].destination.chat_id))
            try:
                await self._sender.delete_many(found[0][1].destination, chunks[done])
            except DeliveryError as exc:
                attempt += 1
                if exc.retry_after is not None and not exc.permanent and attempt <= MAX_RATE_LIMITED:
                    await self._stats.incr(f"{self._sender.platform}.delivery.rate_limited")
                    if self._limiter is not None and self._limits_for is not None:
                        for limit in self._limits_for(found[0][1].destination.chat_id)[:1]:
                            await self._limiter.pause(limit.bucket, exc.retry_after)
                    await asyncio.sleep(exc.retry_after)
                    continue
                log.info("a batch of deletes in %s failed (%s); deleting one by one",
                         found[0][1].destination.key, exc.reason)
                await self._stats.incr(f"{self._sender.platform}.delete_batch.fell_back")
                for entry_id, post, _ in found:
                    await self.deliver(post, entry_id)
                return
            done += 1
        if chunks:
            await self._stats.incr(f"{self._sender.platform}.delete_batch.requests", len(chunks))
        for entry_id, post, copies in found:
            def forget(pipe, post=post, copies=copies):
                self._idmap.forget_into(pipe, post.link_id, post.source, post.destination, copies)
            await self._after_send(lambda post=post, entry_id=entry_id, forget=forget:
                                   self._finish(post, entry_id, forget, delivered=True))

    # -- erasure bookkeeping ---------------------------------------------------------
    async def _author_erased(self, post: OutboundPost) -> bool:
        if not post.author or post.kind not in (EventKind.NEW, EventKind.EDIT, EventKind.NOTICE):
            return False
        return persons.erased_before(await self._redis.get(self._keys.erased(post.author)), post.written_at)

    async def _take_back(self, post: OutboundPost, ids: list[str]) -> bool:
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

    async def _refuse_erased(self, post: OutboundPost, entry_id) -> None:
        await self._stats.incr(f"{self._sender.platform}.erasure.refused")
        resolved = True
        if post.kind == EventKind.NEW:
            # An earlier attempt may have posted it before a crash: take that copy back too.
            try:
                looked = await self._find_intended(post)
            except DeliveryError:
                looked = ([], False, False)
            if looked is not None:
                ids, _, verified = looked
                if ids:
                    await self._take_back(post, ids)
                # Where nobody could look, the intent stays (IdMap.trace reports it).
                resolved = verified
        await self._finish(post, entry_id, resolve_intent=resolved)

    async def _original_of(self, post: OutboundPost) -> MessageRef:
        """The source message a reply answers (its reply_to may be a relayed copy)."""
        origin = await self._idmap.origin(post.reply_to)
        return origin[1] if origin and origin[0] == post.link_id else post.reply_to

    def _note_quote(self, pipe, post: OutboundPost, quoted: MessageRef) -> None:
        key = self._keys.quoted_in(quoted.key)
        pipe.sadd(key, f"{post.link_id}|{post.source.key}|{post.destination.key}")
        pipe.expire(key, post.retention_days * DAY)

    async def _note_notice(self, post: OutboundPost, ids: list[str]) -> bool:
        """Remember where a notice showing a member's data went, for their erasure (its
        copies go in the id map under a reference of their own); False, recording
        nothing, when the member's tombstone is there. One script, so an erasure either
        finds the record (it reads the index after setting the tombstone) or the record
        is refused: no notice slips between the two."""
        ref, chat = notice_ref(post), notice_chat(post)
        ttl = post.retention_days * DAY
        origins = [self._keys.origin(MessageRef(chat.platform, chat.chat_id, copy_id).key) for copy_id in ids]
        done = await self._note_notice_script(
            keys=[self._keys.erased(post.author), self._keys.notices_about(post.author),
                  self._keys.idmap(ref.key), *origins],
            args=[repr(post.written_at), f"{post.link_id}|{ref.key}|{chat.key}|{post.private_to}", time.time() + ttl,
                  ttl, IdMap.field(post.link_id, chat), json.dumps(ids), f"{post.link_id}|{ref.key}"])
        return bool(done)

    def _record_copies(self, post: OutboundPost, ids: list[str]):
        def writes(pipe) -> None:
            self._idmap.record_into(pipe, post.link_id, post.source, post.destination, ids, post.retention_days)
            self._intents.resolve_into(pipe, post.link_id, post.source, post.destination)
        return writes

    async def _find_intended(self, post: OutboundPost) -> tuple[list[str], bool, bool] | None:
        """Look on the platform for the messages of the intent ``post`` left unrecorded:
        None without such an intent, else (ids found, whether all parts were found,
        whether the platform let us look at all)."""
        intent = await self._intents.get(post.link_id, post.source, post.destination)
        if intent is None:
            return None
        found = await self._sender.find_sent(intent)
        platform = self._sender.platform
        if found is None:  # the platform does not let us look (Telegram)
            await self._stats.incr(f"{platform}.intent.unverifiable")
            return [], False, False
        ids = [i for i in found if i is not None]
        complete = bool(ids) and len(ids) == len(found)
        await self._stats.incr(f"{platform}.intent.{'found' if complete else 'partly_found' if ids else 'not_found'}")
        return ids, complete, True

    async def _sent_earlier(self, post: OutboundPost):
        """The id-map writes of ``post`` if an earlier attempt did post it, else None (send it).
        A split post found only in part is taken back, so that sending it again shows it once."""
        looked = await self._find_intended(post)
        if looked is None:
            return None
        ids, complete, _ = looked
        if complete:
            log.info("a post to %s was found on the platform, sent before a restart or error; "
                     "recorded, not sent again", post.destination.key)
            return self._record_copies(post, ids)
        if ids:
            await self._sender.delete(post, ids)
        return None

    async def _recover_copies(self, post: OutboundPost) -> list[str]:
        """For an edit or delete of a post without recorded copies: the copies an
        unrecorded intent left, found on the platform and recorded now (else [])."""
        looked = await self._find_intended(post)
        if looked is None or not looked[1]:
            return []
        ids = looked[0]
        async with self._redis.pipeline(transaction=True) as pipe:
            self._record_copies(post, ids)(pipe)
            await pipe.execute()
        return ids

    async def _finish(self, post: OutboundPost, entry_id, writes=None, *, delivered: bool = False,
                      resolve_intent: bool = True) -> None:
        """Everything that follows one post, in one round trip: its id-map writes, the
        delivery marker and counter (when ``delivered``), the order cursor of its
        destination (delivered or not, its turn is over), its intent (dealt with) and
        the entry's acknowledgement."""
        async with self._redis.pipeline(transaction=True) as pipe:
            if writes is not None:
                writes(pipe)
            # A delete ends an intent too (found and deleted, or nowhere to be found: what
            # erasure asks for must not leave the digests of a member's text behind).
            if post.kind in (EventKind.NEW, EventKind.DELETE) and resolve_intent:
                self._intents.resolve_into(pipe, post.link_id, post.source, post.destination)
            if delivered:
                if post.kind in (EventKind.NEW, EventKind.NOTICE):
                    pipe.set(self._keys.delivered(post.delivery_key), "1", ex=post.retention_days * DAY)
                pipe.hincrby(self._keys.stats(), f"{self._sender.platform}.delivered.{post.kind.value}", 1)
                pipe.expire(self._keys.stats(), Keys.STATS_TTL)
            if post.seq:
                # Only ever forwards (a late duplicate must not move it back).
                await self._max_set(keys=[self._keys.cursor(post.destination.key, post.source.chat.key),
                                          self._keys.seq(post.source.chat.key)],
                                    args=[post.seq, post.retention_days * DAY], client=pipe)
            if entry_id is not None:
                pipe.xack(self._stream, GROUP, entry_id)
                pipe.xdel(self._stream, entry_id)
            await pipe.execute()
        if entry_id is not None:
            await self._released(entry_id)

    async def _after_send(self, write: Callable[[], Awaitable[object]]) -> None:
        """Record in Redis that a post is on the platform, waiting out a Redis outage:
        failing here would leave the entry unacknowledged and unmarked, so it would be
        read again and posted twice once Redis is back."""
        delay = 0.25
        while True:
            try:
                await write()
                return
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("Redis unavailable (%s) after a post to %s was sent; retrying in %.1fs",
                            exc.__class__.__name__, self._sender.platform, delay)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    async def dead_letter(self, post: OutboundPost, reason: str, attempts: int, entry_id=None) -> None:
        """Park an undeliverable post where organisers can see, retry or purge it
        (`twinbridge dead-letters`, core/deadletters.py): it expires with the link's
        retention, and is filed under its author (``post.author``, a person key) for erasure."""
        if await deadletters.add(self._redis, self._keys, deadletters.post_record(post, reason, attempts)) == 0:
            log.warning("a dead letter for %s was refused: its link's or sender's dead letters are full",
                        post.destination.key)

    # -- order bookkeeping -----------------------------------------------------------
    async def last_delivered(self, destination: ChatRef, source_chat: str) -> int:
        raw = await self._redis.get(self._keys.cursor(destination.key, source_chat))
        return int(raw) if raw else 0

    async def in_flight(self, source_chat: str, seq: int) -> bool:
        return bool(await self._redis.exists(self._keys.in_flight(source_chat, seq)))


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


@dataclass
class _Gap:
    """What a lane saw of a missing position of a source chat."""

    seq: int
    seen_in_flight: bool = False
    gone_at: float | None = None  # when its in-flight marker was first seen gone
    read_mark: int | None = None  # the reader's mark (OutboxConsumer.read_mark) at that moment


class _Lane:
    """Delivers the posts for one destination chat, one at a time, in order per source chat."""

    def __init__(self, outbox: OutboxConsumer, destination: ChatRef):
        self.outbox = outbox
        self.destination = destination
        # source chat key -> {seq: [(entry_id, post, monotonic time taken), ...]}
        self.held: dict[str, dict[int, list[tuple[object, OutboundPost, float]]]] = {}
        self.cursors: dict[str, int] = {}
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
                # Read the cursor again when this chat speaks next: it may have expired
                # with its counter meanwhile (a long idle), and the counter restarted.
                self.cursors.pop(source, None)
                continue
            if source not in self.cursors:
                self.cursors[source] = await self.outbox.last_delivered(self.destination, source)
            seq = min(by_seq)
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
                log.info("order gap in %s from %s: %d..%d missing; going on", self.destination.key,
                         source, expected, seq - 1)
                await self.outbox._stats.incr(f"{self.outbox._sender.platform}.order.gap_skipped")
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
        if await self.outbox.in_flight(source, expected):
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
        """The deletes waiting right behind ``first`` (a delete without a position, as
        erasure queues them) in its source chat's queue, taken out to go with it: only
        consecutive ones, so nothing overtakes a post queued between them, and not the
        deletes of private notices (their copies are in another chat)."""
        if first.seq or first.private_to:
            return []
        items = self.held.get(first.source.chat.key, {}).get(0, [])
        taken = []
        while items and len(taken) < DELETE_BATCH - 1:
            _, post, _ = items[0]
            if post.kind != EventKind.DELETE or post.private_to or post.destination != first.destination:
                break
            entry_id, post, _ = items.pop(0)
            taken.append((entry_id, post))
        if not items:
            self.held.get(first.source.chat.key, {}).pop(0, None)
        return taken

    async def _run(self) -> None:
        outbox = self.outbox
        while True:
            # Cleared before looking, so a put() while we look is not missed.
            self._wakeup.clear()
            item, wait = await self._next()
            if item is None:
                if outbox._stopping.is_set():
                    return
                try:
                    await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
                except TimeoutError:
                    pass
                continue
            entry_id, post, _ = item
            batch = self._deletes_after(post) if post.kind == EventKind.DELETE and outbox.deletes_in_batches else []
            if batch:
                await outbox.deliver_deletes([(entry_id, post), *batch])
            else:
                await outbox.deliver(post, entry_id)
            if post.seq:
                source = post.source.chat.key
                self.cursors[source] = max(self.cursors.get(source, 0), post.seq)
            if outbox._stopping.is_set():
                return
