"""The Telegram stand-in as tests, benchmarks and the demo use it: one object that
serves the Bot API on loopback, composed of its parts.

Each public attribute and method of :class:`TelegramStandIn` lives in the part that owns
its concern, listed below by part; the stand-in handles the HTTP envelope (token,
method, injected faults, limits) and serves the parts.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from sandbox.parts import Part
from sandbox.telegram.media import MediaStore
from sandbox.telegram.methods import BotMethods
from sandbox.telegram.protocol import ERROR_DESCRIPTIONS, UPLOAD_LIMIT, ApiError, read_params
from sandbox.telegram.profiles import Profiles
from sandbox.telegram.ratelimits import LIMITED_METHODS, SendLimits
from sandbox.telegram.reactions import Reactions
from sandbox.telegram.state import RECEIVED_AT, TelegramState
from sandbox.telegram.topics import ForumTopics
from sandbox.telegram.updates import Updates


class TelegramStandIn:
    """The Telegram Bot API for one bot, on 127.0.0.1.

    ``enforce_limits=True`` (for benchmarks) refuses sends over Telegram's published
    limits with 429s; ``receipts=True`` stamps each sent message with ``received_at``.
    """

    # The world (state.py): chats, messages, what the bot sent, the members' side.
    bot_user = Part("state")
    receipts = Part("state")
    inject_message = Part("state")
    inject_edit = Part("state")
    inject_update = Part("state")
    inject_unparseable = Part("state")
    start_private = Part("state")
    block_bot = Part("state")
    unblock_bot = Part("state")
    inject_callback = Part("state")
    expire_callbacks = Part("state")
    remove_bot = Part("state")
    deny_pin = Part("state")
    allow_pin = Part("state")
    allow_delete = Part("state")
    deny_delete = Part("state")
    age_message = Part("state")
    documents = Part("state")
    pinned = Part("state")
    make_admin = Part("state")
    remove_admin = Part("state")
    inject_as_group = Part("state")
    inject_channel_post = Part("state")
    inject_automatic_forward = Part("state")
    inject_content = Part("state")
    add_bot = Part("state")
    sent = Part("state")
    sent_count = Part("state")
    message = Part("state")
    bot_messages = Part("state")
    private_messages = Part("state")
    callback_answers = Part("state")
    transcript = Part("state")
    # Files both ways (media.py): uploads, getFile, downloads, members' photos and albums.
    inject_media = Part("media")
    inject_album = Part("media")
    inject_sticker = Part("media")
    inject_caption_edit = Part("media")
    uploads = Part("media")
    # Updates and long polling (updates.py).
    pending_updates = Part("updates")
    # The Bot API methods (methods.py).
    commands = Part("methods")
    hold_send_answers = Part("methods")
    release_send_answers = Part("methods")
    # Profile photos (profiles.py, their files in media.py); reactions (reactions.py).
    set_profile_photo = Part("profiles")
    inject_reaction = Part("reactions")
    inject_reaction_count = Part("reactions")
    bot_reactions = Part("reactions")
    # Forum topics (topics.py).
    make_forum = Part("forum_topics")
    deny_manage_topics = Part("forum_topics")
    inject_topic = Part("forum_topics")
    inject_topic_message = Part("forum_topics")
    close_topic = Part("forum_topics")
    delete_topic = Part("forum_topics")
    topics = Part("forum_topics")
    messages_in = Part("forum_topics")
    # Sending limits (ratelimits.py).
    rate_limited_by = Part("limits")

    def __init__(
        self,
        token: str,
        bot_id: int = 7000001,
        bot_username: str = "twinbridge_bot",
        *,
        enforce_limits: bool = False,
        receipts: bool = False,
    ):
        self.token = token
        self.enforce_limits = enforce_limits
        self.rate_limited_responses = 0  # every 429 sent (planned ones included)
        self.requests: list[tuple[float, str, dict]] = []
        bot_user = {"id": bot_id, "is_bot": True, "first_name": "twinbridge", "username": bot_username}
        self.updates = Updates()
        self.state = TelegramState(bot_user, self.updates, receipts=receipts)
        self.forum_topics = ForumTopics(self.state, self.updates)
        self.methods = BotMethods(self.state, self.updates, self.forum_topics)
        self.media = MediaStore(self.state, self.updates, self.forum_topics)
        self.limits = SendLimits()
        self.profiles = Profiles(self.media)
        self.reactions = Reactions(self.state, self.updates)
        self._method_table = {
            **self.methods.table(),
            **self.media.table(),
            **self.profiles.table(),
            **self.reactions.table(),
            **self.forum_topics.table(),
        }
        self._faults: dict[str, list[ApiError]] = {}
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None

    # -- lifecycle ----------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # Bodies up to twice the upload limit are read, so that an upload over it is
        # answered as Telegram does (413 in the Bot API's JSON), not by aiohttp.
        app = web.Application(client_max_size=2 * UPLOAD_LIMIT)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        # access_log=None: the access log would print request paths, and the path holds the token.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._host = host
        self._port = self._runner.addresses[0][1]
        self.updates.closing = False

    async def stop(self) -> None:
        self.updates.closing = True
        self.updates.wake()  # release long polls now rather than at their timeout
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("TelegramStandIn is not started")
        return f"http://{self._host}:{self._port}"

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        retry_after: int | None = None,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with a real Telegram error body."""
        if status == 429:
            retry_after = 5 if retry_after is None else retry_after
            text = description or f"Too Many Requests: retry after {retry_after}"
        else:
            text = description or ERROR_DESCRIPTIONS.get(status, "Error")
        for _ in range(count):
            self._faults.setdefault(method.lower(), []).append(ApiError(status, text, retry_after=retry_after))

    # -- HTTP ----------------------------------------------------------------------
    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        return await self.media.download(request)

    async def _handle(self, request: web.Request) -> web.Response:
        if self.state.receipts:
            RECEIVED_AT.set(time.perf_counter())
        method = request.match_info["method"]
        try:
            params = await read_params(request)
        except ApiError as error:
            return web.json_response(error.body(), status=error.status)
        self.requests.append((time.time(), method, params))
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._method_table.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            faults = self._faults.get(method.lower())
            if faults:
                raise faults.pop(0)
            if self.enforce_limits and method.lower() in LIMITED_METHODS:
                self.limits.spend(params)
            result: Any = await handler(params)
        except ApiError as error:
            if error.status == 429:
                self.rate_limited_responses += 1
            return web.json_response(error.body(), status=error.status)
        return web.json_response({"ok": True, "result": result})
