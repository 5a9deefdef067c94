"""Firing an organiser's announcement through a real `twinbridge worker` (both stages) and a
LibreTranslate stand-in: one post per chat of every community in the outbox streams, in
each community's language (body and event title translated once per language), its time
in each community's zone; published once however often the fire task runs; a cancelled
one fires nothing."""

from __future__ import annotations

import json
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from core.announcements import Announcement, AnnouncementView, EventDetails
from core.formatting import Span
from core.models import OutboundPost
from core.storage import announcement_posts, announcements
from core.task_queue import FIRE_ANNOUNCEMENT_TASK, MODERATION_QUEUE, TaskQueue
from sandbox.translator import LibreTranslateStandIn, fake_translate

from ..helpers import wait_until

KEY = "lt-key-for-tests"
# One-way: the organiser's community speaks, but an announcement reaches every chat anyway.
LINKS = """
version: 1
communities:
  leicester: {name: Leicester, language: en, timezone: Europe/London, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: de, timezone: Europe/Berlin, chats: [{discord: 112233445566778899}]}
  strasbourg:
    name: Strasbourg
    language: fr
    timezone: Europe/Paris
    chats: [{telegram: -1002}, {telegram: -1003}]
links:
  - id: twins
    communities: [leicester, krefeld, strasbourg]
    direction: one-way
    policy: announced
policies:
  announced:
    base: community
    translation: [libre]
    show_original: true
"""
BODY = "Bring friends, food and good weather to the market square."
TITLE = "Summer fair"
START = datetime(2027, 6, 12, 17, 0, tzinfo=UTC).timestamp()  # 18:00 BST, 19:00 MESZ


