"""Waiting on conditions with deadlines (never bare sleeps)."""
from __future__ import annotations

import asyncio
import inspect
import time


async def wait_until(condition, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    """Poll ``condition`` (sync or async callable) until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = condition()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")
        await asyncio.sleep(interval)
