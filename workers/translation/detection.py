"""Which language one chat message is written in, offline.

py3langid's naive-Bayes model (shipped inside its wheel, no download) picks
among the link's languages; the script a message is written in first narrows
which of them are possible. Chosen by measurement: see docs/benchmarks.md,
"Language detection", and benchmarks/language_detection.py.

``detect_language`` returns None when it is unsure; the caller then uses the
community's configured language, which is what most messages are written in.
"""

from __future__ import annotations

import copy
import functools
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

# Calibrated on benchmarks/data/chat_lines.tsv (docs/benchmarks.md): no answer
# there was wrong at any threshold; 0.8 still answers 98% (247/252) of lines in
# the link's languages and leaves ~70% of lines in other languages unanswered.
THRESHOLD = 0.8

# Shorter than this many letters, a single word is too little to go on
# ("ok", "merci", "好的"): the community's language is the better guess.
_MIN_LETTERS_ONE_WORD = 6


@dataclass(frozen=True)
class Detection:
    language: str  # the candidate code as configured, e.g. "de", "zh-CN"
    confidence: float  # 0..1


# Links, Discord mentions/custom emoji, :shortcodes: and @handles carry no
# language (or the wrong one: a German message linking an English page).
_NOISE = re.compile(
    r"https?://\S+|www\.\S+|\b[\w-]+(?:\.[\w-]+)+/\S*"
    r"|<a?:\w+:\d+>|<[@#][!&]?\d+>|:[a-z0-9_+-]+:"
    r"|(?<![\w@])@\w+",
    re.IGNORECASE,
)

# Scripts that, among the languages the model knows, only these languages
# use. Text mostly in one of them can only be one of these languages; every
# language not listed is taken to be written in some other script (Latin,
# Cyrillic, ...) and so is impossible for text in a listed script.
_SCRIPTS = {
    "gu": {"GUJARATI"},
    "zh": {"CJK"},
    "yue": {"CJK"},
    "ja": {"CJK", "KANA"},
    "ko": {"HANGUL", "CJK"},
    "el": {"GREEK"},
    "th": {"THAI"},
}
_LISTED = set().union(*_SCRIPTS.values())

# With a single possible candidate the model has nothing to weigh it against
# and would always be sure; these widespread languages give it a contrast.
_CONTRAST = ("en", "de", "fr", "es", "it", "pt", "nl", "pl", "ja", "zh")


def clean(text: str) -> str:
    """``text`` with links, mentions, emoji, symbols and digits blanked out.

    Letters, combining marks (Gujarati vowel signs are marks) and
    punctuation stay: ¿ ¡ « » and 。 still say something about the language."""
    text = _NOISE.sub(" ", text)
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        # Variation selectors (U+FE0F after ☀) are marks too, but belong to emoji.
        if cat[0] in "LP" or (cat[0] == "M" and not 0xFE00 <= ord(ch) <= 0xFE0F):
            kept.append(ch)
        else:
            kept.append(" ")
    return " ".join("".join(kept).split())


@functools.lru_cache(maxsize=4096)  # chats reuse few characters; the name lookup is the slow part
def _script(ch: str) -> str:
    name = unicodedata.name(ch, "?").split(" ", 1)[0]
    return "KANA" if name.startswith(("HIRAGANA", "KATAKANA")) else name


def _words_by_script(text: str) -> tuple[Counter[str], Counter[str]]:
    """(words, letters) per script in a cleaned text. A run of one script is
    a word ("祝Anna生日快乐" is three); Chinese has no spaces, so a run of
    Han characters counts one word per two characters (the usual length of
    a Chinese word), else one long Chinese line would count as one word."""
    words, letters = Counter[str](), Counter[str]()
    for token in text.split():
        run, length = None, 0
        for ch in token + " ":
            kind = unicodedata.category(ch)[0]
            if kind == "P":  # "that's", "好的，明天见": punctuation inside a token splits nothing
                continue
            if kind in "LM":
                script = _script(ch) if ch.isalpha() or run is None else run  # a mark joins its letter
                letters[script] += 1
            else:
                script = None  # the end of the token closes the run
            if script != run:
                if run is not None:
                    words[run] += math.ceil(length / 2) if run == "CJK" else 1
                run, length = script, 0
            length += 1
    return words, letters


def word_count(text: str) -> int:
    """Words in a cleaned text, counted as ``_words_by_script`` does."""
    return sum(_words_by_script(text)[0].values())


def _base(code: str) -> str:
    return code.replace("_", "-").split("-", 1)[0].lower()


# --- the model: loaded once per process, on first use --------------------------------

_lock = threading.Lock()
_full = None


@functools.lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    """The model's languages (built once: ``labels`` is rebuilt on every access)."""
    return frozenset(_model().labels)


def _model():
    """py3langid's identifier over all its languages. Loading takes ~0.7 s and
    ~90 MB, so it happens once per process, on first use, under a lock (callers may be threads)."""
    global _full
    if _full is None:
        with _lock:
            if _full is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                # MODEL_FILE is relative to the installed package: nothing is fetched.
                _full = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _full


def preload() -> None:
    """Load the model now (a worker's parent process does, before forking its pool:
    the children then share its ~90 MB copy-on-write instead of each loading its own)."""
    _known()


@functools.lru_cache(maxsize=128)
def _restricted(languages: frozenset[str]):
    """An identifier choosing only among ``languages``. It shares the full
    model's tables and keeps just the columns of these languages (~0.2 MB
    each), so one per candidate set is cheap; probabilities are renormalised
    over the set, which is what makes them usable as confidence."""
    identifier = copy.copy(_model())
    identifier.set_languages(sorted(languages))
    return identifier


def _guess(text: str, candidates: Collection[str]) -> Detection | None:
    """The best candidate and its confidence, before the threshold; None when
    there is too little text or no candidate is possible for its script."""
    given: dict[str, str] = {}
    for code in sorted(candidates):  # one code per base language, deterministically
        given.setdefault(_base(code), code)
    cleaned = clean(text)
    words, letters = _words_by_script(cleaned)
    if not words:
        return None
    script = max(words, key=lambda s: (words[s], letters[s]))
    if sum(words.values()) < 2 and letters[script] < _MIN_LETTERS_ONE_WORD:
        return None

    def possible(lang: str) -> bool:
        return script in _SCRIPTS[lang] if lang in _SCRIPTS else script not in _LISTED

    known = _known()
    pool = frozenset(lang for lang in given if lang in known and possible(lang))
    if not pool:
        return None
    if len(pool) == 1:
        pool |= {lang for lang in _CONTRAST if lang in known and possible(lang)}
    language, confidence = _restricted(pool).classify(cleaned)
    if language not in given:  # a contrast language won: none of the candidates
        return None
    return Detection(given[language], float(confidence))


def detect_language(text: str, candidates: Collection[str]) -> Detection | None:
    """The language of one chat message among ``candidates`` (config codes, may be
    regional like "zh-CN"/"pt-BR": compare on the base code and return the candidate
    code as given). None when unsure: too little text (emoji-only, link-only, digits,
    one short word), or confidence below THRESHOLD (calibrated on the corpus)."""
    found = _guess(text, candidates)
    return found if found is not None and found.confidence >= THRESHOLD else None
