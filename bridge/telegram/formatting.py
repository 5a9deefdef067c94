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
    if not entities:
        return ()
    index = fmt.utf16_index(text)
    spans = []
    for entity in entities:
        kind = ENTITY_KINDS.get(str(entity.type))
        if kind is None:
            continue
        start, end = entity.offset, entity.offset + entity.length
        if start < 0 or end > len(index) - 1 or start >= end:
            continue
        data = ""
        if kind == fmt.LINK:
            data = entity.url or ""
            if not data.startswith(("http://", "https://")):
                continue  # tg://, mailto: and the like: nothing a Discord masked link can be
        elif kind == fmt.PRE:
            data = entity.language or ""
        spans.append(Span(index[start], index[end], kind, data))
    return fmt.normalised(spans, len(text))


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
