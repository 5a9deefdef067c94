"""Thin Celery tasks: decode, call the pipeline, record. Logic lives in pipeline.py."""
from __future__ import annotations

import logging
from collections import Counter
from functools import lru_cache

import redis as redis_lib

from bridge.keys import Keys
from bridge.links import load_links
from bridge.models import PlatformEvent

from . import pipeline
from .app import PROCESS_EVENT_TASK, app
from .translation.wiring import build_translator

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _wiring():
    """The worker's dependencies, built once per process (the one place they are wired)."""
    settings = app.conf.twinbridge_settings
    config = load_links(settings.config_path, pseudonym_key=settings.pseudonym_key)
    redis = redis_lib.Redis.from_url(settings.redis_url, decode_responses=True)
    keys = Keys(settings.redis_prefix)
    translator = build_translator(settings, config, redis, keys)
    return pipeline.Context(config=config, pseudonym_key=settings.pseudonym_key, translator=translator), redis, keys


@app.task(name=PROCESS_EVENT_TASK, bind=True, acks_late=True, max_retries=None)
def process_event(self, event_data: dict, ingress_id: str | None = None) -> None:
    event = PlatformEvent.from_dict(event_data)
    ctx, redis, keys = _wiring()
    try:
        counts: Counter = Counter()
        posts = pipeline.plan(event, ctx, counts)
        if not pipeline.publish(redis, keys, event, posts, ingress_id):
            redis.hincrby(keys.stats(), "worker.already_published", 1)
            return
    except redis_lib.exceptions.ConnectionError as exc:
        log.warning("redis unavailable while processing an event; retrying")
        # Never an ETA beyond the visibility timeout (the task would be handed out twice).
        cap = min(60, app.conf.twinbridge_settings.visibility_timeout // 2)
        raise self.retry(exc=exc, countdown=min(cap, 2 ** min(self.request.retries, 6)))
    redis.hincrby(keys.stats(), "worker.processed", 1)
    for name, n in counts.items():
        redis.hincrby(keys.stats(), name, n)
    redis.expire(keys.stats(), Keys.STATS_TTL)
    log.debug("event %s -> %d posts", event.dedup_key, len(posts))
