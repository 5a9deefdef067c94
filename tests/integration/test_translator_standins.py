"""The translation stand-ins, driven over real HTTP by plain `requests` and by
deep-translator's own MyMemoryTranslator / GoogleTranslator classes.

The synchronous clients run in threads (asyncio.to_thread) because the
stand-ins live on this test's event loop, as they do in the demo.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import requests
from deep_translator import GoogleTranslator, MyMemoryTranslator
from deep_translator.exceptions import RequestError, TooManyRequests

from sandbox.translator import LibreTranslateStandIn, ProviderEndpointStandIn, fake_translate

from ..helpers import wait_until

KEY = "lt-test-key-0001"


@pytest.fixture
async def libre():
    server = LibreTranslateStandIn(api_key=KEY, char_limit=50)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def providers():
    server = ProviderEndpointStandIn()
    await server.start()
    yield server
    await server.stop()


async def post(url: str, timeout: float = 5, **kwargs) -> requests.Response:
    return await asyncio.to_thread(requests.post, url, timeout=timeout, **kwargs)


# -- the fake translation -----------------------------------------------------------


def test_fake_translate_swaps_phrases_and_keeps_placeholders_and_urls():
    text = "Hello everyone, see you on Saturday at ⟦0⟧ and ⟦12⟧! https://example.org/hello THANK YOU"
    assert fake_translate(text, "en", "de") == (
        "[de] Hallo alle, bis Samstag at ⟦0⟧ and ⟦12⟧! https://example.org/hello DANKE"
    )
    assert fake_translate("Guten Morgen", "auto", "en") == "[en] Good morning"


def test_fake_translate_html_leaves_tags_and_no_translate_spans():
    text = '<b>Hello</b> <span translate="no">hello meeting</span> meeting'
    assert fake_translate(text, "en", "fr", format="html") == (
        '[fr] <b>Salut</b> <span translate="no">hello meeting</span> réunion'
    )


# -- LibreTranslate ----------------------------------------------------------------


async def test_translate_json_keeps_text_out_of_the_url(libre):
    response = await post(
        libre.url + "/translate", json={"q": "hello friends", "source": "en", "target": "de", "api_key": KEY}
    )
    assert response.status_code == 200
    assert response.json() == {"translatedText": "[de] hallo Freunde"}
    [record] = libre.requests
    assert (record.path, record.method, record.source, record.target, record.q, record.api_key) == (
        "/translate",
        "POST",
        "en",
        "de",
        ["hello friends"],
        KEY,
    )
    assert record.status == 200 and record.query_string == ""
    assert "hello" not in record.query_string
    assert libre.translations == [("en", "de", "hello friends")]


async def test_batch_auto_detect_and_alternatives(libre):
    body = {"q": ["hello", "⟦0⟧ tomorrow"], "source": "en", "target": "fr", "api_key": KEY}
    first = await post(libre.url + "/translate", json=body)
    assert first.json() == {"translatedText": ["[fr] salut", "[fr] ⟦0⟧ demain"]}
    second = await post(
        libre.url + "/translate",
        json={"q": "Guten Morgen", "source": "auto", "target": "en", "api_key": KEY, "alternatives": 2},
    )
    data = second.json()
    assert data["translatedText"] == "[en] Good morning"
    assert data["detectedLanguage"]["language"] == "de" and 0 < data["detectedLanguage"]["confidence"] <= 100
    assert data["alternatives"] == []
    assert len([r for r in libre.requests if r.path == "/translate"]) == 2


async def test_form_encoded_and_html_format(libre):
    response = await post(
        libre.url + "/translate",
        data={
            "q": '<p>hello <span translate="no">hello</span></p>',
            "source": "en",
            "target": "es",
            "format": "html",
            "api_key": KEY,
        },
    )
    assert response.json() == {"translatedText": '[es] <p>hola <span translate="no">hello</span></p>'}
    assert libre.requests[-1].format == "html"


async def test_api_key_checks(libre):
    url, body = libre.url + "/translate", {"q": "hello", "source": "en", "target": "de"}
    wrong = await post(url, json={**body, "api_key": "nope"})
    assert (wrong.status_code, wrong.json()) == (403, {"error": "Invalid API key"})
    missing = await post(url, json=body)
    assert (missing.status_code, missing.json()) == (
        400,
        {"error": "Please contact the server operator to get an API key"},
    )
    assert [r.status for r in libre.requests] == [403, 400]
    assert libre.translations == []


async def test_request_errors(libre):
    url = libre.url + "/translate"
    too_long = await post(url, json={"q": "x" * 51, "source": "en", "target": "de", "api_key": KEY})
    assert (too_long.status_code, too_long.json()) == (
        400,
        {"error": "Invalid request: request (51) exceeds text limit (50)"},
    )
    no_q = await post(url, json={"source": "en", "target": "de", "api_key": KEY})
    assert no_q.json() == {"error": "Invalid request: missing q parameter"}
    bad = await post(url, json={"q": "hello", "source": "en", "target": "xx", "api_key": KEY})
    assert (bad.status_code, bad.json()) == (400, {"error": "xx is not supported"})
    not_json = await post(url, data=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"].startswith("Failed to decode JSON object")


async def test_fail_next_then_recover(libre):
    libre.fail_next(503)
    libre.fail_next(429)
    url, body = libre.url + "/translate", {"q": "hello", "source": "en", "target": "de", "api_key": KEY}
    unavailable = await post(url, json=body)
    assert unavailable.status_code == 503 and "nginx" in unavailable.text
    slow_down = await post(url, json=body)
    assert (slow_down.status_code, slow_down.json()) == (429, {"error": "Slowdown: 10 per 1 minute"})
    ok = await post(url, json=body)
    assert ok.json() == {"translatedText": "[de] hallo"}
    assert [r.status for r in libre.requests] == [503, 429, 200]


async def test_stall_holds_without_blocking_the_loop(libre):
    libre.stall(0.6)
    url, body = libre.url + "/translate", {"q": "hello", "source": "en", "target": "de", "api_key": KEY}
    with pytest.raises(requests.exceptions.ReadTimeout):
        await post(url, json=body, timeout=0.2)
    started = time.monotonic()
    languages = await asyncio.to_thread(requests.get, libre.url + "/languages", timeout=5)
    assert time.monotonic() - started < 0.3  # the loop kept serving while the translation was held
    assert {
        "code": "de",
        "name": "German",
        "targets": ["en", "es", "fr", "gu", "it", "nl", "pl", "pt", "zh"],
    } in languages.json()
    libre.stall(0.3)
    started = time.monotonic()
    held = await post(url, json=body)
    assert held.json() == {"translatedText": "[de] hallo"} and time.monotonic() - started >= 0.3


async def test_stall_forever_until_unstall(libre):
    libre.stall_forever()
    url, body = libre.url + "/translate", {"q": "hello", "source": "en", "target": "de", "api_key": KEY}
    pending = asyncio.create_task(post(url, json=body))
    await wait_until(lambda: len(libre.requests) == 1, 5, message="the request to arrive and be held")
    assert not pending.done() and libre.requests[0].status is None
    libre.unstall()
    assert (await pending).json() == {"translatedText": "[de] hallo"}
    libre.reset()
    assert libre.requests == [] and libre.translations == []


async def test_detect_and_settings(libre):
    detected = await post(libre.url + "/detect", json={"q": "bonjour et merci", "api_key": KEY})
    assert detected.json()[0]["language"] == "fr"
    settings = await asyncio.to_thread(requests.get, libre.url + "/frontend/settings", timeout=5)
    assert settings.json()["charLimit"] == 50 and settings.json()["keyRequired"] is True


# -- deep-translator's providers ----------------------------------------------------


def _mymemory(server: ProviderEndpointStandIn) -> MyMemoryTranslator:
    # deep-translator 1.11 only accepts MyMemory's own codes ("en-GB") or names here, not "en".
    translator = MyMemoryTranslator(source="en-GB", target="de-DE")
    translator._base_url = server.mymemory_url
    return translator


def _google(server: ProviderEndpointStandIn) -> GoogleTranslator:
    translator = GoogleTranslator(source="en", target="de")
    translator._base_url = server.google_url
    return translator


async def test_mymemory_translator(providers):
    result = await asyncio.to_thread(_mymemory(providers).translate, "Hello ⟦0⟧, welcome!")
    assert result == fake_translate("Hello ⟦0⟧, welcome!", "en", "de") == "[de] Hallo ⟦0⟧, willkommen!"
    [record] = providers.requests
    assert (record.provider, record.path, record.source, record.target, record.q, record.status) == (
        "mymemory",
        "/get",
        "en",
        "de",
        ["Hello ⟦0⟧, welcome!"],
        200,
    )
    assert "langpair=en-GB|de-DE" in record.query_string  # recorded decoded


async def test_google_translator(providers):
    result = await asyncio.to_thread(_google(providers).translate, "see you on Saturday & good night")
    assert result == "[de] bis Samstag & gute Nacht"
    [record] = providers.requests
    assert (record.provider, record.path, record.source, record.target, record.status) == (
        "google",
        "/m",
        "en",
        "de",
        200,
    )
    assert providers.translations == [("en", "de", "see you on Saturday & good night")]


async def test_provider_failures_reach_deep_translator(providers):
    providers.fail_next(429)
    with pytest.raises(TooManyRequests):
        await asyncio.to_thread(_mymemory(providers).translate, "hello")
    providers.fail_next(503)
    with pytest.raises(RequestError):
        await asyncio.to_thread(_google(providers).translate, "hello")
    assert [(r.provider, r.status) for r in providers.requests] == [("mymemory", 429), ("google", 503)]
    assert providers.translations == []


async def test_mymemory_reports_request_errors_as_200(providers):
    response = await asyncio.to_thread(
        requests.get, providers.mymemory_url, params={"q": "hello", "langpair": "en|xx1"}, timeout=5
    )
    data = response.json()
    assert response.status_code == 200 and data["responseStatus"] == 403
    assert data["responseData"]["translatedText"].startswith("'XX1' IS AN INVALID TARGET LANGUAGE")


async def test_provider_stall(providers):
    providers.stall(0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        await asyncio.to_thread(
            requests.get, providers.google_url, params={"sl": "en", "tl": "de", "q": "hello"}, timeout=0.2
        )
    assert providers.requests[0].q == ["hello"]
