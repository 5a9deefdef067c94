"""How a relayed post looks on Discord: plain functions, no I/O.

The webhook's username carries the sender and community ("Anna · Leicester");
the content is the text, markers for attachments the bridge does not relay
(yet), the post's notes in italics, and, where the policy shows it, the
original as a quote under an italic line naming its language and translator. Mentions never ping anyone unless the
link's policy allows user mentions; @everyone, @here and roles never ping.

Whatever a member wrote (the text, the original, the quoted reply) is escaped
(:func:`escape`) so Discord shows it exactly as typed: no markdown, heading,
quote, list, masked link, mention, timestamp or custom emoji can be forged.
"""

from __future__ import annotations

import re

import discord

from core import formatting as fmt
from core.announcements import RSVP_CHOICES, AnnouncementView, rsvp_button_data
from core.models import Attachment
from core.phrases import rsvp_labels
from core.names import one_line as _clean_line
from core.names import shown_name
from core.text import split_text

from .formatting import parse as parse_markdown
from .formatting import to_markdown

MAX_CONTENT = 2000  # Discord's limit for message content
MAX_USERNAME = 80  # Discord's limit for a webhook's username
MAX_BUTTON_LABEL = 80  # Discord's limit for a button's label
QUOTE_CHARS = 100  # how much of a replied-to message the quote shows
FALLBACK_USERNAME = "twinbridge"
# What a relayed reply shows when its quote was dropped and nothing else was left.
ERASED_QUOTE = "*(reply to an erased message)*"

# Discord rejects webhook usernames containing these words (50035
# USERNAME_INVALID_CONTAINS); a hyphen keeps the name readable and accepted.
_RESERVED_IN_USERNAME = re.compile(r"(dis)(cord)|(cly)(de)", re.IGNORECASE)
_JUMP_LINK = re.compile(r"^https://(?:\w+\.)?discord(?:app)?\.com/channels/\d+/\d+/\d+$")

_MARKERS = {
    "photo": "[photo]",
    "video": "[video]",
    "audio": "[audio]",
    "voice": "[voice message]",
    "document": "[document]",
    "sticker": "[sticker]",
}


def webhook_username(sender: str, community: str) -> str:
    """The label Discord accepts: "<sender> · <community>", at most 80
    characters (the sender is shortened first so the community stays
    visible), without the words Discord reserves."""
    sender = _defuse(shown_name(sender))
    community = _defuse(shown_name(community))
    if not sender:
        label = community
    else:
        suffix = f" · {community}" if community else ""
        if len(sender) + len(suffix) > MAX_USERNAME:
            room = MAX_USERNAME - len(suffix) - 1
            sender = sender[: max(room, 1)].rstrip() + "…"
        label = sender + suffix
    if len(label) > MAX_USERNAME:
        label = label[: MAX_USERNAME - 1].rstrip() + "…"
    return label or FALLBACK_USERNAME


def _one_line(text: str) -> str:
    return _clean_line(text)


# -- escaping what members wrote ---------------------------------------------------------

# A link as Discord's client recognises it, left as it is (escaping would break it);
# characters that could start markdown end it.
_URL = re.compile(r"https?://[^\s<>\[\]`|*~\\]+")
# Markdown anywhere on a line: emphasis, strike, spoiler, code, and "<" (mentions
# <@id> <@&id> <#id>, timestamps <t:…>, custom emoji <:name:id>, </command:id>).
_INLINE = re.compile(r"[\\*_~|`<]")
# Markdown at the start of a line: headings, "-#" subtext, quotes, list items.
# A long text is split at spaces, so a part may start where a line did not:
# these are escaped after any space as well.
_LINE_START = re.compile(r"(?:(?<=\s)|^)([#>]|[-+](?=\s|#|$))")
_NUMBERED = re.compile(r"(?:(?<=\s)|^)(\d{1,9})([.)])(?=\s|$)")
_MASS_MENTION = re.compile(r"@(?=everyone|here)")
_USER_MENTION = re.compile(r"(<@!?\d{15,21}>)")
_ZWSP = "\u200b"


