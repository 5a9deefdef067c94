"""Routing and the sender as the policy shows it (pure functions)."""

from __future__ import annotations

import textwrap

from core.links import load_links
from core.models import Author, ChatRef, EventKind, MessageRef, OutboundPost, PlatformEvent
from workers.pipeline import Context, plan, route
from workers.privacy import pseudonym_for, shown_sender

CONFIG = """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}]}
  masaya: {name: Masaya, language: es, chats: [{telegram: -1003}, {discord: 112233445566778800}]}
  organisers: {name: Organisers, language: en, chats: [{telegram: -1009}]}
links:
  - {id: lk, communities: [leicester, krefeld, masaya], direction: both, policy: open}
  - {id: notices, communities: [organisers, leicester, krefeld], direction: one-way, policy: community}
"""


def config(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    return load_links(path)


def event(platform, chat, text="Hello", kind=EventKind.NEW):
    return PlatformEvent(
        kind=kind,
        source=MessageRef(platform, chat, "10"),
        author=Author(id="5", display_name="Anna Smith", first_name="Anna"),
        text=text,
    )


def test_routes_to_every_other_chat_of_the_link(tmp_path):
    targets = route(event("telegram", "-1001"), config(tmp_path))
    assert [(link, c.key) for link, c in targets] == [
        ("lk", "discord:112233445566778899"),
        ("lk", "telegram:-1003"),
        ("lk", "discord:112233445566778800"),
    ]


def test_unknown_chat_routes_nowhere(tmp_path):
    assert route(event("telegram", "-4242"), config(tmp_path)) == []


def test_one_way_link_listeners_do_not_speak(tmp_path):
    cfg = config(tmp_path)
    # Krefeld is in both links; its messages cross `lk` only, never into the organisers' group.
    assert "telegram:-1009" not in {c.key for _, c in route(event("discord", "112233445566778899"), cfg)}
    # The organisers reach Leicester and Krefeld through the one-way link.
    assert {c.key for _, c in route(event("telegram", "-1009"), cfg)} == {
        "telegram:-1001",
        "discord:112233445566778899",
    }


def test_plan_builds_posts_with_label_and_policy(tmp_path):
    posts = plan(event("telegram", "-1009", "Fête on Saturday"), Context(config(tmp_path)))
    assert {p.destination.key for p in posts} == {"telegram:-1001", "discord:112233445566778899"}
    post = posts[0]
    assert post.label == "Anna · Organisers"  # community policy: first name
    assert post.text == "Fête on Saturday" and not post.allow_mentions
    assert OutboundPost.from_dict(post.to_dict()) == post


def test_retention_of_a_chat_is_its_shortest_link(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(CONFIG) + "policies:\n  community: {retention_days: 7}\n")
    cfg = load_links(path)
    assert cfg.retention_days(ChatRef("telegram", "-1001")) == 7  # in `lk` (30 days) and `notices` (7)
    assert cfg.retention_days(ChatRef("discord", "112233445566778800")) == 30  # only in `lk`
    assert cfg.retention_days(ChatRef("telegram", "-4242")) == 30


def test_event_round_trips_through_a_dict():
    e = event("discord", "1", "x").with_seq(7)
    assert PlatformEvent.from_dict(e.to_dict()) == e
    assert e.dedup_key == "discord:1:10:new:0"


def test_sender_modes():
    author = Author(id="5", display_name="Anna-Lena Smith", first_name="Anna-Lena")
    assert shown_sender(author, "telegram", "full", "lk", None) == "Anna-Lena Smith"
    assert shown_sender(author, "telegram", "first_name", "lk", None) == "Anna-Lena"
    assert shown_sender(author, "telegram", "initials", "lk", None) == "A.L.S."
    assert shown_sender(author, "telegram", "hidden", "lk", None) == ""
    # Without a key, never the real name.
    assert shown_sender(author, "telegram", "pseudonym", "lk", None) == "A member"


def test_pseudonyms_are_stable_readable_and_unlinkable():
    a = pseudonym_for("telegram", "5", "lk", "secret")
    assert a == pseudonym_for("telegram", "5", "lk", "secret")
    assert len(a.split()) == 3 and a.split()[2].isdigit()
    assert a != pseudonym_for("telegram", "5", "other-link", "secret")
    assert a != pseudonym_for("telegram", "5", "lk", "rotated")
    assert ChatRef.parse("telegram:-1").chat_id == "-1"
