"""Protocol-level stand-ins of the translation services, on loopback.

:class:`LibreTranslateStandIn` speaks the LibreTranslate HTTP API (1.6-era
``libretranslate/app.py``): ``POST /translate`` with a JSON or form body, a
string or a batch ``q``, ``source: "auto"`` with ``detectedLanguage``,
``alternatives``, the per-text character limit, the API-key check, and the
real ``{"error": ...}`` bodies; plus ``/detect``, ``/languages`` and
``/frontend/settings``. Like the real server it HTML-unescapes every result.

:class:`ProviderEndpointStandIn` serves the two endpoints deep-translator
scrapes: MyMemory's ``/get`` JSON (its errors come back as HTTP 200 with the
message in ``translatedText``, as the real one does) and Google's ``/m`` page
with its ``result-container`` div. Point a translator's ``_base_url`` at
:attr:`~ProviderEndpointStandIn.mymemory_url` or ``google_url``.

Both translate with :func:`fake_translate`: visibly fake, deterministic, and
leaving placeholders (``⟦0⟧``), URLs and ``<span translate="no">`` alone.
Tests plan trouble with ``fail_next`` / ``stall`` / ``stall_forever`` / ``drip`` and read
what arrived in ``requests`` and ``translations``.

Deliberately not modelled: real translation or language detection (a script
and phrase-book guess), rate limiting by itself (use ``fail_next(429)``), the
batch limit, file translation, suggestions, MyMemory's quota, keys, length
limit and same-language check (deep-translator checks the last two itself),
Google's other endpoints and its language validation.
"""
from __future__ import annotations

import asyncio
import html
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any

from aiohttp import web

DEFAULT_LANGUAGES = ("en", "de", "fr", "es", "zh", "gu", "it", "pl", "nl", "pt")
_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "zh": "Chinese",
          "gu": "Gujarati", "it": "Italian", "pl": "Polish", "nl": "Dutch", "pt": "Portuguese"}

# -- the fake translation -----------------------------------------------------------

_PHRASES: tuple[dict[str, str], ...] = (
    {"en": "see you on Saturday", "de": "bis Samstag", "fr": "à samedi", "es": "hasta el sábado"},
    {"en": "good morning", "de": "guten Morgen", "fr": "bonjour", "es": "buenos días"},
    {"en": "good night", "de": "gute Nacht", "fr": "bonne nuit", "es": "buenas noches"},
    {"en": "thank you", "de": "danke", "fr": "merci", "es": "gracias"},
    {"en": "hello", "de": "hallo", "fr": "salut", "es": "hola"},
    {"en": "goodbye", "de": "tschüss", "fr": "au revoir", "es": "adiós"},
    {"en": "please", "de": "bitte", "fr": "s'il vous plaît", "es": "por favor"},
    {"en": "welcome", "de": "willkommen", "fr": "bienvenue", "es": "bienvenido"},
    {"en": "yes", "de": "ja", "fr": "oui", "es": "sí"},
    {"en": "Saturday", "de": "Samstag", "fr": "samedi", "es": "sábado"},
    {"en": "Sunday", "de": "Sonntag", "fr": "dimanche", "es": "domingo"},
    {"en": "today", "de": "heute", "fr": "aujourd'hui", "es": "hoy"},
    {"en": "tomorrow", "de": "morgen", "fr": "demain", "es": "mañana"},
    {"en": "meeting", "de": "Treffen", "fr": "réunion", "es": "reunión"},
    {"en": "event", "de": "Veranstaltung", "fr": "événement", "es": "evento"},
    {"en": "match", "de": "Spiel", "fr": "match", "es": "partido"},
    {"en": "friends", "de": "Freunde", "fr": "amis", "es": "amigos"},
    {"en": "community", "de": "Gemeinschaft", "fr": "communauté", "es": "comunidad"},
    {"en": "everyone", "de": "alle", "fr": "tout le monde", "es": "todos"},
    {"en": "the", "de": "die", "fr": "le", "es": "el"},
)
# Never translated: the bridge's placeholders and URLs; in HTML also tags and
# whatever sits in <span translate="no">, which is how the bridge fences terms.
_KEEP_TEXT = r"⟦\d+⟧|(?:https?://|www\.)[^\s<>\"]+"
_KEEP = {"text": re.compile(_KEEP_TEXT),
         "html": re.compile(r"<span\b[^>]*\btranslate\s*=\s*[\"']?no\b[\"']?[^>]*>.*?</span\s*>|<[^>]*>|"
                            + _KEEP_TEXT, re.IGNORECASE | re.DOTALL)}