def escape(text: str, *, allow_user_mentions: bool = False, brackets: bool | None = None) -> str:
    """``text`` as Discord markdown that shows exactly ``text`` (links stay links).

    Every character Discord would read as markdown gets a backslash (Discord
    shows "\\X" as "X" for any punctuation X); "@everyone"/"@here" get a
    zero-width space so they show but are no longer mentions, whatever
    ``allowed_mentions`` says. Square brackets are escaped when the text has a
    "](" (a masked link needs one; "[de]" alone stays readable in the raw
    content). ``allow_user_mentions`` (the policy's `mentions: allow`) leaves
    <@id> user mentions working. ``brackets`` True escapes them whatever the text
    (a piece of a formatted text next to a masked link)."""
    brackets = "](" in text if brackets is None else brackets
    out, position = [], 0
    for url in _URL.finditer(text):
        out += [_escape_plain(text[position : url.start()], brackets, allow_user_mentions), url.group()]
        position = url.end()
    out.append(_escape_plain(text[position:], brackets, allow_user_mentions))
    return "".join(out)


def _escape_plain(text: str, brackets: bool, allow_user_mentions: bool) -> str:
    # With user mentions allowed, they are set aside (the odd items of the split).
    pieces = _USER_MENTION.split(text) if allow_user_mentions else [text]
    for i in range(0, len(pieces), 2):
        piece = _INLINE.sub(lambda m: "\\" + m.group(), pieces[i])
        if brackets:
            piece = piece.replace("[", "\\[").replace("]", "\\]")
        piece = _NUMBERED.sub(lambda m: m.group(1) + "\\" + m.group(2), piece)
        piece = _LINE_START.sub(lambda m: "\\" + m.group(1), piece)
        pieces[i] = _MASS_MENTION.sub("@" + _ZWSP, piece)
    return "".join(pieces)


_UNESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")


def plain_text(content: str) -> str:
    """What Discord shows for ``content`` with its markdown escapes resolved (the
    text of a relayed copy, to be quoted and escaped again)."""
    return _UNESCAPE.sub(r"\1", content).replace(_ZWSP, "")


def _defuse(text: str) -> str:
    return _RESERVED_IN_USERNAME.sub(lambda m: "-".join(g for g in m.groups() if g), text)


def allowed_mentions(allow_user_mentions: bool) -> discord.AllowedMentions:
    """Never everyone/here or roles; users only when the policy allows."""
    return discord.AllowedMentions(everyone=False, users=allow_user_mentions, roles=False, replied_user=False)


def attachment_marker(attachment: Attachment) -> str:
    return _MARKERS.get(attachment.kind, "[attachment]")


def original_heading(header: str) -> str:
    """ "*Original (Deutsch), translated by …*": the italic line over a quoted original."""
    return f"*{escape(_one_line(header))}*"


def quoted_original(header: str, original: str, spans: fmt.Spans = (), *, allow_user_mentions: bool = False) -> str:
    """The original under its header: "*Original (Deutsch), translated by …*" and a quote.
    With its formatting (``spans``), the quote is ">>> ", which holds everything to the end
    of the message (code blocks, headings and lists included): it must come last."""
    return quoted_original_parts(header, original, spans, allow_user_mentions=allow_user_mentions, limit=0)[0]


def quoted_original_parts(
    header: str,
    original: str,
    spans: fmt.Spans = (),
    *,
    allow_user_mentions: bool = False,
    limit: int = MAX_CONTENT,
) -> list[str]:
    """:func:`quoted_original` in messages of at most ``limit`` characters (0: one), each
    a quote of its own; the original's marks a cut falls inside are closed and reopened."""
    head = original_heading(header)
    text, spans = fmt.strip(original, spans)
    inner = tuple(s for s in spans if s.kind not in (fmt.QUOTE, fmt.EXPANDABLE_QUOTE))  # it is quoted already
    if not inner:
        whole = f"{head}\n{_quote(escape(text, allow_user_mentions=allow_user_mentions))}"
        return [whole] if not limit or len(whole) <= limit else split(whole, limit)
    if not limit:
        return [f"{head}\n>>> {formatted(text, inner, allow_user_mentions=allow_user_mentions)}"]
    first = max(limit - len(head) - 5, 1)
    bodies = formatted_parts(text, inner, limit - 4, first, allow_user_mentions=allow_user_mentions)
    return [f"{head}\n>>> {bodies[0]}", *(f">>> {body}" for body in bodies[1:])]


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n"))


