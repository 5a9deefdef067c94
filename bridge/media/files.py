"""A fetched file on its way across the bridge, and what can go wrong with it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

# Streamed in pieces of this size: a file is never held whole in memory.
CHUNK = 256 * 1024


@dataclass(frozen=True)
class MediaFile:
    """A file spooled to a private temporary file of this process. Whoever holds it
    discards it once uploaded (the bytes are a member's data: they live only in flight)."""

    path: Path
    name: str  # as the member named it ("" when the platform gives none): shown, never logged
    mime: str
    size: int
    kind: str  # Attachment.kind: photo | video | animation | document | audio | voice | video_note

    def discard(self) -> None:
        _remove(self.path)


class MediaError(Exception):
    """A file that cannot cross; the message names no file and no member."""


class MediaTooLarge(MediaError):
    """Over a platform's limit (downloading from the source or uploading to the destination)."""

    def __init__(self, size: int | None, limit: int):
        super().__init__(f"file of {size if size is not None else '?'} bytes over the limit of {limit}")
        self.size = size
        self.limit = limit


class MediaUnavailable(MediaError):
    """The source cannot give the file (gone, refused, no adapter for its platform here)."""


def media_dir(configured: str | os.PathLike | None = None) -> Path:
    """Where files wait between download and upload: TWINBRIDGE_MEDIA_DIR, else a
    folder of the system's temporary directory. Created private (0700)."""
    directory = Path(configured) if configured else Path(tempfile.gettempdir()) / "twinbridge-media"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


# A file in flight is uploaded within minutes (the Discord sender bounds a post with files to
# 15 minutes); one older than this was left by a process that died (SIGKILL, power loss).
STALE_AFTER = 2 * 3600.0


def remove_stale(directory: Path, older_than: float = STALE_AFTER) -> int:
    """Remove the spooled files of processes that died before discarding them (a member's
    file must not outlive its crossing); how many. Files of a live process sharing the
    directory (a standby `twinbridge run`) are younger and stay."""
    import time

    cutoff = time.time() - older_than
    removed = 0
    for entry in directory.iterdir():
        try:
            if entry.is_file() and entry.name[:2] in ("m-", "s-") and entry.stat().st_mtime < cutoff:
                os.remove(entry)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


async def spool(chunks: AsyncIterator[bytes], limit: int, directory: Path) -> tuple[Path, int]:
    """Write ``chunks`` to a new private file in ``directory``; its path and size.
    Past ``limit`` bytes the file is removed and MediaTooLarge raised (a source that
    under-declared a size cannot make us hold more). Writes go to a thread: a big
    file's disk I/O does not block the event loop."""
    import asyncio

    fd, name = tempfile.mkstemp(dir=directory, prefix="m-")
    path = Path(name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise MediaTooLarge(None, limit)
                await asyncio.to_thread(out.write, chunk)
    except BaseException:
        _remove(path)
        raise
    return path, size


def _remove(path: Path) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
