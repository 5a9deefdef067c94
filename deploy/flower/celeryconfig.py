"""Celery settings for the queue monitor (Flower) in docker-compose.yml.

twinbridge keeps every Celery key under its Redis prefix (kombu's ``global_keyprefix``,
``core/task_queue.py``): Flower must use the same, or it sees no worker. The broker URL
comes from ``CELERY_BROKER_URL``; tests/unit/test_deploy.py checks that the prefix here is
the one the workers use.
"""

import os

broker_transport_options = {
    "global_keyprefix": (os.environ.get("TWINBRIDGE_REDIS_PREFIX") or "tb:") + "celery:",
}