def compose(
    text: str,
    attachments: tuple[Attachment, ...] = (),
    notes: tuple[str, ...] = (),
    original: str = "",
    *,
    allow_user_mentions: bool = False,
) -> str:
    """The body of a post: text (escaped), then attachment markers, then notes in
    italics, then the quoted original (already composed by :func:`quoted_original`)."""
    lines = []
    if text:
        lines.append(escape(text, allow_user_mentions=allow_user_mentions))
    markers = " ".join(attachment_marker(a) for a in attachments)
    if markers:
        lines.append(markers)
    for note in notes:
        note = _one_line(note)
        if note:
            lines.append(f"*{escape(note)}*")
    if original:
        lines.append(original)
    return "\n".join(lines)


def formatted(text: str, spans: fmt.Spans, *, allow_user_mentions: bool = False) -> str:
    """``text`` with its formatting as Discord markdown, all else escaped (:func:`escape`)."""
    return to_markdown(
        text,
        spans,
        lambda piece, brackets: escape(piece, allow_user_mentions=allow_user_mentions, brackets=brackets),
    )


def formatted_parts(
    text: str,
    spans: fmt.Spans,
    limit: int = MAX_CONTENT,
    first_limit: int | None = None,
    *,
    allow_user_mentions: bool = False,
) -> list[str]:
    """The formatted ``text`` in parts of at most ``limit`` characters of markdown (the
    first at most ``first_limit``), cut in the plain text at paragraph, line, sentence
    or word boundaries, each part's marks closed within it and reopened in the next."""
    text, spans = fmt.strip(text, spans)
    first = limit if first_limit is None else first_limit
    whole = formatted(text, spans, allow_user_mentions=allow_user_mentions)
    if len(whole) <= first or not text:
        return [whole] if whole else []
    # Marks and escapes make the markdown longer than the text: cut the text shorter, by as much
    # as the markdown outgrew the text so far, until each part fits.
    scale = min(1.0, len(text) / len(whole))
    for _ in range(12):
        parts, position = [], 0
        chunks = split_text(text, max(int(limit * scale), 1), first_limit=max(int(first * scale), 1), min_fill=1 / 3)
        for chunk in chunks:
            start = text.find(chunk, position)
            position = start + len(chunk)
            parts.append(formatted(chunk, fmt.clip(spans, start, position), allow_user_mentions=allow_user_mentions))
        fill = max(len(part) / (first if i == 0 else limit) for i, part in enumerate(parts))
        if fill <= 1:
            return parts
        scale = scale * min(0.95, 0.98 / fill)
    return parts  # unreachable in practice: a 1-character part always fits


def compose_parts(
    text: str,
    spans: fmt.Spans,
    attachments: tuple[Attachment, ...] = (),
    notes: tuple[str, ...] = (),
    original: str = "",
    *,
    allow_user_mentions: bool = False,
    limit: int = MAX_CONTENT,
    first_limit: int | None = None,
    original_parts: tuple[str, ...] = (),
) -> list[str]:
    """:func:`compose` then :func:`split`, for a text with formatting: its parts first
    (:func:`formatted_parts`), then the markers, notes and original, packed after it.
    ``original_parts`` (:func:`quoted_original_parts`) come last, the first of them packed
    into the last part where it fits."""
    parts = _compose_parts(
        text,
        spans,
        attachments,
        notes,
        original,
        allow_user_mentions=allow_user_mentions,
        limit=limit,
        first_limit=first_limit,
    )
    for index, extra in enumerate(original_parts):
        room = (first_limit if len(parts) == 1 and first_limit is not None else limit) if parts else 0
        if index == 0 and parts and len(parts[-1]) + 1 + len(extra) <= room:
            parts[-1] = parts[-1] + "\n" + extra
        else:
            parts.append(extra)
    return parts


