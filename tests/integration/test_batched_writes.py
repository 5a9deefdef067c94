"""The worker's writes around one message, batched: what follows a published event
goes to Redis in one round trip, with every write's result and TTL, and the
publishing script runs by EVALSHA."""

from __future__ import annotations

import textwrap
from collections import Counter

from core import audit
from core.storage import scripts
from core.storage.keys import DAY, Keys
from core.links import load_links
from core.models import Author, EventKind, MessageRef, PlatformEvent
from tests.helpers import SCHOOL_CLASSES_LINKS
from workers import pipeline, rights
from workers.moderation.events import gate
from workers.records import after_data, record_published

CONFIG = SCHOOL_CLASSES_LINKS
USER = "telegram:5001"
SOURCE = MessageRef("telegram", "-1002", "41")


class OnlyPipelines:
    """A client that allows nothing but pipelines: each one is a round trip."""

    def __init__(self, redis):
        self._redis = redis
        self.pipelines = []

    def pipeline(self, transaction=True):
        pipe = self._redis.pipeline(transaction=transaction)
        self.pipelines.append(pipe)
        return pipe

    def __getattr__(self, name):
        raise AssertionError(f"a separate round trip: {name}")


def context(tmp_path) -> pipeline.Context:
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    return pipeline.Context(config=load_links(path, pseudonym_key="k"), pseudonym_key="k")


def event() -> PlatformEvent:
    return PlatformEvent(
        kind=EventKind.NEW, source=SOURCE, text="hello", author=Author(id="5001", display_name="Anna Smith")
    )


def test_the_writes_after_publishing_are_one_round_trip(tmp_path, sync_redis, keys):
    ctx = context(tmp_path)
    sync_redis.set(keys.consent("classes", USER), "1", ex=100)  # about to lapse
    outcome = pipeline.Outcome()
    outcome.counts.update({"moderation.redacted.phone": 2, "translation.translated": 1})
    outcome.decisions["classes"] = Counter({"redacted.phone": 2, "redacted.email": 1, "media.withheld": 1})
    outcome.crossed.add("classes")

    person = rights.person(sync_redis, keys, USER)
    client = OnlyPipelines(sync_redis)
    after = after_data(event().source, event().timestamp, USER, person, outcome)
    assert not record_published(client, keys, ctx.config, after)

    assert len(client.pipelines) == 1
    assert sync_redis.hgetall(keys.stats()) == {
        "worker.processed": "1",
        "moderation.redacted.phone": "2",
        "translation.translated": "1",
    }
    assert 0 < sync_redis.ttl(keys.stats()) <= Keys.STATS_TTL
    entries = audit.entries(sync_redis, keys, "classes")
    assert [(e["action"], e["detail"], e["subject"]) for e in entries] == [
        ("media", "withheld=1", person),
        ("redacted", "email=1 phone=2", person),
    ]
    assert 6 * DAY < sync_redis.ttl(keys.audit("classes")) <= 7 * DAY
    assert rights.authored(sync_redis, keys, USER) == [f"classes|{SOURCE.key}"]
    assert 6 * DAY < sync_redis.ttl(keys.authored(USER)) <= 7 * DAY
    assert 6 * DAY < sync_redis.ttl(keys.consent("classes", USER)) <= 7 * DAY  # refreshed


def test_a_missing_consent_is_explained_once(tmp_path, sync_redis, keys):
    ctx = context(tmp_path)
    for _ in range(2):
        outcome = pipeline.Outcome(needs_consent={"classes"})
        gate(event(), USER, outcome, ctx, sync_redis, keys)
    assert sync_redis.hget(keys.stats(), "moderation.consent_missing") == "2"
    assert sync_redis.xlen(keys.outbox("telegram")) == 1  # the explanation, once
    assert 6 * DAY < sync_redis.ttl(keys.explained("classes", USER)) <= 7 * DAY


def test_a_script_runs_by_its_sha(sync_redis, keys):
    # The server may or may not know this script yet (NOSCRIPT: redis-py loads it).
    # One that only reads: the highest earlier position of a chat still in flight.
    chat = "telegram:-100"
    sync_redis.set(keys.in_flight(chat, 3), "x", ex=60)
    assert scripts.run(sync_redis, "event_in_flight_before", [], [5, keys.in_flight_prefix(chat), 10]) == 3
    script = scripts._REGISTERED["event_in_flight_before"]
    assert sync_redis.script_exists(script.sha) == [True]
    sync_redis.delete(keys.in_flight(chat, 3))
    assert scripts.run(sync_redis, "event_in_flight_before", [], [5, keys.in_flight_prefix(chat), 10]) == 0
    assert scripts._REGISTERED["event_in_flight_before"] is script  # its SHA1 computed once
