"""Waiting on conditions with deadlines (never bare sleeps)."""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import os
import secrets
import signal
import textwrap
import time
from contextlib import asynccontextmanager
from pathlib import Path

from core.links import LinksConfig, load_links


async def wait_until(condition, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    """Poll ``condition`` (sync or async callable) until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = condition()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")
        await asyncio.sleep(interval)


@asynccontextmanager
async def serving(*standins):
    """Start the stand-ins in order; on the way out (however it is left) stop the ones started."""
    started = []
    try:
        for standin in standins:
            await standin.start()
            started.append(standin)
        yield standins
    finally:
        for standin in started:
            await standin.stop()


# The bot tokens the end-to-end tests give the stand-ins (and so the bridge). Each test
# process has its own: `twinbridge run` holds a lease per bot token outside every key prefix
# (one poller per token across deployments), so two test runs sharing a Redis database (a
# developer's run beside CI's) would otherwise make each other's adapters stand by.
TG_TOKEN = f"7000001:TEST-token-{secrets.token_hex(4)}"
DC_TOKEN = f"dGVzdA.e2e.token-{secrets.token_hex(4)}"


def bridge_env(
    tmp_path: Path, links_yaml: str, redis_url: str, prefix: str, telegram, discord, **extra: str
) -> dict[str, str]:
    """Write ``links_yaml`` (dedented) to tmp_path/links.yaml and return the environment for
    the `twinbridge` commands: Redis, the config, and the two stand-ins' URLs and bot tokens
    (each stand-in's own, so a test with its own tokens needs nothing more), plus ``extra``."""
    config = tmp_path / "links.yaml"
    config.write_text(textwrap.dedent(links_yaml), encoding="utf-8")
    return {
        "TWINBRIDGE_CONFIG": str(config),
        "REDIS_URL": redis_url,
        "TWINBRIDGE_REDIS_PREFIX": prefix,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "DISCORD_BOT_TOKEN": discord.token,
        "DISCORD_API_URL": discord.api_url,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
        **extra,
    }


ADAPTER_START = 90.0  # seconds


async def terminate(procs, *names: str, deadline: float = 30.0) -> dict[str, int]:
    """SIGTERM the named processes (all by default) together, then wait for their exits
    without blocking the event loop: the stand-ins run in it, and a blocking wait would
    leave the post a stopping adapter has in hand unanswered (its stop grace ran out
    instead). Returns each one's exit code."""
    chosen = {name: procs.procs[name] for name in (names or tuple(procs.procs))}
    for proc in chosen.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    await wait_until(
        lambda: all(p.poll() is not None for p in chosen.values()), deadline, message=f"{', '.join(chosen)} to exit"
    )
    return {name: proc.returncode for name, proc in chosen.items()}


async def start_bridge(
    procs, env: dict[str, str], telegram, discord, concurrency: int = 2, *, stderr_apart: bool = False
) -> None:
    """Start `twinbridge worker` and `twinbridge run`; return once both adapters
    talk to their stand-ins. ``stderr_apart``: their logs (stderr) in files of their own."""
    procs.start("worker", ["worker", "--concurrency", str(concurrency)], env, stderr_apart=stderr_apart)
    procs.start("run", ["run"], env, stderr_apart=stderr_apart)
    # A deadline, not a wait: on a loaded 2-core machine importing the client libraries
    # alone has taken 20-40 s; an idle one connects in about 2 s.
    await wait_until(lambda: discord.identified.is_set(), ADAPTER_START, message="the Discord adapter to identify")
    await wait_until(
        lambda: any(m == "getUpdates" for _, m, _ in telegram.requests),
        ADAPTER_START,
        message="the Telegram adapter to poll",
    )


# A school link between two classes: pupils pseudonymous, one Telegram moderator, 7 days.
SCHOOL_CLASSES_LINKS = """
version: 1
communities:
  a: {name: Year 8, language: en, chats: [{telegram: -1002}]}
  b: {name: Klasse 8b, language: de, chats: [{discord: 112233445566778811}]}
links:
  - {id: classes, communities: [a, b], policy: school}
policies:
  school: {moderators: ["telegram:9001"], retention_days: 7}
"""


def two_community_links(
    telegram_chat, discord_chat, link: str = "leicester-krefeld", policy: str = "open", krefeld_language: str = "de"
) -> str:
    """links.yaml text joining Leicester (a Telegram group, English) and Krefeld (a Discord channel)."""
    return f"""
version: 1
communities:
  leicester:
    name: Leicester
    language: en
    chats:
      - telegram: {telegram_chat}
  krefeld:
    name: Krefeld
    language: {krefeld_language}
    chats:
      - discord: {discord_chat}
links:
  - id: {link}
    communities: [leicester, krefeld]
    direction: both
    policy: {policy}
"""


def write_links(directory: Path, text: str) -> LinksConfig:
    path = directory / "links.yaml"
    path.write_text(text, encoding="utf-8")
    return load_links(path)


async def queued_events(aredis, prefix: str) -> list[dict]:
    """The pipeline tasks waiting in Celery's Redis queue, oldest first, decoded
    from kombu's envelope (what the adapters really enqueued)."""
    events = []
    for raw in reversed(await aredis.lrange(f"{prefix}celery:moderation", 0, -1)):  # kombu LPUSHes
        envelope = json.loads(raw)
        assert envelope["headers"]["task"] == "twinbridge.process_event"
        assert envelope["headers"]["argsrepr"] == ""  # no second copy of the text in the headers
        assert envelope["properties"]["body_encoding"] == "base64"
        args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        events.append(args[0])
    return events


def handed_to_translation(redis, prefix: str) -> list[dict]:
    """The posts waiting in the translation queue (``redis``: a synchronous client), oldest
    first: an approved held message goes on to its twin chats only this way (workers/holds.py)."""
    from core.task_queue import TRANSLATION_QUEUE, task_arguments

    posts = []
    for raw in reversed(redis.lrange(f"{prefix}celery:{TRANSLATION_QUEUE}", 0, -1)):  # LPUSH: newest first
        _task, args, _kwargs = task_arguments(raw)
        posts += args[0]["posts"]
    return posts


def read_metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One scrape of a process's metrics endpoint over HTTP, parsed as Prometheus parses it:
    {(sample name, sorted label pairs): value}."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape_metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """:func:`read_metrics` off the event loop (the stand-ins run on it)."""
    return await asyncio.to_thread(read_metrics, port)


def metric(found: dict, name: str, **labels: str) -> float | None:
    """The value of one sample of a scrape (None: not there)."""
    return found.get((name, tuple(sorted(labels.items()))))
