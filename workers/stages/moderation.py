"""The moderation stage's tasks (queue `moderation`, run by `twinbridge worker --role
moderation`): events and commands as the adapters enqueued them, with their text and
authors. The logic is in plain functions: workers/moderation/events.py (route,
consent, redaction, holds), workers/command_handlers.py, workers/erasure.py."""

from __future__ import annotations

import logging
from functools import cache

import redis as redis_lib
from celery.exceptions import Retry
from celery.signals import worker_ready

from core.storage.connection import redis_client
from core import persons, stats
from core.storage.keys import Keys
from core.models import Command, PlatformEvent
from core.task_queue import (
    ERASE_AGAIN_TASK,
    FIRE_ANNOUNCEMENT_TASK,
    PROCESS_COMMAND_TASK,
    PROCESS_EVENT_TASK,
    REFRESH_RSVP_TASK,
    RESUME_ERASURES_TASK,
    TRANSLATE_TASK,
    handed_over_id,
)

from .. import command_handlers, erasure, failures, ordering, pipeline, rsvp
from ..announcements import firing
from ..app import ROLES, app, preload
from ..links_config import links_config
from ..moderation import profanity, redaction
from ..moderation.events import HandOver, TakeBack, first_reads, moderate_event
from ..privacy import PseudonymBook
from ..publishing import publish_and_record
from ..translation import detection
from .retrying import retry_failed, retry_later, wait_turn

log = logging.getLogger(__name__)


@cache
def _wiring():
    """The moderation worker's dependencies, built once per process. No translator:
    this stage translates nothing (approved held messages go to the translation stage too)."""
    settings = app.conf.twinbridge_settings
    config = links_config(settings)  # the one the main process loaded before the fork
    redis = redis_client(settings.redis_url, decode_responses=True)
    keys = Keys(settings.redis_prefix)
    persons.use_secret(settings.pseudonym_key)
    pseudonyms = PseudonymBook(redis, keys, settings.pseudonym_key) if settings.pseudonym_key else None
    ctx = pipeline.Context(
        config=config, pseudonym_key=settings.pseudonym_key, pseudonyms=pseudonyms, console_url=settings.console_url
    )
    return ctx, redis, keys


@preload
def load_shared_data() -> None:
    """Load the data every message needs (the language model, the word lists and the
    matchers of the links that mask profanity, phone-number metadata) before the pool
    forks (workers/app.py), so the children share those pages copy-on-write instead of
    each loading its own copy. Pure data only: nothing here may open a connection
    (``_wiring`` does, and its sockets must not be shared across a fork)."""
    settings = app.conf.twinbridge_settings
    config = links_config(settings)  # kept: the pool's processes use this one (workers/links_config.py)
    detection.preload()
    redaction.preload()
    profanity.preload([config.languages(link) for link in config.links if link.policy.moderation == "profanity"])
    for chat in config.chats():  # each chat's identifier over its links' languages (the usual script)
        detection.detect_language("Good morning, see you at the market", config.languages_around(chat))


