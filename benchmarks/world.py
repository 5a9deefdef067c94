"""The stand-in world a benchmark runs against, and the real processes it drives.

A *world* is: the loopback stand-ins of the Telegram Bot API, Discord and
LibreTranslate, served by the benchmark's own event loop (as in ``twinbridge
demo``); a ``links.yaml`` joining Telegram groups to Discord channels; and the
real ``twinbridge worker`` / ``twinbridge run`` processes, started as
subprocesses in their own session with a Redis key prefix of their own. Every
process started here is stopped by its id, and every Redis key under the
prefix removed, when the world closes — also after Ctrl-C or a failure
(:func:`emergency_cleanup` runs at exit for what a crash skipped).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import redis as redis_lib
import redis.asyncio as aioredis

from core.task_queue import STAGE_QUEUES
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn

REPO = Path(__file__).resolve().parent.parent
# The twinbridge code the worlds run (their `twinbridge worker` and `run` processes):
# this checkout, or an older revision's (`python -m benchmarks.run --compare-with REV`).
# The stand-ins, the load and the floor worker are always this checkout's.
CODE_UNDER_TEST = REPO
# Each benchmark run has its own: `twinbridge run` holds a lease per bot token outside
# every key prefix, so two runs on one Redis (or a test run beside one) would otherwise make
# each other's adapters stand by (seen as a start-up of a minute).
TG_TOKEN = f"7000001:BENCH-sandbox-token-{secrets.token_hex(4)}"
DC_TOKEN = f"YmVuY2g.sandbox.token-{secrets.token_hex(4)}"
GUILD = 112233445566770000
CLOSED = "http://127.0.0.1:9"  # internet providers point here: nothing leaves the machine
# Very high: the Discord stand-in's own route buckets must not be what is measured.
UNLIMITED_ROUTE = (1_000_000, 1.0)

# Everything started or written by any world, for the exit-time safety net.
_LIVE_PROCS: dict[int, subprocess.Popen] = {}
_LIVE_PREFIXES: dict[str, str] = {}  # prefix -> redis url


def tg_group(i: int) -> int:
    return -1002000000000 - i


def dc_channel(i: int) -> int:
    return 112233445566700000 + i


@dataclass(frozen=True)
class Community:
    id: str
    name: str
    language: str
    platform: str  # "telegram" | "discord"
    chat: int


@dataclass(frozen=True)
class Link:
    id: str
    communities: tuple[str, ...]
    policy: str = "bench"


@dataclass
class Layout:
    """Communities and links; renders the links.yaml the bridge reads."""

    communities: list[Community] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    policies: dict[str, dict] = field(
        default_factory=lambda: {
            # The association default (first names, redaction, profanity) with the
            # self-hosted translator only, so every translation goes to the stand-in.
            "bench": {"base": "community", "translation": ["libre"]},
        }
    )

    def yaml(self) -> str:
        lines = ["version: 1", "communities:"]
        for c in self.communities:
            lines.append(f"  {c.id}: {{name: {c.name}, language: {c.language}, chats: [{{{c.platform}: {c.chat}}}]}}")
        lines.append("links:")
        for link in self.links:
            lines.append(
                f"  - {{id: {link.id}, communities: [{', '.join(link.communities)}], "
                f"direction: both, policy: {link.policy}}}"
            )
        lines.append("policies:")
        for name, body in self.policies.items():
            items = ", ".join(f"{k}: {_yaml_value(v)}" for k, v in body.items())
            lines.append(f"  {name}: {{{items}}}")
        return "\n".join(lines) + "\n"

    def discord_channels(self) -> dict[int, str]:
        return {c.chat: c.id for c in self.communities if c.platform == "discord"}


def _yaml_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def pairs_layout(pairs: int, *, first: int = 0, policy: str = "bench") -> Layout:
    """``pairs`` links, each one Telegram group (English) ↔ one Discord channel (German)."""
    layout = Layout()
    add_pairs(layout, pairs, first=first, policy=policy)
    return layout


def add_pairs(layout: Layout, pairs: int, *, first: int = 0, policy: str = "bench") -> list[tuple[int, int]]:
    """Add pairs ``first .. first+pairs-1``; returns their (telegram group, discord channel)."""
    made = []
    for i in range(first, first + pairs):
        town = Community(f"town{i}", f"Town {i}", "en", "telegram", tg_group(i))
        twin = Community(f"twin{i}", f"Twin {i}", "de", "discord", dc_channel(i))
        layout.communities += [town, twin]
        layout.links.append(Link(f"pair-{i}", (town.id, twin.id), policy))
        made.append((town.chat, twin.chat))
    return made


class StandIns:
    """The three loopback services, on this process's event loop."""

    def __init__(
        self,
        layout: Layout,
        *,
        telegram_limits: bool = False,
        discord_route_limit=UNLIMITED_ROUTE,
        discord_global_limit=None,
        discord_premium_tier: int = 0,
    ):
        self.telegram = TelegramStandIn(token=TG_TOKEN, enforce_limits=telegram_limits, receipts=True)
        guild = {"name": "Bench twins", "channels": layout.discord_channels(), "premium_tier": discord_premium_tier}
        self.discord = DiscordStandIn(
            token=DC_TOKEN,
            guilds={GUILD: guild},
            route_limit=discord_route_limit,
            global_limit=discord_global_limit,
            receipts=True,
        )
        self.libre = LibreTranslateStandIn(api_key=None)

    @property
    def all(self):
        return (self.telegram, self.discord, self.libre)

    async def start(self) -> None:
        for server in self.all:
            await server.start()

    async def stop(self) -> None:
        for server in self.all:
            try:
                await server.stop()
            except Exception:  # noqa: BLE001 - stopping is best effort
                pass

    def translate_calls(self) -> int:
        return sum(1 for r in self.libre.requests if r.path == "/translate")


