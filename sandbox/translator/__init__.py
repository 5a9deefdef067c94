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

The parts: ``fake`` (the fake translation and language guess), ``base`` (what both
stand-ins share: lifecycle, records, planned trouble), ``libretranslate`` and
``providers``.
"""

from sandbox.translator.fake import fake_translate, guess_language
from sandbox.translator.libretranslate import LibreTranslateStandIn
from sandbox.translator.providers import ProviderEndpointStandIn

__all__ = ["LibreTranslateStandIn", "ProviderEndpointStandIn", "fake_translate", "guess_language"]
