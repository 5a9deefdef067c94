"""How a relayed post looks on Telegram (parse_mode HTML).

``<b>{label}:</b> {text}``, then each note on its own line in italics, then a
plain marker for each attachment the bridge does not relay yet ("[photo]"),
then, where the policy shows it, the original in a quote block under an
italic line naming its language and the translator.
Everything that came from the other side is escaped, so nothing typed there
can inject markup; its formatting (core/formatting.py) becomes Telegram's tags
(bridge/telegram/formatting.py). A text over Telegram's limit is split at a
paragraph, line, sentence or word boundary into several messages, the label on
the first; a mark the cut falls inside is closed before it and reopened after.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from core import formatting as fmt
from core import text as core_text
from core.announcements import RSVP_CHOICES, AnnouncementView, rsvp_button_data
from core.models import OutboundPost
from core.phrases import original_header, rsvp_labels
from core.text import utf16_len

from .formatting import to_html

# Telegram counts the text after entity parsing (tags do not count) and in
# UTF-16 code units, so an emoji takes two.
TEXT_LIMIT = 4096

_MENTION = re.compile(r"(?<![\w@])@(?=\w)")
# What Telegram would make a tappable bot command ("/forgetme@bot"): tapping it sends
# the command as the reader, so a member could make others erase their data.
_COMMAND = re.compile(r"(?<![\w/<>])/(?=[A-Za-z0-9_])")  # after < or > Telegram sees no command
_WORD_JOINER = "\u2060"


def esc(text: str) -> str:
    return html.escape(text, quote=False)


@dataclass(frozen=True)
class Piece:
    """A run of text on its own line(s): the body, a note (italic) or a marker."""

    text: str
    italic: bool = False
    quote: bool = False
    spans: fmt.Spans = ()  # the body's formatting, relative to ``text``

    def html(self) -> str:
        if self.quote:  # the original: its own marks inside the quote (Telegram cannot nest quotes)
            inner = [s for s in self.spans if s.kind not in (fmt.QUOTE, fmt.EXPANDABLE_QUOTE)]
            return to_html(self.text, (fmt.Span(0, len(self.text), fmt.QUOTE), *inner))
        if self.spans:
            return to_html(self.text, self.spans)
        return f"<i>{esc(self.text)}</i>" if self.italic else esc(self.text)


def defuse_mentions(text: str) -> str:
    """ "@name" pings its owner on Telegram; a word joiner after the @ keeps it
    readable but no longer a mention (the policy's `mentions: none`)."""
    return _MENTION.sub("@" + _WORD_JOINER, text)


def defuse_commands(text: str) -> str:
    """ "/command" is tappable on Telegram; a word joiner after the / keeps it readable, not tappable."""
    return _COMMAND.sub("/" + _WORD_JOINER, text)


def attachment_markers(post: OutboundPost) -> str:
    """Say what was attached, without pretending it was relayed."""
    return " ".join(f"[{attachment.kind}]" for attachment in post.attachments)


def split_text(text: str, first_budget: int, budget: int) -> list[str]:
    """``text`` in chunks: the first fits ``first_budget``, the others ``budget``
    (Telegram's rule: UTF-16 code units, counted before HTML escaping)."""
    return core_text.split_text(text, budget, first_limit=first_budget, measure=utf16_len)


def body_pieces(post: OutboundPost, first_budget: int, budget: int) -> list[Piece]:
    """The post's text in chunks with its formatting, each chunk's marks closed
    within it (a mark a cut falls inside goes on in the next chunk)."""
    return formatted_pieces(post, post.text, post.formatting, first_budget, budget)


def _shown(post: OutboundPost, text: str, spans: fmt.Spans) -> tuple[str, fmt.Spans]:
    """``text`` and its marks as Telegram can show them, commands (and mentions, unless the
    policy allows them) defused, the marks moved with the text."""
    text, spans = fmt.strip(text, spans)
    text, spans = fmt.for_telegram(text, spans)
    defused = defuse_commands(text)
    if not post.allow_mentions:
        defused = defuse_mentions(defused)
    spans, text = fmt.remap(text, defused, spans), defused
    return text, spans


def formatted_pieces(
    post: OutboundPost, text: str, spans: fmt.Spans, first_budget: int, budget: int, *, quote: bool = False
) -> list[Piece]:
    """``text`` with its ``spans`` as Telegram can show them, commands (and mentions, unless
    the policy allows them) defused, in chunks each carrying its own marks."""
    text, spans = _shown(post, text, spans)
    pieces, position = [], 0
    for chunk in split_text(text, first_budget, budget):
        start = text.find(chunk, position)  # chunks are the text's own stretches, in order
        position = start + len(chunk)
        pieces.append(Piece(chunk, quote=quote, spans=fmt.clip(spans, start, position)))
    return pieces


def render_parts(post: OutboundPost, limit: int = TEXT_LIMIT) -> list[str]:
    """The HTML texts of the message(s) showing ``post``, in order."""
    label = post.label.strip()
    prefix_html = f"<b>{esc(label)}:</b> " if label else ""
    prefix_len = utf16_len(f"{label}: ") if label else 0

    pieces: list[Piece] = body_pieces(post, limit - prefix_len, limit)
    tail = [Piece(note.strip(), italic=True) for note in post.notes if note.strip()]
    if markers := attachment_markers(post):
        tail.append(Piece(markers))
    for piece in tail:  # notes are short, but never trust that
        chunks = split_text(piece.text, limit, limit)
        pieces += [Piece(chunk, piece.italic, piece.quote) for chunk in chunks]
    if post.original.strip():  # the original with its own formatting, in a quote
        header = original_header(post.language, post.original_language, post.translated_by)
        pieces += [Piece(chunk, italic=True) for chunk in split_text(header, limit, limit)]
        pieces += formatted_pieces(post, post.original, post.original_formatting, limit, limit, quote=True)

    # Pack pieces into messages, one piece per line, without exceeding the limit.
    parts: list[list[Piece]] = [[]]
    used = prefix_len
    for piece in pieces:
        size = utf16_len(piece.text)
        needed = size + (1 if parts[-1] else 0)
        if parts[-1] and used + needed > limit:
            parts.append([])
            used, needed = 0, size
        parts[-1].append(piece)
        used += needed

    rendered = ["\n".join(piece.html() for piece in part) for part in parts]
    rendered[0] = (prefix_html + rendered[0]).strip() or "[empty message]"
    return rendered


# -- announcements (issue 14) -------------------------------------------------------------
#
# An organiser's notice: the header in bold ("📢 Ankündigung · Leicester"); for an event,
# its title in bold, its time as a date_time entity (clients that know it show the
# reader's own zone; the text is the community's local time), place and link; the body;
# the RSVP totals. A line is never cut unless it alone is over the limit; the body is
# split like any text.


@dataclass(frozen=True)
class Line:
    """One line of an announcement: plain, bold or a time (``unix`` set), after a plain
    ``prefix`` (an emoji)."""

    text: str
    bold: bool = False
    unix: int | None = None
    prefix: str = ""
    italic: bool = False
    quote: bool = False  # a line of the original, where the policy shows it (one quote block)
    spans: fmt.Spans = ()  # the organiser's formatting over ``text`` (a line of the body or original)

    @property
    def shown(self) -> str:
        return self.prefix + self.text

    def html(self) -> str:
        if self.spans:  # a quote line sits in the part's one quote block: no quote of its own
            kept = [s for s in self.spans if not (self.quote and s.kind in (fmt.QUOTE, fmt.EXPANDABLE_QUOTE))]
            return esc(self.prefix) + to_html(self.text, kept)
        if self.unix is not None:
            inner = f'<tg-time unix="{self.unix}" format="wDT">{esc(self.text)}</tg-time>'
        else:
            inner = f"<b>{esc(self.text)}</b>" if self.bold else esc(self.text)
            inner = f"<i>{inner}</i>" if self.italic else inner
        return esc(self.prefix) + inner


def _defused(post: OutboundPost, text: str) -> str:
    text = defuse_commands(text.strip())
    return text if post.allow_mentions else defuse_mentions(text)


def _formatted_lines(post: OutboundPost, text: str, spans: fmt.Spans, *, quote: bool = False) -> list[Line]:
    """``text`` with its formatting as Telegram shows it (lists' markers, headings bold),
    commands and mentions defused, one Line per line (a code block whole), each with the
    marks over it: a mark over several lines is closed at each line's end and reopened."""
    text, spans = _shown(post, text, spans)
    out = []
    for start, end in fmt.lines(text, spans):
        line = text[start:end].rstrip()
        out.append(Line(line, quote=quote, spans=fmt.clip(spans, start, start + len(line))))
    return out if text else []


def announcement_lines(post: OutboundPost, view: AnnouncementView) -> list[Line]:
    """The lines of an announcement post, "" for a blank line between blocks."""
    lines = [Line(view.header.strip(), bold=True)] if view.header.strip() else []
    event = view.event
    if event is not None:
        block = [Line(_defused(post, event.title), bold=True)] if event.title.strip() else []
        when = view.when_local.strip() or datetime.fromtimestamp(event.start, UTC).strftime("%Y-%m-%d %H:%M UTC")
        block.append(Line(when, unix=int(event.start), prefix="🗓 "))
        if event.place.strip():
            block.append(Line(_defused(post, event.place), prefix="📍 "))
        if event.url.strip():
            block.append(Line(event.url.strip(), prefix="🔗 "))
        lines += [Line("")] + block if lines else block
    body = _formatted_lines(post, post.text, post.formatting)
    if body:
        lines += [Line("")] if lines else []
        lines += body  # packed by line, never cut mid-line (a code block is one line)
    lines += [Line(note.strip(), italic=True) for note in post.notes if note.strip()]  # e.g. "not translated"
    original = _formatted_lines(post, post.original, post.original_formatting, quote=True)
    if original:  # the policy shows the original under a translation, as under a member's message
        lines += [Line(original_header(post.language, post.original_language, post.translated_by), italic=True)]
        lines += original
    if view.has_rsvp:
        labels = view.labels or rsvp_labels(view.language)
        counts = " · ".join(f"{labels.get(c, c)}: {int(view.counts.get(c) or 0)}" for c in RSVP_CHOICES)
        lines += [Line(""), Line(counts)]
    return lines


def render_announcement(post: OutboundPost, limit: int = TEXT_LIMIT) -> list[str]:
    """The HTML texts of the message(s) showing an announcement post, in order."""
    view = AnnouncementView.from_dict(post.announcement or {})
    lines: list[Line] = []
    for line in announcement_lines(post, view):
        if utf16_len(line.shown) <= limit:
            lines.append(line)
        else:  # only a line over the whole limit is split, keeping its style and marks
            style = {"bold": line.bold, "italic": line.italic, "quote": line.quote}
            position = 0
            for chunk in split_text(line.shown, limit, limit):
                start = line.shown.find(chunk, position)
                position = start + len(chunk)
                lines.append(
                    Line(chunk, spans=fmt.clip(fmt.shifted(line.spans, len(line.prefix)), start, position), **style)
                )
    parts: list[list[Line]] = [[]]
    used = 0
    for line in lines:
        needed = utf16_len(line.shown) + (1 if parts[-1] else 0)
        if parts[-1] and used + needed > limit:
            parts.append([])
            used, needed = 0, utf16_len(line.shown)
        if not parts[-1] and not line.shown:
            continue  # a blank line does not start a message
        parts[-1].append(line)
        used += needed
    rendered = [_part_html(part) for part in parts]
    return [part for part in rendered if part] or ["📢"]


def _part_html(part: list[Line]) -> str:
    """One message's HTML: a line per line, the original's lines in one quote block."""
    html_lines: list[str] = []
    quoted: list[str] = []
    for line in [*part, None]:
        if line is not None and line.quote:
            quoted.append(line.html())
            continue
        if quoted:
            html_lines.append("<blockquote>" + "\n".join(quoted) + "</blockquote>")
            quoted = []
        if line is not None:
            html_lines.append(line.html())
    return "\n".join(html_lines).strip()


def announcement_keyboard(view: AnnouncementView) -> list[tuple[str, str]]:
    """The RSVP buttons (label, callback data) of an event notice; none otherwise."""
    if not view.has_rsvp:
        return []
    labels = view.labels or rsvp_labels(view.language)
    return [(labels.get(choice, choice), rsvp_button_data(view.id, choice)) for choice in RSVP_CHOICES]
