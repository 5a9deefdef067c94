"""Telegram members' profile photos as Discord avatars (issue 15): the photo (metadata
stripped) and the random token of its public URL, by person key (core/persons.py, never
a platform id), for the link's retention; erasure deletes both.

The token is random (not derived from the member), so a URL reveals nothing and, once
the entry is gone (expired, erased), leads nowhere: a later post makes a new one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .keys import Keys

NO_PHOTO_TTL = 3600  # a member without a photo is asked again after an hour


@dataclass(frozen=True)
class StoredAvatar:
    token: str
    has_photo: bool


class Avatars:
    """The asyncio side: `twinbridge run` (the Discord sender and the avatar server)."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    async def stored(self, person: str) -> StoredAvatar | None:
        token, has_photo = await self._redis.hmget(self._keys.avatar(person), ["token", "has_photo"])
        if not token:
            return None
        token = token.decode() if isinstance(token, bytes) else token
        return StoredAvatar(token, str(has_photo.decode() if isinstance(has_photo, bytes) else has_photo) == "1")

    async def save(self, person: str, photo: bytes | None, ttl: int) -> StoredAvatar:
        """Keep ``person``'s photo (None: they have none, remembered for an hour) under a new token."""
        token = secrets.token_urlsafe(24)
        ttl = max(1, ttl) if photo is not None else min(max(1, ttl), NO_PHOTO_TTL)
        key = self._keys.avatar(person)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            mapping = {"token": token, "has_photo": "1" if photo is not None else "0"}
            if photo is not None:
                mapping["photo"] = photo.hex()  # hex: the adapters' client decodes replies as text
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, ttl)
            pipe.set(self._keys.avatar_token(token), person, ex=ttl)
            await pipe.execute()
        return StoredAvatar(token, photo is not None)

    async def photo(self, token: str) -> bytes | None:
        """The photo a public URL's token serves, if it is still kept."""
        person = await self._redis.get(self._keys.avatar_token(token))
        if not person:
            return None
        person = person.decode() if isinstance(person, bytes) else person
        token_now, photo = await self._redis.hmget(self._keys.avatar(person), ["token", "photo"])
        token_now = token_now.decode() if isinstance(token_now, bytes) else token_now
        if token_now != token or not photo:
            return None
        return bytes.fromhex(photo.decode() if isinstance(photo, bytes) else photo)


def kept(redis, keys: Keys, person: str) -> bool:
    """Whether a photo of ``person`` is kept (synchronous client, for /mydata)."""
    return redis.hget(keys.avatar(person), "has_photo") in ("1", b"1")


def forget(redis, keys: Keys, person: str) -> int:
    """Erase ``person``'s kept photo and its URL (synchronous client, the erasure's). 1 when one was kept."""
    token = redis.hget(keys.avatar(person), "token")
    pipe = redis.pipeline(transaction=True)
    pipe.delete(keys.avatar(person))
    if token:
        pipe.delete(keys.avatar_token(token.decode() if isinstance(token, bytes) else token))
    return int(pipe.execute()[0])
