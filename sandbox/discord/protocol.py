"""Discord's numbers and the shape of its answers: API version, intents, permissions,
limits, interaction and component types, JSON responses and error bodies.

Route handlers raise :class:`DiscordError` (or :class:`FormError`, Discord's 50035
Invalid Form Body with the path of the failing field); the stand-in's middleware
turns it into Discord's error response.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13
INTENT_GUILD_SCHEDULED_EVENTS = 1 << 16
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

CHANNEL_GUILD_TEXT = 0
CHANNEL_DM = 1
CHANNEL_PUBLIC_THREAD = 11
CHANNEL_GUILD_FORUM = 15

# Interactions: types, callback types and message flags.
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_MODAL = 9
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
INTERACTION_ACK_DEADLINE = 3.0  # seconds to send the initial response
INTERACTION_TOKEN_TTL = 15 * 60.0  # seconds the token works for follow-ups
# Files: each within its server's upload limit by boost level (premium tier), as
# discord.py's Guild.filesize_limit; past it, 413 with code 40005. Up to 10 per message.
MIB = 1024 * 1024
ATTACHMENT_SIZE_LIMIT = 10 * MIB
UPLOAD_LIMIT_BY_TIER = {0: 10 * MIB, 1: 10 * MIB, 2: 50 * MIB, 3: 100 * MIB}
MAX_UPLOAD_LIMIT = 100 * MIB
MAX_ATTACHMENTS = 10
MAX_WAVEFORM = 256  # a voice message's waveform: at most 256 amplitude samples
REQUEST_ENTITY_TOO_LARGE = 40005
FLAG_IS_VOICE_MESSAGE = 1 << 13
ATTACHMENT_FLAG_IS_SPOILER = 1 << 3
# Message flags a message create (bot route) may set, and an Execute Webhook may set
# (Discord's docs: no IS_VOICE_MESSAGE through a webhook).
BOT_SETTABLE_FLAGS = (1 << 2) | (1 << 12) | FLAG_IS_VOICE_MESSAGE | (1 << 15)
WEBHOOK_SETTABLE_FLAGS = (1 << 2) | (1 << 12) | (1 << 15)

# Components (without the components v2 flag).
COMPONENT_ACTION_ROW = 1
COMPONENT_BUTTON = 2
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
BUTTON_STYLE_LINK = 5
BUTTON_STYLE_PREMIUM = 6
MAX_ACTION_ROWS = 5
MAX_ROW_WIDTH = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80

# Application commands.
MAX_COMMANDS = 100
MAX_COMMAND_OPTIONS = 25

MAX_CONTENT = 2000
MAX_WEBHOOKS_PER_CHANNEL = 15

# Permissions the bot's role has in the stand-in guilds (administrator-free,
# but enough for the bridge: view, send, manage messages, read history,
# manage webhooks). Manage Webhooks is removed when manage_webhooks=False.
PERM_ADMINISTRATOR = 1 << 3
PERM_MANAGE_CHANNELS = 1 << 4
PERM_MANAGE_GUILD = 1 << 5
ALL_PERMISSIONS = (1 << 51) - 1  # what Discord sends for an administrator (every bit it defines)
PERM_VIEW_CHANNEL = 1 << 10
PERM_SEND_MESSAGES = 1 << 11
PERM_MANAGE_MESSAGES = 1 << 13
PERM_EMBED_LINKS = 1 << 14
PERM_READ_HISTORY = 1 << 16
PERM_ATTACH_FILES = 1 << 15
PERM_MENTION_EVERYONE = 1 << 17
PERM_USE_EXTERNAL_EMOJIS = 1 << 18
PERM_MANAGE_WEBHOOKS = 1 << 29
PERM_MANAGE_EVENTS = 1 << 33
PERM_CREATE_EVENTS = 1 << 44
PERM_PIN_MESSAGES = 1 << 51
# A member without roles, in the interactions they start (``permissions`` overrides it).
PERM_MEMBER = PERM_VIEW_CHANNEL | PERM_SEND_MESSAGES | PERM_EMBED_LINKS | PERM_READ_HISTORY | PERM_ATTACH_FILES
# What an app may do in a DM with its bot user, as interactions announce it.
PERM_APP_IN_DM = PERM_ATTACH_FILES | PERM_EMBED_LINKS | PERM_MENTION_EVERYONE | PERM_USE_EXTERNAL_EMOJIS

# A route a part serves: (method, path under API_PREFIX, handler).
Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]

# Per-request storage for the parsed JSON body (a typed key where aiohttp has them); for a
# multipart/form-data body, its ``payload_json`` part.
JSON_BODY: Any = web.RequestKey("json_body", object) if hasattr(web, "RequestKey") else "json_body"
# The files of a multipart body: ``files[n]`` part index n -> UploadedFile.
FILES: Any = web.RequestKey("files", object) if hasattr(web, "RequestKey") else "files"

# Guild scheduled events.
EVENT_PRIVACY_GUILD_ONLY = 2
EVENT_ENTITY_EXTERNAL = 3
EVENT_STATUS_SCHEDULED = 1
MAX_EVENT_NAME = 100
MAX_EVENT_LOCATION = 100
MAX_EVENT_DESCRIPTION = 1000


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    # Exactly "application/json" (no charset), as Discord sends it; discord.py
    # compares the header verbatim before decoding.
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers, content_type="application/json")


@dataclass(frozen=True)
class UploadedFile:
    """A ``files[n]`` part of a multipart body, with its bytes."""

    index: int
    filename: str
    content_type: str
    data: bytes


class DiscordError(Exception):
    """An error answer as Discord gives it: ``{"message", "code"[, "errors"]}``."""

    def __init__(self, status: int, message: str, code: int = 0, *, errors: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.errors = errors

    def response(self) -> web.Response:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return json_response(body, status=self.status)


class FormError(DiscordError):
    """A 50035 Invalid Form Body at a path into the JSON body, e.g.
    ``("components", 0, "components", 1, "custom_id")``; an empty path is the body itself."""

    def __init__(self, path: tuple, code: str, message: str):
        errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
        for key in reversed(path):
            errors = {str(key): errors}
        super().__init__(400, "Invalid Form Body", 50035, errors=errors)
        self.path = path
        self.field_code = code
        self.field_message = message

    def under(self, *prefix: Any) -> FormError:
        """The same error for a body nested under ``prefix`` (an interaction's ``data``)."""
        return FormError(prefix + self.path, self.field_code, self.field_message)


def snowflake(raw: str, field_name: str) -> int:
    """A path segment that must be a snowflake, or Discord's form error for it."""
    try:
        return int(raw)
    except ValueError:
        raise FormError((field_name,), "NUMBER_TYPE_COERCE", "Value is not snowflake.") from None
