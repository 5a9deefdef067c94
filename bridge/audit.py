"""The audit log: which policy decisions were taken, when, on whose message.

Entries name an action ("redacted", "media.withheld", "consent.given", …),
a detail without content ("phone=1 email=1") and the member concerned
("telegram:5001", pseudonymised when they are erased). Each link has its own
stream, trimmed to the link's retention on every write and expiring with it.

``record`` writes at once; the ``*_into`` functions only add their commands to
a pipeline the caller executes, so a worker can send every write that follows
one message in a single round trip.
"""
from __future__ import annotations

import time
from collections.abc import Mapping

from .keys import DAY, Keys


def record(redis, keys: Keys, link_id: str, action: str, *, subject: str = "", detail: str = "",
           retention_days: int) -> None:
    """Append one decision (synchronous client: the workers and the CLI)."""
    pipe = redis.pipeline()
    record_into(pipe, keys, link_id, action, subject=subject, detail=detail, retention_days=retention_days)
    pipe.execute()


def record_into(pipe, keys: Keys, link_id: str, action: str, *, subject: str = "", detail: str = "",
                retention_days: int) -> None:
    """``record``'s commands, added to ``pipe`` (executed by the caller)."""
    oldest_ms = int((time.time() - retention_days * DAY) * 1000)
    key = keys.audit(link_id)
    pipe.xadd(key, {"action": action, "subject": subject, "detail": detail}, minid=oldest_ms, approximate=False)
    pipe.expire(key, retention_days * DAY)


def record_decisions_into(pipe, keys: Keys, link_id: str, decisions: Mapping[str, int], *, subject: str,
                          retention_days: int) -> None:
    """One entry per kind of decision taken on one message, e.g. action "redacted"
    with detail "email=1 phone=2", added to ``pipe`` (executed by the caller)."""
    grouped: dict[str, list[str]] = {}
    for name, count in sorted(decisions.items()):
        action, _, what = name.partition(".")
        grouped.setdefault(action, []).append(f"{what}={count}" if what else str(count))
    for action, parts in grouped.items():
        record_into(pipe, keys, link_id, action, subject=subject, detail=" ".join(parts),
                    retention_days=retention_days)


def entries(redis, keys: Keys, link_id: str) -> list[dict]:
    return [{"id": entry_id, **fields} for entry_id, fields in redis.xrange(keys.audit(link_id))]
