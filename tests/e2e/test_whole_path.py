"""The whole path, both directions, through the commands a user starts.

`twinbridge worker` and `twinbridge run` run as subprocesses against a real
Redis; the stand-ins of the Telegram Bot API and Discord run in this test's
event loop, and every assertion is on what they received.
"""

from __future__ import annotations

import re

import pytest

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, metric, scrape_metrics, serving, wait_until
from ..processes import free_port

LEICESTER = -1001000000001
MASAYA = -1001000000003
UNLINKED = -1009999999999
GUILD = 112233445566770000
KREFELD = 112233445566778899

# One language on every side: these tests read the texts as written (translation
# has its own end-to-end test, test_translation_path.py).
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: en, chats: [{{discord: {KREFELD}}}]}}
  masaya: {{name: Masaya, language: en, chats: [{{telegram: {MASAYA}}}]}}
links:
  - id: twins
    communities: [leicester, krefeld, masaya]
    direction: both
    policy: community
"""
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max Krüger", "discriminator": "0"}


@pytest.fixture
async def standins():
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "leicester"}}})
    async with serving(telegram, discord):
        yield telegram, discord


def whole_path_env(tmp_path, redis_url, prefix, telegram, discord) -> dict[str, str]:
    """This module's links.yaml written, and the environment for it (INFO logs)."""
    return bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord, TWINBRIDGE_LOG_LEVEL="INFO")


def webhook_posts(discord, channel_id):
    return [p for p in discord.posts(channel_id) if p.get("webhook_id")]


async def test_relay_both_directions(tmp_path, procs, standins, redis_url, prefix, aredis):
    telegram, discord = standins
    env = whole_path_env(tmp_path, redis_url, prefix, telegram, discord)
    # Each process serves its metrics (docs/operations.md, "Metrics"); checked at the end.
    ports = {"worker": free_port(), "run": free_port()}
    procs.start("worker", ["worker", "--concurrency", "2"], {**env, "TWINBRIDGE_METRICS_PORT": str(ports["worker"])})
    procs.start("run", ["run"], {**env, "TWINBRIDGE_METRICS_PORT": str(ports["run"])})
    await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter to identify")
    await wait_until(
        lambda: any(m == "getUpdates" for _, m, _ in telegram.requests), 30, message="the Telegram adapter to poll"
    )

    # Telegram -> Discord (and the other Telegram group of the link)
    hello = telegram.inject_message(LEICESTER, ANNA, "Hello Krefeld!")
    await wait_until(lambda: webhook_posts(discord, KREFELD), 30, message="the webhook post in Krefeld")
    (post,) = webhook_posts(discord, KREFELD)
    assert post["content"] == "Hello Krefeld!"
    assert post["username"] == "Anna · Leicester"  # community policy: first name only
    assert post["allowed_mentions"] == {"parse": []}
    await wait_until(lambda: telegram.sent(MASAYA), 30, message="the copy in Masaya")
    (copy,) = telegram.sent(MASAYA)
    assert copy["text"] == "<b>Anna · Leicester:</b> Hello Krefeld!" and copy["parse_mode"] == "HTML"

    # Discord -> Telegram, as a reply to the relayed copy: a real reply to Anna's original.
    discord.inject_message(KREFELD, MAX, "Hallo Leicester!", reference_message_id=int(post["id"]))
    await wait_until(lambda: telegram.sent(LEICESTER), 30, message="Max's answer in Leicester")
    (answer,) = telegram.sent(LEICESTER)
    assert answer["text"] == "<b>Max · Krefeld:</b> Hallo Leicester!"
    assert _reply_target(answer) == hello["message_id"]

    # An edit leaves one copy with the new text.
    telegram.inject_edit(LEICESTER, hello["message_id"], "Hello Krefeld, hello Masaya!")
    await wait_until(
        lambda: ("Anna · Leicester", "Hello Krefeld, hello Masaya!") in discord.transcript(KREFELD),
        30,
        message="the edited copy",
    )
    assert [t for _, t in discord.transcript(KREFELD)].count("Hello Krefeld, hello Masaya!") == 1

    # Nothing typed on one side pings or formats on the other.
    discord.inject_message(KREFELD, MAX, "@everyone <b>bold?</b> <@&42> & co")
    await wait_until(lambda: len(telegram.sent(LEICESTER)) == 2, 30, message="the second answer")
    shown = telegram.sent(LEICESTER)[1]["text"]
    # Markup arrives escaped; an @-mention is broken by an invisible word joiner.
    assert "@everyone" not in shown
    assert (
        shown.replace("\u2060", "")
        == "<b>Max · Krefeld:</b> @everyone &lt;b&gt;bold?&lt;/b&gt; &lt;@&amp;42&gt; &amp; co"
    )
    telegram.inject_message(LEICESTER, ANNA, "@everyone @here look")
    await wait_until(lambda: len(webhook_posts(discord, KREFELD)) == 2, 30, message="the ping attempt")
    assert all(p["allowed_mentions"] == {"parse": []} for p in webhook_posts(discord, KREFELD))

    # An unlinked chat is never relayed, and is counted.
    telegram.inject_message(UNLINKED, ANNA, "secret")
    await wait_until(
        lambda: _stat(aredis, prefix, "telegram.skipped.unknown_chat"), 30, message="the unknown chat to be counted"
    )

    # The bridge never relays its own posts back: the gateway echoed every webhook post,
    # yet each side shows exactly what the members wrote, once.
    telegram.inject_message(LEICESTER, ANNA, "last one")
    await wait_until(lambda: len(webhook_posts(discord, KREFELD)) == 3, 30, message="the last post")
    assert len(telegram.sent(LEICESTER)) == 2
    # Anna x3 (one edited in place) + Max x2; Telegram allows about 1 message/s per chat.
    await wait_until(lambda: len(telegram.sent(MASAYA)) >= 5, 30, message="Masaya's five copies")
    assert len(telegram.sent(MASAYA)) == 5
    assert not any("secret" in (p.get("content") or "") for p in discord.posts())
    assert all(chat != UNLINKED for chat in _sent_chats(telegram))
    assert (
        await _stat(aredis, prefix, "discord.skipped.webhook") >= 3
        or await _stat(aredis, prefix, "discord.skipped.own_message") >= 3
    )

    # The metrics of both processes, scraped over HTTP as Prometheus would.
    run_metrics = await scrape_metrics(ports["run"])
    worker_metrics = await scrape_metrics(ports["worker"])
    for found in (run_metrics, worker_metrics):
        _assert_no_personal_data(found)
        assert metric(found, "twinbridge_redis_up") == 1
        assert metric(found, "twinbridge_processed_total") >= 5  # the counters the workers keep in Redis
        assert metric(found, "twinbridge_dropped_total", stage="telegram", reason="unknown_chat") >= 1
        assert metric(found, "twinbridge_queue_depth", queue="moderation") is not None
        assert metric(found, "twinbridge_translations_total", status="same_language") >= 1
        # Anna's three messages to Krefeld and Masaya, Max's two to Leicester and Masaya; one edit each side.
        assert metric(found, "twinbridge_relayed_total", platform="discord", kind="new") == 3
        assert metric(found, "twinbridge_relayed_total", platform="telegram", kind="new") == 7
        assert metric(found, "twinbridge_relayed_total", platform="discord", kind="edit") == 1
        assert metric(found, "twinbridge_accepted_total", platform="telegram") >= 4
    # Only the adapters' process has its adapters, and the latency of the copies they delivered.
    assert metric(run_metrics, "twinbridge_adapter_connected", platform="telegram") == 1
    assert metric(run_metrics, "twinbridge_adapter_connected", platform="discord") == 1
    for direction, copies in (("telegram→discord", 3), ("telegram→telegram", 3), ("discord→telegram", 4)):
        labels = {"link": "twins", "direction": direction}
        assert metric(run_metrics, "twinbridge_delivery_latency_seconds_count", **labels) == copies, direction
        assert 0 <= metric(run_metrics, "twinbridge_delivery_latency_seconds_sum", **labels) < 30 * copies
        assert metric(worker_metrics, "twinbridge_delivery_latency_seconds_count", **labels) is None