def translator_urls() -> str:
    return ",".join(
        f"{name}={CLOSED}/{name}"
        for name in ("google", "mymemory", "deepl", "microsoft", "yandex", "papago", "baidu", "qcri")
    )


class Processes:
    """Real processes of one world; each in its own session, stopped by its id."""

    def __init__(self, env: dict[str, str], workdir: Path):
        self.env = env
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        with open(self.workdir / f"{name}.log", "ab") as log:  # the child keeps its own copy
            proc = subprocess.Popen(
                argv,
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )
        self.procs[name] = proc
        _LIVE_PROCS[proc.pid] = proc
        return proc

    def start_twinbridge(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        code = {"PYTHONPATH": os.pathsep.join(filter(None, [str(CODE_UNDER_TEST), os.environ.get("PYTHONPATH")]))}
        return self.start(name, [sys.executable, "-m", "bridge.cli", *args], {**code, **(env or {})})

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def dead(self) -> list[str]:
        return [name for name, p in self.procs.items() if p.poll() is not None]

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.workdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    async def stop(self, name: str, timeout: float = 15.0) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        await asyncio.to_thread(_stop_group, proc, timeout)
        _LIVE_PROCS.pop(proc.pid, None)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(name) for name in list(self.procs)))


def _stop_group(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM to the process's own group (it and its pool children), SIGKILL after ``timeout``."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:  # whatever is left in the group (a pool child the main process did not reap)
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def delete_prefix(redis_url: str, prefix: str) -> int:
    client = redis_lib.Redis.from_url(redis_url)
    try:
        n = 0
        batch = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                n += client.delete(*batch)
                batch = []
        if batch:
            n += client.delete(*batch)
        return n
    finally:
        client.close()


@atexit.register
def emergency_cleanup() -> None:
    """Whatever a world could not stop or remove itself (a crash, a second Ctrl-C)."""
    for proc in list(_LIVE_PROCS.values()):
        _stop_group(proc, 5)
    _LIVE_PROCS.clear()
    for prefix, url in list(_LIVE_PREFIXES.items()):
        try:
            delete_prefix(url, prefix)
        except Exception:  # noqa: BLE001
            pass
    _LIVE_PREFIXES.clear()


class World:
    """Stand-ins + config + env + processes + a Redis prefix; ``async with`` closes all of it."""

    def __init__(
        self,
        layout: Layout,
        redis_url: str,
        *,
        rate_limits_off: bool = True,
        name: str = "world",
        telegram_limits: bool = False,
        discord_route_limit=UNLIMITED_ROUTE,
        discord_global_limit=None,
        discord_premium_tier: int = 0,
        extra_env: dict[str, str] | None = None,
    ):
        self.layout = layout
        self.redis_url = redis_url
        self.prefix = f"tbbench:{uuid.uuid4().hex[:8]}:"
        self.standins = StandIns(
            layout,
            telegram_limits=telegram_limits,
            discord_route_limit=discord_route_limit,
            discord_global_limit=discord_global_limit,
            discord_premium_tier=discord_premium_tier,  # the server's boost level: its upload limit
        )
        self.workdir = Path(tempfile.mkdtemp(prefix=f"twinbridge-bench-{name}-"))
        self.rate_limits_off = rate_limits_off
        self.extra_env = extra_env or {}
        self.procs: Processes | None = None
        self.redis: aioredis.Redis | None = None

    @property
    def telegram(self) -> TelegramStandIn:
        return self.standins.telegram

    @property
    def discord(self) -> DiscordStandIn:
        return self.standins.discord

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "TWINBRIDGE_CONFIG": str(self.workdir / "links.yaml"),
            "REDIS_URL": self.redis_url,
            "TWINBRIDGE_REDIS_PREFIX": self.prefix,
            "TELEGRAM_BOT_TOKEN": TG_TOKEN,
            "TELEGRAM_API_URL": self.telegram.url,
            "DISCORD_BOT_TOKEN": DC_TOKEN,
            "DISCORD_API_URL": self.discord.api_url,
            "DISCORD_GATEWAY_URL": self.discord.gateway_url,
            "LIBRETRANSLATE_URL": self.standins.libre.url,
            "TWINBRIDGE_TRANSLATOR_URLS": translator_urls(),
            "TWINBRIDGE_TRANSLATION_TIMEOUT": "10",
            "TWINBRIDGE_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            **self.extra_env,
        }
        if self.rate_limits_off:
            env["TWINBRIDGE_RATE_LIMITS"] = "off"
        else:
            env.pop("TWINBRIDGE_RATE_LIMITS", None)
        return env

    async def __aenter__(self) -> World:
        _LIVE_PREFIXES[self.prefix] = self.redis_url
        await self.standins.start()
        (self.workdir / "links.yaml").write_text(self.layout.yaml())
        self.procs = Processes(self.env(), self.workdir)
        self.redis = aioredis.Redis.from_url(self.redis_url, decode_responses=True)
        return self

    async def __aexit__(self, exc_type, *exc) -> None:
        # Logs are worth keeping after a failure, not after Ctrl-C (cancellation).
        await self.close(keep_logs=exc_type is not None and issubclass(exc_type, Exception))

    async def close(self, keep_logs: bool = False) -> None:
        """Stop everything and remove the keys; the processes' logs stay only after a failure."""
        if self.procs is not None:
            await self.procs.stop_all()
        await self.standins.stop()
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None
        await asyncio.to_thread(delete_prefix, self.redis_url, self.prefix)
        _LIVE_PREFIXES.pop(self.prefix, None)
        if keep_logs:
            print(f"  (the processes' logs are kept in {self.workdir})", flush=True)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_count(self, name: str, fragment: str) -> int:
        """How many lines of a process's log contain ``fragment`` (e.g. restarts)."""
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return 0
        with path.open(errors="replace") as f:
            return sum(1 for line in f if fragment in line)

    # -- the real processes -----------------------------------------------------
    async def start_worker(self, concurrency: int, name: str = "worker") -> None:
        self.procs.start_twinbridge(name, "worker", "--concurrency", str(concurrency))
        await self.wait_worker_ready(name, concurrency)

    async def wait_worker_ready(self, name: str, concurrency: int, timeout: float = 60.0) -> None:
        """Until the worker's pool children are up (at log level WARNING Celery does not
        say "ready"; the scenarios' warm-up then proves the worker consumes)."""
        from .procfs import children

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if name in self.procs.dead():
                raise RuntimeError(f"{name} died:\n{self.procs.log_tail(name)}")
            if len(children(self.procs.pid(name))) >= concurrency:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{name} not ready after {timeout:.0f}s:\n{self.procs.log_tail(name)}")

    async def start_adapters(self, timeout: float = 60.0) -> None:
        self.procs.start_twinbridge("adapters", "run")
        await self.wait_adapters_connected(timeout)

    async def wait_adapters_connected(self, timeout: float = 60.0) -> None:
        """Until the started `twinbridge run` has identified to Discord, polled Telegram and
        made both outbox groups."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "adapters" in self.procs.dead():
                raise RuntimeError(f"the adapters died:\n{self.procs.log_tail('adapters')}")
            polled = any(m == "getUpdates" for _, m, _ in self.telegram.requests[-50:])
            if self.discord.identified.is_set() and polled and await self._outboxes_ready():
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the adapters did not connect in {timeout:.0f}s:\n{self.procs.log_tail('adapters')}")

    async def _outboxes_ready(self) -> bool:
        """Both outbox consumers have created their group (they read from then on)."""
        for platform in ("telegram", "discord"):
            try:
                groups = await self.redis.xinfo_groups(f"{self.prefix}outbox:{platform}")
            except redis_lib.exceptions.ResponseError:
                return False
            if not groups:
                return False
        return True

    # -- backlog --------------------------------------------------------------
    async def backlog(self) -> dict[str, int]:
        """Where work waits: the Celery queues (every stage's), the ingress stream (accepted, not yet
        published), the outbox streams (published, not yet delivered) and Telegram
        updates not yet fetched by the adapter."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for queue in STAGE_QUEUES:  # every stage's (and the one-task layout's `pipeline`)
                pipe.llen(f"{self.prefix}celery:{queue}")
            pipe.xlen(f"{self.prefix}ingress")
            pipe.xlen(f"{self.prefix}outbox:telegram")
            pipe.xlen(f"{self.prefix}outbox:discord")
            *queued, ingress, out_tg, out_dc = await pipe.execute()
        return {
            "celery_queue": sum(queued),
            "ingress": ingress,
            "outbox_telegram": out_tg,
            "outbox_discord": out_dc,
            "telegram_updates": len(self.telegram.pending_updates()),
        }
