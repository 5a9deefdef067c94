"""The floor: what one Celery hop costs on this Redis, with nothing else to do.

A Celery app built by the bridge's own :func:`workers.app.make_celery` (same
broker, serializer, acks-late, prefetch and transport options; its own key
prefix) with one no-op task that pushes the timestamp it was given onto a
Redis list. Its worker is a separate ``celery worker`` process (prefork, the
same concurrency as the bridge's). The client sends the task the way the
adapters do (the task message pushed from the event loop, core/task_queue.py)
and a blocking pop observes its effect: send → observed is the floor under the
bridge's end-to-end latency.

The worker process loads the app from :mod:`benchmarks.floor_worker`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from functools import lru_cache

import redis as redis_lib

from core.settings import Settings, load_settings
from core.task_queue import MODERATION_QUEUE, TaskQueue
from workers.app import make_celery

FLOOR_TASK = "twinbridge.bench.floor_noop"


def make_floor_app(settings: Settings | None = None):
    app = make_celery(settings or load_settings(dotenv_path=None))
    app.conf.include = []  # only the no-op below, not the stages' tasks
    app.task(name=FLOOR_TASK, bind=True, acks_late=True)(_noop)
    return app


@lru_cache(maxsize=1)
def _redis(url: str) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(url)


def _noop(task, sent_at: float, key: str) -> None:
    _redis(task.app.conf.broker_url).rpush(key, repr(sent_at))


class Floor:
    """Runs the floor worker in a world and measures no-op round trips."""

    def __init__(self, world, concurrency: int):
        self.world = world
        self.concurrency = concurrency
        self.prefix = world.prefix + "floor:"  # removed with the world's keys
        self.key = self.prefix + "observed"
        self.queue = TaskQueue.for_settings(Settings(redis_url=world.redis_url, redis_prefix=self.prefix))

    async def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "benchmarks.floor_worker",
            "worker",
            "-Q",
            MODERATION_QUEUE,
            "--concurrency",
            str(self.concurrency),
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ]
        self.world.procs.start("floor-worker", argv, env={"TWINBRIDGE_REDIS_PREFIX": self.prefix})
        await self.world.wait_worker_ready("floor-worker", self.concurrency)

    def pid(self) -> int:
        return self.world.procs.pid("floor-worker")

    async def measure(self, rate: float, count: int, timeout: float = 30.0) -> dict:
        """Send ``count`` no-op tasks at ``rate``; send → observed latencies (s)."""
        from .load import pace

        redis = self.world.redis
        await redis.delete(self.key)
        latencies: list[float] = []
        sends: set[asyncio.Task] = set()

        async def observe() -> None:
            while len(latencies) < count:
                got = await redis.blpop([self.key], timeout=1)
                if got:
                    latencies.append(time.perf_counter() - float(got[1]))

        observer = asyncio.create_task(observe())

        def fire() -> None:
            # As the adapters enqueue (bridge/ingress.py): the task message pushed by the
            # event loop's own Redis client, no thread.
            task = asyncio.create_task(self.queue.push(redis, FLOOR_TASK, [time.perf_counter(), self.key]))
            sends.add(task)
            task.add_done_callback(sends.discard)

        offered = await pace(rate, count, fire)
        try:
            await asyncio.wait_for(observer, timeout)
        except TimeoutError:
            pass
        return {**offered, "latencies": latencies, "lost": count - len(latencies)}
