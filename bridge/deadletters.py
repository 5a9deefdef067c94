"""`twinbridge dead-letters list|retry|purge`: what could not be delivered.

A post lands here after its destination refused it for good (bot kicked,
channel deleted: 403/404) or after the bounded retries failed. Organisers see
where and why — never the text, which stays in Redis only until the entry is
retried, purged, or expires with the link's retention.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from .keys import DAY, Keys
from .models import OutboundPost


@dataclass(frozen=True)
class DeadLetter:
    entry_id: str
    post: OutboundPost
    reason: str
    attempts: int
    at: int

    def summary(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.at)) if self.at else "?"
        return (f"{self.entry_id}  {when}  link {self.post.link_id}: {self.post.kind.value} "
                f"{self.post.source.key} → {self.post.destination.key}  after {self.attempts} attempt(s): "
                f"{self.reason}")


def read(redis, keys: Keys) -> list[DeadLetter]:
    letters = []
    for entry_id, fields in redis.xrange(keys.dead_letters()):
        try:
            post = OutboundPost.from_dict(json.loads(fields["post"]))
        except (KeyError, ValueError, TypeError):
            continue
        letters.append(DeadLetter(entry_id, post, fields.get("reason", "?"),
                                  int(fields.get("attempts") or 0), int(fields.get("at") or 0)))
    return letters


def retry(redis, keys: Keys, entry_ids: list[str] | None = None) -> int:
    """Put dead letters back into their platform's outbox (all, or the ids given)."""
    count = 0
    for letter in read(redis, keys):
        if entry_ids and letter.entry_id not in entry_ids:
            continue
        stream = keys.outbox(letter.post.destination.platform)
        with redis.pipeline(transaction=True) as pipe:
            # The delivered marker must not stop the retry of a post that never arrived.
            pipe.delete(keys.delivered(letter.post.delivery_key))
            pipe.xadd(stream, {"post": json.dumps(letter.post.to_dict(), ensure_ascii=False)})
            pipe.expire(stream, letter.post.retention_days * DAY)
            pipe.xdel(keys.dead_letters(), letter.entry_id)
            pipe.execute()
        count += 1
    return count


def purge(redis, keys: Keys, entry_ids: list[str] | None = None) -> int:
    if entry_ids:
        return redis.xdel(keys.dead_letters(), *entry_ids)
    count = redis.xlen(keys.dead_letters())
    redis.delete(keys.dead_letters())
    return count
