"""Threads and forum topics that are twins across a link (issue 15): a Discord thread (or
forum post) of a linked channel and the Telegram forum topic the bridge made for it, or
the other way round; and a Discord forum destination's post for one source chat (the
source "thread" "", the chat itself). Stored both ways, so either side's messages find
the other's: ids only, expiring with the link's retention and refreshed on each use."""

from __future__ import annotations

from core.models import ChatRef

from .keys import DAY, Keys


class ThreadMap:
    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    async def twin(self, chat: ChatRef, thread: str, other: ChatRef, retention_days: int) -> str | None:
        """The thread of ``other`` that is the twin of ``chat``'s ``thread`` (its expiry
        moved on: in use), or None."""
        key = self._keys.thread_map(chat.key, thread, other.key)
        found = await self._redis.getex(key, ex=_ttl(retention_days))
        if found is None:
            return None
        reverse = self._keys.thread_map(other.key, found, chat.key)
        await self._redis.expire(reverse, _ttl(retention_days))
        return found

    async def pair(self, chat: ChatRef, thread: str, other: ChatRef, other_thread: str, retention_days: int) -> None:
        """Remember that ``chat``'s ``thread`` and ``other``'s ``other_thread`` are twins."""
        ttl = _ttl(retention_days)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.thread_map(chat.key, thread, other.key), other_thread, ex=ttl)
            pipe.set(self._keys.thread_map(other.key, other_thread, chat.key), thread, ex=ttl)
            await pipe.execute()

    async def forget(self, chat: ChatRef, thread: str, other: ChatRef, other_thread: str) -> None:
        """The twin ``other_thread`` is gone (a deleted topic or thread): both ways forgotten."""
        await self._redis.delete(
            self._keys.thread_map(chat.key, thread, other.key), self._keys.thread_map(other.key, other_thread, chat.key)
        )


class CopyThreads:
    """Which thread of a chat each relayed copy was posted in (Discord: a thread's messages
    are addressed through the thread, not its channel)."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    async def note(self, chat: ChatRef, thread: str, message_ids: list[str], retention_days: int) -> None:
        if not message_ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for message_id in message_ids:
                pipe.set(self._keys.copy_thread(chat.key, message_id), thread, ex=_ttl(retention_days))
            await pipe.execute()

    async def thread_of(self, chat: ChatRef, message_id: str) -> str | None:
        return await self._redis.get(self._keys.copy_thread(chat.key, message_id))


def _ttl(retention_days: int) -> int:
    return max(int(retention_days), 1) * DAY
