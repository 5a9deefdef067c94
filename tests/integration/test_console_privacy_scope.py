"""The console's privacy requests stay within the organiser's own links (issue 18), against a
real Redis and the real console (uvicorn serving console/app.py), signed in through /console's
one-time link: an organiser of one link sees nothing of what a member did in another link, and
cannot erase a member who has nothing in their links; the other link's organiser can do both."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Iterator

import pytest
import requests
import uvicorn

from core import audit, persons
from core.announcements import Announcement, EventDetails
from core.models import Author, Command, EventKind, MessageRef, PlatformEvent
from core.settings import Settings
from core.storage import announcements, rsvps
from core.storage.keys import DAY, Keys
from tests.processes import free_port
from workers import console_signin, holds, rights
from workers.moderation.stage import Moderated
from workers.privacy import PseudonymBook, current_pseudonym

from ..helpers import write_links

pytestmark = pytest.mark.integration

ORGANISER_A, ORGANISER_B = "9001", "9002"
MEMBER, MEMBER_ID = "telegram:5001", "5001"
STRANGER = "discord:424242424242"
LINKS = f"""
version: 1
communities:
  a1: {{name: Leicester, language: en, chats: [{{telegram: -1001}}]}}
  a2: {{name: Krefeld, language: de, chats: [{{discord: 112233445566778811}}]}}
  b1: {{name: Year 8, language: en, chats: [{{telegram: -1002}}]}}
  b2: {{name: Klasse 8b, language: de, chats: [{{discord: 112233445566778822}}]}}
links:
  - {{id: towns, communities: [a1, a2], policy: open, organisers: ["telegram:{ORGANISER_A}"]}}
  - {{id: classes, communities: [b1, b2], policy: school, organisers: ["telegram:{ORGANISER_B}"]}}
  - {{id: clubs, communities: [a1, b1], policy: open}}
policies:
  school: {{moderators: ["telegram:9009"], retention_days: 7}}
