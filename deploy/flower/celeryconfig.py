"""Celery settings for the queue monitor (Flower) in docker-compose.yml.

twinbridge keeps every Celery key under its Redis prefix (kombu's ``global_keyprefix``,
``core/task_queue.py``): Flower must use the same, or it sees no worker. The broker URL
comes from ``CELERY_BROKER_URL``; tests/unit/test_deploy.py checks that the prefix here is
the one the workers use.

It also keeps Flower closed: without ``FLOWER_BASIC_AUTH`` (user:password) Flower would show
the workers' running tasks, with what members wrote, to anyone who reaches its port, so it
stops here with a message saying what to set.
"""

import os

if ":" not in os.environ.get("FLOWER_BASIC_AUTH", "").strip(":"):
    raise SystemExit("twinbridge: set FLOWER_BASIC_AUTH in .env as user:password, then start the monitor again")

broker_transport_options = {
    "global_keyprefix": (os.environ.get("TWINBRIDGE_REDIS_PREFIX") or "tb:") + "celery:",
}
