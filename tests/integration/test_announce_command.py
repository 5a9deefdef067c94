"""/announce and /announcements as the moderation worker handles them
(workers/announce_commands.py), against the real Redis: who may, what is stored and
handed to the fire task, that the same command handled twice makes one notice, and the
answers (privately, in the community's language, with an example when it is wrong)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.announcements import CANCELLED, SCHEDULED
from core.formatting import Span
from core.models import Author, Command
from core.storage import announcements as store
from core.storage import link_control, rsvps
from core.task_queue import FIRE_ANNOUNCEMENT_TASK, MODERATION_QUEUE, TaskQueue, task_arguments
from tests.helpers import write_links
from workers.announce_commands import announce, announcements
from workers.link_commands import pause, status

pytestmark = pytest.mark.integration

TG_GROUP = "-1001000000051"
DC_CHANNEL = "112233445566778851"
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, timezone: Europe/London, chats: [{{telegram: {TG_GROUP}}}]}}
  krefeld:
    name: Krefeld
    language: de
    timezone: Europe/Berlin
    organisers: ["discord:301"]
    chats: [{{discord: {DC_CHANNEL}}}]
links:
  - {{id: towns, communities: [leicester, krefeld], policy: open}}
"""


def said(
    text: str, *, platform="telegram", chat=TG_GROUP, user="501", message="11", admin=False, private=False, language=""
):
    name, _, args = text.removeprefix("/").partition(" ")
    return Command(
        name, args, platform, chat, message, Author(user, "Someone"), private=private, admin=admin, language=language
    )


def fire_tasks(sync_redis, keys) -> list[tuple]:
    queue = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE)
    found = [task_arguments(raw) for raw in sync_redis.lrange(queue.key, 0, -1)]
    return [args for task, args, _ in found if task == FIRE_ANNOUNCEMENT_TASK]


@pytest.fixture
def config(tmp_path):
    return write_links(tmp_path, LINKS)


def test_a_member_is_refused_privately(config, sync_redis, keys):
    [answer] = announce(said("/announce Hello all"), config, sync_redis, keys)
    assert answer.private_to == "501" and "only the organisers" in answer.text
    assert store.of_link(sync_redis, keys, "towns", 0) == [] and fire_tasks(sync_redis, keys) == []


def test_an_admins_notice_goes_now_once_however_often_the_command_is_handled(config, sync_redis, keys):
    command = said("/announce pin The summer fair is on Saturday!", admin=True)
    first = announce(command, config, sync_redis, keys)
    again = announce(command, config, sync_redis, keys)  # the task run twice
    [notice] = store.of_link(sync_redis, keys, "towns", 0)
    assert notice.text == "The summer fair is on Saturday!" and notice.pin and notice.community == "leicester"
    assert notice.organiser.startswith("p:")  # a person key, never the platform id
    assert len(fire_tasks(sync_redis, keys)) == 1
    assert first == again and first[0].private_to == "501"
    assert f"Notice {notice.id} is on its way to 2 chat(s): Leicester, Krefeld" in first[0].text
    assert "paused" not in first[0].text


def test_a_paused_link_still_carries_an_organisers_notice_and_says_so(config, sync_redis, keys):
    link_control.pause(sync_redis, keys, "towns", "cmd:earlier")
    [answer] = announce(said("/announce Meeting moved to 8 pm", admin=True), config, sync_redis, keys)
    assert "is on its way" in answer.text and "members' messages do not cross, but this notice does" in answer.text
    assert len(fire_tasks(sync_redis, keys)) == 1


