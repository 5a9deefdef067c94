"""What a worker does with an event it cannot process (a poison message).

Redis being away is not the event's fault: those tasks wait and retry for as long as
it takes (workers/stages/). Anything else — a payload that does not decode, a bug a
stage trips over for this one message — is retried ``EVENT_RETRIES`` times with
backoff (Celery's ``retry`` with a countdown), then parked in the dead letters with
its reason; parking retires its ingress entry and in-flight marker in the same
script, so its chat's lane moves on at once and the sweeper does not bring it back.
A payload that does not decode is parked at once: the same bytes fail the same way.

Plain functions; the task only decides when to call them.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import redis as redis_lib

from core import deadletters
from core.backoff import Backoff
from core.storage.keys import Keys
from core.links import LinksConfig
from core.models import ChatRef

log = logging.getLogger(__name__)

EVENT_RETRIES = deadletters.EVENT_RETRIES
BACKOFF_BASE = 1.0  # seconds before the first retry; doubling, with jitter


class BadPayload(Exception):
    """The task's event dict does not decode into a PlatformEvent."""


def redis_unavailable(exc: BaseException) -> bool:
    """Redis away (connection refused or lost, timed out, loading, read-only replica):
    wait for it; never the event's fault."""
    return isinstance(
        exc,
        (redis_lib.exceptions.ConnectionError, redis_lib.exceptions.TimeoutError, redis_lib.exceptions.ReadOnlyError),
    )


def retriable(exc: BaseException) -> bool:
    return not isinstance(exc, BadPayload)


def backoff(retries: int, cap: float) -> float:
    """Countdown before retry number ``retries + 1``: 1 s, 2 s, 4 s … (half to full, at
    most ``cap``: never near the visibility timeout, or the task would be handed out twice)."""
    return Backoff(first=BACKOFF_BASE, cap=cap, jitter=(0.5, 1.0)).delay(retries)


def describe(exc: BaseException) -> str:
    """The reason a dead letter shows: the exception's class and where it was raised
    (file, line, function). Never its message, which may quote the payload's text."""
    cause = exc.__cause__ if isinstance(exc, BadPayload) and exc.__cause__ is not None else exc
    frames = traceback.extract_tb(cause.__traceback__) if cause.__traceback__ else []
    where = ""
    if frames:
        last = frames[-1]
        where = f" in {Path(last.filename).parent.name}/{Path(last.filename).name}:{last.lineno} ({last.name})"
    label = "bad payload: " if isinstance(exc, BadPayload) else ""
    return f"{label}{type(cause).__name__}{where}"


def park_event(
    redis, keys: Keys, config: LinksConfig, event_data, ingress_id: str | None, reason: str, attempts: int
) -> int:
    """Dead-letter an event the workers gave up on and retire its ingress entry and
    in-flight marker, atomically. Filed under the source chat's link with the shortest
    retention (and expiring with it). -1 when the event was published or parked
    already (nothing stored), 0 when a cap refused it (counted), 1 when stored."""
    source = deadletters.event_source(event_data)
    chat = ChatRef(source[0], source[1]) if source else None
    links = (
        sorted((m.link for m in config.memberships(chat)), key=lambda link: link.policy.retention_days) if chat else []
    )
    link = links[0] if links else None
    author = deadletters.event_author(redis, keys, event_data)
    try:
        seq = int(event_data.get("seq") or 0)
    except (AttributeError, TypeError, ValueError):
        seq = 0
    in_flight = keys.in_flight(chat.key, seq) if chat and seq else keys.in_flight("?", 0)
    record = deadletters.event_record(
        event_data,
        link.id if link else "",
        reason,
        attempts,
        author,
        link.policy.retention_days if link else config.retention_days(chat) if chat else 1,
    )
    # As in publishing: IN_FLIGHT names the entry through the marker; "" (not from the
    # ingress stream) only clears the marker.
    stored = deadletters.add(redis, keys, record, retire=(ingress_id or "", in_flight))
    if stored == 1:
        log.warning("event %s parked in the dead letters after %d attempt(s): %s", record.source, attempts, reason)
    elif stored == 0:
        log.warning(
            "event %s dropped: the dead letters of link %s or of its sender are full (%s)",
            record.source,
            record.link or "?",
            reason,
        )
    return stored
