"""The stand-ins' translation: visibly fake (``"[de] "`` in front), deterministic, with a
small phrase book swapped in so that a demo reads like a translation, and leaving the
bridge's placeholders (``⟦0⟧``), URLs and ``<span translate="no">`` alone; plus a script
and phrase-book guess of the language for ``source: "auto"``."""

from __future__ import annotations

import re
from functools import cache

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
_KEEP = {
    "text": re.compile(_KEEP_TEXT),
    "html": re.compile(
        r"<span\b[^>]*\btranslate\s*=\s*[\"']?no\b[\"']?[^>]*>.*?</span\s*>|<[^>]*>|" + _KEEP_TEXT,
        re.IGNORECASE | re.DOTALL,
    ),
}


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
    scores = {
        lang: sum(bool(re.search(rf"(?<!\w){re.escape(e[lang].lower())}(?!\w)", lowered)) for e in _PHRASES)
        for lang in ("en", "de", "fr", "es")
    }
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
        pieces += [_swap_phrases(text[position : kept.start()], source, target), kept.group()]
        position = kept.end()
    pieces.append(_swap_phrases(text[position:], source, target))
    return f"[{target}] " + "".join(pieces)