def _compose_parts(
    text: str,
    spans: fmt.Spans,
    attachments: tuple[Attachment, ...],
    notes: tuple[str, ...],
    original: str,
    *,
    allow_user_mentions: bool,
    limit: int,
    first_limit: int | None,
) -> list[str]:
    if not spans:
        body = compose(text, attachments, notes, original, allow_user_mentions=allow_user_mentions)
        return split(body, limit, first_limit=first_limit) if body.strip() else []
    parts = formatted_parts(text, spans, limit, first_limit, allow_user_mentions=allow_user_mentions)
    tail = compose("", attachments, notes, original, allow_user_mentions=allow_user_mentions)
    if tail.strip():
        rest = split(tail, limit)
        room = (first_limit if len(parts) == 1 and first_limit is not None else limit) if parts else 0
        if parts and len(parts[-1]) + 1 + len(rest[0]) <= room:
            parts[-1] = parts[-1] + "\n" + rest.pop(0)
        parts += rest
    return parts


def split(text: str, limit: int = MAX_CONTENT, first_limit: int | None = None) -> list[str]:
    """Split the (escaped) ``text`` into parts of at most ``limit`` characters
    (the first at most ``first_limit``) at paragraph, line, sentence or word
    boundaries, a part at least a third full; a hard cut never parts an
    escaping backslash from what it escapes."""
    return split_text(text, limit, first_limit=first_limit, min_fill=1 / 3, markdown_escapes=True)


def jump_url(guild_id: int | str, channel_id: int | str, message_id: int | str) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def strip_reply_quote(content: str) -> str:
    """A relayed copy that is itself a reply starts with our quote block and
    jump link; quoting it again would nest quotes, so drop them."""
    lines = content.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i and i < len(lines) and _JUMP_LINK.match(lines[i].strip()):
        return "\n".join(lines[i + 1 :])
    return content


