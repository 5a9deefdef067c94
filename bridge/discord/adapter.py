"""The Discord adapter: discord.py's gateway in, the outbox out.

``start`` logs in over REST (so a rejected token is reported at once and
clearly), opens the gateway in a task (discord.py reconnects and RESUMEs by
itself), waits for READY, then starts consuming the Discord outbox.
Tokens and message text never reach the logs at INFO or above.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import discord
from discord.ext import commands

from ..adapter import AdapterStartError
from core.idmap import IdMap
from ..ingress import Ingress
from core.storage.keys import Keys
from ..media.refusals import RefusalNotices
from ..media.source import MediaSource
from .media_fetching import DiscordFetcher
from ..avatars.service import AvatarService
from core.links import LinksConfig
from core.models import ChatRef
from ..outbox import OutboxConsumer
from core.ratelimit import RateLimiter, discord_limits
from core.settings import Settings
from core.stats import Stats
from .cog import RelayCog
from .command_cog import CommandsCog
from .endpoints import use_api, use_gateway
from .gateway_guard import skip_malformed_events
from .reactions import DiscordReactionShower, ReactionCog
from .sender import DiscordSender, RecentDeletes
from ..reactions import ReactionCounter, ReactionRefresher

log = logging.getLogger(__name__)

LOGIN_TIMEOUT = 30.0
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

PORTAL_HINT = "https://discord.com/developers/applications"


def intents() -> discord.Intents:
    """Guild structure, guild messages, and their content (a privileged
    intent that must be switched on in the Developer Portal)."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    wanted.dm_messages = True  # commands said to the bot privately (/mydata, /approve)
    wanted.guild_reactions = True  # reactions on relayed copies, shown on the original (issue 15)
    return wanted


class RelayOnlyTree(discord.app_commands.CommandTree):
    """The bridge's slash commands are answered by CommandsCog.on_interaction (the same
    path as commands typed in a message). discord.py's own tree would look each one up
    among its (empty) registrations and log an error: its global check turns them away
    first, quietly."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return False


class NoVoiceWarnings(logging.Filter):
    """The bridge never joins voice: discord.py's one-time warnings that its voice
    libraries are missing (logged when a client is created) would only confuse."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).endswith("is not installed, voice will NOT be supported")


NO_VOICE_WARNINGS = NoVoiceWarnings()


def build_bot() -> commands.Bot:
    logging.getLogger("discord.client").addFilter(NO_VOICE_WARNINGS)  # once: the same filter object
    return commands.Bot(
        tree_cls=RelayOnlyTree,
        command_prefix=commands.when_mentioned,
        intents=intents(),
        help_command=None,
        # Belt and braces: the sender passes allowed_mentions on every post too.
        allowed_mentions=discord.AllowedMentions.none(),
        # No message cache: message text is kept only while in flight.
        max_messages=None,
        chunk_guilds_at_startup=False,
    )


