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
"""
from __future__ import annotations

import asyncio
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
from datetime import datetime, timezone
from typing import Any

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_MESSAGE_CONTENT = 1 << 15

MAX_CONTENT = 2000
# Per-request storage for the parsed JSON body (a typed key where aiohttp has them).
_JSON_BODY = web.RequestKey("json_body", object) if hasattr(web, "RequestKey") else "json_body"
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
PERM_MANAGE_WEBHOOKS = 1 << 29

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(everyone|here)")
_FORBIDDEN_NAME = re.compile(r"discord|clyde", re.IGNORECASE)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


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
    session: "_Session | None" = None
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


class DiscordStandIn:
    """Discord's REST API, webhooks and gateway for one bot on 127.0.0.1.

    ``guilds`` maps guild id -> ``{"name": str, "channels": {channel_id: name}}``.
    ``manage_webhooks=False`` simulates a bot without the Manage Webhooks
    permission (webhook routes answer 403 Missing Permissions);
    ``message_content_enabled=False`` simulates the Message Content intent being
    off in the Developer Portal (an IDENTIFY asking for it is closed with 4014).
    ``route_limit`` is (requests, seconds) per route bucket, as announced in
    the ``X-RateLimit-*`` headers and enforced with 429s.
    """

    def __init__(self, token: str, guilds: dict[int, dict] | None = None,
                 bot_id: int = 900000000000000001, application_id: int = 900000000000000002, *,
                 bot_name: str = "twinbridge", manage_webhooks: bool = True,
                 message_content_enabled: bool = True, route_limit: tuple[int, float] = (5, 2.0)):
        self.token = token
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

        self._ids = _Snowflakes()
        self._guilds: dict[int, dict] = {}
        self._channel_guild: dict[int, int] = {}
        self._messages: dict[int, dict[int, dict]] = {}  # channel -> id -> message (API shape)
        self._posts: list[dict] = []
        self._webhooks: dict[int, dict] = {}
        self._users: dict[int, dict] = {bot_id: self._bot_user()}
        self._faults: list[_Fault] = []
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._sessions: dict[str, _Session] = {}
        self._connections: set[_Connection] = set()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
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
        in a channel; returns the message as Discord stores it."""
        channel_id = int(channel_id)
        self._require_channel(channel_id)
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
        notified (who Discord would ping), edits (bodies of later PATCHes) and
        deleted."""
        return [copy.deepcopy(p) for p in self._posts
                if channel_id is None or p["channel_id"] == str(channel_id)]

    def transcript(self, channel_id: int) -> list[tuple[str, str]]:
        """What members see now, oldest first: (author shown, content)."""
        shown = []
        for message in self._messages.get(int(channel_id), {}).values():
            author = message["author"]
            name = author["username"] if message.get("webhook_id") else (author.get("global_name") or author["username"])
            shown.append((name, message["content"]))
        return shown

    def message(self, channel_id: int, message_id: int) -> dict | None:
        found = self._get_message(int(channel_id), int(message_id))
        return copy.deepcopy(found) if found else None

    def webhooks(self, channel_id: int | None = None) -> list[dict]:
        return [copy.deepcopy(w) for w in self._webhooks.values()
                if channel_id is None or w["channel_id"] == str(channel_id)]

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
        ]
        for method, template, handler in routes:
            app.router.add_route(method, API_PREFIX + template, handler)
        app.router.add_get("/gateway", self._gateway)

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
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
        needs_bot = "{webhook_token}" not in route_name and route_name != "GET /gateway"
        if needs_bot and request.headers.get("Authorization") != f"Bot {self.token}":
            return _error(401, "401: Unauthorized")

        bucket_name = route_name
        major = request.match_info.get("channel_id") or (
            f"{request.match_info.get('webhook_id')}:{request.match_info.get('webhook_token')}"
            if "webhook_id" in request.match_info else "")
        fault = self._take_fault(request)
        if fault is not None:
            return self._fault_response(fault, bucket_name, major)
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

    def _spend(self, bucket_name: str, major: str) -> tuple[_Bucket, bool]:
        now = asyncio.get_running_loop().time()
        bucket = self._buckets.get((bucket_name, major))
        if bucket is None:
            bucket = self._buckets[(bucket_name, major)] = _Bucket(*self.route_limit)
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
        guild_id = self._channel_guild[channel_id]
        names = list(self._guilds[guild_id]["channels"])
        messages = self._messages.get(channel_id) or {}
        return {
            "id": str(channel_id), "type": 0, "guild_id": str(guild_id),
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
        if channel_id not in self._channel_guild:
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
        if body is None:
            return _error(400, "Cannot send an empty message", 50006)
        invalid = self._validate_content(body)
        return body if invalid is None else invalid

    async def _create_message(self, request: web.Request) -> web.Response:
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        body = self._message_body(request)
        if isinstance(body, web.Response):
            return body
        message = self._new_message(channel_id, self._users[self.bot_id], body.get("content") or "", member=True)
        message["tts"] = bool(body.get("tts"))
        message["embeds"] = list(body.get("embeds") or [])
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
        channel_id, message = found
        return _json(self._public(message))

    async def _edit_message(self, request: web.Request) -> web.Response:
        found = self._message_or_404(request)
        if isinstance(found, web.Response):
            return found
        channel_id, message = found
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

    async def _list_webhooks(self, request: web.Request) -> web.Response:
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        if not self.manage_webhooks:
            return _error(403, "Missing Permissions", 50013)
        return _json([self._webhook_payload(h) for h in self._webhooks.values()
                                  if h["channel_id"] == str(channel_id)])

    async def _create_webhook(self, request: web.Request) -> web.Response:
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        if not self.manage_webhooks:
            return _error(403, "Missing Permissions", 50013)
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
        if body.get("flags"):
            message["flags"] = int(body["flags"])
        message["_notified"] = self._mentions(message, body.get("allowed_mentions"))
        self._record_post(message, body, via="webhook", webhook_id=hook["id"])
        self._store_and_dispatch(message)
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
        found = self._webhook_message(request)
        if isinstance(found, web.Response):
            return found
        return _json(self._public(found[1]))

    async def _webhook_edit(self, request: web.Request) -> web.Response:
        found = self._webhook_message(request)
        if isinstance(found, web.Response):
            return found
        return self._apply_edit(found[1], request[_JSON_BODY] or {})

    async def _webhook_delete(self, request: web.Request) -> web.Response:
        found = self._webhook_message(request)
        if isinstance(found, web.Response):
            return found
        hook, message = found
        self._delete_message(int(hook["channel_id"]), int(message["id"]))
        return web.Response(status=204)

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
        if "content" in body:
            invalid = self._validate_content({"content": body["content"], "embeds": message["embeds"] or body.get("embeds")})
            if invalid is not None:
                return invalid
            message["content"] = body["content"] or ""
        if "embeds" in body:
            message["embeds"] = list(body["embeds"] or [])
        message["edited_timestamp"] = _iso(int(time.time() * 1000))
        notified = self._mentions(message, body.get("allowed_mentions"))
        for post in self._posts:
            if post["id"] == message["id"]:
                post["edits"].append(copy.deepcopy(body))
                post["notified_after_edit"] = notified
        self._dispatch("MESSAGE_UPDATE", message)
        return _json(self._public(message))

    def _new_message(self, channel_id: int, author: dict, content: str, *, member: bool) -> dict:
        message_id = self._ids.next()
        guild_id = self._channel_guild[channel_id]
        ms = (message_id >> 22) + DISCORD_EPOCH_MS
        message: dict[str, Any] = {
            "id": str(message_id), "type": 0, "channel_id": str(channel_id), "guild_id": str(guild_id),
            "author": dict(author), "content": content, "timestamp": _iso(ms), "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "components": [], "pinned": False, "flags": 0,
        }
        if member:
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
        message["message_reference"] = {"type": 0, "message_id": str(target_id), "channel_id": str(channel_id),
                                        "guild_id": str(self._channel_guild[channel_id])}
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
        self._dispatch("MESSAGE_DELETE", {"id": str(message_id), "channel_id": str(channel_id),
                                          "guild_id": str(self._channel_guild[channel_id])})

    def _get_message(self, channel_id: int, message_id: int) -> dict | None:
        return self._messages.get(channel_id, {}).get(message_id)

    def _public(self, message: dict) -> dict:
        data = copy.deepcopy(message)
        data.pop("_notified", None)
        data.pop("guild_id", None)  # REST message objects carry no guild_id
        data.pop("member", None)
        return data

    def _require_channel(self, channel_id: int) -> None:
        if channel_id not in self._channel_guild:
            raise KeyError(f"unknown channel {channel_id}: add it with add_channel()")

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
        for session in list(self._sessions.values()):
            if event.startswith("MESSAGE_") and not session.intents & INTENT_GUILD_MESSAGES:
                continue
            if event.startswith(("GUILD_", "CHANNEL_")) and not session.intents & INTENT_GUILDS:
                continue
            payload = copy.deepcopy(data)
            payload.pop("_notified", None)
            if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not session.intents & INTENT_MESSAGE_CONTENT:
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

    def _guild_payload(self, guild_id: int) -> dict:
        guild = self._guilds[guild_id]
        permissions = PERM_VIEW_CHANNEL | PERM_SEND_MESSAGES | PERM_MANAGE_MESSAGES | PERM_EMBED_LINKS \
            | PERM_READ_HISTORY | (PERM_MANAGE_WEBHOOKS if self.manage_webhooks else 0)
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

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
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
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - the peer is gone either way
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
                    data = connection.compressor.compress(text.encode()) + connection.compressor.flush(zlib.Z_SYNC_FLUSH)
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