@app.task(name=PROCESS_EVENT_TASK, bind=True, acks_late=True, max_retries=None)
def process_event(
    self, event_data: dict, ingress_id: str | None = None, failed: int = 0, waiting_since: float | None = None
) -> None:
    """``failed``: how many runs of this event failed before (counted apart from the
    retries that wait for Redis, which are not the event's fault). ``waiting_since``:
    when it began to wait for an earlier command of its chat (workers/ordering.py)."""
    if "command" in event_data:
        # A command's ingress entry, enqueued again by the ingress sweeper: the command task handles it.
        # Under the entry's task id, so that the sweeper finds the command queued (bridge/ingress.py).
        process_command.apply_async(
            args=[event_data["command"], ingress_id], task_id=self.request.id, argsrepr="", kwargsrepr=""
        )
        return
    ctx, redis, keys = _wiring()
    try:
        try:
            event = PlatformEvent.from_dict(event_data)
        except Exception as exc:  # whatever a malformed dict raises
            raise failures.BadPayload() from exc
        reads = first_reads(event, ctx, redis, keys)  # one round trip for what follows
        if event.seq:
            wait_turn(self, redis, keys, reads.pending_command, waiting_since)
        try:
            handed = moderate_event(event, ingress_id, ctx, redis, keys, reads)
        except TakeBack as published_while_erased:
            erase_again.apply_async(args=[published_while_erased.author], argsrepr="", kwargsrepr="")
            return
        if handed is not None and not _translated_here(handed, ingress_id):
            # Under an id derived from this task's: the ingress sweeper looks for both, and a
            # run of this task repeated after a crash hands over under the same id (the
            # publishing script lets only one of the copies publish). By name: this worker
            # does not load the translation stage's tasks (workers/app.py routes it).
            app.send_task(
                TRANSLATE_TASK,
                args=[handed.drafts.to_dict(), ingress_id, handed.after],
                task_id=handed_over_id(self.request.id),
                argsrepr="",
                kwargsrepr="",
            )
    except Retry:
        raise  # a retry asked for on purpose (not a failure)
    except Exception as exc:  # one bad event must neither stall its chat nor stop the worker
        if failures.redis_unavailable(exc):
            raise retry_later(self, exc) from exc
        reason = failures.describe(exc)
        if failures.retriable(exc) and failed < failures.EVENT_RETRIES:
            stats.count(redis, keys, "worker.event_retried")
            raise retry_failed(self, exc, failed, "event") from exc
        try:
            failures.park_event(redis, keys, ctx.config, event_data, ingress_id, reason, failed + 1)
            stats.count(redis, keys, "worker.event_dead_lettered")
        except Exception as again:
            if failures.redis_unavailable(again):
                raise retry_later(self, again) from again
            raise


def _translated_here(handed: HandOver, ingress_id: str | None) -> bool:
    """In a worker that runs the translation stage too (`twinbridge worker`, every role),
    this task translates and publishes the drafts itself: the hand-over's own Celery task
    (queued, fetched, noted unacknowledged and acknowledged: four Redis round trips and
    ten commands per message, and its CPU) is saved. Crash-safe as the hand-over: the
    event's ingress entry and in-flight marker stay until the publishing script retires
    them, so a run cut off here runs again and publishes once. Should it fail, the drafts
    are handed over after all, and the translation task retries or dead-letters them
    as in a split deployment. False: hand over (a moderation-only worker)."""
    if "translation" not in ROLES[app.conf.twinbridge_role]:
        return False
    from . import translation  # loaded already: this worker's role includes the stage

    try:
        translation.translate_and_publish(handed.drafts.to_dict(), ingress_id, handed.after)
    except Exception as exc:  # noqa: BLE001 - the translation task does it again, with its retries
        log.warning("translating in the moderation task failed (%s); handed over", failures.describe(exc))
        return False
    return True


@app.task(name=PROCESS_COMMAND_TASK, bind=True, acks_late=True, max_retries=None)
def process_command(
    self, command_data: dict, ingress_id: str | None = None, failed: int = 0, waiting_since: float | None = None
) -> None:
    """Handle a member's command in its chat's order; run again after a crash, it
    does each step at most once (consent is a state, a hold is released once, the
    answers are queued with retiring the command). A command that keeps failing
    is retired unanswered after a few tries, so its chat goes on."""
    ctx, redis, keys = _wiring()
    try:
        command = Command.from_dict(command_data)
        if command.seq and command.ordered:
            wait_turn(
                self,
                redis,
                keys,
                ordering.event_in_flight_before(redis, keys, command.chat.key, command.seq),
                waiting_since,
            )
        notices = command_handlers.handle(command, ctx, redis, keys)
        if not ordering.finish_command(redis, keys, command, notices, ingress_id):
            stats.count(redis, keys, "worker.already_published")
            return
    except Retry:
        raise
    except Exception as exc:  # one bad command must neither stall its chat nor stop the worker
        if failures.redis_unavailable(exc):
            raise retry_later(self, exc) from exc
        reason = failures.describe(exc)
        if failures.retriable(exc) and failed < failures.EVENT_RETRIES:
            raise retry_failed(self, exc, failed, "command") from exc
        log.error("command dropped after %d attempt(s) (%s)", failed + 1, reason)
        stats.count(redis, keys, "worker.command_dropped")
        try:
            ordering.finish_command(redis, keys, Command.from_dict(command_data), [], ingress_id)
        except (TypeError, KeyError, ValueError, AttributeError):
            pass  # not even a command: its ingress entry expires with its TTL
        return
    stats.count(redis, keys, f"commands.{command.name}")
    log.info("command /%s from %s handled (%d answer(s))", command.name, command.platform, len(notices))


