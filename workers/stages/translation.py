"""The translation stage's task (queue `translation`, run by `twinbridge worker --role
translation`): moderated drafts in, translated posts published. It never receives an
event, only what moderation let cross each link, and this module loads none of the
moderation logic (no redaction, consent, holds or pseudonyms: tests/security/
test_moderation_boundary.py looks at a running translation worker's modules)."""

from __future__ import annotations

import logging
from collections import Counter
from functools import cache

from celery.exceptions import Retry

from core.storage.connection import redis_client
from core import stats
from core.storage.keys import Keys
from core.task_queue import ERASE_AGAIN_TASK, TRANSLATE_TASK

from .. import failures
from ..app import app, preload
from ..links_config import links_config
from ..drafts import Drafts, Outcome
from ..publishing import publish_and_record
from ..translation.stage import translated
from ..translation.wiring import build_translator
from .retrying import retry_failed, retry_later

log = logging.getLogger(__name__)


@preload
def load_shared_config() -> None:
    """The links config, before the pool forks (workers/app.py): the pool's processes
    share it instead of each loading a copy (workers/links_config.py)."""
    links_config(app.conf.twinbridge_settings)


@cache
def _wiring():
    """The translation worker's dependencies, built once per process: no policy secret."""
    settings = app.conf.twinbridge_settings
    config = links_config(settings)  # the one the main process loaded before the fork
    redis = redis_client(settings.redis_url, decode_responses=True)
    keys = Keys(settings.redis_prefix)
    return config, build_translator(settings, config, redis, keys), redis, keys


def translate_and_publish(drafts_data: dict, ingress_id: str | None, after: dict | None) -> None:
    """The stage's work, plain (the task below, and a worker that runs every stage right
    after moderating: workers/stages/moderation.py): translate moderated drafts, publish
    them (the atomic script that retires the event's ingress entry, or an approved
    message's release mark), then the records. Raises what failed."""
    config, translator, redis, keys = _wiring()
    drafts = Drafts.from_dict(drafts_data)
    outcome = Outcome()
    posts = translated(drafts, config, translator, outcome)
    after = dict(after or {})
    counts = Counter(after.get("counts") or {})
    counts.update(outcome.counts)
    after["counts"] = dict(counts)
    _published, erased_meanwhile = publish_and_record(redis, keys, config, drafts, posts, ingress_id, after)
    if erased_meanwhile:
        # The author was erased while this event was being published: the moderation
        # worker takes it back (erasure needs what only it holds).
        app.send_task(ERASE_AGAIN_TASK, args=[after["author"]], argsrepr="", kwargsrepr="")
    log.debug("event -> %d posts", len(posts))


@app.task(name=TRANSLATE_TASK, bind=True, acks_late=True, max_retries=None)
def translate(
    self, drafts_data: dict, ingress_id: str | None = None, after: dict | None = None, failed: int = 0
) -> None:
    """Translate moderated drafts and publish them (the atomic script that retires the
    event's ingress entry, or an approved message's release mark), then the records."""
    config, _translator, redis, keys = _wiring()
    try:
        translate_and_publish(drafts_data, ingress_id, after)
    except Retry:
        raise
    except Exception as exc:  # one bad event must neither stall its chat nor stop the worker
        if failures.redis_unavailable(exc):
            raise retry_later(self, exc) from exc
        reason = failures.describe(exc)
        if failed < failures.EVENT_RETRIES:
            stats.count(redis, keys, "worker.event_retried")
            raise retry_failed(self, exc, failed, "translation") from exc
        data = drafts_data if isinstance(drafts_data, dict) else {}
        if data.get("marker"):
            # An announcement's firing: no event to park (a retried dead letter would be one
            # without text or author); its firing marker stays, and nothing was published.
            log.error("announcement drafts not published after %d attempts (%s)", failed + 1, reason)
            stats.count(redis, keys, "announcements.failed")
            return
        # Parked by its ids only (no text): the dead letter still retires the entry and its marker.
        # An approved held message has no entry (its position was retired when it was held).
        source = (after or {}).get("source") or {}
        try:
            failures.park_event(
                redis,
                keys,
                config,
                {"source": source, "seq": data.get("seq") or 0},
                "" if data.get("hold_id") else ingress_id,
                reason,
                failed + 1,
            )
            stats.count(redis, keys, "worker.event_dead_lettered")
        except Exception as again:
            if failures.redis_unavailable(again):
                raise retry_later(self, again) from again
            raise
