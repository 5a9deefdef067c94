"""The RSVP handler and refresh (workers/rsvp.py) as the moderation worker runs them,
against a real Redis: a press is recorded under the member's person key with the
community of the chat it came from, one refresh is scheduled per burst, the refresh
edits every published copy with the totals, a press that cannot count is answered
privately, and /mydata and /forgetme see the answers."""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from core import announce_phrases, persons
from core.announcements import (
    ANNOUNCEMENT_CHAT,
    ANNOUNCEMENT_PLATFORM,
    Announcement,
    AnnouncementView,
    EventDetails,
)
from core.links import load_links
from core.models import Author, ChatRef, Command, EventKind, MessageRef, OutboundPost
from core.storage import announcement_posts, announcements, rsvps
from core.task_queue import MODERATION_QUEUE, REFRESH_RSVP_TASK, TaskQueue, task_arguments
from workers import rights, rsvp

pytestmark = pytest.mark.integration

TG, DC, ELSEWHERE_TG = "-1001", "112233445566778811", "-1009"
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {TG}}}]}}
  krefeld: {{name: Krefeld, language: de, chats: [{{discord: {DC}}}]}}
  masaya: {{name: Masaya, language: es, chats: [{{telegram: {ELSEWHERE_TG}}}]}}
links:
  - {{id: towns, communities: [leicester, krefeld], policy: open}}
  - {{id: other, communities: [masaya, krefeld], policy: open}}
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(LINKS))
    return load_links(path)


def announce(redis, keys, announcement_id="fair01", *, start_in=86400.0, state_cancel=False) -> Announcement:
    now = time.time()
    notice = Announcement(
        id=announcement_id,
        link_id="towns",
        community="leicester",
        organiser="cli",
        text="Come to the summer fair",
        language="en",
        event=EventDetails(title="Summer fair", start=now + start_in, end=now + start_in + 3600),
        at=now,
        created=now,
    )
    assert announcements.save(redis, keys, notice, 30, now) == announcement_id
    if state_cancel:
        announcements.cancel(redis, keys, announcement_id)
    return notice


def copies(redis, keys, notice: Announcement) -> list[OutboundPost]:
    """The notice's published copies, as the fire task keeps them (one per chat)."""
    posts = []
    for chat, language, header in (
        (ChatRef("telegram", TG), "en", "📢 Announcement · Leicester"),
        (ChatRef("discord", DC), "de", "📢 Ankündigung · Leicester"),
    ):
        view = AnnouncementView(id=notice.id, header=header, event=notice.event, language=language)
        posts.append(
            OutboundPost(
                kind=EventKind.NEW,
                link_id="towns",
                destination=chat,
                source=MessageRef(ANNOUNCEMENT_PLATFORM, ANNOUNCEMENT_CHAT, notice.id),
                sender="",
                community="Leicester",
                text=notice.text,
                language=language,
                retention_days=30,
                announcement=view.to_dict(),
            )
        )
    announcement_posts.remember(redis, keys, notice.id, posts, 86400 * 31)
    return posts


def press(user_id: int, choice: str, chat=("telegram", TG), announcement_id="fair01", press_id=None) -> Command:
    platform, chat_id = chat
    return Command(
        name="rsvp",
        args=f"{announcement_id} {choice}",
        platform=platform,
        chat_id=chat_id,
        message_id="77",
        user=Author(id=str(user_id), display_name=f"Member {user_id}"),
        via="button",
        press_id=press_id or f"{user_id}-{choice}-{time.monotonic_ns()}",
    )


def queued_refreshes(redis, keys) -> list[list]:
    queue = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE).key
    return [task_arguments(m)[1] for m in redis.lrange(queue, 0, -1) if task_arguments(m)[0] == REFRESH_RSVP_TASK]


def outbox_posts(redis, keys, platform: str) -> list[OutboundPost]:
    return [OutboundPost.from_dict(json.loads(f["post"])) for _, f in redis.xrange(keys.outbox(platform))]


