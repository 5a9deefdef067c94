"""Long polling that stores a whole batch before confirming it, chats side by side.

aiogram's own polling (``Dispatcher.start_polling``) offers two modes. One update
at a time: the next getUpdates, which confirms the batch to Telegram, waits until
each update is stored, but a flood of 100 updates is then accepted strictly one
after another (the benchmark's flood waited ~0.5 s for its first Telegram
messages to reach Discord, docs/benchmarks.md). Or one task per update: fast,
but the batch is confirmed before it is stored (a crash loses it) and a chat's
messages may be stored out of order.

This loop takes a batch, feeds each chat's updates in order through the
dispatcher (the chats side by side), and asks for the next batch, which
confirms this one, only when every update of it is stored. Like aiogram's own
polling it emits the dispatcher's startup event before the first getUpdates and
its shutdown event when it ends, so that start-up and clean-up work hangs on
``dp.startup`` / ``dp.shutdown``; the handlers' dependencies come from the
dispatcher's workflow data, and an update whose handling fails is dealt with
by the dispatcher's error handlers (``dp.errors``).

One bad update never stalls the others: the batch is fetched as a raw JSON list
(:class:`RawGetUpdates`, through aiogram's own session) and each update is
validated on its own, so one that aiogram cannot parse is skipped, counted and
confirmed with the rest instead of failing the whole batch (which Telegram would
then send again, forever).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates
from aiogram.types import Update

from core.backoff import Backoff
from core.stats import Stats
from ..waiting import wait_event

log = logging.getLogger(__name__)

RETRY_BACKOFF = Backoff(first=1.0, cap=30.0)  # after a failed getUpdates: 1, 2, 4 … then 30 s each time


class RawGetUpdates(GetUpdates):
    """getUpdates answered as plain JSON objects, validated one by one by the poller."""

    __returning__ = list[dict[str, Any]]


def chat_of(update: Update) -> int | None:
    """The chat whose order ``update`` belongs to (None: no chat; kept in update order)."""
    for message in (update.message, update.edited_message, update.channel_post, update.edited_channel_post):
        if message is not None:
            return message.chat.id
    for reaction in (update.message_reaction, update.message_reaction_count):
        if reaction is not None:
            return reaction.chat.id
    query = update.callback_query
    if query is not None and query.message is not None:
        return query.message.chat.id
    return None


class Poller:
    def __init__(
        self, bot: Bot, dispatcher: Dispatcher, *, timeout: int, allowed_updates: list[str], stats: Stats | None = None
    ):
        self._bot = bot
        self._dispatcher = dispatcher
        self._stats = stats
        self._get_updates = RawGetUpdates(timeout=timeout, allowed_updates=allowed_updates)
        # Wait longer than the long poll itself before calling the request failed.
        self._request_timeout = int((bot.session.timeout or 60) + timeout)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the batch in hand (the caller bounds how long), fetch no more."""
        self._stopping.set()

    async def run(self) -> None:
        """Poll until :meth:`stop`, between the dispatcher's startup and shutdown events."""
        # What aiogram's start_polling hands its startup and shutdown handlers.
        data = {"dispatcher": self._dispatcher, "bots": (self._bot,), **self._dispatcher.workflow_data}
        await self._dispatcher.emit_startup(bot=self._bot, **data)
        try:
            await self._poll()
        finally:
            await self._dispatcher.emit_shutdown(bot=self._bot, **data)

    async def _poll(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            updates = await self._fetch()
            if updates is None:  # stopping while waiting for news
                return
            if isinstance(updates, Exception):
                delay = RETRY_BACKOFF.delay(failures)
                failures += 1
                # By type only: aiogram's messages may quote the request URL, which holds the token.
                log.warning("getUpdates failed (%s); trying again in %.0fs", type(updates).__name__, delay)
                await self._sleep_unless_stopping(delay)
                continue
            if failures:
                log.info("getUpdates works again after %d failure(s)", failures)
                failures = 0
            if updates:
                next_offset = _next_offset(updates)
                await self._feed(self._parse(updates))
                if next_offset is not None:
                    self._get_updates.offset = next_offset  # confirmed by the next getUpdates

    def _parse(self, raw_updates: list[dict[str, Any]]) -> list[Update]:
        """The updates aiogram can read; the others are skipped and counted (logged by
        update_id and exception type only: pydantic's messages quote the input)."""
        parsed = []
        for raw in raw_updates:
            if dropped := drop_malformed_entities(raw):
                # Counted like those read_entities leaves out: the message still crosses, as typed.
                log.warning("telegram update had %d malformed entit(ies); left out", dropped)
                if self._stats is not None:
                    self._stats.incr_soon("telegram.skipped.bad_entity", dropped)
            try:
                parsed.append(Update.model_validate(raw, context={"bot": self._bot}))
            except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError, or whatever a validator raises
                self._skipped(raw, "unparseable", exc)
        return parsed

    def _skipped(self, raw: Any, reason: str, exc: BaseException | None = None) -> None:
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        log.warning(
            "skipped telegram update %s: %s%s",
            update_id if isinstance(update_id, int) else "?",
            reason,
            f" ({type(exc).__name__})" if exc is not None else "",
        )
        if self._stats is not None:
            self._stats.incr_soon(f"telegram.skipped.{reason}")

    async def _fetch(self) -> list[dict[str, Any]] | Exception | None:
        """The next batch; an exception if getUpdates failed; None if stopped meanwhile."""
        fetch = asyncio.ensure_future(self._bot(self._get_updates, request_timeout=self._request_timeout))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not fetch.done():
            fetch.cancel()  # nothing is in hand: the unconfirmed updates come again next time
            await asyncio.gather(fetch, return_exceptions=True)
            return None
        exc = fetch.exception()
        return exc if exc is not None else fetch.result()

    async def _feed(self, updates: list[Update]) -> None:
        by_chat: dict[int | None, list[Update]] = {}
        for update in updates:
            by_chat.setdefault(chat_of(update), []).append(update)
        await asyncio.gather(*(self._feed_in_order(chat_updates) for chat_updates in by_chat.values()))

    async def _feed_in_order(self, updates: list[Update]) -> None:
        for update in updates:
            try:
                await self._dispatcher.feed_update(self._bot, update)
            except Exception as exc:  # noqa: BLE001 - one bad update must not hold the others
                # The dispatcher's error handler (handlers.build_errors_router) deals with
                # what a handler raises; this is what got past it. By id and type only.
                log.error(
                    "a telegram update (%s) failed past the error handler (%s)", update.update_id, type(exc).__name__
                )

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        await wait_event(self._stopping, seconds)


_ENTITY_DEPTH = 8  # messages nest (a reply's message, its quote…) but never deeply


def drop_malformed_entities(raw: Any, depth: int = 0) -> int:
    """Take out of the raw update ``raw`` every entity aiogram would reject, which would
    lose the whole update: one that is not an object, has no type, or whose offset or
    length is not an integer (a string, a fraction, null, a boolean). Any list named
    ``…entities`` anywhere in the update is checked; returns how many were taken out.
    Offsets that are integers but impossible are read_entities' business."""
    dropped = 0
    if depth > _ENTITY_DEPTH:
        return 0
    if isinstance(raw, dict):
        for key, value in list(raw.items()):
            if isinstance(key, str) and key.endswith("entities"):
                if not isinstance(value, list):
                    del raw[key]
                    dropped += 1
                    continue
                kept = [entity for entity in value if _well_formed(entity)]
                dropped += len(value) - len(kept)
                raw[key] = kept
                value = kept
            dropped += drop_malformed_entities(value, depth + 1)
    elif isinstance(raw, list):
        for item in raw:
            dropped += drop_malformed_entities(item, depth + 1)
    return dropped


def _well_formed(entity: Any) -> bool:
    if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
        return False
    return all(isinstance(entity.get(k), int) and not isinstance(entity.get(k), bool) for k in ("offset", "length"))


def _next_offset(raw_updates: list[dict[str, Any]]) -> int | None:
    """One past the largest update_id of the batch, read before validation so that an
    update aiogram cannot parse is confirmed (not fetched again) too."""
    ids = [u.get("update_id") for u in raw_updates if isinstance(u, dict)]
    ids = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    return max(ids) + 1 if ids else None
