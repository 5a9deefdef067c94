"""The Celery app and the one place that wires the stages: their queues, which
task goes where, which role runs which (docs/architecture.md, "Stages as queues").

Tasks carry plain dicts (JSON), never pickles; no results are stored (message
text would linger in Redis); a task is acknowledged only after it ran, and put
back if its worker dies, so a crash loses nothing (every stage is idempotent).

This module imports no task module: each stage's tasks live in their own module
(workers/stages/), which imports this app, and a worker imports only its role's
(``include``), so a translation worker never loads the moderation logic. A stage
hands work on by task name (``send_task``), routed here.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable

from celery import Celery, Task, signals
from celery.exceptions import SoftTimeLimitExceeded
from celery.worker.control import inspect_command

from core.storage.connection import celery_broker
from core.settings import Settings, load_settings
from core.task_queue import (
    DELIVERY_QUEUE,
    ERASE_AGAIN_TASK,
    FIRE_ANNOUNCEMENT_TASK,
    LEGACY_PIPELINE_QUEUE,
    MODERATION_QUEUE,
    PROCESS_COMMAND_TASK,
    PROCESS_EVENT_TASK,
    REFRESH_RSVP_TASK,
    RESUME_ERASURES_TASK,
    TRANSLATE_TASK,
    TRANSLATION_QUEUE,
    broker_key_prefix,
)

from . import celery_logging  # noqa: F401 - no task arguments or payloads in Celery's log lines
from . import metrics  # noqa: F401 - the worker's metrics endpoint (TWINBRIDGE_METRICS_PORT), served from Redis
from .heartbeat import WorkerHeartbeat
from .leases import HeldTaskRenewal

log = logging.getLogger(__name__)
TIME_LIMIT_RETRIES = 3  # then the task fails; its ingress entry stays for the sweeper

# Each stage: its queues and its task module. Moderation also consumes the legacy
# `pipeline` list (core/task_queue.py: what an older version queued there still runs).
STAGES = {
    "moderation": ((MODERATION_QUEUE, LEGACY_PIPELINE_QUEUE), "workers.stages.moderation"),
    "translation": ((TRANSLATION_QUEUE,), "workers.stages.translation"),
    "delivery": ((DELIVERY_QUEUE,), "workers.stages.delivery"),
}
# The worker roles (`twinbridge worker --role R`): the stages each runs. Every task but
# translation runs on the moderation queue: routing, consent, redaction, holds and their
# approval, erasure. The translators consume only the translation queue, whose tasks
# carry moderated drafts (never an event), so a translation worker neither sees
# unredacted text nor can release a hold.
ROLES = {
    "all": ("moderation", "translation", "delivery"),
    "moderation": ("moderation",),
    "translation": ("translation",),
    "delivery": ("delivery",),
}
ROUTES = {
    PROCESS_EVENT_TASK: MODERATION_QUEUE,
    PROCESS_COMMAND_TASK: MODERATION_QUEUE,
    RESUME_ERASURES_TASK: MODERATION_QUEUE,
    ERASE_AGAIN_TASK: MODERATION_QUEUE,
    FIRE_ANNOUNCEMENT_TASK: MODERATION_QUEUE,
    REFRESH_RSVP_TASK: MODERATION_QUEUE,
    TRANSLATE_TASK: TRANSLATION_QUEUE,
}


def queues_of(role: str) -> tuple[str, ...]:
    return tuple(queue for stage in ROLES[role] for queue in STAGES[stage][0])


def modules_of(role: str) -> tuple[str, ...]:
    return tuple(STAGES[stage][1] for stage in ROLES[role])


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


def make_celery(settings: Settings | None = None, role: str = "all") -> Celery:
    settings = settings or load_settings()
    # REDIS_URL in any of its forms (redis, rediss with its certificate options, Sentinel):
    # read by the one parser every other Redis client uses (core/storage/connection.py).
    broker_url, transport_options, use_ssl = celery_broker(settings.redis_url)
    app = Celery("twinbridge", broker=broker_url, task_cls=TimeBoundTask)
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
        task_routes={task: {"queue": queue} for task, queue in ROUTES.items()},
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
            **transport_options,
        },
        broker_use_ssl=use_ssl,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        timezone="UTC",
    )
    app.conf.twinbridge_settings = settings
    use_role(app, role)
    app.steps["consumer"].add(HeldTaskRenewal)
    app.steps["worker"].add(WorkerHeartbeat)
    return app


def use_role(app: Celery, role: str) -> tuple[str, ...]:
    """Make ``app``'s worker run ``role`` (`twinbridge worker --role`): it imports only
    that role's task modules; returns the queues it is to consume."""
    app.conf.twinbridge_role = role
    app.conf.include = list(modules_of(role))
    return queues_of(role)


app = make_celery()

# What a stage loads before the pool forks (its tasks module registers it: see preload).
_PRELOADS: list[Callable[[], None]] = []


def preload(load: Callable[[], None]) -> Callable[[], None]:
    """Register ``load`` (pure data: nothing that opens a connection) to run in the
    worker's main process before its pool forks. A task module registers it when it is
    imported, which a worker does for its role's modules before it forks."""
    _PRELOADS.append(load)
    return load


@signals.worker_init.connect
def _preload_before_fork(sender=None, **_) -> None:
    """In the worker's main process, before its pool forks: load the data the role's
    tasks need once, so the pool's processes share it instead of each loading a copy
    (~100 MB each, mostly the language model). Only for this app's workers (another
    app made by make_celery, e.g. a benchmark's, is left alone)."""
    if getattr(sender, "app", None) is not app:
        return
    try:
        for load in _PRELOADS:
            load()
    except Exception:  # an optimisation only: each process still loads what it lacks
        logging.getLogger(__name__).warning("preloading before fork failed", exc_info=True)
        return
    # Keep the collector from touching (and so copying) the loaded objects' pages in the children.
    gc.freeze()


@inspect_command()
def twinbridge_modules(state) -> list[str]:
    """`celery inspect twinbridge_modules`: the bridge's modules this worker's main process
    has loaded, which show what its role holds (a translation worker: none of the
    moderation logic; with ``--pool solo`` its tasks run in that process too)."""
    return sorted(name for name in sys.modules if name.partition(".")[0] in ("workers", "core", "bridge"))
