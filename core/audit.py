"""The audit log: which policy decisions were taken, when, on whose message.

Entries name an action ("redacted", "media.withheld", "consent.given", …),
a detail without content ("phone=1 email=1", "id=… by=<person>") and the member
concerned. People (members and moderators) appear only as person keys, a salted
hash (core/persons.py), never by platform id; an erased member's entries are
rewritten to name nobody. Each link has its own stream, trimmed to the link's
retention on every write and expiring with it.

``record`` writes at once; the ``*_into`` functions only add their commands to
a pipeline the caller executes, so a worker can send every write that follows
one message in a single round trip.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from datetime import UTC

from .storage.keys import DAY, Keys


def record(
    redis, keys: Keys, link_id: str, action: str, *, subject: str = "", detail: str = "", retention_days: int
) -> None:
    """Append one decision (synchronous client: the workers and the CLI)."""
    pipe = redis.pipeline()
    record_into(pipe, keys, link_id, action, subject=subject, detail=detail, retention_days=retention_days)
    pipe.execute()


def record_into(
    pipe, keys: Keys, link_id: str, action: str, *, subject: str = "", detail: str = "", retention_days: int
) -> None:
    """``record``'s commands, added to ``pipe`` (executed by the caller)."""
    oldest_ms = int((time.time() - retention_days * DAY) * 1000)
    key = keys.audit(link_id)
    pipe.xadd(key, {"action": action, "subject": subject, "detail": detail}, minid=oldest_ms, approximate=False)
    pipe.expire(key, retention_days * DAY)


def record_decisions_into(
    pipe, keys: Keys, link_id: str, decisions: Mapping[str, int], *, subject: str, retention_days: int
) -> None:
    """One entry per kind of decision taken on one message, e.g. action "redacted"
    with detail "email=1 phone=2", added to ``pipe`` (executed by the caller)."""
    grouped: dict[str, list[str]] = {}
    for name, count in sorted(decisions.items()):
        action, _, what = name.partition(".")
        grouped.setdefault(action, []).append(f"{what}={count}" if what else str(count))
    for action, parts in grouped.items():
        record_into(pipe, keys, link_id, action, subject=subject, detail=" ".join(parts), retention_days=retention_days)


def entries(redis, keys: Keys, link_id: str) -> list[dict]:
    return [{"id": entry_id, **fields} for entry_id, fields in redis.xrange(keys.audit(link_id))]


def concerns(entry: dict, *names: str) -> bool:
    """Whether ``entry`` is about one of ``names`` (person keys, or platform refs of
    entries written before people were keyed): as its subject or as who decided."""
    detail = entry.get("detail", "").split()
    return any(name and (entry.get("subject") == name or f"by={name}" in detail) for name in names)


def rewrite_naming(redis, keys: Keys, link_id: str, names: tuple[str, ...], replacement: str, batch: int = 1000) -> int:
    """Rewrite the entries naming any of ``names`` (as subject or as "by=") to name
    ``replacement``; the rest stay as they are. A stream entry cannot be changed in
    place: each is removed and appended again, keeping its original time in an "at"
    field. Read and written in batches (one round trip each), so a long log is not
    one round trip per entry. Returns how many entries were rewritten."""
    key = keys.audit(link_id)
    changed = 0
    start = "-"
    ttl = redis.ttl(key)
    while True:
        page = redis.xrange(key, start, "+", count=batch)
        if not page:
            break
        pipe = redis.pipeline(transaction=True)
        for entry_id, fields in page:
            if not concerns(fields, *names):
                continue
            detail = " ".join(
                f"by={replacement}" if part.removeprefix("by=") in names else part
                for part in fields.get("detail", "").split()
            )
            subject = replacement if fields.get("subject") in names else fields.get("subject", "")
            pipe.xdel(key, entry_id)
            pipe.xadd(key, {**fields, "subject": subject, "detail": detail, "at": fields.get("at") or _when(entry_id)})
            changed += 1
        pipe.execute()
        if len(page) < batch:
            break
        start = "(" + page[-1][0]
    if changed and ttl and ttl > 0:
        redis.expire(key, ttl)
    return changed


def _when(entry_id: str) -> str:
    from datetime import datetime

    millis = int(entry_id.split("-")[0])
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds")