def reply_quote(replied_content: str, link: str, chars: int = QUOTE_CHARS) -> str:
    """Webhooks cannot reply, so a relayed reply starts with a short quote of
    the replied-to message and a jump link to it (ending in a newline). The
    quote shows the replied-to text as Discord shows it, without its formatting
    (read as markdown, then escaped, so a cut cannot leave a code block or
    spoiler open)."""
    kept = strip_reply_quote(replied_content)
    parsed = parse_markdown(kept)  # what the message shows, its formatting left out
    text = (plain_text(kept) if parsed.failed else parsed.text.replace(_ZWSP, "")).strip()
    if len(text) > chars:
        cut = text.rfind(" ", 0, chars)
        text = text[: cut if cut > chars // 2 else chars].rstrip() + "…"
    quoted = _quote(escape(text)) if text else ""
    return f"{quoted}\n{link}\n" if quoted else f"{link}\n"


def fallback_prefix(label: str) -> str:
    """Without a webhook the bot posts itself, naming the sender in bold."""
    return f"**{escape(_one_line(label))}:** "


# -- announcements (issue 14) -------------------------------------------------------------
#
# Posted by the bot itself (not the webhook), so it can carry buttons and be pinned: the
# header in bold; for an event, its title in bold, its time as Discord timestamps (each
# reader sees their own zone, and how far off it is) and on the next line the community's
# own local time, place and link; the body; the RSVP totals. What the organiser wrote is
# escaped like any member's text.

_PLAIN_URL = re.compile(r"^https?://[^\s<>]+$")


def _bold(text: str) -> str:
    return f"**{escape(_one_line(text))}**"


def formatted_lines(
    text: str,
    spans: fmt.Spans = (),
    *,
    quote: bool = False,
    allow_user_mentions: bool = False,
    limit: int = MAX_CONTENT,
) -> list[str]:
    """``text`` with its formatting as Discord markdown, a line at a time (a code block is
    one), each line's marks closed within it and reopened on the next; a line over
    ``limit`` is cut the same way (:func:`formatted_parts`). ``quote``: every line quoted
    ("> "; a code block cannot be, so its text shows plain, escaped, inside the quote)."""
    text, spans = fmt.strip(text, spans)
    if quote:
        spans = tuple(s for s in spans if s.kind not in (fmt.QUOTE, fmt.EXPANDABLE_QUOTE, fmt.PRE))
    out: list[str] = []
    for start, end in fmt.lines(text, spans):
        line = text[start:end].rstrip()
        line_spans = fmt.clip(spans, start, start + len(line))
        if quote:
            if not line.strip():
                out.append(">")
                continue
            line_spans = (fmt.Span(0, len(line), fmt.QUOTE), *line_spans)
        shown = formatted(line, line_spans, allow_user_mentions=allow_user_mentions)
        if len(shown) <= limit:
            out.append(shown)
        else:
            out += formatted_parts(line, line_spans, limit, allow_user_mentions=allow_user_mentions)
    return out if text else []


def announcement_lines(
    view: AnnouncementView,
    body: str,
    *,
    notes: tuple[str, ...] = (),
    original: str = "",
    allow_user_mentions: bool = False,
    spans: fmt.Spans = (),
    limit: int = MAX_CONTENT,
) -> list[str]:
    """The lines of an announcement's content (Discord markdown), "" between blocks; the
    body with the organiser's formatting (``spans``), a line at a time (:func:`formatted_lines`).
    ``original``: the quoted original where the policy shows it (:func:`quoted_original`,
    or its formatted lines joined)."""
    lines = [_bold(view.header)] if view.header.strip() else []
    event = view.event
    if event is not None:
        block = [_bold(event.title)] if event.title.strip() else []
        unix = int(event.start)
        block.append(f"🗓 <t:{unix}:F> (<t:{unix}:R>)")
        if view.when_local.strip():
            block.append(f"🕰 {escape(_one_line(view.when_local))}")
        if event.place.strip():
            block.append(f"📍 {escape(_one_line(event.place))}")
        url = event.url.strip()
        if url:
            # <url> keeps Discord from unfurling a preview under the notice.
            block.append(f"🔗 <{url}>" if _PLAIN_URL.match(url) else f"🔗 {escape(url)}")
        lines += [""] + block if lines else block
    text = formatted_lines(body, spans, allow_user_mentions=allow_user_mentions, limit=limit)
    if text:
        lines += [""] if lines else []
        lines += text
    lines += [f"*{escape(_one_line(note))}*" for note in notes if _one_line(note)]  # e.g. "not translated"
    if original.strip():
        lines += original.strip().split("\n")
    if view.has_rsvp:
        lines += ["", escape(counts_line(view))]
    return lines


def counts_line(view: AnnouncementView) -> str:
    labels = view.labels or rsvp_labels(view.language)
    return " · ".join(f"{labels.get(c, c)}: {int(view.counts.get(c) or 0)}" for c in RSVP_CHOICES)


def render_announcement(
    view: AnnouncementView,
    body: str,
    *,
    notes: tuple[str, ...] = (),
    original: str = "",
    allow_user_mentions: bool = False,
    limit: int = MAX_CONTENT,
    spans: fmt.Spans = (),
) -> list[str]:
    """The content of the message(s) showing an announcement, each at most ``limit``:
    whole lines packed; only a line over the limit alone is split (the body's formatted
    lines are cut already, their marks closed and reopened)."""
    lines: list[str] = []
    shown = announcement_lines(
        view,
        body,
        notes=notes,
        original=original,
        allow_user_mentions=allow_user_mentions,
        spans=spans,
        limit=limit,
    )
    for line in shown:
        lines += split(line, limit) if len(line) > limit else [line]
    parts: list[list[str]] = [[]]
    used = 0
    for line in lines:
        needed = len(line) + (1 if parts[-1] else 0)
        if parts[-1] and used + needed > limit:
            parts.append([])
            used, needed = 0, len(line)
        if not parts[-1] and not line:
            continue  # a blank line does not start a message
        parts[-1].append(line)
        used += needed
    rendered = ["\n".join(part).strip() for part in parts]
    return [part for part in rendered if part] or ["📢"]


def rsvp_buttons(view: AnnouncementView) -> list[tuple[str, str]]:
    """The RSVP buttons (label, custom_id) of an event notice; none otherwise."""
    if not view.has_rsvp:
        return []
    labels = view.labels or rsvp_labels(view.language)
    return [(labels.get(c, c)[:MAX_BUTTON_LABEL], rsvp_button_data(view.id, c)) for c in RSVP_CHOICES]


def shown(username: str | None, content: str) -> str:
    """What a message shows, as a delivery intent's digest covers it: the webhook
    username (None for the bot's own posts) and the content, as Discord returns it."""
    return f"{username if username is not None else ''}\n{content.strip()}"
