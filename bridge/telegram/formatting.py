"""Telegram's message entities <-> the bridge's spans (core/formatting.py), and spans
-> Telegram's HTML parse mode.

Entities count UTF-16 code units (an emoji outside the BMP takes two); spans count
code points, so offsets are converted here and nowhere else. Only formatting
crosses: a URL, @mention, #hashtag, bot command, phone number or e-mail is just
text (the receiving side recognises it again), and a custom emoji's text is
already its fallback emoji.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from aiogram.types import MessageEntity

from core import formatting as fmt
from core.formatting import Span

ENTITY_KINDS = {
    "bold": fmt.BOLD,
    "italic": fmt.ITALIC,
    "underline": fmt.UNDERLINE,
    "strikethrough": fmt.STRIKE,
    "spoiler": fmt.SPOILER,
    "code": fmt.CODE,
    "pre": fmt.PRE,
    "text_link": fmt.LINK,
    "blockquote": fmt.QUOTE,
    "expandable_blockquote": fmt.EXPANDABLE_QUOTE,
}


def spans_from_entities(text: str, entities: Iterable[MessageEntity] | None) -> fmt.Spans:
    """The spans of a message's ``entities`` (or ``caption_entities``) over ``text``.
    An entity whose offsets do not fit the text is left out, never raised."""
    return read_entities(text, entities)[0]


def read_entities(text: str, entities: Iterable[MessageEntity] | None) -> tuple[fmt.Spans, int]:
    """:func:`spans_from_entities` and how many entities were impossible: offsets
    outside the text, negative, empty, inside an astral character's two UTF-16 units, or
    formatting nested in a way the Bot API never sends (two marks that cross without one
    holding the other, anything inside code or pre, a quote in a quote, a link in a
    link). Each is left out and counted by the caller; the text stays as typed. An
    entity of a kind that is not formatting (a URL, a mention…) is only checked for its
    offsets; a link that is not http(s) is formatting Discord cannot show, not an error."""
    if not entities:
        return (), 0
    index = fmt.utf16_index(text)
    size = len(index) - 1
    bad = 0
    candidates = []
    for entity in entities:
        start, length = entity.offset, entity.length
        end = start + length
        if start < 0 or length <= 0 or end > size or _splits_a_character(text, index, start, end):
            bad += 1
            continue
        kind = ENTITY_KINDS.get(str(entity.type))
        if kind is not None:
            candidates.append((index[start], index[end], kind, entity))
    kept: list[Span] = []
    for start, end, kind, entity in sorted(candidates, key=lambda c: (c[0], -c[1], fmt.KINDS.index(c[2]))):
        if not _nests(kept, start, end, kind):
            bad += 1
            continue
        data = ""
        if kind == fmt.LINK:
            data = entity.url or ""
        elif kind == fmt.PRE:
            data = entity.language or ""
        kept.append(Span(start, end, kind, data))
    # Checked, now dropped: tg://, mailto: and the like are nothing a Discord masked link can be.
    spans = [s for s in kept if s.kind != fmt.LINK or s.data.startswith(("http://", "https://"))]
    return fmt.normalised(spans, len(text)), bad


def _splits_a_character(text: str, index: list[int], start: int, end: int) -> bool:
    """True when a UTF-16 offset falls between the two units of one character."""
    return any(0 < at < len(index) - 1 and index[at] == index[at - 1] for at in (start, end))


_QUOTES = (fmt.QUOTE, fmt.EXPANDABLE_QUOTE)


def _nests(kept: Sequence[Span], start: int, end: int, kind: str) -> bool:
    """Whether a mark over ``[start, end)`` fits with the ``kept`` ones the way the Bot API
    nests entities (``kept`` come outer first: each starts at or before this one)."""
    for other in kept:
        if other.end <= start or end <= other.start:
            continue  # apart
        if not (other.start <= start and end <= other.end):
            return False  # crossing
        if other.kind in fmt.VERBATIM:
            return False  # nothing inside code or pre
        if kind in _QUOTES and other.kind in _QUOTES:
            return False
        if kind == fmt.LINK and other.kind == fmt.LINK:
            return False
    return True


_TAG = {
    fmt.BOLD: "b",
    fmt.ITALIC: "i",
    fmt.UNDERLINE: "u",
    fmt.STRIKE: "s",
    fmt.SPOILER: "tg-spoiler",
    fmt.CODE: "code",
    fmt.QUOTE: "blockquote",
    fmt.EXPANDABLE_QUOTE: "blockquote",
}


def _opening(span: Span) -> str:
    if span.kind == fmt.LINK:
        return f'<a href="{html.escape(span.data, quote=True)}">'
    if span.kind == fmt.PRE:
        language = "".join(c for c in span.data if c.isalnum() or c in "+-_#.")
        return f'<pre><code class="language-{language}">' if language else "<pre>"
    if span.kind == fmt.EXPANDABLE_QUOTE:
        return "<blockquote expandable>"
    return f"<{_TAG[span.kind]}>"


def _closing(span: Span) -> str:
    if span.kind == fmt.LINK:
        return "</a>"
    if span.kind == fmt.PRE:
        return "</code></pre>" if _opening(span) != "<pre>" else "</pre>"
    return f"</{_TAG[span.kind]}>"


def to_html(text: str, spans: Sequence[Span]) -> str:
    """``(text, spans)`` in Telegram's HTML, everything that is not a mark escaped.
    Discord's headings, lists and subtext must have been made Telegram's first
    (:func:`core.formatting.for_telegram`); Telegram cannot nest quotes, nor put
    anything inside code, so those inner marks are left out."""
    kept = []
    blocks: list[Span] = []  # code and quotes kept so far: what may not contain another
    for span in fmt.normalised(spans, len(text)):
        if span.kind not in _TAG and span.kind not in (fmt.LINK, fmt.PRE):
            continue
        inside = [o for o in blocks if o.start <= span.start and span.end <= o.end]
        if any(o.kind in fmt.VERBATIM for o in inside):
            continue
        is_quote = span.kind in (fmt.QUOTE, fmt.EXPANDABLE_QUOTE)
        if is_quote and any(o.kind in (fmt.QUOTE, fmt.EXPANDABLE_QUOTE) for o in inside):
            continue
        kept.append(span)
        if is_quote or span.kind in fmt.VERBATIM:
            blocks.append(span)
    return fmt.render(
        text, kept, opening=_opening, closing=_closing, plain=lambda piece, _inside: html.escape(piece, quote=False)
    )


def entities_from_spans(text: str, spans: Sequence[Span]) -> list[dict]:
    """Spans as Bot API entities (UTF-16 offsets): what a stand-in or a test compares."""
    offsets = fmt.utf16_offsets(text)
    names = {kind: name for name, kind in ENTITY_KINDS.items()}
    out = []
    for span in fmt.normalised(spans, len(text)):
        if span.kind not in names:
            continue
        entity: dict = {
            "type": names[span.kind],
            "offset": offsets[span.start],
            "length": offsets[span.end] - offsets[span.start],
        }
        if span.kind == fmt.LINK:
            entity["url"] = span.data
        if span.kind == fmt.PRE and span.data:
            entity["language"] = span.data
        out.append(entity)
    return out
