"""The Router: members' messages and edits in linked chats go to ingress.

Updates are handled one at a time (the adapter polls with
``handle_as_tasks=False``), and Telegram only forgets an update when the next
``getUpdates`` confirms it, so an update is confirmed only after ``accept``
stored it in Redis, and each chat's events get their positions in the order
they were written. While Redis or the broker is unreachable the handler is run
again and again (:class:`~bridge.telegram.middleware.RetryOutages`), which holds
the chat's polling (Telegram keeps updates for 24 h) rather than dropping what
members wrote.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent, Message

from ..ingress import Ingress
from core.links import LinksConfig
from core.models import EventKind
from core.stats import Stats
from .albums import AlbumCollector
from .convert import event_from_message
from .middleware import LinkedChatMiddleware, RetryOutages

log = logging.getLogger(__name__)

BAD_ENTITY = "telegram.skipped.bad_entity"  # an entity left out: see bridge/telegram/formatting.read_entities


async def accept(
    ingress: Ingress,
    message: Message,
    kind: EventKind,
    albums: AlbumCollector | None = None,
    stats: Stats | None = None,
) -> None:
    """Hand the message to ingress (the poller confirms the update to Telegram only
    after this returns), through the album collector where the adapter runs one (an
    album's parts are kept in Redis until it is whole). An outage is retried by the
    RetryOutages middleware; anything else is a bug and reaches the dispatcher's error
    handler (build_errors_router). Entities with impossible offsets are left out and
    counted (``telegram.skipped.bad_entity``) once the message is stored (a retried
    handler counts them once); the text crosses as typed."""
    bad: list[int] = []
    event = event_from_message(message, kind, bad.append)
    if event is None:  # the LinkedChatMiddleware already counted why
        return
    if albums is not None:
        await albums.accept(message, event)
    else:
        await ingress.accept(event)
    if bad and stats is not None:
        stats.incr_soon(BAD_ENTITY, sum(bad))


def build_router(config: LinksConfig, stats: Stats) -> Router:
    """The handlers take ``ingress`` (and ``albums``, when given) from the dispatcher's workflow data."""
    router = Router(name="twinbridge-telegram")
    linked_only = LinkedChatMiddleware(config, stats)
    retry = RetryOutages()
    # A channel's posts come as channel_post / edited_channel_post (the bot must be one of
    # its admins): a channel linked as a one-way link's speaking side relays its posts.
    observers = (router.message, router.edited_message, router.channel_post, router.edited_channel_post)
    for observer in observers:
        observer.outer_middleware(linked_only)  # before the filters: drops what no link names
        observer.middleware(retry)  # around the handler: holds the update until stored

    @router.message()
    async def on_message(message: Message, ingress: Ingress, albums: AlbumCollector | None = None) -> None:
        await accept(ingress, message, EventKind.NEW, albums, stats)

    @router.edited_message()
    async def on_edited_message(message: Message, ingress: Ingress, albums: AlbumCollector | None = None) -> None:
        await accept(ingress, message, EventKind.EDIT, albums, stats)

    @router.channel_post()
    async def on_channel_post(message: Message, ingress: Ingress) -> None:
        await accept(ingress, message, EventKind.NEW, stats=stats)

    @router.edited_channel_post()
    async def on_edited_channel_post(message: Message, ingress: Ingress) -> None:
        await accept(ingress, message, EventKind.EDIT, stats=stats)

    return router


def build_errors_router(stats: Stats) -> Router:
    """What a handler raised past its own retries is a bug, not an outage: the update
    is skipped (confirmed with its batch), counted and logged by id and exception type
    only (an exception's text could quote the message); the other updates go on."""
    router = Router(name="twinbridge-telegram-errors")

    @router.errors()
    async def on_error(event: ErrorEvent) -> bool:
        log.error(
            "a telegram update (%s) could not be handled (%s)", event.update.update_id, type(event.exception).__name__
        )
        stats.incr_soon("telegram.skipped.error")
        return True  # handled: the poller carries on with the chat's next update

    return router
