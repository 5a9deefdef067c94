"""Gateway events -> ingress: the cog that listens to linked channels.

Every event first resolves its channel against the links (the config is an
allow-list: an unlinked channel is dropped and counted), then the skip rules
of :mod:`.convert`, then goes to :meth:`Ingress.accept`.

discord.py runs each listener call as its own task, so two messages written
in quick succession would race to the ingress and could swap places. Each
channel therefore has a lock taken before the first await: asyncio locks
queue their waiters in order, and the listener tasks start in the order the
gateway delivered the events, so events reach the ingress in that order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import discord
from discord.ext import commands
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from core.backoff import Backoff, log_retry
from core.correlation import correlated, of_source
from core.idmap import IdMap
from core.storage.discord import DiscordState
from core.storage.keys import Keys
from ..ingress import Ingress
from core.links import LinksConfig
from core.models import ChatRef, EventKind, MessageRef, PlatformEvent
from core.stats import Stats
from core.ratelimit import DISCORD_GLOBAL
from . import convert, reconcile
from .sender import RecentDeletes

log = logging.getLogger(__name__)

# Redis or the broker hiccuping must not lose what a member wrote: retry for
# about a minute (the gateway cannot redeliver an event we dropped).
ACCEPT_BACKOFF = Backoff(first=0.5, cap=30.0)
ACCEPT_ATTEMPTS = 8  # waits of 0.5, 1, 2, 4, 8, 16 and 30 s between them
# An id, not content; after a month away (or the link's retention, if shorter), no catching up.
LAST_SEEN_TTL = 30 * 86400
BULK_LIMIT = 100  # messages one MESSAGE_DELETE_BULK can name
_TRANSIENT = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


class RelayCog(commands.Cog, name="relay"):
    """Members' messages, edits and deletes in linked channels -> ingress."""

    def __init__(
        self,
        bot: commands.Bot,
        *,
        config: LinksConfig,
        ingress: Ingress,
        stats: Stats,
        idmap: IdMap,
        recent_deletes: RecentDeletes | None = None,
        redis=None,
        keys: Keys | None = None,
        limiter=None,
    ):
        self.bot = bot
        self._limiter = limiter  # the shared rate limiter (core/ratelimit.py), for history reads
        self._state = DiscordState(redis, keys) if redis is not None and keys is not None else None
        self._recent_deletes = recent_deletes if recent_deletes is not None else RecentDeletes()
        self._config = config
        self._ingress = ingress
        self._stats = stats
        self._idmap = idmap
        self._locks: dict[int, asyncio.Lock] = {}
        self._live = asyncio.Event()  # cleared while a new session catches up (on_connect .. on_ready)
        self._live.set()

    # -- catching up -------------------------------------------------------------
    @commands.Cog.listener()
    async def on_connect(self) -> None:
        """A new gateway session (discord.py dispatches ``connect`` on READY, never on
        RESUMED): hold the live events until :meth:`on_ready` has caught up, so that
        a message that arrives meanwhile neither overtakes the missed ones nor moves
        the last-seen mark past them. (This runs before any listener task of the
        session's later events: dispatched listeners start in order.)"""
        self._live.clear()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """A new gateway session (start, a session that could not be resumed, or a
        client rebuilt after a crash): what members wrote while we were away is not
        replayed by Discord, so read it from each linked channel's history since the
        last message we accepted. The ingress drops what it had already accepted."""
        try:
            if self._state is None:
                return
            threads = await self._active_threads()
            linked = [chat.chat_id for chat in self._config.chats("discord")]
            marked = await self._state.marked(linked)  # the others have nothing stored: a first start there
            for chat_id in linked:
                if chat_id in marked:
                    await self._catch_up(chat_id, threads.get(int(chat_id), []))
                    await self._reconcile(chat_id)
        finally:
            self._live.set()

    async def _active_threads(self) -> dict[int, list[discord.Thread]]:
        """The active threads (and forum posts) of the linked channels, by parent: one
        List Active Guild Threads per guild with a linked channel (threads made while we
        were away included). A guild whose list cannot be read is logged and counted; its
        channels are still caught up."""
        linked = {int(chat.chat_id) for chat in self._config.chats("discord")}
        guilds = {
            channel.guild
            for chat_id in linked
            if (channel := self.bot.get_channel(chat_id)) is not None and getattr(channel, "guild", None) is not None
        }
        found: dict[int, list[discord.Thread]] = {}
        for guild in guilds:
            try:
                await self._book_read()
                threads = await guild.active_threads()
            except discord.HTTPException as exc:
                log.warning("could not list the active threads of a guild (%s)", exc.status)
                await self._stats.incr("discord.catch_up.threads_unreadable")
                continue
            for thread in threads:
                if thread.parent_id is not None and thread.parent_id in linked:
                    found.setdefault(thread.parent_id, []).append(thread)
        return found

    async def _catch_up(self, chat_id: str, threads: Sequence[discord.Thread] = ()) -> None:
        """What was written in the channel and its active threads after the last message
        accepted from them, oldest first across all of them (snowflakes grow with time),
        each once: the ingress drops what it had accepted already."""
        channel = self.bot.get_channel(int(chat_id))
        caught_up = 0
        try:
            last_seen = await self._state.last_seen(chat_id)
            if not last_seen or channel is None:
                return  # first start: the bridge does not replay old history
            after = discord.Object(id=int(last_seen))
            async with self._lock(channel.id):  # in order with the live events held meanwhile
                missed = [m async for m in channel.history(limit=None, after=after, oldest_first=True)]
                for thread in threads:
                    if thread.last_message_id is not None and thread.last_message_id <= after.id:
                        continue  # nothing new in it
                    try:
                        missed += [m async for m in thread.history(limit=None, after=after, oldest_first=True)]
                    except discord.HTTPException as exc:
                        log.warning("could not read the history of a thread of discord:%s (%s)", chat_id, exc.status)
                        await self._stats.incr("discord.catch_up.thread_unreadable")
                for message in sorted(missed, key=lambda m: m.id):
                    event = await self._event_of(message)
                    if event is not None:
                        await self._accept_in_order(channel.id, event)
                        caught_up += 1
        except discord.HTTPException as exc:
            log.warning("could not read the history of discord:%s (%s)", chat_id, exc.status)
        except Exception as exc:  # noqa: BLE001 - one channel's failure must not stop the others
            log.error("could not catch up discord:%s (%s)", chat_id, exc.__class__.__name__)
        finally:
            if caught_up:
                log.info("caught up %d message(s) in discord:%s", caught_up, chat_id)
                await self._stats.incr("discord.caught_up", caught_up)

    async def _reconcile(self, chat_id: str) -> None:
        """Deletes and edits made in the channel while no session was there (reconcile.py):
        the same events as the live listeners', through the ingress, in the channel's order."""
        channel = self.bot.get_channel(int(chat_id))
        if self._state is None or channel is None:
            return
        deleted = edited = 0
        try:
            accepted = [int(i) for i in await self._state.accepted(chat_id)]
            if not accepted:
                return
            async with self._lock(channel.id):
                messages, complete = await reconcile.newest_messages(channel, min(accepted), self._book_read)
                by_id = {m.id: m for m in messages}
                gone, changed = reconcile.compare(
                    accepted, list(by_id), {m.id for m in messages if m.edited_at is not None}, complete
                )
                refs = [MessageRef(convert.PLATFORM, chat_id, str(i)) for i in (*gone, *changed)]
                relayed = dict(zip(refs, await self._idmap.relayed(refs), strict=True)) if refs else {}
                now = time.time()
                for message_id in gone:
                    if relayed[MessageRef(convert.PLATFORM, chat_id, str(message_id))]:
                        event = convert.deleted_event(channel.id, message_id, now=now)
                        deleted += await self._accept_in_order(channel.id, event)
                for message_id in changed:
                    message = by_id[message_id]
                    if not relayed[MessageRef(convert.PLATFORM, chat_id, str(message_id))]:
                        continue
                    if convert.skip_reason(message, self._own_ids()) is not None:
                        continue
                    event = convert.event_from_message(message, EventKind.EDIT)
                    if event is not None:
                        edited += await self._accept_in_order(channel.id, event)
                await self._state.forget_accepted(chat_id, [str(i) for i in gone])
        except discord.HTTPException as exc:
            log.warning("could not read the history of discord:%s to reconcile (%s)", chat_id, exc.status)
        except Exception as exc:  # noqa: BLE001 - one channel's failure must not stop the others
            log.error("could not reconcile discord:%s (%s)", chat_id, exc.__class__.__name__)
        finally:
            if deleted or edited:
                log.info("reconciled discord:%s: %d deleted, %d edited meanwhile", chat_id, deleted, edited)
            if deleted:
                await self._stats.incr("discord.reconciled.deleted", deleted)
            if edited:
                await self._stats.incr("discord.reconciled.edited", edited)

    async def _book_read(self) -> None:
        """A history page waits its turn under the bot's global limit, shared with the senders."""
        if self._limiter is not None:
            await self._limiter.acquire([DISCORD_GLOBAL])

    async def _remember_last_seen(self, event: PlatformEvent) -> None:
        if self._state is None or event.kind.value != "new":
            return
        await self._state.note_seen(
            event.source.chat_id,
            event.source.message_id,
            min(LAST_SEEN_TTL, self._config.retention_days(event.source.chat) * 86400),
        )

    # -- listeners -------------------------------------------------------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        event = await self._event_of(message)
        if event is not None:
            await self._accept(convert.home_channel_id(message.channel), event)

    async def _event_of(self, message: discord.Message) -> PlatformEvent | None:
        """The event to accept, or None (counted) when the message is not relayed. A
        message in a thread (or a forum post) of a linked channel is the channel's."""
        if not self._linked(convert.home_channel_id(message.channel)):
            await self._skipped("unknown_chat")
            return None
        reason = convert.skip_reason(message, self._own_ids())
        event = None if reason else convert.event_from_message(message, on_unparsed=self._unparsed)
        if event is None:
            await self._skipped(reason or "empty")
        return event

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        home = self._home_of(payload.channel_id)
        if not self._linked(home):
            await self._skipped("unknown_chat")
            return
        reason = convert.edit_skip_reason(payload, self._own_ids())
        event = None if reason else convert.event_from_raw_edit(payload, self._unparsed)
        if event is None:
            await self._skipped(reason or "empty")
            return
        await self._accept(home, event)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        home = self._home_of(payload.channel_id)
        if not self._linked(home):
            await self._skipped("unknown_chat")
            return
        reason = convert.delete_skip_reason(payload, self._own_ids())
        if reason is None and payload.message_id in self._recent_deletes:
            reason = "own_delete"  # the echo of a copy the bridge deleted
        if reason:
            await self._skipped(reason)
            return
        event = convert.event_from_raw_delete(payload, now=time.time(), home_id=home)
        await self._accept(home, event, unless_relayed_copy=True)

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        """A new thread or forum post: discord.py caches it from THREAD_CREATE, so its
        messages resolve to their parent's link. Counted where the parent is linked; the
        post itself arrives as its first message."""
        if thread.parent_id is not None and self._linked(thread.parent_id):
            await self._stats.incr("discord.threads.seen")

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        """A moderator deleted many messages at once (MESSAGE_DELETE_BULK): each one's
        copies go, as for MESSAGE_DELETE, its events handed to the ingress together, in
        the order the messages were written (the outbox then deletes consecutive ones in
        one request where the platform can)."""
        home = self._home_of(payload.channel_id)  # a thread's messages are its parent's
        if not self._linked(home):
            await self._skipped("unknown_chat")
            return
        cached = {message.id: message for message in payload.cached_messages}
        ids = sorted(payload.message_ids)
        if len(ids) > BULK_LIMIT:  # Discord deletes 2-100 at once: anything more is not Discord's
            await self._stats.incr("discord.skipped.bulk_over_limit", len(ids) - BULK_LIMIT)
            ids = ids[:BULK_LIMIT]
        now = time.time()
        events = []
        for message_id in ids:
            reason = convert.deleted_skip_reason(cached.get(message_id), self._own_ids())
            if reason is None and message_id in self._recent_deletes:
                reason = "own_delete"
            if reason:
                await self._skipped(reason)
                continue
            events.append(convert.deleted_event(home, message_id, cached.get(message_id), now=now))
        await self._live.wait()
        async with self._lock(home):
            for event in events:
                if await self._is_relayed_copy(event.source):
                    await self._skipped("relayed_copy")
                    continue
                await self._accept_in_order(home, event)

    # -- helpers ---------------------------------------------------------------
    def _home_of(self, channel_id: int) -> int:
        """A thread's parent (threads are cached from GUILD_CREATE and THREAD_CREATE), or
        the channel itself."""
        channel = self.bot.get_channel(channel_id)
        return convert.home_channel_id(channel) if channel is not None else channel_id

    def _linked(self, channel_id: int) -> bool:
        return bool(self._config.memberships(ChatRef(convert.PLATFORM, str(channel_id))))

    def _own_ids(self) -> set[int]:
        return {self.bot.user.id} if self.bot.user else set()

    async def _skipped(self, reason: str) -> None:
        if reason in ("webhook", "own_message"):
            self._stats.incr_soon(f"discord.skipped.{reason}")  # the echo of each post we make: batched
        else:
            await self._stats.incr(f"discord.skipped.{reason}")

    def _unparsed(self) -> None:
        self._stats.incr_soon("discord.formatting_unparsed")  # relayed as typed, without its formatting

    def _lock(self, channel_id: int) -> asyncio.Lock:
        return self._locks.setdefault(channel_id, asyncio.Lock())

    async def _accept(self, channel_id: int, event: PlatformEvent, *, unless_relayed_copy: bool = False) -> None:
        # Waiting for a catch-up keeps the order: waiters resume in the order they came.
        await self._live.wait()
        async with self._lock(channel_id):
            if unless_relayed_copy and await self._is_relayed_copy(event.source):
                # A relayed copy deleted here (e.g. by a moderator): that must
                # not delete the original in its own community.
                await self._skipped("relayed_copy")
                return
            await self._accept_in_order(channel_id, event)

    async def _accept_in_order(self, channel_id: int, event: PlatformEvent) -> bool:
        """Hand ``event`` to the ingress (the caller holds the channel's lock); True when
        it was new there (not a redelivery, not dropped)."""
        with correlated(of_source(event.source)):  # its lines carry its id (core/correlation.py)
            return await self._accept_retrying(channel_id, event)

    async def _accept_retrying(self, channel_id: int, event: PlatformEvent) -> bool:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_TRANSIENT),
            wait=ACCEPT_BACKOFF,
            stop=stop_after_attempt(ACCEPT_ATTEMPTS),
            reraise=True,
            before_sleep=log_retry(log, "ingress unavailable (%s); retrying in %.1fs"),
        )
        try:
            return await retrying(self._accept_and_remember, event)
        except _TRANSIENT as exc:
            log.error(
                "dropped a %s event from discord:%s: the ingress stayed unavailable (%s)",
                event.kind.value,
                channel_id,
                exc.__class__.__name__,
            )
            return False

    async def _accept_and_remember(self, event: PlatformEvent) -> bool:
        accepted = await self._ingress.accept(event)
        await self._remember_last_seen(event)
        return accepted

    async def _is_relayed_copy(self, ref: MessageRef) -> bool:
        return await self._idmap.origin(ref) is not None
