"""The Router: members' messages and edits in linked chats go to ingress.

Updates are handled one at a time (the adapter polls with
``handle_as_tasks=False``), and Telegram only forgets an update when the next
``getUpdates`` confirms it, so an update is confirmed only after ``accept``
stored it in Redis, and each chat's events get their positions in the order
they were written. While Redis or the broker is unreachable the handler keeps
retrying, which holds the polling (Telegram keeps updates for 24 h) rather than
dropping what members wrote.
"""
from __future__ import annotations

import asyncio
import logging

from aiogram import Router
from aiogram.types import ErrorEvent, Message
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import AsyncRetrying, retry_if_exception_type

from ..ingress import Ingress
from core.backoff import Backoff, log_retry
from core.links import LinksConfig
from core.models import EventKind
from core.stats import Stats
from .convert import event_from_message
from .middleware import LinkedChatMiddleware

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
ACCEPT_BACKOFF = Backoff(first=0.5, cap=30.0)  # and on, for as long as the outage lasts


async def accept_until_stored(ingress: Ingress, message: Message, kind: EventKind) -> None:
    """Hand the message to ingress, retrying outages (the poller confirms the update
    to Telegram only after this returns, and stopping waits for it, within limits)."""
    event = event_from_message(message, kind)
    if event is None:  # the middleware already counted why
        return
    # Anything but an outage is a bug: retrying would hold the chat forever. It
    # propagates to the dispatcher's error handler (build_errors_router), which
    # skips the update, counts it (telegram.skipped.error) and logs it by type only.
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT_ERRORS), wait=ACCEPT_BACKOFF, reraise=True,
        before_sleep=log_retry(log, "ingress unavailable (%s); retrying a telegram update in %.1fs"))
    await retrying(ingress.accept, event)


def build_router(config: LinksConfig, stats: Stats) -> Router:
    """The handlers take ``ingress`` from the dispatcher's workflow data."""
    router = Router(name="twinbridge-telegram")
    middleware = LinkedChatMiddleware(config, stats)
    router.message.outer_middleware(middleware)
    router.edited_message.outer_middleware(middleware)

    @router.message()
    async def on_message(message: Message, ingress: Ingress) -> None:
        await accept_until_stored(ingress, message, EventKind.NEW)

    @router.edited_message()
    async def on_edited_message(message: Message, ingress: Ingress) -> None:
        await accept_until_stored(ingress, message, EventKind.EDIT)

    return router


def build_errors_router(stats: Stats) -> Router:
    """What a handler raised past its own retries is a bug, not an outage: the update
    is skipped (confirmed with its batch), counted and logged by id and exception type
    only (an exception's text could quote the message); the other updates go on."""
    router = Router(name="twinbridge-telegram-errors")

    @router.errors()
    async def on_error(event: ErrorEvent) -> bool:
        log.error("a telegram update (%s) could not be handled (%s)", event.update.update_id,
                  type(event.exception).__name__)
        stats.incr_soon("telegram.skipped.error")
        return True  # handled: the poller carries on with the chat's next update

    return router
