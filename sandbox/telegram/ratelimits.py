"""Telegram's published sending limits, enforced only with ``enforce_limits=True`` (for
benchmarks): at most 1 send per chat per second, 20 per group per minute, 30 per bot
per second (sliding windows of accepted sends), refused with 429 "Too Many Requests:
retry after N" and ``parameters.retry_after``."""

from __future__ import annotations

import asyncio
import math
from collections import Counter, deque

from sandbox.telegram.protocol import ApiError

# Telegram's published limits (count, seconds).
CHAT_LIMIT = (1, 1.0)  # "avoid sending more than one message per second" in a chat
GROUP_LIMIT = (20, 60.0)  # "no more than 20 messages per minute" in a group
BOT_LIMIT = (30, 1.0)  # "about 30 messages per second" for bulk notifications
LIMITED_METHODS = frozenset({"sendmessage", "editmessagetext"})


class SendLimits:
    def __init__(self) -> None:
        self.rate_limited_by: Counter = Counter()  # 429s by the limit that refused: "chat", "group", "bot"
        # bucket -> times (loop clock) of the sends it accepted lately
        self._windows: dict[str, deque] = {}

    def spend(self, params: dict) -> None:
        """429 with retry_after when this send would exceed a limit; otherwise the send
        is counted in every window it belongs to. A send that then fails for another
        reason (400, 403) still counts, as it would on Telegram."""
        try:
            chat_id = int(params.get("chat_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return  # the method answers 400
        buckets = [(f"chat:{chat_id}", CHAT_LIMIT), ("bot", BOT_LIMIT)]
        if chat_id < 0:
            buckets.append((f"group:{chat_id}", GROUP_LIMIT))
        now = asyncio.get_running_loop().time()
        wait, refused_by = 0.0, None
        for name, (count, period) in buckets:
            window = self._windows.setdefault(name, deque())
            while window and window[0] <= now - period:
                window.popleft()
            if len(window) >= count and window[len(window) - count] + period - now > wait:
                wait, refused_by = window[len(window) - count] + period - now, name.split(":")[0]
        if wait > 0:
            self.rate_limited_by[refused_by] += 1
            retry_after = max(1, math.ceil(wait))  # Telegram says whole seconds
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        for name, _ in buckets:
            self._windows[name].append(now)
