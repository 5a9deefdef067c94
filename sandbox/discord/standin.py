"""The Discord stand-in as tests, benchmarks and the demo use it: one object that
serves the REST routes and the gateway on loopback, composed of its parts.

Each public attribute and method of :class:`DiscordStandIn` lives in the part that owns
its concern, listed below by part; the stand-in only wires the parts and serves them.
"""

from __future__ import annotations

from aiohttp import web

from sandbox.discord.app_commands import ApplicationCommands
from sandbox.discord.events import ScheduledEvents
from sandbox.discord.faults import Faults
from sandbox.discord.files import Files
from sandbox.discord.gateway import Gateway
from sandbox.discord.interactions import Interactions
from sandbox.discord.middleware import RestMiddleware
from sandbox.discord.protocol import API_PREFIX
from sandbox.discord.ratelimits import RateLimits
from sandbox.discord.reactions import Reactions
from sandbox.discord.rest import RestRoutes
from sandbox.discord.state import DiscordState
from sandbox.discord.threads import Threads
from sandbox.discord.webhooks import Webhooks
from sandbox.parts import Part


class DiscordStandIn:
    """Discord's REST API, webhooks and gateway for one bot on 127.0.0.1.

    ``guilds`` maps guild id -> ``{"name": str, "channels": {channel_id: name}}``.
    ``manage_webhooks=False`` simulates a bot without the Manage Webhooks
    permission (webhook routes answer 403 Missing Permissions); likewise
    ``pin_messages=False`` (pins) and ``manage_events=False`` (scheduled events),
    also settable later (``stand_in.pin_messages = False``);
    ``message_content_enabled=False`` simulates the Message Content intent being
    off in the Developer Portal (an IDENTIFY asking for it is closed with 4014).
    ``route_limit`` is (requests, seconds) per route bucket, as announced in
    the ``X-RateLimit-*`` headers and enforced with 429s.
    ``interaction_ack_deadline`` (seconds, None for no limit) is how long an
    interaction may wait for its initial response before Discord forgets it
    (404 Unknown interaction, 10062).
    A guild's ``"premium_tier"`` (0-3, default 0) sets its upload limit per file
    (10, 10, 50, 100 MiB; past it 413 with code 40005), as discord.py's
    ``Guild.filesize_limit`` reads it from GUILD_CREATE.
    ``global_limit`` (requests, seconds), off by default, is the global bucket
    over all REST requests but interaction callbacks. ``receipts=True`` stamps
    each post with ``received_at`` (``time.perf_counter()`` at its arrival).
    """

    # The world (state.py): the bot, guilds, channels, users, DMs, messages, posts.
    token = Part("state")
    bot_id = Part("state")
    application_id = Part("state")
    bot_name = Part("state")
    manage_webhooks = Part("state")
    pin_messages = Part("state")
    manage_events = Part("state")
    receipts = Part("state")
    add_channel = Part("state")
    add_forum = Part("state")
    add_thread = Part("state")
    inject_forum_post = Part("state")
    add_role = Part("state")
    give_role = Part("state")
    add_user = Part("state")
    close_dms = Part("state")
    open_dms = Part("state")
    dm_channel_id = Part("state")
    inject_message = Part("state")
    inject_edit = Part("state")
    inject_delete = Part("state")
    inject_bulk_delete = Part("state")
    inject_dispatch = Part("state")
    inject_malformed_message = Part("state")
    posts = Part("state")
    post_count = Part("state")
    transcript = Part("state")
    message = Part("state")
    bridge_messages = Part("state")
    dms = Part("state")
    pinned = Part("state")
    events = Part("state")
    attachment_bytes = Part("state")
    # Attachments' bytes (files.py): downloads served at base_url, members' files, uploads.
    downloads = Part("files")
    inject_files_message = Part("files")
    inject_voice_message = Part("files")
    inject_sticker_message = Part("files")
    sticker_downloads = Part("files")
    expire_attachment_url = Part("files")
    uploads = Part("files")
    # The gateway (gateway.py): sessions, intents, connections.
    message_content_enabled = Part("gateway")
    identified = Part("gateway")
    intents = Part("gateway")
    sessions_started = Part("gateway")
    refusing_connections = Part("gateway")
    end_sessions = Part("gateway")
    accept_connections = Part("gateway")
    drop_connections = Part("gateway")
    request_reconnect = Part("gateway")
    # Interactions (interactions.py) and application commands (app_commands.py).
    interaction_ack_deadline = Part("interactions")
    interaction_responses = Part("interactions")
    inject_component_click = Part("interactions")
    inject_slash_command = Part("interactions")
    application_commands = Part("app_commands")
    # Reactions (reactions.py): the bot's REST routes, members' reactions, what tests read.
    inject_reaction = Part("message_reactions")
    inject_unreaction = Part("message_reactions")
    reactions = Part("message_reactions")
    bot_reactions = Part("message_reactions")
    # Threads and forum posts the bot makes, archives, deletes (threads.py).
    archive_thread = Part("threads")
    delete_thread = Part("threads")
    threads_of = Part("threads")
    # Webhooks (webhooks.py).
    webhooks = Part("channel_webhooks")
    hold_webhook_answers = Part("channel_webhooks")
    release_webhook_answers = Part("channel_webhooks")
    # Rate limits (ratelimits.py), injected faults (faults.py), the request log (middleware.py).
    route_limit = Part("ratelimits")
    global_limit = Part("ratelimits")
    rate_limited_responses = Part("ratelimits")
    global_rate_limited_responses = Part("ratelimits")
    fail_next = Part("faults")
    fail_for = Part("faults")
    requests = Part("middleware")

    def __init__(
        self,
        token: str,
        guilds: dict[int, dict] | None = None,
        bot_id: int = 900000000000000001,
        application_id: int = 900000000000000002,
        *,
        bot_name: str = "twinbridge",
        manage_webhooks: bool = True,
        pin_messages: bool = True,
        manage_events: bool = True,
        message_content_enabled: bool = True,
        route_limit: tuple[int, float] = (5, 2.0),
        global_limit: tuple[int, float] | None = None,
        receipts: bool = False,
    ):
        self.state = DiscordState(
            token,
            guilds,
            bot_id=bot_id,
            application_id=application_id,
            bot_name=bot_name,
            manage_webhooks=manage_webhooks,
            receipts=receipts,
            pin_messages=pin_messages,
            manage_events=manage_events,
        )
        self.gateway = Gateway(self.state, message_content_enabled=message_content_enabled)
        self.files = Files(self.state)
        self.app_commands = ApplicationCommands(self.state)
        self.scheduled_events = ScheduledEvents(self.state)
        self.interactions = Interactions(self.state, self.app_commands)
        self.threads = Threads(self.state)
        self.channel_webhooks = Webhooks(self.state, self.interactions, self.threads)
        self.rest = RestRoutes(self.state, lambda: self.gateway_url, self.threads)
        self.message_reactions = Reactions(self.state)
        self.ratelimits = RateLimits(route_limit, global_limit)
        self.faults = Faults(self.ratelimits)
        self.middleware = RestMiddleware(self.state, self.ratelimits, self.faults)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # -- lifecycle -----------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # Multipart bodies are read part by part; this bounds the other bodies.
        app = web.Application(middlewares=[self.middleware.handle], client_max_size=16 * 1024 * 1024)
        for part in (
            self.rest,
            self.message_reactions,
            self.channel_webhooks,
            self.interactions,
            self.app_commands,
            self.scheduled_events,
            self.threads,
        ):
            for method, template, handler in part.routes():
                app.router.add_route(method, API_PREFIX + template, handler)
        app.router.add_get("/gateway", self.gateway.handle)
        self.files.add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self.gateway.url = self.gateway_url
        self.state.file_base = self.base_url

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