"""


@pytest.fixture
def console(tmp_path, redis_url, prefix) -> Iterator[tuple[str, object]]:
    """The console on a free loopback port (its own thread and event loop), and its links."""
    from console.app import create_app

    config = write_links(tmp_path, LINKS)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(config_path=tmp_path / "links.yaml", redis_url=redis_url, redis_prefix=prefix, console_url=base)
    app = create_app(settings, config)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="console", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the console did not start"
        time.sleep(0.05)
    try:
        yield base, config
    finally:
        server.should_exit = True
        thread.join(20)
        persons.use_secret(None)


def signed_in(base: str, config, sync_redis, keys: Keys, user_id: str) -> requests.Session:
    """A browser-like session signed in the way an organiser does: /console in a private chat,
    the link it sends, its button."""
    command = Command(
        name="console",
        args="",
        platform="telegram",
        chat_id=user_id,
        message_id="7",
        user=Author(id=user_id, display_name="Organiser"),
        private=True,
    )
    [answer] = console_signin.handle(command, config, sync_redis, keys, base)
    link = re.search(r"(http://\S+/signin/\S+)", answer.text).group(1)
    session = requests.Session()
    page = session.get(link, timeout=10)
    token, csrf = (re.search(rf'name="{name}" value="([^"]+)"', page.text).group(1) for name in ("token", "csrf"))
    signed = session.post(f"{base}/signin", data={"token": token, "csrf": csrf}, timeout=10)
    assert signed.status_code == 200 and signed.url.endswith("/links")
    return session


def privacy(session: requests.Session, base: str, user: str, action: str) -> requests.Response:
    csrf = re.search(r'name="csrf" value="([^"]+)"', session.get(f"{base}/privacy", timeout=10).text).group(1)
    form = {"csrf": csrf, "user": user, "action": action}
    if action == "erase":
        form["confirm"] = "yes"
    return session.post(f"{base}/privacy", data=form, timeout=10)


def exported(page: requests.Response) -> dict:
    assert page.status_code == 200
    return json.loads(html.unescape(re.search(r"<pre[^>]*>(.*?)</pre>", page.text, re.S).group(1)))


def problem(page: requests.Response) -> str:
    return html.unescape(re.search(r'<p class="problem"[^>]*>(.*?)</p>', page.text, re.S).group(1))


def footprint_in_classes(sync_redis, keys: Keys, config) -> dict:
    """The member's consent, pseudonym, a relayed and a held message, an answer to an event
    notice and audit entries in the link "classes", and a consent in "clubs"; what identifies each."""
    link = config.link("classes")
    rights.give_consent(sync_redis, keys, "classes", MEMBER, 7)
    rights.give_consent(sync_redis, keys, "clubs", MEMBER, 7)  # a link nobody in the console organises
    pseudonym = PseudonymBook(sync_redis, keys, "k").name("telegram", MEMBER_ID, "classes", 7)
    source = MessageRef("telegram", "-1002", "41")
    rights.note_crossed(sync_redis, keys, MEMBER, "classes", source, 7)
    event = PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", "-1002", "42"),
        text="See you at the station",
        author=Author(id=MEMBER_ID, display_name="Anna Smith"),
    )
    hold_id, _ = holds.hold(sync_redis, keys, event, link, Moderated("See you at the station", ()), "Anna")
    now = time.time()
    notice = Announcement(
        id="trip01",
        link_id="classes",
        community="b1",
        organiser="cli",
        text="The class trip",
        language="en",
        event=EventDetails(title="Class trip to Krefeld", start=now + DAY, end=now + DAY + 3600),
        at=now,
        created=now,
    )
    announcements.save(sync_redis, keys, notice, 7, now)
    member = persons.person(sync_redis, keys, MEMBER)
    rsvps.record(sync_redis, keys, "trip01", member, "b1", "going", 7 * DAY)
    return {"pseudonym": pseudonym, "source": source.key, "hold": hold_id, "person": member}


def member_keys(sync_redis, keys: Keys, person: str) -> dict:
    """What Redis holds of the member (to compare before and after a refused erasure)."""
    return {
        "consent": sync_redis.exists(keys.consent("classes", MEMBER)),
        "elsewhere": sync_redis.exists(keys.consent("clubs", MEMBER)),
        "pseudonym": current_pseudonym(sync_redis, keys, "classes", MEMBER),
        "authored": sorted(sync_redis.zrange(keys.authored(MEMBER), 0, -1)),
        "answers": [a.announcement_id for a in rsvps.of_person(sync_redis, keys, person)],
        "audit": sorted(e["action"] for e in audit.entries(sync_redis, keys, "classes") if e.get("subject") == person),
        "erasure": sync_redis.exists(keys.erasure(person)),
    }


def test_an_organiser_sees_and_erases_only_members_of_their_own_links(console, sync_redis, keys: Keys, prefix):
    base, config = console
    marks = footprint_in_classes(sync_redis, keys, config)
    before = member_keys(sync_redis, keys, marks["person"])
    assert before["consent"] and before["pseudonym"] and before["answers"] == ["trip01"]
    assert len(before["authored"]) == 2  # the relayed message and the held one
    towns = signed_in(base, config, sync_redis, keys, ORGANISER_A)

    # The organiser of "towns" asks for the member's data: nothing of "classes" shows.
    page = privacy(towns, base, MEMBER, "export")
    data = exported(page)
    assert data["user"] == MEMBER and data["links"] == ["towns"]
    for listed in ("consent", "messages_relayed", "held_for_approval", "audit_entries", "event_answers"):
        assert data[listed] == [], listed
    assert data["pseudonyms"] == {} and "profile_photo_kept" not in data
    for secret in (marks["pseudonym"], marks["source"], marks["hold"], "trip01", "Class trip", "station", "classes"):
        assert secret not in page.text.split("<pre", 1)[1].split("</pre>", 1)[0], secret

    # ... nor may they erase her: refused in the same words as for somebody unknown anywhere,
    # counted, audited in their link, and nothing of hers is touched.
    refused = privacy(towns, base, MEMBER, "erase")
    assert refused.status_code == 403 and "no data in your links" in problem(refused)
    unknown = privacy(towns, base, STRANGER, "erase")
    assert (unknown.status_code, problem(unknown)) == (refused.status_code, problem(refused))
    assert member_keys(sync_redis, keys, marks["person"]) == before
    assert sync_redis.hget(keys.stats(), "console.erase_refused") == "2"
    noted = [e for e in audit.entries(sync_redis, keys, "towns") if e["action"] == "console.erase.refused"]
    assert [e["subject"] for e in noted] == [marks["person"], persons.person(sync_redis, keys, STRANGER)]
    # The console's own notes of these requests, now in "towns", do not make her a member there.
    assert privacy(towns, base, MEMBER, "erase").status_code == 403
    assert member_keys(sync_redis, keys, marks["person"]) == before

    # The organiser of "classes" sees all of it, and erases her.
    classes = signed_in(base, config, sync_redis, keys, ORGANISER_B)
    data = exported(privacy(classes, base, MEMBER, "export"))
    assert data["links"] == ["classes"]
    assert [c["link"] for c in data["consent"]] == ["classes"] and data["pseudonyms"] == {"classes": marks["pseudonym"]}
    assert [m["message"] for m in data["messages_relayed"]] == [marks["source"]]
    assert [h["id"] for h in data["held_for_approval"]] == [marks["hold"]]
    assert [(a["announcement"], a["title"]) for a in data["event_answers"]] == [("trip01", "Class trip to Krefeld")]
    assert {"consent.given", "held"} <= {e["action"] for e in data["audit_entries"]}

    done = privacy(classes, base, MEMBER, "erase")
    # Her whole erasure, as /forgetme's: her consent in "clubs" goes too, though the page counts
    # only what was in "classes" (it does not tell the organiser what she had elsewhere).
    assert done.status_code == 200 and "In your links: 1 consent record(s), 1 held message(s)" in done.text
    after = member_keys(sync_redis, keys, marks["person"])
    assert before["elsewhere"] and not after["elsewhere"]
    assert after["consent"] == 0 and after["pseudonym"] is None and after["authored"] == [] and after["answers"] == []
    assert after["audit"] == [] and after["erasure"] == 0  # entries rewritten to "erased"; the erasure finished
    # (The erasure's tombstone stays, by person key, for the workers to refuse what is still on its way.)
    assert not [key for key in sync_redis.scan_iter(match=f"{prefix}*") if MEMBER in key]
    # `twinbridge export` (every link) finds nothing of her either.
    everything = rights.export_user(sync_redis, keys, config, MEMBER, None)
    assert not rights.has_footprint(everything) and "links" not in everything
