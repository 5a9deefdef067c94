"""`twinbridge worker`'s metrics endpoint (core/metrics.py; docs/operations.md, "Metrics").

Served by the worker's main process alone, once its pool is up (``worker_ready``), from
what Redis holds — not with prometheus-client's multiprocess mode. Why, for Celery's
prefork pool:

- Everything a worker counts is already counted in Redis, by the child process that ran
  the task (core/stats.py: one HINCRBY in the pipeline the task writes anyway). Read at
  scrape time, every child's counts, every worker host's and every restart's are in it
  once; counting again in per-process metrics would be a second, diverging count.
- Multiprocess mode would need a writable directory per container, emptied at each start
  and of each child the pool replaces (after a hard time limit, a crash, a
  ``--max-tasks-per-child``) through a hook that a killed child never runs; custom
  collectors do not work in it either, and queue depths need one.
- The children stay untouched: they open no port and hold no metrics state, and the main
  process's server thread reads only Redis, over its own connection.
"""

from __future__ import annotations

import logging

from celery import signals

from core.links import ConfigError, load_links
from core.metrics import MetricsServer, serve

log = logging.getLogger(__name__)

_endpoint: list[MetricsServer] = []


@signals.worker_ready.connect
def _serve_metrics(sender=None, **_) -> None:
    from .app import app

    settings, role = app.conf.twinbridge_settings, app.conf.twinbridge_role
    if getattr(sender, "app", None) is not app or _endpoint or not settings.metrics_port:
        return
    try:
        link_ids = [link.id for link in load_links(settings.config_path).links]
    except ConfigError:  # checked when the worker started; changed since: no per-link series
        link_ids = []
    endpoint = serve(settings, link_ids, f"the worker ({role})")
    if endpoint is not None:
        _endpoint.append(endpoint)


@signals.worker_shutdown.connect
def _stop_serving(sender=None, **_) -> None:
    while _endpoint:
        _endpoint.pop().close()
