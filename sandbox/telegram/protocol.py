"""The Bot API's envelope: how parameters arrive (query string, form, multipart or JSON,
typed back), and Telegram's error bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
UPLOAD_LIMIT = 50 * 1024 * 1024  # what a bot may upload through the Bot API
FIRST_UPDATE_ID = 100_000_001

FORBIDDEN_NOT_STARTED = "Forbidden: bot can't initiate conversation with a user"
FORBIDDEN_BLOCKED = "Forbidden: bot was blocked by the user"
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"

ERROR_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was kicked from the supergroup chat",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# Form and query values arrive as strings; these say how to read them back.
_INT_FIELDS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "from_chat_id",
        "user_id",
        "cache_time",
        "width",
        "height",
        "duration",
        "length",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "allow_paid_broadcast",
        "show_alert",
        "disable_content_type_detection",
        "has_spoiler",
        "supports_streaming",
        "is_big",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_parameters",
        "link_preview_options",
        "allowed_updates",
        "commands",
        "scope",
        "reply_markup",
        "entities",
        "message_ids",
        "caption_entities",
        "media",
        "reaction",
    }
)


@dataclass(frozen=True)
class UploadedFile:
    """A file sent in a multipart/form-data body (``document=attach://<field>`` names it,
    or the file part itself is called ``document``), with its bytes for tests to read."""

    field: str
    filename: str
    content_type: str
    data: bytes


class ApiError(Exception):
    """An error answer, with the body Telegram would send."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def not_modified() -> ApiError:
    return bad_request(
        "message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message"
    )


async def read_params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and a form, multipart or JSON body, typed back."""
    raw: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON") from None
            if not isinstance(body, dict):
                raise bad_request("JSON body must be an object")
            raw.update(body)
            return raw  # JSON values are typed already
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    raw[key] = value
                else:  # an uploaded file (aiohttp's FileField)
                    raw[key] = UploadedFile(
                        field=key,
                        filename=value.filename or key,
                        content_type=value.content_type or "application/octet-stream",
                        data=value.file.read(),
                    )
    return {key: _typed(key, value) for key, value in raw.items()}


def _typed(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if key in _JSON_FIELDS:
            return json.loads(value)
        if key in _INT_FIELDS:
            return int(value)
        if key == "chat_id":
            return int(value) if value.lstrip("-").isdigit() else value
        if key in _BOOL_FIELDS:
            return value.lower() in ("true", "1")
    except ValueError:
        raise bad_request(f'can\'t parse parameter "{key}"') from None
    return value
