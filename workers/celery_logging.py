"""Celery's part in "no text in the logs" (core/logging_setup.py has the rest).

- Celery leaves the logging to twinbridge: a ``setup_logging`` receiver stops it
  from installing its own handlers (whose formats, e.g. the task loggers', would
  bypass the privacy formatter). `twinbridge worker` configures logging before
  the worker starts; a worker started otherwise is configured here.
- No task message ever carries a repr of its arguments: Celery puts one in the
  ``argsrepr``/``kwargsrepr`` headers of every task it publishes itself (a
  retry, for one), and shows them in its received/retry lines, events and
  ``celery inspect``. The bridge's own messages already send them empty
  (core/task_queue.py).
"""

from __future__ import annotations

import logging

from celery import signals

from core.logging_setup import configure_from_settings
from core.settings import load_settings


@signals.setup_logging.connect
def _twinbridge_configures_logging(**_) -> None:
    if not any(
        getattr(h, "formatter", None).__class__.__name__ == "PrivacyFormatter" for h in logging.getLogger().handlers
    ):
        configure_from_settings(load_settings())


@signals.before_task_publish.connect
def _no_argument_reprs(headers=None, **_) -> None:
    if isinstance(headers, dict):
        headers["argsrepr"] = ""
        headers["kwargsrepr"] = ""