class DiscordAdapter:
    platform = "discord"
    ready_timeout = READY_TIMEOUT

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
        self._client: commands.Bot | None = None
        self._connect_task: asyncio.Task | None = None
        self._outbox: OutboxConsumer | None = None
        self._sender: DiscordSender | None = None
        self._relay_stats: Stats | None = None
        self._outbox_task: asyncio.Task | None = None
        self._fetcher: DiscordFetcher | None = None
        self._stopping = False
        self._reaction_refresher: ReactionRefresher | None = None
        self._reaction_task: asyncio.Task | None = None

    @property
    def client(self) -> commands.Bot | None:
        return self._client

    # -- start -------------------------------------------------------------------
    async def start(self) -> None:
        token = self._settings.discord_bot_token
        if not token:
            raise AdapterStartError(
                "DISCORD_BOT_TOKEN is not set: create a bot in the Developer Portal "
                f"({PORTAL_HINT}), Bot tab, and set its token"
            )
        api_url = self._settings.discord_api_url.rstrip("/")
        use_api(api_url)
        self._stopping = False
        client = self._client = build_bot()
        recent_deletes = RecentDeletes()
        await client.add_cog(CommandsCog(client, config=self._config, ingress=self._ingress))
        self._relay_stats = Stats(self._redis, self._keys)
        relay_stats = self._relay_stats
        limiter = RateLimiter(self._redis, self._keys.prefix) if self._settings.rate_limits != "off" else None
        skip_malformed_events(client, lambda event: relay_stats.incr_soon("discord.skipped.malformed"))
        await client.add_cog(
            RelayCog(
                client,
                config=self._config,
                ingress=self._ingress,
                stats=self._relay_stats,
                idmap=IdMap(self._redis, self._keys),
                recent_deletes=recent_deletes,
                redis=self._redis,
                keys=self._keys,
                limiter=limiter,
            )
        )
        await client.add_cog(
            ReactionCog(
                client,
                config=self._config,
                counter=ReactionCounter(self._redis, self._keys, self._config, self._relay_stats),
                stats=self._relay_stats,
            )
        )
        try:
            await self._login(client, token, api_url)
            gateway = await self._gateway_url(client, api_url)
            use_gateway(gateway)
            self._connect_task = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
            await self._wait_ready(client, gateway)
        except BaseException:
            await self._close_client()
            raise
        if self._media is not None:
            # Other adapters' senders fetch this platform's attachments through it.
            self._fetcher = DiscordFetcher(api_url, refresh=_attachment_url_of(client))
            self._media.register(self.platform, self._fetcher)
        sender = self._sender = DiscordSender(
            client,
            self._redis,
            self._keys,
            recent_deletes=recent_deletes,
            limiter=limiter,
            api_url=api_url,
            media=self._media,
            avatars=self._avatars,
            config=self._config,
        )
        self._outbox = OutboxConsumer(
            self._redis,
            self._keys,
            sender,
            limiter=limiter,
            limits_for=discord_limits,
            refusals=RefusalNotices(self._redis, self._keys, self._config),
        )
        self._outbox_task = asyncio.create_task(self._outbox.run(), name="discord-outbox")
        shower = DiscordReactionShower(client, self._redis, self._keys, self._relay_stats, limiter=limiter)
        self._reaction_refresher = ReactionRefresher(self._redis, self._keys, "discord", shower.show, self._relay_stats)
        self._reaction_task = asyncio.create_task(self._reaction_refresher.run(), name="discord-reactions")
        log.info(
            "Discord: connected as bot %s to %d server(s)", client.user.id if client.user else "?", len(client.guilds)
        )
        await self._check_forums(client)

    async def _check_forums(self, client: commands.Bot) -> None:
        """A linked forum channel that receives posts takes them as forum posts (threads.py),
        which the bot opens through its webhook (Manage Webhooks) or itself (Send Messages,
        "Create Posts" in a forum): without either, say so now (ids only), and count it."""
        for chat in self._config.chats("discord"):
            channel = client.get_channel(int(chat.chat_id))
            if not isinstance(channel, discord.ForumChannel) or not self._receives(chat):
                continue
            allowed = channel.permissions_for(channel.guild.me)
            if allowed.manage_webhooks or allowed.send_messages:
                continue
            log.warning(
                "discord:%s is a linked forum channel the bot cannot post into: grant it Manage Webhooks "
                "(or Create Posts) there, or make the forum a one-way link's speaking side",
                chat.chat_id,
            )
            await self._relay_stats.incr("discord.forum.unpostable")

    def _receives(self, chat: ChatRef) -> bool:
        """Whether posts from another community arrive in ``chat`` (not a one-way link's speaker only)."""
        return any(
            m.link.direction == "both" or m.link.communities[0] != m.community.id
            for m in self._config.memberships(chat)
        )

    async def _login(self, client: commands.Bot, token: str, api_url: str) -> None:
        try:
            await asyncio.wait_for(client.login(token), timeout=LOGIN_TIMEOUT)
        except discord.LoginFailure:
            raise AdapterStartError(
                f"DISCORD_BOT_TOKEN was rejected by Discord at {api_url} (401 Unauthorized): "
                "reset the token in the Developer Portal, Bot tab"
            ) from None
        except discord.HTTPException as exc:
            raise AdapterStartError(
                f"Discord at {api_url} answered HTTP {exc.status} to the login request; check DISCORD_API_URL",
                retryable=exc.status >= 500 or exc.status == 429,
            ) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise AdapterStartError(
                f"cannot reach Discord at {api_url} ({exc.__class__.__name__}); check the network or DISCORD_API_URL",
                retryable=True,
            ) from None

    async def _gateway_url(self, client: commands.Bot, api_url: str) -> str:
        """DISCORD_GATEWAY_URL if set, else what Discord says (GET /gateway/bot)."""
        if self._settings.discord_gateway_url:
            return self._settings.discord_gateway_url
        try:
            _, url, _ = await asyncio.wait_for(client.http.get_bot_gateway(), timeout=LOGIN_TIMEOUT)
        except (TimeoutError, discord.GatewayNotFound, aiohttp.ClientError, OSError) as exc:
            raise AdapterStartError(
                f"Discord at {api_url} did not say which gateway to use "
                f"({exc.__class__.__name__}); set DISCORD_GATEWAY_URL or retry later",
                retryable=True,
            ) from None
        return url

    async def _wait_ready(self, client: commands.Bot, gateway: str) -> None:
        assert self._connect_task is not None
        ready = asyncio.ensure_future(client.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {ready, self._connect_task}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not ready.done():
                ready.cancel()
        if ready in done:
            return
        if self._connect_task in done:
            raise _gateway_start_error(self._connect_task, gateway)
        raise AdapterStartError(
            f"the Discord gateway at {gateway} sent no READY within {self.ready_timeout:.0f}s", retryable=True
        )

    # -- stop --------------------------------------------------------------------
    async def stop(self) -> None:
        self._stopping = True
        if self._reaction_refresher is not None and self._reaction_task is not None:
            self._reaction_refresher.stop()
            await asyncio.gather(self._reaction_task, return_exceptions=True)
        if self._outbox is not None:
            self._outbox.stop()
        if self._outbox_task is not None and not self._outbox_task.done():
            # Let it finish the post in hand; cancel if it takes too long.
            try:
                await asyncio.wait_for(asyncio.shield(self._outbox_task), timeout=STOP_TIMEOUT)
            except TimeoutError:
                self._outbox_task.cancel()
            except Exception:  # noqa: BLE001 - reported by wait_closed
                pass
            await asyncio.gather(self._outbox_task, return_exceptions=True)
        if self._sender is not None:
            await self._sender.close()
        if self._fetcher is not None:
            if self._media is not None:
                self._media.unregister(self.platform)
            await self._fetcher.close()
            self._fetcher = None
        await self._close_client()
        if self._relay_stats is not None:
            await self._relay_stats.flush()

    async def _close_client(self) -> None:
        if self._client is not None:
            try:
                await self._client.close()
            except Exception:  # closing is best effort
                log.debug("error while closing the Discord client", exc_info=True)
        if self._connect_task is not None:
            if not self._connect_task.done():
                try:
                    await asyncio.wait_for(asyncio.shield(self._connect_task), timeout=STOP_TIMEOUT)
                except Exception:  # noqa: BLE001 - timed out or failed: cancelled either way
                    self._connect_task.cancel()
            await asyncio.gather(self._connect_task, return_exceptions=True)

    async def wait_closed(self) -> None:
        """Return when the gateway or the outbox task ended; re-raise a crash."""
        tasks = {t for t in (self._connect_task, self._outbox_task) if t is not None}
        if not tasks:
            return
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.cancelled() or self._stopping:
                continue
            exc = task.exception()
            if exc is not None:
                raise exc


def _attachment_url_of(client: commands.Bot):
    """Asks Discord for an attachment's current URL (its message, read again)."""

    async def refresh(channel_id: int, message_id: int, attachment_id: str) -> str | None:
        try:
            data = await client.http.get_message(channel_id, message_id)
        except discord.NotFound:
            return None
        found = next((a for a in data.get("attachments") or () if str(a.get("id")) == attachment_id), None)
        return found.get("url") if found else None

    return refresh


def _gateway_start_error(task: asyncio.Task, gateway: str) -> AdapterStartError:
    exc = None if task.cancelled() else task.exception()
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return AdapterStartError(
            "Discord refused the Message Content intent (gateway close code 4014): open the Developer Portal "
            f'({PORTAL_HINT}), your application, Bot tab, switch on "Message Content Intent" under '
            "Privileged Gateway Intents, save, and start again"
        )
    if isinstance(exc, discord.ConnectionClosed) and exc.code == 4004:
        return AdapterStartError(
            f"DISCORD_BOT_TOKEN was rejected by the Discord gateway at {gateway} (close code 4004): "
            "reset the token in the Developer Portal, Bot tab"
        )
    if isinstance(exc, discord.ConnectionClosed):
        return AdapterStartError(
            f"the Discord gateway at {gateway} closed the connection (close code {exc.code})",
            retryable=exc.code not in (4010, 4011, 4012, 4013),
        )
    name = exc.__class__.__name__ if exc else "closed"
    return AdapterStartError(f"cannot connect to the Discord gateway at {gateway} ({name})", retryable=True)
