"""Discord's rate limits as the stand-in enforces them: one bucket per route and major
parameter (channel, webhook, interaction), announced in ``X-RateLimit-*`` headers and
enforced with 429s; optionally the global bucket over every REST request."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from dataclasses import dataclass

from aiohttp import web

from sandbox.discord.protocol import json_response


@dataclass
class Bucket:
    limit: int
    window: float
    count: int = 0
    reset_at: float = 0.0  # loop time


class RateLimits:
    """``route_limit`` is (requests, seconds) per route bucket; ``global_limit``
    (requests, seconds, or None) the global bucket, which interaction callbacks skip."""

    def __init__(self, route_limit: tuple[int, float], global_limit: tuple[int, float] | None):
        self.route_limit = route_limit
        self.global_limit = global_limit
        self.rate_limited_responses = 0  # every 429 sent (injected ones included)
        self.global_rate_limited_responses = 0  # the 429s of the global bucket (also counted above)
        self._buckets: dict[tuple[str, str], Bucket] = {}

    def bucket(self, bucket_name: str, major: str) -> Bucket:
        """The bucket as it stands (a fresh one if nothing was spent from it yet)."""
        return self._buckets.get((bucket_name, major)) or Bucket(*self.route_limit)

    def spend(self, bucket_name: str, major: str, limit: tuple[int, float] | None = None) -> tuple[Bucket, bool]:
        """Count one request against the bucket; (bucket, whether it was already empty)."""
        now = asyncio.get_running_loop().time()
        bucket = self._buckets.get((bucket_name, major))
        if bucket is None:
            bucket = self._buckets[(bucket_name, major)] = Bucket(*(limit or self.route_limit))
        if now >= bucket.reset_at:
            bucket.count = 0
            bucket.reset_at = now + bucket.window
        if bucket.count >= bucket.limit:
            return bucket, True
        bucket.count += 1
        return bucket, False

    def spend_global(self) -> web.Response | None:
        """The global bucket's 429 if it is empty (None when there is no global limit)."""
        if self.global_limit is None:
            return None
        bucket, limited = self.spend("global", "", self.global_limit)
        if not limited:
            return None
        return self.globally_limited(bucket.reset_at - asyncio.get_running_loop().time())

    def headers(
        self, bucket_name: str, bucket: Bucket, *, remaining: int | None = None, reset_after: float | None = None
    ) -> dict[str, str]:
        now = asyncio.get_running_loop().time()
        if reset_after is None:
            reset_after = max(0.0, bucket.reset_at - now)
        if remaining is None:
            remaining = max(0, bucket.limit - bucket.count)
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.md5(bucket_name.encode()).hexdigest(),
        }

    def rate_limited(
        self, retry_after: float, bucket_name: str, bucket: Bucket, body: dict | None = None
    ) -> web.Response:
        """A route bucket's 429 (or an injected one, with its own ``body``)."""
        retry_after = max(0.0, round(retry_after, 3))
        self.rate_limited_responses += 1
        headers = self.headers(bucket_name, bucket, remaining=0, reset_after=retry_after)
        headers.update(
            {
                "Retry-After": str(math.ceil(retry_after)),  # whole seconds, as Discord sends it
                "X-RateLimit-Scope": "user",
                "Via": "1.1 google",
            }
        )
        payload = body or {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
        return json_response(payload, status=429, headers=headers)

    def globally_limited(self, retry_after: float) -> web.Response:
        retry_after = max(0.0, round(retry_after, 3))
        self.rate_limited_responses += 1
        self.global_rate_limited_responses += 1
        headers = {
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Global": "true",
            "X-RateLimit-Scope": "global",
            "Via": "1.1 google",
        }
        return json_response(
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": True},
            status=429,
            headers=headers,
        )
