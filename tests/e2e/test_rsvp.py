"""RSVPs to an event notice across the bridge (issue 14), through the real `twinbridge
run`, `worker` and `announce`, the Telegram and Discord stand-ins and a LibreTranslate
stand-in: many members press Going / Maybe / Can't at once on both platforms, some
change their mind, some press the same button again; the counts in Redis and the
counts line both stand-ins show at the end agree and are right, reached with a few
edits rather than one per press. A member's /mydata lists their answer and /forgetme
takes it back: the counts shown on both sides drop."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import UTC, datetime

import pytest

from core.announcements import rsvp_button_data
from core.phrases import rsvp_counts_line
from core.storage import rsvps
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until
from ..processes import run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

GUILD = 112233445566770000
TG_CHAT, DC_CHANNEL = -1001000000051, 112233445566778851
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {TG_CHAT}}}]}}
  krefeld: {{name: Krefeld, language: de, timezone: Europe/Berlin, chats: [{{discord: {DC_CHANNEL}}}]}}
links:
  - {{id: towns, communities: [leicester, krefeld], policy: twins}}
policies:
  twins: {{base: open, translation: [libre]}}
"""
MEMBERS_PER_SIDE = 15
CHOICES = ("going", "maybe", "cant")


def tg_member(i: int) -> dict:
    return {"id": 7100 + i, "is_bot": False, "first_name": f"Member{i}"}


def dc_member(i: int) -> dict:
    return {"id": str(331122334455600000 + i), "username": f"mitglied{i}", "global_name": f"Mitglied {i}"}


def _rsvp_buttons(markup_rows) -> list[str]:
    return [b.get("callback_data", "") for row in markup_rows for b in row if "rsvp:" in b.get("callback_data", "")]


def telegram_notice(telegram) -> dict | None:
    """The notice's copy in the Telegram group (the message with the RSVP buttons), as shown now."""
    for sent in telegram.sent(TG_CHAT):
        rows = (sent.get("reply_markup") or {}).get("inline_keyboard") or []
        if isinstance(rows, str):
            rows = json.loads(rows).get("inline_keyboard", [])
        if _rsvp_buttons(rows):
            return telegram.message(TG_CHAT, sent["message_id"])
    return None


def discord_notice(discord) -> dict | None:
    """The notice's copy in the Discord channel (the message with the RSVP buttons), as shown now."""
    for post in discord.posts(DC_CHANNEL):
        ids = [c.get("custom_id", "") for row in post.get("components") or () for c in row.get("components") or ()]
        if any(i.startswith("rsvp:") for i in ids) and not post.get("deleted"):
            return discord.message(DC_CHANNEL, int(post["id"]))
    return None


def shows(telegram, discord, counts: dict[str, int]) -> bool:
    """Both copies show ``counts`` in their own language."""
    tg, dc = telegram_notice(telegram), discord_notice(discord)
    return bool(
        tg
        and dc
        and rsvp_counts_line("en", counts) in (tg.get("text") or tg.get("caption") or "")
        and rsvp_counts_line("de", counts) in (dc.get("content") or "")
    )


def edits_of_notice(telegram, discord, tg_id: int, dc_id: int) -> tuple[int, int]:
    """How many times each platform was asked to edit the notice's copy."""
    on_telegram = sum(
        1
        for _, method, params in telegram.requests
        if method.lower().startswith("editmessage") and str((params or {}).get("message_id")) == str(tg_id)
    )
    on_discord = sum(1 for _, method, path, _ in discord.requests if method == "PATCH" and str(dc_id) in path)
    return on_telegram, on_discord


@pytest.fixture
async def world(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {DC_CHANNEL: "twins"}}})
    libre = LibreTranslateStandIn()
    async with serving(telegram, discord, libre):
        env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord, LIBRETRANSLATE_URL=libre.url)
        await start_bridge(procs, env, telegram, discord)
        yield telegram, discord, env
        procs.stop_all()


