"""Reactions on relayed copies, counted per original (issue 15), asyncio client.

Counts only: per original message, per chat of a copy and emoji, how many reactions the
copies carry; never who reacted (a removal is the platform's "this member took theirs
back", counted down without knowing whom). Each change bumps the counts' version and
schedules one refresh of what the original shows, due a few seconds later unless one is
waiting already (the RSVP refresh's gate, core/storage/rsvps.py, in a sorted set per
platform instead of a Celery task: the refresh needs the platform's client, so the
adapter of the original's platform runs it, bridge/reactions.py). Everything expires
with the link's retention.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..models import ChatRef, MessageRef
from . import scripts
from .keys import DAY, Keys

VERSION = "~version"
TTL = "~ttl"
GONE = "~gone"  # the original was erased or deleted: nothing is counted for it any more
DUE_TTL = DAY  # the schedule of refreshes lives while reactions come (each change renews it)


@dataclass(frozen=True)
class Counts:
    """What one original's copies carry: chat key of the copy -> emoji -> count (> 0)."""

    by_chat: dict[str, dict[str, int]]
    version: str
    ttl: int

    def totals(self) -> dict[str, int]:
        summed: dict[str, int] = {}
        for emoji_counts in self.by_chat.values():
            for emoji, n in emoji_counts.items():
                summed[emoji] = summed.get(emoji, 0) + n
        return summed


class Reactions:
    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys
        self._count = scripts.register(redis, "reaction_count")
        self._claim = scripts.register(redis, "reaction_claim")
        self._done = scripts.register(redis, "reaction_done")

    async def change(
        self,
        original: MessageRef,
        copy_chat: ChatRef,
        values: dict[str, int],
        *,
        absolute: bool,
        retention_days: int,
        delay: float,
        now: float | None = None,
    ) -> bool:
        """Record reactions on the copy of ``original`` in ``copy_chat``: ``values`` are
        changes per emoji (+1, -1), or with ``absolute`` the copy's whole counts. Schedules
        the refresh ``delay`` seconds from now unless one is waiting. True when changed."""
        now = time.time() if now is None else now
        args: list = [max(1, retention_days) * DAY, "set" if absolute else "add", copy_chat.key]
        args += [repr(now + delay), original.key, DUE_TTL]
        for emoji, value in values.items():
            args += [emoji, int(value)]
        keys = [self._keys.reactions(original.key), self._keys.reactions_due(original.platform)]
        return bool(await self._count(keys=keys, args=args))

    async def claim_due(
        self, platform: str, lease: float, limit: int = 20, now: float | None = None
    ) -> list[MessageRef]:
        """The originals on ``platform`` whose refresh is due, claimed for ``lease`` seconds."""
        now = time.time() if now is None else now
        found = await self._claim(keys=[self._keys.reactions_due(platform)], args=[repr(now), repr(now + lease), limit])
        refs = []
        for member in found:
            text = member.decode() if isinstance(member, bytes) else member
            platform_, chat_id, message_id = text.split(":", 2)
            refs.append(MessageRef(platform_, chat_id, message_id))
        return refs

    async def counts(self, original: MessageRef) -> Counts:
        raw = await self._redis.hgetall(self._keys.reactions(original.key))
        by_chat: dict[str, dict[str, int]] = {}
        version, ttl = "", DAY
        for field, value in raw.items():
            field = field.decode() if isinstance(field, bytes) else field
            value = value.decode() if isinstance(value, bytes) else value
            if field == VERSION:
                version = value
            elif field == TTL:
                ttl = int(value)
            elif field.startswith("~"):
                continue  # a mark (GONE): no counts
            else:
                chat_key, _, emoji = field.partition("|")
                if int(value) > 0:
                    by_chat.setdefault(chat_key, {})[emoji] = int(value)
        return Counts(by_chat, version, ttl)

    async def done(self, original: MessageRef, version: str, next_due_in: float) -> bool:
        """The refresh that showed ``version`` finished; False when the counts changed
        meanwhile (the next refresh stays scheduled, ``next_due_in`` seconds from now)."""
        keys = [self._keys.reactions_due(original.platform), self._keys.reactions(original.key)]
        return bool(await self._done(keys=keys, args=[original.key, version, repr(time.time() + next_due_in)]))

    # What the original shows: the Telegram count line's id, the Discord bot's own reactions.
    async def line(self, original: MessageRef) -> str | None:
        value = await self._redis.get(self._keys.reaction_line(original.key))
        return (value.decode() if isinstance(value, bytes) else value) or None

    async def set_line(self, original: MessageRef, message_id: str | None, ttl: int) -> None:
        if message_id is None:
            await self._redis.delete(self._keys.reaction_line(original.key))
        else:
            await self._redis.set(self._keys.reaction_line(original.key), message_id, ex=max(1, ttl))

    async def shown(self, original: MessageRef) -> set[str]:
        members = await self._redis.smembers(self._keys.reactions_shown(original.key))
        return {m.decode() if isinstance(m, bytes) else m for m in members}

    async def set_shown(self, original: MessageRef, emoji: set[str], ttl: int) -> None:
        key = self._keys.reactions_shown(original.key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if emoji:
                pipe.sadd(key, *sorted(emoji))
                pipe.expire(key, max(1, ttl))
            await pipe.execute()


def forget_into(pipe, keys: Keys, original: MessageRef, retention_days: int, shown: bool) -> None:
    """Queue on ``pipe`` (a transaction, sync or asyncio) what takes an original's reactions
    back when it is erased or deleted (issue 15): its counts go, a mark (no counts, no
    reactor) keeps later reactions on its copies from being counted for the link's
    retention, and, when it ``shown`` anything (a Telegram count line, the bot's reactions
    on a Discord original), a refresh is due at once: the original's adapter sees no counts,
    deletes the count line or takes its reactions back, and forgets their ids."""
    counts = keys.reactions(original.key)
    ttl = max(1, retention_days) * DAY
    pipe.delete(counts)
    pipe.hset(counts, mapping={GONE: "1", TTL: str(ttl)})
    pipe.expire(counts, ttl)
    due = keys.reactions_due(original.platform)
    if shown:
        pipe.zadd(due, {original.key: 0})
        pipe.expire(due, DUE_TTL)
    else:
        pipe.zrem(due, original.key)


def shown_keys(keys: Keys, original: MessageRef) -> tuple[str, str]:
    """What an original shows of its copies' reactions: the Telegram count line's id, the
    Discord bot's own reactions (EXISTS over them says whether a refresh must take them back)."""
    return keys.reaction_line(original.key), keys.reactions_shown(original.key)


def forget_sync(redis, keys: Keys, original: MessageRef, retention_days: int) -> None:
    """:func:`forget_into` on its own (sync client): a deleted original (/delete, a Discord delete)."""
    shown = bool(redis.exists(*shown_keys(keys, original)))
    pipe = redis.pipeline(transaction=True)
    forget_into(pipe, keys, original, retention_days, shown)
    pipe.execute()