def test_presses_are_counted_and_one_refresh_edits_every_copy(config, sync_redis, keys):
    notice = announce(sync_redis, keys)
    copies(sync_redis, keys, notice)
    assert rsvp.handle(press(1, "going"), config, sync_redis, keys) == []
    assert rsvp.handle(press(2, "going", chat=("discord", DC)), config, sync_redis, keys) == []
    assert rsvp.handle(press(3, "maybe"), config, sync_redis, keys) == []
    assert rsvp.handle(press(1, "maybe"), config, sync_redis, keys) == []  # a changed mind
    assert rsvp.handle(press(1, "maybe"), config, sync_redis, keys) == []  # the same again
    assert queued_refreshes(sync_redis, keys) == [["fair01"]]  # one for the burst
    assert rsvps.breakdown(sync_redis, keys, "fair01") == {
        "leicester": {"going": 0, "maybe": 2, "cant": 0},
        "krefeld": {"going": 1, "maybe": 0, "cant": 0},
    }
    # Keyed by person key, never the platform id.
    choices = sync_redis.hgetall(keys.rsvp_choices("fair01"))
    assert persons.person(sync_redis, keys, "telegram:1") in choices
    assert not any("telegram:1" in k or k == "1" for k in choices)

    assert rsvp.refresh(config, sync_redis, keys, "fair01") == 2
    for platform in ("telegram", "discord"):
        [edit] = outbox_posts(sync_redis, keys, platform)
        assert edit.kind == EventKind.EDIT and edit.seq == 0
        assert edit.source == MessageRef(ANNOUNCEMENT_PLATFORM, ANNOUNCEMENT_CHAT, "fair01")
        assert AnnouncementView.from_dict(edit.announcement).counts == {"going": 1, "maybe": 2, "cant": 0}
        assert edit.text == "Come to the summer fair"
    # Nothing changed since: a second run queues nothing.
    assert rsvp.refresh(config, sync_redis, keys, "fair01") == 0
    # The refresh began, so the next press schedules the next one.
    rsvp.handle(press(4, "cant"), config, sync_redis, keys)
    assert len(queued_refreshes(sync_redis, keys)) == 2
    assert rsvp.refresh(config, sync_redis, keys, "fair01") == 2
    last = outbox_posts(sync_redis, keys, "discord")[-1]
    assert AnnouncementView.from_dict(last.announcement).counts == {"going": 1, "maybe": 2, "cant": 1}


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("unknown", rsvp.NOT_OPEN),
        ("cancelled", rsvp.CANCELLED_TEXT),
        ("over", rsvp.OVER),
        ("elsewhere", announce_phrases.say("es", "rsvp_elsewhere")),  # Masaya's chat speaks Spanish
        ("unreadable", rsvp.UNREADABLE),
    ],
)
def test_a_press_that_cannot_count_is_answered_privately(config, sync_redis, keys, setup, expected):
    if setup == "cancelled":
        announce(sync_redis, keys, state_cancel=True)
    elif setup == "over":
        announce(sync_redis, keys, start_in=-7200)
    elif setup != "unknown":
        announce(sync_redis, keys)
    command = press(5, "going", chat=("telegram", ELSEWHERE_TG) if setup == "elsewhere" else ("telegram", TG))
    if setup == "unreadable":
        command = Command(**{**command.to_dict(), "args": "fair01 perhaps", "user": command.user})
    [answer] = rsvp.handle(command, config, sync_redis, keys)
    assert answer.kind == EventKind.NOTICE and answer.text == expected
    assert answer.private_to == "5" and answer.fallback == ""  # privately, nothing said in the group
    assert rsvps.totals(sync_redis, keys, "fair01") == {"going": 0, "maybe": 0, "cant": 0}
    assert queued_refreshes(sync_redis, keys) == []


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("unknown", "nicht mehr offen"),
        ("cancelled", "wurde abgesagt"),
        ("over", "ist vorbei"),
        ("unreadable", "Dabei, Vielleicht oder Kann nicht"),
    ],
)
def test_a_press_that_cannot_count_is_answered_in_the_chats_language(config, sync_redis, keys, setup, expected):
    """Krefeld's channel speaks German: so does the answer to a press that cannot count."""
    if setup == "cancelled":
        announce(sync_redis, keys, state_cancel=True)
    elif setup == "over":
        announce(sync_redis, keys, start_in=-7200)
    elif setup != "unknown":
        announce(sync_redis, keys)
    command = press(8, "going" if setup != "unreadable" else "perhaps", chat=("discord", DC))
    [answer] = rsvp.handle(command, config, sync_redis, keys)
    assert expected in answer.text and answer.private_to == "8"
    # A chat of another link (Masaya, Spanish) is told where to answer, in Spanish.
    announce(sync_redis, keys, "fair02")
    [elsewhere] = rsvp.handle(
        press(9, "going", chat=("telegram", ELSEWHERE_TG), announcement_id="fair02"), config, sync_redis, keys
    )
    assert "no se ha contado" in elsewhere.text