@app.task(name=FIRE_ANNOUNCEMENT_TASK, bind=True, acks_late=True, max_retries=None)
def fire_announcement(self, announcement_id: str, what: str = "fire", failed: int = 0) -> None:
    """Fire ``what`` ("fire", "remind:SECONDS") of an organiser's announcement, handed over
    by the scheduler or at once (core/storage/announcements.py): its drafts, one per chat of
    the link, go to the translation stage, which publishes them once (workers/announcements/)."""
    ctx, redis, keys = _wiring()
    try:
        fired = firing.fire(redis, keys, ctx.config, str(announcement_id), str(what))
        if fired is None:
            return
        if fired.drafts.needs_translation:
            # Under an id derived from this task's, as for events: run again, it hands over
            # under the same id, and publishing lets one copy through (the firing marker).
            app.send_task(
                TRANSLATE_TASK,
                args=[fired.drafts.to_dict(), None, fired.after],
                task_id=handed_over_id(self.request.id),
                argsrepr="",
                kwargsrepr="",
            )
        else:
            posts = list(fired.drafts.posts)
            publish_and_record(redis, keys, ctx.config, fired.drafts, posts, None, fired.after)
        log.info("announcement %s: %s handed over (%d posts)", announcement_id, what, len(fired.drafts.posts))
    except Retry:
        raise
    except Exception as exc:  # one bad announcement must not stop the worker
        if failures.redis_unavailable(exc):
            raise retry_later(self, exc) from exc
        if failed < failures.EVENT_RETRIES:
            raise retry_failed(self, exc, failed, "announcement") from exc
        # Its firing marker stays (expiring with the announcement): nothing was published.
        log.error(
            "announcement %s: %s not fired after %d attempts (%s)",
            announcement_id,
            what,
            failed + 1,
            failures.describe(exc),
        )
        stats.count(redis, keys, "announcements.failed")


@app.task(name=ERASE_AGAIN_TASK, bind=True, acks_late=True, max_retries=None)
def erase_again(self, author: str) -> None:
    """Take back what an erased member's event published while their erasure ran (seen
    by the stage that published it, after publishing). Erasure is this stage's: it
    reads the queued events to find the member's, and forgets their pseudonyms."""
    ctx, redis, keys = _wiring()
    try:
        erasure.erase(redis, keys, ctx.config, author)
    except redis_lib.exceptions.ConnectionError as exc:
        raise retry_later(self, exc) from exc


@app.task(name=RESUME_ERASURES_TASK, bind=True, acks_late=True, max_retries=None)
def resume_erasures(self) -> None:
    """Drive to the end the erasures a crash interrupted (sent when a worker starts)."""
    ctx, redis, keys = _wiring()
    try:
        erasure.resume(redis, keys, ctx.config)
    except redis_lib.exceptions.ConnectionError as exc:
        raise retry_later(self, exc) from exc


@app.task(name=REFRESH_RSVP_TASK, bind=True, acks_late=True, max_retries=None)
def refresh_rsvp(self, announcement_id: str) -> None:
    """Show an event notice's new RSVP counts on its copies (workers/rsvp.py): scheduled a
    few seconds after the first answer of a burst. Run twice, it queues the edits once."""
    ctx, redis, keys = _wiring()
    try:
        rsvp.refresh(ctx.config, redis, keys, announcement_id)
    except redis_lib.exceptions.ConnectionError as exc:
        raise retry_later(self, exc) from exc


@worker_ready.connect
def _resume_erasures_on_start(sender=None, **_kwargs) -> None:
    # Only where this module is loaded (a worker that runs the moderation stage). Sent as a
    # task, not run here: this is the parent process, whose connections must not be
    # shared with the pool's children (see load_shared_data).
    if getattr(sender, "app", None) is app:
        sender.app.send_task(RESUME_ERASURES_TASK)
