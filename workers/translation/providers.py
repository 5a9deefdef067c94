"""The translator port and its providers.

Every provider answers one call: translate these pieces of text from one
language to another within ``timeout`` seconds, or raise
:class:`TranslationFailed` saying why (never with the text in it: provider
errors are logged and counted, and message text is personal data).

``libre`` (a self-hosted LibreTranslate) is spoken to directly with POST and a
JSON body, so chat text never lands in a URL or an access log. The others are
deep-translator's classes. deep-translator has no setting for a request timeout
or a base URL, so two of its internals are used (the only ones): each provider
module's ``requests`` is replaced by one that always bounds the call (see
:class:`_BoundedRequests`), and ``endpoint`` is set as the translator's
``_base_url``. pyproject.toml pins deep-translator to the minor version this was
checked against; tests/unit/test_deep_translator_upstream.py fails when upstream
changes either.

Every HTTP call has a deadline for the whole answer (:func:`request_within`):
requests' ``timeout`` bounds each read, so a server sending one byte a second
would otherwise hold a call, and the message, for as long as it likes.
"""

from __future__ import annotations

import importlib
import io
import os
import re
import sys
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from collections.abc import Callable

import requests
import urllib3
from celery.exceptions import SoftTimeLimitExceeded

from .codes import base, provider_code

DISPLAY_NAMES = {
    "libre": "LibreTranslate",
    "google": "Google Translate",
    "mymemory": "MyMemory",
    "microsoft": "Microsoft Translator",
    "deepl": "DeepL",
    "yandex": "Yandex Translate",
    "papago": "Papago",
    "baidu": "Baidu Translate",
    "qcri": "QCRI",
}


class TranslationFailed(Exception):
    """A provider could not translate. ``retryable``: the same call may work
    later (timeouts, 429, 5xx); otherwise (unsupported pair, bad key, text too
    long) only another provider can help."""

    def __init__(self, provider: str, reason: str, *, retryable: bool = True):
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason
        self.retryable = retryable


class Provider(Protocol):
    name: str
    max_chars: int  # per call, all pieces together
    # Optional (read with getattr): the provider translates HTML keeping its tags, and its
    # translate() takes ``html=True`` (core/formatting.py's marks cross it).
    # html: bool

    def code_for(self, language: str, timeout: float = 3.0) -> str | None:
        """The provider's code for ``language``, or None if it cannot translate it."""

    def translate(self, pieces: list[str], source: str, target: str, timeout: float) -> list[str]:
        """``pieces`` translated (provider codes), in order, within ``timeout`` seconds."""


def _classify_status(provider: str, status: int, detail: str = "") -> TranslationFailed:
    if status == 429:
        return TranslationFailed(provider, "rate limited (429)")
    if status >= 500:
        return TranslationFailed(provider, f"server error ({status})")
    if status in (401, 403):
        return TranslationFailed(provider, f"API key rejected ({status})", retryable=False)
    return TranslationFailed(provider, f"request refused ({status}{': ' + detail if detail else ''})", retryable=False)


# -- HTTP sessions ------------------------------------------------------------------

# A requests.Session with trust_env (the default) reads on every request the proxy
# variables (scanning os.environ), the CA bundle variables and a netrc file (a stat).
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def _environment_needed() -> bool:
    """Whether requests must keep reading the environment itself: a proxy is set
    (either case), or a netrc file may hold credentials; elsewhere than Linux,
    proxies may also come from the system's settings, which only requests reads."""
    if sys.platform != "linux":
        return True
    if any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES):
        return True
    if os.environ.get("NETRC") is not None:
        return True
    return any(os.path.exists(os.path.expanduser(f"~/{name}")) for name in (".netrc", "_netrc"))


def new_session() -> requests.Session:
    """A session for one provider in one thread (kept, so connections are reused).

    Unless a proxy or a netrc file is configured (a deployment behind a proxy keeps
    working), it does not consult the environment on each request: those lookups
    were prominent in a worker's CPU profile. The environment is read once, here;
    a CA bundle set there (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) is still used."""
    session = requests.Session()
    if not _environment_needed():
        session.trust_env = False
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:  # what requests would have picked up on each request
            session.verify = bundle
    return session


# -- a deadline for the whole request ----------------------------------------------

MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a translation of 5000 characters is a few kB


class DeadlineExceeded(requests.Timeout):
    """The answer had not fully arrived by the request's deadline."""


