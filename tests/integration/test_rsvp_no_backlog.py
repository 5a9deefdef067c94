"""An RSVP press does not wait behind its chat's backlog: through the real ingress and a
real `twinbridge worker`, a press in a group whose earlier message is still in flight is
recorded at once, while a command of that group written after the message waits for it
(workers/ordering.py), as it must."""

from __future__ import annotations

import textwrap
import time

import pytest

from bridge.ingress import Ingress
from core.announcements import Announcement, EventDetails
from core.models import Author, ChatRef, Command
from core.settings import Settings
from core.storage import announcements, rsvps
from core.task_queue import TaskQueue

from ..helpers import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

LINKS = """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}]}
links:
  - {id: twins, communities: [leicester, krefeld], policy: open}
"""
CHAT = ChatRef("telegram", "-1001")
ANNA = Author(id="7", display_name="Anna Smith", first_name="Anna")


async def test_an_rsvp_is_handled_while_an_earlier_message_of_its_chat_is_in_flight(
    tmp_path, procs, redis_url, prefix, keys, aredis, sync_redis
):
    config = tmp_path / "links.yaml"
    config.write_text(textwrap.dedent(LINKS))
    settings = Settings(config_path=config, redis_url=redis_url, redis_prefix=prefix)
    ingress = Ingress(aredis, keys, TaskQueue.for_settings(settings))
    now = time.time()
    notice = Announcement(
        id="fair02",
        link_id="twins",
        community="leicester",
        organiser="cli",
        text="Fair",
        language="en",
        event=EventDetails(title="Fair", start=now + 86400),
        at=now,
        created=now,
    )
    announcements.save(sync_redis, keys, notice, 7, now)
    # The group's message at position 1 is accepted and not yet published (its worker died
    # with it, say: kombu hands it to another worker only after the visibility timeout).
    await aredis.set(keys.seq(CHAT.key), 1, ex=600)
    await aredis.set(keys.in_flight(CHAT.key, 1), "1-0", ex=600)

    def command(name: str, args: str, **press) -> Command:
        return Command(name=name, args=args, platform="telegram", chat_id="-1001", message_id="50", user=ANNA, **press)

    assert await ingress.command(command("privacy", ""))  # written after the message: waits for it
    assert await ingress.command(command("rsvp", "fair02 going", via="button", press_id="q1", pressed_at=now))
    procs.start(
        "worker",
        ["worker", "--concurrency", "1"],
        {"TWINBRIDGE_CONFIG": str(config), "REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix},
    )
    await wait_until(lambda: rsvps.totals(sync_redis, keys, "fair02")["going"] == 1, 30, message="the press recorded")
    # The /privacy of the same chat is still waiting for the message before it.
    assert await aredis.zcard(keys.pending_commands(CHAT.key)) == 1
    assert not await aredis.exists(keys.outbox("telegram"))
    # And the RSVP left no mark of its own in the chat's order.
    assert await aredis.get(keys.seq(CHAT.key)) == "2"
