"""The translator port's plain parts: placeholders, chunks, codes, fallback and bounds.

Providers here are small in-memory implementations of the port (the real
providers are exercised over HTTP in tests/integration/test_translation.py)."""

from __future__ import annotations

import threading

import pytest
from deep_translator.constants import GOOGLE_LANGUAGES_TO_CODES, MY_MEMORY_LANGUAGES_TO_CODES

from workers.translation.codes import provider_code
from workers.translation.providers import TranslationFailed
from workers.translation.service import FAILED, NOTHING_TO_TRANSLATE, SAME_LANGUAGE, TRANSLATED, Request, Translator
from workers.translation.text import chunks, has_words, protect, rejoin


class Upper:
    """Translates by upper-casing (placeholders survive: they have no letters)."""

    def __init__(self, name="libre", max_chars=5000, fail=None, languages=None):
        self.name = name
        self.max_chars = max_chars
        self.fail = list(fail or [])
        self.languages = languages
        self.calls: list[tuple[list[str], str, str]] = []
        self.lock = threading.Lock()

    def code_for(self, language, timeout=3.0):
        if self.languages is not None and language not in self.languages:
            return None
        return language

    def translate(self, pieces, source, target, timeout):
        with self.lock:
            self.calls.append((list(pieces), source, target))
            if self.fail:
                raise self.fail.pop(0)
        return [p.upper() for p in pieces]


def test_placeholders_keep_glossary_links_and_mentions():
    text = "See you in Krefeld at the krefeld zoo: https://zoo.example/x @anna"
    protected = protect(text, ["Krefeld", "Krefeld Zoo"])
    assert "Krefeld" not in protected.text and "https://" not in protected.text and "@anna" not in protected.text
    assert protected.kept == ("Krefeld", "krefeld zoo", "https://zoo.example/x", "@anna")
    assert protected.restore(protected.text.upper()) == (
        "SEE YOU IN Krefeld AT THE krefeld zoo: https://zoo.example/x @anna"
    )
    # A translator that mangles spacing or drops a placeholder loses nothing.
    assert protected.restore("⟦ 1 ⟧ ⟦0⟧ ⟦2⟧") == "krefeld zoo Krefeld https://zoo.example/x @anna"


@pytest.mark.parametrize("text", ["", "   ", "😀🎉", "https://example.org", "12:30 !!", "<:wave:123456789012345678>"])
def test_nothing_to_translate(text):
    assert not has_words(protect(text).text)


def test_chunks_cut_at_lines_then_sentences_then_words_and_join_back():
    text = "First line.\n" + "A sentence that goes on. " * 40 + "\n" + "x" * 250
    pieces = chunks(text, 100)
    assert "".join(pieces) == text
    assert all(len(p) <= 100 for p in pieces)
    assert pieces[0].startswith("First line.\n")
    # Sentences are never cut; only the 250-character "word" had to be.
    assert all(p.endswith((". ", "\n")) for p in pieces[:-3])
    assert pieces[-3:] == ["x" * 100, "x" * 100, "x" * 50]
    assert rejoin([p.strip() for p in pieces], pieces) == text


@pytest.mark.parametrize(
    "code,google,mymemory",
    [
        ("de", "de", "de-DE"),
        ("zh", "zh-CN", "zh-CN"),
        ("zh-TW", "zh-TW", "zh-TW"),
        ("he", "iw", "he-IL"),
        ("pt-BR", "pt", "pt-BR"),
        ("gu", "gu", "gu-IN"),
        ("en", "en", "en-GB"),
    ],
)
def test_codes_are_mapped_per_provider(code, google, mymemory):
    assert provider_code(code, set(GOOGLE_LANGUAGES_TO_CODES.values())) == google
    assert provider_code(code, set(MY_MEMORY_LANGUAGES_TO_CODES.values())) == mymemory
    assert provider_code("xx", {"de", "en"}) is None


def test_one_call_per_target_language_and_same_language_untouched():
    libre = Upper()
    request = Request("hello there", "en", frozenset({"de", "fr", "en-GB"}), ("libre",))
    done = Translator({"libre": libre}).translate(request)
    assert {t: r.status for t, r in done.items()} == {"de": TRANSLATED, "fr": TRANSLATED, "en-GB": SAME_LANGUAGE}
    assert sorted(call[2] for call in libre.calls) == ["de", "fr"]
    assert done["de"].text == "HELLO THERE" and done["de"].provider == "libre" and done["de"].source == "en"


def test_emoji_only_is_not_sent_to_a_translator():
    libre = Upper()
    done = Translator({"libre": libre}).translate(Request("🎉🎉 https://x.org", "en", frozenset({"de"}), ("libre",)))
    assert done["de"].status == NOTHING_TO_TRANSLATE and done["de"].text == "🎉🎉 https://x.org"
    assert libre.calls == []


