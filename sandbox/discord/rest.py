"""The bot's REST routes: who it is, where the gateway is, users and DM channels,
channels and their messages (create, fetch, list, edit, delete; JSON, or multipart
with ``payload_json`` and ``files[n]`` for attachments), and pins (the routes
``/channels/{c}/messages/pins/{m}`` discord.py 2.7 calls, and the older
``/channels/{c}/pins/{m}``; Pin Messages needed in a guild, else 403 50013).

Not modelled: the "pinned a message" system message a pin leaves, the pin limit."""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Callable

from aiohttp import web

from sandbox.discord import forms
from sandbox.discord.protocol import (
    FILES,
    JSON_BODY,
    DiscordError,
    FormError,
    Route,
    iso,
    json_response,
    snowflake,
)
from sandbox.discord.state import DiscordState
from sandbox.discord.threads import Threads


class RestRoutes:
    def __init__(self, state: DiscordState, gateway_url: Callable[[], str], threads: Threads | None = None):
        self._state = state
        self._gateway_url = gateway_url
        self._threads = threads

    def routes(self) -> list[Route]:
        return [
            ("GET", "/users/@me", self._get_me),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/users/{user_id}", self._get_user),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/guilds/{guild_id}/threads/active", self._active_threads),
            # Before the message routes, which would take "pins" for a message id.
            ("GET", "/channels/{channel_id}/messages/pins", self._list_pins),
            ("PUT", "/channels/{channel_id}/messages/pins/{message_id}", self._pin),
            ("DELETE", "/channels/{channel_id}/messages/pins/{message_id}", self._unpin),
            ("GET", "/channels/{channel_id}/pins", self._list_pins_legacy),
            ("PUT", "/channels/{channel_id}/pins/{message_id}", self._pin),
            ("DELETE", "/channels/{channel_id}/pins/{message_id}", self._unpin),
            ("GET", "/channels/{channel_id}/messages", self._list_messages),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._fetch_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._remove_message),
        ]

    # -- identity and the gateway's address ----------------------------------------------
    async def _get_me(self, request: web.Request) -> web.Response:
        return json_response(self._state.bot_user())

    async def _get_user(self, request: web.Request) -> web.Response:
        return json_response(self._state.user(snowflake(request.match_info["user_id"], "user_id")))

    async def _create_dm(self, request: web.Request) -> web.Response:
        body = request[JSON_BODY]
        recipient = body.get("recipient_id") if isinstance(body, dict) else None
        if recipient is None:
            raise FormError(("recipient_id",), "BASE_TYPE_REQUIRED", "This field is required")
        try:
            user_id = int(recipient)
        except (TypeError, ValueError):
            raise FormError(("recipient_id",), "NUMBER_TYPE_COERCE", "Value is not snowflake.") from None
        if user_id == self._state.bot_id:
            raise DiscordError(400, "Invalid Recipient(s)", 50033)
        self._state.user(user_id)
        return json_response(self._state.channel_payload(self._state.dm_channel(user_id)))

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self._gateway_url()})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self._gateway_url(),
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1},
            }
        )

    async def _get_application(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "id": str(self._state.application_id),
                "name": self._state.bot_name,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": secrets.token_hex(32),
                "owner": {
                    "id": "900000000000000009",
                    "username": "owner",
                    "discriminator": "0",
                    "global_name": None,
                    "avatar": None,
                    "public_flags": 0,
                    "flags": 0,
                },
                "flags": (1 << 19),  # GATEWAY_MESSAGE_CONTENT_LIMITED: the intent toggle is on
                "team": None,
                "bot": self._state.bot_user(),
                "rpc_origins": [],
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
            }
        )

    # -- channels and messages ----------------------------------------------------------
    async def _get_channel(self, request: web.Request) -> web.Response:
        channel_id = self._state.known_channel(request.match_info["channel_id"])
        return json_response(self._state.channel_payload(channel_id))

    async def _active_threads(self, request: web.Request) -> web.Response:
        """List Active Guild Threads: every thread of the guild that is not archived, with
        the bot's thread members (none here: the bot joins no thread)."""
        guild_id = snowflake(request.match_info["guild_id"], "guild_id")
        if guild_id not in self._state.guilds:
            raise DiscordError(404, "Unknown Guild", 10004)
        threads = [
            copy.deepcopy(t)
            for t in self._state.threads.values()
            if t["guild_id"] == str(guild_id) and not t["thread_metadata"]["archived"]
        ]
        return json_response({"threads": threads, "members": []})

    async def _list_messages(self, request: web.Request) -> web.Response:
        channel_id = self._state.known_channel(request.match_info["channel_id"])
        limit = max(1, min(100, int(request.query.get("limit", 50))))
        before = int(request.query["before"]) if "before" in request.query else None
        after = int(request.query["after"]) if "after" in request.query else None
        found = [
            m
            for mid, m in self._state.messages[channel_id].items()
            if (before is None or mid < before) and (after is None or mid > after)
        ]
        # Discord answers newest first; with only `after`, the page is the oldest
        # `limit` messages after it (so a client can walk forward).
        page = found[:limit] if after is not None and before is None else found[-limit:]
        return json_response(list(reversed(page)))

    async def _create_message(self, request: web.Request) -> web.Response:
        state = self._state
        channel_id = state.known_channel(request.match_info["channel_id"])
        body = forms.message_body(request)
        if state.dm_users.get(channel_id) in state.closed_dms:
            raise DiscordError(403, "Cannot send messages to this user", 50007)
        if channel_id in state.channel_guild and not state.send_messages:
            raise DiscordError(403, "Missing Permissions", 50013)
        if self._threads is not None:
            self._threads.postable(channel_id, via_webhook=False)
        message = state.new_message(channel_id, state.users[state.bot_id], body.get("content") or "", member=True)
        state.check_message_files(channel_id, body, request[FILES], via="bot")
        message["attachments"] = state.uploaded(body, request[FILES], [], channel_id)
        message["tts"] = bool(body.get("tts"))
        message["embeds"] = list(body.get("embeds") or [])
        message["components"] = forms.components(body.get("components"))
        if body.get("flags"):
            message["flags"] = int(body["flags"])
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        reference = body.get("message_reference")
        if reference and reference.get("message_id"):
            target = int(reference["message_id"])
            if state.get_message(channel_id, target) is None:
                if reference.get("fail_if_not_exists", True):
                    raise FormError(("message_reference",), "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            else:
                state.attach_reference(message, channel_id, target)
        message["_notified"] = state.mentions(message, body.get("allowed_mentions"))
        state.record_post(message, body, via="bot", webhook_id=None)
        state.store(message)
        return json_response(state.public(message))

    def _message(self, request: web.Request) -> dict:
        channel_id = self._state.known_channel(request.match_info["channel_id"])
        return self._state.known_message(channel_id, request.match_info["message_id"])

    async def _fetch_message(self, request: web.Request) -> web.Response:
        return json_response(self._state.public(self._message(request)))

    async def _edit_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message.get("webhook_id") or message["author"]["id"] != str(self._state.bot_id):
            raise DiscordError(403, "Cannot edit a message authored by another user", 50005)
        self._state.apply_edit(message, request[JSON_BODY] or {}, request[FILES])
        return json_response(self._state.public(message))

    async def _remove_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        self._state.delete_message(int(message["channel_id"]), int(message["id"]))  # the bot has Manage Messages
        return web.Response(status=204)

    # -- pins ----------------------------------------------------------------------------
    def _pinnable(self, request: web.Request) -> dict:
        message = self._message(request)
        if int(message["channel_id"]) in self._state.channel_guild and not self._state.pin_messages:
            raise DiscordError(403, "Missing Permissions", 50013)
        return message

    async def _pin(self, request: web.Request) -> web.Response:
        message = self._pinnable(request)
        channel_id, message_id = int(message["channel_id"]), int(message["id"])
        pins = self._state.pins.setdefault(channel_id, [])
        if message_id not in [m for m, _ in pins]:
            pins.append((message_id, iso(int(time.time() * 1000))))
            message["pinned"] = True
            self._pins_update(channel_id)
        return web.Response(status=204)

    async def _unpin(self, request: web.Request) -> web.Response:
        message = self._pinnable(request)
        channel_id, message_id = int(message["channel_id"]), int(message["id"])
        pins = self._state.pins.get(channel_id, [])
        if message_id in [m for m, _ in pins]:
            self._state.pins[channel_id] = [p for p in pins if p[0] != message_id]
            message["pinned"] = False
            self._pins_update(channel_id)
        return web.Response(status=204)

    def _pins_update(self, channel_id: int) -> None:
        pins = self._state.pins.get(channel_id, [])
        data = {"channel_id": str(channel_id), "last_pin_timestamp": pins[-1][1] if pins else None}
        if channel_id in self._state.channel_guild:
            data["guild_id"] = str(self._state.channel_guild[channel_id])
        self._state.dispatch("CHANNEL_PINS_UPDATE", data)

    async def _list_pins(self, request: web.Request) -> web.Response:
        channel_id = self._state.known_channel(request.match_info["channel_id"])
        items = [
            {"pinned_at": at, "message": self._state.public(self._state.messages[channel_id][m])}
            for m, at in reversed(self._state.pins.get(channel_id, []))
        ]
        return json_response({"items": items, "has_more": False})

    async def _list_pins_legacy(self, request: web.Request) -> web.Response:
        channel_id = self._state.known_channel(request.match_info["channel_id"])
        pins = reversed(self._state.pins.get(channel_id, []))
        return json_response([self._state.public(self._state.messages[channel_id][m]) for m, _ in pins])
