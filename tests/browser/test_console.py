"""The web console end to end, in a real headless Chromium: the real `twinbridge run`,
`worker`, `scheduler` and `console` processes, the Telegram, Discord and LibreTranslate
stand-ins, Redis. A teacher asks the bot for a sign-in link (/console), signs in, approves a
held pupil's message (it arrives on Discord), rejects another (it never does), approves two
at once; a moderator of one link cannot open another's queue, however the address is typed;
a form without its CSRF token is refused; an organiser schedules a notice (the scheduler
fires it into both chats), cancels another, exports a member's data. axe-core finds no
serious or critical WCAG 2.1 AA violation on any page. Screenshots: test-artifacts/console/."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from core.announcements import rsvp_button_data
from core.storage import announcements as store
from core.storage import console as sessions
from core.storage.holds import pending_in_link
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until
from ..processes import free_port
from .conftest import axe_violations, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

CLASS_TG, CLASS_DC = -1001000000031, 112233445566778831
TOWN_TG, TOWN_DC = -1001000000032, 112233445566778832
GUILD = 112233445566770031
TEACHER = {"id": 9001, "is_bot": False, "first_name": "Mrs", "last_name": "Patel"}
OTHER_TEACHER = {"id": 9002, "is_bot": False, "first_name": "Mr", "last_name": "Okafor"}
ORGANISER = {"id": 4242, "is_bot": False, "first_name": "Margaret", "last_name": "Hill"}
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
JUERGEN = {"id": "300000000000000555", "username": "juergen", "global_name": "Jürgen", "discriminator": "0"}

LINKS = f"""
version: 1
communities:
  year8_en:
    name: Leicester Year 8
    language: en
    organisers: ["telegram:{ORGANISER["id"]}"]
    chats: [{{telegram: {CLASS_TG}}}]
  year8_de:
    name: Krefeld Klasse 8b
    language: de
    timezone: Europe/Berlin
    organisers: ["discord:{JUERGEN["id"]}"]
    chats: [{{discord: {CLASS_DC}}}]
  town_en: {{name: Leicester Town, language: en, chats: [{{telegram: {TOWN_TG}}}]}}
  town_de: {{name: Krefeld Stadt, language: de, chats: [{{discord: {TOWN_DC}}}]}}
links:
  - {{id: year8, communities: [year8_en, year8_de], policy: school}}
  - {{id: town, communities: [town_en, town_de], policy: townhall}}
policies:
  school:
    moderators: ["telegram:{TEACHER["id"]}"]
    consent: none
    retention_days: 7
  townhall:
    base: school
    moderators: ["telegram:{OTHER_TEACHER["id"]}"]
    consent: none
