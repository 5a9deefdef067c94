"""Threads as the twins of Telegram forum topics, and a forum channel as a destination
(issue 15).

- A post from a Telegram topic goes into the linked channel's thread for it: made the
  first time (Start Thread without Message, named after the topic; in a forum channel a
  forum post opened by the post itself through the webhook's ``thread_name``),
  remembered both ways in Redis (core/storage/threads.py), posted into with the
  webhook's ``?thread_id=``.
- A forum channel takes no plain posts: a post from a chat itself goes into one forum
  post per source chat ("🌉 Leicester"), made once and remembered the same way.
- An archived, locked thread is unarchived where the bot may; a deleted one is made
  anew; otherwise the post goes to the channel itself under its "🧵 name" line (a forum:
  the source chat's post), counted. Never a stall.

The thread a post goes to travels to the sender's requests in :data:`WHERE` (one per
delivery task), so edits, deletes and the look for a crashed post act in it too."""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass, replace

import discord

from core.links import LinksConfig
from core.models import OutboundPost
from core.storage.threads import ThreadMap
from core.thread_heads import head_of

log = logging.getLogger(__name__)

THREAD_ARCHIVED = 50083
UNKNOWN_CHANNEL = 10003
ARCHIVE_AFTER = 10080  # minutes: a week, Discord's longest
REFUSAL_PAUSE = 600.0
BRIDGE_MARK = "🌉"


class ThreadRefused(Exception):
    """Discord refused a post into a thread: archived (and locked) or gone."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def thread_refusal(status: int, code: int) -> bool:
    return code in (THREAD_ARCHIVED, UNKNOWN_CHANNEL) or (status == 404 and code == UNKNOWN_CHANNEL)


@dataclass
class Where:
    """Where the current delivery acts: a thread of the destination channel (None: the
    channel itself), or a forum post to open with the first message (``new_post``, its
    name), whose id then becomes ``thread``."""

    thread: int | None = None
    new_post: str = ""
    twinned: bool = False


WHERE: ContextVar[Where | None] = ContextVar("discord_where", default=None)


def target(channel_id: int) -> int:
    where = WHERE.get()
    return where.thread if where is not None and where.thread else channel_id


def thread_object() -> discord.abc.Snowflake | None:
    where = WHERE.get()
    return discord.Object(id=where.thread) if where is not None and where.thread else None


class DiscordThreads:
    def __init__(self, sender, client: discord.Client, redis, keys, config: LinksConfig):
        self._sender = sender  # DiscordSender: its count()
        self._client = client
        self._map = ThreadMap(redis, keys)
        self._config = config
        self._refused_until: dict[int, float] = {}

    def is_forum(self, channel_id: int) -> bool:
        return isinstance(self._client.get_channel(channel_id), discord.ForumChannel)

    def _source_thread(self, post: OutboundPost) -> str:
        """The source's thread that has a twin here, "" for the chat itself."""
        if not post.thread or self._config.topics(post.destination) is False:
            return ""
        return post.thread

    async def where(self, post: OutboundPost, *, create: bool) -> Where:
        """Where ``post`` goes (``create``: make the twin thread or forum post if there is none)."""
        channel_id = int(post.destination.chat_id)
        forum = self.is_forum(channel_id)
        thread = self._source_thread(post)
        if not thread and not forum:
            return Where()
        twin = await self._map.twin(post.source.chat, thread, post.destination, post.retention_days)
        if twin is not None:
            return Where(int(twin) if twin else None, twinned=bool(thread))
        if not create:
            return Where()
        name = (head_of(post.text) if thread else f"{BRIDGE_MARK} {post.community}") or post.community or BRIDGE_MARK
        if forum:
            return Where(new_post=name[:100], twinned=bool(thread))
        if time.monotonic() < self._refused_until.get(channel_id, 0.0):
            await self._sender.count("discord.threads.fallback")
            return Where()
        try:
            data = await self._client.http.start_thread_without_message(
                channel_id, name=name[:100], auto_archive_duration=ARCHIVE_AFTER, type=11
            )
        except discord.HTTPException as exc:
            log.warning("could not make a thread in discord:%s (%s %s)", channel_id, exc.status, exc.code)
            self._refused_until[channel_id] = time.monotonic() + REFUSAL_PAUSE
            await self._sender.count("discord.threads.refused")
            await self._sender.count("discord.threads.fallback")
            return Where()
        await self._map.pair(post.source.chat, thread, post.destination, str(data["id"]), post.retention_days)
        await self._sender.count("discord.threads.created")
        return Where(int(data["id"]), twinned=True)

    async def opened(self, post: OutboundPost, where: Where) -> None:
        """A forum post was opened by the post's first message: remember it."""
        if where.thread:
            source = self._source_thread(post)
            await self._map.pair(post.source.chat, source, post.destination, str(where.thread), post.retention_days)
            await self._sender.count("discord.forum.posts_opened")

    async def refused(self, post: OutboundPost, where: Where, code: int) -> bool:
        """The thread refused the post: unarchive an archived one (True: try again), forget
        a gone one (True: made anew next); False: post without it."""
        assert where.thread is not None
        if code == THREAD_ARCHIVED:
            try:
                await self._client.http.edit_channel(where.thread, archived=False, locked=False)
            except discord.HTTPException as exc:
                log.warning("a thread in discord:%s is archived (%s)", post.destination.chat_id, exc.code)
                await self._sender.count("discord.threads.archived_fallback")
                return False
            await self._sender.count("discord.threads.unarchived")
            return True
        await self._map.forget(post.source.chat, self._source_thread(post), post.destination, str(where.thread))
        await self._sender.count("discord.threads.gone")
        return True

    def fallback(self, post: OutboundPost) -> OutboundPost:
        """The post as it goes when its thread cannot be used: to the channel itself, under
        its "🧵 name" line; in a forum, into the source chat's post."""
        return replace(post, thread="")
