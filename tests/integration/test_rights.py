"""Consent, access and erasure against a real Redis (what /mydata, /forgetme,
`twinbridge export` and `twinbridge forget` do underneath)."""

from __future__ import annotations

import json
import textwrap

from core import audit
from core.links import load_links
from core.models import Author, EventKind, MessageRef, OutboundPost, PlatformEvent
from tests.helpers import SCHOOL_CLASSES_LINKS
from workers import holds, rights
from workers.moderation.stage import Moderated
from workers.privacy import PseudonymBook

CONFIG = SCHOOL_CLASSES_LINKS
USER = "telegram:5001"


def config(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    return load_links(path, pseudonym_key="k")


def test_export_lists_everything_and_erasure_leaves_nothing(tmp_path, sync_redis, keys, prefix):
    cfg = config(tmp_path)
    link = cfg.link("classes")
    rights.give_consent(sync_redis, keys, "classes", USER, 7)
    source = MessageRef("telegram", "-1002", "41")
    rights.note_crossed(sync_redis, keys, USER, "classes", source, 7)
    sync_redis.hset(keys.idmap(source.key), "classes|discord:112233445566778811", json.dumps(["900"]))
    event = PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", "-1002", "42"),
        text="Still waiting",
        author=Author(id="5001", display_name="Anna Smith"),
    )
    allowed = Moderated("Still waiting", ())
    hold_id, notices = holds.hold(sync_redis, keys, event, link, allowed, "Blue Heron 4 · Year 8")
    assert [n.private_to for n in notices] == ["9001"] and notices[0].buttons[0] == ("Approve", f"approve:{hold_id}")

    pseudonym = PseudonymBook(sync_redis, keys, "k").name("telegram", "5001", "classes", 7)  # shown once
    data = rights.export_user(sync_redis, keys, cfg, USER, "k")
    assert [c["link"] for c in data["consent"]] == ["classes"]
    assert data["messages_relayed"] == [
        {
            "link": "classes",
            "message": source.key,
            "copies": {"discord:112233445566778811": ["900"]},
            "kept_for_days": None,
        }
    ]
    assert data["held_for_approval"] == [{"id": hold_id, "link": "classes", "text": "Still waiting"}]
    assert {e["action"] for e in data["audit_entries"]} == {"consent.given", "held"}
    assert data["pseudonyms"] == {"classes": pseudonym}

    done = rights.erase_user(sync_redis, keys, cfg, USER)
    # in_flight: the held message's notice to the moderator, still queued (no adapter runs here).
    assert done == {
        "copies_to_delete": 1,
        "consents": 1,
        "held": 1,
        "audit_entries": 2,
        "quotes_dropped": 0,
        "notices_to_delete": 0,
        "in_flight": 1,
        "dead_letters": 0,
        "pseudonyms": 1,
        "event_answers": 0,
        "profile_photos": 0,
    }
    [(_, fields)] = sync_redis.xrange(keys.outbox("discord"))
    delete = OutboundPost.from_dict(json.loads(fields["post"]))
    assert (delete.kind, delete.source, delete.destination.chat_id) == (EventKind.DELETE, source, "112233445566778811")
    entries = audit.entries(sync_redis, keys, "classes")
    assert {e["subject"] for e in entries} == {"erased"} and "erased" in {e["action"] for e in entries}
    for key in sync_redis.scan_iter(match=f"{prefix}*"):
        assert USER not in key and "5001" not in key
    assert rights.export_user(sync_redis, keys, cfg, USER, None)["consent"] == []


def test_consent_is_withdrawn_and_a_stranger_can_be_forgotten_harmlessly(tmp_path, sync_redis, keys):
    cfg = config(tmp_path)
    rights.give_consent(sync_redis, keys, "classes", USER, 7)
    assert rights.has_consent(sync_redis, keys, "classes", USER)
    assert 0 < sync_redis.ttl(keys.consent("classes", USER)) <= 7 * 86400
    assert rights.withdraw_consent(sync_redis, keys, "classes", USER, 7)
    assert not rights.has_consent(sync_redis, keys, "classes", USER)
    # Somebody the bridge never saw: nothing to do, nothing breaks.
    assert not any(rights.erase_user(sync_redis, keys, cfg, "discord:123").values())


