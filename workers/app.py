"""The Celery app: queues and at-least-once reliability settings.

Tasks carry plain dicts (JSON), never pickles; no results are stored (message
text would linger in Redis); a task is acknowledged only after it ran, and put
back if its worker dies, so a crash loses nothing (the pipeline is idempotent).
"""
from __future__ import annotations

import gc
import logging

from celery import Celery, Task, signals
from celery.exceptions import SoftTimeLimitExceeded

from core.settings import Settings, load_settings
from . import celery_logging  # noqa: F401 - no task arguments or payloads in Celery's log lines
from core.task_queue import (  # noqa: F401
    MODERATION_QUEUE, PIPELINE_QUEUE, PROCESS_COMMAND_TASK, PROCESS_EVENT_TASK, TRANSLATE_TASK, TRANSLATION_QUEUE,
    broker_key_prefix,
)

from .leases import HeldTaskRenewal


log = logging.getLogger(__name__)
TIME_LIMIT_RETRIES = 3  # then the task fails; its ingress entry stays for the sweeper

# The worker roles (`twinbridge worker --role R`) and the queues each consumes. Every
# task but translation runs on the moderation queue: routing, consent, redaction,
# holds and their approval, erasure, the records after publishing. The translators
# consume only the translation queue, whose tasks carry moderated drafts (never an
# event), so a translation worker neither sees unredacted text nor can release a hold.
ROLES = {
    "all": (MODERATION_QUEUE, TRANSLATION_QUEUE),
    "moderation": (MODERATION_QUEUE,),
    "translation": (TRANSLATION_QUEUE,),
}


class TimeBoundTask(Task):
    """Every task of the app: past its soft time limit it is sent again (shortly,
    a few times), not failed. The limit interrupts it anywhere, but publishing is
    one atomic script and everything before it is idempotent, so a run cut off
    has published all of an event or nothing, and the next run finishes it."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except SoftTimeLimitExceeded as exc:
            if self.request.called_directly or self.request.retries >= TIME_LIMIT_RETRIES:
                raise
            log.warning("task %s exceeded its soft time limit; running it again", self.name)
            # argsrepr="": the retried message must not carry the event (its text) in its headers.
            raise self.retry(exc=exc, countdown=1, max_retries=None, argsrepr="", kwargsrepr="") from None


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or load_settings()
    app = Celery("twinbridge", broker=settings.redis_url, include=["workers.tasks"], task_cls=TimeBoundTask)
    soft_limit, hard_limit = settings.time_limits()
    app.conf.update(
        # A task past its soft limit is run again (TimeBoundTask); past the hard
        # limit its process is replaced. Translation has its own, shorter deadline.
        task_soft_time_limit=soft_limit,
        task_time_limit=hard_limit,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=MODERATION_QUEUE,
        task_routes={TRANSLATE_TASK: {"queue": TRANSLATION_QUEUE}},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A task a dead worker had taken goes to another worker once its lease is
        # older than the visibility timeout (15 s by default). A live worker renews
        # the leases of everything it holds (workers/leases.py), so a task that runs
        # longer (a slow translation) is not handed out twice. Every worker sweeps
        # for lapsed leases every couple of seconds; the sweep's lock must not
        # outlive a worker killed while holding it by more than a timeout either.
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": max(1, min(10, settings.visibility_timeout // 8)),
            "unacked_restore_throttle": 1,
            "unacked_mutex_expire": max(5, settings.visibility_timeout),
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
    app.conf.twinbridge_role = "all"  # set by `twinbridge worker --role`
    app.steps["consumer"].add(HeldTaskRenewal)
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
