"""The Discord stand-in as tests, benchmarks and the demo use it: one object that
serves the REST routes and the gateway on loopback, composed of its parts.

Each public attribute and method of :class:`DiscordStandIn` lives in the part that owns
its concern, listed below by part; the stand-in only wires the parts and serves them.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.discord.app_commands import ApplicationCommands
from sandbox.discord.faults import Faults
from sandbox.discord.gateway import Gateway
from sandbox.discord.interactions import Interactions
from sandbox.discord.middleware import RestMiddleware
from sandbox.discord.protocol import API_PREFIX
from sandbox.discord.ratelimits import RateLimits
from sandbox.discord.rest import RestRoutes
from sandbox.discord.state import DiscordState
from sandbox.discord.webhooks import Webhooks


class _Part:
    """A public attribute or method of the stand-in that lives in one of its parts
    (reads, calls and assignments go to the part)."""

    def __init__(self, part: str):
        self.part = part
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, stand_in: Any, owner: type | None = None) -> Any:
        if stand_in is None:
            return self
        return getattr(getattr(stand_in, self.part), self.name)

    def __set__(self, stand_in: Any, value: Any) -> None:
        setattr(getattr(stand_in, self.part), self.name, value)


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

    # The world (state.py): the bot, guilds, channels, users, DMs, messages, posts.
    token = _Part("state")
    bot_id = _Part("state")
    application_id = _Part("state")
    bot_name = _Part("state")
    manage_webhooks = _Part("state")
    receipts = _Part("state")
    add_channel = _Part("state")
    add_user = _Part("state")
    close_dms = _Part("state")
    open_dms = _Part("state")
    dm_channel_id = _Part("state")
    inject_message = _Part("state")
    inject_edit = _Part("state")
    inject_delete = _Part("state")
    inject_dispatch = _Part("state")
    inject_malformed_message = _Part("state")
    posts = _Part("state")
    post_count = _Part("state")
    transcript = _Part("state")
    message = _Part("state")
    bridge_messages = _Part("state")
    dms = _Part("state")
    # The gateway (gateway.py): sessions, intents, connections.
    message_content_enabled = _Part("gateway")
    identified = _Part("gateway")
    intents = _Part("gateway")
    sessions_started = _Part("gateway")
    refusing_connections = _Part("gateway")
    end_sessions = _Part("gateway")
    accept_connections = _Part("gateway")
    drop_connections = _Part("gateway")
    request_reconnect = _Part("gateway")
    # Interactions (interactions.py) and application commands (app_commands.py).
    interaction_ack_deadline = _Part("interactions")
    interaction_responses = _Part("interactions")
    inject_component_click = _Part("interactions")
    inject_slash_command = _Part("interactions")
    application_commands = _Part("app_commands")
    # Webhooks (webhooks.py).
    webhooks = _Part("channel_webhooks")
    hold_webhook_answers = _Part("channel_webhooks")
    release_webhook_answers = _Part("channel_webhooks")
    # Rate limits (ratelimits.py), injected faults (faults.py), the request log (middleware.py).
    route_limit = _Part("ratelimits")
    global_limit = _Part("ratelimits")
    rate_limited_responses = _Part("ratelimits")
    global_rate_limited_responses = _Part("ratelimits")
    fail_next = _Part("faults")
    fail_for = _Part("faults")
    requests = _Part("middleware")

    def __init__(self, token: str, guilds: dict[int, dict] | None = None,
                 bot_id: int = 900000000000000001, application_id: int = 900000000000000002, *,
                 bot_name: str = "twinbridge", manage_webhooks: bool = True,
                 message_content_enabled: bool = True, route_limit: tuple[int, float] = (5, 2.0),
                 global_limit: tuple[int, float] | None = None, receipts: bool = False):
        self.state = DiscordState(token, guilds, bot_id=bot_id, application_id=application_id, bot_name=bot_name,
                                  manage_webhooks=manage_webhooks, receipts=receipts)
        self.gateway = Gateway(self.state, message_content_enabled=message_content_enabled)
        self.app_commands = ApplicationCommands(self.state)
        self.interactions = Interactions(self.state, self.app_commands)
        self.channel_webhooks = Webhooks(self.state, self.interactions)
        self.rest = RestRoutes(self.state, lambda: self.gateway_url)
        self.ratelimits = RateLimits(route_limit, global_limit)
        self.faults = Faults(self.ratelimits)
        self.middleware = RestMiddleware(self.state, self.ratelimits, self.faults)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # -- lifecycle -----------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(middlewares=[self.middleware.handle], client_max_size=16 * 1024 * 1024)
        for part in (self.rest, self.channel_webhooks, self.interactions, self.app_commands):
            for method, template, handler in part.routes():
                app.router.add_route(method, API_PREFIX + template, handler)
        app.router.add_get("/gateway", self.gateway.handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self.gateway.url = self.gateway_url

    async def stop(self) -> None:
        self.gateway.close_all()
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
