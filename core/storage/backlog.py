"""What waits where, and how Redis itself is, for `twinbridge status` (sync client):
lengths only, nothing read out of any message."""

from __future__ import annotations

from .keys import Keys

# kombu's Redis transport keeps a queue's messages of priority 0 (all of ours) in the
# queue's list and those of other priority steps in lists named queue + this + step.
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)

# The INFO fields `twinbridge status` shows (sections memory and persistence).
REDIS_FIELDS = (
    "used_memory",
    "used_memory_human",
    "maxmemory",
    "maxmemory_human",
    "maxmemory_policy",
    "aof_enabled",
    "aof_last_write_status",
    "aof_last_bgrewrite_status",
    "rdb_last_bgsave_status",
    "rdb_changes_since_last_save",
    "rdb_last_save_time",
    "loading",
)


def depths(redis, keys: Keys, stage_lists: dict[str, str], unacked_key: str, platforms) -> dict:
    """Lengths: ``stage_lists`` (name -> the broker list of a stage's queue), the tasks
    workers hold (``unacked_key``), the ingress stream and each platform's outbox stream
    (acknowledged entries are deleted, so a stream's length is what is still to do)."""
    pipe = redis.pipeline(transaction=False)
    names = list(stage_lists)
    for name in names:
        key = stage_lists[name]
        pipe.llen(key)
        for step in _PRIORITY_STEPS:
            pipe.llen(f"{key}{_PRIORITY_SEP}{step}")
    pipe.hlen(unacked_key)
    pipe.xlen(keys.ingress())
    platforms = list(platforms)
    for platform in platforms:
        pipe.xlen(keys.outbox(platform))
    replies = [int(r or 0) for r in pipe.execute()]
    per = 1 + len(_PRIORITY_STEPS)
    stages = {name: sum(replies[i * per : (i + 1) * per]) for i, name in enumerate(names)}
    rest = replies[len(names) * per :]
    return {
        "stages": stages,
        "in_hand": rest[0],
        "ingress": rest[1],
        "outbox": dict(zip(platforms, rest[2:], strict=True)),
    }


def redis_state(redis) -> dict:
    """The INFO memory and persistence fields of :data:`REDIS_FIELDS` (those the server has)."""
    info = {}
    for section in ("memory", "persistence"):
        info.update(redis.info(section))
    return {name: info[name] for name in REDIS_FIELDS if name in info}