@cache
def _phrase_table(source: str, target: str) -> tuple[re.Pattern | None, dict[str, str]]:
    table: dict[str, str] = {}
    for entry in _PHRASES:
        if source in entry and target in entry:
            table.setdefault(entry[source].lower(), entry[target])
    if not table:
        return None, table
    alternation = "|".join(re.escape(key) for key in sorted(table, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE), table


def _swap_phrases(chunk: str, source: str, target: str) -> str:
    pattern, table = _phrase_table(source, target)
    if pattern is None:
        return chunk

    def replace(match: re.Match) -> str:
        found, word = match.group(), table[match.group().lower()]
        if len(found) > 1 and found.isupper():
            return word.upper()
        return word[:1].upper() + word[1:] if found[:1].isupper() else word
    return pattern.sub(replace, chunk)


def guess_language(text: str) -> tuple[str, float]:
    """(code, confidence 0-100): Gujarati/Han script, else phrase-book hits, else English."""
    if re.search(r"[\u0a80-\u0aff]", text):
        return "gu", 95.0
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh", 95.0
    lowered = text.lower()
    scores = {lang: sum(bool(re.search(rf"(?<!\w){re.escape(e[lang].lower())}(?!\w)", lowered))
                        for e in _PHRASES) for lang in ("en", "de", "fr", "es")}
    best = max(scores, key=lambda lang: scores[lang])
    return (best, min(99.0, 60.0 + 10 * scores[best])) if scores[best] else ("en", 25.0)


def fake_translate(text: str, source: str, target: str, *, format: str = "text") -> str:
    """``"[target] " + text`` with phrase-book words swapped; blank text stays as it is."""
    if not text.strip():
        return text
    if source == "auto":
        source = guess_language(text)[0]
    pieces, position = [], 0
    for kept in _KEEP.get(format, _KEEP["text"]).finditer(text):
        pieces += [_swap_phrases(text[position:kept.start()], source, target), kept.group()]
        position = kept.end()
    pieces.append(_swap_phrases(text[position:], source, target))
    return f"[{target}] " + "".join(pieces)


# -- shared machinery ---------------------------------------------------------------

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


class _Reject(Exception):
    def __init__(self, response: web.Response):
        self.response = response


def _nginx_page(status: int) -> web.Response:
    # 502/503/504 come from the reverse proxy in front, not from the service itself.
    title = f"{status} {HTTPStatus(status).phrase}"
    body = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n" \
           "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    return web.Response(status=status, text=body, content_type="text/html")


class _StandIn:
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

    async def _serve(self, record: TranslateRequest, answer: Callable[[], web.Response],
                     gated: bool = True) -> web.Response:
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
        except _Reject as reject:
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
        stream = web.StreamResponse(status=response.status, headers={
            k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "transfer-encoding")})
        stream.content_length = len(body)
        await stream.prepare(request)
        release = self._release
        try:
            for i in range(len(body)):
                await stream.write(body[i:i + 1])
                if not release.is_set():
                    try:
                        await asyncio.wait_for(release.wait(), interval)
                    except TimeoutError:
                        pass
            await stream.write_eof()
        except ConnectionError:  # the client gave up waiting: what a deadline does
            pass
        return stream


# -- LibreTranslate -----------------------------------------------------------------

def _lt_error(status: int, message: str) -> _Reject:
    return _Reject(web.json_response({"error": message}, status=status))


_LT_FAILURES = {
    400: "Please contact the server operator to get an API key",
    403: "Too many request limits violations",  # the flood ban
    429: "Slowdown: 10 per 1 minute",  # "Slowdown: " + flask-limiter's limit
    500: "Cannot translate text: 'NoneType' object has no attribute 'hypotheses'",
}


