"""`twinbridge announce` (bridge/announce.py) through the command's own entry point,
against the real Redis: what it stores and hands over, that a repeat sends nothing
twice, and a clear answer with exit code 2 for every kind of bad input."""

from __future__ import annotations

import textwrap
import time
from datetime import UTC, datetime

import pytest

from bridge.cli import main
from bridge.discord import render as discord_render
from bridge.discord.formatting import parse as parse_markdown
from bridge.telegram import render as telegram_render
from core.announcements import CANCELLED, SCHEDULED, AnnouncementView
from core.links import load_links
from core.storage import announcements as store
from core.storage import rsvps
from core.task_queue import MODERATION_QUEUE, TaskQueue, task_arguments
from sandbox.telegram.formatting import parse_html
from workers.announcements.compose import drafts_of

pytestmark = pytest.mark.integration

LINKS = """
version: 1
communities:
  leicester: {name: Leicester, language: en, timezone: Europe/London, chats: [{telegram: -1001234567890}]}
  krefeld: {name: Krefeld, language: de, timezone: Europe/Berlin, chats: [{discord: 112233445566778899}]}
links:
  - {id: leicester-krefeld, communities: [leicester, krefeld], policy: community}
"""


@pytest.fixture
def announce(tmp_path, redis_url, prefix, monkeypatch, capsys):
    config = tmp_path / "links.yaml"
    config.write_text(textwrap.dedent(LINKS))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("TWINBRIDGE_REDIS_PREFIX", prefix)
    monkeypatch.setenv("TWINBRIDGE_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["announce", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _fired(sync_redis, keys) -> list[list]:
    queue = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE)
    return [task_arguments(raw)[1] for raw in reversed(sync_redis.lrange(queue.key, 0, -1))]


def _only(sync_redis, keys):
    (announcement,) = store.of_link(sync_redis, keys, "leicester-krefeld", time.time())
    return announcement


def test_a_notice_now_is_handed_to_the_workers_once_however_often_the_command_runs(announce, sync_redis, keys):
    code, out, err = announce("--link", "leicester-krefeld", "The", "meeting", "moves", "to", "8", "pm.")
    assert code == 0, err
    notice = _only(sync_redis, keys)
    assert notice.text == "The meeting moves to 8 pm." and notice.community == "leicester" and notice.language == "en"
    assert f"Notice {notice.id} is on its way to 2 chat(s)" in out
    assert _fired(sync_redis, keys) == [[notice.id, "fire"]]
    written = [k for k in sync_redis.scan_iter(match=f"{keys.prefix}*") if not k.startswith(f"{keys.prefix}celery:")]
    assert written and all(sync_redis.ttl(k) > 0 for k in written), {k: sync_redis.ttl(k) for k in written}
    # The same command again (the organiser was unsure it worked): nothing new.
    code, out, _ = announce("--link", "leicester-krefeld", "The", "meeting", "moves", "to", "8", "pm.")
    assert code == 0 and f"that notice is {notice.id}" in out and "--again" in out
    assert _fired(sync_redis, keys) == [[notice.id, "fire"]]
    assert len(store.of_link(sync_redis, keys, "leicester-krefeld", time.time())) == 1
    # --again: on purpose, a second one.
    code, _, _ = announce("--again", "--link", "leicester-krefeld", "The meeting moves to 8 pm.")
    assert code == 0 and len(_fired(sync_redis, keys)) == 2


