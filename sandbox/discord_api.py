"""A protocol-level stand-in of Discord on loopback, for the demo and the tests.

The real discord.py client talks to it exactly as it talks to Discord: REST
under ``/api/v10`` (bot and webhook routes, with Discord's error bodies and
``X-RateLimit-*`` headers) and the gateway websocket at ``/gateway`` (HELLO,
heartbeats, IDENTIFY/READY/GUILD_CREATE, RESUME with replay, zlib-stream
compression when asked for). Like Discord, it dispatches MESSAGE_CREATE /
UPDATE / DELETE for *every* message in a guild channel, including the bot's
own and its webhooks' posts, so the bridge's loop prevention meets the real
echo.

Members are simulated with :meth:`DiscordStandIn.inject_message` and friends;
what the bridge sent is read back with :meth:`posts`, :meth:`transcript` and
:attr:`requests`; :meth:`fail_next` injects Discord-shaped failures.

Direct messages: ``POST /users/@me/channels`` opens one DM channel (type 1,
a stable id) per user; the bot posts there like in any channel, unless the
user has DMs closed (:meth:`close_dms`: 403, code 50007). DM messages are
dispatched only to sessions with the Direct Messages intent, with their
content (DMs are exempt from the Message Content intent).

Message components: the bot's messages (bot, webhook and interaction routes,
and their edits) may carry action rows of buttons; their shape is checked
(400, 50035 Invalid Form Body with the failing field's path) and they are
stored and echoed. A member pressing a button is
:meth:`inject_component_click` and running a registered slash command is
:meth:`inject_slash_command`: both dispatch INTERACTION_CREATE as Discord
sends it. ``POST /interactions/{id}/{token}/callback`` (types 4, 5, 6, 7 and
9; flag 64 makes it ephemeral) must come within :attr:`interaction_ack_deadline`
seconds and only once (400, 40060); follow-ups go through
``/webhooks/{application_id}/{token}`` (the first one after a type 5 defer
replaces its "thinking" message) and ``.../messages/@original``. Everything
answered is in :attr:`interaction_responses`. Application commands are
bulk-overwritten with ``PUT /applications/{id}/commands`` (global) and
``PUT /applications/{id}/guilds/{guild_id}/commands``.

Opt-in, for benchmarks (off by default): ``global_limit=(50, 1.0)`` adds
Discord's global bucket over every REST request, webhook executions included
(the limit Discord applies per bot, or per IP without a bot token) except
interaction callbacks, answered with a ``"global": true`` 429 and
``X-RateLimit-Global``; ``receipts=True`` stamps each post (:meth:`posts`)
with ``received_at``: ``time.perf_counter()`` when its request reached the
stand-in. :attr:`post_count` counts posts without copying them.

Deliberately not modelled: select menus beyond their custom_id (stored, not
clickable), components v2, modals' submission, autocomplete, subcommands
and option types other than string, integer, boolean and number, group DMs,
command permissions, and the 15-minute interaction token beyond refusing
follow-ups after it.
"""
from __future__ import annotations

import asyncio
import base64
import contextvars
import copy
import fnmatch
import hashlib
import json
import math
import re
import secrets
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, UTC
from typing import Any

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

CHANNEL_GUILD_TEXT = 0
CHANNEL_DM = 1

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
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

# Components (without the components v2 flag).
COMPONENT_ACTION_ROW = 1
COMPONENT_BUTTON = 2
_SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
BUTTON_STYLE_LINK = 5
BUTTON_STYLE_PREMIUM = 6
MAX_ACTION_ROWS = 5
MAX_ROW_WIDTH = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80

# Application commands.
MAX_COMMANDS = 100
MAX_COMMAND_OPTIONS = 25
_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
_OPTION_VALUE_TYPES = {3: str, 4: int, 5: bool, 10: float}  # string, integer, boolean, number

MAX_CONTENT = 2000
# Per-request storage for the parsed JSON body (a typed key where aiohttp has them).
_JSON_BODY = web.RequestKey("json_body", object) if hasattr(web, "RequestKey") else "json_body"
# When the request being handled reached the stand-in (perf_counter), for receipts.
_RECEIVED_AT: contextvars.ContextVar[float] = contextvars.ContextVar("received_at", default=0.0)
MAX_WEBHOOKS_PER_CHANNEL = 15
HEARTBEAT_INTERVAL_MS = 41250
SESSION_BUFFER = 1000  # dispatches kept per session for RESUME
MAX_SESSIONS = 20

# Permissions the bot's role has in the stand-in guilds (administrator-free,
# but enough for the bridge: view, send, manage messages, read history,
# manage webhooks). Manage Webhooks is removed when manage_webhooks=False.
PERM_VIEW_CHANNEL = 1 << 10
PERM_SEND_MESSAGES = 1 << 11
PERM_MANAGE_MESSAGES = 1 << 13
PERM_EMBED_LINKS = 1 << 14
PERM_READ_HISTORY = 1 << 16
PERM_ATTACH_FILES = 1 << 15
PERM_MENTION_EVERYONE = 1 << 17
PERM_USE_EXTERNAL_EMOJIS = 1 << 18
PERM_MANAGE_WEBHOOKS = 1 << 29
# A member without roles, in the interactions they start (``permissions`` overrides it).
PERM_MEMBER = PERM_VIEW_CHANNEL | PERM_SEND_MESSAGES | PERM_EMBED_LINKS | PERM_READ_HISTORY | PERM_ATTACH_FILES
# What an app may do in a DM with its bot user, as interactions announce it.
PERM_APP_IN_DM = PERM_ATTACH_FILES | PERM_EMBED_LINKS | PERM_MENTION_EVERYONE | PERM_USE_EXTERNAL_EMOJIS

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(everyone|here)")
_FORBIDDEN_NAME = re.compile(r"discord|clyde", re.IGNORECASE)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def _json(data: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    # Exactly "application/json" (no charset), as Discord sends it; discord.py
    # compares the header verbatim before decoding.
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers,
                        content_type="application/json")


def _error(status: int, message: str, code: int = 0, *, errors: dict | None = None,
           headers: dict | None = None) -> web.Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return _json(body, status=status, headers=headers)


def _form_error(field_name: str, code: str, message: str) -> web.Response:
    return _error(400, "Invalid Form Body", 50035,
                  errors={field_name: {"_errors": [{"code": code, "message": message}]}})


class _FormError(Exception):
    """A 50035 Invalid Form Body at a path into the JSON body, e.g.
    ``("components", 0, "components", 1, "custom_id")``; an empty path is the body itself."""

    def __init__(self, path: tuple, code: str, message: str):
        super().__init__(message)
        self.path = path
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        errors: dict[str, Any] = {"_errors": [{"code": self.code, "message": self.message}]}
        for key in reversed(self.path):
            errors = {str(key): errors}
        return _error(400, "Invalid Form Body", 50035, errors=errors)


