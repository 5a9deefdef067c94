"""What both translation stand-ins share: their lifecycle on 127.0.0.1, the record of
every request (:class:`TranslateRequest`) and of every text translated, and planned
trouble: failures (``fail_next``), held answers (``stall``, ``stall_forever``) and
answers that drip in one byte at a time (``drip``)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web

from sandbox.translator.fake import fake_translate

# Marks an answer to be sent one byte at a time (see drip()).
_DRIP = web.ResponseKey("drip", float)


@dataclass
class TranslateRequest:
    """One request as it arrived; ``status`` is filled in once it is answered.

    ``query_string`` is percent-decoded, so ``text not in record.query_string``
    really proves the text did not travel in the URL.
    """

    path: str
    method: str
    source: str | None
    target: str | None
    q: list[str]
    format: str | None
    query_string: str
    api_key: str | None
    provider: str = "libretranslate"
    status: int | None = None


class Reject(Exception):
    """An answer that ends the request early (an error body, shaped by the caller)."""

    def __init__(self, response: web.Response):
        self.response = response


def nginx_page(status: int) -> web.Response:
    # 502/503/504 come from the reverse proxy in front, not from the service itself.
    title = f"{status} {HTTPStatus(status).phrase}"
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=body, content_type="text/html")


class TranslatorStandIn:
    """Lifecycle, records and planned trouble, shared by both stand-ins.

    Subclasses add their routes in ``_add_routes(app)`` and shape planned
    failures in ``_failure(record, status, message)``. Call everything from
    the loop the stand-in runs on.
    """

    def __init__(self) -> None:
        self.requests: list[TranslateRequest] = []
        self._translations: list[tuple[str, str, str]] = []
        self._failures: list[tuple[int, str | None]] = []
        self._stalls: list[float] = []
        self._stall_all = False
        self._drip: float | None = None  # seconds between the bytes of a translation's answer
        # Replaced on every release, so a held request only sees the release it waited for.
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(middlewares=[self._dripping])
        self._add_routes(app)
        # access_log=None: provider requests carry the members' text in the query string.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self._host, self._port = host, self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.unstall()  # let held requests answer instead of being cut off at shutdown
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{self._host}:{self._port}"

    @property
    def translations(self) -> list[tuple[str, str, str]]:
        """(source, target, text) of every text actually translated, in order."""
        return list(self._translations)

    def fail_next(self, status: int, count: int = 1, message: str | None = None) -> None:
        """Answer the next ``count`` translation requests with ``status`` and the service's error body."""
        self._failures += [(status, message)] * count

    def stall(self, seconds: float, count: int = 1) -> None:
        """Hold the next ``count`` translation requests for ``seconds`` before answering."""
        self._stalls += [seconds] * count

    def stall_forever(self) -> None:
        """Hold every translation request until :meth:`unstall` (or :meth:`stop`)."""
        self._stall_all = True

    def drip(self, interval: float = 0.5) -> None:
        """Answer every translation request slowly: status and headers at once,
        then the body one byte every ``interval`` seconds (until :meth:`unstall`).
        Each read of a client gets a byte well within any per-read timeout; only a
        deadline on the whole request stops waiting for the answer."""
        self._drip = interval

    def unstall(self) -> None:
        self._stalls.clear()
        self._stall_all = False
        self._drip = None
        self._release.set()
        self._release = asyncio.Event()

    def reset(self) -> None:
        self.requests.clear()
        self._translations.clear()
        self._failures.clear()
        self.unstall()

    def _translated(self, source: str, target: str, text: str, fmt: str = "text") -> str:
        self._translations.append((source, target, text))
        return fake_translate(text, source, target, format=fmt)

    async def _serve(
        self, record: TranslateRequest, answer: Callable[[], web.Response], gated: bool = True
    ) -> web.Response:
        """Record, then (for translation calls) hold and fail as planned, then answer."""
        self.requests.append(record)
        planned = None
        if gated:
            seconds = self._stalls.pop(0) if self._stalls else (math.inf if self._stall_all else 0)
            if seconds:
                release = self._release
                try:
                    await asyncio.wait_for(release.wait(), None if math.isinf(seconds) else seconds)
                except TimeoutError:
                    pass
            planned = self._failures.pop(0) if self._failures else None
        try:
            response = self._failure(record, *planned) if planned else answer()
        except Reject as reject:
            response = reject.response
        record.status = response.status
        if gated and self._drip is not None:
            response[_DRIP] = self._drip  # see _dripping
        return response

    @web.middleware
    async def _dripping(self, request: web.Request, handler) -> web.StreamResponse:
        """Send an answer marked by :meth:`_serve` one byte at a time (see :meth:`drip`)."""
        response = await handler(request)
        interval = response.get(_DRIP) if isinstance(response, web.Response) else None
        if interval is None:
            return response
        body = response.body if isinstance(response.body, bytes) else b""
        stream = web.StreamResponse(
            status=response.status,
            headers={
                k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "transfer-encoding")
            },
        )
        stream.content_length = len(body)
        await stream.prepare(request)
        release = self._release
        try:
            for i in range(len(body)):
                await stream.write(body[i : i + 1])
                if not release.is_set():
                    try:
                        await asyncio.wait_for(release.wait(), interval)
                    except TimeoutError:
                        pass
            await stream.write_eof()
        except ConnectionError:  # the client gave up waiting: what a deadline does
            pass
        return stream
