"""The Telegram adapter: aiogram long polling into ingress, the outbox out to Telegram.

Two tasks run side by side: the polling (:class:`~bridge.telegram.polling.Poller`:
getUpdates batches through aiogram's Dispatcher, members' messages ->
:class:`~bridge.ingress.Ingress`) and an :class:`~bridge.outbox.OutboxConsumer`
posting what the workers routed here through :class:`TelegramSender`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial

import aiohttp
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramServerError, TelegramUnauthorizedError
from aiogram.methods import DeleteWebhook, GetMe
from aiogram.utils.token import TokenValidationError

from ..adapter import AdapterStartError
from ..ingress import Ingress
from core.storage.copy_files import CopyFiles
from core.storage.keys import Keys
from ..media.refusals import RefusalNotices
from ..media.source import MediaSource
from ..avatars.service import AvatarService
from core.links import LinksConfig
from ..outbox import OutboxConsumer
from core.ratelimit import RateLimiter, telegram_limits
from core.settings import Settings
from core.stats import Stats
from .command_router import build_commands_router, register_commands
from .albums import AlbumCollector
from .handlers import build_errors_router, build_router
from .media_fetching import TelegramFetcher
from .middleware import Correlated
from .polling import Poller
from .profile_photos import profile_photo
from .reactions import TelegramReactionLine, build_reactions_router
from ..reactions import ReactionCounter, ReactionRefresher
from .sender import TelegramSender
from . import responses  # noqa: F401 - keeps the Bot API response models cached (see there)

log = logging.getLogger(__name__)

# message_reaction needs the bot to be an administrator of the group; message_reaction_count
# comes for messages whose reactions are anonymous (issue 15, bridge/telegram/reactions.py).
# channel_post / edited_channel_post: a linked channel's posts (issue 15).
ALLOWED_UPDATES = [
    "message",
    "edited_message",
    "callback_query",
    "message_reaction",
    "message_reaction_count",
    "channel_post",
    "edited_channel_post",
]
POLLING_TIMEOUT = 25  # seconds a getUpdates waits for news (Telegram's long poll)
START_TIMEOUT = 15  # seconds for getMe and deleteWebhook at start
STOP_GRACE = 10.0  # seconds to let the update or post in hand finish when stopping


class TelegramAdapter:
    platform = "telegram"

    def __init__(
        self,
        *,
        settings: Settings,
        config: LinksConfig,
        redis,
        keys: Keys,
        ingress: Ingress,
        media: MediaSource | None = None,
        avatars: AvatarService | None = None,
    ):
        # Avatars of Discord webhook posts (issue 15, bridge/avatars); None: Discord's default.
        self._avatars = avatars
        # Files: this adapter registers its platform's fetcher here and its sender fetches
        # other platforms' files from it (bridge/media); None: media are not relayed.
        self._media = media
        self._settings = settings
        self._config = config
        self._redis = redis
        self._keys = keys
        self._ingress = ingress
        self._bot: Bot | None = None
        self._dispatcher: Dispatcher | None = None
        self._consumer: OutboxConsumer | None = None
        self._polling_task: asyncio.Task | None = None
        self._consumer_task: asyncio.Task | None = None
        self._poller: Poller | None = None
        self._stats: Stats | None = None
        self._albums: AlbumCollector | None = None
        self._reaction_refresher: ReactionRefresher | None = None
        self._reaction_task: asyncio.Task | None = None

    @property
    def bot(self) -> Bot | None:
        return self._bot

    # -- start -----------------------------------------------------------------------
    async def start(self) -> None:
        url = self._settings.telegram_api_url
        token = self._settings.telegram_bot_token
        if not token:
            raise AdapterStartError(
                "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and put it in the environment or .env"
            )
        try:
            bot = Bot(
                token,
                session=AiohttpSession(api=TelegramAPIServer.from_base(url)),
                default=DefaultBotProperties(parse_mode=None),
            )
        except TokenValidationError:
            raise AdapterStartError(
                "TELEGRAM_BOT_TOKEN does not look like a Telegram bot token "
                "(expected <digits>:<secret>): copy it again from @BotFather"
            ) from None
        try:
            me = await self._connect(bot, url)
        except BaseException:
            await bot.session.close()
            raise
        self._bot = bot
        log.info("telegram adapter connected as @%s (id %s) via %s", me.username, me.id, url)

        self._stats = Stats(self._redis, self._keys)
        if self._media is not None:
            # Other platforms' senders fetch Telegram members' files through this bot.
            self._media.register(self.platform, TelegramFetcher(bot))
        # Before the first update: an album an earlier adapter was gathering is finished first.
        self._albums = AlbumCollector(self._redis, self._keys, self._ingress, self._stats)
        await self._albums.start()
        self._dispatcher = self._build_dispatcher(me.username, self._stats)
        # Each batch stored before the next getUpdates confirms it, each chat's updates
        # in the order members wrote, the chats side by side (polling.py says why).
        self._poller = Poller(
            bot, self._dispatcher, timeout=POLLING_TIMEOUT, allowed_updates=ALLOWED_UPDATES, stats=self._stats
        )
        self._polling_task = asyncio.create_task(self._poller.run(), name="telegram-polling")
        self._consumer = OutboxConsumer(
            self._redis,
            self._keys,
            TelegramSender(
                bot,
                stats=self._stats,
                media=self._media,
                copy_files=CopyFiles(self._redis, self._keys),
                redis=self._redis,
                keys=self._keys,
                config=self._config,
            ),
            limiter=RateLimiter(self._redis, self._keys.prefix) if self._settings.rate_limits != "off" else None,
            limits_for=telegram_limits,
            refusals=RefusalNotices(self._redis, self._keys, self._config),
        )
        self._consumer_task = asyncio.create_task(self._consumer.run(), name="telegram-outbox")
        limiter = RateLimiter(self._redis, self._keys.prefix) if self._settings.rate_limits != "off" else None
        line = TelegramReactionLine(bot, self._redis, self._keys, self._config, self._stats, limiter=limiter)
        self._reaction_refresher = ReactionRefresher(self._redis, self._keys, "telegram", line.show, self._stats)
        self._reaction_task = asyncio.create_task(self._reaction_refresher.run(), name="telegram-reactions")
        if self._avatars is not None:
            self._avatars.register("telegram", partial(profile_photo, bot))

    def _build_dispatcher(self, bot_username: str | None, stats: Stats) -> Dispatcher:
        # No FSM: the bridge keeps no conversation state, and the FSM middleware costs
        # ~6 % of the adapter's CPU per update (docs/benchmarks.md, profile). The
        # handlers take the ingress from the workflow data.
        dispatcher = Dispatcher(disable_fsm=True, ingress=self._ingress, albums=self._albums)
        # Every line about a group's message carries its correlation id (core/correlation.py).
        dispatcher.update.outer_middleware(Correlated())
        # Commands first: they are answered, never relayed.
        dispatcher.include_router(build_commands_router(self._config, bot_username))
        dispatcher.include_router(build_router(self._config, stats))
        counter = ReactionCounter(self._redis, self._keys, self._config, stats)
        dispatcher.include_router(build_reactions_router(self._config, counter, stats))
        dispatcher.include_router(build_errors_router(stats))
        # The poller emits these as aiogram's own polling does: the command menu before
        # the first getUpdates, the skipped-update counters flushed when polling ends.
        dispatcher.startup.register(register_commands)
        dispatcher.shutdown.register(stats.flush)
        return dispatcher

    @staticmethod
    async def _connect(bot: Bot, url: str):
        """getMe (is the token right, is the server there?) and drop any webhook,
        which would make getUpdates fail with 409."""
        try:
            me = await bot(GetMe(), request_timeout=START_TIMEOUT)
            await bot(DeleteWebhook(drop_pending_updates=False), request_timeout=START_TIMEOUT)
            return me
        except TelegramUnauthorizedError:
            raise AdapterStartError(
                f"TELEGRAM_BOT_TOKEN was rejected by the Telegram Bot API at {url} (401 Unauthorized): "
                "get a new token from @BotFather"
            ) from None
        except (TimeoutError, TelegramNetworkError, aiohttp.ClientError) as exc:
            kind = exc.message.split(":", 1)[0] if isinstance(exc, TelegramNetworkError) else type(exc).__name__
            raise AdapterStartError(
                f"cannot reach the Telegram Bot API at {url} ({kind}): check TELEGRAM_API_URL and the network",
                retryable=True,
            ) from None
        except TelegramServerError as exc:
            raise AdapterStartError(
                f"the Telegram Bot API at {url} is failing ({type(exc).__name__}); retrying", retryable=True
            ) from None
        except TelegramAPIError as exc:
            raise AdapterStartError(
                f"the Telegram Bot API at {url} refused to start the bot ({type(exc).__name__}: "
                f"{exc.message.split(':', 1)[0]})"
            ) from None

    # -- stop ------------------------------------------------------------------------
    async def stop(self) -> None:
        """Stop polling (after the update in hand), stop the outbox consumer (after the
        post in hand, within a grace period), close the HTTP session. Safe to call twice."""
        if self._avatars is not None:
            self._avatars.unregister("telegram")
        began = time.monotonic()
        await self._stop_polling()  # the dispatcher's shutdown flushes the counters
        log.debug("telegram adapter: polling stopped after %.1fs", time.monotonic() - began)
        if self._albums is not None:
            await self._albums.stop()  # no part comes any more: hand over what is gathered
            self._albums = None
        log.debug("telegram adapter: albums handed over after %.1fs", time.monotonic() - began)
        if self._reaction_refresher is not None and self._reaction_task is not None:
            self._reaction_refresher.stop()
            await asyncio.gather(self._reaction_task, return_exceptions=True)
        log.debug("telegram adapter: reactions stopped after %.1fs", time.monotonic() - began)
        await self._stop_consumer()
        log.debug("telegram adapter: outbox stopped after %.1fs", time.monotonic() - began)
        if self._media is not None:
            self._media.unregister(self.platform)
        if self._bot is not None:
            await self._bot.session.close()
            self._bot = None

    async def _stop_polling(self) -> None:
        task, poller = self._polling_task, self._poller
        if task is None or poller is None or task.done():
            return
        poller.stop()  # the batch in hand is stored first
        done, _ = await asyncio.wait([task], timeout=STOP_GRACE)
        if not done:
            # An outage holds an accept: its update stays unconfirmed and comes again.
            task.cancel()
            await asyncio.wait([task])

    async def _stop_consumer(self) -> None:
        task = self._consumer_task
        if self._consumer is None or task is None or task.done():
            return
        self._consumer.stop()
        done, _ = await asyncio.wait([task], timeout=STOP_GRACE)
        if not done:
            # Still waiting out a retry: the post stays pending in the consumer
            # group and is read again on the next start.
            task.cancel()
            await asyncio.wait([task])

    async def wait_closed(self) -> None:
        """Return when polling or the outbox consumer ended; re-raise if one crashed
        (call :meth:`stop` afterwards to release the other)."""
        tasks = [t for t in (self._polling_task, self._consumer_task) if t is not None]
        if not tasks:
            return
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()