def test_audit_names_people_only_by_a_salted_key_that_export_still_finds(tmp_path, sync_redis, keys, prefix):
    from core import persons

    cfg = config(tmp_path)
    link = cfg.link("classes")
    rights.give_consent(sync_redis, keys, "classes", USER, 7)
    event = PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", "-1002", "43"),
        text="Hello",
        author=Author(id="5001", display_name="Anna Smith"),
    )
    hold_id, _ = holds.hold(sync_redis, keys, event, link, Moderated("Hello", ()), "Blue Heron 4 · Year 8")
    assert holds.settle(sync_redis, keys, holds.load(sync_redis, keys, hold_id), "approved", "telegram:9001", 7)

    entries = audit.entries(sync_redis, keys, "classes")
    assert {e["action"] for e in entries} == {"consent.given", "held", "approved"}
    assert not any("telegram:" in json.dumps(e) or "5001" in json.dumps(e) or "9001" in json.dumps(e) for e in entries)
    # Keyed by an HMAC under the install's random salt (no pseudonym key here): configuration, no expiry.
    assert sync_redis.ttl(keys.person_salt()) == -1
    member, moderator = persons.person(sync_redis, keys, USER), persons.person(sync_redis, keys, "telegram:9001")
    assert {e["subject"] for e in entries} == {member} and member != moderator
    # /mydata and `twinbridge export` still find them: the member's entries, and the moderator's decision.
    assert {e["action"] for e in rights.export_user(sync_redis, keys, cfg, USER, None)["audit_entries"]} == {
        "consent.given",
        "held",
        "approved",
    }
    assert [e["action"] for e in rights.export_user(sync_redis, keys, cfg, "telegram:9001", None)["audit_entries"]] == [
        "approved"
    ]
    # With TWINBRIDGE_PSEUDONYM_KEY the key derives from it instead (the same in every process).
    persons.use_secret("a-secret")
    try:
        assert persons.person(sync_redis, keys, USER) not in (member, persons.person_of(b"other", USER))
    finally:
        persons.use_secret(None)


def test_an_export_for_some_links_holds_only_theirs_and_every_link_by_default(tmp_path, sync_redis, keys):
    """The web console's export (``links=``) against `twinbridge export` and /mydata (every link)."""
    path = tmp_path / "links.yaml"
    path.write_text(
        textwrap.dedent(CONFIG).replace("links:\n", "links:\n  - {id: other, communities: [a, b], policy: school}\n")
    )
    cfg = load_links(path, pseudonym_key="k")
    for link_id, message in (("classes", "41"), ("other", "42")):
        rights.give_consent(sync_redis, keys, link_id, USER, 7)
        PseudonymBook(sync_redis, keys, "k").name("telegram", "5001", link_id, 7)
        rights.note_crossed(sync_redis, keys, USER, link_id, MessageRef("telegram", "-1002", message), 7)

    everything = rights.export_user(sync_redis, keys, cfg, USER, "k")
    assert {c["link"] for c in everything["consent"]} == {"classes", "other"} and "links" not in everything
    assert set(everything["pseudonyms"]) == {"classes", "other"} and "profile_photo_kept" in everything
    mine = rights.export_user(sync_redis, keys, cfg, USER, "k", links=["other"])
    assert mine["links"] == ["other"] and [c["link"] for c in mine["consent"]] == ["other"]
    assert set(mine["pseudonyms"]) == {"other"} and [m["link"] for m in mine["messages_relayed"]] == ["other"]
    assert {e["link"] for e in mine["audit_entries"]} == {"other"} and "profile_photo_kept" not in mine
    assert rights.has_footprint(mine)
    assert not rights.has_footprint(rights.export_user(sync_redis, keys, cfg, USER, "k", links=[]))
