"""Telegram albums crossing as one post.

Telegram delivers an album (a media group) as one message per photo or file, sharing a
``media_group_id``, with nothing saying which part is the last. Each part is kept in Redis
(core/storage/albums.py) as it comes, and its update is confirmed like any other once
kept; the album is handed to the ingress as ONE event (the first part's message as its
source, every part's files, the captions in order) when no part came for ``QUIET``
seconds, or at once when anything else is said in the chat (so the chat's order holds:
the album before what follows it). Kept in Redis, an album outlives the adapter: the
next one to start finishes it. The ingress's deduplication makes handing it over twice
harmless; a part delivered again after its album was handed over is a duplicate, a part
that comes after its album was handed over (later than ``QUIET``) goes as a message of its
own, never lost.

Every other part is mapped to the first (IdMap.album_of), so a reply to any photo of the
album replies to its copies, and an edit of a part's caption edits the album's copies.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import replace

from aiogram.types import Message

from core.models import EventKind, PlatformEvent
from core.stats import Stats
from core.storage.albums import AlbumStore
from core.storage.keys import Keys

from ..ingress import Ingress
from ..waiting import wait_event

log = logging.getLogger(__name__)

QUIET = 1.2  # seconds after an album's last part before it is handed over
TICK = 0.2  # how often due albums are looked for


def combine(parts: list[PlatformEvent]) -> PlatformEvent:
    """One event for an album's parts (in message order): the first part's source,
    author, time and reply; every part's files; the captions, one per line."""
    first = parts[0]
    return replace(
        first,
        kind=EventKind.NEW,
        text="\n".join(p.text for p in parts if p.text),
        attachments=tuple(a for p in parts for a in p.attachments),
        reply_to=next((p.reply_to for p in parts if p.reply_to is not None), None),
        revision=0,
    )


class AlbumCollector:
    def __init__(self, redis, keys: Keys, ingress: Ingress, stats: Stats, *, quiet: float = QUIET):
        self._store = AlbumStore(redis, keys)
        self._ingress = ingress
        self._stats = stats
        self._quiet = quiet
        self._pending: dict[str, set[str]] = {}  # chat key -> groups being gathered
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    def _lock(self, chat_key: str) -> asyncio.Lock:
        lock = self._locks.get(chat_key)
        if lock is None:
            lock = self._locks[chat_key] = asyncio.Lock()
        return lock

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Pick up what an earlier adapter was gathering (before the first update), then
        hand over albums as they become due."""
        for chat_key, group in await self._store.due():
            self._pending.setdefault(chat_key, set()).add(group)
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="telegram-albums")

    async def stop(self) -> None:
        """Hand over what is gathered (the polling has stopped: no more parts come now);
        what cannot be handed over stays in Redis for the next start."""
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for chat_key in list(self._pending):
            try:
                async with self._lock(chat_key):
                    await self._flush_chat(chat_key)
            except Exception as exc:  # noqa: BLE001 - Redis away: kept for the next start
                log.warning("could not hand over a gathered album at stop (%s)", type(exc).__name__)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                for chat_key, group in await self._store.due(int(time.time() * 1000)):
                    async with self._lock(chat_key):
                        await self._flush(chat_key, group)
            except Exception as exc:  # noqa: BLE001 - Redis away, a bug in one album: next tick
                log.warning("handing over albums failed (%s); retrying", type(exc).__name__)
            await wait_event(self._stopping, TICK)

    # -- parts ----------------------------------------------------------------------------
    async def accept(self, message: Message, event: PlatformEvent) -> None:
        """Hand ``event`` (of ``message``) to the ingress, or keep it as an album's part;
        whatever else a chat says waits for the albums gathered before it."""
        chat_key = event.source.chat.key
        group = message.media_group_id
        async with self._lock(chat_key):
            if group is None:
                await self._flush_chat(chat_key)
                await self._ingress.accept(event)
            elif event.kind == EventKind.NEW:
                await self._flush_chat(chat_key, keep=group)
                await self._add(chat_key, group, event)
            else:
                await self._edit(chat_key, group, message, event)

    async def _add(self, chat_key: str, group: str, event: PlatformEvent) -> None:
        ttl = self._ingress.marker_ttl(event.source.chat)
        due = int((time.time() + self._quiet) * 1000)
        added = await self._store.add(chat_key, group, event.source.message_id, event.to_dict(), due, ttl)
        if added == "added":
            self._pending.setdefault(chat_key, set()).add(group)
        elif added == "duplicate":
            await self._stats.incr("telegram.skipped.duplicate")
        else:  # later than the quiet time: on its own rather than lost
            await self._stats.incr("telegram.album.late_part")
            await self._ingress.accept(event)

    async def _edit(self, chat_key: str, group: str, message: Message, event: PlatformEvent) -> None:
        """A part's caption edited: while gathered, the part's text changes; once handed
        over, the edit goes as an edit of the album's source message."""
        if group in self._pending.get(chat_key, ()):
            as_new = replace(event, kind=EventKind.NEW, revision=0)
            if await self._store.replace(chat_key, group, event.source.message_id, as_new.to_dict()):
                return
        source_id = await self._store.source_of(chat_key, group)
        if source_id is not None and source_id != event.source.message_id:
            event = replace(event, source=replace(event.source, message_id=source_id))
        await self._ingress.accept(event)

    async def _flush_chat(self, chat_key: str, keep: str | None = None) -> None:
        gathered = self._pending.get(chat_key, set())
        for group in sorted(gathered - {keep} if keep is not None else gathered):
            await self._flush(chat_key, group)

    async def _flush(self, chat_key: str, group: str) -> None:
        """Hand the album over as one event (idempotent: the ingress deduplicates), then
        note its parts done."""
        raw = await self._store.parts(chat_key, group)
        parts = [PlatformEvent.from_dict(p) for p in raw]
        if parts:
            album = combine(parts)
            await self._ingress.accept(album)
            await self._store.finish(
                chat_key,
                group,
                album.source.message_id,
                album.source.key,
                [(p.source.message_id, p.source.key) for p in parts],
                self._ingress.marker_ttl(album.source.chat),
            )
            await self._stats.incr("telegram.albums")
            log.debug("handed over an album of %d parts", len(parts))
        else:
            await self._store.drop_due(chat_key, group)
        groups = self._pending.get(chat_key)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self._pending[chat_key]
