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
- Every line a task logs carries its task id and the correlation id of the message
  it works on (core/correlation.py, derived from its argument: the event, the
  command or the drafts), set at ``task_prerun`` and cleared at ``task_postrun``,
  in whichever process runs the task (a prefork child, the solo pool, a thread);
  Celery's own lines about the task (succeeded, retry, failed) included.
"""

from __future__ import annotations

import logging

from celery import signals

from core import correlation
from core.logging_setup import PrivacyFormatter, configure_from_settings
from core.settings import load_settings


@signals.setup_logging.connect
def _twinbridge_configures_logging(**_) -> None:
    if not any(isinstance(getattr(h, "formatter", None), PrivacyFormatter) for h in logging.getLogger().handlers):
        configure_from_settings(load_settings())


@signals.before_task_publish.connect
def _no_argument_reprs(headers=None, **_) -> None:
    if isinstance(headers, dict):
        headers["argsrepr"] = ""
        headers["kwargsrepr"] = ""


_TOKENS: dict[str, tuple] = {}  # task id -> the context tokens its prerun set


@signals.task_prerun.connect
def _bind_correlation(task_id=None, args=None, kwargs=None, **_) -> None:
    payload = next(
        (a for a in (*(args or ()), *(kwargs or {}).values()) if isinstance(a, dict)),
        None,
    )
    tokens = (correlation.bind(correlation.of_payload(payload)), correlation.bind_task(task_id or ""))
    if task_id:
        _TOKENS[task_id] = tokens


@signals.task_postrun.connect
def _unbind_correlation(task_id=None, **_) -> None:
    tokens = _TOKENS.pop(task_id or "", None)
    if tokens is None:
        correlation.bind("")
        correlation.bind_task("")
        return
    cid, task = tokens
    correlation.unbind_task(task)
    correlation.unbind(cid)