@pytest.fixture
async def libre():
    server = LibreTranslateStandIn(api_key=KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def worker(tmp_path, procs, redis_url, prefix, libre):
    config = tmp_path / "links.yaml"
    config.write_text(textwrap.dedent(LINKS))

    def start() -> None:
        procs.start(
            "worker",
            ["worker", "--concurrency", "2"],
            {
                "TWINBRIDGE_CONFIG": str(config),
                "REDIS_URL": redis_url,
                "TWINBRIDGE_REDIS_PREFIX": prefix,
                "LIBRETRANSLATE_URL": libre.url,
                "LIBRETRANSLATE_API_KEY": KEY,
            },
        )

    return start


# The organiser's formatting (issue 15): kept through translation, the original's too.
FORMATTING = (Span(0, 13, "bold"), Span(44, 57, "link", "https://example.org/market"))


def stored(sync_redis, keys, *, pin: bool = True, reminders: tuple[int, ...] = ()) -> Announcement:
    announcement = Announcement(
        id=announcements.new_id(),
        link_id="twins",
        community="leicester",
        organiser="cli",
        text=BODY,
        language="en",
        event=EventDetails(TITLE, START, START + 3 * 3600, place="Market square"),
        at=time.time(),
        reminders=reminders,
        pin=pin,
        created=time.time(),
        formatting=FORMATTING,
    )
    assert announcements.save(sync_redis, keys, announcement, 30, time.time()) == announcement.id
    return announcement


def outbox(sync_redis, keys) -> list[dict]:
    posts = []
    for platform in ("telegram", "discord"):
        posts += [json.loads(fields["post"]) for _, fields in sync_redis.xrange(keys.outbox(platform))]
    return sorted(posts, key=lambda p: (p["destination"]["platform"], p["destination"]["chat_id"]))


def stat(sync_redis, keys, name: str) -> int:
    return int(sync_redis.hget(keys.stats(), name) or 0)


def translate_calls(libre) -> list:
    return [r for r in libre.requests if r.path == "/translate"]


async def test_an_event_notice_reaches_every_chat_in_its_language_once(sync_redis, keys, libre, worker):
    announcement = stored(sync_redis, keys)
    assert announcements.enqueue_fire(sync_redis, keys, announcement.id) == 1
    # The fire task runs twice (a redelivery after a crash, an operator's retry): the same
    # message pushed again.
    queue = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE)
    sync_redis.lpush(queue.key, queue.message(FIRE_ANNOUNCEMENT_TASK, [announcement.id, "fire"]))
    worker()

    await wait_until(lambda: len(outbox(sync_redis, keys)) >= 4, 60, message="four posts")
    await wait_until(
        lambda: (
            stat(sync_redis, keys, "announcements.already_published")
            + stat(sync_redis, keys, "worker.already_published")
            >= 1
        ),
        30,
        message="the second run to find it published",
    )
    posts = outbox(sync_redis, keys)
    assert [(p["destination"]["platform"], p["destination"]["chat_id"]) for p in posts] == [
        ("discord", "112233445566778899"),
        ("telegram", "-1001"),
        ("telegram", "-1002"),
        ("telegram", "-1003"),
    ]
    krefeld, leicester, strasbourg, strasbourg_two = posts
    for post in posts:
        assert post["kind"] == "new" and post["seq"] == 0 and post["sender"] == ""
        assert post["source"] == {"platform": "twinbridge", "chat_id": "announcements", "message_id": announcement.id}
        assert post["community"] == "Leicester" and post["link_id"] == "twins"
    assert strasbourg["text"] == strasbourg_two["text"] == fake_translate(BODY, "en", "fr")

    assert leicester["text"] == BODY and leicester["language"] == "en" and not leicester["original"]
    view = AnnouncementView.from_dict(leicester["announcement"])
    assert view.header == "📢 Announcement · Leicester" and view.kind == "announcement" and view.pin
    assert view.event.title == TITLE and view.event.place == "Market square"
    assert view.when_local == "Sat, 12 June 2027, 18:00–21:00 BST"
    assert view.labels == {"going": "Going", "maybe": "Maybe", "cant": "Can't"}
    assert view.counts == {"going": 0, "maybe": 0, "cant": 0}

    assert krefeld["text"] == fake_translate(BODY, "en", "de") and krefeld["language"] == "de"
    assert krefeld["original"] == BODY and krefeld["original_language"] == "en"  # show_original
    marks = OutboundPost.from_dict(krefeld)
    assert [(s.kind, marks.text[s.start : s.end], s.data) for s in marks.formatting] == [
        ("bold", fake_translate("Bring friends", "en", "de").removeprefix("[de] "), ""),
        ("link", fake_translate("market square", "en", "de").removeprefix("[de] "), "https://example.org/market"),
    ]
    assert marks.original_formatting == FORMATTING and OutboundPost.from_dict(leicester).formatting == FORMATTING
    view = AnnouncementView.from_dict(krefeld["announcement"])
    assert view.header == "📢 Ankündigung · Leicester" and view.timezone == "Europe/Berlin"
    assert view.event.title == fake_translate(TITLE, "en", "de")
    assert view.when_local.startswith("Sa., 12. Juni 2027, 19:00") and view.when_local.endswith("MESZ")
    assert view.labels["going"] == "Dabei"
    view = AnnouncementView.from_dict(strasbourg["announcement"])
    assert view.header == "📢 Annonce · Leicester" and view.event.title == fake_translate(TITLE, "en", "fr")

    # Once per language, for the body and for the title: four requests per run that got as
    # far as translating (both runs here may have, side by side; publishing let one through).
    calls = Counter((tuple(r.q), r.target) for r in translate_calls(libre))
    assert len(calls) == 4 and {r.target for r in translate_calls(libre)} == {"de", "fr"}
    assert len(set(calls.values())) == 1
    translated_before = len(translate_calls(libre))
    # Published once: the copies kept for the RSVP refresh, the announcement sent.
    kept = announcement_posts.published(sync_redis, keys, announcement.id)
    assert sorted(p.destination.key for p in kept) == sorted(
        f"{p['destination']['platform']}:{p['destination']['chat_id']}" for p in posts
    )
    assert {p.text for p in kept} == {p["text"] for p in posts}
    assert announcements.load(sync_redis, keys, announcement.id).state == "sent"
    assert (
        0
        < sync_redis.ttl(keys.announcement_posts(announcement.id))
        <= sync_redis.ttl(keys.announcement(announcement.id))
    )
    # Run once more, after publishing: it stops at the firing marker, before translating.
    runs = stat(sync_redis, keys, "announcements.already_published")
    sync_redis.lpush(queue.key, queue.message(FIRE_ANNOUNCEMENT_TASK, [announcement.id, "fire"]))
    await wait_until(
        lambda: stat(sync_redis, keys, "announcements.already_published") > runs, 30, message="the third run"
    )
    assert len(outbox(sync_redis, keys)) == 4 and len(translate_calls(libre)) == translated_before


