"""Which avatar a Discord webhook post shows (OutboundPost.avatar, set by the moderation
stage from the link's policy):

- "": none (Discord's own default for the webhook);
- "neutral": one of Discord's default avatars chosen from the post's label;
- "telegram:USER_ID": the Telegram sender's profile photo, where the policy shows names.
  The Telegram adapter of this process fetches it (getUserProfilePhotos, getFile: a file
  URL holds the bot's token, so it never leaves this process), it is re-encoded without
  metadata and kept in Redis by person key for the link's retention
  (core/storage/avatars.py), and the post names it by a random token under
  TWINBRIDGE_PUBLIC_URL, served by this process (server.py). Without a public URL, a
  Telegram adapter in this process, or a photo, the neutral avatar.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core.models import OutboundPost
from core.stats import Stats
from core.storage.avatars import Avatars, StoredAvatar
from core.storage.keys import DAY, Keys
from .neutral import neutral_avatar_url

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 10.0  # a slow photo must not hold a post up for long: neutral instead
PATH = "/avatars/{token}.jpg"

# A platform's profile photo of a user id: the image's bytes, or None when they have none.
PhotoFetcher = Callable[[str], Awaitable[bytes | None]]


class AvatarService:
    def __init__(self, redis, keys: Keys, public_url: str, stats: Stats | None = None):
        self._store = Avatars(redis, keys)
        self._public_url = public_url.rstrip("/")
        self._stats = stats
        self._fetchers: dict[str, PhotoFetcher] = {}
        self._fetching: dict[str, asyncio.Future[StoredAvatar | None]] = {}

    @property
    def serving(self) -> bool:
        return bool(self._public_url)

    def register(self, platform: str, fetch: PhotoFetcher) -> None:
        self._fetchers[platform] = fetch

    def unregister(self, platform: str) -> None:
        self._fetchers.pop(platform, None)

    async def url_for(self, post: OutboundPost, label: str) -> str | None:
        """The avatar_url of ``post`` as shown under ``label`` (None: Discord's default)."""
        if not post.avatar:
            return None
        platform, _, user_id = post.avatar.partition(":")
        fetch = self._fetchers.get(platform)
        if post.avatar == "neutral" or not self._public_url or fetch is None or not user_id or not post.author:
            return neutral_avatar_url(label)
        stored = await self._store.stored(post.author)
        if stored is None:
            stored = await self._fetch_once(post.author, user_id, fetch, post.retention_days)
        if stored is None or not stored.has_photo:
            return neutral_avatar_url(label)
        return self._public_url + PATH.format(token=stored.token)

    async def _fetch_once(
        self, person: str, user_id: str, fetch: PhotoFetcher, retention_days: int
    ) -> StoredAvatar | None:
        """Fetch and keep a member's photo; posts of theirs asking meanwhile wait for the same fetch."""
        waiting = self._fetching.get(person)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[StoredAvatar | None] = asyncio.get_running_loop().create_future()
        self._fetching[person] = future
        try:
            stored = await self._fetch(person, user_id, fetch, retention_days)
            future.set_result(stored)
            return stored
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            del self._fetching[person]

    async def _fetch(self, person: str, user_id: str, fetch: PhotoFetcher, retention_days: int) -> StoredAvatar | None:
        from .photos import NotAnImage, scrubbed_avatar  # Pillow: imported with the first avatar

        try:
            data = await asyncio.wait_for(fetch(user_id), timeout=FETCH_TIMEOUT)
            photo = await asyncio.to_thread(scrubbed_avatar, data) if data is not None else None
        except NotAnImage:
            self._count("avatar.not_an_image")
            photo = None
        except Exception as exc:  # noqa: BLE001 - the platform failing: neutral this time, asked again next post
            self._count("avatar.fetch_failed")
            log.warning("could not fetch a profile photo (%s); the post shows a neutral avatar", exc.__class__.__name__)
            return None
        self._count("avatar.fetched" if photo is not None else "avatar.no_photo")
        return await self._store.save(person, photo, retention_days * DAY)

    def _count(self, name: str) -> None:
        if self._stats is not None:
            self._stats.incr_soon(name)

    async def photo(self, token: str) -> bytes | None:
        return await self._store.photo(token)
