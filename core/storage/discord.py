"""What the Discord adapter keeps in Redis (asyncio client): the newest member message
accepted per channel (for catching up after a gateway session was lost), the last
``TRACKED`` accepted (to reconcile deletes and edits made meanwhile), and its
webhook per channel (stored as JSON: id and token; configuration-like, no expiry); the
scheduled event made for an announcement per guild (until a day after the event)."""

from __future__ import annotations

import json

from . import scripts
from .keys import Keys


DISCORD_EPOCH_MS = 1420070400000


def snowflake_ms(message_id: str) -> int:
    """The Unix time (ms) a Discord id was made at (exact as a sorted set's score)."""
    return (int(message_id) >> 22) + DISCORD_EPOCH_MS


class DiscordState:
    # Accepted messages remembered per channel: a new session looks this far back for
    # deletes and edits made while the adapter was away.
    TRACKED = 200

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    async def last_seen(self, channel_id: str) -> str | None:
        return await self._redis.get(self._keys.discord_last_seen(channel_id))

    async def marked(self, channel_ids: list[str], chunk: int = 1000) -> set[str]:
        """The channels with a last seen or an accepted message stored: the only ones a new
        session has anything to catch up or reconcile in. One round trip per ``chunk``
        channels (a deployment may link 10,000; one at a time took seconds at start-up)."""
        found: set[str] = set()
        for start in range(0, len(channel_ids), chunk):
            part = channel_ids[start : start + chunk]
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel_id in part:
                    pipe.exists(self._keys.discord_last_seen(channel_id), self._keys.discord_accepted(channel_id))
                counts = await pipe.execute()
            found.update(channel_id for channel_id, count in zip(part, counts, strict=True) if count)
        return found

    async def note_seen(self, channel_id: str, message_id: str, ttl: int) -> None:
        """Move the channel's last seen message on to ``message_id``, never back
        (snowflakes grow with time: a late event must not move it back), and keep it among
        the channel's newest accepted messages (at most ``TRACKED``). One round trip."""
        key = self._keys.discord_accepted(channel_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            last_seen = self._keys.discord_last_seen(channel_id)
            scripts.queue(pipe, "discord_keep_largest", keys=[last_seen], args=[message_id, ttl])
            pipe.zadd(key, {message_id: snowflake_ms(message_id)})
            pipe.zremrangebyrank(key, 0, -(self.TRACKED + 1))
            pipe.expire(key, ttl)
            await pipe.execute()

    async def accepted(self, channel_id: str) -> list[str]:
        """The channel's newest accepted member messages (ids), oldest first."""
        return list(await self._redis.zrange(self._keys.discord_accepted(channel_id), 0, -1))

    async def forget_accepted(self, channel_id: str, message_ids: list[str]) -> None:
        """Those messages are gone (deleted): a later session need not look for them."""
        if message_ids:
            await self._redis.zrem(self._keys.discord_accepted(channel_id), *message_ids)

    async def webhook(self, channel_id: int) -> tuple[int, str] | None:
        """Our webhook in the channel (id, token), if one is stored."""
        raw = await self._redis.hget(self._keys.webhooks(), str(channel_id))
        if not raw:
            return None
        data = json.loads(raw)
        return int(data["id"]), data["token"]

    async def save_webhook(self, channel_id: int, hook_id: int, token: str) -> None:
        await self._redis.hset(self._keys.webhooks(), str(channel_id), json.dumps({"id": str(hook_id), "token": token}))

    async def forget_webhook(self, channel_id: int) -> None:
        await self._redis.hdel(self._keys.webhooks(), str(channel_id))

    async def claim_guild_event(self, announcement_id: str, guild_id: int, ttl: int) -> bool:
        """True for the one caller that may make the announcement's event in the guild."""
        key = self._keys.discord_guild_event(announcement_id, str(guild_id))
        return bool(await self._redis.set(key, "pending", nx=True, ex=max(int(ttl), 60)))

    async def note_guild_event(self, announcement_id: str, guild_id: int, event_id: str, ttl: int) -> None:
        key = self._keys.discord_guild_event(announcement_id, str(guild_id))
        await self._redis.set(key, event_id, ex=max(int(ttl), 60))

    async def release_guild_event(self, announcement_id: str, guild_id: int) -> None:
        """Let a later post try again (the attempt failed for a passing reason)."""
        await self._redis.delete(self._keys.discord_guild_event(announcement_id, str(guild_id)))
