"""Erasures (sync client; workers/erasure.py decides what goes): the record of an
erasure under way (the member's ref and when it started, so a crashed worker's erasure
is driven to the end), the member's tombstone, and the batched reads and writes that
take back what they wrote, with the delete and unquote posts queued for the adapters."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .. import persons
from ..idmap import copies_by_link
from ..models import MessageRef, OutboundPost
from .keys import DAY, Keys
from .members import forget_consents_into
from .outbox import append_into
from .reactions import forget_into as forget_reactions_into, shown_keys
from .writes import Writes


class ErasureRecords:
    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    def begin(self, person: str, user_ref: str, now: float, retention_days: int) -> float:
        """Record the erasure of ``user_ref`` (``person``: their person key) and set their
        tombstone; the time it started (an erasure begun before keeps its time)."""
        job = self._keys.erasure(person)
        started = self._redis.hget(job, "started")
        erased_at = float(started) if started else now
        begin = self._redis.pipeline(transaction=True)
        begin.hset(job, mapping={"user": user_ref, "started": repr(erased_at)})
        begin.expire(job, retention_days * DAY)
        persons.tombstone_into(begin, self._keys, person, erased_at, retention_days)
        begin.execute()
        return erased_at

    def unfinished(self) -> Iterator[str]:
        """The member refs of every erasure under way (a crash may have interrupted it)."""
        for job in self._redis.scan_iter(match=self._keys.erasures(), count=1000):
            user_ref = self._redis.hget(job, "user")
            if user_ref:
                yield user_ref

    def notices_batch(self, person: str, count: int) -> list[str]:
        """Up to ``count`` of the bot's notices showing the member's data
        ("link|notice source|chat|private_to")."""
        return self._redis.zrange(self._keys.notices_about(person), 0, count - 1)

    def read_authored(self, members: list[str]) -> list:
        """For each entry of the member's index, in one round trip: a held message's
        count of holds deleted (there is nothing to read: gone is gone); else the id-map
        map of the source message (link id -> destination chat key -> copy ids), the set
        of replies quoting it, and whether it shows its copies' reactions (a count line)."""
        read = self._redis.pipeline(transaction=False)
        for member in members:
            kind, _, rest = member.partition("|")
            if kind == "held":
                read.delete(self._keys.held(rest))
            else:
                read.hgetall(self._keys.idmap(rest))
                read.smembers(self._keys.quoted_in(rest))
                read.exists(*shown_keys(self._keys, MessageRef(*rest.split(":", 2))))
        replies = iter(read.execute())
        return [
            next(replies)
            if member.startswith("held|")
            else (copies_by_link(next(replies)), next(replies), bool(next(replies)))
            for member in members
        ]

    def retire_authored(
        self,
        user_ref: str,
        members: list[str],
        posts: list[OutboundPost],
        unquoted_sources: list[str],
        reactions: Sequence[tuple[MessageRef, int, bool]] = (),
    ) -> None:
        """Queue ``posts`` (deletes and unquotes), forget the quotes of
        ``unquoted_sources`` and the reactions of the originals in ``reactions`` ((original,
        retention days, whether it shows them): a count line goes, core/storage/reactions.py),
        and take ``members`` off the member's index, atomically."""
        write = self._redis.pipeline(transaction=True)
        for post in posts:
            append_into(write, self._keys, post)
        for source_key in unquoted_sources:
            write.delete(self._keys.quoted_in(source_key))
        for original, retention_days, shown in reactions:
            forget_reactions_into(write, self._keys, original, retention_days, shown)
        write.zrem(self._keys.authored(user_ref), *members)
        write.execute()

    def retire_notices(self, person: str, entries: list[str], posts: list[OutboundPost]) -> None:
        """Queue the deletes ``posts`` of the notices ``entries`` and take them off the index."""
        write = self._redis.pipeline(transaction=True)
        for post in posts:
            append_into(write, self._keys, post)
        write.zrem(self._keys.notices_about(person), *entries)
        write.execute()

    def forget_consents(self, link_ids: list[str], user_ref: str) -> list[int]:
        """Delete the member's consent and "told once" marker in each link; per link, 1
        where there was consent."""
        pipe = self._redis.pipeline(transaction=False)
        forget_consents_into(pipe, self._keys, link_ids, user_ref)
        return pipe.execute()[::2]

    def finish(self, user_ref: str, person: str, audit_writes: Sequence[Writes]) -> None:
        """End the erasure: ``audit_writes`` (the audit entries saying what was erased),
        then the member's index, their notices index and the erasure record go."""
        finish = self._redis.pipeline(transaction=True)
        for write in audit_writes:
            write(finish)
        finish.delete(self._keys.authored(user_ref), self._keys.notices_about(person), self._keys.erasure(person))
        finish.execute()
