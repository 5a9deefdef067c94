"""The relay router's middlewares.

:class:`LinkedChatMiddleware` (outer): only linked chats reach the handlers. The
config is an allow-list, so a message from a chat no link names is dropped here,
before any handler or filter sees it; so is anything ``skip_reason`` rejects.
Both are counted (never with content or ids).

:class:`RetryOutages` (inner): a handler that meets an outage of Redis or the
broker is run again, with growing pauses, until the update is stored.

:class:`Correlated` (outer, on the dispatcher's updates): every log line while an
update about a group's message is handled carries the message's correlation id
(core/correlation.py), the same the workers and the delivery use.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, Update
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import AsyncRetrying, retry_if_exception_type

from core.backoff import Backoff, log_retry
from core.correlation import correlated, of_source

from core.links import LinksConfig
from core.models import ChatRef, MessageRef
from core.stats import Stats
from .convert import PLATFORM, skip_reason

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
ACCEPT_BACKOFF = Backoff(first=0.5, cap=30.0)  # and on, for as long as the outage lasts


class Correlated(BaseMiddleware):
    """Binds the correlation id of the message an update is about, while it is handled.
    Only a group's or a channel's message: in a private chat the chat id is the member's
    (a command's id comes from its dedup key, bound by the ingress)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        message = _message_of(event)
        if message is None or message.chat.type == "private":
            return await handler(event, data)
        with correlated(of_source(MessageRef(PLATFORM, str(message.chat.id), str(message.message_id)))):
            return await handler(event, data)


def _message_of(event: TelegramObject) -> Message | None:
    if not isinstance(event, Update):
        return None
    return event.message or event.edited_message or event.channel_post or event.edited_channel_post


class LinkedChatMiddleware(BaseMiddleware):
    """Resolves ``memberships`` (handed to handlers as data) or drops the event."""

    def __init__(self, config: LinksConfig, stats: Stats):
        self._config = config
        self._stats = stats

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message):
            return await handler(event, data)
        memberships = self._config.memberships(ChatRef(PLATFORM, str(event.chat.id)))
        if not memberships:
            await self._count("unknown_chat")
            return None
        reason = skip_reason(event) or self._copy_of_linked_channel(event)
        if reason is not None:
            await self._count(reason)
            return None
        data["memberships"] = memberships
        return await handler(event, data)

    def _copy_of_linked_channel(self, message: Message) -> str | None:
        """A linked channel's post, automatically forwarded into its discussion group:
        when the channel is linked too, its own channel_post crosses and this copy is
        skipped, so the post arrives once. When only the group is linked, this copy is
        the post's only way across (the channel is shown as its author)."""
        if not message.is_automatic_forward or message.sender_chat is None:
            return None
        channel = ChatRef(PLATFORM, str(message.sender_chat.id))
        return "automatic_forward" if self._config.memberships(channel) else None

    async def _count(self, reason: str) -> None:
        try:
            await self._stats.incr(f"{PLATFORM}.skipped.{reason}")
        except Exception as exc:  # noqa: BLE001 - a lost counter must not stop the polling
            log.warning("could not count a skipped telegram message (%s)", type(exc).__name__)


class RetryOutages(BaseMiddleware):
    """Runs the handler again while Redis or the broker is unreachable: the poller
    confirms an update to Telegram only after its handler returned, and stopping
    waits for it (within limits), so nothing members wrote is dropped. Anything
    else is a bug, not an outage (retrying would hold the chat forever): it goes
    on to the dispatcher's error handler."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT_ERRORS),
            wait=ACCEPT_BACKOFF,
            reraise=True,
            before_sleep=log_retry(log, "ingress unavailable (%s); retrying a telegram update in %.1fs"),
        )

        async def handle() -> Any:  # a coroutine function for tenacity (aiogram's handler is a partial)
            return await handler(event, data)

        return await retrying(handle)