def test_a_scheduled_event_notice_with_reminders(announce, sync_redis, keys, tmp_path):
    (tmp_path / "notice.md").write_text("Bring a dish to share!\n", encoding="utf-8")
    code, out, err = announce(
        "--link", "leicester-krefeld", "--from", "krefeld", "--at", "in 1h", "--pin", "--file", "notice.md",
        "--event", "--title", "Sommerfest", "--start", "2099-06-12 14:00", "--end", "2099-06-12 18:00",
        "--place", "Stadtpark", "--url", "https://example.org/fest", "--remind", "1d", "--remind", "2h",
    )  # fmt: skip
    assert code == 0, err
    notice = _only(sync_redis, keys)
    assert notice.community == "krefeld" and notice.language == "de" and notice.pin
    assert notice.text == "Bring a dish to share!" and notice.reminders == (86400, 7200)
    assert notice.event.title == "Sommerfest" and notice.event.place == "Stadtpark"
    # 14:00 in Krefeld's zone (summer time, +02:00) is 12:00 UTC.
    assert notice.event.start == datetime(2099, 6, 12, 12, 0, tzinfo=UTC).timestamp()
    assert notice.event.end - notice.event.start == 4 * 3600
    assert abs(notice.at - (time.time() + 3600)) < 60 and notice.state == SCHEDULED
    assert _fired(sync_redis, keys) == []  # not yet: the scheduler sends it
    assert store.next_due(sync_redis, keys) == notice.at
    # Every key it wrote expires (the broker's queue is Celery's).
    written = [k for k in sync_redis.scan_iter(match=f"{keys.prefix}*") if not k.startswith(f"{keys.prefix}celery:")]
    assert written and all(sync_redis.ttl(k) > 0 for k in written), {k: sync_redis.ttl(k) for k in written}
    assert "will be sent" in out and "in 1 hour" in out and "Europe/Berlin" in out
    assert "no `twinbridge scheduler` is running" in err
    # The list, with the answers counted per community once members answered.
    rsvps.record(sync_redis, keys, notice.id, "person-a", "leicester", "going", 86400, time.time())
    rsvps.record(sync_redis, keys, notice.id, "person-b", "krefeld", "maybe", 86400, time.time())
    code, out, _ = announce("--list")
    assert code == 0
    assert notice.id in out and "scheduled" in out and "Sommerfest" in out and "leicester-krefeld" in out
    assert "1 going, 1 maybe, 0 can't" in out and "Krefeld: 0 going, 1 maybe" in out and "Leicester: 1 going" in out
    # Cancelled: off the schedule, nothing sent.
    code, out, _ = announce("--cancel", notice.id)
    assert code == 0 and f"Cancelled {notice.id}" in out
    assert _only(sync_redis, keys).state == CANCELLED and store.next_due(sync_redis, keys) is None
    assert store.claim_due(sync_redis, keys, notice.event.start) == []
    code, out, _ = announce("--cancel", notice.id)
    assert code == 0 and "already cancelled" in out


LINK = ["--link", "leicester-krefeld"]
EVENT = [*LINK, "--event", "--title", "Fair", "--start"]


@pytest.mark.parametrize(
    "argv,says",
    [
        (["Hello"], "say which link to announce to: --link ID"),
        (["--link", "leicester-krefled", "Hello"], "did you mean 'leicester-krefeld'"),
        ([*LINK, "--from", "strasbourg", "Hi"], "not a community of link leicester-krefeld"),
        ([*LINK, "--at", "2001-01-01 10:00", "Hi"], "has already passed"),
        ([*LINK, "--at", "2099-01-01 10:00 Europe/Krefeld", "Hi"], "is not a time zone"),
        ([*LINK, "--at", "tomorow 9pm", "Hi"], '"in 2h"'),
        ([*LINK, "   "], "the notice has no text"),
        ([*LINK, "--file", "missing.md"], "there is no file 'missing.md'"),
        ([*LINK, "--event", "--start", "2099-01-01 10:00"], "needs a title"),
        ([*LINK, "--event", "--title", "Fair"], "needs its start time"),
        ([*EVENT, "2099-01-01 10:00", "--end", "2099-01-01 09:00"], "--end (2099-01-01 09:00) is not after --start"),
        ([*LINK, "--remind", "1d", "Hi"], "reminders come before an event"),
        ([*EVENT, "in 2h", "--remind", "1d"], "would be sent before the notice itself"),
        ([*EVENT, "in 2h", "--remind", "soon"], '"1d"'),
        ([*EVENT, "in 2h", "--url", "example.org"], "https://"),
        ([*EVENT, "in 2h", "--at", "in 3h"], "after the event starts"),
        (["--cancel", "nosuch"], "there is no announcement 'nosuch'"),
    ],
)
def test_bad_input_is_answered_with_how_to_write_it(announce, sync_redis, keys, argv, says):
    code, out, err = announce(*argv)
    assert code == 2, (out, err)
    assert says in err and err.startswith("twinbridge announce: ") and "Traceback" not in err
    assert _fired(sync_redis, keys) == [] and store.next_due(sync_redis, keys) is None


def test_the_help_shows_examples_and_how_a_repeat_is_handled(announce, capsys):
    with pytest.raises(SystemExit):
        main(["announce", "--help"])
    text = capsys.readouterr().out
    assert "twinbridge announce --link leicester-krefeld" in text and "--remind 1d" in text
    assert "within 10 minutes sends nothing new" in text and "--again" in text


