"""A LibreTranslate server (the 1.6-era ``libretranslate/app.py``): ``POST /translate``
with a JSON or form body, a string or a batch ``q``, ``source: "auto"`` with
``detectedLanguage``, ``alternatives``, the per-text character limit, the API-key check
and the real ``{"error": ...}`` bodies; plus ``/detect``, ``/languages`` and
``/frontend/settings``. Like the real server it HTML-unescapes every result."""

from __future__ import annotations

import html
import json
from http import HTTPStatus
from typing import Any

from aiohttp import web

from sandbox.translator.base import Reject, TranslateRequest, TranslatorStandIn, nginx_page
from sandbox.translator.fake import guess_language

DEFAULT_LANGUAGES = ("en", "de", "fr", "es", "zh", "gu", "it", "pl", "nl", "pt")
_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "zh": "Chinese",
    "gu": "Gujarati",
    "it": "Italian",
    "pl": "Polish",
    "nl": "Dutch",
    "pt": "Portuguese",
}


def _lt_error(status: int, message: str) -> Reject:
    return Reject(web.json_response({"error": message}, status=status))


_LT_FAILURES = {
    400: "Please contact the server operator to get an API key",
    403: "Too many request limits violations",  # the flood ban
    429: "Slowdown: 10 per 1 minute",  # "Slowdown: " + flask-limiter's limit
    500: "Cannot translate text: 'NoneType' object has no attribute 'hypotheses'",
}


class LibreTranslateStandIn(TranslatorStandIn):
    """A LibreTranslate server on 127.0.0.1."""

    def __init__(
        self, api_key: str | None = None, char_limit: int = 2000, languages: tuple[str, ...] = DEFAULT_LANGUAGES
    ):
        super().__init__()
        self.api_key, self.char_limit, self.languages = api_key, char_limit, tuple(languages)

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/translate", self._translate)
        app.router.add_post("/detect", self._detect)
        app.router.add_get("/languages", self._info)
        app.router.add_get("/frontend/settings", self._info)

    def _failure(self, record: TranslateRequest, status: int, message: str | None) -> web.Response:
        if status in (502, 503, 504) and message is None:
            return nginx_page(status)
        return web.json_response(
            {"error": message or _LT_FAILURES.get(status, HTTPStatus(status).phrase)}, status=status
        )

    async def _record(self, request: web.Request) -> tuple[TranslateRequest, dict, Reject | None]:
        """Read the parameters the way Flask does (JSON body, else query + form values)."""
        problem, params = None, {}
        if request.content_type == "application/json" or request.content_type.endswith("+json"):
            try:
                params = json.loads(await request.read())
                if not isinstance(params, dict):
                    params, problem = {}, _lt_error(400, "Invalid JSON format")
            except ValueError as error:
                problem = _lt_error(400, f"Failed to decode JSON object: {error}")
        else:
            form = await request.post()
            params = {key: request.query.get(key, form.get(key)) for key in {*request.query, *form}}
            if isinstance(params.get("q"), str):  # the real server normalises form line endings
                params["q"] = "\n".join(params["q"].splitlines())
        q = params.get("q")
        texts = [str(text) for text in q] if isinstance(q, list) else ([q] if isinstance(q, str) and q else [])
        record = TranslateRequest(
            request.path,
            request.method,
            params.get("source"),
            params.get("target"),
            texts,
            params.get("format"),
            request.query_string,
            params.get("api_key"),
        )
        return record, params, problem

    def _check_key(self, params: dict) -> None:
        if self.api_key is None:
            return
        key = params.get("api_key")
        if key and key != self.api_key:
            raise _lt_error(403, "Invalid API key")
        if not key:  # what a server started with --require-api-key-origin/-secret answers
            raise _lt_error(400, "Please contact the server operator to get an API key")

    async def _translate(self, request: web.Request) -> web.Response:
        record, params, problem = await self._record(request)

        def answer() -> web.Response:
            if problem:
                raise problem
            self._check_key(params)
            q, source, target = params.get("q"), params.get("source"), params.get("target")
            for name, value in (("q", q), ("source", source), ("target", target)):
                if not value:
                    raise _lt_error(400, f"Invalid request: missing {name} parameter")
            try:
                alternatives = max(0, int(params.get("alternatives") or 0))
            except (TypeError, ValueError):
                raise _lt_error(400, "Invalid request: alternatives parameter is not a number") from None
            texts = q if isinstance(q, list) else [q]
            for text in texts:
                if self.char_limit != -1 and len(text) > self.char_limit:
                    raise _lt_error(
                        400, f"Invalid request: request ({len(text)}) exceeds text limit ({self.char_limit})"
                    )
            detected = None
            if source == "auto":
                code, confidence = guess_language(" ".join(texts))
                detected, source_code = {"confidence": confidence, "language": code}, code
            else:
                source_code = source
            for code, given in ((source_code, source), (target, target)):
                if code not in self.languages:
                    raise _lt_error(400, f"{given} is not supported")
            fmt = params.get("format") or "text"
            if fmt not in ("text", "html"):
                raise _lt_error(400, f"{fmt} format is not supported")
            # The real server unescapes every result, HTML format included.
            results = [html.unescape(self._translated(source_code, target, text, fmt)) for text in texts]
            batch = isinstance(q, list)
            body: dict[str, Any] = {"translatedText": results if batch else results[0]}
            if detected:
                body["detectedLanguage"] = [detected] * len(texts) if batch else detected
            if alternatives:
                body["alternatives"] = [[] for _ in texts] if batch else []
            return web.json_response(body)

        return await self._serve(record, answer)

    async def _detect(self, request: web.Request) -> web.Response:
        record, params, problem = await self._record(request)

        def answer() -> web.Response:
            if problem:
                raise problem
            self._check_key(params)
            if not params.get("q"):
                raise _lt_error(400, "Invalid request: missing q parameter")
            code, confidence = guess_language(" ".join(record.q))
            return web.json_response([{"confidence": confidence, "language": code}])

        return await self._serve(record, answer, gated=False)

    async def _info(self, request: web.Request) -> web.Response:
        # /languages and /frontend/settings: no key, no planned trouble, as the real app exempts them.
        names = {code: _NAMES.get(code, code) for code in self.languages}
        if request.path == "/languages":
            body: Any = [
                {"code": code, "name": name, "targets": sorted(set(names) - {code})} for code, name in names.items()
            ]
        else:
            target = self.languages[min(1, len(self.languages) - 1)]
            body = {
                "charLimit": self.char_limit,
                "frontendTimeout": 500,
                "apiKeys": self.api_key is not None,
                "keyRequired": self.api_key is not None,
                "suggestions": False,
                "filesTranslation": False,
                "supportedFilesFormat": [],
                "language": {
                    "source": {"code": "auto", "name": "Auto Detect"},
                    "target": {"code": target, "name": names[target]},
                },
            }
        record = TranslateRequest(request.path, request.method, None, None, [], None, request.query_string, None)
        return await self._serve(record, lambda: web.json_response(body), gated=False)
