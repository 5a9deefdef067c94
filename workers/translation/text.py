"""Preparing a chat message for a translator and putting it back together.

What must come back exactly as written (glossary terms such as town, school
and people's names, links, mentions, custom emoji, inline code) is swapped
for a numbered placeholder ``⟦n⟧`` that translators pass through, and
restored afterwards. Long texts are cut into chunks at line, then sentence,
then word boundaries within a provider's limit, and joined back in order.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_KEEP_AS_IS = re.compile(
    r"https?://\S+|www\.\S+"          # links
    r"|<a?:\w+:\d+>|<[@#][!&]?\d+>"   # Discord custom emoji, user/role/channel mentions
    r"|(?<![\w@])@\w{2,}"             # @handles
    r"|`[^`\n]+`"                     # inline code
    r"|\[(?:email|phone|link|handle|postcode|IBAN|card number|IP address) removed\]"  # redaction markers
)
_PLACEHOLDER = re.compile(r"⟦\s*(\d+)\s*⟧")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])")


@dataclass(frozen=True)
class Protected:
    """A text with its kept parts swapped for placeholders."""

    text: str
    kept: tuple[str, ...]

    def restore(self, translated: str) -> str:
        """Put the kept parts back. A placeholder a translator lost is added at
        the end, so a name or link is never silently dropped."""
        seen: set[int] = set()

        def put_back(match: re.Match) -> str:
            index = int(match.group(1))
            if index >= len(self.kept):
                return match.group(0)
            seen.add(index)
            return self.kept[index]

        restored = _PLACEHOLDER.sub(put_back, translated)
        lost = [part for i, part in enumerate(self.kept) if i not in seen]
        return f"{restored} {' '.join(lost)}" if lost else restored


def protect(text: str, glossary: Iterable[str] = ()) -> Protected:
    """Swap glossary terms (whole words, any case) and links, mentions and
    code for placeholders. Longer terms win over shorter ones inside them."""
    terms = sorted({t.strip() for t in glossary if t and t.strip()}, key=len, reverse=True)
    patterns = [_KEEP_AS_IS.pattern]
    if terms:
        patterns.insert(0, r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)")
    combined = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    kept: list[str] = []

    def swap(match: re.Match) -> str:
        kept.append(match.group(0))
        return f"⟦{len(kept) - 1}⟧"

    return Protected(combined.sub(swap, text), tuple(kept))


def has_words(protected_text: str) -> bool:
    """Whether anything is left for a translator: letters outside placeholders
    (an emoji-only, link-only or number-only message has none)."""
    rest = _PLACEHOLDER.sub(" ", protected_text)
    return any(unicodedata.category(ch).startswith("L") for ch in rest)


def chunks(text: str, limit: int) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` characters such that
    ``"".join(pieces) == text``: whole lines where they fit, else whole
    sentences, else whole words; only a single overlong word is cut hard."""
    if len(text) <= limit:
        return [text]
    units = _units(text, limit)
    pieces: list[str] = []
    current = ""
    for unit in units:
        if current and len(current) + len(unit) > limit:
            pieces.append(current)
            current = ""
        current += unit
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, limit: int) -> list[str]:
    """The smallest pieces ``chunks`` packs: lines, or sentences/words of an
    overlong line; each keeps its trailing separator so joining restores it."""
    units: list[str] = []
    for line in text.splitlines(keepends=True):
        if len(line) <= limit:
            units.append(line)
            continue
        for sentence in _split_keep(line, _SENTENCE_END):
            if len(sentence) <= limit:
                units.append(sentence)
                continue
            for word in _split_keep(sentence, re.compile(r"(?<=\s)(?=\S)")):
                units += [word[i:i + limit] for i in range(0, len(word), limit)]
    return units


def _split_keep(text: str, boundary: re.Pattern) -> list[str]:
    """Split after each boundary match, keeping every character."""
    parts, start = [], 0
    for match in boundary.finditer(text):
        if match.end() > start:
            parts.append(text[start:match.end()])
            start = match.end()
    parts.append(text[start:])
    return [p for p in parts if p]


def rejoin(translated_pieces: list[str], original_pieces: list[str]) -> str:
    """Join translated pieces, keeping the whitespace each original piece
    ended with (translators tend to strip it)."""
    out = []
    for translated, original in zip(translated_pieces, original_pieces):
        trailing = original[len(original.rstrip()):]
        out.append(translated.rstrip() + trailing)
    return "".join(out)