async def test_rsvps_from_both_platforms_total_correctly_under_concurrent_clicks(world, procs, sync_redis, keys):
    telegram, discord, env = world
    start = datetime.fromtimestamp(time.time() + 7 * 86400, UTC).replace(microsecond=0).isoformat()
    result = run_cli(
        ["announce", "--link", "towns", "--event", "--title", "Summer fair", "--start", start, "Come along!"], env=env
    )
    assert result.returncode == 0, result.stderr
    notice_id = re.search(r"Notice (\w+) is on its way", result.stdout).group(1)
    tg = await wait_until(lambda: telegram_notice(telegram), 60, message="the notice on Telegram")
    dc = await wait_until(lambda: discord_notice(discord), 60, message="the notice on Discord")

    rng = random.Random(14)
    last: dict[str, str] = {}
    presses: list[tuple[str, int, str]] = []  # (platform, member, choice), in the order pressed
    for side in ("telegram", "discord"):
        for i in range(MEMBERS_PER_SIDE):
            presses.append((side, i, rng.choice(CHOICES)))
    rng.shuffle(presses)
    # Then some change their mind, and some press the same button again.
    again = [(side, i, rng.choice(CHOICES)) for side, i, _ in rng.sample(presses, 12)]
    same = [(side, i, choice) for side, i, choice in rng.sample(presses, 6)]

    def press(side: str, i: int, choice: str) -> None:
        data = rsvp_button_data(notice_id, choice)
        if side == "telegram":
            telegram.inject_callback(tg_member(i), TG_CHAT, tg["message_id"], data)
        else:
            discord.inject_component_click(dc_member(i), DC_CHANNEL, int(dc["id"]), data)

    began = time.monotonic()
    for batch in (presses, same, again):
        for side, i, choice in batch:
            if (side, i) in last and batch is same:
                choice = last[(side, i)]  # the very same answer again
            press(side, i, choice)
            last[(side, i)] = choice
    expected = {c: sum(1 for v in last.values() if v == c) for c in CHOICES}
    assert sum(expected.values()) == 2 * MEMBERS_PER_SIDE

    await wait_until(
        lambda: rsvps.totals(sync_redis, keys, notice_id) == expected,
        60,
        message=f"the counts in Redis to be {expected}",
    )
    await wait_until(lambda: shows(telegram, discord, expected), 60, message=f"both copies to show {expected}")
    # Nobody is named in the logs: no member's id, name or username.
    logs = procs.log("worker") + procs.log("run")
    for i in range(MEMBERS_PER_SIDE):
        for needle in (str(tg_member(i)["id"]), f"Member{i}", dc_member(i)["id"], dc_member(i)["username"]):
            assert not re.search(rf"\b{needle}\b", logs), needle
    shown_after = time.monotonic() - began
    breakdown = rsvps.breakdown(sync_redis, keys, notice_id)
    for side, community in (("telegram", "leicester"), ("discord", "krefeld")):
        mine = [v for (s, _), v in last.items() if s == side]
        assert breakdown[community] == {c: mine.count(c) for c in CHOICES}
    # A few rounds of edits, not one per press.
    tg_edits, dc_edits = edits_of_notice(telegram, discord, tg["message_id"], int(dc["id"]))
    assert 1 <= tg_edits <= 10 and 1 <= dc_edits <= 10, (tg_edits, dc_edits)
    print(
        f"\nFIGURES rsvp: {len(presses) + len(same) + len(again)} presses by {len(last)} members on both platforms "
        f"-> {expected}; both copies showed it {shown_after:.1f}s after the first press, "
        f"with {tg_edits} Telegram and {dc_edits} Discord edit(s)"
    )
    # The buttons stay on both copies, as members see them now.
    shown_tg, shown_dc = telegram_notice(telegram), discord_notice(discord)
    assert len(_rsvp_buttons(shown_tg["reply_markup"]["inline_keyboard"])) == 3
    assert (
        sum(1 for row in shown_dc["components"] for c in row["components"] if c["custom_id"].startswith("rsvp:")) == 3
    )

    # /mydata lists a member's answer; /forgetme takes it back, and the counts shown drop.
    (side, i), choice = next(((s, i), v) for (s, i), v in last.items() if s == "telegram")
    member = tg_member(i)
    telegram.start_private(member)
    telegram.inject_message(member["id"], member, "/mydata")
    export = await wait_until(
        lambda: next(
            (m for m in telegram.private_messages(member["id"]) if "What twinbridge stores" in m["text"]), None
        ),
        30,
        message="the /mydata answer",
    )
    [answer] = json.loads(export["text"].split("\n", 1)[1])["event_answers"]
    assert (answer["announcement"], answer["title"], answer["choice"]) == (notice_id, "Summer fair", choice)
    assert answer["community"] == "leicester"

    telegram.inject_message(member["id"], member, "/forgetme")
    expected[choice] -= 1
    await wait_until(
        lambda: rsvps.totals(sync_redis, keys, notice_id) == expected, 30, message="the counts without the member"
    )
    await wait_until(lambda: shows(telegram, discord, expected), 60, message=f"both copies to show {expected}")