def request_within(
    session: requests.Session, method: str, url: str, deadline: float, **kwargs: Any
) -> requests.Response:
    """``session.request(method, url, ...)`` whose whole answer has arrived by
    ``deadline`` (a :func:`time.monotonic` instant), else :class:`DeadlineExceeded`.

    Connecting and each read are bounded by the time left when the call starts
    (requests' per-read timeout); the body is then read as it comes, chunk by
    chunk, and the deadline checked after every chunk, so a server trickling its
    answer is cut off within one read of the deadline. The response returned has
    its content read (``.json()``, ``.text`` work as usual)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded("no time left")
    kwargs.pop("timeout", None)
    response = session.request(method, url, stream=True, timeout=(remaining, remaining), **kwargs)
    received = response.raw  # urllib3's response, read here instead of by Response.content (no deadline)
    body = bytearray()
    complete = False
    try:
        while True:
            if time.monotonic() >= deadline:
                raise DeadlineExceeded("the answer did not arrive in time")
            chunk = received.read1(64 * 1024, decode_content=True)
            if not chunk:
                break
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise requests.ConnectionError("answer too large")
        complete = True
    except requests.RequestException:
        raise
    except urllib3.exceptions.ReadTimeoutError:
        raise requests.ReadTimeout("read timed out") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise requests.ConnectionError(exc.__class__.__name__) from None
    finally:
        if not complete:
            received.close()  # a cut-off answer: its connection cannot be reused
        received.release_conn()  # a fully read one goes back to the session's pool
    # The body, decoded, is what .content, .text and .json() read from now on.
    response.raw = io.BytesIO(bytes(body))
    return response


# -- LibreTranslate ---------------------------------------------------------------


class LibreProvider:
    """A self-hosted LibreTranslate, via its HTTP API (POST /translate, JSON).

    The server's languages and character limit are read once (GET /languages,
    /frontend/settings) and remembered for ten minutes; while the server is
    unreachable our codes are sent as they are and the server judges."""

    name = "libre"
    html = True  # format "html": tags are kept, the text between them translated
    LANGUAGES_TTL = 600.0
    DEFAULT_LIMIT = 5000

    def __init__(self, url: str, api_key: str | None = None):
        self.url = url.rstrip("/")
        self.api_key = api_key
        self._local = threading.local()
        self._languages: tuple[float, frozenset[str]] | None = None
        self.max_chars = self.DEFAULT_LIMIT

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):  # requests' sessions are not meant to be shared by threads
            self._local.session = new_session()
        return self._local.session

    def languages(self, timeout: float = 3.0) -> frozenset[str] | None:
        now = time.monotonic()
        if self._languages and now - self._languages[0] < self.LANGUAGES_TTL:
            return self._languages[1]
        try:
            response = request_within(self._session(), "GET", f"{self.url}/languages", now + timeout)
            codes = frozenset(entry["code"] for entry in response.json()) if response.ok else None
        except (requests.RequestException, ValueError, KeyError, TypeError):
            codes = None
        if codes:
            self._languages = (now, codes)
            self._read_char_limit(timeout)
        return codes

    def _read_char_limit(self, timeout: float) -> None:
        try:
            limit = int(
                request_within(
                    self._session(), "GET", f"{self.url}/frontend/settings", time.monotonic() + timeout
                ).json()["charLimit"]
            )
        except (requests.RequestException, ValueError, KeyError, TypeError):
            return
        # -1 means unlimited; stay at a size a single request handles comfortably.
        self.max_chars = self.DEFAULT_LIMIT if limit <= 0 else min(limit, self.DEFAULT_LIMIT)

    def code_for(self, language: str, timeout: float = 3.0) -> str | None:
        known = self.languages(timeout)
        if known is None:
            return {"zh-TW": "zt", "pt-BR": "pb"}.get(language, base(language))
        return provider_code(language, known)

    def translate(self, pieces: list[str], source: str, target: str, timeout: float, html: bool = False) -> list[str]:
        """One POST for all pieces when they fit the server's limit together
        (it counts a batch as one text), else one POST per piece. ``html``: the
        pieces are HTML (format "html")."""
        deadline = time.monotonic() + timeout
        batches = [pieces] if sum(map(len, pieces)) <= self.max_chars else [[p] for p in pieces]
        out: list[str] = []
        for batch in batches:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TranslationFailed(self.name, "timed out")
            out += self._post(batch, source, target, deadline, html)
        return out

    def _post(self, pieces: list[str], source: str, target: str, deadline: float, html: bool = False) -> list[str]:
        body: dict[str, Any] = {"q": pieces, "source": source, "target": target, "format": "html" if html else "text"}
        if self.api_key:
            body["api_key"] = self.api_key
        try:
            response = request_within(self._session(), "POST", f"{self.url}/translate", deadline, json=body)
        except requests.Timeout:
            raise TranslationFailed(self.name, "timed out") from None
        except requests.RequestException:
            raise TranslationFailed(self.name, "unreachable") from None
        if response.status_code != 200:
            detail = ""
            try:
                error = str(response.json().get("error", ""))
                detail = "not supported" if "not supported" in error else ("too long" if "limit" in error else "")
            except ValueError:
                pass
            raise _classify_status(self.name, response.status_code, detail)
        try:
            translated = response.json()["translatedText"]
        except (ValueError, KeyError):
            raise TranslationFailed(self.name, "unreadable answer") from None
        if isinstance(translated, str):
            translated = [translated]
        if not isinstance(translated, list) or len(translated) != len(pieces):
            raise TranslationFailed(self.name, "answer does not match the request")
        return [str(t) for t in translated]


# -- deep-translator --------------------------------------------------------------


class _BoundedRequests:
    """What deep-translator's modules see as ``requests``: the real module,
    except that ``get`` and ``post`` always have a deadline for the whole
    answer (the calling thread's, set by :class:`DeepTranslatorProvider`; see
    :func:`request_within`). Without it a stalled or trickling provider would
    hold a worker forever."""

    DEFAULT_TIMEOUT = 10.0

    def __init__(self) -> None:
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    def deadline(self) -> float:
        return getattr(self._local, "deadline", None) or time.monotonic() + self.DEFAULT_TIMEOUT

    def set_deadline(self, deadline: float | None) -> None:
        self._local.deadline = deadline

    def _session(self) -> requests.Session:
        """This thread's session: kept (connections reused), but with no cookies
        carried from one call to the next, as with a new session per call."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = new_session()
        session.cookies.clear()
        return session

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return request_within(self._session(), "GET", url, self.deadline(), **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return request_within(self._session(), "POST", url, self.deadline(), **kwargs)


_BOUNDED = _BoundedRequests()
_MYMEMORY_REFUSAL = re.compile(
    r"MYMEMORY WARNING|QUERY LENGTH LIMIT|INVALID LANGUAGE PAIR|NO QUERY SPECIFIED"
    r"|'[A-Z-]+' IS AN INVALID"
)


@dataclass(frozen=True)
class _Spec:
    module: str
    cls: str
    max_chars: int  # below the class's own length check, with room to spare
    codes: str | None  # the constants table of supported codes; None: ask the class
    credentials: tuple[str, ...] = ()  # constructor arguments that must be given


_SPECS = {
    "google": _Spec("google", "GoogleTranslator", 4500, "GOOGLE_LANGUAGES_TO_CODES"),
    "mymemory": _Spec("mymemory", "MyMemoryTranslator", 450, "MY_MEMORY_LANGUAGES_TO_CODES"),
    "deepl": _Spec("deepl", "DeeplTranslator", 4500, "DEEPL_LANGUAGE_TO_CODE", ("api_key",)),
    "microsoft": _Spec("microsoft", "MicrosoftTranslator", 4500, None, ("api_key",)),
    "yandex": _Spec("yandex", "YandexTranslator", 4500, None, ("api_key",)),
    "papago": _Spec("papago", "PapagoTranslator", 4500, "PAPAGO_LANGUAGE_TO_CODE", ("client_id", "secret_key")),
    "baidu": _Spec("baidu", "BaiduTranslator", 2000, "BAIDU_LANGUAGE_TO_CODE", ("appid", "appkey")),
    "qcri": _Spec("qcri", "QcriTranslator", 2000, "QCRI_LANGUAGE_TO_CODE", ("api_key",)),
}


def _load_module(name: str):
    module: Any = importlib.import_module(f"deep_translator.{name}")  # untyped: its requests is set below
    # Its classes call the module's requests.get/post without a timeout (see _BoundedRequests).
    module.requests = _BOUNDED
    return module


@dataclass
class DeepTranslatorProvider:
    """One of deep-translator's providers behind the port, one call per piece.

    ``endpoint`` replaces the provider's base URL (a proxy, or a stand-in on
    loopback in tests and the demo)."""

    name: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    endpoint: str | None = None

    def __post_init__(self) -> None:
        self._spec = _SPECS[self.name]
        self.max_chars = self._spec.max_chars
        self._module = _load_module(self._spec.module)
        self._supported: frozenset[str] | None = None
        if self._spec.codes:
            table = getattr(importlib.import_module("deep_translator.constants"), self._spec.codes)
            self._supported = frozenset(table.values())

    def code_for(self, language: str, timeout: float = 3.0) -> str | None:
        if self._supported is None:  # the provider's list comes from its API: assume the plain code
            return {"zh": "zh-Hans", "zh-CN": "zh-Hans", "zh-TW": "zh-Hant"}.get(language, base(language))
        return provider_code(language, self._supported)

    def _translator(self, source: str, target: str):
        cls: Callable[..., Any] = getattr(self._module, self._spec.cls)
        translator = cls(source=source, target=target, **dict(self.credentials))
        if self.endpoint:  # read by translate(); set from constants.BASE_URLS in __init__, no argument for it
            translator._base_url = self.endpoint
        return translator

    def translate(self, pieces: list[str], source: str, target: str, timeout: float) -> list[str]:
        from deep_translator import exceptions as dt

        deadline = time.monotonic() + max(0.1, timeout)
        try:
            _BOUNDED.set_deadline(deadline)
            translator = self._translator(source, target)
            out = []
            for piece in pieces:
                if deadline - time.monotonic() <= 0:
                    raise TranslationFailed(self.name, "timed out")
                translated = translator.translate(piece) or ""
                if self.name == "mymemory" and _MYMEMORY_REFUSAL.match(translated):
                    # MyMemory answers quota and request errors with HTTP 200 and the
                    # message in place of the translation; deep-translator passes it on.
                    raise TranslationFailed(self.name, "refused the request (quota or language pair)")
                out.append(translated)
            return out
        except TranslationFailed:
            raise
        except requests.Timeout:
            raise TranslationFailed(self.name, "timed out") from None
        except requests.RequestException:
            raise TranslationFailed(self.name, "unreachable") from None
        except dt.TooManyRequests:
            raise TranslationFailed(self.name, "rate limited (429)") from None
        except (dt.RequestError, dt.ServerException):
            raise TranslationFailed(self.name, "request failed") from None
        except (dt.LanguageNotSupportedException, dt.InvalidSourceOrTargetLanguage):
            raise TranslationFailed(self.name, "language pair not supported", retryable=False) from None
        except (dt.ApiKeyException, dt.AuthorizationException):
            raise TranslationFailed(self.name, "API key missing or rejected", retryable=False) from None
        except dt.NotValidLength:
            raise TranslationFailed(self.name, "text too long for the provider", retryable=False) from None
        except SoftTimeLimitExceeded:
            raise  # the task's time limit, not the provider's failure
        except Exception as exc:  # noqa: BLE001 - deep-translator's errors carry the text: keep only the class name
            raise TranslationFailed(self.name, f"failed ({exc.__class__.__name__})", retryable=False) from None
        finally:
            _BOUNDED.set_deadline(None)


def build_providers(
    *,
    libretranslate_url: str | None,
    libretranslate_api_key: str | None,
    credentials: Mapping[str, Mapping[str, str]],
    endpoints: Mapping[str, str],
    wanted: Collection[str],
) -> tuple[dict[str, Provider], dict[str, str]]:
    """The providers ``wanted`` (the union of the policies' lists) that can run
    here, and for the others why not (for `twinbridge check` and the logs)."""
    ready: dict[str, Provider] = {}
    missing: dict[str, str] = {}
    for name in wanted:
        if name == "libre":
            url = endpoints.get("libre") or libretranslate_url
            if url:
                ready[name] = LibreProvider(url, libretranslate_api_key)
            else:
                missing[name] = "LIBRETRANSLATE_URL is not set"
            continue
        spec = _SPECS.get(name)
        if spec is None:
            missing[name] = "not a provider this version supports"
            continue
        given = dict(credentials.get(name, {}))
        absent = [c for c in spec.credentials if not given.get(c)]
        if absent:
            missing[name] = "needs " + ", ".join(credential_env(name, c) for c in absent)
            continue
        ready[name] = DeepTranslatorProvider(name, given, endpoints.get(name))
    return ready, missing


def credential_env(provider: str, credential: str) -> str:
    """The environment variable that carries one provider credential."""
    return f"{provider.upper()}_{credential.upper()}"