"""


@pytest.fixture
async def world(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(
        token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {CLASS_DC: "klasse-8b", TOWN_DC: "stadt"}}}
    )
    libre = LibreTranslateStandIn()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with serving(telegram, discord, libre):
        env = bridge_env(
            tmp_path,
            LINKS,
            redis_url,
            prefix,
            telegram,
            discord,
            LIBRETRANSLATE_URL=libre.url,
            TWINBRIDGE_PSEUDONYM_KEY="test-pseudonym-key-0123456789abcdef",
            TWINBRIDGE_CONSOLE_URL=base,
        )
        procs.start("console", ["console", "--port", str(port)], env)
        await start_bridge(procs, env, telegram, discord)
        yield telegram, discord, base, env
        procs.stop_all()


def private_to(telegram, user_id: int, fragment: str) -> list[dict]:
    return [m for m in telegram.private_messages(user_id) if fragment in m.get("text", "")]


def waiting(redis, keys, link_id: str) -> list[str]:
    return [hold_id for hold_id, _ in pending_in_link(redis, keys, link_id)]


def rsvp_message(telegram) -> dict | None:
    """The event notice's copy in the class's Telegram group (the message with RSVP buttons)."""
    for sent in telegram.sent(CLASS_TG):
        markup = sent.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        if any("rsvp:" in b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row):
            return sent
    return None


def relayed(discord, channel: int) -> list[dict]:
    return [p for p in discord.posts(channel) if p.get("webhook_id") and not p.get("deleted")]


async def sign_in_link(telegram, user: dict) -> str:
    """What a moderator or organiser does: /console in a private chat with the bot."""
    telegram.start_private(user)
    before = len(private_to(telegram, user["id"], "/signin/"))
    telegram.inject_message(user["id"], user, "/console")
    found = await wait_until(
        lambda: private_to(telegram, user["id"], "/signin/")[before:], 60, message="the sign-in link in private"
    )
    return re.search(r"(http://127\.0\.0\.1:\d+/signin/\S+)", found[0]["text"]).group(1)


async def sign_in(page, link: str) -> None:
    await page.goto(link)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/links$"))


async def no_serious_violation(page, name: str) -> None:
    await screenshot(page, name)
    violations = await axe_violations(page)
    assert violations == [], f"{name}: {violations}"


async def console_up(base: str) -> None:
    import aiohttp

    async def answers() -> bool:
        try:
            async with aiohttp.ClientSession() as session, session.get(base + "/") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    await wait_until(answers, 90, interval=0.5, message="the console to answer")


async def test_a_teacher_signs_in_with_a_one_time_link_and_decides_held_messages(
    world, browser, sync_redis, keys, prefix
):
    telegram, discord, base, _ = world
    await console_up(base)
    link = await sign_in_link(telegram, TEACHER)
    assert link.startswith(base + "/signin/")
    # Only its hash is stored: the token itself is nowhere in Redis.
    token = link.rsplit("/", 1)[1]
    assert not any(token in key for key in sync_redis.scan_iter(match=f"{prefix}*"))

    # On a phone-sized screen, with the platform's own zoom: it must work there too.
    context = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = await context.new_page()
    await page.goto(link)
    await no_serious_violation(page, "sign-in")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/links$"))
    assert await page.locator("h1").inner_text() == "Links"
    cookie = next(c for c in await context.cookies() if c["name"] == "tb_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["expires"] > time.time()
    await no_serious_violation(page, "links")
    # Keyboard: the first Tab reaches "Skip to the content", which moves the focus to the page's content.
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.textContent") == "Skip to the content"
    await page.keyboard.press("Enter")
    assert await page.evaluate("() => document.activeElement.id") == "main"
    assert "town" not in await page.locator("main").inner_text()  # not a link of hers

    # The same link again: refused. So is an expired one.
    other = await browser.new_context()
    again = await other.new_page()
    await again.goto(link)
    await again.get_by_role("button", name="Sign in").click()
    await again.wait_for_load_state()
    assert "does not work any more" in await again.locator("main").inner_text()
    expired = sessions.new_signin(sync_redis, keys, f"telegram:{TEACHER['id']}")
    for key in sync_redis.scan_iter(match=f"{prefix}console:signin:*"):
        sync_redis.pexpire(key, 1)
    await wait_until(lambda: not list(sync_redis.scan_iter(match=f"{prefix}console:signin:*")), 5, message="expiry")
    await again.goto(f"{base}/signin/{expired}")
    await again.get_by_role("button", name="Sign in").click()
    await again.wait_for_load_state()
    assert "does not work any more" in await again.locator("main").inner_text()
    assert (await again.goto(f"{base}/queue/year8")).status == 401
    await other.close()

    # The queue, open before anything is held: new items appear by themselves.
    await page.goto(f"{base}/queue")
    await page.wait_for_url(re.compile(r"/queue/year8$"))
    await no_serious_violation(page, "queue-empty")
    telegram.inject_message(CLASS_TG, ANNA, "Hello Krefeld! Write to anna.smith@example.org")
    telegram.inject_message(CLASS_TG, ANNA, "This one should not cross")
    await expect(page.locator("article.item")).to_have_count(2, timeout=60_000)
    first = page.locator("article.item").first
    text = await first.locator("blockquote").inner_text()
    assert "Hello Krefeld!" in text and "[email removed]" in text and "anna.smith" not in text
    assert "Anna" not in await first.locator("h2").inner_text()  # a pseudonym
    # The translation preview, by the self-hosted translator (the stand-in marks its German "[de]").
    await expect(first.locator("ul.translations")).to_contain_text("Deutsch: [de]", timeout=30_000)
    assert "anna.smith" not in await first.locator("ul.translations").inner_text()
    await no_serious_violation(page, "queue")
    # The README's picture (docs/console-approval-queue.png is this one, from a run of this test).
    await page.set_viewport_size({"width": 1000, "height": 900})
    await screenshot(page, "approval-queue-desktop")
    # 400 % zoom of a 1280-pixel window (WCAG 1.4.10, reflow): 320 CSS pixels wide, no sideways scrolling.
    await page.set_viewport_size({"width": 320, "height": 640})
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    # The base font is at least 18 px.
    assert await page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)") >= 18
    await page.set_viewport_size({"width": 390, "height": 844})

    # Keys: j to the first, a approves it; it arrives at the destination (Discord), translated.
    await page.keyboard.press("j")
    await page.keyboard.press("a")
    [post] = await wait_until(lambda: relayed(discord, CLASS_DC), 60, message="the approved message on Discord")
    assert "[email removed]" in post["content"] and "anna.smith" not in post["content"]
    await wait_until(lambda: private_to(telegram, TEACHER["id"], "approved"), 30, message="the teacher told")

    # The other one: rejected with its button. It never arrives.
    second = page.locator("article.item").filter(has_text="should not cross")
    await second.get_by_role("button", name="Reject").click()
    await wait_until(lambda: private_to(telegram, TEACHER["id"], "rejected"), 30, message="the rejection")
    await expect(page.locator("article.item[data-hold]")).to_have_count(0, timeout=30_000)
    await wait_until(
        lambda: not sync_redis.llen(f"{prefix}celery:translation") and not sync_redis.hlen(f"{prefix}celery:unacked"),
        30,
        message="the workers idle",
    )
    assert [p for p in relayed(discord, CLASS_DC) if "should not cross" in p["content"]] == []
    assert len(relayed(discord, CLASS_DC)) == 1

    # Two at once: select both, "Approve the selected messages".
    telegram.inject_message(CLASS_TG, ANNA, "Bulk one")
    telegram.inject_message(CLASS_TG, ANNA, "Bulk two")
    await expect(page.locator("article.item[data-hold]")).to_have_count(2, timeout=60_000)
    for box in await page.get_by_role("checkbox").all():
        await box.check()
    await page.get_by_role("button", name="Approve the selected messages").click()
    await wait_until(lambda: len(relayed(discord, CLASS_DC)) == 3, 60, message="both approved messages")
    # The links page counts them: three crossed from Leicester this week, drawn in the chart.
    await page.goto(f"{base}/links")
    row = page.get_by_role("row").filter(has_text="Leicester Year 8")
    await expect(row).to_contain_text("3")
    assert "Messages across in the last 7 days: 3" in await page.locator("svg.chart title").first.inner_html()
    await no_serious_violation(page, "links-after-approvals")
    await page.goto(f"{base}/queue/year8")

    # Another link's queue: refused, by its address and by a hand-made decision.
    csrf = await page.locator("#bulk input[name=csrf]").get_attribute("value")
    telegram.inject_message(TOWN_TG, ANNA, "Town hall message")
    town = await wait_until(lambda: waiting(sync_redis, keys, "town"), 30, message="held in town")
    response = await page.goto(f"{base}/queue/town")
    assert response.status == 403
    await no_serious_violation(page, "refused")
    await page.goto(f"{base}/queue/year8")
    decided = await page.request.post(
        f"{base}/queue/town/decide", form={"csrf": csrf, "hold": town[0], "decision": "approve"}
    )
    assert decided.status == 403
    # A form without its CSRF token: refused, and nothing is decided.
    # (What a pupil writes is shown as text, never as markup: no script of theirs runs here.)
    telegram.inject_message(CLASS_TG, ANNA, 'Without a token <b>bold</b><img src=x onerror="window.pwned=1">')
    held = await wait_until(lambda: waiting(sync_redis, keys, "year8"), 30, message="held")
    await expect(page.locator("article.item blockquote")).to_contain_text("<b>bold</b>", timeout=30_000)
    assert await page.locator("article.item blockquote b, article.item img").count() == 0
    assert await page.evaluate("() => window.pwned === undefined")
    refused = await page.request.post(f"{base}/queue/year8/decide", form={"hold": held[-1], "decision": "approve"})
    assert refused.status == 403
    wrong = await page.request.post(
        f"{base}/queue/year8/decide", form={"csrf": "forged", "hold": held[-1], "decision": "approve"}
    )
    assert wrong.status == 403
    assert sync_redis.exists(f"{prefix}held:{held[-1]}") and sync_redis.exists(f"{prefix}held:{town[0]}")

    await page.goto(f"{base}/health")
    await no_serious_violation(page, "health")
    assert "Your links" in await page.locator("main").inner_text()

    # Every console action is in the link's audit, naming people by key only.
    audit = [fields for _, fields in sync_redis.xrange(f"{prefix}audit:year8")]
    actions = [a["action"] for a in audit]
    for expected in ("console.signin", "console.approve", "console.reject", "approved", "rejected"):
        assert expected in actions
    assert not any(str(TEACHER["id"]) in a["detail"] + a["subject"] for a in audit)
    await context.close()


async def test_an_organiser_schedules_a_notice_that_fires_and_answers_a_privacy_request(
    world, browser, procs, sync_redis, keys
):
    telegram, discord, base, env = world
    procs.start("scheduler", ["scheduler"], env)
    await console_up(base)
    link = await sign_in_link(telegram, ORGANISER)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, link)
    await no_serious_violation(page, "organiser-links")
    # Not a moderator: no queue for her, and its address is refused.
    assert (await page.goto(f"{base}/queue/year8")).status == 403

    # On Discord too: /console as a slash command in the class channel is answered in a DM
    # only (the channel sees no link); the German organiser's console speaks German.
    discord.inject_slash_command(JUERGEN, CLASS_DC, "console")
    [dm] = await wait_until(lambda: discord.dms(JUERGEN["id"]), 60, message="the sign-in link in a Discord DM")
    assert f"{base}/signin/" in dm["content"]
    assert not any("/signin/" in text for _, text in discord.transcript(CLASS_DC))
    german = await browser.new_context()
    seite = await german.new_page()
    await sign_in(seite, re.search(r"(http://\S+/signin/\S+)", dm["content"]).group(1))
    assert await seite.get_by_role("link", name="Verbindungen").count() == 1
    await no_serious_violation(seite, "links-german")
    await seite.goto(f"{base}/announcements")
    assert await seite.get_by_role("button", name="Vorschau").count() == 1
    await no_serious_violation(seite, "announcements-german")
    await german.close()

    await page.goto(f"{base}/announcements")
    await no_serious_violation(page, "announcements")
    at = (datetime.now(UTC) + timedelta(seconds=20)).isoformat(timespec="seconds")
    await page.get_by_label("Notice", exact=True).fill("The exchange visit starts at the town hall")
    await page.get_by_label("When to send it").fill(at)
    await page.get_by_role("button", name="Preview").click()
    preview = await page.locator("#preview").locator("..").inner_text()
    assert "Krefeld Klasse 8b" in preview and "Deutsch" in preview and "Ankündigung" in preview
    await no_serious_violation(page, "announcement-preview")
    await page.get_by_role("button", name="Send").click()
    assert "will be sent" in await page.locator("p.ok").inner_text()

    # Another one for tomorrow, cancelled.
    await page.get_by_label("Notice", exact=True).fill("This notice is cancelled")
    await page.get_by_label("When to send it").fill("in 1d")
    await page.get_by_role("button", name="Send").click()
    [later] = [a for a in store.of_link(sync_redis, keys, "year8", time.time()) if "cancelled" in a.text]
    await page.get_by_role("button", name=f"Cancel notice {later.id}").click()
    await wait_until(lambda: store.load(sync_redis, keys, later.id).state == "cancelled", 10, message="cancelled")
    assert "cancelled" in await page.locator("table").inner_text()

    # The scheduler fires the first when it is due: both twins get it.
    await wait_until(
        lambda: any("The exchange visit starts" in t for _, t in telegram.transcript(CLASS_TG)),
        90,
        message="the notice on Telegram",
    )
    await wait_until(lambda: any("📢" in t for _, t in discord.transcript(CLASS_DC)), 60, message="on Discord")
    assert not any("cancelled" in t for _, t in telegram.transcript(CLASS_TG))

    # An event notice, now: members answer with its buttons; the console counts the answers.
    await page.goto(f"{base}/announcements")
    await page.get_by_label("Notice", exact=True).fill("Bring a friend")
    await page.get_by_label("Event title").fill("Summer picnic")
    await page.get_by_label("Starts").fill("in 2d")
    await page.get_by_role("button", name="Preview").click()
    assert "Summer picnic" in await page.locator("#preview").locator("..").inner_text()
    await page.get_by_role("button", name="Send").click()
    assert "is on its way" in await page.locator("p.ok").inner_text()
    [picnic] = [a for a in store.of_link(sync_redis, keys, "year8", time.time()) if a.event is not None]
    notice = await wait_until(lambda: rsvp_message(telegram), 60, message="the event notice with its buttons")
    telegram.inject_callback(ANNA, CLASS_TG, notice["message_id"], rsvp_button_data(picnic.id, "going"))

    async def counted() -> bool:
        await page.goto(f"{base}/announcements")
        return "1 going" in await page.locator("table").inner_text()

    await wait_until(counted, 60, interval=1.0, message="the answer counted in the console")
    await no_serious_violation(page, "announcements-answers")

    # A privacy request: a member's data, and the audit trail.
    await page.goto(f"{base}/privacy")
    await page.get_by_label("The member").fill(f"telegram:{ANNA['id']}")
    await page.get_by_role("button", name="Do it").click()
    assert f"telegram:{ANNA['id']}" in await page.locator("pre").inner_text()
    await no_serious_violation(page, "privacy")
    assert "console.export" in await page.locator("main").inner_text()
    # Erasing somebody with nothing in her links is refused, calmly and readably (whether the
    # id is known in another link or nowhere: tests/integration/test_console_privacy_scope.py).
    await page.get_by_label("The member").fill("discord:300000000000000999")
    await page.get_by_label("Erase everything").check()
    await page.get_by_label("I confirm the erasure").check()
    await page.get_by_role("button", name="Do it").click()
    assert "no data in your links" in await page.get_by_role("alert").inner_text()
    await no_serious_violation(page, "privacy-erase-refused")
    await page.goto(f"{base}/health")
    await no_serious_violation(page, "organiser-health")
    await context.close()
