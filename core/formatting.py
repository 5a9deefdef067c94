"""Formatted text, platform-neutral: the plain text plus spans over it.

A message's ``text`` stays what a reader sees, without any markup: detection,
redaction, profanity masking, length limits and the digests work on it as
before. Its formatting travels beside it as :class:`Span` s: a kind, a start
and an end in Python ``str`` indices (code points; the adapters convert
Telegram's UTF-16 offsets at the edge) and one datum (a link's URL, a code
block's language, a heading's level, a list item's marker). Spans nest like
Telegram's entities or Discord's markdown tree; where they overlap anyway the
renderers close and reopen (:func:`segments`).

Text that changes after ingress (redaction, profanity masking, mention
defusing) carries its spans along with :func:`remap`, which needs nothing but
the text before and after (translation, which rewrites everything, carries
them as HTML tags instead: workers/translation/); each renderer turns ``(text, spans)``
into its platform's markup with everything between the marks escaped.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

# Inline kinds both platforms have.
BOLD, ITALIC, UNDERLINE, STRIKE, SPOILER = "bold", "italic", "underline", "strikethrough", "spoiler"
CODE, PRE, LINK = "code", "pre", "link"  # pre: data is the language; link: data is the URL
QUOTE, EXPANDABLE_QUOTE = "blockquote", "expandable_blockquote"
# Discord's line-level marks (Telegram shows them "sensibly": core.formatting.for_telegram).
HEADING, LIST_ITEM, SUBTEXT = "heading", "list_item", "subtext"  # data: level "1".."3"; marker "•" or "3."

KINDS = (
    QUOTE,
    EXPANDABLE_QUOTE,
    HEADING,
    LIST_ITEM,
    SUBTEXT,
    PRE,
    LINK,
    BOLD,
    ITALIC,
    UNDERLINE,
    STRIKE,
    SPOILER,
    CODE,
)
# Of two spans over the same characters, the one earlier in KINDS is the outer one.
_RANK = {kind: i for i, kind in enumerate(KINDS)}
VERBATIM = frozenset({CODE, PRE})  # their text is shown as it is: nothing inside is markup


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    kind: str
    data: str = ""

    def to_list(self) -> list[Any]:
        return [self.kind, self.start, self.end, self.data] if self.data else [self.kind, self.start, self.end]


Spans = tuple[Span, ...]


def _order(span: Span) -> tuple[int, int, int]:
    return (span.start, -span.end, _RANK.get(span.kind, len(KINDS)))


def normalised(spans: Iterable[Span], length: int) -> Spans:
    """Known kinds only, within ``[0, length]``, non-empty, each once, outer before inner."""
    kept: dict[tuple[int, int, str], Span] = {}
    for span in spans:
        start, end = max(0, span.start), min(length, span.end)
        if span.kind in _RANK and start < end:
            clipped = Span(start, end, span.kind, span.data)
            kept.setdefault((start, end, span.kind), clipped)
    return tuple(sorted(kept.values(), key=_order))


def to_json(spans: Sequence[Span]) -> list[list[Any]]:
    return [span.to_list() for span in spans]


def from_json(data: Any) -> Spans:
    """Spans from their JSON form; anything malformed is left out (never raised)."""
    spans = []
    for item in data or ():
        if isinstance(item, dict):  # dataclasses.asdict's form
            item = [item.get("kind"), item.get("start"), item.get("end"), item.get("data") or ""]
        try:
            kind, start, end, *rest = item
            spans.append(Span(int(start), int(end), str(kind), str(rest[0]) if rest else ""))
        except (TypeError, ValueError):
            continue
    return tuple(sorted(spans, key=_order))


# -- following changes of the text ------------------------------------------------------


def shifted(spans: Iterable[Span], offset: int) -> Spans:
    return tuple(Span(s.start + offset, s.end + offset, s.kind, s.data) for s in spans)


def clip(spans: Iterable[Span], start: int, end: int) -> Spans:
    """The spans over ``text[start:end]``, relative to it (a span cut by the bounds is cut too)."""
    return normalised(shifted(spans, -start), end - start)


def remap(old: str, new: str, spans: Sequence[Span]) -> Spans:
    """``spans`` of ``old`` moved onto ``new``, which is ``old`` changed in places
    (a phone number replaced by a marker, a word masked, a joiner inserted).

    Unchanged stretches keep their marks; a replaced stretch takes the marks that
    covered it whole (a bold phone number gives a bold marker); a span that began
    or ended inside a replaced stretch is widened to all of the replacement."""
    if not spans or old == new:
        return normalised(spans, len(new))
    opcodes = [op for op in _opcodes(old, new) if op[1] < op[2]]

    def start_of(i: int) -> int:
        # The block holding character i decides: an insertion just before it stays outside.
        for tag, a0, a1, b0, _b1 in opcodes:
            if a0 <= i < a1:
                return b0 + (i - a0) if tag == "equal" else b0
        return len(new)

    def end_of(i: int) -> int:
        # The block holding character i - 1 decides: an insertion just after it stays outside.
        for tag, a0, a1, b0, b1 in opcodes:
            if a0 <= i - 1 < a1:
                return b0 + (i - a0) if tag == "equal" else b1
        return 0

    moved = [Span(start_of(s.start), end_of(s.end), s.kind, s.data) for s in spans]
    return normalised(moved, len(new))


def edit(text: str, edits: Sequence[tuple[int, int, str]], spans: Sequence[Span]) -> tuple[str, Spans]:
    """``text`` with the stretches ``text[start:end]`` of ``edits`` (in order, not
    overlapping) replaced, and ``spans`` moved exactly (as :func:`remap` would, but
    where the changes are known: a replaced stretch is inside a span only whole)."""
    out, table, at, new_at = [], [], 0, 0
    for start, end, replacement in edits:
        out.append(text[at:start])
        new_at += start - at
        table.append((start, end, new_at, new_at + len(replacement)))
        out.append(replacement)
        new_at += len(replacement)
        at = end
    out.append(text[at:])

    def start_of(i: int) -> int:
        delta = 0
        for a0, a1, b0, b1 in table:
            if i < a0:
                break
            if i == a0 == a1:
                return b1  # an insertion where a span starts stays outside it
            if a0 <= i < a1:
                return b0
            delta = b1 - a1
        return i + delta

    def end_of(i: int) -> int:
        delta = 0
        for a0, a1, _b0, b1 in table:
            if i <= a0:
                break
            if a0 < i <= a1:
                return b1
            delta = b1 - a1
        return i + delta

    new = "".join(out)
    return new, normalised((Span(start_of(s.start), end_of(s.end), s.kind, s.data) for s in spans), len(new))


_ANCHOR = 4  # characters that must agree again after a change (markers are longer than the gaps between them)
_REACH = 256  # how far a change may reach on either side before the rest counts as replaced


def _opcodes(old: str, new: str) -> list[tuple[str, int, int, int, int]]:
    """difflib-style opcodes for ``old`` -> ``new`` where the changes are local
    (replaced stretches between long equal ones): equal runs are followed, and after
    each change the nearest place where both agree again for ``_ANCHOR`` characters is
    found with ``str.find``. Linear for such texts, where difflib's matcher is quadratic
    on repetitive text (minutes for a 4,000-character message) or, with its junk
    heuristic, gives up on the alignment."""
    ops: list[tuple[str, int, int, int, int]] = []
    i = j = 0
    n, m = len(old), len(new)
    while i < n and j < m:
        k = 0
        while i + k < n and j + k < m and old[i + k] == new[j + k]:
            k += 1
        if k:
            ops.append(("equal", i, i + k, j, j + k))
            i, j = i + k, j + k
            continue
        if n - i <= _ANCHOR:
            break
        best: tuple[int, int] | None = None
        for a in range(min(_REACH, n - i - _ANCHOR) + 1):
            if best is not None and a >= sum(best):
                break
            found = new.find(old[i + a : i + a + _ANCHOR], j, j + _REACH + _ANCHOR)
            if found >= 0 and (best is None or a + found - j < sum(best)):
                best = (a, found - j)
        if best is None:
            break
        ops.append(("replace", i, i + best[0], j, j + best[1]))
        i, j = i + best[0], j + best[1]
    if i < n or j < m:
        ops.append(("replace", i, n, j, m))
    return ops


def lines(text: str, spans: Sequence[Span]) -> list[tuple[int, int]]:
    """``text``'s lines as (start, end) stretches without their line breaks, but a code
    block (or code) that holds line breaks is one stretch with the lines around it: what a
    renderer that goes line by line may format on its own (a mark over several lines is
    closed at each line's end and reopened on the next)."""
    blocks = sorted((s.start, s.end) for s in normalised(spans, len(text)) if s.kind in VERBATIM)
    out: list[tuple[int, int]] = []
    start = 0
    for at, char in enumerate(text):
        if char == "\n" and not any(a <= at < b for a, b in blocks):
            out.append((start, at))
            start = at + 1
    out.append((start, len(text)))
    return out


def strip(text: str, spans: Sequence[Span]) -> tuple[str, Spans]:
    """``text.strip()`` and its spans."""
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    return stripped, clip(spans, lead, lead + len(stripped))


# -- Telegram's UTF-16 offsets ----------------------------------------------------------


def utf16_index(text: str) -> list[int]:
    """For each UTF-16 offset into ``text`` (0..its UTF-16 length), the code point index."""
    index = []
    for i, char in enumerate(text):
        index.append(i)
        if ord(char) > 0xFFFF:
            index.append(i)  # the low surrogate: inside the character, which starts at i
    index.append(len(text))
    return index


def utf16_offsets(text: str) -> list[int]:
    """For each code point index into ``text`` (0..len), its UTF-16 offset."""
    offsets, at = [], 0
    for char in text:
        offsets.append(at)
        at += 2 if ord(char) > 0xFFFF else 1
    offsets.append(at)
    return offsets


# -- rendering --------------------------------------------------------------------------


def segments(text: str, spans: Sequence[Span]) -> list[tuple[Spans, Spans, str]]:
    """``text`` cut at every span border: (spans to close, spans to open, the text
    after them) in order; after the last piece everything still open is closed
    (``("", closing, "")`` as the last item). Marks close innermost first and open
    outermost first; a span that overlaps another without nesting is closed and
    reopened, so every renderer's output is balanced."""
    spans = normalised(spans, len(text))
    borders = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    starting: dict[int, list[Span]] = {}
    for span in spans:
        starting.setdefault(span.start, []).append(span)
    active: list[Span] = []  # the spans over the current piece: a sweep, not a scan per piece
    stack: list[Span] = []
    out: list[tuple[Spans, Spans, str]] = []
    for a, b in itertools.pairwise(borders):
        active = [s for s in active if s.end > a] + starting.get(a, [])
        wanted = sorted(active, key=_order)
        common = 0
        while common < min(len(stack), len(wanted)) and stack[common] == wanted[common]:
            common += 1
        closing = tuple(reversed(stack[common:]))
        opening = tuple(wanted[common:])
        stack = wanted
        out.append((closing, opening, text[a:b]))
    out.append((tuple(reversed(stack)), (), ""))
    return out


def render(
    text: str,
    spans: Sequence[Span],
    *,
    opening: Callable[[Span], str],
    closing: Callable[[Span], str],
    plain: Callable[[str, Spans], str],
) -> str:
    """The markup for ``(text, spans)``: ``opening``/``closing`` give each mark,
    ``plain(piece, inside)`` the escaped text of a piece within the spans ``inside``."""
    out: list[str] = []
    inside: list[Span] = []
    for closed, opened, piece in segments(text, spans):
        for span in closed:
            out.append(closing(span))
            inside.remove(span)
        for span in opened:
            out.append(opening(span))
            inside.append(span)
        if piece:
            out.append(plain(piece, tuple(inside)))
    return "".join(out)


def for_telegram(text: str, spans: Sequence[Span]) -> tuple[str, Spans]:
    """Discord's line-level marks the way Telegram can show them: a list item gets its
    marker ("• ", "2. ") in the text, a heading is bold, subtext italic."""
    if not any(s.kind in (HEADING, LIST_ITEM, SUBTEXT) for s in spans):
        return text, normalised(spans, len(text))
    items = sorted((s for s in spans if s.kind == LIST_ITEM), key=lambda s: s.start)
    out, at = [], 0
    for item in items:
        out += [text[at : item.start], (item.data or "•") + " "]
        at = item.start
    new = "".join(out) + text[at:]
    rest = [s for s in spans if s.kind != LIST_ITEM]
    moved = remap(text, new, rest)
    styled = [
        Span(s.start, s.end, BOLD, "")
        if s.kind == HEADING
        else Span(s.start, s.end, ITALIC, "")
        if s.kind == SUBTEXT
        else s
        for s in moved
    ]
    return new, normalised(styled, len(new))


# -- an HTML form, for translators that keep tags (LibreTranslate's format "html") -------

_TAGS = {
    BOLD: "b",
    ITALIC: "i",
    UNDERLINE: "u",
    STRIKE: "s",
    SPOILER: "tg-spoiler",
    CODE: "code",
    PRE: "pre",
    LINK: "a",
    QUOTE: "blockquote",
    EXPANDABLE_QUOTE: "blockquote",
    HEADING: "h",
    LIST_ITEM: "li",
    SUBTEXT: "small",
}
_ATTRIBUTE = {PRE: "lang", LINK: "href", HEADING: "level", LIST_ITEM: "marker"}


def _open_tag(span: Span) -> str:
    tag = _TAGS[span.kind]
    if span.kind == EXPANDABLE_QUOTE:
        return f"<{tag} expandable>"
    attribute = _ATTRIBUTE.get(span.kind)
    if attribute:
        return f'<{tag} {attribute}="{html.escape(span.data, quote=True)}">'
    return f"<{tag}>"


def to_html(text: str, spans: Sequence[Span]) -> str:
    """``(text, spans)`` as HTML with the tags :func:`from_html` reads back."""
    return render(
        text,
        spans,
        opening=_open_tag,
        closing=lambda span: f"</{_TAGS[span.kind]}>",
        plain=lambda piece, _inside: html.escape(piece, quote=False),
    )


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.open: list[tuple[str, int, dict[str, str | None]]] = []
        self.spans: list[Span] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append((tag, self.length, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.open) - 1, -1, -1):  # a translator may misplace a tag: close what matches
            if self.open[i][0] == tag:
                name, start, attributes = self.open.pop(i)
                kind = _kind_of(name, attributes)
                if kind:
                    data = attributes.get(_ATTRIBUTE.get(kind, ""), "") or ""
                    self.spans.append(Span(start, self.length, kind, data))
                return

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.length += len(data)


def _kind_of(tag: str, attributes: dict[str, str | None]) -> str | None:
    if tag == "blockquote":
        return EXPANDABLE_QUOTE if "expandable" in attributes else QUOTE
    for kind, name in _TAGS.items():
        if name == tag:
            return kind
    return None


def from_html(markup: str) -> tuple[str, Spans]:
    """The plain text and spans of HTML written by :func:`to_html` (and passed through
    a translator: unknown tags are dropped, unclosed ones ignored)."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    text = "".join(reader.parts)
    return text, normalised(reader.spans, len(text))