class LibreTranslateStandIn(_StandIn):
    """A LibreTranslate server on 127.0.0.1."""

    def __init__(self, api_key: str | None = None, char_limit: int = 2000,
                 languages: tuple[str, ...] = DEFAULT_LANGUAGES):
        super().__init__()
        self.api_key, self.char_limit, self.languages = api_key, char_limit, tuple(languages)

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/translate", self._translate)
        app.router.add_post("/detect", self._detect)
        app.router.add_get("/languages", self._info)
        app.router.add_get("/frontend/settings", self._info)

    def _failure(self, record: TranslateRequest, status: int, message: str | None) -> web.Response:
        if status in (502, 503, 504) and message is None:
            return _nginx_page(status)
        return web.json_response({"error": message or _LT_FAILURES.get(status, HTTPStatus(status).phrase)},
                                 status=status)

    async def _record(self, request: web.Request) -> tuple[TranslateRequest, dict, _Reject | None]:
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
        record = TranslateRequest(request.path, request.method, params.get("source"), params.get("target"),
                                  texts, params.get("format"), request.query_string, params.get("api_key"))
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
                    raise _lt_error(400, f"Invalid request: request ({len(text)}) exceeds text limit "
                                         f"({self.char_limit})")
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
            body: Any = [{"code": code, "name": name, "targets": sorted(set(names) - {code})}
                         for code, name in names.items()]
        else:
            target = self.languages[min(1, len(self.languages) - 1)]
            body = {"charLimit": self.char_limit, "frontendTimeout": 500, "apiKeys": self.api_key is not None,
                    "keyRequired": self.api_key is not None, "suggestions": False, "filesTranslation": False,
                    "supportedFilesFormat": [], "language": {"source": {"code": "auto", "name": "Auto Detect"},
                                                             "target": {"code": target, "name": names[target]}}}
        record = TranslateRequest(request.path, request.method, None, None, [], None, request.query_string, None)
        return await self._serve(record, lambda: web.json_response(body), gated=False)


# -- deep-translator's providers ----------------------------------------------------

_MM_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,4})*$", re.IGNORECASE)
_MM_EXAMPLE = ("EXAMPLE: LANGPAIR=EN|IT USING 2 LETTER ISO OR RFC3066 LIKE ZH-CN. "
               "ALMOST ALL LANGUAGES SUPPORTED BUT SOME MAY HAVE NO CONTENT")
_MM_QUOTA = ("MYMEMORY WARNING: YOU USED ALL AVAILABLE FREE TRANSLATIONS FOR TODAY. NEXT AVAILABLE IN  "
             "23 HOURS 59 MINUTES 59 SECONDS VISIT HTTPS://MYMEMORY.TRANSLATED.NET/DOC/USAGELIMITS.PHP "
             "TO TRANSLATE MORE")
_GOOGLE_SORRY = ("<html><head><title>https://translate.google.com/m</title></head><body><div>"
                 "Our systems have detected unusual traffic from your computer network.</div></body></html>")


def _primary(code: str) -> str:
    # deep-translator sends MyMemory "en-GB" and Google "zh-CN"; the fake keys on "en" / "zh".
    return code.split("-")[0].lower()


def _mymemory_body(translated: str, status: int, details: str = "", matches: Any = "") -> dict[str, Any]:
    return {"responseData": {"translatedText": translated, **({"match": 0.85} if status == 200 else {})},
            "quotaFinished": status == 429, "mtLangSupported": None, "responseDetails": details,
            "responseStatus": status, "responderId": None, "exception_code": None, "matches": matches}


class ProviderEndpointStandIn(_StandIn):
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
        return _nginx_page(status)

    def _record(self, request: web.Request, provider: str, source: str, target: str) -> TranslateRequest:
        q = request.query.get("q", "")
        return TranslateRequest(request.path, request.method, _primary(source) or None, _primary(target) or None,
                                [q] if q else [], "text", request.query_string, request.query.get("key"), provider)

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
            match = {"id": "0", "segment": text, "translation": translated, "source": source, "target": target,
                     "quality": 74, "reference": None, "usage-count": 0, "subject": "", "created-by": "MT!",
                     "create-date": "2024-01-01 00:00:00", "match": 0.85}
            return web.json_response(_mymemory_body(translated, 200, matches=[match]))
        return await self._serve(record, answer)

    async def _google(self, request: web.Request) -> web.Response:
        source, target = request.query.get("sl", "auto"), request.query.get("tl", "en")
        record = self._record(request, "google", source, target)

        def answer() -> web.Response:
            text = record.q[0] if record.q else ""
            src = guess_language(text)[0] if record.source == "auto" else record.source
            translated = self._translated(src, record.target, text) if text else ""
            page = (f'<!DOCTYPE html><html lang="{html.escape(target)}"><head><meta charset="utf-8">'
                    f"<title>Google Translate</title></head><body><div class=\"root-container\">"
                    f'<div class="header"><div class="logo-image"></div></div>'
                    f'<div class="result-container">{html.escape(translated)}</div></div></body></html>')
            return web.Response(text=page, content_type="text/html")
        return await self._serve(record, answer)
