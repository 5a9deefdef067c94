"""The demo's organiser part (`twinbridge demo`, bridge/demo.py): Leicester's organiser sends
an event notice with `twinbridge announce --event`; it reaches every chat of the link in its
community's language, with the time in its community's zone (and on Discord as a timestamp
each reader sees in their own), pinned, with its .ics; then a member on each platform
answers Going, and every copy shows the totals counted across the bridge."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from core.phrases import rsvp_labels

LINK = "leicester-krefeld-masaya"
TITLE = "Twinning picnic"


class EventNotice:
    """The steps, against the demo's stand-ins (each waits for its effect with a deadline)."""

    def __init__(
        self,
        telegram,
        discord,
        env: dict[str, str],
        say: Callable[[str], None],
        wait_for: Callable[..., Awaitable[bool]],
        deadline: float,
    ):
        self.telegram = telegram
        self.discord = discord
        self.env = env
        self.say = say
        self.wait_for = wait_for
        self.deadline = deadline

    async def step(self, title: str, condition) -> bool:
        arrived = await self.wait_for(condition)
        late = "" if arrived else f" — did not arrive within {self.deadline:.0f}s"
        self.say(f"  {'✓' if arrived else '✗'} {title}{late}")
        return arrived

    def telegram_notice(self, chat: int) -> dict | None:
        """The bot's message in ``chat`` with the RSVP buttons, as members see it now."""
        for sent in self.telegram.sent(chat):
            shown = self.telegram.message(chat, sent["message_id"]) or {}
            rows = (shown.get("reply_markup") or {}).get("inline_keyboard", [])
            if any(str(button.get("callback_data", "")).startswith("rsvp:") for row in rows for button in row):
                return shown
        return None

    def discord_notice(self, channel: int) -> dict | None:
        for post in self.discord.posts(channel):
            shown = self.discord.message(channel, int(post["id"]))
            if shown and rsvp_buttons(shown):
                return shown
        return None

    async def announce(self, day: str) -> str | None:
        """Run `twinbridge announce` as Leicester's organiser would; the notice's id."""
        command = [
            *("announce", "--link", LINK, "--from", "leicester", "--event", "--title", TITLE),
            *("--start", f"{day} 18:00", "--end", f"{day} 21:00", "--place", "Abbey Park", "--pin"),
            "Bring friends and something to share!",
        ]
        self.say(f"  $ twinbridge announce --link {LINK} --from leicester --event --title '{TITLE}' \\")
        self.say(f"      --start '{day} 18:00' --end '{day} 21:00' --place 'Abbey Park' --pin 'Bring friends …'")
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bridge.cli", *command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        for line in (done.stdout or done.stderr).strip().splitlines():
            self.say(f"    {line}")
        found = re.search(r"Notice (\w+) ", done.stdout or "")
        return found.group(1) if done.returncode == 0 and found else None

    async def run(self, leicester: int, krefeld: int, masaya: int, guild: int, anna: dict, max_: dict) -> bool:
        self.say("\nAn organiser's event notice:")
        announcement_id = await self.announce((datetime.now(UTC) + timedelta(days=14)).date().isoformat())
        if announcement_id is None:
            self.say("  ✗ the command did not announce")
            return False
        ok = await self.step(
            "Leicester's Telegram group shows it, in English, pinned, with its .ics and three buttons",
            lambda: self._complete_on_telegram(leicester),
        )
        ok &= await self.step(
            "Krefeld's Discord channel shows it in German, from the bot, pinned, with its .ics and three buttons",
            lambda: self._complete_on_discord(krefeld),
        )
        ok &= await self.step("Masaya's Telegram group shows it in Spanish", lambda: self._complete_on_telegram(masaya))
        if not ok:
            return False
        self.say("    Each shows the time in its own community's zone:")
        self.say(f"      Leicester: {when_shown(self.telegram_notice(leicester)['text'])}")
        self.say(f"      Krefeld:   {when_shown(self.discord_notice(krefeld)['content'])}")
        self.say("                 (and a <t:…> timestamp Discord shows in each reader's own zone)")
        self.say(f"      Masaya:    {when_shown(self.telegram_notice(masaya)['text'])}")
        if self.discord.events(guild):
            self.say("    Krefeld's Discord server also lists it as a scheduled event.")

        notice = self.telegram_notice(leicester)
        self.telegram.inject_callback(anna, leicester, notice["message_id"], f"rsvp:{announcement_id}:going")
        post = self.discord_notice(krefeld)
        going = next(b["custom_id"] for b in rsvp_buttons(post) if b["custom_id"].endswith(":going"))
        self.discord.inject_component_click(max_, krefeld, int(post["id"]), going)
        two = {language: f"{rsvp_labels(language)['going']}: 2" for language in ("en", "de", "es")}
        ok &= await self.step(
            f"Anna presses {rsvp_labels('en')['going']} in Telegram, Max presses {rsvp_labels('de')['going']}"
            " in Discord → both copies count two going",
            lambda: (
                two["en"] in (self.telegram_notice(leicester) or {}).get("text", "")
                and two["de"] in (self.discord_notice(krefeld) or {}).get("content", "")
            ),
        )
        ok &= await self.step(
            "… and Masaya's copy too: the totals are counted across every twin",
            lambda: two["es"] in (self.telegram_notice(masaya) or {}).get("text", ""),
        )
        if ok:
            self.say(f"    Leicester now shows: {counts_shown(self.telegram_notice(leicester)['text'])}")
        return ok

    def _complete_on_telegram(self, chat: int) -> bool:
        notice = self.telegram_notice(chat)
        return (
            notice is not None
            and notice["message_id"] in self.telegram.pinned(chat)
            and bool(self.telegram.documents(chat))
        )

    def _complete_on_discord(self, channel: int) -> bool:
        notice = self.discord_notice(channel)
        return (
            notice is not None and int(notice["id"]) in self.discord.pinned(channel) and bool(notice.get("attachments"))
        )


def rsvp_buttons(message: dict) -> list[dict]:
    return [
        child
        for row in message.get("components") or ()
        for child in row.get("components") or ()
        if str(child.get("custom_id", "")).startswith("rsvp:")
    ]


def when_shown(text: str) -> str:
    """The line of a notice with its local time (without the platform's markup)."""
    lines = [line.strip() for line in text.splitlines()]
    local = [line for line in lines if line.startswith("🕰")] or [line for line in lines if line.startswith("🗓")]
    return re.sub(r"\\(.)", r"\1", local[0].lstrip("🕰🗓 ")) if local else "?"


def counts_shown(text: str) -> str:
    going = rsvp_labels("en")["going"]
    return next((line.strip() for line in text.splitlines() if line.strip().startswith(f"{going}:")), "?")
