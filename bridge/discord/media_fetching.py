"""Fetching a Discord attachment for another chat (the Discord :class:`~bridge.media.source.Fetcher`).

The file is streamed from its CDN URL in chunks into a private temporary file
(``bridge.media.files.spool``); discord.py's ``Attachment.read``/``save`` would hold it
whole in memory. Only Discord's own file hosts (and the host of DISCORD_API_URL, where a
stand-in serves them) are ever asked: an attachment URL comes from a gateway payload, and a
forged one must not make the bridge fetch from anywhere else. Redirects are not followed.
URLs are never logged (a CDN URL is a signed link to a member's file).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import yarl

from core.models import Attachment, MessageRef

from ..media.files import CHUNK, MediaFile, MediaTooLarge, MediaUnavailable, spool
from ..media.limits import MB

log = logging.getLogger(__name__)

# Discord's file hosts: attachments (cdn) and their proxied copies (media).
DISCORD_FILE_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})
# Where Discord serves a sticker's picture, by the sticker's id (issue 15).
STICKER_BASE = "https://media.discordapp.net"
DISCORD_API_HOSTS = frozenset({"discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"})
# The attachment exists, so Discord took it: the largest upload Discord allows anyone
# (a level-3 boosted server). Past it the stream is cut and the file refused.
SOURCE_LIMIT = 100 * MB
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=600, sock_connect=15, sock_read=60)

# Asks Discord again for an attachment's URL (CDN links expire after about a day):
# (channel id, message id, attachment id) -> the current URL, or None when it is gone.
Refresher = Callable[[int, int, str], Awaitable[str | None]]


class DiscordFetcher:
    def __init__(self, api_url: str, *, refresh: Refresher | None = None, limit: int = SOURCE_LIMIT):
        api = yarl.URL(api_url)
        # The stand-in serves its files at DISCORD_API_URL's host, plain http on loopback.
        self._api_origin = (api.scheme, api.host, api.port)
        # A sticker's picture: from Discord's media host, or from the stand-in's own.
        self._sticker_base = STICKER_BASE if api.host in DISCORD_API_HOSTS else str(api.origin())
        self._refresh = refresh
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def allowed(self, url: str) -> bool:
        try:
            parsed = yarl.URL(url)
        except (ValueError, TypeError):
            return False
        if parsed.user or parsed.password:
            return False
        if parsed.scheme == "https" and parsed.host in DISCORD_FILE_HOSTS and parsed.port == 443:
            return True
        return (parsed.scheme, parsed.host, parsed.port) == self._api_origin

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, attachment: Attachment, source: MessageRef, directory: Path) -> MediaFile:
        declared = attachment.size
        if declared is not None and declared > self._limit:
            raise MediaTooLarge(declared, self._limit)
        url = attachment.url or ""
        if attachment.kind == "sticker" and not url:
            url = self.sticker_url(attachment)
        try:
            path, size = await self._download(url, directory)
        except _Gone:
            fresh = await self._refreshed(attachment, source)
            if fresh is None:
                raise MediaUnavailable("the attachment is gone from Discord") from None
            try:
                path, size = await self._download(fresh, directory)
            except _Gone:
                raise MediaUnavailable("the attachment is gone from Discord") from None
        return MediaFile(
            path=path,
            name=attachment.file_name or "",
            mime=(attachment.mime_type or "application/octet-stream").split(";", 1)[0].strip(),
            size=size,
            kind=attachment.kind,
        )

    def sticker_url(self, attachment: Attachment) -> str:
        """A sticker's picture by its id: /stickers/ID.png (PNG and APNG) or .gif."""
        extension = "gif" if (attachment.file_name or "").endswith(".gif") else "png"
        sticker_id = attachment.file_id if attachment.file_id.isdigit() else "0"
        return f"{self._sticker_base}/stickers/{sticker_id}.{extension}"

    async def _refreshed(self, attachment: Attachment, source: MessageRef) -> str | None:
        """The attachment's current URL (its signed link may have expired while the post waited)."""
        if self._refresh is None or not attachment.file_id:
            return None
        try:
            return await self._refresh(int(source.chat_id), int(source.message_id), attachment.file_id)
        except Exception as exc:  # noqa: BLE001 - any failure here means: unavailable
            log.info("could not ask Discord again for an attachment (%s)", exc.__class__.__name__)
            return None

    async def _download(self, url: str, directory: Path) -> tuple[Path, int]:
        if not self.allowed(url):
            # Never the URL itself: it names a member's file.
            raise MediaUnavailable("the attachment's address is not one of Discord's file hosts")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=FETCH_TIMEOUT)
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                if response.status in (403, 404, 410):
                    raise _Gone
                if response.status != 200:
                    raise MediaUnavailable(f"Discord's file host answered HTTP {response.status}")
                length = response.content_length
                if length is not None and length > self._limit:
                    raise MediaTooLarge(length, self._limit)
                return await spool(_chunks(response), self._limit, directory)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MediaUnavailable(f"Discord's file host unreachable ({exc.__class__.__name__})") from None


class _Gone(Exception):
    """The CDN no longer serves this URL (expired signature, or deleted)."""


async def _chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    async for chunk in response.content.iter_chunked(CHUNK):
        yield chunk
