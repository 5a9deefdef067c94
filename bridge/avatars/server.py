"""The avatar server of `twinbridge run`: GET /avatars/<token>.jpg answers a kept profile
photo (metadata stripped) for as long as it is kept, 404 for anything else. Nothing else
is served; no access log (a path holds a token). Put it behind the HTTPS reverse proxy
that TWINBRIDGE_PUBLIC_URL names: Discord fetches avatars from public URLs only."""

from __future__ import annotations

import asyncio
import logging
import re

from aiohttp import web

from .service import AvatarService

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CACHE_SECONDS = 3600


async def serve(service: AvatarService, host: str, port: int, stop: asyncio.Event) -> None:
    async def avatar(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        photo = await service.photo(token) if _TOKEN.match(token) else None
        if photo is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=photo,
            content_type="image/jpeg",
            headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}", "X-Content-Type-Options": "nosniff"},
        )

    app = web.Application()
    app.router.add_get("/avatars/{token}.jpg", avatar)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("serving avatars on %s:%s", host, port)
        await stop.wait()
    finally:
        await runner.cleanup()
