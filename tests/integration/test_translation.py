"""The real providers (our LibreTranslate client, deep-translator's MyMemory and
Google classes) and the translator service, over real HTTP to the stand-ins.

The service is synchronous (it runs inside a Celery task), so it is called in a
thread while the stand-ins keep serving on this test's event loop."""

from __future__ import annotations

import asyncio
import time

import pytest

from sandbox.translator import LibreTranslateStandIn, ProviderEndpointStandIn, fake_translate
from workers.translation.providers import DeepTranslatorProvider, LibreProvider
from workers.translation.service import FAILED, TRANSLATED, Request, Translator

KEY = "lt-key-for-tests"


@pytest.fixture
async def libre():
    server = LibreTranslateStandIn(api_key=KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def endpoints():
    server = ProviderEndpointStandIn()
    await server.start()
    yield server
    await server.stop()


def translator(libre=None, endpoints=None, **options) -> Translator:
    providers = {}
    if libre is not None:
        providers["libre"] = LibreProvider(libre.url, KEY)
    if endpoints is not None:
        providers["mymemory"] = DeepTranslatorProvider("mymemory", endpoint=endpoints.mymemory_url)
        providers["google"] = DeepTranslatorProvider("google", endpoint=endpoints.google_url)
    return Translator(providers, **options)


async def run(t: Translator, request: Request):
    return await asyncio.to_thread(t.translate, request)


async def test_libre_gets_the_text_by_post_and_json_never_in_the_url(libre):
    text = "Hello everyone, see you on Saturday"
    done = await run(translator(libre), Request(text, "en", frozenset({"de", "es"}), ("libre",)))
    assert done["de"].text == fake_translate(text, "en", "de") and done["de"].provider == "libre"
    assert done["es"].text == fake_translate(text, "en", "es")
    calls = [r for r in libre.requests if r.path == "/translate"]
    assert len(calls) == 2
    for call in calls:
        assert call.method == "POST" and call.api_key == KEY and call.query_string == ""
        assert call.q == [text]


async def test_codes_are_mapped_for_deep_translator_providers(endpoints):
    done = await run(translator(endpoints=endpoints), Request("hello", "en", frozenset({"de", "zh"}), ("mymemory",)))
    assert {t: r.status for t, r in done.items()} == {"de": TRANSLATED, "zh": TRANSLATED}
    sent = sorted(r.query_string for r in endpoints.requests)
    assert any("langpair=en-GB|de-DE" in q for q in sent) and any("en-GB|zh-CN" in q for q in sent)


async def test_falls_back_to_the_next_provider_when_the_first_keeps_failing(libre, endpoints):
    libre.fail_next(503, count=5)
    done = await run(
        translator(libre, endpoints, sleep=lambda s: None),
        Request("good morning", "en", frozenset({"de"}), ("libre", "mymemory")),
    )
    assert done["de"].status == TRANSLATED and done["de"].provider == "mymemory"
    assert done["de"].text == fake_translate("good morning", "en", "de")
    assert [r.status for r in libre.requests if r.path == "/translate"] == [503, 503]  # two attempts, then next
    assert [r.provider for r in endpoints.requests] == ["mymemory"]


async def test_a_stalled_provider_lets_the_message_through_untranslated_within_the_bound(libre):
    libre.stall_forever()
    t = translator(libre, deadline=2.0, call_timeout=1.5)
    started = time.monotonic()
    done = await run(t, Request("hello there", "en", frozenset({"de"}), ("libre",)))
    elapsed = time.monotonic() - started
    libre.unstall()
    assert done["de"].status == FAILED and done["de"].text == "hello there"
    assert "timed out" in done["de"].reason or "out of time" in done["de"].reason
    assert elapsed < 2.0 + 2.0, f"held {elapsed:.1f}s, beyond the deadline's bound"


@pytest.mark.parametrize("provider", ["libre", "mymemory", "google"])
async def test_a_server_dripping_its_answer_cannot_hold_a_call_past_the_deadline(libre, endpoints, provider):
    # A byte every 0.2 s: each read succeeds long before a per-read timeout, so only a
    # deadline on the whole request ends it (the answers are 40-200 bytes: 8-40 s).
    libre.drip(0.2)
    endpoints.drip(0.2)
    t = translator(libre, endpoints, deadline=2.0, call_timeout=1.5)
    started = time.monotonic()
    done = await run(t, Request("hello there", "en", frozenset({"de"}), (provider,)))
    elapsed = time.monotonic() - started
    libre.unstall()
    endpoints.unstall()
    assert done["de"].status == FAILED and done["de"].text == "hello there"
    assert done["de"].reason.startswith(f"{provider}: timed out"), done["de"].reason
    assert elapsed < 2.0 + 2.0, f"held {elapsed:.1f}s, beyond the deadline's bound"
    # Once the server answers normally again, the same provider translates.
    done = await run(t, Request("hello there", "en", frozenset({"de"}), (provider,)))
    assert done["de"].status == TRANSLATED


async def test_google_answers_through_deep_translator_with_a_timeout(endpoints):
    endpoints.stall(30, count=2)  # both attempts allowed
    t = translator(endpoints=endpoints, deadline=2.0, call_timeout=1.0)
    done = await run(t, Request("hello", "en", frozenset({"fr"}), ("google",)))
    assert done["fr"].status == FAILED  # the stalled call was cut off, not waited for
    endpoints.unstall()
    done = await run(t, Request("hello", "en", frozenset({"fr"}), ("google",)))
    assert done["fr"].text == fake_translate("hello", "en", "fr") and done["fr"].provider == "google"


async def test_glossary_terms_never_reach_the_translator_and_survive(libre):
    text = "Hello from Krefeld, the Hochschule Niederrhein says hello"
    done = await run(
        translator(libre),
        Request(text, "en", frozenset({"de"}), ("libre",), glossary=("Krefeld", "Hochschule Niederrhein")),
    )
    [call] = [r for r in libre.requests if r.path == "/translate"]
    assert "Krefeld" not in call.q[0] and "Niederrhein" not in call.q[0]
    assert "Krefeld" in done["de"].text and "Hochschule Niederrhein" in done["de"].text
    assert done["de"].text.lower().startswith("[de] hallo from krefeld")


async def test_a_text_over_the_provider_limit_is_split_at_sentences_and_joined_in_order(endpoints):
    sentences = [f"This is sentence number {i} of a long announcement." for i in range(30)]
    text = " ".join(sentences)  # ~1500 characters; MyMemory takes 500 at most
    done = await run(translator(endpoints=endpoints), Request(text, "en", frozenset({"de"}), ("mymemory",)))
    calls = [r for r in endpoints.requests if r.provider == "mymemory"]
    assert len(calls) >= 3 and all(len(c.q[0]) < 500 for c in calls)
    assert all(c.q[0].rstrip().endswith(".") for c in calls)
    translated = done["de"].text
    positions = [translated.index(f"number {i} ") for i in range(30)]
    assert positions == sorted(positions)


async def test_nothing_to_translate_makes_no_call(libre):
    for text in ("🎉🎉🎉", "https://example.org/programme.pdf", "  ", "12:30"):
        done = await run(translator(libre), Request(text, "en", frozenset({"de"}), ("libre",)))
        assert done["de"].text == text
    assert [r for r in libre.requests if r.path == "/translate"] == []


async def test_cache_only_where_the_policy_allows_and_never_past_its_days(libre, sync_redis, keys, prefix):
    from core.storage.keys import DAY
    from core.storage.translations import TranslationCache

    t = Translator({"libre": LibreProvider(libre.url, KEY)}, cache=TranslationCache(sync_redis, keys))
    plain = Request("hello friends", "en", frozenset({"de"}), ("libre",))
    await run(t, plain)
    await run(t, plain)
    assert len(translate_calls(libre)) == 2  # no cache unless the policy allows one
    assert list(sync_redis.scan_iter(match=f"{prefix}tr:*")) == []

    allowed = Request("hello friends", "en", frozenset({"de"}), ("libre",), cache_days=3)
    first = await run(t, allowed)
    second = await run(t, allowed)
    assert len(translate_calls(libre)) == 3 and second["de"].cached and second["de"].text == first["de"].text
    [key] = sync_redis.scan_iter(match=f"{prefix}tr:*")
    assert "hello" not in key  # keyed by a hash, never by the text
    assert 0 < sync_redis.ttl(key) <= 3 * DAY


def translate_calls(server):
    return [r for r in server.requests if r.path == "/translate"]


async def test_a_proxy_in_the_environment_is_used(libre, monkeypatch):
    # The stand-in plays the proxy: the URL's host does not even resolve, so an answer
    # means the request went through the proxy the environment names.
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", libre.url)
    t = Translator({"libre": LibreProvider("http://libretranslate.invalid:5000", KEY)})
    done = await run(t, Request("hello there", "en", frozenset({"de"}), ("libre",)))
    assert done["de"].status == TRANSLATED and done["de"].text == fake_translate("hello there", "en", "de")


# -- formatting (issue 15): HTML through LibreTranslate, plain text elsewhere ------------


async def test_libre_stand_in_keeps_tags_in_html_format_like_the_real_server(libre):
    import requests

    body = {"q": '<b>good morning</b> <a href="https://x.org/a?b=1">friends</a>', "source": "en", "target": "de"}
    answer = await asyncio.to_thread(
        requests.post, f"{libre.url}/translate", json={**body, "format": "html", "api_key": KEY}, timeout=5
    )
    assert answer.json()["translatedText"] == '[de] <b>guten Morgen</b> <a href="https://x.org/a?b=1">Freunde</a>'
    assert libre.requests[-1].format == "html"


async def test_a_formatted_text_translated_by_libre_keeps_its_formatting(libre):
    from core.formatting import Span

    text = "Good morning friends, bring <b> & code to the meeting!"

    def over(kind: str, part: str, data: str = "") -> Span:
        return Span(text.index(part), text.index(part) + len(part), kind, data)

    spans = (
        over("bold", "Good morning friends"),
        over("italic", "friends"),
        over("code", "code"),
        over("link", "meeting", "https://x.org/f"),
    )
    done = await run(translator(libre), Request(text, "en", frozenset({"de"}), ("libre",), formatting=spans))
    result = done["de"]
    assert result.status == TRANSLATED
    assert result.text == "[de] Guten Morgen Freunde, bring <b> & code to die Treffen!"
    shown = [(s.kind, result.text[s.start : s.end], s.data) for s in result.formatting]
    assert shown == [
        ("bold", "Guten Morgen Freunde", ""),
        ("italic", "Freunde", ""),
        ("code", "code", ""),  # kept from the translator as a placeholder
        ("link", "Treffen", "https://x.org/f"),
    ]
    (call,) = [r for r in libre.requests if r.path == "/translate"]
    assert call.format == "html" and "<b>" in call.q[0] and "&lt;" not in call.q[0]  # the literal <b> went as ⟦n⟧


@pytest.mark.parametrize("provider", ["mymemory", "google"])
async def test_a_provider_without_html_keeps_the_formatting_with_placeholders_in_one_call(endpoints, provider):
    """MyMemory and Google (deep-translator, plain text) get the whole text in one call with a
    placeholder (⟦n⟧, which they pass through like the glossary's) at every border of a mark:
    translated in context, the marks come back between their placeholders."""
    from core.formatting import Span

    text = "Good morning friends, bring <b> & code to the meeting!"

    def over(kind: str, part: str, data: str = "") -> Span:
        return Span(text.index(part), text.index(part) + len(part), kind, data)

    spans = (
        over("bold", "Good morning friends"),
        over("italic", "friends"),
        over("code", "code"),
        over("link", "meeting", "https://x.org/f"),
    )
    done = await run(
        translator(endpoints=endpoints), Request(text, "en", frozenset({"de"}), (provider,), formatting=spans)
    )
    result = done["de"]
    assert result.status == TRANSLATED and result.provider == provider
    assert result.text == "[de] Guten Morgen Freunde, bring <b> & code to die Treffen!"
    assert [(s.kind, result.text[s.start : s.end], s.data) for s in result.formatting] == [
        ("bold", "Guten Morgen Freunde", ""),
        ("italic", "Freunde", ""),
        ("code", "code", ""),
        ("link", "Treffen", "https://x.org/f"),
    ]
    (call,) = [r for r in endpoints.requests if r.provider == provider]  # one call: the text in context
    assert "⟦" in call.q[0] and "<b>" not in call.q[0] and "code" not in call.q[0] and "x.org" not in call.q[0]


async def test_marks_whose_placeholders_a_provider_loses_are_dropped_the_words_kept(endpoints):
    """A provider that drops a placeholder (or swaps a pair) loses that mark only."""
    from core.formatting import Span
    from workers.translation.text import mark, protect_formatted, unmark

    text = "good morning friends"
    spans = (Span(0, 4, "bold"), Span(13, 20, "italic"))
    protected = protect_formatted(text, spans)
    marked = mark(protected, spans)
    assert marked.text == "⟦0⟧good⟦1⟧ morning ⟦2⟧friends⟦3⟧"
    lost = unmark(marked, "⟦0⟧guten⟦1⟧ Morgen Freunde ⟦3⟧")
    assert lost == ("guten Morgen Freunde ", (Span(0, 5, "bold"),))
    swapped = unmark(marked, "⟦1⟧guten ⟦0⟧ Morgen ⟦2⟧ Freunde ⟦3⟧")
    assert swapped == ("guten Morgen Freunde ", (Span(13, 20, "italic"),))
