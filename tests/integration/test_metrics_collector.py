"""The metrics collector against a real Redis (core/metrics.py, core/storage/scrape.py):
the counters the bridge keeps appear under their Prometheus names without being counted
again, queue depths are what waits in the real queues, dead letters and held messages are
counted per link exactly (a decided hold no longer counts), a counter named after an id is
never shown, and the endpoint answers over HTTP, even with Redis away."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from pathlib import Path

import pytest

from core import deadletters, metrics, stats
from core.metrics import RedisCollector, serve
from core.models import Author, ChatRef, EventKind, MessageRef, OutboundPost, PlatformEvent
from core.settings import Settings
from core.storage import holds, outbox
from core.task_queue import MODERATION_QUEUE, PROCESS_EVENT_TASK, TRANSLATE_TASK, TRANSLATION_QUEUE, TaskQueue

from ..helpers import read_metrics
from ..processes import free_port

pytestmark = pytest.mark.integration

LINKS = ("twins", "schools")


def samples(collector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


def value(found, name, **labels) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def a_post(link="twins", platform="discord", message="42") -> OutboundPost:
    return OutboundPost(
        kind=EventKind.NEW,
        link_id=link,
        destination=ChatRef(platform, "778899" if platform == "discord" else "-1002"),
        source=MessageRef("telegram", "-1001", message),
        sender="Anna",
        community="Leicester",
        text="Meet at the market",
        retention_days=7,
    )


def test_every_counter_appears_once_under_its_name(sync_redis, keys):
    for name, n in {
        "telegram.skipped.unknown_chat": 3,
        "discord.skipped.webhook": 2,
        "ingress.dropped_unreadable": 1,
        "dropped.paused": 4,
        "moderation.consent_missing": 1,
        "telegram.delivery.dead_lettered": 1,
        "worker.event_dead_lettered": 2,
        "discord.delivery.rate_limited": 5,
        "telegram.delivery.retried": 6,
        "worker.event_retried": 1,
        "moderation.held": 2,
        "moderation.redacted.email": 3,
        "moderation.redacted.phone": 1,
        "moderation.profanity.masked": 2,
        "translation.translated": 7,
        "translation.failed": 1,
        "worker.processed": 9,
        "discord.caught_up": 4,
        "telegram.accepted": 8,
        "discord.delivered.new": 5,
        "telegram.delivered.edit": 2,
    }.items():
        stats.count(sync_redis, keys, name, n)  # as the workers count (one HINCRBY each)
    found = samples(RedisCollector(sync_redis, keys, LINKS))
    assert value(found, "twinbridge_redis_up") == 1
    assert value(found, "twinbridge_dropped_total", stage="telegram", reason="unknown_chat") == 3
    assert value(found, "twinbridge_dropped_total", stage="discord", reason="webhook") == 2
    assert value(found, "twinbridge_dropped_total", stage="ingress", reason="unreadable") == 1
    assert value(found, "twinbridge_dropped_total", stage="moderation", reason="paused") == 4
    assert value(found, "twinbridge_dropped_total", stage="moderation", reason="consent_missing") == 1
    assert value(found, "twinbridge_dead_lettered_total", stage="telegram") == 1
    assert value(found, "twinbridge_dead_lettered_total", stage="worker") == 2
    assert value(found, "twinbridge_rate_limited_total", platform="discord") == 5
    assert value(found, "twinbridge_retries_total", stage="telegram") == 6
    assert value(found, "twinbridge_retries_total", stage="worker") == 1
    assert value(found, "twinbridge_held_total") == 2
    assert value(found, "twinbridge_redacted_total", kind="email") == 3
    assert value(found, "twinbridge_redacted_total", kind="phone") == 1
    assert value(found, "twinbridge_moderation_decisions_total", decision="profanity.masked") == 2
    assert value(found, "twinbridge_translations_total", status="translated") == 7
    assert value(found, "twinbridge_translations_total", status="failed") == 1
    assert value(found, "twinbridge_processed_total") == 9
    assert value(found, "twinbridge_counter_total", counter="discord.caught_up") == 4
    assert value(found, "twinbridge_accepted_total", platform="telegram") == 8
    assert value(found, "twinbridge_relayed_total", platform="discord", kind="new") == 5
    assert value(found, "twinbridge_relayed_total", platform="telegram", kind="edit") == 2
    # Each counter once: the sum over every counter family is the sum of the hash.
    counted = sum(v for (name, _), v in found.items() if name.endswith("_total"))
    assert counted == sum(int(v) for v in sync_redis.hgetall(keys.stats()).values())
    # The async counters of the adapters land in the same hash and show at the next scrape.
    stats.count(sync_redis, keys, "telegram.skipped.unknown_chat")
    again = samples(RedisCollector(sync_redis, keys, LINKS))
    assert value(again, "twinbridge_dropped_total", stage="telegram", reason="unknown_chat") == 4


def test_a_counter_named_after_an_id_or_a_name_is_never_shown(sync_redis, keys):
    for name in ("telegram.skipped.chat_-1001234", "discord.user.Anna", "moderation.redacted.x y", "a", "telegram.x5"):
        stats.count(sync_redis, keys, name)
    stats.count(sync_redis, keys, "telegram.skipped.unknown_chat")
    found = samples(RedisCollector(sync_redis, keys, LINKS))
    labels = {v for (_, pairs), _ in found.items() for _, v in pairs}
    assert not any(("1001234" in v or "Anna" in v or " " in v or "x5" in v) for v in labels)
    assert value(found, "twinbridge_dropped_total", stage="telegram", reason="unknown_chat") == 1


def test_queue_depths_are_what_waits_in_each_queue(sync_redis, keys, prefix):
    moderation = TaskQueue.for_prefix(prefix, MODERATION_QUEUE)
    translation = TaskQueue.for_prefix(prefix, TRANSLATION_QUEUE)
    for n in range(3):
        sync_redis.lpush(moderation.key, moderation.message(PROCESS_EVENT_TASK, [{"n": n}]))
    sync_redis.lpush(translation.key, translation.message(TRANSLATE_TASK, [{}]))
    sync_redis.hset(moderation.unacked_key, "tag-1", "[]")  # one task a worker holds
    sync_redis.xadd(keys.ingress(), {"event": "{}"})
    outbox.queue(sync_redis, keys, [a_post(), a_post(message="43"), a_post(platform="telegram")])
    found = samples(RedisCollector(sync_redis, keys, LINKS))
    depth = {dict(labels)["queue"]: v for (name, labels), v in found.items() if name == "twinbridge_queue_depth"}
    assert depth == {
        "ingress": 1,
        "moderation": 3,
        "pipeline": 0,
        "translation": 1,
        "delivery": 0,
        "outbox_telegram": 1,
        "outbox_discord": 2,
    }
    assert value(found, "twinbridge_tasks_taken") == 1


def test_dead_letters_and_held_messages_per_link(sync_redis, keys):
    for message in ("1", "2"):
        deadletters.add(sync_redis, keys, deadletters.post_record(a_post(message=message), "Forbidden", 8))
    deadletters.add(sync_redis, keys, deadletters.post_record(a_post(link="schools", message="3"), "Forbidden", 8))
    event = PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", "-1001", "50"),
        author=Author(id="5001", display_name="Anna Smith"),
        text="hello",
    )
    for hold_id, dedup in (("h1", "a"), ("h2", "b")):
        holds.hold(sync_redis, keys, "schools", dedup, hold_id, holds.record("schools", "p", event), 7, [])
    found = samples(RedisCollector(sync_redis, keys, LINKS))
    assert value(found, "twinbridge_dead_letters", link="twins") == 2
    assert value(found, "twinbridge_dead_letters", link="schools") == 1
    assert value(found, "twinbridge_held_waiting", link="schools") == 2
    assert value(found, "twinbridge_held_waiting", link="twins") == 0
    # A moderator decides one: it no longer waits (its index entry lingers until /status prunes it).
    sync_redis.delete(keys.held("h1"))
    found = samples(RedisCollector(sync_redis, keys, LINKS))
    assert value(found, "twinbridge_held_waiting", link="schools") == 1
    assert sync_redis.zcard(keys.held_of_link("schools")) == 2  # a scrape changes nothing in Redis
    purged = deadletters.purge(sync_redis, keys, [], link="twins")
    assert purged == 2
    assert value(samples(RedisCollector(sync_redis, keys, LINKS)), "twinbridge_dead_letters", link="twins") == 0


def test_the_endpoint_serves_over_http_and_answers_with_redis_away(sync_redis, keys, redis_url, prefix, caplog):
    stats.count(sync_redis, keys, "moderation.held", 2)
    settings = Settings(redis_url=redis_url, redis_prefix=prefix, metrics_port=free_port())
    endpoint = serve(settings, LINKS, "a test")
    assert endpoint is not None
    try:
        found = read_metrics(endpoint.port)
        assert value(found, "twinbridge_held_total") == 2
        assert value(found, "twinbridge_redis_up") == 1
        assert value(found, "process_resident_memory_bytes")  # this process's own figures too
    finally:
        endpoint.close()
    # Redis away: the endpoint still answers, and says so.
    away = replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0", metrics_port=free_port())
    endpoint = serve(away, LINKS, "a test")
    assert endpoint is not None
    try:
        with caplog.at_level(logging.WARNING, logger="core.metrics"):
            found = read_metrics(endpoint.port)
        assert value(found, "twinbridge_redis_up") == 0
        assert value(found, "twinbridge_held_total") is None
        assert "Redis unreachable" in caplog.text
    finally:
        endpoint.close()


def test_a_port_taken_is_logged_and_the_process_runs_on(redis_url, prefix, caplog):
    settings = Settings(redis_url=redis_url, redis_prefix=prefix, metrics_port=free_port())
    first = serve(settings, LINKS, "a test")
    assert first is not None
    try:
        with caplog.at_level(logging.ERROR, logger="core.metrics"):
            assert serve(settings, LINKS, "the second") is None
        assert "cannot listen" in caplog.text and "the second runs on without metrics" in caplog.text
    finally:
        first.close()


def test_no_port_no_endpoint(redis_url, prefix):
    assert serve(Settings(redis_url=redis_url, redis_prefix=prefix), LINKS, "a test") is None


def test_the_example_dashboard_asks_only_for_series_that_exist(sync_redis, keys):
    import bridge.metrics  # noqa: F401 - registers the adapters' own metrics
    import workers.scheduler  # noqa: F401 - and the scheduler's

    served = metrics.served(sync_redis, keys, LINKS)
    families = {family.name for family in served.collect()}
    dashboard = json.loads((Path(__file__).parents[2] / "docs" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", ())]
    asked = {re.sub(r"_(total|bucket|count|sum)$", "", name) for e in exprs for name in re.findall(r"\b[a-z_]+", e)}
    asked = {name for name in asked if name.startswith(("twinbridge_", "process_"))}
    assert len(asked) > 15
    assert asked <= families, sorted(asked - families)