def test_a_markdown_file_crosses_with_its_formatting_on_both_platforms(announce, sync_redis, keys, tmp_path):
    """notice.md is read as Discord-flavoured markdown (the parser the Discord adapter uses):
    its heading, bold, italic, link and list become the notice's formatting, what is escaped
    shows as typed; the drafts carry it and both platforms show it (their own parsers read
    what the renderers made)."""
    (tmp_path / "notice.md").write_text(
        "# Summer fair\n\n**Bring** a *dish* to [share](https://example.org/s)!\n- salad\n- cake\n"
        "\\*not italic\\* & <b>x</b>\n",
        encoding="utf-8",
    )
    code, _, err = announce("--link", "leicester-krefeld", "--file", "notice.md")
    assert code == 0, err
    notice = _only(sync_redis, keys)
    assert notice.text == "Summer fair\n\nBring a dish to share!\nsalad\ncake\n*not italic* & <b>x</b>"
    spans = {(s.kind, notice.text[s.start : s.end], s.data) for s in notice.formatting}
    assert spans == {
        ("heading", "Summer fair", "1"),
        ("bold", "Bring", ""),
        ("italic", "dish", ""),
        ("link", "share", "https://example.org/s"),
        ("list_item", "salad", "•"),
        ("list_item", "cake", "•"),
    }
    config = load_links(tmp_path / "links.yaml")
    drafts = drafts_of(notice, "fire", config)
    tg = next(p for p in drafts.posts if p.destination.platform == "telegram")
    dc = next(p for p in drafts.posts if p.destination.platform == "discord")
    assert tg.formatting == notice.formatting == dc.formatting
    [html] = telegram_render.render_announcement(tg)
    shown, entities = parse_html(html)
    body = "Summer fair\n\nBring a dish to share!\n• salad\n• cake\n*not italic* & <b>x</b>"
    assert shown.endswith(body)
    units = shown.encode("utf-16-le")  # Telegram's offsets count UTF-16 units (the header's 📢 takes two)
    got = {
        (e["type"], units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le"), e.get("url", ""))
        for e in entities
    }
    assert got >= {("bold", "Summer fair", ""), ("bold", "Bring", ""), ("italic", "dish", "")}
    assert ("text_link", "share", "https://example.org/s") in got
    [content] = discord_render.render_announcement(
        AnnouncementView.from_dict(dc.announcement or {}), dc.text, spans=dc.formatting
    )
    parsed = parse_markdown(content)
    assert parsed.text.endswith(notice.text)
    at = len(parsed.text) - len(notice.text)
    again = {(s.kind, parsed.text[s.start : s.end], s.data) for s in parsed.spans if s.start >= at}
    assert again == spans


def test_a_formatted_notice_is_split_without_breaking_a_mark(announce, sync_redis, keys, tmp_path):
    words = " ".join(f"word{n}" for n in range(700))  # ~6,000 characters in one paragraph
    (tmp_path / "notice.md").write_text(f"**{words}** and *after*", encoding="utf-8")
    code, _, err = announce("--link", "leicester-krefeld", "--file", "notice.md")
    assert code == 0, err
    drafts = drafts_of(_only(sync_redis, keys), "fire", load_links(tmp_path / "links.yaml"))
    tg = next(p for p in drafts.posts if p.destination.platform == "telegram")
    tg_parts = telegram_render.render_announcement(tg)
    assert len(tg_parts) >= 2
    shown = [parse_html(part) for part in tg_parts]  # each part balanced: Telegram accepts it
    assert all(any(e["type"] == "bold" for e in entities) for _, entities in shown)  # closed, reopened
    dc = next(p for p in drafts.posts if p.destination.platform == "discord")
    dc_parts = discord_render.render_announcement(
        AnnouncementView.from_dict(dc.announcement or {}), dc.text, spans=dc.formatting
    )
    assert len(dc_parts) >= 3 and all(len(part) <= 2000 for part in dc_parts)
    for part in dc_parts:
        parsed = parse_markdown(part)
        assert "bold" in {s.kind for s in parsed.spans} and "*" not in parsed.text
    read = " ".join(parse_markdown(part).text for part in dc_parts)
    assert words in read.replace("\n", " ").replace("  ", " ")
