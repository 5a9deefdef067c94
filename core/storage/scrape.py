"""What a Prometheus scrape reads (core/metrics.py), in two round trips (sync client):
the counters' hash (core/stats.py), how much waits in each queue of the path and how many
tasks workers hold (as `twinbridge status` reads them), and per link how many dead letters
and held messages wait. Counts only: no entry is read, so nothing of a message (text,
names, ids) passes through here. Read-only: a scrape changes nothing in Redis (it prunes no
index, unlike /status)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..models import PLATFORMS
from ..task_queue import STAGE_QUEUES, TaskQueue
from . import backlog
from .keys import Keys

INGRESS = "ingress"  # accepted by an adapter, not yet published by the moderation stage


def outbox_queue(platform: str) -> str:
    """The queue name a platform's outbox is shown under (``outbox_telegram``)."""
    return f"outbox_{platform}"


# Every queue name a scrape reports, in the order of the path.
QUEUES = (INGRESS, *STAGE_QUEUES, *(outbox_queue(p) for p in PLATFORMS))


@dataclass(frozen=True)
class Scrape:
    counters: dict[str, int] = field(default_factory=dict)
    queues: dict[str, int] = field(default_factory=dict)  # QUEUES -> entries waiting
    taken: int = 0  # tasks workers have taken and not yet acknowledged (Celery's unacked)
    dead_letters: dict[str, int] = field(default_factory=dict)  # link id -> not expired
    held: dict[str, int] = field(default_factory=dict)  # link id -> messages waiting for a moderator


def read(redis, keys: Keys, link_ids: Iterable[str] = (), now: float | None = None) -> Scrape:
    """The queues' lengths as `twinbridge status` reads them (core/storage/backlog.py: each
    stage's Celery list with its priority lists, the workers' unacknowledged tasks, the
    ingress and outbox streams, whose entries are deleted once dealt with); then one
    pipeline: HGETALL of the counters and per link the ZCOUNT of its dead letters' index and
    the ids in its holds' index from now on (both scored with their expiry); a third round
    trip only when something is held: which of those holds still exist (a decided hold stays
    in the index until /status prunes it)."""
    now = time.time() if now is None else now
    link_ids = list(link_ids)
    celery = {queue: TaskQueue.for_prefix(keys.prefix, queue) for queue in STAGE_QUEUES}
    depths = backlog.depths(
        redis, keys, {q: tq.key for q, tq in celery.items()}, str(celery[STAGE_QUEUES[0]].unacked_key), PLATFORMS
    )
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(keys.stats())
    for link_id in link_ids:
        pipe.zcount(keys.dead_letters_of_link(link_id), f"({now}", "+inf")
        pipe.zrangebyscore(keys.held_of_link(link_id), f"({now}", "+inf")
    raw, *per_link = pipe.execute()
    held_ids = {link_id: list(per_link[2 * i + 1] or ()) for i, link_id in enumerate(link_ids)}
    held = {link_id: 0 for link_id in link_ids}
    if any(held_ids.values()):
        check = redis.pipeline(transaction=False)
        for ids in held_ids.values():
            for hold_id in ids:
                check.exists(keys.held(_s(hold_id)))
        there = iter(check.execute())
        for link_id, ids in held_ids.items():
            held[link_id] = sum(bool(next(there)) for _ in ids)
    counters = {}
    for name, value in (raw or {}).items():
        try:
            counters[_s(name)] = int(value)
        except (TypeError, ValueError):  # not a count (written by something else): left out
            continue
    queues = {INGRESS: depths["ingress"], **depths["stages"]}
    queues.update({outbox_queue(p): n for p, n in depths["outbox"].items()})
    return Scrape(
        counters=counters,
        queues={queue: queues.get(queue, 0) for queue in QUEUES},
        taken=depths["in_hand"],
        dead_letters={link_id: int(per_link[2 * i] or 0) for i, link_id in enumerate(link_ids)},
        held=held,
    )


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
