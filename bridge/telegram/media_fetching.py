"""Fetching a Telegram member's file for another platform's sender (bridge/media).

getFile names the file's path on Telegram's file server, and the download streams from
``<api>/file/bot<token>/<path>`` (aiogram's session, so TELEGRAM_API_URL's server is used)
into a private temporary file (:func:`bridge.media.files.spool`), never held whole in
memory. A bot may download at most 20 MB: Telegram answers getFile for a bigger file with
"Bad Request: file is too big", which becomes :class:`MediaTooLarge` with the declared size.

The download URL holds the bot token: it is never logged, and no exception raised here
carries it (aiohttp's errors quote the URL, so they are replaced, not chained).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiogram import Bot
from aiogram.exceptions import AiogramError, TelegramBadRequest, TelegramNetworkError
from aiogram.methods import GetFile

from core.models import Attachment, MessageRef

from ..adapter import DeliveryError
from ..media.files import CHUNK, MediaFile, MediaTooLarge, MediaUnavailable, spool
from ..media.limits import TELEGRAM_DOWNLOAD_LIMIT
from .errors import delivery_error, says

log = logging.getLogger(__name__)

GET_FILE_TIMEOUT = 20  # seconds for getFile
DOWNLOAD_TIMEOUT = 600  # seconds for a whole download (20 MB on a slow line)


class TelegramFetcher:
    """The Fetcher (bridge.media.source) of Telegram files: registered by the adapter."""

    def __init__(self, bot: Bot, *, limit: int = TELEGRAM_DOWNLOAD_LIMIT):
        self._bot = bot
        self._limit = limit

    async def fetch(self, attachment: Attachment, source: MessageRef, directory: Path) -> MediaFile:
        if attachment.size is not None and attachment.size > self._limit:
            raise MediaTooLarge(attachment.size, self._limit)  # Telegram would refuse getFile anyway
        if not attachment.file_id:
            raise MediaUnavailable("the attachment names no Telegram file")
        try:
            found = await self._bot(GetFile(file_id=attachment.file_id), request_timeout=GET_FILE_TIMEOUT)
        except TelegramBadRequest as exc:
            if says(exc, "file is too big"):
                raise MediaTooLarge(attachment.size, self._limit) from None
            raise MediaUnavailable("telegram getFile refused the file") from None  # gone, or not ours
        except (TimeoutError, AiogramError, aiohttp.ClientError) as exc:
            # Telegram is away or busy: the whole post is tried again later (the outbox's backoff).
            raise delivery_error(exc, "getFile") from None
        if not found.file_path:
            raise MediaUnavailable("telegram getFile gave no file path")
        if found.file_size is not None and found.file_size > self._limit:
            raise MediaTooLarge(found.file_size, self._limit)
        url = self._bot.session.api.file_url(self._bot.token, found.file_path)
        try:
            path, size = await spool(self._chunks(url), self._limit, directory)
        except MediaTooLarge:
            raise MediaTooLarge(attachment.size or found.file_size, self._limit) from None
        except aiohttp.ClientResponseError as exc:
            # By status only: the exception's text holds the URL, and the URL the token.
            if exc.status >= 500 or exc.status == 429:
                raise DeliveryError(f"telegram file download: HTTP {exc.status}") from None
            raise MediaUnavailable(f"telegram file download answered HTTP {exc.status}") from None
        except (TimeoutError, aiohttp.ClientError, TelegramNetworkError) as exc:
            raise DeliveryError(f"telegram file download: network error ({type(exc).__name__})") from None
        log.debug("fetched a telegram %s of %d bytes", attachment.kind, size)
        return MediaFile(
            path=path,
            name=attachment.file_name or "",
            mime=attachment.mime_type or "application/octet-stream",
            size=size,
            kind=attachment.kind,
        )

    async def _chunks(self, url: str) -> AsyncIterator[bytes]:
        async for chunk in self._bot.session.stream_content(
            url, timeout=DOWNLOAD_TIMEOUT, chunk_size=CHUNK, raise_for_status=True
        ):
            yield chunk
