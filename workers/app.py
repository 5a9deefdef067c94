"""The Celery app: queues and at-least-once reliability settings.

Tasks carry plain dicts (JSON), never pickles; no results are stored (message
text would linger in Redis); a task is acknowledged only after it ran, and put
back if its worker dies, so a crash loses nothing (the pipeline is idempotent).
"""
from __future__ import annotations

import gc
import logging

from celery import Celery, signals

from bridge.settings import Settings, load_settings
from bridge.task_queue import PIPELINE_QUEUE, PROCESS_COMMAND_TASK, PROCESS_EVENT_TASK, broker_key_prefix  # noqa: F401


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or load_settings()
    app = Celery("twinbridge", broker=settings.redis_url, include=["workers.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=PIPELINE_QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A task a dead worker had taken goes to another worker once it is older
        # than the visibility timeout (routing takes milliseconds, translation is
        # bounded well below it; a task run twice is harmless: delivery is
        # deduplicated). The sweep for such tasks runs every few seconds.
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": max(1, min(10, settings.visibility_timeout // 4)),
            "unacked_restore_throttle": 1,
            "global_keyprefix": broker_key_prefix(settings),
        },
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        timezone="UTC",
    )
    app.conf.twinbridge_settings = settings
    return app


app = make_celery()


@signals.worker_init.connect
def _preload_before_fork(sender=None, **_) -> None:
    """In the worker's main process, before its pool forks: load the data every task
    needs once (workers.tasks.preload), so the pool's processes share it instead of
    each loading a copy (~100 MB each, mostly the language model). Only for this app's
    workers (another app made by make_celery, e.g. a benchmark's, is left alone)."""
    if getattr(sender, "app", None) is not app:
        return
    try:
        from .tasks import preload

        preload()
    except Exception:  # an optimisation only: each process still loads what it lacks
        logging.getLogger(__name__).warning("preloading before fork failed", exc_info=True)
        return
    # Keep the collector from touching (and so copying) the loaded objects' pages in the children.
    gc.freeze()