def test_a_listed_organiser_schedules_and_cancels_in_german(config, sync_redis, keys):
    dc = {"platform": "discord", "chat": DC_CHANNEL, "user": "301"}
    [answer] = announce(said("/announce at 2099-03-14 19:30 Chorprobe im Saal", **dc), config, sync_redis, keys)
    [notice] = store.of_link(sync_redis, keys, "towns", 0)
    assert notice.state == SCHEDULED and notice.at == datetime(2099, 3, 14, 18, 30, tzinfo=UTC).timestamp()  # CET
    assert f"Ankündigung {notice.id} wird" in answer.text and "19:30" in answer.text
    assert fire_tasks(sync_redis, keys) == []  # the scheduler hands it over when due
    [listed] = announcements(said("/announcements", message="12", **dc), config, sync_redis, keys)
    assert "Ankündigungen von towns:" in listed.text and notice.id in listed.text and "geplant" in listed.text
    [cancelled] = announcements(
        said(f"/announcements cancel {notice.id}", message="13", **dc), config, sync_redis, keys
    )
    assert f"Ankündigung {notice.id} ist abgesagt" in cancelled.text
    assert store.load(sync_redis, keys, notice.id).state == CANCELLED
    # Privately, a listed organiser names the link.
    [named] = announcements(
        said("/announcements towns", platform="discord", chat="301", user="301", message="14", private=True),
        config,
        sync_redis,
        keys,
    )
    assert "abgesagt" in named.text and named.private_to == ""  # answered in the private chat itself


@pytest.mark.parametrize(
    "text,expected",
    [
        ("/announce", "How to send a notice"),
        ("/announce at soon Hello", "/announce at 2027-03-14 19:30 Text"),
        ("/announce at 2020-01-01 10:00 Hello", "has already passed"),
        ("/announce event Summer fair", "/announce event Summer fair | 2027-06-12 14:00"),
        ("/announce remind 1d Hello", "A reminder needs an event"),
        ("/announce at 2027-06-12 14:00 Mars/Olympus Hello", '"Mars/Olympus" is not a time zone I know'),
        ("/announce at 2027-06-12 14:00 Mars/Olympus Hello", "Europe/Berlin"),
    ],
)
def test_bad_input_is_answered_with_how_to_write_it(config, sync_redis, keys, text, expected):
    [answer] = announce(said(text, admin=True), config, sync_redis, keys)
    assert expected in answer.text and answer.private_to == "501"
    assert store.of_link(sync_redis, keys, "towns", 0) == []


def test_an_unknown_notice_cannot_be_cancelled(config, sync_redis, keys):
    [answer] = announcements(said("/announcements cancel zzzzzz", admin=True), config, sync_redis, keys)
    assert "There is no notice zzzzzz" in answer.text
    [how] = announcements(said("/announcements cancel", admin=True), config, sync_redis, keys)
    assert "/announcements cancel a7k2m9" in how.text


def test_a_chat_in_several_links_names_the_link(tmp_path, sync_redis, keys):
    text = LINKS.replace(
        "links:\n",
        "  masaya: {name: Masaya, language: es, timezone: America/Managua, chats: [{telegram: -1001000000052}]}\n"
        "links:\n  - {id: choirs, communities: [leicester, masaya], policy: open}\n",
    )
    config = write_links(tmp_path, text)
    [answer] = announce(said("/announce Hello", admin=True), config, sync_redis, keys)
    assert "several links" in answer.text and "Yours: choirs, towns" in answer.text
    [named] = announce(said("/announce choirs ¡Hola!", admin=True), config, sync_redis, keys)
    [notice] = store.of_link(sync_redis, keys, "choirs", 0)
    assert notice.text == "¡Hola!" and "Leicester, Masaya" in named.text
    # Privately, a member who organises nothing is told so; an unknown link is answered with theirs.
    [nothing] = announce(said("/announce towns Hi", chat="501", private=True), config, sync_redis, keys)
    assert "not an organiser of any link" in nothing.text
    dc_private = {"platform": "discord", "chat": "301", "user": "301", "private": True}
    [unknown] = announce(said("/announce nowhere Hallo", **dc_private), config, sync_redis, keys)
    assert "keine Verbindung „nowhere“" in unknown.text and "towns" in unknown.text


