"""Composing an announcement's drafts (workers/announcements/compose.py) and translating them
(workers/translation/stage.py: the body and the event title, once per language each); pure
functions, the translator's provider an in-memory implementation of the port."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

from core.announcements import Announcement, AnnouncementView, EventDetails
from core.links import load_links
from workers.announcements.compose import drafts_of, source_of
from workers.drafts import Drafts, announcement_firing_of, announcement_marker
from workers.translation.service import Translator
from workers.translation.stage import translated

CONFIG = """
version: 1
communities:
  leicester: {name: Leicester, language: en, timezone: Europe/London, chats: [{telegram: -1001}]}
  krefeld:
    name: Krefeld
    language: de
    timezone: Europe/Berlin
    chats: [{discord: 112233445566778899}, {telegram: -1002}]
  kolkata: {name: Kolkata, language: en, timezone: Asia/Kolkata, chats: [{telegram: -1003}]}
links:
  - {id: lk, communities: [leicester, krefeld, kolkata], direction: one-way, policy: learners}
policies:
  learners: {base: community, translation: [libre], show_original: true}
"""
START = datetime(2027, 3, 28, 17, 30, tzinfo=UTC).timestamp()  # Berlin's first evening of summer time


class Tagging:
    name, max_chars = "libre", 5000

    def __init__(self):
        self.calls = []

    def code_for(self, language, timeout=3.0):
        return language

    def translate(self, pieces, source, target, timeout):
        self.calls.append((target, list(pieces)))
        return [f"<{target}> {p}" for p in pieces]


def config(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    return load_links(path)


def notice(**changes) -> Announcement:
    fields = dict(
        id="a7k2m9",
        link_id="lk",
        community="krefeld",
        organiser="cli",
        text="Kommt alle zum Markt!",
        language="de",
        event=EventDetails("Frühlingsfest", START, place="Marktplatz"),
        pin=True,
    )
    fields.update(changes)
    return Announcement(**fields)


def test_one_post_per_chat_of_every_community_each_in_its_zone_and_language(tmp_path):
    drafts = drafts_of(notice(), "fire", config(tmp_path), {"going": 2})
    assert drafts.marker == "announcement:a7k2m9:fire" and drafts.source_language == "de"
    assert drafts.chat_key == "twinbridge:announcements" and drafts.seq == 0
    by_chat = {p.destination.key: p for p in drafts.posts}
    # One-way link, organiser's own community included: every chat.
    assert sorted(by_chat) == ["discord:112233445566778899", "telegram:-1001", "telegram:-1002", "telegram:-1003"]
    for post in drafts.posts:
        assert post.source == source_of("a7k2m9", "fire") and post.community == "Krefeld" and post.sender == ""
        assert post.text == "Kommt alle zum Markt!" and post.seq == 0
    views = {key: AnnouncementView.from_dict(p.announcement) for key, p in by_chat.items()}
    assert views["telegram:-1002"].header == "📢 Ankündigung · Krefeld"
    assert views["telegram:-1002"].when_local == "So., 28. März 2027, 19:30 MESZ"
    assert views["telegram:-1001"].header == "📢 Announcement · Krefeld"
    assert views["telegram:-1001"].when_local == "Sun, 28 March 2027, 18:30 BST"
    assert views["telegram:-1003"].when_local.endswith("11:00\u202fPM IST")
    assert views["telegram:-1001"].counts == {"going": 2, "maybe": 0, "cant": 0}
    assert views["telegram:-1001"].labels["cant"] == "Can't" and views["telegram:-1001"].pin


def test_a_reminder_has_no_body_buttons_counts_or_pin_and_a_source_of_its_own(tmp_path):
    drafts = drafts_of(notice(reminders=(3600,)), "remind:3600", config(tmp_path), {"going": 2})
    assert drafts.marker == "announcement:a7k2m9:remind:3600"
    assert announcement_firing_of(drafts.marker) == ("a7k2m9", "remind:3600")
    for post in drafts.posts:
        view = AnnouncementView.from_dict(post.announcement)
        assert post.text == "" and post.source.message_id == "a7k2m9.r3600"
        assert view.kind == "reminder" and not view.has_rsvp and not view.counts and not view.pin
        assert view.event.title == "Frühlingsfest"
    assert drafts.source_language == "de"  # the title is still translated


def test_an_unknown_link_makes_no_posts_and_drafts_keep_their_marker_through_json(tmp_path):
    assert drafts_of(notice(link_id="gone"), "fire", config(tmp_path)).posts == ()
    drafts = drafts_of(notice(), "fire", config(tmp_path))
    again = Drafts.from_dict(drafts.to_dict())
    assert again == drafts and again.announcement_firing == ("a7k2m9", "fire")
    assert announcement_firing_of(announcement_marker("x", "fire")) == ("x", "fire")
    assert announcement_firing_of("") is None and announcement_firing_of("hold:1") is None


def test_body_and_title_are_translated_once_per_language_with_the_original_shown(tmp_path):
    links = config(tmp_path)
    provider = Tagging()
    posts = translated(drafts_of(notice(), "fire", links), links, Translator({"libre": provider}))
    by_chat = {p.destination.key: p for p in posts}
    english = by_chat["telegram:-1001"]
    assert english.text == "<en> Kommt alle zum Markt!" and english.original == "Kommt alle zum Markt!"
    assert AnnouncementView.from_dict(english.announcement).event.title == "<en> Frühlingsfest"
    german = by_chat["telegram:-1002"]
    assert german.text == "Kommt alle zum Markt!" and german.original == ""
    assert AnnouncementView.from_dict(german.announcement).event.title == "Frühlingsfest"
    # Two English communities, two German chats: one request per text and language.
    assert sorted(provider.calls) == [("en", ["Frühlingsfest"]), ("en", ["Kommt alle zum Markt!"])]
