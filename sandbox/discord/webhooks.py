"""Channel webhooks: created and listed by the bot (with Manage Webhooks), executed,
fetched, edited and deleted by whoever holds their token. Paths whose webhook id is the
application's id are interaction webhooks and belong to :mod:`sandbox.discord.interactions`."""

from __future__ import annotations

import asyncio
import copy
import secrets

from aiohttp import web

from sandbox.discord import forms
from sandbox.discord.interactions import Interactions
from sandbox.discord.protocol import FILES, JSON_BODY, MAX_WEBHOOKS_PER_CHANNEL, DiscordError, Route, json_response
from sandbox.discord.state import DiscordState
from sandbox.discord.threads import Threads


class Webhooks:
    def __init__(self, state: DiscordState, interactions: Interactions, threads: Threads | None = None):
        self._threads = threads
        self._state = state
        self._interactions = interactions
        self._hooks: dict[int, dict] = {}
        self._answers_held: asyncio.Event | None = None  # see hold_webhook_answers

    def routes(self) -> list[Route]:
        return [
            ("GET", "/channels/{channel_id}/webhooks", self._list_webhooks),
            ("POST", "/channels/{channel_id}/webhooks", self._create_webhook),
            ("GET", "/webhooks/{webhook_id}/{webhook_token}", self._get_webhook),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", self._execute_webhook),
            ("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self._webhook_message_route),
            ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self._webhook_message_route),
            ("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self._webhook_message_route),
        ]

    # -- for tests -------------------------------------------------------------------
    def webhooks(self, channel_id: int | None = None) -> list[dict]:
        return [
            copy.deepcopy(w) for w in self._hooks.values() if channel_id is None or w["channel_id"] == str(channel_id)
        ]

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

    # -- the bot's side ----------------------------------------------------------------
    @staticmethod
    def _payload(hook: dict) -> dict:
        return {k: v for k, v in hook.items() if not k.startswith("_")}

    def _channel(self, request: web.Request) -> int:
        """The guild channel a webhook route names, if the bot may manage its webhooks."""
        channel_id = self._state.known_channel(request.match_info["channel_id"])
        if channel_id in self._state.dm_users:
            raise DiscordError(400, "Cannot execute action on a DM channel", 50003)
        if not self._state.manage_webhooks:
            raise DiscordError(403, "Missing Permissions", 50013)
        return channel_id

    async def _list_webhooks(self, request: web.Request) -> web.Response:
        channel_id = self._channel(request)
        return json_response([self._payload(h) for h in self._hooks.values() if h["channel_id"] == str(channel_id)])

    async def _create_webhook(self, request: web.Request) -> web.Response:
        channel_id = self._channel(request)
        name = (request[JSON_BODY] or {}).get("name") or ""
        forms.check_name("name", name)
        if sum(1 for h in self._hooks.values() if h["channel_id"] == str(channel_id)) >= MAX_WEBHOOKS_PER_CHANNEL:
            raise DiscordError(400, "Maximum number of webhooks reached (15)", 30007)
        webhook_id = self._state.ids.next()
        hook = {
            "id": str(webhook_id),
            "type": 1,
            "guild_id": str(self._state.channel_guild[channel_id]),
            "channel_id": str(channel_id),
            "name": name,
            "avatar": None,
            "token": secrets.token_urlsafe(51),
            "application_id": str(self._state.application_id),
            "user": self._state.users[self._state.bot_id],
        }
        self._hooks[webhook_id] = hook
        return json_response(self._payload(hook))

    # -- the token holder's side ---------------------------------------------------------
    def _is_interaction_webhook(self, request: web.Request) -> bool:
        return request.match_info["webhook_id"] == str(self._state.application_id)

    def _hook(self, request: web.Request) -> dict:
        try:
            hook = self._hooks.get(int(request.match_info["webhook_id"]))
        except ValueError:
            hook = None
        if hook is None:
            raise DiscordError(404, "Unknown Webhook", 10015)
        if request.match_info["webhook_token"] != hook["token"]:
            raise DiscordError(401, "Invalid Webhook Token", 50027)
        return hook

    async def _get_webhook(self, request: web.Request) -> web.Response:
        data = self._payload(self._hook(request))
        data.pop("user", None)
        return json_response(data)

    async def _execute_webhook(self, request: web.Request) -> web.Response:
        if self._is_interaction_webhook(request):
            return await self._interactions.followup(request)
        hook = self._hook(request)
        body = forms.message_body(request)
        username = body.get("username")
        if username is not None:
            forms.check_name("username", username, strip=True)
        state = self._state
        author = {
            "id": hook["id"],
            "username": (username or hook["name"]).strip(),
            "avatar": None,
            "discriminator": "0000",
            "public_flags": 0,
            "flags": 0,
            "bot": True,
            "global_name": None,
        }
        channel_id = int(hook["channel_id"])
        new_post = None
        if self._threads is not None:
            thread_name = body.get("thread_name")
            if thread_name and channel_id in state.forums and not request.query.get("thread_id"):
                new_post = thread_name
            else:
                channel_id = self._threads.webhook_target(channel_id, request.query.get("thread_id"))
                self._threads.postable(channel_id, via_webhook=True)
        state.check_message_files(channel_id, body, request.get(FILES) or {}, via="webhook")
        if new_post is not None:  # a forum post opened by its first message
            channel_id = self._threads.open_forum_post(channel_id, str(new_post), int(hook["id"]))
        message = state.new_message(channel_id, author, body.get("content") or "", member=False)
        if new_post is not None:
            message["id"] = str(channel_id)  # a forum post's first message has its thread's id
        message["webhook_id"] = hook["id"]
        message["application_id"] = hook.get("application_id")
        message["attachments"] = state.uploaded(body, request.get(FILES) or {}, [], channel_id)
        message["tts"] = bool(body.get("tts"))
        message["embeds"] = list(body.get("embeds") or [])
        message["components"] = forms.components(body.get("components"))  # the bot's webhooks are app-owned
        if body.get("flags"):
            message["flags"] = int(body["flags"])
        message["_notified"] = state.mentions(message, body.get("allowed_mentions"))
        state.record_post(message, body, via="webhook", webhook_id=hook["id"])
        state.store(message)
        if self._answers_held is not None:
            await self._answers_held.wait()
        if request.query.get("wait", "false").lower() in ("true", "1"):
            return json_response(state.public(message))
        return web.Response(status=204)

    async def _webhook_message_route(self, request: web.Request) -> web.Response:
        """GET / PATCH / DELETE /webhooks/{id}/{token}/messages/{message_id}."""
        if self._is_interaction_webhook(request):
            return await self._interactions.message_route(request)
        hook = self._hook(request)
        channel_id = int(hook["channel_id"])
        if self._threads is not None:
            channel_id = self._threads.webhook_target(channel_id, request.query.get("thread_id"))
        message = self._state.get_message(channel_id, int(request.match_info["message_id"]))
        if message is None or message.get("webhook_id") != hook["id"]:
            raise DiscordError(404, "Unknown Message", 10008)
        if request.method == "DELETE":
            self._state.delete_message(channel_id, int(message["id"]))
            return web.Response(status=204)
        if request.method == "PATCH":
            self._state.apply_edit(message, request[JSON_BODY] or {}, request.get(FILES) or {})
        return json_response(self._state.public(message))
