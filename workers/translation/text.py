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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core import formatting as fmt
from core.text import split_text

_KEEP_AS_IS = re.compile(
    r"https?://\S+|www\.\S+"  # links
    r"|<a?:\w+:\d+>|<[@#][!&]?\d+>"  # Discord custom emoji, user/role/channel mentions
    r"|(?<![\w@])@\w{2,}"  # @handles
    r"|`[^`\n]+`"  # inline code
    r"|\[(?:email|phone|link|handle|postcode|IBAN|card number|IP address) removed\]"  # redaction markers
)
_PLACEHOLDER = re.compile(r"⟦\s*(\d+)\s*⟧")


@dataclass(frozen=True)
class Protected:
    """A text with its kept parts swapped for placeholders."""

    text: str
    kept: tuple[str, ...]
    # Where each kept part was in the original: (start, end) in order (formatted texts only).
    places: tuple[tuple[int, int], ...] = ()

    def spans(self, spans: Sequence[fmt.Span]) -> fmt.Spans:
        """The original's formatting moved onto the protected text."""
        edits = [(start, end, f"⟦{i}⟧") for i, (start, end) in enumerate(self.places)]
        return fmt.edit(self.text_before(), edits, spans)[1]

    def text_before(self) -> str:
        """The original text (the kept parts put back where they were)."""
        out, at = [], 0
        for match in _PLACEHOLDER.finditer(self.text):
            out += [self.text[at : match.start()], self.kept[int(match.group(1))]]
            at = match.end()
        return "".join(out) + self.text[at:]

    def restore_formatted(self, translated: str, spans: Sequence[fmt.Span]) -> tuple[str, fmt.Spans]:
        """:meth:`restore` for a translated text with formatting: the spans follow."""
        seen: set[int] = set()
        edits = []
        for match in _PLACEHOLDER.finditer(translated):
            index = int(match.group(1))
            if index < len(self.kept):
                seen.add(index)
                edits.append((match.start(), match.end(), self.kept[index]))
        lost = [part for i, part in enumerate(self.kept) if i not in seen]
        if lost:
            edits.append((len(translated), len(translated), " " + " ".join(lost)))
        return fmt.edit(translated, edits, spans)

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


def protect_formatted(text: str, spans: Sequence[fmt.Span], glossary: Iterable[str] = ()) -> Protected:
    """:func:`protect` for a text with formatting sent as HTML: code is kept whole as
    well, and so is every ``<``, ``>`` and ``&`` (LibreTranslate unescapes what it
    returns, so a literal ``<b>`` would come back as a tag)."""
    places = [(m.start(), m.end()) for m in _pattern(glossary).finditer(text)]
    places += [(s.start, s.end) for s in spans if s.kind in fmt.VERBATIM]
    places += [(i, i + 1) for i, char in enumerate(text) if char in "<>&"]
    chosen: list[tuple[int, int]] = []
    for start, end in sorted(places, key=lambda p: (p[0], -p[1])):
        if chosen and start < chosen[-1][1]:
            continue  # inside a part already kept
        chosen.append((start, end))
    kept = tuple(text[start:end] for start, end in chosen)
    edits = [(start, end, f"⟦{i}⟧") for i, (start, end) in enumerate(chosen)]
    protected_text = fmt.edit(text, edits, ())[0]
    return Protected(protected_text, kept, tuple(chosen))


@dataclass(frozen=True)
class Marked:
    """A protected text with a placeholder at every border of its formatting, for a
    translator without HTML: the placeholders (``⟦n⟧``, numbered after the kept parts')
    are what every provider is relied on to pass through (glossary terms and links cross
    them already), so the whole text goes in one call, in context, and the marks come back
    where the translator put their placeholders (:func:`unmark`)."""

    text: str
    spans: fmt.Spans  # the formatting over the protected text
    numbers: dict[int, int]  # a border's position in the protected text -> its placeholder's number


def mark(protected: Protected, spans: Sequence[fmt.Span]) -> Marked:
    """``protected`` with a placeholder at each border of ``spans`` (the original's)."""
    moved = protected.spans(spans)
    positions = sorted({at for span in moved for at in (span.start, span.end)})
    numbers = {at: len(protected.kept) + i for i, at in enumerate(positions)}
    text = fmt.edit(protected.text, [(at, at, f"⟦{numbers[at]}⟧") for at in positions], ())[0]
    return Marked(text, moved, numbers)


def unmark(marked: Marked, translated: str) -> tuple[str, fmt.Spans]:
    """The translation without the border placeholders, and the marks between them (still
    over the protected text: :meth:`Protected.restore_formatted` follows). A mark whose
    placeholder the translator lost, or put the wrong way round, is left out (its words
    still cross); whitespace the translator put just inside a mark is left outside it."""
    borders = set(marked.numbers.values())
    found: dict[int, int] = {}
    out: list[str] = []
    length = at = 0
    last = ""  # the last character written out
    for match in _PLACEHOLDER.finditer(translated):
        number = int(match.group(1))
        if number not in borders or match.start() < at:
            continue
        piece = translated[at : match.start()]
        out.append(piece)
        length += len(piece)
        last = piece[-1:] or last
        found.setdefault(number, length)
        at = match.end()
        if last in ("", " ") and translated[at : at + 1] == " ":
            at += 1  # "word ⟦7⟧ word": one space, not two; none at the start
    out.append(translated[at:])
    text = "".join(out)
    spans = []
    for span in marked.spans:
        start, end = found.get(marked.numbers[span.start]), found.get(marked.numbers[span.end])
        if start is None or end is None or start >= end:
            continue
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        spans.append(fmt.Span(start, end, span.kind, span.data))
    return text, fmt.normalised(spans, len(text))


def _pattern(glossary: Iterable[str]) -> re.Pattern:
    terms = sorted({t.strip() for t in glossary if t and t.strip()}, key=len, reverse=True)
    patterns = [_KEEP_AS_IS.pattern]
    if terms:
        patterns.insert(0, r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)")
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def protect(text: str, glossary: Iterable[str] = ()) -> Protected:
    """Swap glossary terms (whole words, any case) and links, mentions and
    code for placeholders. Longer terms win over shorter ones inside them."""
    combined = _pattern(glossary)
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
    ``"".join(pieces) == text``, at the strongest boundary in each piece's room
    (paragraph, line, sentence, word), so a sentence that fits is never cut;
    only a single overlong word is cut hard."""
    return split_text(text, limit, keep_whitespace=True, min_fill=0)


def rejoin(translated_pieces: list[str], original_pieces: list[str]) -> str:
    """Join translated pieces, keeping the whitespace each original piece
    ended with (translators tend to strip it)."""
    out = []
    for translated, original in zip(translated_pieces, original_pieces, strict=False):
        trailing = original[len(original.rstrip()) :]
        out.append(translated.rstrip() + trailing)
    return "".join(out)
