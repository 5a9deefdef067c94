"""Thin Celery tasks: decode, call plain functions, record.

The logic lives in pipeline.py (route → moderate → translate), holds.py,
rights.py and command_handlers.py.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from functools import lru_cache

import redis as redis_lib
from celery.exceptions import Retry
from celery.signals import worker_ready

from core import audit, persons, stats
from core.backoff import Backoff
from core.storage import members
from core.storage.keys import Keys
from core.storage.writes import replies_of
from core.links import load_links
from core.models import Command, MessageRef, PlatformEvent
from core.task_queue import ERASE_AGAIN_TASK, PROCESS_COMMAND_TASK, PROCESS_EVENT_TASK, TRANSLATE_TASK, handed_over_id

from . import command_handlers, erasure, failures, holds, ordering, pipeline, rights
from .app import app
from .moderation import profanity, redaction
from .notices import consent_explanation
from .privacy import PseudonymBook
from .translation import detection
from .translation.wiring import build_translator

log = logging.getLogger(__name__)

RESUME_ERASURES_TASK = "twinbridge.resume_erasures"


@lru_cache(maxsize=1)
def _wiring():
    """The worker's dependencies, built once per process (the one place they are wired)."""
    settings = app.conf.twinbridge_settings
    config = load_links(settings.config_path, pseudonym_key=settings.pseudonym_key)
    redis = redis_lib.Redis.from_url(settings.redis_url, decode_responses=True)
    keys = Keys(settings.redis_prefix)
    persons.use_secret(settings.pseudonym_key)
    translator = build_translator(settings, config, redis, keys)
    pseudonyms = PseudonymBook(redis, keys, settings.pseudonym_key) if settings.pseudonym_key else None
    ctx = pipeline.Context(config=config, pseudonym_key=settings.pseudonym_key, translator=translator,
                           pseudonyms=pseudonyms)
    return ctx, redis, keys


def preload() -> None:
    """Load the data every message needs (the language model, the word lists and the
    matchers of the links that mask profanity, phone-number metadata) now. The worker
    calls this in its parent process before the pool forks (workers/app.py), so the
    children share those pages copy-on-write instead of each loading its own copy.
    Pure data only: nothing here may open a connection (``_wiring`` does, and its
    sockets must not be shared across a fork; each child builds its own)."""
    settings = app.conf.twinbridge_settings
    config = load_links(settings.config_path, pseudonym_key=settings.pseudonym_key)
    if app.conf.twinbridge_role == "translation":
        return  # translators detect nothing and moderate nothing: no word lists, no model
    detection.preload()
    redaction.preload()
    profanity.preload([config.languages(link) for link in config.links if link.policy.moderation == "profanity"])
    for chat in config.chats():  # each chat's identifier over its links' languages (the usual script)
        detection.detect_language("Good morning, see you at the market", config.languages_around(chat))


