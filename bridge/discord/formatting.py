"""Discord markdown <-> the bridge's spans (core/formatting.py).

Reading: discord-markdown-py's lossless tree (a parser of Discord's own rules,
not CommonMark's: ``_`` inside words, ``-#`` subtext, ``>>>`` quotes, no lists
inside code…) gives every character of the content as a token; the plain text is
what a reader sees (text, code, line ends, a detected link's URL, an escaped
character without its backslash, ``:smile:`` as 😄), and every formatting node
becomes a span over it. Mentions, custom emoji and timestamps stay as typed.

Writing: spans become Discord markdown and everything between the marks is
escaped (bridge/discord/render.py's :func:`escape`), so "*not bold*" typed on
Telegram shows with its asterisks; code is shown as it is, fenced so that no
backtick inside can end it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import discord_markdown

from core import formatting as fmt
from core.formatting import Span

log = logging.getLogger(__name__)

# Ordinary messages need a tiny part of the parser's default work budget; a hostile
# one is cut short (and then relayed as plain text, counted).
PARSE_FUEL = discord_markdown.DEFAULT_FUEL // 16

_MODIFIERS = {
    "bold": fmt.BOLD,
    "italic": fmt.ITALIC,
    "underline": fmt.UNDERLINE,
    "strikethrough": fmt.STRIKE,
    "spoiler": fmt.SPOILER,
}
# Tokens that are syntax only; the whitespace after a line marker is syntax too.
_SYNTAX = frozenset(
    {
        "delimiter",
        "escape",
        "link_open",
        "link_close",
        "destination_open",
        "destination_close",
        "title",
        "code_delimiter",
        "code_fence",
        "language",
        "quote_prefix",
        "list_marker",
        "heading_marker",
        "small_marker",
        "indent",
    }
)
_MARKERS = frozenset({"quote_prefix", "list_marker", "heading_marker", "small_marker"})


@dataclass(frozen=True)
class Parsed:
    text: str
    spans: fmt.Spans
    failed: bool = False  # the parser gave up: ``text`` is the content as typed, unformatted


def parse(content: str) -> Parsed:
    """What Discord shows for ``content``: its plain text and formatting."""
    if not content:
        return Parsed("", ())
    try:
        tree = discord_markdown.parse_lossless(content, fuel=PARSE_FUEL)
    except Exception as exc:  # noqa: BLE001 - any parser failure: the text still crosses, unformatted
        log.info("discord markdown not parsed (%s); relayed as plain text", exc.__class__.__name__)
        return Parsed(content, (), failed=True)
    reader = _Reader()
    reader.node(tree, None)
    text = "".join(reader.out)
    return Parsed(text, _trimmed(text, reader.spans))


class _Reader:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.length = 0
        self.spans: list[Span] = []
        self.after_marker = False

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.length += len(text)

    def node(self, node: dict[str, Any], link: dict[str, Any] | None) -> None:
        kind = node.get("kind") or {}
        what, value = kind.get("type"), kind.get("value")
        start = self.length
        if what == "code_block":
            content = str((value or {}).get("content") or "")
            content = content[:-1] if content.endswith("\n") else content
            self.emit(content)
            self.spans.append(Span(start, self.length, fmt.PRE, str((value or {}).get("language") or "")))
            return
        if what == "emoji" and (value or {}).get("type") == "unicode":
            self.emit(str(value.get("value") or ""))  # ":smile:" is what Discord shows as 😄
            return
        if what == "link":
            link = value or {}
        if what == "list":
            self.list(node, value or {}, link)
            return
        for child in node.get("children") or ():
            if child.get("type") == "token":
                self.token(child, link)
            else:
                self.node(child, link)
        span = self.span_of(what, value, start)
        if span is not None:
            self.spans.append(span)

    def list(self, node: dict[str, Any], value: dict[str, Any], link: dict[str, Any] | None) -> None:
        number = int(value.get("value") or 1) if value.get("type") == "ordered" else None
        for child in node.get("children") or ():
            if child.get("type") == "token":
                self.token(child, link)
                continue
            start = self.length
            self.node(child, link)
            if (child.get("kind") or {}).get("type") == "list_item":
                marker = f"{number}." if number is not None else "•"
                self.spans.append(Span(start, self.length, fmt.LIST_ITEM, marker))
                number = number + 1 if number is not None else None

    def token(self, token: dict[str, Any], link: dict[str, Any] | None) -> None:
        kind = (token.get("kind") or {}).get("type")
        text = str(token.get("text") or "")
        if kind in _MARKERS:
            self.after_marker = True
            return
        if kind == "whitespace" and self.after_marker:
            self.after_marker = False
            return
        self.after_marker = False
        if kind in _SYNTAX:
            return
        if kind == "url" and link is not None and link.get("kind") == "masked":
            return  # the destination of a masked link, not its text
        self.emit(text)

    def span_of(self, what: str | None, value: Any, start: int) -> Span | None:
        end = self.length
        if what == "modifier":
            kind = _MODIFIERS.get(str((value or {}).get("kind")))
            return Span(start, end, kind) if kind else None
        if what == "code":
            return Span(start, end, fmt.CODE)
        if what == "link" and (value or {}).get("kind") == "masked":
            url = str(value.get("url") or "")
            return Span(start, end, fmt.LINK, url) if url.startswith(("http://", "https://")) else None
        if what == "quote":
            return Span(start, end, fmt.QUOTE)
        if what == "heading":
            return Span(start, end, fmt.HEADING, str((value or {}).get("level") or 1))
        if what == "small":
            return Span(start, end, fmt.SUBTEXT)
        return None


def _trimmed(text: str, spans: Sequence[Span]) -> fmt.Spans:
    """Block spans end before their line's line break (a quote ends with its last line)."""
    out = []
    for span in spans:
        end = span.end
        while end > span.start and text[end - 1] == "\n":
            end -= 1
        out.append(Span(span.start, end, span.kind, span.data))
    return fmt.normalised(out, len(text))


