"""How the bridge's counters are named for Prometheus (core/metrics.py), what a label may
hold, the adapters' latency histogram (bridge/metrics.py) and the metrics settings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bridge import metrics as bridge_metrics
from bridge.cli import main
from core.metrics import LOCAL, MAX_COUNTERS, classify, counter_families, exposable
from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("counter", "family", "labels"),
    [
        ("telegram.delivered.new", "relayed", ("telegram", "new")),
        ("discord.delivered.edit", "relayed", ("discord", "edit")),
        ("telegram.accepted", "accepted", ("telegram",)),
        ("telegram.skipped.unknown_chat", "dropped", ("telegram", "unknown_chat")),
        ("discord.skipped.webhook", "dropped", ("discord", "webhook")),
        ("ingress.dropped_unreadable", "dropped", ("ingress", "unreadable")),
        ("dropped.paused", "dropped", ("moderation", "paused")),
        ("moderation.consent_missing", "dropped", ("moderation", "consent_missing")),
        ("discord.delivery.dead_lettered", "dead_lettered", ("discord",)),
        ("worker.event_dead_lettered", "dead_lettered", ("worker",)),
        ("telegram.delivery.rate_limited", "rate_limited", ("telegram",)),
        ("discord.delivery.retried", "retries", ("discord",)),
        ("worker.event_retried", "retries", ("worker",)),
        ("moderation.held", "held", ()),
        ("moderation.redacted.email", "redacted", ("email",)),
        ("moderation.redacted.link_address", "redacted", ("link_address",)),
        ("moderation.profanity.masked", "moderation_decisions", ("profanity.masked",)),
        ("moderation.withheld.location", "moderation_decisions", ("withheld.location",)),
        ("translation.translated", "translations", ("translated",)),
        ("translation.failed", "translations", ("failed",)),
        ("worker.processed", "processed", ()),
        ("discord.delivery.duplicate", "counter", ("discord.delivery.duplicate",)),
        ("announcements.failed", "counter", ("announcements.failed",)),
    ],
)
def test_each_counter_has_one_name(counter, family, labels):
    got, values = classify(counter)
    assert (got.name, values) == (family, labels)
    assert len(values) == len(got.labels)


@pytest.mark.parametrize(
    "name",
    [
        "telegram.skipped.chat_-1001234567890",  # an id
        "discord.user.Anna",  # a name
        "telegram.skipped.unknown chat",  # text
        "telegram.x5",
        "stats",  # one part: not one of ours
        "a.b.c.d.e",
        "telegram..skipped",
        "telegram.skipped." + "x" * 70,
    ],
)
def test_a_counter_name_that_could_carry_personal_data_is_not_exposable(name):
    assert not exposable(name)
    families = counter_families({name: 3})
    assert not [s for f in families for s in f.samples]


def test_counters_are_summed_into_their_families_and_bounded():
    families = {f.name: f for f in counter_families({"telegram.skipped.unknown_chat": 2, "worker.processed": 5})}
    (dropped,) = families["twinbridge_dropped"].samples
    assert dropped.name == "twinbridge_dropped_total" and dropped.value == 2
    assert dropped.labels == {"stage": "telegram", "reason": "unknown_chat"}
    assert families["twinbridge_processed"].samples[0].value == 5
    many = {f"announcements.a{'b' * (n % 60)}_{chr(97 + n % 26)}": 1 for n in range(3000)}
    shown = sum(len(f.samples) for f in counter_families(many))
    assert shown <= MAX_COUNTERS


def a_post(**changes) -> OutboundPost:
    post = OutboundPost(
        kind=EventKind.NEW,
        link_id="twins",
        destination=ChatRef("discord", "778899"),
        source=MessageRef("telegram", "-1001", "42"),
        sender="Anna",
        community="Leicester",
        text="Hello",
        written_at=1000.0,
    )
    return replace(post, **changes)


def latency(link: str, direction: str, what: str = "count") -> float:
    return (
        LOCAL.get_sample_value(f"twinbridge_delivery_latency_seconds_{what}", {"link": link, "direction": direction})
        or 0
    )


def test_latency_is_observed_for_members_new_messages_only():
    bridge_metrics.know_links(["twins"])
    before = latency("twins", "telegram→discord")
    total = latency("twins", "telegram→discord", "sum")
    bridge_metrics.accepted(a_post(), 1002.5)
    assert latency("twins", "telegram→discord") == before + 1
    assert latency("twins", "telegram→discord", "sum") == pytest.approx(total + 2.5)
    bridge_metrics.accepted(a_post(kind=EventKind.EDIT), 1003.0)  # an edit carries the original's time
    bridge_metrics.accepted(a_post(kind=EventKind.NOTICE), 1003.0)
    bridge_metrics.accepted(a_post(announcement={"title": "x"}), 1003.0)
    bridge_metrics.accepted(a_post(written_at=0.0), 1003.0)  # time unknown
    assert latency("twins", "telegram→discord") == before + 1
    bridge_metrics.accepted(a_post(written_at=2000.0), 1999.0)  # clocks apart: never negative
    assert latency("twins", "telegram→discord", "sum") == pytest.approx(total + 2.5)


def test_latency_labels_are_link_ids_and_platform_names_only():
    bridge_metrics.know_links(["twins"])
    assert bridge_metrics.link_label("twins") == "twins"
    assert bridge_metrics.link_label("Anna's chat") == "other"
    assert bridge_metrics.link_label("not-configured") == "other"
    post = a_post(destination=ChatRef("telegram", "-1002"), source=MessageRef("discord", "7788", "1"))
    assert bridge_metrics.direction(post) == "discord→telegram"
    assert bridge_metrics.direction(a_post(source=MessageRef("matrix", "!room", "1"))) == "other→discord"


def test_metrics_settings_from_the_environment():
    assert load_settings({}).metrics_port == 0  # off unless asked for
    assert load_settings({}).metrics_host == "127.0.0.1"
    settings = load_settings({"TWINBRIDGE_METRICS_PORT": "9464", "TWINBRIDGE_METRICS_HOST": "0.0.0.0"})
    assert (settings.metrics_port, settings.metrics_host) == (9464, "0.0.0.0")
    assert load_settings({"TWINBRIDGE_METRICS_PORT": "off"}).metrics_port == 0
    for bad in ("http", "70000", "-1", "94 64"):
        with pytest.raises(SettingsError, match="TWINBRIDGE_METRICS_PORT"):
            load_settings({"TWINBRIDGE_METRICS_PORT": bad})


def test_a_bad_metrics_port_is_named_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TWINBRIDGE_METRICS_PORT", "metrics")
    assert main(["check"]) == 2
    assert "TWINBRIDGE_METRICS_PORT='metrics' is not a TCP port" in capsys.readouterr().err