def _retry_later(task, exc):
    log.warning("redis unavailable while processing; retrying")
    # Never an ETA beyond the visibility timeout (the task would be handed out twice).
    cap = min(60, app.conf.twinbridge_settings.visibility_timeout // 2)
    countdown = Backoff(first=1, cap=cap).delay(task.request.retries)
    # argsrepr: the retried message must not repeat the event (its text) in its headers.
    return task.retry(countdown=countdown, argsrepr="", kwargsrepr="")


def _wait_turn(task, redis, keys: Keys, earlier: int, waiting_since: float | None) -> None:
    """Retry ``task`` shortly while ``earlier`` (a position of its chat that must be
    handled first, or 0) is pending; for at most the time a lost task needs to come
    back, then go on (workers/ordering.py)."""
    if not earlier:
        return
    since = waiting_since or time.time()
    if time.time() - since > app.conf.twinbridge_settings.visibility_timeout + ORDER_WAIT_MARGIN:
        log.warning("gave up waiting for an earlier event of the same chat; going on")
        stats.count(redis, keys, "worker.order_wait_expired")
        return
    stats.count(redis, keys, "worker.order_waits")
    countdown = ORDER_WAIT_BACKOFF.delay(task.request.retries)
    # argsrepr empty: the arguments (the message text) are not repeated in the headers.
    raise task.retry(countdown=countdown, max_retries=None,
                     kwargs={**(task.request.kwargs or {}), "waiting_since": since}, argsrepr="", kwargsrepr="")


# Past the visibility timeout (when a lost task has come back), how long a task still waits.
ORDER_WAIT_MARGIN = 60
# While an earlier event of the chat is pending: 50 ms, doubling, at most 1 s.
ORDER_WAIT_BACKOFF = Backoff(first=0.05, cap=1.0)


@app.task(name=PROCESS_EVENT_TASK, bind=True, acks_late=True, max_retries=None)
def process_event(self, event_data: dict, ingress_id: str | None = None, failed: int = 0,
                  waiting_since: float | None = None) -> None:
    """``failed``: how many runs of this event failed before (counted apart from the
    retries that wait for Redis, which are not the event's fault). ``waiting_since``:
    when it began to wait for an earlier command of its chat (workers/ordering.py)."""
    if "command" in event_data:
        # A command's ingress entry, enqueued again by the ingress sweeper: the command task handles it.
        # Under the entry's task id, so that the sweeper finds the command queued (bridge/ingress.py).
        process_command.apply_async(args=[event_data["command"], ingress_id], task_id=self.request.id,
                                    argsrepr="", kwargsrepr="")
        return
    ctx, redis, keys = _wiring()
    try:
        try:
            event = PlatformEvent.from_dict(event_data)
        except Exception as exc:  # whatever a malformed dict raises
            raise failures.BadPayload() from exc
        if event.seq:
            _wait_turn(self, redis, keys, ordering.pending_command_before(redis, keys, event.source.chat.key,
                                                                          event.seq), waiting_since)
        _process(event, ingress_id, ctx, redis, keys, self.request.id)
    except Retry:
        raise  # a retry asked for on purpose (not a failure)
    except Exception as exc:  # one bad event must neither stall its chat nor stop the worker
        if failures.redis_unavailable(exc):
            raise _retry_later(self, exc) from exc
        reason = failures.describe(exc)
        if failures.retriable(exc) and failed < failures.EVENT_RETRIES:
            cap = app.conf.twinbridge_settings.visibility_timeout / 4
            countdown = failures.backoff(failed, cap)
            log.warning("event task failed on attempt %d (%s); retrying in %.1fs", failed + 1, reason, countdown)
            stats.count(redis, keys, "worker.event_retried")
            # No exc=: Celery would log its message, which may quote the text.
            raise self.retry(countdown=countdown, kwargs={**(self.request.kwargs or {}), "failed": failed + 1},
                             argsrepr="", kwargsrepr="") from exc
        try:
            failures.park_event(redis, keys, ctx.config, event_data, ingress_id, reason, failed + 1)
            stats.count(redis, keys, "worker.event_dead_lettered")
        except Exception as again:
            if failures.redis_unavailable(again):
                raise _retry_later(self, again) from again
            raise


def _process(event: PlatformEvent, ingress_id: str | None, ctx, redis, keys: Keys, task_id: str) -> None:
    """The moderation stage: everything that needs the unredacted text or the policy's
    secrets, then the moderated drafts handed to the translation stage (or, when
    nothing is to be translated, published here)."""
    author = f"{event.source.platform}:{event.author.id}"
    person = rights.person(redis, keys, author)
    if persons.erased_before(persons.erased_mark(redis, keys, person), event.timestamp):
        # Written before its author's erasure, still on its way: retire it unpublished.
        pipeline.publish(redis, keys, event, [], ingress_id)
        stats.count(redis, keys, "worker.erasure.refused")
        return
    asking = [m.link for m in ctx.config.memberships(event.source.chat) if m.link.policy.consent == "opt_in"]
    without_consent = frozenset(link.id for link in asking if not rights.has_consent(redis, keys, link.id, author))
    outcome = pipeline.Outcome()
    drafts = pipeline.moderated(event, ctx, outcome, without_consent=without_consent)
    drafts = replace(drafts, posts=tuple(replace(post, author=person, written_at=event.timestamp)
                                         for post in drafts.posts))
    # Before publishing: once the ingress entry is gone, a run that died here would not
    # come back, and a held message or an explanation would be lost. Both are idempotent.
    _gated(event, author, outcome, ctx, redis, keys)
    after = _after_data(event.source, event.timestamp, author, person, outcome)
    if drafts.needs_translation:
        # Under an id derived from this task's: the ingress sweeper looks for both, and a
        # run of this task repeated after a crash hands over under the same id (the
        # publishing script lets only one of the copies publish).
        translate.apply_async(args=[drafts.to_dict(), ingress_id, after], task_id=handed_over_id(task_id),
                              argsrepr="", kwargsrepr="")
        return
    _publish(list(drafts.posts), drafts, ingress_id, after, ctx, redis, keys)


def _after_data(source: MessageRef, timestamp: float, author: str, person: str, outcome: pipeline.Outcome) -> dict:
    """What the step after publishing needs, as plain data (ids and counters, no text)."""
    return {"source": asdict(source), "timestamp": timestamp, "author": author, "person": person,
            "counts": dict(outcome.counts), "crossed": sorted(outcome.crossed),
            "decisions": {link_id: dict(counter) for link_id, counter in outcome.decisions.items()}}


def _publish(posts: list, drafts: pipeline.Drafts, ingress_id: str | None, after: dict, ctx, redis,
             keys: Keys) -> bool:
    """Publish (the one atomic script that retires the ingress entry), then record what
    crossed. False when the event was published before."""
    if not pipeline.publish_posts(redis, keys, drafts.chat_key, drafts.seq, posts, ingress_id):
        stats.count(redis, keys, "worker.already_published")
        return False
    outcome = pipeline.Outcome(counts=Counter(after.get("counts") or {}),
                               decisions={k: Counter(v) for k, v in (after.get("decisions") or {}).items()},
                               crossed=set(after.get("crossed") or ()))
    written = Written(MessageRef(**after["source"]), float(after.get("timestamp") or 0.0))
    _after(written, after["author"], outcome, ctx, redis, keys, after["person"])
    log.debug("event -> %d posts", len(posts))
    return True


@app.task(name=TRANSLATE_TASK, bind=True, acks_late=True, max_retries=None)
def translate(self, drafts_data: dict, ingress_id: str | None = None, after: dict | None = None,
              failed: int = 0) -> None:
    """The translation stage: moderated drafts in, translated posts published. It never
    receives an event, only what moderation let cross each link."""
    ctx, redis, keys = _wiring()
    try:
        drafts = pipeline.Drafts.from_dict(drafts_data)
        outcome = pipeline.Outcome()
        posts = pipeline.translated(drafts, ctx, outcome)
        after = dict(after or {})
        counts = Counter(after.get("counts") or {})
        counts.update(outcome.counts)
        after["counts"] = dict(counts)
        _publish(posts, drafts, ingress_id, after, ctx, redis, keys)
    except Retry:
        raise
    except Exception as exc:  # one bad event must neither stall its chat nor stop the worker
        if failures.redis_unavailable(exc):
            raise _retry_later(self, exc) from exc
        reason = failures.describe(exc)
        if failed < failures.EVENT_RETRIES:
            countdown = failures.backoff(failed, app.conf.twinbridge_settings.visibility_timeout / 4)
            log.warning("translation task failed on attempt %d (%s); retrying in %.1fs", failed + 1, reason,
                        countdown)
            stats.count(redis, keys, "worker.event_retried")
            raise self.retry(countdown=countdown, kwargs={**(self.request.kwargs or {}), "failed": failed + 1},
                             argsrepr="", kwargsrepr="") from exc
        # Parked by its ids only (no text): the dead letter still retires the entry and its marker.
        source = (after or {}).get("source") or {}
        seq = (drafts_data or {}).get("seq") if isinstance(drafts_data, dict) else 0
        try:
            failures.park_event(redis, keys, ctx.config, {"source": source, "seq": seq}, ingress_id, reason,
                                failed + 1)
            stats.count(redis, keys, "worker.event_dead_lettered")
        except Exception as again:
            if failures.redis_unavailable(again):
                raise _retry_later(self, again) from again
            raise


@app.task(name=ERASE_AGAIN_TASK, bind=True, acks_late=True, max_retries=None)
def erase_again(self, author: str) -> None:
    """On the moderation worker: take back what an erased member's event published while
    their erasure ran (seen by the stage that published it, after publishing)."""
    ctx, redis, keys = _wiring()
    try:
        erasure.erase(redis, keys, ctx.config, author)
    except redis_lib.exceptions.ConnectionError as exc:
        raise _retry_later(self, exc) from exc


@dataclass(frozen=True)
class Written:
    """Of a published event, what the records after publishing need (no text)."""

    source: MessageRef
    timestamp: float


def _after(event: PlatformEvent | Written, author: str, outcome: pipeline.Outcome, ctx, redis, keys: Keys,
           person: str) -> None:
    """What follows a published event: counters, audit, the index of what crossed.

    All of it goes in one pipeline, one round trip (this runs for every message).
    Not a transaction: none of these writes depends on another, and a run that
    dies halfway is not repeated either way (the event is already published)."""
    def records(writes) -> None:
        stats.count_into(writes, keys, "worker.processed")
        for name, n in outcome.counts.items():
            stats.count_into(writes, keys, name, n)
        stats.keep_into(writes, keys)
        for link_id, decisions in outcome.decisions.items():
            # The author by person key (a salted hash), never by platform id.
            audit.record_decisions_into(writes, keys, link_id, decisions, subject=person,
                                        retention_days=ctx.config.link(link_id).policy.retention_days)
        for link_id in outcome.crossed:
            policy = ctx.config.link(link_id).policy
            rights.note_crossed_into(writes, keys, author, link_id, event.source, policy.retention_days)
            if policy.consent == "opt_in":
                rights.refresh_consent_into(writes, keys, link_id, author, policy.retention_days)
        # Read last, after the index entry is written: an erasure that read the member's index
        # before that entry existed had set their tombstone first, so it shows here.
        persons.erased_mark_into(writes, keys, person)
    mark = replies_of(redis, records)[-1]
    if outcome.crossed and persons.erased_before(mark, event.timestamp):
        # The author was erased while this event was being published: take it back too
        # (erasure is the moderation worker's: it holds the policy secrets it needs).
        erase_again.apply_async(args=[author], argsrepr="", kwargsrepr="")


def _gated(event: PlatformEvent, author: str, outcome: pipeline.Outcome, ctx, redis, keys: Keys) -> None:
    """Consent explanations (once per member and link) and held messages for the moderators."""
    notices = []
    community = ctx.config.community_of(event.source.chat)
    consent_links = sorted(outcome.needs_consent)
    if consent_links:
        # One round trip: the counter and the "explained already?" marker of every link.
        def marks(pipe) -> None:
            for link_id in consent_links:
                stats.count_into(pipe, keys, "moderation.consent_missing")
                members.note_explained_into(pipe, keys, link_id, author, ctx.config.link(link_id).policy.retention_days)
        first_time = replies_of(redis, marks)[1::2]  # the SET NX replies
        for link_id, new in zip(consent_links, first_time, strict=True):
            if new:
                link = ctx.config.link(link_id)
                names = ", ".join(ctx.config.communities[c].name for c in link.communities if c != community.id)
                notices.append(consent_explanation(event.source, event.author.id, names, community.name,
                                                   community.language, link.policy.retention_days))
    for link_id, allowed in outcome.held.items():
        link = ctx.config.link(link_id)
        shown = ctx.shown(event.author, event.source.platform, link)
        label = f"{shown} · {community.name}" if shown else community.name
        holds.hold(redis, keys, event, link, allowed, label)  # queues the moderators' notices itself, once
        stats.count(redis, keys, "moderation.held")
    if notices:
        pipeline.send_notices(redis, keys, notices, author=author)


@app.task(name=PROCESS_COMMAND_TASK, bind=True, acks_late=True, max_retries=None)
def process_command(self, command_data: dict, ingress_id: str | None = None, failed: int = 0,
                    waiting_since: float | None = None) -> None:
    """Handle a member's command in its chat's order; run again after a crash, it
    does each step at most once (consent is a state, a hold is released once, the
    answers are queued with retiring the command). A command that keeps failing
    is retired unanswered after a few tries, so its chat goes on."""
    ctx, redis, keys = _wiring()
    try:
        command = Command.from_dict(command_data)
        if command.seq and not command.private:
            _wait_turn(self, redis, keys, ordering.event_in_flight_before(redis, keys, command.chat.key,
                                                                          command.seq), waiting_since)
        notices = command_handlers.handle(command, ctx, redis, keys)
        if not ordering.finish_command(redis, keys, command, notices, ingress_id):
            stats.count(redis, keys, "worker.already_published")
            return
    except Retry:
        raise
    except Exception as exc:  # one bad command must neither stall its chat nor stop the worker
        if failures.redis_unavailable(exc):
            raise _retry_later(self, exc) from exc
        reason = failures.describe(exc)
        if failures.retriable(exc) and failed < failures.EVENT_RETRIES:
            countdown = failures.backoff(failed, app.conf.twinbridge_settings.visibility_timeout / 4)
            log.warning("command task failed on attempt %d (%s); retrying in %.1fs", failed + 1, reason, countdown)
            raise self.retry(countdown=countdown, kwargs={**(self.request.kwargs or {}), "failed": failed + 1},
                             argsrepr="", kwargsrepr="") from exc
        log.error("command dropped after %d attempt(s) (%s)", failed + 1, reason)
        stats.count(redis, keys, "worker.command_dropped")
        try:
            ordering.finish_command(redis, keys, Command.from_dict(command_data), [], ingress_id)
        except (TypeError, KeyError, ValueError, AttributeError):
            pass  # not even a command: its ingress entry expires with its TTL
        return
    stats.count(redis, keys, f"commands.{command.name}")
    log.info("command /%s from %s handled (%d answer(s))", command.name, command.platform, len(notices))


@app.task(name=RESUME_ERASURES_TASK, bind=True, acks_late=True, max_retries=None)
def resume_erasures(self) -> None:
    """Drive to the end the erasures a crash interrupted (sent when a worker starts)."""
    ctx, redis, keys = _wiring()
    try:
        erasure.resume(redis, keys, ctx.config)
    except redis_lib.exceptions.ConnectionError as exc:
        raise _retry_later(self, exc) from exc


@worker_ready.connect
def _resume_erasures_on_start(sender=None, **_kwargs) -> None:
    # Sent as a task, not run here: this is the parent process, whose connections must
    # not be shared with the pool's children (see preload).
    app.send_task(RESUME_ERASURES_TASK)