def test_the_list_shows_the_answers_per_community(config, sync_redis, keys):
    day = datetime.now(UTC).date() + timedelta(days=5)
    dc = {"platform": "discord", "chat": DC_CHANNEL, "user": "301"}
    announce(said(f"/announce event Sommerfest | {day} 14:00 | Marktplatz", **dc), config, sync_redis, keys)
    [notice] = store.of_link(sync_redis, keys, "towns", 0)
    for person, community, choice in [
        ("p:1", "leicester", "going"),
        ("p:2", "krefeld", "going"),
        ("p:3", "krefeld", "maybe"),
    ]:
        rsvps.record(sync_redis, keys, notice.id, person, community, choice, 3600)
    [listed] = announcements(said("/announcements", message="12", **dc), config, sync_redis, keys)
    assert "Sommerfest" in listed.text
    lines = listed.text.splitlines()
    assert any("Dabei: 2" in line and "Vielleicht: 1" in line for line in lines)  # the totals
    assert any(line.strip().startswith("Leicester: Dabei: 1") for line in lines)
    assert any(line.strip().startswith("Krefeld: Dabei: 1 · Vielleicht: 1") for line in lines)


def test_an_organisers_formatting_is_kept_on_the_notice(config, sync_redis, keys):
    """The adapter sends the formatting over the command's words (Telegram's entities, or
    Discord's markdown read): the notice keeps the part over its text."""
    plain = "towns pin The summer fair is on Saturday!"
    spans = (Span(0, 5, "italic"), Span(10, 25, "bold"), Span(32, 40, "link", "https://example.org/sat"))
    assert plain[10:25] == "The summer fair" and plain[32:40] == "Saturday"
    command = replace(said("/announce " + plain, admin=True), formatting=spans)
    assert Command.from_dict(command.to_dict()) == command  # as the ingress queues it
    announce(command, config, sync_redis, keys)
    [notice] = store.of_link(sync_redis, keys, "towns", 0)
    assert notice.text == "The summer fair is on Saturday!"
    assert [(s.kind, notice.text[s.start : s.end], s.data) for s in notice.formatting] == [
        ("bold", "The summer fair", ""),
        ("link", "Saturday", "https://example.org/sat"),
    ]  # the link's name, pin and the italic over it are not the notice's


def test_organisers_are_answered_in_their_own_language_where_the_bridge_has_it(config, sync_redis, keys):
    """The asker's language (their app's, as the platform says) where the bridge has words for
    it; else their community's. What every chat is told stays in each community's language."""
    [german] = status(said("/status", admin=True, language="de"), config, sync_redis, keys)
    assert "Verbindung towns: läuft" in german.text and german.private_to == "501"
    [english] = status(said("/status", admin=True, language="ja", message="12"), config, sync_redis, keys)
    assert "Link towns: running" in english.text  # no Japanese words: Leicester's English
    dc = {"platform": "discord", "chat": DC_CHANNEL, "user": "301"}
    [french] = status(said("/status", language="fr-FR", message="13", **dc), config, sync_redis, keys)
    assert "Lien towns: en marche" in french.text
    [spanish] = announce(said("/announce at soon Hola", language="es-ES", message="14", **dc), config, sync_redis, keys)
    assert "No pude leer" in spanish.text
    [refused] = status(said("/status", language="de", message="15"), config, sync_redis, keys)
    assert "nur die Organisation" in refused.text and refused.private_to == "501"
    notices = pause(said("/pause 1h", admin=True, language="de", message="16"), config, sync_redis, keys)
    by_chat = {post.destination.chat_id: post.text for post in notices}
    assert "paused by an organiser" in by_chat[TG_GROUP] and "angehalten" in by_chat[DC_CHANNEL]


def test_the_longest_notice_a_chat_can_carry_is_accepted_to_be_split_not_refused(config, sync_redis, keys):
    """A Telegram message holds 4096 characters (a Discord Nitro member's 4000): whatever the
    organiser could type is taken, and the renderers split it between lines, never cut."""
    text = " ".join(["Bring a dish to share with the twins."] * 110)[:4080].strip()
    assert len(f"/announce {text}") <= 4096
    [answer] = announce(said(f"/announce {text}", admin=True), config, sync_redis, keys)
    assert "is on its way" in answer.text, answer.text
    [notice] = store.of_link(sync_redis, keys, "towns", 0)
    assert notice.text == text