def _components(raw: Any) -> list[dict]:
    """Action rows of buttons (and select menus, kept as given) checked as Discord checks
    them; returns them as stored, each component numbered (``id``) like Discord does."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _FormError(("components",), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(raw) > MAX_ACTION_ROWS:
        raise _FormError(("components",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ACTION_ROWS} or fewer in length.")
    rows = copy.deepcopy(raw)
    custom_ids: set[str] = set()
    next_id = 1
    for r, row in enumerate(rows):
        where = ("components", r)
        if not isinstance(row, dict) or row.get("type") != COMPONENT_ACTION_ROW:
            raise _FormError(where + ("type",), "UNION_TYPE_CHOICES",
                             "Value of field \"type\" must be one of (1,).")
        children = row.get("components")
        if not isinstance(children, list) or not 1 <= len(children) <= MAX_ROW_WIDTH:
            raise _FormError(where + ("components",), "BASE_TYPE_BAD_LENGTH",
                             f"Must be between 1 and {MAX_ROW_WIDTH} in length.")
        row.setdefault("id", next_id)
        next_id = max(next_id, int(row["id"])) + 1
        for c, child in enumerate(children):
            at = where + ("components", c)
            kind = child.get("type") if isinstance(child, dict) else None
            if kind != COMPONENT_BUTTON and kind not in _SELECT_TYPES:
                raise _FormError(at + ("type",), "UNION_TYPE_CHOICES",
                                 "Value of field \"type\" must be one of (2, 3, 5, 6, 7, 8).")
            if kind in _SELECT_TYPES and len(children) > 1:
                raise _FormError(at, "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                                 "The specified component exceeds the maximum width")
            style = child.get("style")
            if kind == COMPONENT_BUTTON and style not in (1, 2, 3, 4, 5, 6):
                raise _FormError(at + ("style",), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
            label = child.get("label")
            if label is not None and (not isinstance(label, str) or len(label) > MAX_BUTTON_LABEL):
                raise _FormError(at + ("label",), "BASE_TYPE_MAX_LENGTH",
                                 f"Must be {MAX_BUTTON_LABEL} or fewer in length.")
            if kind == COMPONENT_BUTTON and style == BUTTON_STYLE_LINK:
                if not child.get("url"):
                    raise _FormError(at + ("url",), "BASE_TYPE_REQUIRED", "This field is required")
            elif kind != COMPONENT_BUTTON or style != BUTTON_STYLE_PREMIUM:
                custom_id = child.get("custom_id")
                if custom_id is None:
                    raise _FormError(at + ("custom_id",), "BASE_TYPE_REQUIRED", "This field is required")
                if not isinstance(custom_id, str) or not custom_id:
                    raise _FormError(at + ("custom_id",), "BASE_TYPE_BAD_LENGTH",
                                     f"Must be between 1 and {MAX_CUSTOM_ID} in length.")
                if len(custom_id) > MAX_CUSTOM_ID:
                    raise _FormError(at + ("custom_id",), "BASE_TYPE_MAX_LENGTH",
                                     f"Must be {MAX_CUSTOM_ID} or fewer in length.")
                if custom_id in custom_ids:
                    raise _FormError(at + ("custom_id",), "COMPONENT_CUSTOM_ID_DUPLICATED",
                                     "Component custom id cannot be duplicated")
                custom_ids.add(custom_id)
            child.setdefault("id", next_id)
            next_id = max(next_id, int(child["id"])) + 1
    return rows


def _check_options(options: Any, path: tuple) -> None:
    if options is None:
        return
    if not isinstance(options, list):
        raise _FormError(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(options) > MAX_COMMAND_OPTIONS:
        raise _FormError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_COMMAND_OPTIONS} or fewer in length.")
    optional_seen = False
    for index, option in enumerate(options):
        at = path + (index,)
        if not isinstance(option, dict):
            raise _FormError(at, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        if option.get("type") not in range(1, 12):
            raise _FormError(at + ("type",), "BASE_TYPE_CHOICES",
                             "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.")
        name = option.get("name")
        if not isinstance(name, str) or not _COMMAND_NAME.match(name) or name != name.lower():
            raise _FormError(at + ("name",), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        description = option.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            raise _FormError(at + ("description",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if option["type"] in (1, 2):
            _check_options(option.get("options"), at + ("options",))
        elif option.get("required"):
            if optional_seen:
                raise _FormError(at + ("required",), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                                 "Required options must be placed before non-required options")
        else:
            optional_seen = True


def _check_commands(body: Any) -> None:
    """A bulk overwrite body as Discord checks it (names, descriptions, options, duplicates)."""
    if not isinstance(body, list):
        raise _FormError((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(body) > MAX_COMMANDS:
        raise _FormError((), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_COMMANDS} or fewer in length.")
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(body):
        if not isinstance(command, dict):
            raise _FormError((index,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        kind = command.get("type") or 1
        if kind not in (1, 2, 3):
            raise _FormError((index, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
        name = command.get("name")
        if not isinstance(name, str) or not name:
            raise _FormError((index, "name"), "BASE_TYPE_REQUIRED", "This field is required")
        if kind == 1:  # slash commands: lower-case names and a description
            if not _COMMAND_NAME.match(name) or name != name.lower():
                raise _FormError((index, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 100:
                raise _FormError((index, "description"), "BASE_TYPE_BAD_LENGTH",
                                 "Must be between 1 and 100 in length.")
            _check_options(command.get("options"), (index, "options"))
        elif len(name) > 32:
            raise _FormError((index, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
        if (kind, name) in seen:
            raise _FormError((index, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME",
                             "Application command names must be unique")
        seen.add((kind, name))


class _Snowflakes:
    """Discord ids: milliseconds since the Discord epoch << 22, strictly increasing."""

    def __init__(self) -> None:
        self._last = 0
        self._increment = 0

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        self._increment = (self._increment + 1) & 0xFFF
        value = (ms << 22) | (1 << 17) | self._increment
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value


@dataclass
class _Fault:
    method: str | None
    pattern: str
    status: int
    retry_after: float | None
    remaining: int
    body: dict | None
    starts: float = 0.0  # loop time; with `until`, a fault window instead of a count
    until: float | None = None


@dataclass
class _Bucket:
    limit: int
    window: float
    count: int = 0
    reset_at: float = 0.0  # loop time


@dataclass(eq=False)
class _Connection:
    """One websocket; frames go out through its queue so that their order is
    the order in which the stand-in produced them."""

    ws: web.WebSocketResponse
    compress: bool
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    compressor: Any = None
    session: _Session | None = None
    closing: bool = False

    def __post_init__(self) -> None:
        if self.compress:
            self.compressor = zlib.compressobj()

    def send(self, frame: dict) -> None:
        if not self.closing:
            self.queue.put_nowait(frame)

    def close(self, code: int, message: str) -> None:
        if not self.closing:
            self.queue.put_nowait(("close", code, message))
            self.closing = True


@dataclass(eq=False)
class _Session:
    id: str
    intents: int
    seq: int = 0
    buffer: deque = field(default_factory=lambda: deque(maxlen=SESSION_BUFFER))
    connection: _Connection | None = None


@dataclass(eq=False)
class _Interaction:
    """One interaction the stand-in dispatched, and how the app has answered it."""

    id: int
    token: str
    type: int  # INTERACTION_APPLICATION_COMMAND or INTERACTION_MESSAGE_COMPONENT
    channel_id: int
    user: dict
    created: float  # loop time
    message_id: int | None = None  # the message whose component was used
    custom_id: str | None = None
    command: str | None = None
    response_type: int | None = None  # the callback type, once acknowledged
    original_id: int | None = None  # the response message (types 4 and 5)
    message_ids: set = field(default_factory=set)  # original and follow-ups


class DiscordStandIn:
    """Discord's REST API, webhooks and gateway for one bot on 127.0.0.1.

    ``guilds`` maps guild id -> ``{"name": str, "channels": {channel_id: name}}``.
    ``manage_webhooks=False`` simulates a bot without the Manage Webhooks
    permission (webhook routes answer 403 Missing Permissions);
    ``message_content_enabled=False`` simulates the Message Content intent being
    off in the Developer Portal (an IDENTIFY asking for it is closed with 4014).
    ``route_limit`` is (requests, seconds) per route bucket, as announced in
    the ``X-RateLimit-*`` headers and enforced with 429s.
    ``interaction_ack_deadline`` (seconds, None for no limit) is how long an
    interaction may wait for its initial response before Discord forgets it
    (404 Unknown interaction, 10062).
    ``global_limit`` (requests, seconds), off by default, is the global bucket
    over all REST requests but interaction callbacks. ``receipts=True`` stamps
    each post with ``received_at`` (``time.perf_counter()`` at its arrival).
    """

    def __init__(self, token: str, guilds: dict[int, dict] | None = None,
                 bot_id: int = 900000000000000001, application_id: int = 900000000000000002, *,
                 bot_name: str = "twinbridge", manage_webhooks: bool = True,
                 message_content_enabled: bool = True, route_limit: tuple[int, float] = (5, 2.0),
                 global_limit: tuple[int, float] | None = None, receipts: bool = False):
        self.token = token
        self.global_limit = global_limit
        self.receipts = receipts
        self.global_rate_limited_responses = 0  # the 429s of the global bucket (also in rate_limited_responses)
        self.bot_id = bot_id
        self.application_id = application_id
        self.bot_name = bot_name
        self.manage_webhooks = manage_webhooks
        self.message_content_enabled = message_content_enabled
        self.route_limit = route_limit
        self.rate_limited_responses = 0  # every 429 sent (injected ones included)

        # Every REST request: (event-loop time, method, full path without the
        # query, JSON body or None), including those answered with an error.
        self.requests: list[tuple[float, str, str, dict | None]] = []
        self.identified = asyncio.Event()  # set by the first accepted IDENTIFY
        self.intents: int | None = None  # from the last IDENTIFY
        self.sessions_started = 0  # IDENTIFYs accepted (fresh sessions; a RESUME is not one)
        self.refusing_connections = False  # see end_sessions()

        self._ids = _Snowflakes()
        self._guilds: dict[int, dict] = {}
        self._channel_guild: dict[int, int] = {}
        self._messages: dict[int, dict[int, dict]] = {}  # channel -> id -> message (API shape)
        self._posts: list[dict] = []
        self._webhooks: dict[int, dict] = {}
        self._users: dict[int, dict] = {bot_id: self._bot_user()}
        self._faults: list[_Fault] = []
        self._answers_held: asyncio.Event | None = None  # see hold_webhook_answers
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._sessions: dict[str, _Session] = {}
        self._connections: set[_Connection] = set()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._dm_users: dict[int, int] = {}  # DM channel id -> its user's id
        self._dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self._closed_dms: set[int] = set()
        self._ephemeral: dict[int, dict] = {}  # ephemeral interaction messages: only their user sees them
        self._interactions: dict[int, _Interaction] = {}
        self._interaction_tokens: dict[str, int] = {}
        self._interaction_log: list[dict] = []
        self._app_commands: dict[int | None, list[dict]] = {}  # guild id (None: global) -> commands
        self.interaction_ack_deadline: float | None = INTERACTION_ACK_DEADLINE
        for guild_id, guild in (guilds or {}).items():
            self._guilds[int(guild_id)] = {"name": guild.get("name", f"guild {guild_id}"), "channels": {}}
            for channel_id, name in (guild.get("channels") or {}).items():
                self._add_channel(int(guild_id), int(channel_id), name)

    # -- lifecycle -----------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=16 * 1024 * 1024)
        self._add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for connection in list(self._connections):
            connection.close(1001, "stand-in stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        assert self._port is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/gateway"

    # -- guild setup -------------------------------------------------------------
    def add_channel(self, guild_id: int, channel_id: int, name: str) -> None:
        self._guilds.setdefault(int(guild_id), {"name": f"guild {guild_id}", "channels": {}})
        self._add_channel(int(guild_id), int(channel_id), name)
        self._dispatch("CHANNEL_CREATE", self._channel_payload(int(channel_id)))

    def _add_channel(self, guild_id: int, channel_id: int, name: str) -> None:
        self._guilds[guild_id]["channels"][channel_id] = name
        self._channel_guild[channel_id] = guild_id
        self._messages.setdefault(channel_id, {})

    # -- member-side helpers ---------------------------------------------------
    def inject_message(self, channel_id: int, author: dict, content: str, *,
                       reference_message_id: int | None = None, attachments: list[dict] | None = None,
                       sticker_items: list[dict] | None = None, message_type: int | None = None) -> dict:
        """A member (``author``: id, username, optional global_name, bot) writes
        in a channel, or in their DM channel with the bot (see :meth:`dm_channel_id`);
        returns the message as Discord stores it."""
        channel_id = int(channel_id)
        self._require_channel(channel_id)
        if channel_id in self._dm_users and int(author["id"]) != self._dm_users[channel_id]:
            raise ValueError(f"channel {channel_id} is the DM channel of user {self._dm_users[channel_id]}")
        user = self._remember_user(author)
        message = self._new_message(channel_id, user, content, member=True)
        if attachments:
            message["attachments"] = [self._attachment(a) for a in attachments]
        if sticker_items:
            message["sticker_items"] = list(sticker_items)
        if reference_message_id is not None:
            self._attach_reference(message, channel_id, int(reference_message_id))
        if message_type is not None:
            message["type"] = message_type
        self._mentions(message, None)
        self._store_and_dispatch(message)
        return copy.deepcopy(message)

    def inject_edit(self, channel_id: int, message_id: int, content: str) -> dict:
        message = self._get_message(int(channel_id), int(message_id))
        if message is None:
            raise KeyError(f"no message {message_id} in channel {channel_id}")
        message["content"] = content
        message["edited_timestamp"] = _iso(int(time.time() * 1000))
        self._mentions(message, None)
        self._dispatch("MESSAGE_UPDATE", message)
        return copy.deepcopy(message)

    def inject_delete(self, channel_id: int, message_id: int) -> None:
        self._delete_message(int(channel_id), int(message_id))

    def inject_dispatch(self, event_name: str, data: dict) -> None:
        """Send any dispatch as is (odd payloads, events the stand-in does not model)."""
        self._dispatch(event_name, data)

    def inject_malformed_message(self, channel_id: int, author: dict, content: str = "") -> dict:
        """A MESSAGE_CREATE no client can parse (its id is not a snowflake and it has no
        author), as a gateway bug or an unannounced schema change could send. Not
        stored: the channel's history does not show it. Returns the payload."""
        channel_id = int(channel_id)
        self._require_channel(channel_id)
        message = self._new_message(channel_id, self._remember_user(author), content, member=True)
        message["id"] = "not-a-snowflake"
        message.pop("author", None)
        self._dispatch("MESSAGE_CREATE", message)
        return copy.deepcopy(message)

    def end_sessions(self, *, refuse_connections: bool = True) -> None:
        """Discord forgets every gateway session and closes their websockets: a RESUME is
        answered with op 9 (not resumable), so the client must IDENTIFY a fresh session,
        which replays nothing. With ``refuse_connections`` the gateway also refuses new
        websockets (HTTP 503) until :meth:`accept_connections`, so that members can
        write while the bot has no session."""
        self.refusing_connections = refuse_connections
        self._sessions.clear()
        for connection in list(self._connections):
            connection.close(4000, "stand-in ended the session")

    def accept_connections(self) -> None:
        self.refusing_connections = False

    def add_user(self, user: dict) -> dict:
        """Give a member who has not written anything yet their name (GET /users/{id},
        DM recipients); unknown ids are users too, with a plain ``user<id>`` profile."""
        return copy.deepcopy(self._remember_user(user))

    def close_dms(self, user_id: int) -> None:
        """The user does not accept DMs from the bot: posts to their DM channel get 403
        "Cannot send messages to this user" (50007); opening the channel still works."""
        self._closed_dms.add(int(user_id))

    def open_dms(self, user_id: int) -> None:
        self._closed_dms.discard(int(user_id))

    def dm_channel_id(self, user_id: int) -> int:
        """The id of the user's DM channel with the bot (the one POST /users/@me/channels opens)."""
        self._user(int(user_id))
        return self._dm_channel(int(user_id))

    def inject_component_click(self, user: dict, channel_id: int, message_id: int, custom_id: str, *,
                               permissions: int | None = None) -> dict:
        """The member presses the button ``custom_id`` on a message of the bot's (in a
        guild channel or their DM channel); dispatches INTERACTION_CREATE (type 3) and
        returns its payload. Like in the Discord apps, only an enabled button that is
        on the message can be pressed. ``permissions`` are the member's in the channel."""
        channel_id = int(channel_id)
        self._require_channel(channel_id)
        member = self._remember_user(user)
        message = self._get_message(channel_id, int(message_id))
        if message is None:
            ephemeral = self._ephemeral.get(int(message_id))
            if ephemeral is not None and ephemeral["_viewer"] == member["id"]:
                message = ephemeral
        if message is None:
            raise ValueError(f"no message {message_id} in channel {channel_id} that this user can see")
        buttons = [child for row in message.get("components") or () for child in row.get("components") or ()
                   if child.get("type") == COMPONENT_BUTTON]
        button = next((b for b in buttons if b.get("custom_id") == custom_id), None)
        if button is None or button.get("disabled"):
            raise ValueError(f"message {message_id} has no enabled button with custom_id {custom_id!r}")
        data = {"custom_id": custom_id, "component_type": COMPONENT_BUTTON, "id": button.get("id")}
        return self._start_interaction(INTERACTION_MESSAGE_COMPONENT, member, channel_id, data,
                                       message=message, permissions=permissions)

    def inject_slash_command(self, user: dict, channel_id: int, name: str, options: dict | None = None, *,
                             permissions: int | None = None) -> dict:
        """The member runs ``/name`` with ``options`` (option name -> value) in a channel;
        dispatches INTERACTION_CREATE (type 2) and returns its payload. The command must
        have been registered (PUT .../commands) for that guild or globally, and only its
        declared options (string, integer, boolean or number) can be given."""
        channel_id = int(channel_id)
        self._require_channel(channel_id)
        member = self._remember_user(user)
        guild_id = self._channel_guild.get(channel_id)
        command = self._command_for(name, guild_id)
        if command is None:
            where = f"guild {guild_id}" if guild_id else "DMs"
            raise KeyError(f"no slash command /{name} is registered for {where}: PUT it first (tree.sync())")
        declared = {o["name"]: o for o in command.get("options") or ()}
        given = dict(options or {})
        for option in declared.values():
            if option.get("required") and option["name"] not in given:
                raise ValueError(f"/{name} needs the option {option['name']!r}")
        data_options = []
        for key, value in given.items():
            option = declared.get(key)
            if option is None:
                raise ValueError(f"/{name} has no option {key!r}")
            kind = _OPTION_VALUE_TYPES.get(option["type"])
            if kind is None:
                raise ValueError(f"option type {option['type']} is not modelled by the stand-in")
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ValueError(f"option {key!r} of /{name} takes a {kind.__name__}, not {value!r}")
            data_options.append({"name": key, "type": option["type"], "value": value})
        data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": 1}
        if data_options:
            data["options"] = data_options
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return self._start_interaction(INTERACTION_APPLICATION_COMMAND, member, channel_id, data,
                                       permissions=permissions)

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway websocket (the sessions stay resumable)."""
        for connection in list(self._connections):
            connection.close(code, "stand-in dropped the connection")

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT, as Discord does before moving a session."""
        for connection in list(self._connections):
            connection.send({"op": 7, "d": None, "s": None, "t": None})

    # -- what the bridge did -----------------------------------------------------
    def posts(self, channel_id: int | None = None) -> list[dict]:
        """Messages created by the bot or its webhooks, with every field the
        client sent plus: id, channel_id, via ("webhook" | "bot"), webhook_id,
        notified (who Discord would ping), edits (bodies of later PATCHes),
        deleted, and received_at with ``receipts=True``."""
        return [copy.deepcopy(p) for p in self._posts
                if channel_id is None or p["channel_id"] == str(channel_id)]

    @property
    def post_count(self) -> int:
        """How many posts the bot and its webhooks have made (cheap, unlike ``len(posts())``)."""
        return len(self._posts)

    def transcript(self, channel_id: int) -> list[tuple[str, str]]:
        """What members see now, oldest first: (author shown, content)."""
        shown = []
        for message in self._messages.get(int(channel_id), {}).values():
            author = message["author"]
            name = (author["username"] if message.get("webhook_id")
                    else (author.get("global_name") or author["username"]))
            shown.append((name, message["content"]))
        return shown

    def message(self, channel_id: int, message_id: int) -> dict | None:
        found = self._get_message(int(channel_id), int(message_id))
        return copy.deepcopy(found) if found else None

    def bridge_messages(self) -> list[dict]:
        """Every message the bot or its webhooks show now, in every channel and DM,
        as they are now (for whole-platform scans)."""
        return [self._public(m) for channel in self._messages.values() for m in channel.values()
                if m.get("webhook_id") or m["author"]["id"] == str(self.bot_id)]

    def dms(self, user_id: int) -> list[dict]:
        """The bot's messages in its DM channel with the user, as they are now, oldest first."""
        channel_id = self._dm_channels.get(int(user_id))
        if channel_id is None:
            return []
        return [self._public(m) for m in self._messages[channel_id].values()
                if m["author"]["id"] == str(self.bot_id) and not m.get("webhook_id")]

    @property
    def interaction_responses(self) -> list[dict]:
        """Every accepted answer to an interaction, in order: ``interaction_id``,
        ``interaction_type`` (2 or 3), ``custom_id`` / ``command``, ``user_id``,
        ``channel_id``, ``kind`` ("callback", "followup", "edit_original", "edit_followup",
        "delete_original", "delete_followup"), ``type`` (the callback type, for callbacks), ``data`` (the
        body's message data), ``ephemeral`` and ``message_id`` (the message it made or
        changed, if any)."""
        return copy.deepcopy(self._interaction_log)

    def application_commands(self, guild_id: int | None = None) -> list[dict]:
        """The application commands as Discord stores them: global ones, or a guild's."""
        return copy.deepcopy(self._app_commands.get(int(guild_id) if guild_id is not None else None, []))

    def webhooks(self, channel_id: int | None = None) -> list[dict]:
        return [copy.deepcopy(w) for w in self._webhooks.values()
                if channel_id is None or w["channel_id"] == str(channel_id)]

    def hold_webhook_answers(self) -> None:
        """From now on a webhook post is stored (and shown, and dispatched) at once but
        answered only after :meth:`release_webhook_answers`: a client that dies
        meanwhile has posted without learning the message's id (what a crash between
        Discord accepting a post and the bridge recording it looks like)."""
        self._answers_held = asyncio.Event()

    def release_webhook_answers(self) -> None:
        if self._answers_held is not None:
            self._answers_held.set()
            self._answers_held = None

    def fail_next(self, path_pattern: str, status: int, *, retry_after: float | None = None,
                  count: int = 1, body: dict | None = None) -> None:
        """Answer the next ``count`` requests matching ``path_pattern`` with
        ``status`` and Discord's error body for it. The pattern is a glob over
        the path after /api/v10, optionally preceded by a method:
        ``"POST /webhooks/*"``, ``"/channels/*/messages"``."""
        method, _, pattern = path_pattern.strip().rpartition(" ")
        self._faults.append(_Fault(method.upper() or None, pattern, status, retry_after, count, body))

    # -- HTTP plumbing -----------------------------------------------------------
    def _add_routes(self, app: web.Application) -> None:
        routes = [
            ("GET", "/users/@me", self._get_me),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/users/{user_id}", self._get_user),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._list_messages),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._fetch_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._remove_message),
            ("GET", "/channels/{channel_id}/webhooks", self._list_webhooks),
            ("POST", "/channels/{channel_id}/webhooks", self._create_webhook),
            ("GET", "/webhooks/{webhook_id}/{webhook_token}", self._get_webhook),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", self._execute_webhook),
            ("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self._webhook_fetch),
            ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self._webhook_edit),
            ("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self._webhook_delete),
            ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self._interaction_callback),
            ("GET", "/applications/{application_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/commands", self._put_commands),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._put_commands),
        ]
        for method, template, handler in routes:
            app.router.add_route(method, API_PREFIX + template, handler)
        app.router.add_get("/gateway", self._gateway)

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        if self.receipts:
            _RECEIVED_AT.set(time.perf_counter())
        body = None
        if request.can_read_body and request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                return _error(400, "400: Bad Request")
        loop_time = asyncio.get_running_loop().time()
        self.requests.append((loop_time, request.method, request.path, body))
        request[_JSON_BODY] = body

        resource = request.match_info.route.resource
        if resource is None:  # no such route (or method): Discord's plain 404
            return _error(404, "404: Not Found")
        route_name = f"{request.method} {resource.canonical[len(API_PREFIX):]}"
        needs_bot = "{webhook_token}" not in route_name and "{interaction_token}" not in route_name \
            and route_name != "GET /gateway"
        if needs_bot and request.headers.get("Authorization") != f"Bot {self.token}":
            return _error(401, "401: Unauthorized")

        bucket_name = route_name
        major = request.match_info.get("channel_id") or request.match_info.get("interaction_id") or (
            f"{request.match_info.get('webhook_id')}:{request.match_info.get('webhook_token')}"
            if "webhook_id" in request.match_info else "")
        fault = self._take_fault(request)
        if fault is not None:
            return self._fault_response(fault, bucket_name, major)
        if self.global_limit is not None and not route_name.startswith("POST /interactions/"):
            global_bucket, limited = self._spend("global", "", self.global_limit)
            if limited:
                return self._globally_limited(global_bucket.reset_at - loop_time)
        bucket, limited = self._spend(bucket_name, major)
        if limited:
            return self._rate_limited(bucket.reset_at - loop_time, bucket_name, bucket)
        response = await handler(request)
        response.headers.update(self._ratelimit_headers(bucket_name, bucket))
        response.headers["Via"] = "1.1 google"
        return response

    def fail_for(self, path_pattern: str, status: int, *, seconds: float, after: float = 0.0,
                 retry_after: float | None = None) -> None:
        """An outage window: from ``after`` seconds from now, for ``seconds``, every
        request matching ``path_pattern`` (as in :meth:`fail_next`) gets ``status``."""
        now = asyncio.get_running_loop().time()
        method, _, pattern = path_pattern.strip().rpartition(" ")
        self._faults.append(_Fault(method.upper() or None, pattern, status, retry_after, 1 << 30, None,
                                   starts=now + after, until=now + after + seconds))

    def _take_fault(self, request: web.Request) -> _Fault | None:
        path = request.path[len(API_PREFIX):]
        now = asyncio.get_running_loop().time()
        for fault in list(self._faults):
            if fault.until is not None and now >= fault.until:
                self._faults.remove(fault)
                continue
            if fault.method not in (None, request.method) or now < fault.starts:
                continue
            if fnmatch.fnmatchcase(path, fault.pattern):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _fault_response(self, fault: _Fault, bucket_name: str, major: str) -> web.Response:
        if fault.status == 429:
            retry_after = 1.0 if fault.retry_after is None else fault.retry_after
            bucket = self._buckets.get((bucket_name, major)) or _Bucket(*self.route_limit)
            return self._rate_limited(retry_after, bucket_name, bucket, body=fault.body)
        defaults = {
            400: ("400: Bad Request", 0), 401: ("401: Unauthorized", 0),
            403: ("Missing Permissions", 50013), 404: ("404: Not Found", 0),
            500: ("500: Internal Server Error", 0), 502: ("502: Bad Gateway", 0),
            503: ("503: Service Unavailable", 0), 504: ("504: Gateway Timeout", 0),
        }
        message, code = defaults.get(fault.status, (f"{fault.status}: Error", 0))
        body = fault.body or {"message": message, "code": code}
        return _json(body, status=fault.status, headers={"Via": "1.1 google"})

    def _rate_limited(self, retry_after: float, bucket_name: str, bucket: _Bucket,
                      body: dict | None = None) -> web.Response:
        retry_after = max(0.0, round(retry_after, 3))
        self.rate_limited_responses += 1
        headers = self._ratelimit_headers(bucket_name, bucket, remaining=0, reset_after=retry_after)
        headers.update({
            "Retry-After": str(math.ceil(retry_after)),  # whole seconds, as Discord sends it
            "X-RateLimit-Scope": "user",
            "Via": "1.1 google",
        })
        payload = body or {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
        return _json(payload, status=429, headers=headers)

    def _globally_limited(self, retry_after: float) -> web.Response:
        retry_after = max(0.0, round(retry_after, 3))
        self.rate_limited_responses += 1
        self.global_rate_limited_responses += 1
        headers = {"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Global": "true",
                   "X-RateLimit-Scope": "global", "Via": "1.1 google"}
        return _json({"message": "You are being rate limited.", "retry_after": retry_after, "global": True},
                     status=429, headers=headers)

    def _spend(self, bucket_name: str, major: str, limit: tuple[int, float] | None = None) -> tuple[_Bucket, bool]:
        now = asyncio.get_running_loop().time()
        bucket = self._buckets.get((bucket_name, major))
        if bucket is None:
            bucket = self._buckets[(bucket_name, major)] = _Bucket(*(limit or self.route_limit))
        if now >= bucket.reset_at:
            bucket.count = 0
            bucket.reset_at = now + bucket.window
        if bucket.count >= bucket.limit:
            return bucket, True
        bucket.count += 1
        return bucket, False

    def _ratelimit_headers(self, bucket_name: str, bucket: _Bucket, *, remaining: int | None = None,
                           reset_after: float | None = None) -> dict[str, str]:
        now = asyncio.get_running_loop().time()
        if reset_after is None:
            reset_after = max(0.0, bucket.reset_at - now)
        if remaining is None:
            remaining = max(0, bucket.limit - bucket.count)
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.md5(bucket_name.encode()).hexdigest(),
        }

    # -- REST: identity ----------------------------------------------------------
    def _bot_user(self) -> dict:
        return {
            "id": str(self.bot_id), "username": self.bot_name, "discriminator": "0", "global_name": None,
            "avatar": None, "bot": True, "verified": True, "mfa_enabled": False, "flags": 0,
            "public_flags": 0, "email": None, "locale": "en-US", "premium_type": 0,
        }

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json(self._bot_user())

    def _user(self, user_id: int) -> dict:
        """Every snowflake is a user, as on Discord: those the stand-in never saw get a
        plain profile (``add_user``, ``inject_message`` and interactions give them a name)."""
        if user_id not in self._users:
            self._users[user_id] = {"id": str(user_id), "username": f"user{user_id}", "global_name": None,
                                    "discriminator": "0", "avatar": None, "public_flags": 0, "flags": 0}
        return self._users[user_id]

    async def _get_user(self, request: web.Request) -> web.Response:
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError:
            return _form_error("user_id", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
        return _json(self._user(user_id))

    async def _create_dm(self, request: web.Request) -> web.Response:
        body = request[_JSON_BODY]
        recipient = body.get("recipient_id") if isinstance(body, dict) else None
        if recipient is None:
            return _form_error("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
        try:
            user_id = int(recipient)
        except (TypeError, ValueError):
            return _form_error("recipient_id", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
        if user_id == self.bot_id:
            return _error(400, "Invalid Recipient(s)", 50033)
        self._user(user_id)
        return _json(self._channel_payload(self._dm_channel(user_id)))

    def _dm_channel(self, user_id: int) -> int:
        if user_id not in self._dm_channels:
            channel_id = self._ids.next()
            self._dm_channels[user_id] = channel_id
            self._dm_users[channel_id] = user_id
            self._messages[channel_id] = {}
        return self._dm_channels[user_id]

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return _json({
            "url": self.gateway_url, "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1},
        })

    async def _get_application(self, request: web.Request) -> web.Response:
        return _json({
            "id": str(self.application_id), "name": self.bot_name, "icon": None,
            "description": "", "summary": "", "type": None, "hook": True,
            "bot_public": False, "bot_require_code_grant": False, "verify_key": secrets.token_hex(32),
            "owner": {"id": "900000000000000009", "username": "owner", "discriminator": "0",
                      "global_name": None, "avatar": None, "public_flags": 0, "flags": 0},
            "flags": (1 << 19),  # GATEWAY_MESSAGE_CONTENT_LIMITED: the intent toggle is on
            "team": None, "bot": self._bot_user(), "rpc_origins": [],
            "interactions_endpoint_url": None, "redirect_uris": [], "tags": [],
        })

    # -- REST: channels and messages -------------------------------------------
    def _channel_payload(self, channel_id: int) -> dict:
        if channel_id in self._dm_users:
            messages = self._messages.get(channel_id) or {}
            user = self._users[self._dm_users[channel_id]]
            return {"id": str(channel_id), "type": CHANNEL_DM, "flags": 0, "recipients": [copy.deepcopy(user)],
                    "last_message_id": str(next(reversed(messages))) if messages else None}
        guild_id = self._channel_guild[channel_id]
        names = list(self._guilds[guild_id]["channels"])
        messages = self._messages.get(channel_id) or {}
        return {
            "id": str(channel_id), "type": CHANNEL_GUILD_TEXT, "guild_id": str(guild_id),
            "name": self._guilds[guild_id]["channels"][channel_id], "position": names.index(channel_id),
            "permission_overwrites": [], "parent_id": None, "topic": None, "nsfw": False,
            "rate_limit_per_user": 0, "flags": 0,
            "last_message_id": str(next(reversed(messages))) if messages else None,
        }

    def _channel_or_404(self, request: web.Request) -> int | web.Response:
        try:
            channel_id = int(request.match_info["channel_id"])
        except ValueError:
            return _form_error("channel_id", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
        if channel_id not in self._channel_guild and channel_id not in self._dm_users:
            return _error(404, "Unknown Channel", 10003)
        return channel_id

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        return _json(self._channel_payload(channel_id))

    async def _list_messages(self, request: web.Request) -> web.Response:
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        limit = max(1, min(100, int(request.query.get("limit", 50))))
        before = int(request.query["before"]) if "before" in request.query else None
        after = int(request.query["after"]) if "after" in request.query else None
        found = [m for mid, m in self._messages[channel_id].items()
                 if (before is None or mid < before) and (after is None or mid > after)]
        # Discord answers newest first; with only `after`, the page is the oldest
        # `limit` messages after it (so a client can walk forward).
        page = found[:limit] if after is not None and before is None else found[-limit:]
        return _json(list(reversed(page)))

    def _message_body(self, request: web.Request) -> dict | web.Response:
        """The JSON body of a message to create, or Discord's error for it."""
        body = request[_JSON_BODY]
        if not isinstance(body, dict):
            return _error(400, "Cannot send an empty message", 50006)
        invalid = self._validate_content(body)
        if invalid is not None:
            return invalid
        try:
            _components(body.get("components"))
        except _FormError as error:
            return error.response()
        return body

    async def _create_message(self, request: web.Request) -> web.Response:
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        body = self._message_body(request)
        if isinstance(body, web.Response):
            return body
        if self._dm_users.get(channel_id) in self._closed_dms:
            return _error(403, "Cannot send messages to this user", 50007)
        message = self._new_message(channel_id, self._users[self.bot_id], body.get("content") or "", member=True)
        message["tts"] = bool(body.get("tts"))
        message["embeds"] = list(body.get("embeds") or [])
        message["components"] = _components(body.get("components"))
        if body.get("flags"):
            message["flags"] = int(body["flags"])
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        reference = body.get("message_reference")
        if reference and reference.get("message_id"):
            target = int(reference["message_id"])
            if self._get_message(channel_id, target) is None:
                if reference.get("fail_if_not_exists", True):
                    return _form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                       "Unknown message")
            else:
                self._attach_reference(message, channel_id, target)
        message["_notified"] = self._mentions(message, body.get("allowed_mentions"))
        self._record_post(message, body, via="bot", webhook_id=None)
        self._store_and_dispatch(message)
        return _json(self._public(message))

    def _message_or_404(self, request: web.Request) -> tuple[int, dict] | web.Response:
        """(channel id, message) named by the path, or Discord's 404 for it."""
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        message = self._get_message(channel_id, int(request.match_info["message_id"]))
        if message is None:
            return _error(404, "Unknown Message", 10008)
        return channel_id, message

    async def _fetch_message(self, request: web.Request) -> web.Response:
        found = self._message_or_404(request)
        if isinstance(found, web.Response):
            return found
        _, message = found
        return _json(self._public(message))

    async def _edit_message(self, request: web.Request) -> web.Response:
        found = self._message_or_404(request)
        if isinstance(found, web.Response):
            return found
        _, message = found
        if message.get("webhook_id") or message["author"]["id"] != str(self.bot_id):
            return _error(403, "Cannot edit a message authored by another user", 50005)
        return self._apply_edit(message, request[_JSON_BODY] or {})

    async def _remove_message(self, request: web.Request) -> web.Response:
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        message_id = int(request.match_info["message_id"])
        if self._get_message(channel_id, message_id) is None:
            return _error(404, "Unknown Message", 10008)
        self._delete_message(channel_id, message_id)  # the bot has Manage Messages
        return web.Response(status=204)

    # -- REST: webhooks ------------------------------------------------------------
    def _webhook_payload(self, hook: dict, *, with_token: bool = True) -> dict:
        data = {k: v for k, v in hook.items() if not k.startswith("_")}
        if not with_token:
            data.pop("token", None)
        return data

    def _webhook_channel(self, request: web.Request) -> int | web.Response:
        """The guild channel a webhook route names, if the bot may manage its webhooks."""
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        if channel_id in self._dm_users:
            return _error(400, "Cannot execute action on a DM channel", 50003)
        if not self.manage_webhooks:
            return _error(403, "Missing Permissions", 50013)
        return channel_id

    async def _list_webhooks(self, request: web.Request) -> web.Response:
        channel_id = self._webhook_channel(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        return _json([self._webhook_payload(h) for h in self._webhooks.values()
                                  if h["channel_id"] == str(channel_id)])

    async def _create_webhook(self, request: web.Request) -> web.Response:
        channel_id = self._webhook_channel(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        name = (request[_JSON_BODY] or {}).get("name") or ""
        if not 1 <= len(name) <= 80:
            return _form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
        if _FORBIDDEN_NAME.search(name):
            return _form_error("name", "USERNAME_INVALID_CONTAINS",
                               f"Username cannot contain \"{_FORBIDDEN_NAME.search(name).group(0).lower()}\"")
        if sum(1 for h in self._webhooks.values() if h["channel_id"] == str(channel_id)) >= MAX_WEBHOOKS_PER_CHANNEL:
            return _error(400, "Maximum number of webhooks reached (15)", 30007)
        webhook_id = self._ids.next()
        hook = {
            "id": str(webhook_id), "type": 1, "guild_id": str(self._channel_guild[channel_id]),
            "channel_id": str(channel_id), "name": name, "avatar": None,
            "token": secrets.token_urlsafe(51), "application_id": str(self.application_id),
            "user": self._users[self.bot_id],
        }
        self._webhooks[webhook_id] = hook
        return _json(self._webhook_payload(hook))

    def _webhook_or_error(self, request: web.Request) -> dict | web.Response:
        try:
            hook = self._webhooks.get(int(request.match_info["webhook_id"]))
        except ValueError:
            hook = None
        if hook is None:
            return _error(404, "Unknown Webhook", 10015)
        if request.match_info["webhook_token"] != hook["token"]:
            return _error(401, "Invalid Webhook Token", 50027)
        return hook

    async def _get_webhook(self, request: web.Request) -> web.Response:
        hook = self._webhook_or_error(request)
        if isinstance(hook, web.Response):
            return hook
        data = self._webhook_payload(hook)
        data.pop("user", None)
        return _json(data)

    async def _execute_webhook(self, request: web.Request) -> web.Response:
        if request.match_info["webhook_id"] == str(self.application_id):
            return await self._followup(request)
        hook = self._webhook_or_error(request)
        if isinstance(hook, web.Response):
            return hook
        body = self._message_body(request)
        if isinstance(body, web.Response):
            return body
        username = body.get("username")
        if username is not None:
            if not 1 <= len(username.strip()) <= 80:
                return _form_error("username", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
            match = _FORBIDDEN_NAME.search(username)
            if match:
                return _form_error("username", "USERNAME_INVALID_CONTAINS",
                                   f"Username cannot contain \"{match.group(0).lower()}\"")
        channel_id = int(hook["channel_id"])
        author = {
            "id": hook["id"], "username": (username or hook["name"]).strip(), "avatar": None,
            "discriminator": "0000", "public_flags": 0, "flags": 0, "bot": True, "global_name": None,
        }
        message = self._new_message(channel_id, author, body.get("content") or "", member=False)
        message["webhook_id"] = hook["id"]
        message["application_id"] = hook.get("application_id")
        message["tts"] = bool(body.get("tts"))
        message["embeds"] = list(body.get("embeds") or [])
        message["components"] = _components(body.get("components"))  # the bot's webhooks are app-owned
        if body.get("flags"):
            message["flags"] = int(body["flags"])
        message["_notified"] = self._mentions(message, body.get("allowed_mentions"))
        self._record_post(message, body, via="webhook", webhook_id=hook["id"])
        self._store_and_dispatch(message)
        if self._answers_held is not None:
            await self._answers_held.wait()
        if request.query.get("wait", "false").lower() in ("true", "1"):
            return _json(self._public(message))
        return web.Response(status=204)

    def _webhook_message(self, request: web.Request) -> tuple[dict, dict] | web.Response:
        hook = self._webhook_or_error(request)
        if isinstance(hook, web.Response):
            return hook
        message = self._get_message(int(hook["channel_id"]), int(request.match_info["message_id"]))
        if message is None or message.get("webhook_id") != hook["id"]:
            return _error(404, "Unknown Message", 10008)
        return hook, message

    async def _webhook_fetch(self, request: web.Request) -> web.Response:
        if request.match_info["webhook_id"] == str(self.application_id):
            return await self._interaction_message_route(request)
        found = self._webhook_message(request)
        if isinstance(found, web.Response):
            return found
        return _json(self._public(found[1]))

    async def _webhook_edit(self, request: web.Request) -> web.Response:
        if request.match_info["webhook_id"] == str(self.application_id):
            return await self._interaction_message_route(request)
        found = self._webhook_message(request)
        if isinstance(found, web.Response):
            return found
        return self._apply_edit(found[1], request[_JSON_BODY] or {})

    async def _webhook_delete(self, request: web.Request) -> web.Response:
        if request.match_info["webhook_id"] == str(self.application_id):
            return await self._interaction_message_route(request)
        found = self._webhook_message(request)
        if isinstance(found, web.Response):
            return found
        hook, message = found
        self._delete_message(int(hook["channel_id"]), int(message["id"]))
        return web.Response(status=204)

    # -- interactions ---------------------------------------------------------------
    def _owners(self, channel_id: int) -> dict[str, str]:
        """authorizing_integration_owners of a guild install: the guild, or "0" in the bot's DMs."""
        guild_id = self._channel_guild.get(channel_id)
        return {"0": str(guild_id) if guild_id is not None else "0"}

    def _start_interaction(self, kind: int, user: dict, channel_id: int, data: dict, *,
                           message: dict | None = None, permissions: int | None = None) -> dict:
        interaction_id = self._ids.next()
        secret = secrets.token_urlsafe(72)
        token = base64.urlsafe_b64encode(f"interaction:{interaction_id}:{secret}".encode()).decode().rstrip("=")
        guild_id = self._channel_guild.get(channel_id)
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(self.application_id), "type": kind,
            "data": data, "channel": self._channel_payload(channel_id), "channel_id": str(channel_id),
            "token": token, "version": 1, "locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": self._owners(channel_id),
            "context": 0 if guild_id is not None else 1,  # GUILD or BOT_DM
            "app_permissions": str(self._bot_permissions() if guild_id is not None else PERM_APP_IN_DM),
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if guild_id is not None:
            payload.update({
                "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
                "guild_id": str(guild_id), "guild_locale": "en-US",
                "member": {
                    "user": copy.deepcopy(user), "roles": [], "nick": None, "avatar": None, "banner": None,
                    "premium_since": None, "pending": False, "mute": False, "deaf": False, "flags": 0,
                    "joined_at": "2024-01-01T00:00:00.000000+00:00", "communication_disabled_until": None,
                    "permissions": str(PERM_MEMBER if permissions is None else permissions),
                },
            })
        else:
            payload["user"] = copy.deepcopy(user)
        if message is not None:
            payload["message"] = self._public(message)
        self._interactions[interaction_id] = _Interaction(
            id=interaction_id, token=token, type=kind, channel_id=channel_id, user=copy.deepcopy(user),
            created=time.monotonic(), message_id=int(message["id"]) if message is not None else None,
            custom_id=data.get("custom_id"),
            command=data.get("name") if kind == INTERACTION_APPLICATION_COMMAND else None)
        self._interaction_tokens[token] = interaction_id
        self._dispatch("INTERACTION_CREATE", payload)
        return copy.deepcopy(payload)

    def _command_for(self, name: str, guild_id: int | None) -> dict | None:
        """The chat-input command ``name`` a member can run here (guild ones first)."""
        in_dm = guild_id is None
        candidates = ([] if in_dm else self._app_commands.get(guild_id, [])) + self._app_commands.get(None, [])
        for command in candidates:
            if command["name"] != name or command.get("type", 1) != 1:
                continue
            contexts = command.get("contexts")
            if in_dm and (command.get("dm_permission") is False or (contexts is not None and 1 not in contexts)):
                continue
            if not in_dm and contexts is not None and 0 not in contexts:
                continue
            return command
        return None

    def _log_interaction(self, interaction: _Interaction, kind: str, callback_type: int | None, data: dict,
                         message: dict | None) -> None:
        self._interaction_log.append({
            "interaction_id": str(interaction.id), "interaction_type": interaction.type,
            "custom_id": interaction.custom_id, "command": interaction.command,
            "user_id": interaction.user["id"], "channel_id": str(interaction.channel_id),
            "kind": kind, "type": callback_type, "data": copy.deepcopy(data),
            "ephemeral": bool(message is not None and int(message.get("flags") or 0) & FLAG_EPHEMERAL),
            "message_id": message["id"] if message is not None else None,
        })

    def _interaction_message(self, interaction: _Interaction, data: dict, *, loading: bool = False,
                             followup: bool = False) -> dict:
        """A message the app sends in answer to an interaction: shown to everyone in the
        channel (and dispatched), or, with flag 64, only to the member who interacted."""
        ephemeral = bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)
        message = self._new_message(interaction.channel_id, self._users[self.bot_id], data.get("content") or "",
                                    member=False)
        slash = interaction.type == INTERACTION_APPLICATION_COMMAND
        message["type"] = 20 if slash and not followup else 0  # CHAT_INPUT_COMMAND for the response
        message["webhook_id"] = str(self.application_id)
        message["application_id"] = str(self.application_id)
        message["tts"] = bool(data.get("tts"))
        message["embeds"] = list(data.get("embeds") or [])
        message["components"] = _components(data.get("components"))
        message["flags"] = (FLAG_EPHEMERAL if ephemeral else 0) | (FLAG_LOADING if loading else 0)
        metadata: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type,
                                    "user": copy.deepcopy(interaction.user),
                                    "authorizing_integration_owners": self._owners(interaction.channel_id)}
        if interaction.message_id is not None:
            metadata["interacted_message_id"] = str(interaction.message_id)
        if followup and interaction.original_id is not None:
            metadata["original_response_message_id"] = str(interaction.original_id)
        message["interaction_metadata"] = metadata
        if slash:
            message["interaction"] = {"id": str(interaction.id), "type": interaction.type,
                                      "name": interaction.command, "user": copy.deepcopy(interaction.user)}
        self._mentions(message, data.get("allowed_mentions"))
        interaction.message_ids.add(int(message["id"]))
        if ephemeral:
            message["_viewer"] = interaction.user["id"]
            self._ephemeral[int(message["id"])] = message
        else:
            self._store_and_dispatch(message)
        return message

    def _interaction_target(self, interaction: _Interaction, message_id: int | None) -> dict | None:
        if message_id is None:
            return None
        return self._get_message(interaction.channel_id, message_id) or self._ephemeral.get(message_id)

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        try:
            interaction = self._interactions.get(int(request.match_info["interaction_id"]))
        except ValueError:
            interaction = None
        if interaction is None or interaction.token != request.match_info["interaction_token"]:
            return _error(404, "Unknown interaction", 10062)
        if interaction.response_type is not None:
            return _error(400, "Interaction has already been acknowledged.", 40060)
        if self.interaction_ack_deadline is not None \
                and time.monotonic() - interaction.created > self.interaction_ack_deadline:
            return _error(404, "Unknown interaction", 10062)
        body = request[_JSON_BODY]
        if not isinstance(body, dict) or body.get("type") is None:
            return _form_error("type", "BASE_TYPE_REQUIRED", "This field is required")
        kind = body["type"]
        allowed = (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE, CALLBACK_MODAL)
        if interaction.type == INTERACTION_MESSAGE_COMPONENT:
            allowed += (CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE)
        if kind not in allowed:
            return _form_error("type", "BASE_TYPE_CHOICES",
                               "Value must be one of {" + ", ".join(map(str, sorted(allowed))) + "}.")
        data = body.get("data") or {}
        if not isinstance(data, dict):
            return _form_error("data", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        message = None
        if kind == CALLBACK_CHANNEL_MESSAGE:
            invalid = self._validate_content(data)
            if invalid is not None:
                return invalid
            try:
                _components(data.get("components"))
            except _FormError as error:
                return _FormError(("data",) + error.path, error.code, error.message).response()
            message = self._interaction_message(interaction, data)
        elif kind == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            message = self._interaction_message(interaction, {"flags": data.get("flags")}, loading=True)
        elif kind == CALLBACK_UPDATE_MESSAGE:
            message = self._interaction_target(interaction, interaction.message_id)
            if message is None:
                return _error(404, "Unknown Message", 10008)
            try:
                _components(data.get("components"))
            except _FormError as error:
                return _FormError(("data",) + error.path, error.code, error.message).response()
            edited = self._apply_edit(message, data)
            if edited.status != 200:
                return edited
        elif kind == CALLBACK_MODAL:
            for key in ("custom_id", "title", "components"):
                if not data.get(key):
                    return _FormError(("data", key), "BASE_TYPE_REQUIRED", "This field is required").response()
        interaction.response_type = kind
        if kind in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE):
            interaction.original_id = int(message["id"])
        self._log_interaction(interaction, "callback", kind, data, message)
        if request.query.get("with_response", "false").lower() not in ("true", "1"):
            return web.Response(status=204)
        callback: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        if kind in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE):
            callback.update(response_message_id=message["id"],
                            response_message_loading=kind == CALLBACK_DEFERRED_CHANNEL_MESSAGE,
                            response_message_ephemeral=bool(int(message["flags"]) & FLAG_EPHEMERAL))
        answer: dict[str, Any] = {"interaction": callback}
        if message is not None:
            answer["resource"] = {"type": kind, "message": self._public(message)}
        return _json(answer)

    def _interaction_by_token(self, request: web.Request) -> _Interaction | web.Response:
        """The interaction whose token is in a /webhooks/{application_id}/{token} path."""
        interaction = self._interactions.get(self._interaction_tokens.get(request.match_info["webhook_token"], 0))
        if interaction is None or time.monotonic() - interaction.created > INTERACTION_TOKEN_TTL:
            return _error(401, "Invalid Webhook Token", 50027)
        return interaction

    async def _followup(self, request: web.Request) -> web.Response:
        interaction = self._interaction_by_token(request)
        if isinstance(interaction, web.Response):
            return interaction
        if interaction.response_type is None:  # follow-ups need an initial response first
            return _error(404, "Unknown Webhook", 10015)
        body = self._message_body(request)
        if isinstance(body, web.Response):
            return body
        original = None
        if interaction.response_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            original = self._interaction_target(interaction, interaction.original_id)
        if original is not None and int(original.get("flags") or 0) & FLAG_LOADING:
            # The first follow-up after a "thinking" defer becomes that message.
            message = original
            edited = self._edit_interaction_message(message, body)
            if edited.status != 200:
                return edited
        else:
            message = self._interaction_message(interaction, body, followup=True)
        self._log_interaction(interaction, "followup", None, body, message)
        if request.query.get("wait", "false").lower() in ("true", "1"):
            return _json(self._public(message))
        return web.Response(status=204)

    def _edit_interaction_message(self, message: dict, body: dict) -> web.Response:
        """An edit through the interaction webhook; it also ends a "thinking" state."""
        flags = int(message.get("flags") or 0)
        message["flags"] = flags & ~FLAG_LOADING
        fields = {k: v for k, v in body.items() if k in ("content", "embeds", "components", "allowed_mentions")}
        edited = self._apply_edit(message, fields)
        if edited.status != 200:
            message["flags"] = flags
        return edited

    async def _interaction_message_route(self, request: web.Request) -> web.Response:
        """GET / PATCH / DELETE /webhooks/{application_id}/{token}/messages/{@original | id}."""
        interaction = self._interaction_by_token(request)
        if isinstance(interaction, web.Response):
            return interaction
        reference = request.match_info["message_id"]
        message_id: int | None = None
        if reference == "@original":
            if interaction.response_type in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE):
                message_id = interaction.original_id
            elif interaction.response_type in (CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE):
                message_id = interaction.message_id  # the message whose component was used
        elif reference.isdigit() and int(reference) in interaction.message_ids:
            message_id = int(reference)
        message = self._interaction_target(interaction, message_id)
        if message is None:
            return _error(404, "Unknown Message", 10008)
        if request.method == "GET":
            return _json(self._public(message))
        kind = "original" if reference == "@original" else "followup"
        if request.method == "DELETE":
            if "_viewer" in message:
                del self._ephemeral[int(message["id"])]
            else:
                self._delete_message(int(message["channel_id"]), int(message["id"]))
            self._log_interaction(interaction, f"delete_{kind}", None, {}, message)
            return web.Response(status=204)
        body = request[_JSON_BODY] or {}
        edited = self._edit_interaction_message(message, body)
        if edited.status == 200:
            self._log_interaction(interaction, f"edit_{kind}", None, body, message)
        return edited

    # -- REST: application commands --------------------------------------------------
    def _commands_scope(self, request: web.Request) -> tuple[bool, int | None, web.Response | None]:
        """(found, guild id or None for global, error response)."""
        if request.match_info["application_id"] != str(self.application_id):
            return False, None, _error(403, "Missing Access", 50001)
        raw = request.match_info.get("guild_id")
        if raw is None:
            return True, None, None
        if not raw.isdigit():
            return False, None, _form_error("guild_id", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
        if int(raw) not in self._guilds:
            return False, None, _error(403, "Missing Access", 50001)
        return True, int(raw), None

    async def _get_commands(self, request: web.Request) -> web.Response:
        found, guild_id, error = self._commands_scope(request)
        if not found:
            return error
        return _json(copy.deepcopy(self._app_commands.get(guild_id, [])))

    async def _put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite: the body is the whole new list; commands keep their id by (type, name)."""
        found, guild_id, error = self._commands_scope(request)
        if not found:
            return error
        body = request[_JSON_BODY]
        try:
            _check_commands(body)
        except _FormError as invalid:
            return invalid.response()
        existing = {(c["type"], c["name"]): c for c in self._app_commands.get(guild_id, [])}
        stored = []
        for given in body:
            kind = given.get("type") or 1
            old = existing.get((kind, given["name"]))
            permissions = given.get("default_member_permissions")
            command: dict[str, Any] = {
                "id": old["id"] if old else str(self._ids.next()), "application_id": str(self.application_id),
                "version": str(self._ids.next()), "type": kind, "name": given["name"],
                "name_localizations": given.get("name_localizations"),
                "description": given.get("description") or "",
                "description_localizations": given.get("description_localizations"),
                "default_member_permissions": None if permissions is None else str(permissions),
                "nsfw": bool(given.get("nsfw", False)), "contexts": given.get("contexts"),
                "integration_types": given.get("integration_types") or [0],
            }
            if given.get("options"):
                command["options"] = copy.deepcopy(given["options"])
            if guild_id is None:
                command["dm_permission"] = given.get("dm_permission") is not False
            else:
                command["guild_id"] = str(guild_id)
            stored.append(command)
        self._app_commands[guild_id] = stored
        return _json(copy.deepcopy(stored))

    # -- messages --------------------------------------------------------------
    def _validate_content(self, body: dict) -> web.Response | None:
        content = body.get("content")
        if content is not None and not isinstance(content, str):
            return _form_error("content", "STRING_TYPE_CONVERT", "Could not interpret the value as string.")
        if content and len(content) > MAX_CONTENT:
            return _form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
        if not (content or "").strip() and not body.get("embeds") and not body.get("sticker_ids") \
                and not body.get("attachments") and not body.get("poll"):
            return _error(400, "Cannot send an empty message", 50006)
        return None

    def _apply_edit(self, message: dict, body: dict) -> web.Response:
        try:
            components = _components(body.get("components")) if "components" in body else None
        except _FormError as error:
            return error.response()
        if "content" in body:
            invalid = self._validate_content({"content": body["content"],
                                              "embeds": message["embeds"] or body.get("embeds")})
            if invalid is not None:
                return invalid
            message["content"] = body["content"] or ""
        if "embeds" in body:
            message["embeds"] = list(body["embeds"] or [])
        if components is not None:
            message["components"] = components
        message["edited_timestamp"] = _iso(int(time.time() * 1000))
        notified = self._mentions(message, body.get("allowed_mentions"))
        for post in self._posts:
            if post["id"] == message["id"]:
                post["edits"].append(copy.deepcopy(body))
                post["notified_after_edit"] = notified
        if "_viewer" not in message:  # ephemeral messages are not dispatched
            self._dispatch("MESSAGE_UPDATE", message)
        return _json(self._public(message))

    def _new_message(self, channel_id: int, author: dict, content: str, *, member: bool) -> dict:
        message_id = self._ids.next()
        guild_id = self._channel_guild.get(channel_id)
        ms = (message_id >> 22) + DISCORD_EPOCH_MS
        message: dict[str, Any] = {
            "id": str(message_id), "type": 0, "channel_id": str(channel_id), "guild_id": str(guild_id),
            "author": dict(author), "content": content, "timestamp": _iso(ms), "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "components": [], "pinned": False, "flags": 0,
        }
        if guild_id is None:  # a DM
            del message["guild_id"]
        elif member:
            message["member"] = {
                "roles": [], "nick": None, "avatar": None, "banner": None, "premium_since": None,
                "pending": False, "mute": False, "deaf": False, "flags": 0,
                "joined_at": "2024-01-01T00:00:00.000000+00:00", "communication_disabled_until": None,
            }
        return message

    def _attachment(self, data: dict) -> dict:
        attachment_id = self._ids.next()
        filename = data.get("filename", "file.bin")
        url = f"https://cdn.discordapp.com/attachments/0/{attachment_id}/{filename}"
        return {"id": str(attachment_id), "filename": filename, "size": int(data.get("size", 1024)),
                "url": data.get("url", url), "proxy_url": data.get("url", url),
                "content_type": data.get("content_type"), **{k: v for k, v in data.items()
                                                             if k in ("width", "height", "description")}}

    def _attach_reference(self, message: dict, channel_id: int, target_id: int) -> None:
        target = self._get_message(channel_id, target_id)
        message["type"] = 19
        message["message_reference"] = {"type": 0, "message_id": str(target_id), "channel_id": str(channel_id)}
        if channel_id in self._channel_guild:
            message["message_reference"]["guild_id"] = str(self._channel_guild[channel_id])
        message["referenced_message"] = self._public(target) if target else None

    def _mentions(self, message: dict, allowed: dict | None) -> dict:
        """Fill the mention fields as Discord does and say who would be pinged.
        Without ``allowed_mentions`` Discord parses everything in the content."""
        content = message.get("content") or ""
        parse = {"everyone", "users", "roles"} if allowed is None else set(allowed.get("parse") or ())
        users_allowed = {int(u) for u in (allowed or {}).get("users") or ()}
        roles_allowed = {int(r) for r in (allowed or {}).get("roles") or ()}
        users = [int(u) for u in _USER_MENTION.findall(content)]
        roles = [int(r) for r in _ROLE_MENTION.findall(content)]
        pinged_users = [u for u in dict.fromkeys(users) if "users" in parse or u in users_allowed]
        pinged_roles = [r for r in dict.fromkeys(roles) if "roles" in parse or r in roles_allowed]
        everyone = bool(_EVERYONE.search(content)) and "everyone" in parse
        message["mention_everyone"] = everyone
        message["mentions"] = [self._users.get(u, {"id": str(u), "username": f"user{u}", "discriminator": "0",
                                                   "global_name": None, "avatar": None}) for u in pinged_users]
        message["mention_roles"] = [str(r) for r in pinged_roles]
        return {"everyone": everyone, "users": [str(u) for u in pinged_users],
                "roles": [str(r) for r in pinged_roles]}

    def _record_post(self, message: dict, body: dict, *, via: str, webhook_id: str | None) -> None:
        post = copy.deepcopy(body)
        post.update({"id": message["id"], "channel_id": message["channel_id"], "via": via,
                     "webhook_id": webhook_id, "notified": message["_notified"], "edits": [], "deleted": False})
        if self.receipts:
            post["received_at"] = _RECEIVED_AT.get()
        self._posts.append(post)

    def _store_and_dispatch(self, message: dict) -> None:
        message.pop("_notified", None)
        self._messages[int(message["channel_id"])][int(message["id"])] = message
        self._dispatch("MESSAGE_CREATE", message)

    def _delete_message(self, channel_id: int, message_id: int) -> None:
        message = self._messages.get(channel_id, {}).pop(message_id, None)
        if message is None:
            raise KeyError(f"no message {message_id} in channel {channel_id}")
        for post in self._posts:
            if post["id"] == str(message_id):
                post["deleted"] = True
        deleted = {"id": str(message_id), "channel_id": str(channel_id)}
        if channel_id in self._channel_guild:
            deleted["guild_id"] = str(self._channel_guild[channel_id])
        self._dispatch("MESSAGE_DELETE", deleted)

    def _get_message(self, channel_id: int, message_id: int) -> dict | None:
        return self._messages.get(channel_id, {}).get(message_id)

    def _public(self, message: dict) -> dict:
        data = {k: copy.deepcopy(v) for k, v in message.items() if not k.startswith("_")}
        data.pop("guild_id", None)  # REST message objects carry no guild_id
        data.pop("member", None)
        return data

    def _require_channel(self, channel_id: int) -> None:
        if channel_id not in self._channel_guild and channel_id not in self._dm_users:
            raise KeyError(f"unknown channel {channel_id}: add it with add_channel() (or open a DM)")

    def _remember_user(self, author: dict) -> dict:
        user = {"id": str(author["id"]), "username": author.get("username") or f"user{author['id']}",
                "global_name": author.get("global_name"), "discriminator": author.get("discriminator", "0"),
                "avatar": author.get("avatar"), "public_flags": 0, "flags": 0}
        if author.get("bot"):
            user["bot"] = True
        if author.get("system"):
            user["system"] = True
        self._users[int(user["id"])] = user
        return user

    # -- gateway -----------------------------------------------------------------
    def _dispatch(self, event: str, data: dict) -> None:
        """Queue a dispatch for every session entitled to it (sessions that are
        momentarily disconnected keep it for RESUME)."""
        direct = event.startswith("MESSAGE_") and "guild_id" not in data
        for session in list(self._sessions.values()):
            if event.startswith("MESSAGE_") and not session.intents & (
                    INTENT_DIRECT_MESSAGES if direct else INTENT_GUILD_MESSAGES):
                continue
            if event.startswith(("GUILD_", "CHANNEL_")) and not session.intents & INTENT_GUILDS:
                continue
            payload = {k: copy.deepcopy(v) for k, v in data.items() if not k.startswith("_")}
            # DMs with the app are exempt from the Message Content intent.
            if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not direct \
                    and not session.intents & INTENT_MESSAGE_CONTENT:
                self._strip_content(payload)
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": payload}
            session.buffer.append(frame)
            if session.connection is not None:
                session.connection.send(frame)

    def _strip_content(self, payload: dict) -> None:
        """What Discord sends without the Message Content intent: no content,
        embeds, attachments or components, except for the bot's own messages
        and messages that mention it."""
        own = payload.get("author", {}).get("id") == str(self.bot_id)
        mentioned = any(m.get("id") == str(self.bot_id) for m in payload.get("mentions") or ())
        if own or mentioned:
            return
        payload["content"] = ""
        payload["embeds"] = []
        payload["attachments"] = []
        payload["components"] = []

    def _ready_payload(self, session: _Session) -> dict:
        return {
            "v": 10, "user": self._bot_user(), "user_settings": {}, "session_type": "normal",
            "guilds": [{"id": str(g), "unavailable": True} for g in self._guilds],
            "session_id": session.id, "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": (1 << 19)},
            "private_channels": [], "relationships": [], "presences": [], "guild_join_requests": [],
            "geo_ordered_rtc_regions": [], "auth": {}, "_trace": ["[\"twinbridge-standin\"]"],
        }

    def _bot_permissions(self) -> int:
        return PERM_VIEW_CHANNEL | PERM_SEND_MESSAGES | PERM_MANAGE_MESSAGES | PERM_EMBED_LINKS \
            | PERM_READ_HISTORY | (PERM_MANAGE_WEBHOOKS if self.manage_webhooks else 0)

    def _guild_payload(self, guild_id: int) -> dict:
        guild = self._guilds[guild_id]
        permissions = self._bot_permissions()
        return {
            "id": str(guild_id), "name": guild["name"], "icon": None, "splash": None, "banner": None,
            "owner_id": "900000000000000009", "afk_channel_id": None, "afk_timeout": 300,
            "verification_level": 1, "default_message_notifications": 1, "explicit_content_filter": 2,
            "features": [], "mfa_level": 0, "system_channel_id": None, "system_channel_flags": 0,
            "rules_channel_id": None, "vanity_url_code": None, "description": None, "premium_tier": 0,
            "premium_subscription_count": 0, "preferred_locale": "en-US", "nsfw_level": 0,
            "premium_progress_bar_enabled": False, "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "large": False, "unavailable": False, "member_count": 2, "lazy": True,
            "roles": [{"id": str(guild_id), "name": "@everyone", "permissions": str(permissions),
                       "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False,
                       "icon": None, "unicode_emoji": None, "flags": 0}],
            "emojis": [], "stickers": [], "voice_states": [], "presences": [], "threads": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
            "members": [{"user": self._bot_user(), "roles": [], "nick": None, "avatar": None,
                         "joined_at": "2024-01-01T00:00:00.000000+00:00", "premium_since": None,
                         "deaf": False, "mute": False, "pending": False, "flags": 0,
                         "communication_disabled_until": None}],
            "channels": [self._channel_payload(c) for c in guild["channels"]],
        }

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.refusing_connections:
            return web.Response(status=503, text="gateway unavailable")
        ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        connection = _Connection(ws, compress=request.query.get("compress") == "zlib-stream")
        self._connections.add(connection)
        writer = asyncio.create_task(self._write(connection))
        connection.send({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS,
                                         "_trace": ["[\"twinbridge-standin\"]"]}, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self._on_frame(connection, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    connection.close(4002, "Error while decoding payload.")
                if connection.closing:
                    break
        finally:
            self._connections.discard(connection)
            if connection.session is not None and connection.session.connection is connection:
                connection.session.connection = None
            if not connection.closing:
                connection.queue.put_nowait(None)
            try:
                await asyncio.wait_for(writer, timeout=5)
            except Exception:  # noqa: BLE001 - the peer is gone either way
                writer.cancel()
        return ws

    async def _write(self, connection: _Connection) -> None:
        ws = connection.ws
        while True:
            item = await connection.queue.get()
            if item is None:
                return
            if isinstance(item, tuple):
                _, code, message = item
                await ws.close(code=code, message=message.encode())
                return
            if ws.closed:
                return
            text = json.dumps(item, separators=(",", ":"))
            try:
                if connection.compressor is not None:
                    data = (connection.compressor.compress(text.encode())
                            + connection.compressor.flush(zlib.Z_SYNC_FLUSH))
                    await ws.send_bytes(data)
                else:
                    await ws.send_str(text)
            except ConnectionError:
                return

    def _on_frame(self, connection: _Connection, raw: str) -> None:
        try:
            frame = json.loads(raw)
            op = frame["op"]
        except (ValueError, KeyError, TypeError):
            connection.close(4002, "Error while decoding payload.")
            return
        data = frame.get("d")
        if op == 1:
            connection.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            self._identify(connection, data or {})
        elif op == 6:
            self._resume(connection, data or {})
        elif op in (3, 4, 8):
            if connection.session is None:
                connection.close(4003, "Not authenticated.")
        else:
            connection.close(4001, "Unknown opcode.")

    def _identify(self, connection: _Connection, data: dict) -> None:
        if connection.session is not None:
            connection.close(4005, "Already authenticated.")
            return
        if data.get("token") not in (self.token, f"Bot {self.token}"):
            connection.close(4004, "Authentication failed")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            connection.close(4013, "Invalid intent(s).")
            return
        if intents & INTENT_MESSAGE_CONTENT and not self.message_content_enabled:
            connection.close(4014, "Disallowed intent(s).")
            return
        self.intents = intents
        session = _Session(id=secrets.token_hex(16), intents=intents)
        if len(self._sessions) >= MAX_SESSIONS:
            stale = next((s for s in self._sessions.values() if s.connection is None), None)
            if stale is not None:
                del self._sessions[stale.id]
        self._sessions[session.id] = session
        self.sessions_started += 1
        session.connection = connection
        connection.session = session
        # READY, then one GUILD_CREATE per guild, each numbered in this session.
        self._send_to(session, "READY", self._ready_payload(session))
        if intents & INTENT_GUILDS:
            for guild_id in self._guilds:
                self._send_to(session, "GUILD_CREATE", self._guild_payload(guild_id))
        self.identified.set()

    def _send_to(self, session: _Session, event: str, data: dict) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.buffer.append(frame)
        if session.connection is not None:
            session.connection.send(frame)

    def _resume(self, connection: _Connection, data: dict) -> None:
        if data.get("token") not in (self.token, f"Bot {self.token}"):
            connection.close(4004, "Authentication failed")
            return
        session = self._sessions.get(data.get("session_id") or "")
        last_seq = data.get("seq") or 0
        oldest = session.buffer[0]["s"] if session and session.buffer else 1
        if session is None or last_seq + 1 < oldest:
            connection.send({"op": 9, "d": False, "s": None, "t": None})
            return
        if session.connection is not None and session.connection is not connection:
            session.connection.close(4000, "Session resumed elsewhere")
        session.connection = connection
        connection.session = session
        for frame in session.buffer:
            if frame["s"] > last_seq:
                connection.send(frame)
        self._send_to(session, "RESUMED", {"_trace": ["[\"twinbridge-standin\"]"]})
