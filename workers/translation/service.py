"""Translating one message into the languages its destinations read.

One call per target language (never per destination chat), the policy's
providers tried in order, each call bounded in time and the whole message
bounded by a deadline: whatever is not translated by then is delivered in the
original and marked so, never dropped and never held.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from celery.exceptions import SoftTimeLimitExceeded

from core import formatting as fmt
from core.backoff import Backoff
from core.storage.translations import TranslationCache

from .cache import cache_digest
from .codes import base
from .providers import Provider, TranslationFailed
from .text import Protected, chunks, has_words, mark, protect, protect_formatted, rejoin, unmark

log = logging.getLogger(__name__)

TRANSLATED, SAME_LANGUAGE, NOTHING_TO_TRANSLATE, FAILED = "translated", "same_language", "nothing", "failed"
# Between a provider's attempts (never past the deadline).
RETRY_BACKOFF = Backoff(first=0.5, cap=4.0)

# Targets are translated side by side; each call waits on a remote server.
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="translate")


@dataclass(frozen=True)
class Request:
    text: str
    source: str  # the original's language (a configured code)
    targets: frozenset[str]
    providers: tuple[str, ...]  # the policy's list, in order of preference
    glossary: tuple[str, ...] = ()
    cache_days: int = 0  # 0: the policy allows no cache
    formatting: fmt.Spans = ()  # the text's bold, links, code… (core/formatting.py)


@dataclass(frozen=True)
class Translation:
    text: str  # what the destination shows: the translation, or the original
    target: str
    status: str  # TRANSLATED | SAME_LANGUAGE | NOTHING_TO_TRANSLATE | FAILED
    provider: str = ""  # who translated (a provider name)
    reason: str = ""  # why not translated (never contains message text)
    cached: bool = False
    source: str = ""  # the original's language
    # The formatting over ``text``: the original's where ``text`` is the original; the
    # translator's where it kept the marks (HTML); none where it could not.
    formatting: fmt.Spans = ()


class Translator:
    """The translator port as the pipeline sees it."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        *,
        unavailable: Mapping[str, str] | None = None,
        deadline: float = 20.0,
        call_timeout: float = 10.0,
        attempts: int = 2,
        cache: TranslationCache | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.providers = dict(providers)
        self.unavailable = dict(unavailable or {})
        self.deadline = deadline
        self.call_timeout = call_timeout
        self.attempts = attempts
        self.cache = cache
        self.clock = clock
        self.sleep = sleep

    def translate(self, request: Request) -> dict[str, Translation]:
        """A :class:`Translation` for every target language of ``request``."""
        results: dict[str, Translation] = {}
        if request.formatting:
            protected = protect_formatted(request.text, request.formatting, request.glossary)
        else:
            protected = protect(request.text, request.glossary)
        todo = []
        for target in sorted(request.targets):
            if base(target) == base(request.source):  # regional variants read each other
                results[target] = Translation(request.text, target, SAME_LANGUAGE, formatting=request.formatting)
            elif not has_words(protected.text):
                results[target] = Translation(request.text, target, NOTHING_TO_TRANSLATE, formatting=request.formatting)
            else:
                todo.append(target)
        if not todo:
            return self._from(request, results)
        deadline = self.clock() + self.deadline
        if len(todo) == 1:
            # One target (the usual case): translated in this thread. Handing it to the
            # pool would cost a thread switch and buy nothing, as nothing runs beside it.
            # The deadline still bounds it: every wait in _one (provider calls, pauses
            # between attempts) is given at most the time left before the deadline. (Only
            # the pool's extra margin is gone: a server trickling bytes slower than the
            # read timeout could hold this call past it, where the pool would give up.)
            results[todo[0]] = self._guarded(protected, request, todo[0], deadline)
            return self._from(request, results)
        futures = {target: _POOL.submit(self._one, protected, request, target, deadline) for target in todo}
        # The calls bound themselves; the margin covers a server that trickles bytes.
        wait(futures.values(), timeout=self.deadline + 2.0)
        for target, future in futures.items():
            if future.done() and future.exception() is None:
                results[target] = future.result()
            else:
                reason = "timed out" if not future.done() else "failed unexpectedly"
                if future.done():
                    log.error(
                        "translation to %s failed unexpectedly: %s", target, future.exception().__class__.__name__
                    )
                results[target] = Translation(
                    request.text, target, FAILED, reason=reason, formatting=request.formatting
                )
        return self._from(request, results)

    @staticmethod
    def _from(request: Request, results: dict[str, Translation]) -> dict[str, Translation]:
        return {target: replace(t, source=request.source) for target, t in results.items()}

    def _guarded(self, protected: Protected, request: Request, target: str, deadline: float) -> Translation:
        """``_one`` in the calling thread, failing as a pooled call fails (marked, never raised)."""
        try:
            return self._one(protected, request, target, deadline)
        except SoftTimeLimitExceeded:
            raise  # the task's own limit: it runs again, nothing is published (workers/app.py)
        except Exception as exc:  # noqa: BLE001 - a failed target is marked, never raised: the others still go out
            log.error("translation to %s failed unexpectedly: %s", target, exc.__class__.__name__)
            return Translation(
                request.text, target, FAILED, reason="failed unexpectedly", formatting=request.formatting
            )

    def _one(self, protected: Protected, request: Request, target: str, deadline: float) -> Translation:
        digest = None
        # A formatted text is cached as HTML (core.formatting.to_html) and asked for as HTML
        # from a translator that keeps tags; the others get the text with a placeholder at
        # every border of a mark (text.mark), in one call, and the marks come back between them.
        formatted = fmt.to_html(protected.text, protected.spans(request.formatting)) if request.formatting else ""
        marked = mark(protected, request.formatting) if request.formatting else None
        if self.cache and request.cache_days > 0:
            digest = cache_digest(
                formatted or request.text, request.source, target, request.providers, request.glossary
            )
            hit = self.cache.get(digest)
            if hit:
                text, spans = fmt.from_html(hit[0]) if formatted else (hit[0], ())
                return Translation(text, target, TRANSLATED, provider=hit[1], cached=True, formatting=spans)
        reasons: list[str] = []
        for name in request.providers:
            provider = self.providers.get(name)
            if provider is None:
                reasons.append(f"{name}: {self.unavailable.get(name, 'not configured')}")
                continue
            as_html = bool(formatted) and getattr(provider, "html", False) and len(formatted) <= provider.max_chars
            payload = formatted if as_html else marked.text if marked else protected.text
            done = self._with_provider(provider, payload, request.source, target, deadline, reasons, as_html)
            if done is not None:
                if as_html:
                    text, spans = protected.restore_formatted(*fmt.from_html(done))
                elif marked:
                    text, spans = protected.restore_formatted(*unmark(marked, done))
                else:
                    text, spans = protected.restore(done), ()
                if digest and self.cache:
                    self.cache.put(digest, fmt.to_html(text, spans) if formatted else text, name, request.cache_days)
                return Translation(text, target, TRANSLATED, provider=name, formatting=spans)
            if self.clock() >= deadline:
                break
        return Translation(
            request.text,
            target,
            FAILED,
            reason="; ".join(reasons) or "no translator allowed",
            formatting=request.formatting,
        )

    def _lookup_timeout(self, deadline: float) -> float:
        return min(3.0, max(deadline - self.clock(), 0.1))

    def _with_provider(
        self,
        provider: Provider,
        text: str,
        source: str,
        target: str,
        deadline: float,
        reasons: list[str],
        as_html: bool = False,
    ) -> str | None:
        """The translated (still protected) text, or None after the attempts allowed.
        ``as_html``: ``text`` is HTML, sent whole (it fits the provider's limit)."""
        # Each lookup may ask the server (its language list): each gets only the time left then.
        source_code = provider.code_for(source, timeout=self._lookup_timeout(deadline))
        target_code = provider.code_for(target, timeout=self._lookup_timeout(deadline))
        if not source_code or not target_code:
            reasons.append(f"{provider.name}: cannot translate {source}→{target}")
            return None
        pieces = [text] if as_html else chunks(text, provider.max_chars)
        for attempt in range(self.attempts):
            remaining = deadline - self.clock()
            if remaining <= 0.1:
                reasons.append(f"{provider.name}: out of time")
                return None
            try:
                timeout = min(self.call_timeout, remaining)
                if as_html:  # only a provider with ``html`` set takes the argument (providers.Provider)
                    translate_html: Callable[..., list[str]] = provider.translate
                    translated = translate_html(pieces, source_code, target_code, timeout=timeout, html=True)
                else:
                    translated = provider.translate(pieces, source_code, target_code, timeout=timeout)
                return rejoin(translated, pieces)
            except TranslationFailed as exc:
                log.warning(
                    "translation %s→%s by %s failed (attempt %d): %s",
                    source,
                    target,
                    provider.name,
                    attempt + 1,
                    exc.reason,
                )
                reasons.append(f"{provider.name}: {exc.reason}")
                if not exc.retryable:
                    return None
                pause = min(RETRY_BACKOFF.delay(attempt), deadline - self.clock() - 0.2)
                if pause > 0 and attempt + 1 < self.attempts:
                    self.sleep(pause)
        return None
