"""The task messages the adapters push themselves are the ones Celery's own
``send_task`` pushes: same list, same envelope, same headers, same body.

Both are written to the real Redis and compared as they lie in Celery's queue.
"""

from __future__ import annotations

import base64
import json

import pytest

from core.settings import Settings
from core.task_queue import (
    FIRE_ANNOUNCEMENT_TASK,
    MODERATION_QUEUE,
    PROCESS_EVENT_TASK,
    TRANSLATE_TASK,
    TRANSLATION_QUEUE,
    TaskQueue,
)
from workers.app import make_celery

pytestmark = pytest.mark.integration

# Fields that differ between any two messages (fresh ids, the sending process).
PER_MESSAGE = {"id", "root_id", "correlation_id", "delivery_tag", "origin", "reply_to"}


@pytest.fixture
def settings(redis_url, prefix, tmp_path):
    return Settings(config_path=tmp_path / "links.yaml", redis_url=redis_url, redis_prefix=prefix)


def _without(fields: dict, names=PER_MESSAGE) -> dict:
    return {k: _without(v) if isinstance(v, dict) else v for k, v in fields.items() if k not in names}


# The adapters push the moderation stage's tasks; an approval pushes a translation task
# in the script that releases the hold (workers/holds.py); the scheduler and
# `twinbridge announce` push an announcement's fire task (core/storage/announcements.py).
@pytest.mark.parametrize(
    "queue_name,task",
    [
        (MODERATION_QUEUE, PROCESS_EVENT_TASK),
        (TRANSLATION_QUEUE, TRANSLATE_TASK),
        (MODERATION_QUEUE, FIRE_ANNOUNCEMENT_TASK),
    ],
)
async def test_a_pushed_message_is_what_send_task_writes(settings, aredis, sync_redis, queue_name, task):
    args = [{"text": 'Grüße 👋 "quoted"', "seq": 7}, "in-flight"]
    app = make_celery(settings)
    try:
        app.send_task(task, args=args, queue=queue_name, argsrepr="", kwargsrepr="")
    finally:
        app.close()
    queue = TaskQueue.for_settings(settings, queue_name)
    await queue.push(aredis, task, args)

    ours, celerys = [json.loads(raw) for raw in sync_redis.lrange(queue.key, 0, -1)]  # LPUSH: newest first
    assert sync_redis.llen(f"{settings.redis_prefix}celery:{queue_name}") == 2  # the same list
    assert set(ours) == set(celerys)
    assert set(ours["headers"]) == set(celerys["headers"])
    assert _without(ours["headers"]) == _without(celerys["headers"])
    # send_task also copies argsrepr/kwargsrepr into the properties; nothing reads them there.
    assert _without(ours["properties"]) == _without(celerys["properties"], PER_MESSAGE | {"argsrepr", "kwargsrepr"})
    assert json.loads(base64.b64decode(ours["body"])) == json.loads(base64.b64decode(celerys["body"]))
    assert ours["headers"]["id"] == ours["headers"]["root_id"] == ours["properties"]["correlation_id"]
    assert ours["headers"]["argsrepr"] == ""  # the text is not repeated in the headers
