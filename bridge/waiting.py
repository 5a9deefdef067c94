"""Waiting for an asyncio.Event with a deadline."""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until ``event`` is set, at most ``timeout`` seconds; True when it is set.

    Not ``asyncio.wait_for(event.wait(), timeout)``: on Python 3.11 that wraps the wait in a
    task of its own, and a cancellation that arrives while the inner task is being
    cancelled can leave the caller waiting for ever (seen: the Telegram album collector's
    loop, cancelled at shutdown, never ended). ``asyncio.timeout`` waits in the caller's own
    task and tells its own deadline from a cancellation."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return event.is_set()
    return True
