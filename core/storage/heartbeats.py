"""Heartbeats: which processes run and which adapters are connected, for `twinbridge
status` and `twinbridge health` (docs/operations.md, "Is it working?").

Each long-running process (``run``, ``worker``, ``scheduler``) and each connected
adapter (``adapter.telegram``, ``adapter.discord``) keeps one key,
``heartbeat:ROLE:INSTANCE`` (INSTANCE: host:pid[:random]), holding JSON with its host,
pid, since when it runs (or is connected) and a few words about it (a worker's stage).
It is renewed every :data:`PERIOD` seconds with a TTL of :data:`TTL` (three periods): a
process that stops deletes it, one that dies lets it expire. A sorted set indexes them
(scored with when each expires) so that readers need no SCAN. Nothing personal is stored.

Sync functions serve the CLI, the workers and the scheduler; ``a``-prefixed ones the
adapters' event loop.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field

from .keys import Keys

PERIOD = 5.0  # seconds between renewals
TTL = 15  # seconds a heartbeat outlives its last renewal (three periods)

RUN, WORKER, SCHEDULER = "run", "worker", "scheduler"
CONSOLE = "console"  # `twinbridge console` (issue 18)


def adapter_role(platform: str) -> str:
    return f"adapter.{platform}"


def this_process() -> str:
    """host:pid: the instance name of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Beat:
    role: str
    instance: str
    host: str
    pid: int
    since: float
    at: float  # when it was last renewed
    about: dict = field(default_factory=dict)  # e.g. {"stage": "translation"}


def _member(role: str, instance: str) -> str:
    return f"{role}|{instance}"


def _value(role: str, instance: str, since: float, now: float, about: dict | None) -> str:
    host, _, rest = instance.partition(":")
    pid = rest.partition(":")[0]
    return json.dumps(
        {"role": role, "host": host, "pid": int(pid) if pid.isdigit() else 0, "since": since, "at": now}
        | ({"about": about} if about else {}),
        separators=(",", ":"),
    )


def _beat_into(pipe, keys: Keys, role: str, instance: str, since: float, about: dict | None, ttl: int) -> None:
    now = time.time()
    pipe.set(keys.heartbeat(role, instance), _value(role, instance, since, now, about), ex=ttl)
    pipe.zadd(keys.heartbeats(), {_member(role, instance): now + ttl})
    pipe.expire(keys.heartbeats(), ttl)


def _stop_into(pipe, keys: Keys, role: str, instance: str) -> None:
    pipe.delete(keys.heartbeat(role, instance))
    pipe.zrem(keys.heartbeats(), _member(role, instance))


def beat(redis, keys: Keys, role: str, instance: str, since: float, about: dict | None = None, ttl: int = TTL) -> None:
    """Say ``role`` runs in ``instance`` since ``since``, for another ``ttl`` seconds."""
    pipe = redis.pipeline(transaction=False)
    _beat_into(pipe, keys, role, instance, since, about, ttl)
    pipe.execute()


def stop(redis, keys: Keys, role: str, instance: str) -> None:
    """Say at once that ``role`` no longer runs in ``instance``."""
    pipe = redis.pipeline(transaction=False)
    _stop_into(pipe, keys, role, instance)
    pipe.execute()


async def abeat(
    redis, keys: Keys, role: str, instance: str, since: float, about: dict | None = None, ttl: int = TTL
) -> None:
    pipe = redis.pipeline(transaction=False)
    _beat_into(pipe, keys, role, instance, since, about, ttl)
    await pipe.execute()


async def astop(redis, keys: Keys, role: str, instance: str) -> None:
    pipe = redis.pipeline(transaction=False)
    _stop_into(pipe, keys, role, instance)
    await pipe.execute()


def alive(redis, keys: Keys, role: str | None = None, host: str | None = None) -> list[Beat]:
    """The heartbeats not expired (of ``role``, on ``host``), oldest start first."""
    index = keys.heartbeats()
    now = time.time()
    redis.zremrangebyscore(index, "-inf", now)
    members = [m.decode() if isinstance(m, bytes) else m for m in redis.zrange(index, 0, -1)]
    wanted = []
    for member in members:
        member_role, _, instance = member.partition("|")
        if role is not None and member_role != role:
            continue
        if host is not None and instance.partition(":")[0] != host:
            continue
        wanted.append((member_role, instance))
    if not wanted:
        return []
    values = redis.mget([keys.heartbeat(r, i) for r, i in wanted])
    beats = []
    for (member_role, instance), raw in zip(wanted, values, strict=True):
        if raw is None:  # expired between the two reads
            continue
        try:
            data = json.loads(raw)
            beats.append(
                Beat(
                    role=member_role,
                    instance=instance,
                    host=str(data.get("host", "")),
                    pid=int(data.get("pid", 0)),
                    since=float(data.get("since", 0.0)),
                    at=float(data.get("at", 0.0)),
                    about=dict(data.get("about") or {}),
                )
            )
        except (ValueError, TypeError, AttributeError):
            continue  # not ours or damaged: not a live process
    return sorted(beats, key=lambda b: (b.role, b.since, b.instance))
