"""Failures injected by tests: the next requests matching a pattern, or every one in a
time window, answered with a status and Discord's error body for it."""

from __future__ import annotations

import asyncio
import fnmatch
from dataclasses import dataclass

from aiohttp import web

from sandbox.discord.protocol import API_PREFIX, json_response
from sandbox.discord.ratelimits import RateLimits

_DEFAULT_BODIES = {
    400: ("400: Bad Request", 0),
    401: ("401: Unauthorized", 0),
    403: ("Missing Permissions", 50013),
    404: ("404: Not Found", 0),
    500: ("500: Internal Server Error", 0),
    502: ("502: Bad Gateway", 0),
    503: ("503: Service Unavailable", 0),
    504: ("504: Gateway Timeout", 0),
}


@dataclass
class Fault:
    method: str | None
    pattern: str
    status: int
    retry_after: float | None
    remaining: int
    body: dict | None
    starts: float = 0.0  # loop time; with `until`, a fault window instead of a count
    until: float | None = None


class Faults:
    def __init__(self, ratelimits: RateLimits):
        self._ratelimits = ratelimits
        self._faults: list[Fault] = []

    def fail_next(
        self,
        path_pattern: str,
        status: int,
        *,
        retry_after: float | None = None,
        count: int = 1,
        body: dict | None = None,
    ) -> None:
        """Answer the next ``count`` requests matching ``path_pattern`` with
        ``status`` and Discord's error body for it. The pattern is a glob over
        the path after /api/v10, optionally preceded by a method:
        ``"POST /webhooks/*"``, ``"/channels/*/messages"``."""
        method, _, pattern = path_pattern.strip().rpartition(" ")
        self._faults.append(Fault(method.upper() or None, pattern, status, retry_after, count, body))

    def fail_for(
        self, path_pattern: str, status: int, *, seconds: float, after: float = 0.0, retry_after: float | None = None
    ) -> None:
        """An outage window: from ``after`` seconds from now, for ``seconds``, every
        request matching ``path_pattern`` (as in :meth:`fail_next`) gets ``status``."""
        now = asyncio.get_running_loop().time()
        method, _, pattern = path_pattern.strip().rpartition(" ")
        self._faults.append(
            Fault(
                method.upper() or None,
                pattern,
                status,
                retry_after,
                1 << 30,
                None,
                starts=now + after,
                until=now + after + seconds,
            )
        )

    def answer(self, request: web.Request, bucket_name: str, major: str) -> web.Response | None:
        """The injected failure for this request, if one matches (spending it)."""
        fault = self._take(request)
        if fault is None:
            return None
        if fault.status == 429:
            retry_after = 1.0 if fault.retry_after is None else fault.retry_after
            bucket = self._ratelimits.bucket(bucket_name, major)
            return self._ratelimits.rate_limited(retry_after, bucket_name, bucket, body=fault.body)
        message, code = _DEFAULT_BODIES.get(fault.status, (f"{fault.status}: Error", 0))
        body = fault.body or {"message": message, "code": code}
        return json_response(body, status=fault.status, headers={"Via": "1.1 google"})

    def _take(self, request: web.Request) -> Fault | None:
        path = request.path[len(API_PREFIX) :]
        now = asyncio.get_running_loop().time()
        for fault in list(self._faults):
            if fault.until is not None and now >= fault.until:
                self._faults.remove(fault)
                continue
            if fault.method not in (None, request.method) or now < fault.starts:
                continue
            if fnmatch.fnmatchcase(path, fault.pattern):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None