async def test_a_reminder_is_shorter_and_goes_to_the_same_chats(sync_redis, keys, libre, worker):
    announcement = stored(sync_redis, keys, reminders=(86400,))
    assert announcements.enqueue_fire(sync_redis, keys, announcement.id, announcements.remind(86400)) == 1
    worker()
    await wait_until(lambda: len(outbox(sync_redis, keys)) >= 4, 60, message="four reminders")
    posts = outbox(sync_redis, keys)
    assert {p["destination"]["chat_id"] for p in posts} == {"112233445566778899", "-1001", "-1002", "-1003"}
    for post in posts:
        assert post["source"]["message_id"] == f"{announcement.id}.r86400" and post["text"] == ""
        view = AnnouncementView.from_dict(post["announcement"])
        assert view.kind == "reminder" and not view.has_rsvp and not view.labels and not view.pin
    krefeld = AnnouncementView.from_dict(posts[0]["announcement"])
    assert krefeld.header == "📢 Erinnerung · Leicester" and krefeld.event.title == fake_translate(TITLE, "en", "de")
    # Only the title was translated (a reminder has no body), once per language.
    assert sorted(r.target for r in translate_calls(libre)) == ["de", "fr"]
    # Reminders are not kept for the RSVP refresh (they show no counts).
    assert announcement_posts.published(sync_redis, keys, announcement.id) == []


async def test_a_cancelled_announcement_fires_nothing(sync_redis, keys, libre, worker):
    handed = stored(sync_redis, keys)
    never = stored(sync_redis, keys)
    assert announcements.enqueue_fire(sync_redis, keys, handed.id) == 1
    # Cancelled after it was handed to the fire task, before a worker ran it.
    assert announcements.cancel(sync_redis, keys, handed.id) == "scheduled"
    assert announcements.cancel(sync_redis, keys, never.id) == "scheduled"
    assert announcements.enqueue_fire(sync_redis, keys, never.id) == -2
    # Its task run anyway (as if the cancellation came between the hand-over and the run).
    queue = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE)
    sync_redis.lpush(queue.key, queue.message(FIRE_ANNOUNCEMENT_TASK, [never.id, "fire"]))
    worker()
    await wait_until(lambda: stat(sync_redis, keys, "announcements.not_fired") >= 2, 60, message="both refused")
    assert outbox(sync_redis, keys) == []
    assert translate_calls(libre) == []
    assert announcement_posts.published(sync_redis, keys, handed.id) == []


async def test_the_glossary_applies_to_the_body_and_the_title(sync_redis, keys, libre, worker):
    """The link's glossary (here the communities' names, always in it) is kept as written on an
    announcement as on a member's message: the translator never sees it, every copy shows it."""
    announcement = Announcement(
        id=announcements.new_id(),
        link_id="twins",
        community="leicester",
        organiser="cli",
        text="The Krefeld choir sings in Leicester on Saturday.",
        language="en",
        event=EventDetails("Strasbourg evening", START),
        at=time.time(),
        created=time.time(),
    )
    assert announcements.save(sync_redis, keys, announcement, 30, time.time()) == announcement.id
    assert announcements.enqueue_fire(sync_redis, keys, announcement.id) == 1
    worker()
    await wait_until(lambda: len(outbox(sync_redis, keys)) >= 4, 60, message="four posts")
    calls = translate_calls(libre)
    assert calls and sorted({r.target for r in calls}) == ["de", "fr"]
    for call in calls:
        for name in ("Krefeld", "Leicester", "Strasbourg"):
            assert all(name not in q for q in call.q), (name, call.q)
    for post in outbox(sync_redis, keys):
        if post["language"] == "en":
            continue
        assert post["text"].startswith(f"[{post['language']}]"), post["text"]  # translated
        assert "Krefeld" in post["text"] and "Leicester" in post["text"]
        title = AnnouncementView.from_dict(post["announcement"]).event.title
        assert "Strasbourg" in title and title != "Strasbourg evening"
