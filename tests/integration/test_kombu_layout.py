"""Drift test: the parts of kombu's Redis storage that workers/leases.py and the
ingress sweeper (bridge/ingress.py) rely on. If a kombu or Celery upgrade changes
them, this fails (pyproject.toml pins the versions it was written against).

Relied on: a message a worker takes is kept in the hash ``<prefix>unacked`` (tag ->
[message, exchange, routing key]) and the sorted set ``<prefix>unacked_index`` (tag
-> Unix time taken); the restore sweep hands out again what scores older than the
visibility timeout; the channel's ``qos._delivered`` holds the unacknowledged tags;
a task message's first ``"id"`` is its task id, also for messages Celery writes.
"""

from __future__ import annotations

import time

import pytest
from kombu import Connection
from kombu.transport import redis as kombu_redis

from core.storage import scripts
from core.settings import Settings
from core.task_queue import MODERATION_QUEUE, PROCESS_EVENT_TASK, UNACKED_HASH, UNACKED_INDEX, TaskQueue, new_task_id
from workers.leases import held_delivery_tags, renew

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(redis_url, prefix) -> Settings:
    return Settings(redis_url=redis_url, redis_prefix=prefix)


def test_kombu_key_names_are_the_ones_we_use():
    assert kombu_redis.Channel.unacked_key == UNACKED_HASH == "unacked"
    assert kombu_redis.Channel.unacked_index_key == UNACKED_INDEX == "unacked_index"


def test_renewed_leases_keep_a_held_message_and_lapsed_ones_restore_it(settings, sync_redis, celery_app):
    queue = TaskQueue.for_settings(settings)
    task_id = new_task_id()
    sync_redis.lpush(queue.key, queue.message(PROCESS_EVENT_TASK, [{"seq": 1}, "in-flight"], task_id))
    find = scripts.register(sync_redis, "ingress_find_tasks")
    options = celery_app.conf.broker_transport_options
    assert options["visibility_timeout"] == 15  # the default: renewal makes a short one safe

    with Connection(settings.redis_url, transport_options=options) as conn:
        channel = conn.channel()
        taken = time.time()
        message = channel.basic_get(MODERATION_QUEUE, no_ack=False)
        assert message is not None
        tag = message.delivery_tag
        unacked, index = queue.unacked_key, f"{settings.redis_prefix}celery:unacked_index"
        # Where kombu keeps what a worker holds, and how.
        assert sync_redis.type(unacked) == "hash" and sync_redis.hexists(unacked, tag)
        assert sync_redis.type(index) == "zset"
        assert abs(sync_redis.zscore(index, tag) - taken) < 5  # scored with the Unix time it was taken
        assert held_delivery_tags(channel) == [tag]
        assert find(keys=[queue.key, unacked], args=[task_id]) == [task_id]  # found while held

        # Renewed: kombu's restore sweep leaves it alone although it was taken long ago.
        sync_redis.zadd(index, {tag: taken - 3600})
        assert renew(channel, [tag]) == 1
        channel.qos.restore_visible(num=None, interval=1)
        assert sync_redis.llen(queue.key) == 0 and sync_redis.hexists(unacked, tag)

        # Lapsed (its worker stopped renewing): the sweep puts it back on the queue.
        assert renew(channel, [tag], now=time.time() - 3600) == 1
        channel.qos.restore_visible(num=None, interval=1)
        assert sync_redis.llen(queue.key) == 1 and not sync_redis.hexists(unacked, tag)
        assert find(keys=[queue.key, unacked], args=[task_id]) == [task_id]  # found while queued

        # Acknowledged: renewing does not add it back.
        again = channel.basic_get(MODERATION_QUEUE, no_ack=False)
        channel.basic_ack(again.delivery_tag)
        assert renew(channel, [again.delivery_tag]) == 0
        assert sync_redis.zcard(index) == 0
        assert find(keys=[queue.key, unacked], args=[task_id]) == []  # gone: lost, for the sweeper


def test_a_message_celery_writes_is_found_by_its_task_id(settings, sync_redis, celery_app):
    """A retry is a message Celery writes (same task id): the sweeper must see it too."""
    queue = TaskQueue.for_settings(settings)
    result = celery_app.send_task(PROCESS_EVENT_TASK, args=[{"seq": 1}, "in-flight"], queue=MODERATION_QUEUE)
    find = scripts.register(sync_redis, "ingress_find_tasks")
    assert find(keys=[queue.key, queue.unacked_key], args=[result.id, new_task_id()]) == [result.id]
