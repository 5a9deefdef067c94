"""`twinbridge demo`: the whole pipeline on this machine, without any token.

Real parts: the Redis at REDIS_URL, a Celery worker process (`twinbridge
worker`) and the adapters process (`twinbridge run`, with the real aiogram and
discord.py clients), and the LibreTranslate at LIBRETRANSLATE_URL if one
answers. Stand-ins: the Telegram Bot API, Discord, and (without a real one)
LibreTranslate and MyMemory, served by this process on 127.0.0.1
(sandbox/, top level). A short scripted exchange is played by "members" of the
stand-ins, and what each chat shows is printed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import requests

from core.settings import Settings, _strip_password
from core.stats import Stats
from core.storage.housekeeping import remove_everything
from core.storage.connection import redis_client
from core.storage.keys import Keys

from .demo_event import EventNotice
from .demo_media import PhotoCrossing

TELEGRAM_TOKEN = "7000001:DEMO-sandbox-token-not-a-real-one"
DISCORD_TOKEN = "ZGVtbw.sandbox.token-not-a-real-one"
LEICESTER = -1001000000001
MASAYA = -1001000000003
UNLINKED = -1009999999999
GUILD = 112233445566770000
KREFELD = 112233445566778899
DEADLINE = 30.0
# Starting `twinbridge run` imports aiogram and discord.py: seconds, but on a busy machine
# (aiogram builds hundreds of pydantic models) it has been seen to take 40.
CONNECT_DEADLINE = 120.0

DEMO_LINKS = f"""
version: 1
communities:
  leicester:
    name: Leicester
    language: en
    timezone: Europe/London
    chats: [{{telegram: {LEICESTER}}}]
  krefeld:
    name: Krefeld
    language: de
    timezone: Europe/Berlin
    chats: [{{discord: {KREFELD}}}]
  masaya:
    name: Masaya
    language: es
    timezone: America/Managua
    chats: [{{telegram: {MASAYA}}}]
links:
  - id: leicester-krefeld-masaya
    communities: [leicester, krefeld, masaya]
    direction: both
    policy: learners
    glossary: [Düsseldorf]
policies:
  learners:
    base: community
    show_original: true
