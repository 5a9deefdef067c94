"""Where a destination's sender gets a file from: the source platform's fetcher.

Each adapter of `twinbridge run` registers a fetcher for its platform when it starts
(`MediaSource.register`); a sender calls `MediaSource.fetch(attachment, source)` with the
attachment of the post it delivers and the source message. The file comes back spooled
to disk and made safe (`scrub`, set by the runner: image metadata removed); the caller
uploads it and calls `MediaFile.discard()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from core.models import Attachment, MessageRef
from core.stats import Stats

from .files import MediaFile, MediaUnavailable


class Fetcher(Protocol):
    async def fetch(self, attachment: Attachment, source: MessageRef, directory: Path) -> MediaFile:
        """Stream the attachment's bytes into a new file in ``directory`` (files.spool)."""


# Makes a fetched file safe to pass on (synchronous; run in a thread). Returns the file
# to upload (the same one, rewritten, or a new one; the old one discarded).
Scrubber = Callable[[MediaFile], MediaFile]


class MediaSource:
    def __init__(self, directory: Path, scrub: Scrubber | None = None, stats: Stats | None = None):
        self.directory = directory
        self._scrub = scrub
        self._stats = stats  # counts what the scrubber did: media.image_cleaned, .image_unreadable, .image_withheld
        self._fetchers: dict[str, Fetcher] = {}

    def register(self, platform: str, fetcher: Fetcher) -> None:
        self._fetchers[platform] = fetcher

    def unregister(self, platform: str) -> None:
        self._fetchers.pop(platform, None)

    async def fetch(self, attachment: Attachment, source: MessageRef) -> MediaFile:
        fetcher = self._fetchers.get(source.platform)
        if fetcher is None:
            raise MediaUnavailable(f"no {source.platform} adapter in this process to fetch from")
        fetched = await fetcher.fetch(attachment, source, self.directory)
        if self._scrub is None:
            return fetched
        try:
            scrubbed = await asyncio.to_thread(self._scrub, fetched)
        except BaseException as exc:
            fetched.discard()
            if isinstance(exc, MediaUnavailable):
                await self._count("media.image_withheld")  # a broken image nothing of which is safe to pass on
            raise
        if scrubbed.kind == "document" and fetched.kind != "document":
            await self._count("media.image_unreadable")  # a corrupt image: it goes as a file
        elif scrubbed.path != fetched.path:
            await self._count("media.image_cleaned")
        return scrubbed

    async def _count(self, name: str) -> None:
        if self._stats is not None:
            await self._stats.incr(name)
