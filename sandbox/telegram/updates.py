"""The bot's update queue and long polling: ``getUpdates`` with offset, limit, timeout
and a sticky ``allowed_updates`` filter; one long poller per token (an older
``getUpdates`` still waiting is answered 409 when a newer one arrives)."""

from __future__ import annotations

import asyncio
from typing import Any

from sandbox.telegram.protocol import ERROR_DESCRIPTIONS, FIRST_UPDATE_ID, ApiError


class Updates:
    def __init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = FIRST_UPDATE_ID
        self._allowed_updates: list[str] = []
        # Replaced after each wake-up, so a waiter only ever sees the wake-up it waited for.
        self._wakeup = asyncio.Event()
        self._poll_generation = 0
        self.closing = False  # the stand-in stops: polls return what they have at once

    def queue(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (an update_id is assigned unless given); returns it as queued."""
        if "update_id" not in payload:
            payload = {"update_id": self._next_update_id, **payload}
        self._next_update_id = max(self._next_update_id, int(payload["update_id"]) + 1)
        self._updates.append(payload)
        self.wake()
        return payload

    def wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    def drop_pending(self) -> None:
        self._updates.clear()

    async def get_updates(self, params: dict) -> list[dict]:
        self._poll_generation += 1
        generation = self._poll_generation
        self.wake()  # an older poll still waiting is answered 409 now
        offset = int(params.get("offset") or 0)
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = max(0, int(params.get("timeout") or 0))
        if "allowed_updates" in params and params["allowed_updates"] is not None:
            # Like Telegram, the filter sticks until the next call that sets it.
            self._allowed_updates = list(params["allowed_updates"])
        if offset > 0:
            # Everything before the offset is confirmed and forgotten.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, ERROR_DESCRIPTIONS[409])
            ready = self._deliverable(offset)
            if ready or self.closing:
                return ready[:limit]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            wakeup = self._wakeup
            try:
                await asyncio.wait_for(wakeup.wait(), remaining)
            except TimeoutError:
                return []

    def _deliverable(self, offset: int) -> list[dict]:
        updates = self._updates
        if offset < 0:
            updates = updates[offset:]
        allowed = self._allowed_updates or None
        if allowed is None:
            return list(updates)
        # Telegram silently drops updates of kinds the bot did not ask for.
        wanted = [u for u in updates if any(kind in u for kind in allowed)]
        unwanted = {u["update_id"] for u in updates} - {u["update_id"] for u in wanted}
        self._updates = [u for u in self._updates if u["update_id"] not in unwanted]
        return wanted
