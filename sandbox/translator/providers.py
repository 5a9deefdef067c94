"""The two endpoints deep-translator scrapes: MyMemory's ``/get`` JSON (its errors come
back as HTTP 200 with the message in ``translatedText``, as the real one does) and
Google's ``/m`` page with its ``result-container`` div."""

from __future__ import annotations

import html
import re
from http import HTTPStatus
from typing import Any

from aiohttp import web

from sandbox.translator.base import TranslateRequest, TranslatorStandIn, nginx_page
from sandbox.translator.fake import guess_language

_MM_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,4})*$", re.IGNORECASE)
_MM_EXAMPLE = (
    "EXAMPLE: LANGPAIR=EN|IT USING 2 LETTER ISO OR RFC3066 LIKE ZH-CN. "
    "ALMOST ALL LANGUAGES SUPPORTED BUT SOME MAY HAVE NO CONTENT"
)
_MM_QUOTA = (
    "MYMEMORY WARNING: YOU USED ALL AVAILABLE FREE TRANSLATIONS FOR TODAY. NEXT AVAILABLE IN  "
    "23 HOURS 59 MINUTES 59 SECONDS VISIT HTTPS://MYMEMORY.TRANSLATED.NET/DOC/USAGELIMITS.PHP "
    "TO TRANSLATE MORE"
)
_GOOGLE_SORRY = (
    "<html><head><title>https://translate.google.com/m</title></head><body><div>"
    "Our systems have detected unusual traffic from your computer network.</div></body></html>"
)


def _primary(code: str) -> str:
    # deep-translator sends MyMemory "en-GB" and Google "zh-CN"; the fake keys on "en" / "zh".
    return code.split("-")[0].lower()


def _mymemory_body(translated: str, status: int, details: str = "", matches: Any = "") -> dict[str, Any]:
    return {
        "responseData": {"translatedText": translated, **({"match": 0.85} if status == 200 else {})},
        "quotaFinished": status == 429,
        "mtLangSupported": None,
        "responseDetails": details,
        "responseStatus": status,
        "responderId": None,
        "exception_code": None,
        "matches": matches,
    }


class ProviderEndpointStandIn(TranslatorStandIn):
    """api.mymemory.translated.net/get and translate.google.com/m on 127.0.0.1."""

    @property
    def mymemory_url(self) -> str:
        return self.url + "/get"

    @property
    def google_url(self) -> str:
        return self.url + "/m"

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get("/get", self._mymemory)
        app.router.add_get("/m", self._google)

    def _failure(self, record: TranslateRequest, status: int, message: str | None) -> web.Response:
        if record.provider == "mymemory" and status < 500:
            text = message or (_MM_QUOTA if status == 429 else HTTPStatus(status).phrase.upper())
            return web.json_response(_mymemory_body(text, status, text), status=status)
        if record.provider == "google":
            page = _GOOGLE_SORRY if status == 429 else f"<title>Error {status} ({HTTPStatus(status).phrase})!!1</title>"
            return web.Response(status=status, text=message or page, content_type="text/html")
        return nginx_page(status)

    def _record(self, request: web.Request, provider: str, source: str, target: str) -> TranslateRequest:
        q = request.query.get("q", "")
        return TranslateRequest(
            request.path,
            request.method,
            _primary(source) or None,
            _primary(target) or None,
            [q] if q else [],
            "text",
            request.query_string,
            request.query.get("key"),
            provider,
        )

    async def _mymemory(self, request: web.Request) -> web.Response:
        langpair = request.query.get("langpair", "")
        source, _, target = langpair.partition("|")
        record = self._record(request, "mymemory", source, target)

        def answer() -> web.Response:
            # MyMemory reports request errors as HTTP 200 with the message as the "translation".
            error = None
            if not record.q:
                error = "NO QUERY SPECIFIED. EXAMPLE REQUEST: GET?Q=HELLO&LANGPAIR=EN|IT"
            elif "|" not in langpair:
                error = "INVALID LANGUAGE PAIR SPECIFIED. " + _MM_EXAMPLE
            elif not _MM_LANG.match(source) or not _MM_LANG.match(target):
                side, code = ("SOURCE", source) if not _MM_LANG.match(source) else ("TARGET", target)
                error = f"'{code.upper()}' IS AN INVALID {side} LANGUAGE . " + _MM_EXAMPLE
            if error:
                return web.json_response(_mymemory_body(error, 403, error))
            text = record.q[0]
            translated = self._translated(record.source, record.target, text)
            match = {
                "id": "0",
                "segment": text,
                "translation": translated,
                "source": source,
                "target": target,
                "quality": 74,
                "reference": None,
                "usage-count": 0,
                "subject": "",
                "created-by": "MT!",
                "create-date": "2024-01-01 00:00:00",
                "match": 0.85,
            }
            return web.json_response(_mymemory_body(translated, 200, matches=[match]))

        return await self._serve(record, answer)

    async def _google(self, request: web.Request) -> web.Response:
        source, target = request.query.get("sl", "auto"), request.query.get("tl", "en")
        record = self._record(request, "google", source, target)

        def answer() -> web.Response:
            text = record.q[0] if record.q else ""
            src = guess_language(text)[0] if record.source == "auto" else record.source
            translated = self._translated(src, record.target, text) if text else ""
            page = (
                f'<!DOCTYPE html><html lang="{html.escape(target)}"><head><meta charset="utf-8">'
                f'<title>Google Translate</title></head><body><div class="root-container">'
                f'<div class="header"><div class="logo-image"></div></div>'
                f'<div class="result-container">{html.escape(translated)}</div></div></body></html>'
            )
            return web.Response(text=page, content_type="text/html")

        return await self._serve(record, answer)