def test_mydata_lists_the_answers_and_forgetme_takes_them_back(config, sync_redis, keys, prefix):
    notice = announce(sync_redis, keys)
    copies(sync_redis, keys, notice)
    rsvp.handle(press(6, "going"), config, sync_redis, keys)
    rsvp.handle(press(7, "going"), config, sync_redis, keys)
    [answer] = rights.export_user(sync_redis, keys, config, "telegram:6", None)["event_answers"]
    assert answer["announcement"] == "fair01" and answer["title"] == "Summer fair"
    assert answer["choice"] == "going" and answer["community"] == "leicester" and answer["at"].endswith("+00:00")
    rsvp.refresh(config, sync_redis, keys, "fair01")

    done = rights.erase_user(sync_redis, keys, config, "telegram:6")
    assert done["event_answers"] == 1
    assert rsvps.totals(sync_redis, keys, "fair01") == {"going": 1, "maybe": 0, "cant": 0}
    assert rights.export_user(sync_redis, keys, config, "telegram:6", None)["event_answers"] == []
    # The counts shown drop: the erasure scheduled a refresh, which edits the copies.
    assert queued_refreshes(sync_redis, keys) == [["fair01"], ["fair01"]]
    assert rsvp.refresh(config, sync_redis, keys, "fair01") == 2
    last = outbox_posts(sync_redis, keys, "telegram")[-1]
    assert AnnouncementView.from_dict(last.announcement).counts == {"going": 1, "maybe": 0, "cant": 0}
    me = persons.person(sync_redis, keys, "telegram:6")
    for key in sync_redis.scan_iter(match=f"{prefix}rsvp:*"):
        assert me not in key
        if sync_redis.type(key) == "hash":
            assert me not in sync_redis.hgetall(key)


def test_a_press_handled_while_its_member_is_erased_is_taken_back(config, sync_redis, keys):
    announce(sync_redis, keys)
    started = time.time()
    me = persons.person(sync_redis, keys, "telegram:8")
    sync_redis.set(keys.erased(me), repr(started + 0.5), ex=60)  # the erasure began meanwhile
    assert rsvp.handle(press(8, "going"), config, sync_redis, keys, now=started) == []
    assert rsvps.totals(sync_redis, keys, "fair01") == {"going": 0, "maybe": 0, "cant": 0}
    assert rsvps.of_person(sync_redis, keys, me) == []
    # Pressed after an erasure long ago: counted (the member is not muted).
    sync_redis.set(keys.erased(me), repr(started - 3600), ex=60)
    rsvp.handle(press(8, "going"), config, sync_redis, keys, now=started)
    assert rsvps.totals(sync_redis, keys, "fair01")["going"] == 1


def test_answers_expire_with_the_announcement(config, sync_redis, keys):
    notice = announce(sync_redis, keys, start_in=3600)
    rsvp.handle(press(9, "maybe"), config, sync_redis, keys)
    expected = announcements.expires_at(notice, 30) - time.time()
    for key in (keys.rsvp_choices("fair01"), keys.rsvp_counts("fair01")):
        assert expected - 5 <= sync_redis.ttl(key) <= expected + 1