# -- writing --------------------------------------------------------------------------

_INLINE_MARKS = {
    fmt.BOLD: "**",
    fmt.ITALIC: "*",
    fmt.UNDERLINE: "__",
    fmt.STRIKE: "~~",
    fmt.SPOILER: "||",
}
_LINE_MARKS = (fmt.QUOTE, fmt.EXPANDABLE_QUOTE, fmt.HEADING, fmt.SUBTEXT, fmt.LIST_ITEM)
_SAFE_LANGUAGE = re.compile(r"^[A-Za-z0-9+#_.-]{1,32}$")


def to_markdown(text: str, spans: Sequence[Span], escape: Callable[[str, bool], str]) -> str:
    """``(text, spans)`` as Discord markdown; ``escape(piece, brackets)`` makes a piece
    of plain text show exactly as written (render.escape with the post's mention rule;
    ``brackets``: square brackets too, as a masked link is near)."""
    spans = _writable(text, fmt.normalised(spans, len(text)))
    brackets = "](" in text or any(s.kind == fmt.LINK for s in spans)
    out: list[str] = []
    line = ""  # the output since the last line break: where a line mark may go
    inside: list[Span] = []

    def put(markup: str) -> None:
        nonlocal line
        out.append(markup)
        line = markup.rsplit("\n", 1)[-1] if "\n" in markup else line + markup

    for closed, opened, piece in fmt.segments(text, spans):
        for span in closed:
            put(_closing(span))
            inside.remove(span)
        for span in opened:
            put(_opening(span, line))
            inside.append(span)
        if not piece:
            continue
        if any(s.kind in fmt.VERBATIM for s in inside):
            put(piece)
            continue
        quoted = any(s.kind in (fmt.QUOTE, fmt.EXPANDABLE_QUOTE) for s in inside)
        lines = piece.split("\n")
        rendered = [escape(part, brackets) for part in lines]
        put(("\n> " if quoted else "\n").join(rendered))
    return "".join(out)


def _writable(text: str, spans: fmt.Spans) -> list[Span]:
    """The spans Discord can show: nothing inside code; code whose content would end its
    fence is left plain (escaped instead); line marks only where a line starts."""
    kept: list[Span] = []
    code: list[Span] = []  # the code kept so far: nothing goes inside it
    for span in spans:
        content = text[span.start : span.end]
        if any(o.start <= span.start and span.end <= o.end for o in code):
            continue
        if span.kind == fmt.PRE and "```" in content:
            continue
        if span.kind == fmt.CODE and ("`" in content or "\n" in content):
            continue
        kept.append(span)
        if span.kind in fmt.VERBATIM:
            code.append(span)
    return kept


_LINE_PREFIXES = re.compile(r"(?:> |#{1,3} |-# |- |\d{1,9}\. )*")


def _opening(span: Span, line: str) -> str:
    # A line mark needs a line of its own: a line break first where one is missing.
    before = "" if _LINE_PREFIXES.fullmatch(line) else "\n"
    if span.kind in (fmt.QUOTE, fmt.EXPANDABLE_QUOTE):
        return before + "> "
    if span.kind == fmt.HEADING:
        level = span.data if span.data in ("1", "2", "3") else "1"
        return before + "#" * int(level) + " "
    if span.kind == fmt.SUBTEXT:
        return before + "-# "
    if span.kind == fmt.LIST_ITEM:
        marker = span.data if re.fullmatch(r"\d{1,9}\.", span.data or "") else "-"
        return before + marker + " "
    if span.kind == fmt.CODE:
        return "`"
    if span.kind == fmt.PRE:
        language = span.data if _SAFE_LANGUAGE.match(span.data or "") else ""
        return before + "```" + language + "\n"
    if span.kind == fmt.LINK:
        return "["
    return _INLINE_MARKS[span.kind]


def _closing(span: Span) -> str:
    if span.kind in _LINE_MARKS:
        return ""
    if span.kind == fmt.CODE:
        return "`"
    if span.kind == fmt.PRE:
        return "\n```"
    if span.kind == fmt.LINK:
        url = span.data.replace(")", "%29").replace(" ", "%20")
        return f"]({url})"
    return _INLINE_MARKS[span.kind]