def _reply_target(message: dict):
    params = message.get("reply_parameters")
    if isinstance(params, dict):
        return params.get("message_id")
    return message.get("reply_to_message_id")


def _sent_chats(telegram):
    return {int(m["chat_id"]) for m in telegram.sent()}


async def _stat(aredis, prefix, name) -> int:
    return int(await aredis.hget(f"{prefix}stats", name) or 0)


# What a label may hold: configuration (link ids), platform names, and words of the code.
_PLATFORMS = {"telegram", "discord"}
_ALLOWED = {
    "link": {"twins"},
    "platform": _PLATFORMS,
    "direction": {f"{a}→{b}" for a in _PLATFORMS for b in _PLATFORMS},
    "queue": {"ingress", "moderation", "pipeline", "translation", "delivery", "outbox_telegram", "outbox_discord"},
    "stage": _PLATFORMS | {"ingress", "moderation", "worker"},
}
_WORDS = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)*$")  # reasons, kinds, statuses, counter names
_PERSONAL = ("Anna", "Smith", "Max", "Krüger", "max.k", "5001", "300000000000000301", "Hello", "Hallo", "secret")


def _assert_no_personal_data(found: dict) -> None:
    assert found, "the endpoint served nothing"
    for name, labels in found:
        for label, value in labels:
            assert not any(p.lower() in value.lower() for p in _PERSONAL), (name, label, value)
            assert not any(str(chat) in value for chat in (LEICESTER, MASAYA, UNLINKED, KREFELD)), (name, label, value)
            if label == "le":
                float(value)  # a histogram bucket's bound
            elif label in _ALLOWED:
                assert value in _ALLOWED[label], (name, label, value)
            else:
                assert label in ("reason", "kind", "decision", "status", "counter"), (name, label)
                assert _WORDS.match(value), (name, label, value)


async def test_rejected_token_is_named_and_exits_2(tmp_path, procs, standins, redis_url, prefix):
    telegram, discord = standins
    env = whole_path_env(tmp_path, redis_url, prefix, telegram, discord)
    env["TELEGRAM_BOT_TOKEN"] = "7000001:WRONG"
    env["DISCORD_BOT_TOKEN"] = ""
    proc = procs.start("run", ["run"], env)
    await wait_until(lambda: proc.poll() is not None, 30, message="`twinbridge run` to exit")
    log = procs.log("run")
    assert proc.returncode == 2
    assert "TELEGRAM_BOT_TOKEN was rejected" in log
    assert "WRONG" not in log and "Traceback" not in log


async def test_unreachable_redis_is_retried_not_a_crash_loop(tmp_path, procs, standins, prefix):
    telegram, discord = standins
    env = whole_path_env(tmp_path, f"redis://127.0.0.1:{free_port()}/0", prefix, telegram, discord)
    proc = procs.start("run", ["run"], env)
    await wait_until(lambda: procs.log("run").count("unreachable") >= 2, 30, message="two retries")
    assert proc.poll() is None  # still running, retrying with backoff
    assert "Traceback" not in procs.log("run")
    assert procs.stop("run") == 0
