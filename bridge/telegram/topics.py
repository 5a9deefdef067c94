"""Forum topics as the twins of Discord threads (issue 15): a post from a thread (or
forum post) goes into the destination group's topic for it, made by the bot with
createForumTopic the first time (named after the thread), remembered both ways in Redis
(core/storage/threads.py) so later posts, and what members write in the topic, find
their twin. Where topics cannot be used (the group is no forum, `topics: false` in the
links file, the bot may not manage topics) the post goes to the General topic under its
"🧵 name" line, counted; a closed topic is reopened, a deleted one made anew, else the
same fallback: never a stall."""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import CreateForumTopic, GetChat, ReopenForumTopic

from core.links import LinksConfig
from core.models import OutboundPost
from core.storage.threads import ThreadMap
from core.thread_heads import head_of

log = logging.getLogger(__name__)

# The topic the post being sent goes to (the sender's calls add it as message_thread_id).
CURRENT_TOPIC: ContextVar[int | None] = ContextVar("telegram_topic", default=None)
REFUSAL_PAUSE = 600.0  # seconds before trying again to make topics where the bot was refused
FORUM_RECHECK = 3600.0  # seconds a group's is_forum is believed
CLOSED, GONE = "closed", "gone"


class TopicRefused(Exception):
    """A send into a topic was refused: the topic is closed, or gone (deleted)."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def topic_refusal(exc: TelegramBadRequest) -> str | None:
    """Whether a bad request means the topic is closed or gone."""
    said = str(exc.message or "").lower()
    if "topic_closed" in said:
        return CLOSED
    if "thread not found" in said or "topic_deleted" in said or "topic_id_invalid" in said:
        return GONE
    return None


@dataclass(frozen=True)
class Placement:
    topic: int | None  # the message_thread_id to send with (None: the General topic)
    twinned: bool  # the post goes to its thread's twin (so without its "🧵 name" line)


GENERAL = Placement(None, False)


class TelegramTopics:
    def __init__(self, sender, redis, keys, config: LinksConfig):
        self._sender = sender  # TelegramSender: its call() and count()
        self._map = ThreadMap(redis, keys)
        self._config = config
        self._forum: dict[str, tuple[bool, float]] = {}  # chat id -> (getChat said is_forum, until when)
        self._refused_until: dict[str, float] = {}

    async def placement(self, post: OutboundPost, *, create: bool = True) -> Placement:
        """Where a post from a thread goes in ``post.destination`` (``create``: make the
        twin topic if there is none; else the General topic)."""
        if not post.thread:
            return GENERAL
        destination, source = post.destination, post.source.chat
        choice = self._config.topics(destination)
        if choice is False:
            return GENERAL
        twin = await self._map.twin(source, post.thread, destination, post.retention_days)
        if twin is not None:
            return Placement(int(twin) if twin else None, True)
        if not create:
            return GENERAL
        if choice is None and not await self._is_forum(destination.chat_id):
            return GENERAL
        if time.monotonic() < self._refused_until.get(destination.chat_id, 0.0):
            await self._sender.count("telegram.topics.fallback")
            return GENERAL
        name = head_of(post.text) or post.community or "🧵"
        try:
            created = await self._sender.call(
                CreateForumTopic(chat_id=int(destination.chat_id), name=name[:128]), "createForumTopic"
            )
        except TelegramBadRequest as exc:
            # Not a forum, or the bot may not manage topics: the General topic, and no new try for a while.
            log.warning("could not make a forum topic in telegram:%s (%s)", destination.chat_id, _reason(exc))
            self._refused_until[destination.chat_id] = time.monotonic() + REFUSAL_PAUSE
            await self._sender.count("telegram.topics.refused")
            await self._sender.count("telegram.topics.fallback")
            return GENERAL
        topic = int(created.message_thread_id)
        await self._map.pair(source, post.thread, destination, str(topic), post.retention_days)
        await self._sender.count("telegram.topics.created")
        return Placement(topic, True)

    async def refused(self, post: OutboundPost, placement: Placement, why: str) -> bool:
        """The topic refused the post: reopen a closed one (True: try again), forget a gone
        one (True: the next placement makes it anew); False: use the General topic."""
        assert placement.topic is not None
        destination = post.destination
        if why == CLOSED:
            try:
                await self._sender.call(
                    ReopenForumTopic(chat_id=int(destination.chat_id), message_thread_id=placement.topic),
                    "reopenForumTopic",
                )
            except TelegramBadRequest as exc:
                log.warning("a forum topic in telegram:%s is closed (%s)", destination.chat_id, _reason(exc))
                await self._sender.count("telegram.topics.closed_fallback")
                return False
            await self._sender.count("telegram.topics.reopened")
            return True
        await self._map.forget(post.source.chat, post.thread, destination, str(placement.topic))
        await self._sender.count("telegram.topics.gone")
        return True

    async def _is_forum(self, chat_id: str) -> bool:
        """Whether the group has topics (getChat), asked again after an hour (topics can be
        turned on and off)."""
        known = self._forum.get(chat_id)
        if known is None or time.monotonic() > known[1]:
            try:
                chat = await self._sender.call(GetChat(chat_id=int(chat_id)), "getChat")
            except TelegramBadRequest:
                return False  # asked again next time
            known = self._forum[chat_id] = (bool(getattr(chat, "is_forum", False)), time.monotonic() + FORUM_RECHECK)
        return known[0]


def _reason(exc: TelegramBadRequest) -> str:
    """Telegram's error, without anything of the request (its text is Telegram's own)."""
    return str(exc.message or "bad request")[:80]
