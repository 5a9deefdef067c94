"""Telegram albums being gathered into one event (bridge/telegram/albums.py): each part's
event until the album is whole, the albums due, and, once accepted, which parts it had and
which message the album goes by (asyncio client)."""

from __future__ import annotations

import json

from . import scripts
from .keys import DAY, Keys

DUE_TTL = 7 * DAY  # the set of albums due lives while any album is gathered


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class AlbumStore:
    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys
        self._add = scripts.register(redis, "album_add")
        self._finish = scripts.register(redis, "album_finish")

    @staticmethod
    def member(chat_key: str, group: str) -> str:
        return f"{chat_key}|{group}"

    async def add(self, chat_key: str, group: str, message_id: str, event: dict, due_ms: int, ttl: int) -> str:
        """Keep a part until ``due_ms`` (each part moves the album's due time on): 'added',
        'duplicate' (accepted with its album before) or 'late' (its album was accepted)."""
        parts, done = self._keys.album_parts(chat_key, group), self._keys.album_done(chat_key, group)
        keys = [parts, self._keys.albums_due(), done]
        args = [message_id, json.dumps(event, ensure_ascii=False), due_ms, ttl, self.member(chat_key, group), DUE_TTL]
        return _s(await self._add(keys=keys, args=args))

    async def replace(self, chat_key: str, group: str, message_id: str, event: dict) -> bool:
        """An edited part still being gathered: its new event; False when it is not there."""
        key = self._keys.album_parts(chat_key, group)
        if not await self._redis.hexists(key, message_id):
            return False
        await self._redis.hset(key, message_id, json.dumps(event, ensure_ascii=False))
        return True

    async def parts(self, chat_key: str, group: str) -> list[dict]:
        """The parts' events, in message order."""
        raw = await self._redis.hgetall(self._keys.album_parts(chat_key, group))
        return [json.loads(raw[k]) for k in sorted(raw, key=lambda k: int(_s(k)))]

    async def finish(
        self, chat_key: str, group: str, source_id: str, source_key: str, parts: list[tuple[str, str]], ttl: int
    ) -> None:
        """The album was accepted as ``source_id``; ``parts``: (message id, message key) of
        every part accepted with it, the source first."""
        keys = [
            self._keys.album_parts(chat_key, group),
            self._keys.albums_due(),
            self._keys.album_done(chat_key, group),
            *(self._keys.album_of(key) for message_id, key in parts if message_id != source_id),
        ]
        args = [ttl, self.member(chat_key, group), source_id, source_key, *(message_id for message_id, _ in parts)]
        await self._finish(keys=keys, args=args)

    async def drop_due(self, chat_key: str, group: str) -> None:
        """An album with no parts left (they expired): no longer waited for."""
        await self._redis.zrem(self._keys.albums_due(), self.member(chat_key, group))

    async def due(self, now_ms: int | None = None) -> list[tuple[str, str]]:
        """(chat key, group) of the albums whose quiet time is over (all of them without ``now_ms``)."""
        top = "+inf" if now_ms is None else now_ms
        members = await self._redis.zrangebyscore(self._keys.albums_due(), "-inf", top)
        return [tuple(_s(m).rsplit("|", 1)) for m in members]  # type: ignore[misc]

    async def source_of(self, chat_key: str, group: str) -> str | None:
        """The message id an accepted album goes by (None: not accepted, or forgotten)."""
        raw = await self._redis.hget(self._keys.album_done(chat_key, group), "source")
        return _s(raw) if raw is not None else None


def forget_gathered(redis, keys: Keys, is_theirs) -> int:
    """Erasure: drop every album still being gathered that holds a part ``is_theirs(event)``
    (the parts' captions and author wait here for a second or so before the ingress takes
    them); an adapter that flushes it after finds no parts and lets it go. Sync client;
    returns how many albums were dropped."""
    dropped = 0
    for member in redis.zrange(keys.albums_due(), 0, -1):
        chat_key, _, group = _s(member).rpartition("|")
        parts_key = keys.album_parts(chat_key, group)
        parts = redis.hvals(parts_key)
        if any(is_theirs(json.loads(raw)) for raw in parts):
            with redis.pipeline(transaction=True) as pipe:
                pipe.delete(parts_key)
                pipe.zrem(keys.albums_due(), member)
                pipe.execute()
            dropped += 1
    return dropped
