"""What every REST request meets before its route, in Discord's order: the request log,
the JSON body, authorisation, injected faults, the global and the route's rate limit;
and after it: Discord's error body for a :class:`DiscordError`, the rate-limit headers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

from aiohttp import BodyPartReader, web

from sandbox.discord.faults import Faults
from sandbox.discord.protocol import (
    API_PREFIX,
    FILES,
    JSON_BODY,
    MAX_UPLOAD_LIMIT,
    REQUEST_ENTITY_TOO_LARGE,
    DiscordError,
    UploadedFile,
)
from sandbox.discord.ratelimits import RateLimits
from sandbox.discord.state import RECEIVED_AT, DiscordState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RestMiddleware:
    def __init__(self, state: DiscordState, ratelimits: RateLimits, faults: Faults):
        self._state = state
        self._ratelimits = ratelimits
        self._faults = faults
        # Every REST request: (event-loop time, method, full path without the
        # query, JSON body or None), including those answered with an error.
        self.requests: list[tuple[float, str, str, dict | None]] = []

    @web.middleware
    async def handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        if self._state.receipts:
            RECEIVED_AT.set(time.perf_counter())
        body = None
        files: dict[int, UploadedFile] = {}
        if request.can_read_body and request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                return DiscordError(400, "400: Bad Request").response()
        elif request.can_read_body and request.content_type == "multipart/form-data":
            # As discord.py sends files: the JSON in a "payload_json" part, the files in
            # "files[n]" parts, matched by the "attachments" entries' ids.
            try:
                body, files = await _multipart(request)
            except ValueError:
                return DiscordError(400, "400: Bad Request").response()
            # Past the largest limit of any server; each server's own is checked where the
            # message's channel is known (DiscordState.uploaded).
            if any(len(f.data) > MAX_UPLOAD_LIMIT for f in files.values()):
                return DiscordError(413, "Request entity too large", REQUEST_ENTITY_TOO_LARGE).response()
        loop_time = asyncio.get_running_loop().time()
        self.requests.append((loop_time, request.method, request.path, body))
        request[JSON_BODY] = body
        request[FILES] = files

        resource = request.match_info.route.resource
        if resource is None:  # no such route (or method): Discord's plain 404
            return DiscordError(404, "404: Not Found").response()
        route_name = f"{request.method} {resource.canonical[len(API_PREFIX) :]}"
        needs_bot = (
            "{webhook_token}" not in route_name
            and "{interaction_token}" not in route_name
            and route_name != "GET /gateway"
        )
        if needs_bot and request.headers.get("Authorization") != f"Bot {self._state.token}":
            return DiscordError(401, "401: Unauthorized").response()

        bucket_name = route_name
        major = (
            request.match_info.get("channel_id")
            or request.match_info.get("interaction_id")
            or (
                f"{request.match_info.get('webhook_id')}:{request.match_info.get('webhook_token')}"
                if "webhook_id" in request.match_info
                else ""
            )
        )
        injected = self._faults.answer(request, bucket_name, major)
        if injected is not None:
            return injected
        if not route_name.startswith("POST /interactions/"):
            globally_limited = self._ratelimits.spend_global()
            if globally_limited is not None:
                return globally_limited
        bucket, limited = self._ratelimits.spend(bucket_name, major)
        if limited:
            return self._ratelimits.rate_limited(bucket.reset_at - loop_time, bucket_name, bucket)
        try:
            response = await handler(request)
        except DiscordError as error:
            response = error.response()
        response.headers.update(self._ratelimits.headers(bucket_name, bucket))
        response.headers["Via"] = "1.1 google"
        return response


async def _multipart(request: web.Request) -> tuple[dict | None, dict[int, UploadedFile]]:
    body = None
    files: dict[int, UploadedFile] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        name = part.name or ""
        if name == "payload_json":
            body = json.loads(await part.text())
        elif name.startswith("files[") and name.endswith("]"):
            index = int(name[len("files[") : -1])
            files[index] = UploadedFile(
                index=index,
                filename=part.filename or f"file{index}",
                content_type=part.headers.get("Content-Type", "application/octet-stream"),
                data=bytes(await part.read()),
            )
    return body, files
