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

from core.models import Attachment
from core.names import one_line as _clean_line
from core.names import shown_name
from core.text import split_text

MAX_CONTENT = 2000  # Discord's limit for message content
MAX_USERNAME = 80  # Discord's limit for a webhook's username
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


def escape(text: str, *, allow_user_mentions: bool = False) -> str:
    """``text`` as Discord markdown that shows exactly ``text`` (links stay links).

    Every character Discord would read as markdown gets a backslash (Discord
    shows "\\X" as "X" for any punctuation X); "@everyone"/"@here" get a
    zero-width space so they show but are no longer mentions, whatever
    ``allowed_mentions`` says. Square brackets are escaped when the text has a
    "](" (a masked link needs one; "[de]" alone stays readable in the raw
    content). ``allow_user_mentions`` (the policy's `mentions: allow`) leaves
    <@id> user mentions working."""
    brackets = "](" in text
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


def quoted_original(header: str, original: str, *, allow_user_mentions: bool = False) -> str:
    """The original under its header: "*Original (Deutsch), translated by …*" and a quote."""
    return f"*{escape(_one_line(header))}*\n{_quote(escape(original.strip(), allow_user_mentions=allow_user_mentions))}"


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
    quote shows the replied-to text as plain text (its markdown escaped, also
    where the cut would have left a code block or spoiler open)."""
    text = plain_text(strip_reply_quote(replied_content)).strip()
    if len(text) > chars:
        cut = text.rfind(" ", 0, chars)
        text = text[: cut if cut > chars // 2 else chars].rstrip() + "…"
    quoted = _quote(escape(text)) if text else ""
    return f"{quoted}\n{link}\n" if quoted else f"{link}\n"


def fallback_prefix(label: str) -> str:
    """Without a webhook the bot posts itself, naming the sender in bold."""
    return f"**{escape(_one_line(label))}:** "