"""

ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith", "username": "anna_leic"}
MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max Krüger", "discriminator": "0"}
STRANGER = {"id": 5999, "is_bot": False, "first_name": "Eve"}


def say(text: str = "") -> None:
    print(text, flush=True)


class Processes:
    """The real `twinbridge` processes the demo starts, and their logs."""

    def __init__(self, env: dict[str, str], workdir: Path):
        self.env = env
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> None:
        with open(self.workdir / f"{name}.log", "wb") as log:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "bridge.cli", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def dead(self) -> list[str]:
        return [name for name, p in self.procs.items() if p.poll() is not None]

    def log_tail(self, name: str, lines: int = 15) -> str:
        text = (self.workdir / f"{name}.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    async def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 15
        for p in self.procs.values():
            while p.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if p.poll() is None:
                p.kill()


async def wait_for(condition, timeout: float = DEADLINE) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return False


def _answers(url: str) -> bool:
    """Whether a LibreTranslate answers at ``url`` (GET /languages, 3 s)."""
    try:
        return requests.get(url.rstrip("/") + "/languages", timeout=3).ok
    except requests.RequestException:
        return False


def translator_urls(endpoints) -> str:
    """Every internet provider pointed at this machine: the demo never leaves it."""
    urls = {"mymemory": endpoints.mymemory_url, "google": endpoints.google_url}
    closed = "http://127.0.0.1:9"
    for name in ("deepl", "microsoft", "yandex", "papago", "baidu", "qcri"):
        urls[name] = f"{closed}/{name}"
    return ",".join(f"{name}={url}" for name, url in urls.items())


def show_chat(title: str, lines: list[tuple[str, str]]) -> None:
    say(f"  ┌─ {title}")
    for author, text in lines or [("", "(nothing)")]:
        body = text.replace("\n", "\n  │    ")
        say(f"  │ {author}: {body}" if author else f"  │ {body}")
    say("  └─")


async def main(settings: Settings, explicit_config: str | None = None) -> int:
    from sandbox.discord import DiscordStandIn
    from sandbox.telegram import TelegramStandIn
    from sandbox.translator import LibreTranslateStandIn, ProviderEndpointStandIn

    say("twinbridge demo — the whole pipeline on this machine, no tokens needed\n")
    if explicit_config:
        say(f"(--config {explicit_config} is ignored: the demo uses its own three-community link.)\n")
    redis_where = _strip_password(settings.redis_url)
    redis = redis_client(settings.redis_url, asyncio=True, decode_responses=True, socket_connect_timeout=3)
    try:
        await redis.ping()
    except Exception as exc:  # noqa: BLE001 - any failure here means: no usable Redis
        say(
            f"The demo needs a running Redis at {redis_where} ({exc.__class__.__name__}).\n"
            "Start one (`bash scripts/bootstrap.sh` installs and starts it) or set REDIS_URL."
        )
        await redis.aclose()
        return 1

    prefix = f"tbdemo:{uuid.uuid4().hex[:8]}:"
    telegram = TelegramStandIn(token=TELEGRAM_TOKEN)
    discord = DiscordStandIn(
        token=DISCORD_TOKEN, guilds={GUILD: {"name": "Krefeld Partnerschaft", "channels": {KREFELD: "leicester"}}}
    )
    endpoints = ProviderEndpointStandIn()
    real_libre = (
        settings.libretranslate_url
        if settings.libretranslate_url and await asyncio.to_thread(_answers, settings.libretranslate_url)
        else None
    )
    libre = None if real_libre else LibreTranslateStandIn(api_key=None)
    servers = [s for s in (telegram, discord, endpoints, libre) if s is not None]
    for server in servers:
        await server.start()
    libre_url = real_libre or libre.url
    workdir = Path(tempfile.mkdtemp(prefix="twinbridge-demo-"))
    config_path = workdir / "links.yaml"
    config_path.write_text(textwrap.dedent(DEMO_LINKS))
    env = {
        **os.environ,
        "TWINBRIDGE_CONFIG": str(config_path),
        "REDIS_URL": settings.redis_url,
        "TWINBRIDGE_REDIS_PREFIX": prefix,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
        "DISCORD_API_URL": discord.api_url,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
        "LIBRETRANSLATE_URL": libre_url,
        "TWINBRIDGE_TRANSLATOR_URLS": translator_urls(endpoints),
        "TWINBRIDGE_TRANSLATION_TIMEOUT": "10",
        "TWINBRIDGE_LOG_LEVEL": "WARNING",
        # The logs it shows when something fails are read by a person: the human format,
        # unless TWINBRIDGE_LOG_FORMAT says otherwise.
        "TWINBRIDGE_LOG_FORMAT": os.environ.get("TWINBRIDGE_LOG_FORMAT") or "text",
        "PYTHONUNBUFFERED": "1",
    }
    procs = Processes(env, workdir)
    ok = True
    try:
        say("Setting up:")
        say(f"  • Redis: {redis_where}, keys under '{prefix}' (removed at the end)")
        say(f"  • Telegram Bot API stand-in on {telegram.url}")
        say(f"  • Discord REST + gateway stand-in on {discord.api_url} / {discord.gateway_url}")
        if real_libre:
            say(f"  • translator: the real LibreTranslate at {real_libre}")
        else:
            where = (
                f" at {settings.libretranslate_url}" if settings.libretranslate_url else "; LIBRETRANSLATE_URL is unset"
            )
            say(f"  • translator: a LibreTranslate stand-in on {libre.url} (no real one answered{where}):")
            say('    its "translations" are the text marked [de]/[es]/[en] with a few words swapped')
        say(
            f"  • MyMemory/Google stand-in on {endpoints.url} (the policy's second choice; nothing leaves this machine)"
        )
        procs.start("worker", "worker", "--concurrency", "1")
        procs.start("adapters", "run")
        say("  • started `twinbridge worker` (a Celery worker) and `twinbridge run` (aiogram + discord.py)")
        connected = await wait_for(
            lambda: (
                (discord.identified.is_set() and any(m == "getUpdates" for _, m, _ in telegram.requests))
                or bool(procs.dead())
            ),
            timeout=CONNECT_DEADLINE,
        )
        if not connected or procs.dead():
            say("\nThe adapters did not connect. Their log says:\n" + procs.log_tail("adapters"))
            return 1
        say("  • both adapters connected to their stand-ins\n")
        say(
            "Link 'leicester-krefeld-masaya' (policy: community, first names only, with the original shown"
            " under each translation):"
        )
        say("  Leicester (Telegram group, en) · Krefeld (Discord channel, de) · Masaya (Telegram group, es)\n")

        steps = Script(telegram, discord, libre)
        ok &= await steps.run()
        ok &= await PhotoCrossing(telegram, discord, say, wait_for).run(LEICESTER, KREFELD, ANNA)
        notice = EventNotice(telegram, discord, env, say, wait_for, DEADLINE)
        ok &= await notice.run(LEICESTER, KREFELD, MASAYA, GUILD, ANNA, MAX)
        say("\nWhat each chat shows now:")
        show_chat(f"Telegram · Leicester ({LEICESTER})", telegram.transcript(LEICESTER))
        show_chat(f"Discord · Krefeld #leicester ({KREFELD})", discord.transcript(KREFELD))
        show_chat(f"Telegram · Masaya ({MASAYA})", telegram.transcript(MASAYA))
        show_chat(f"Telegram · an unlinked group ({UNLINKED})", telegram.transcript(UNLINKED))

        stats = await Stats(redis, Keys(prefix)).read()
        say("\nCounters: " + ", ".join(f"{k}={v}" for k, v in sorted(stats.items())))
        say("\nWhat was real and what was not:")
        say("  • real: Redis, the Celery worker process, the `twinbridge run` process with the aiogram and")
        say("    discord.py clients speaking HTTP and the gateway websocket to the stand-ins above.")
        say("  • stand-ins: no Telegram or Discord server was contacted; the members are scripted.")
        if real_libre:
            say(f"  • translation: by the real LibreTranslate at {real_libre}.")
        else:
            say("  • translation: by the stand-in, so the pipeline is real (detection, one call per language,")
            say('    placeholders, the original shown) but the "translations" are not; set LIBRETRANSLATE_URL')
            say("    to a running LibreTranslate (see the README) to see real ones.")
        say("  • not shown here: consent and a teacher's approval (the `school` policy; see")
        say("    tests/e2e/test_privacy_path.py and docs/privacy.md).")
        say("  • the event notice was sent with `twinbridge announce` at once; with --at or --remind it")
        say("    waits for `twinbridge scheduler` (not started here).")
        say("  • the photo was a real JPEG: its place and camera serial were removed by the `twinbridge run`")
        say("    process, which fetched it from the Telegram stand-in and uploaded it to the Discord one.")
        say("    Albums, files, video and voice cross too (tests/e2e/test_media_path.py); a file over a")
        say("    platform's size limit is replaced by a notice with its name and size.")
        if not ok:
            say("\nSome steps did not complete within the deadline; logs: " + str(workdir))
            for name in procs.procs:
                say(f"--- {name} ---\n{procs.log_tail(name)}")
        return 0 if ok else 1
    finally:
        await procs.stop()
        for server in servers:
            await server.stop()
        await remove_everything(redis, Keys(prefix))
        await redis.aclose()


class Script:
    """The scripted exchange; each step waits for its effect with a deadline."""

    def __init__(self, telegram, discord, libre=None):
        self.telegram = telegram
        self.discord = discord
        self.libre = libre  # the stand-in, when no real LibreTranslate answered

    async def step(self, title: str, condition) -> bool:
        arrived = await wait_for(condition)
        say(f"  {'✓' if arrived else '✗'} {title}" + ("" if arrived else f" — did not arrive within {DEADLINE:.0f}s"))
        return arrived

    def _discord_has(self, fragment: str) -> bool:
        return any(fragment in text for _, text in self.discord.transcript(KREFELD))

    def _telegram_has(self, chat: int, fragment: str) -> bool:
        return any(fragment in text for _, text in self.telegram.transcript(chat))

    async def run(self) -> bool:
        ok = True
        say("The exchange:")
        first = self.telegram.inject_message(LEICESTER, ANNA, "Hello Krefeld! We land in Düsseldorf on Friday.")
        ok &= await self.step(
            "Anna writes in Leicester's Telegram group → shown in Krefeld's Discord channel",
            lambda: self._discord_has("We land in Düsseldorf"),
        )
        ok &= await self.step(
            "… and in Masaya's Telegram group", lambda: self._telegram_has(MASAYA, "We land in Düsseldorf")
        )
        if self._discord_has("übersetzt von") and self._telegram_has(MASAYA, "traducido por"):
            calls = len([r for r in self.libre.requests if r.path == "/translate"]) if self.libre else None
            say(
                "  ✓ … translated once per language: German for Krefeld, Spanish for Masaya"
                + (f" ({calls} translator calls)" if calls is not None else "")
                + ", the original underneath"
            )
        else:
            say('  ! … no translator answered in time: the copies went out in English, marked "not translated"')

        copy = next((p for p in self.discord.posts(KREFELD) if "Düsseldorf" in (p.get("content") or "")), None)
        self.discord.inject_message(
            KREFELD,
            MAX,
            "Hallo Leicester! Wir holen euch am Flughafen ab.",
            reference_message_id=int(copy["id"]) if copy else None,
        )
        ok &= await self.step(
            "Max answers on Discord (a reply) → shown in Leicester's group as a reply",
            lambda: self._telegram_has(LEICESTER, "Wir holen euch"),
        )

        self.telegram.inject_edit(LEICESTER, first["message_id"], "Hello Krefeld! We land in Düsseldorf on Saturday.")
        ok &= await self.step(
            "Anna corrects her message → the copies show the new text, once",
            lambda: self._discord_has("on Saturday") and not self._discord_has("on Friday"),
        )

        self.discord.inject_message(KREFELD, MAX, "@everyone Grillen um 8 <b>heute</b> & morgen")
        ok &= await self.step(
            "'@everyone … <b>…</b> &' from Discord arrives as plain text, pinging nobody",
            lambda: self._telegram_has(LEICESTER, "<b>heute</b> & morgen"),
        )

        self.telegram.inject_message(LEICESTER, ANNA, "Call me on +44 7911 123456 or anna.smith@example.org")
        ok &= await self.step(
            "Anna shares her phone number and e-mail → removed before anything leaves "
            "(the policy's redaction), in every copy",
            lambda: (
                self._discord_has("[phone removed]")
                and self._telegram_has(MASAYA, "[email removed]")
                and not self._discord_has("7911")
            ),
        )

        self.discord.inject_message(KREFELD, MAX, "/privacy")
        ok &= await self.step(
            "Max asks /privacy on Discord → the bot answers in the channel with the link's notice",
            lambda: self._discord_has("Privacy notice"),
        )

        self.telegram.inject_message(UNLINKED, STRANGER, "Can anyone see this?")
        self.telegram.inject_message(LEICESTER, ANNA, "See you soon!")
        ok &= await self.step(
            "A message in a group that no link names is ignored (and counted)",
            lambda: self._discord_has("See you soon!") and not self._discord_has("Can anyone see this"),
        )
        # Telegram allows about one message a second per chat: let Masaya's copies catch up.
        ok &= await self.step(
            "Masaya's group has received all five copies (paced at Telegram's 1 msg/s)",
            lambda: self._telegram_has(MASAYA, "See you soon!"),
        )
        return ok
