"""The plain functions behind poison-message handling (workers/failures.py)."""

from __future__ import annotations

from core.models import PlatformEvent
from workers import failures


def test_a_reason_names_the_failure_and_where_never_the_message():
    try:
        float("Anna's secret plan")
    except ValueError as exc:
        reason = failures.describe(exc)
    assert reason.startswith("ValueError") and "secret" not in reason


def test_a_payload_that_does_not_decode_is_not_retried_and_says_so():
    try:
        try:
            PlatformEvent.from_dict({"kind": "new", "text": "Anna's secret plan"})
        except Exception as exc:
            raise failures.BadPayload() from exc
    except failures.BadPayload as exc:
        bad = exc
    assert not failures.retriable(bad)
    reason = failures.describe(bad)
    assert reason.startswith("bad payload: KeyError") and "models.py" in reason and "secret" not in reason


def test_backoff_doubles_with_jitter_and_stays_under_the_cap():
    for retries, full in ((0, 1.0), (1, 2.0), (2, 4.0)):
        for _ in range(20):
            assert full / 2 <= failures.backoff(retries, cap=60) <= full
    assert failures.backoff(10, cap=5) <= 5
