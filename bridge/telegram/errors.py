"""Mapping the Bot API's failures to :class:`~bridge.adapter.DeliveryError`, shared by the
sender and the announcements: wait ``retry_after`` on flood control, give up on what can
never work (bot removed, chat gone, request refused), retry the rest. Reasons name the
method and Telegram's error class, never the message text."""

from __future__ import annotations

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import LinkPreviewOptions

from ..adapter import DeliveryError
from core.models import OutboundPost

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def target_chat(post: OutboundPost) -> int | str:
    chat_id = post.destination.chat_id
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


def _description(exc: TelegramAPIError) -> str:
    """Telegram's error class ("Bad Request: chat not found"), without the detail
    after it, which can quote what was sent (e.g. "can't parse entities: ...")."""
    return ":".join(exc.message.split(":")[:2]).strip()


def delivery_error(exc: BaseException, action: str) -> DeliveryError:
    """Map a failed Bot API call to a DeliveryError the outbox understands."""
    where = f"telegram {action}"
    if isinstance(exc, TelegramRetryAfter):
        return DeliveryError(
            f"{where}: flood control, retry after {exc.retry_after}s", retry_after=float(exc.retry_after)
        )
    if isinstance(exc, TelegramMigrateToChat):
        return DeliveryError(
            f"{where}: the group became supergroup {exc.migrate_to_chat_id}; put that id in links.yaml", permanent=True
        )
    if isinstance(exc, TelegramUnauthorizedError):
        return DeliveryError(f"{where}: the bot token was rejected (401)", permanent=True)
    if isinstance(exc, (TelegramForbiddenError, TelegramNotFound, TelegramBadRequest)):
        # Bot removed, chat gone, request refused: the same request fails again.
        return DeliveryError(f"{where}: {_description(exc)}", permanent=True)
    if isinstance(exc, TelegramNetworkError):
        kind = exc.message.split(":", 1)[0].strip() or "network error"
        return DeliveryError(f"{where}: network error ({kind})")
    if isinstance(exc, TelegramServerError):
        return DeliveryError(f"{where}: {_description(exc)}")
    if isinstance(exc, TelegramAPIError):
        return DeliveryError(f"{where}: {type(exc).__name__}")
    return DeliveryError(f"{where}: {type(exc).__name__}")


def says(exc: TelegramBadRequest, *fragments: str) -> bool:
    message = exc.message.lower()
    return any(fragment in message for fragment in fragments)
