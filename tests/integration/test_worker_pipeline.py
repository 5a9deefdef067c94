"""Ingress → a real `twinbridge worker` process → the outbox streams in Redis."""

from __future__ import annotations

import json
import textwrap

from bridge.ingress import Ingress
from core.task_queue import TaskQueue
from core.models import Author, EventKind, MessageRef, PlatformEvent
from core.settings import Settings

from ..helpers import wait_until

LINKS = """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}]}
  strasbourg: {name: Strasbourg, language: fr, chats: [{telegram: -1002}]}
links:
  - {id: twins, communities: [leicester, krefeld, strasbourg], direction: both, policy: open}
"""


def event(chat: str, message_id: str, text: str) -> PlatformEvent:
    return PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", chat, message_id),
        author=Author(id="7", display_name="Anna Smith", first_name="Anna"),
        text=text,
    )


async def test_worker_routes_each_accepted_event_once(tmp_path, procs, redis_url, prefix, keys, aredis):
    config = tmp_path / "links.yaml"
    config.write_text(textwrap.dedent(LINKS))
    settings = Settings(config_path=config, redis_url=redis_url, redis_prefix=prefix)
    ingress = Ingress(aredis, keys, TaskQueue.for_settings(settings))

    assert await ingress.accept(event("-1001", "1", "Hello twins"))
    assert not await ingress.accept(event("-1001", "1", "Hello twins"))  # redelivered: dropped
    assert await ingress.accept(event("-4242", "1", "from nowhere"))  # unknown chat: routes nowhere
    assert await ingress.accept(event("-1001", "2", "Second"))

    procs.start(
        "worker",
        ["worker", "--concurrency", "1"],
        {"TWINBRIDGE_CONFIG": str(config), "REDIS_URL": redis_url, "TWINBRIDGE_REDIS_PREFIX": prefix},
    )
    await wait_until(lambda: aredis.hget(keys.stats(), "worker.processed"), 30, message="the worker")
    await wait_until(lambda: _processed(aredis, keys, 3), 30, message="three processed events")

    discord = [json.loads(f["post"]) for _, f in await aredis.xrange(keys.outbox("discord"))]
    telegram = [json.loads(f["post"]) for _, f in await aredis.xrange(keys.outbox("telegram"))]
    assert [p["text"] for p in discord] == ["Hello twins", "Second"]
    assert [p["destination"]["chat_id"] for p in telegram] == ["-1002", "-1002"]
    assert {p["sender"] for p in discord + telegram} == {"Anna Smith"}  # policy open: full name
    assert [p["seq"] for p in discord] == [1, 2]
    # No translator answers here (LibreTranslate unset, the others on a closed port):
    # the text goes out as written, with a note in the reader's language.
    assert (discord[0]["language"], discord[0]["notes"]) == (
        "de",
        ["Nicht übersetzt: kein Übersetzer war verfügbar. Original auf English."],
    )
    assert telegram[0]["notes"] == ["Non traduit : aucun traducteur n'était disponible. Original en English."]
    assert int(await aredis.hget(keys.stats(), "translation.failed")) == 4
    # No task results are stored (they would keep message text in Redis).
    assert not [k async for k in aredis.scan_iter(match="*celery-task-meta*")]


async def _processed(aredis, keys, n: int) -> bool:
    return int(await aredis.hget(keys.stats(), "worker.processed") or 0) >= n