def test_falls_back_to_the_next_provider_after_the_retries_allowed():
    libre = Upper(fail=[TranslationFailed("libre", "server error (503)")] * 2)
    mymemory = Upper("mymemory")
    translator = Translator({"libre": libre, "mymemory": mymemory}, sleep=lambda s: None)
    done = translator.translate(Request("hello", "en", frozenset({"de"}), ("libre", "mymemory")))
    assert done["de"].provider == "mymemory" and done["de"].text == "HELLO"
    assert len(libre.calls) == 2 and len(mymemory.calls) == 1


def test_a_refusal_is_not_retried_and_an_unconfigured_provider_is_skipped():
    libre = Upper(fail=[TranslationFailed("libre", "API key rejected (403)", retryable=False)])
    translator = Translator({"libre": libre}, unavailable={"google": "not configured"}, sleep=lambda s: None)
    done = translator.translate(Request("hello", "en", frozenset({"de"}), ("google", "libre")))
    assert done["de"].status == FAILED and done["de"].text == "hello"
    assert "google: not configured" in done["de"].reason and "403" in done["de"].reason
    assert "hello" not in done["de"].reason
    assert len(libre.calls) == 1


def test_unsupported_pair_goes_to_the_next_provider():
    libre = Upper(languages={"en", "de"})
    google = Upper("google")
    done = Translator({"libre": libre, "google": google}).translate(
        Request("hello", "en", frozenset({"gu"}), ("libre", "google"))
    )
    assert done["gu"].provider == "google" and libre.calls == []


def test_long_text_is_split_within_the_provider_limit_and_joined_in_order():
    libre = Upper(max_chars=60)
    text = " ".join(f"Sentence number {i} is here." for i in range(20))
    done = Translator({"libre": libre}).translate(Request(text, "en", frozenset({"de"}), ("libre",)))
    assert done["de"].text == text.upper()
    ((pieces, _, _),) = libre.calls
    assert len(pieces) > 1 and all(len(p) <= 60 for p in pieces)


class Stalled(Upper):
    """A provider whose server never answers: each call takes the whole timeout it
    was given (on the translator's clock), then fails; records what it was given."""

    def __init__(self, clock, name="libre"):
        super().__init__(name)
        self.clock = clock
        self.given: list[tuple[float, float]] = []  # (timeout, time left before the deadline)

    def _stall(self, timeout):
        self.given.append((timeout, self.deadline - self.clock[0]))
        self.clock[0] += timeout

    def code_for(self, language, timeout=3.0):
        self._stall(timeout)  # the language list never comes: the code is sent as it is
        return language

    def translate(self, pieces, source, target, timeout):
        self._stall(timeout)
        raise TranslationFailed(self.name, "timed out")


def test_a_single_target_is_translated_in_the_calling_thread_several_side_by_side():
    class Where(Upper):
        def translate(self, pieces, source, target, timeout):
            with self.lock:
                self.threads.append(threading.current_thread())
            return super().translate(pieces, source, target, timeout)

    libre = Where()
    libre.threads = []
    done = Translator({"libre": libre}).translate(Request("hello", "en", frozenset({"de", "en-GB"}), ("libre",)))
    assert done["de"].text == "HELLO" and done["de"].source == "en"
    assert libre.threads == [threading.current_thread()]
    libre.threads = []
    Translator({"libre": libre}).translate(Request("hello", "en", frozenset({"de", "fr"}), ("libre",)))
    assert len(libre.threads) == 2 and threading.current_thread() not in libre.threads


@pytest.mark.parametrize("targets", [{"de"}, {"de", "fr"}])
def test_a_provider_that_breaks_fails_the_target_not_the_message(targets):
    libre = Upper(fail=[RuntimeError("bug")] * 2)
    done = Translator({"libre": libre}).translate(Request("hello", "en", frozenset(targets), ("libre",)))
    assert {r.status for r in done.values()} <= {FAILED, TRANSLATED} and done["de"].text in ("hello", "HELLO")
    assert any(r.status == FAILED and r.reason == "failed unexpectedly" for r in done.values())


def test_a_single_target_in_the_calling_thread_stays_within_the_deadline():
    clock = [0.0]
    libre, mymemory = Stalled(clock), Stalled(clock, "mymemory")
    for provider in (libre, mymemory):
        provider.deadline = 5.0
    translator = Translator(
        {"libre": libre, "mymemory": mymemory},
        deadline=5.0,
        call_timeout=10.0,
        clock=lambda: clock[0],
        sleep=lambda s: clock.__setitem__(0, clock[0] + s),
    )
    done = translator.translate(Request("hello there", "en", frozenset({"de"}), ("libre", "mymemory")))
    assert done["de"].status == FAILED and done["de"].text == "hello there"
    # Every wait was given at most the time left (0.1 s at least), so the stalls add up to the deadline.
    assert all(timeout <= max(left, 0.1) for timeout, left in libre.given + mymemory.given)
    assert clock[0] <= 5.0 + 0.2
