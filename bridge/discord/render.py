"""How a relayed post looks on Discord: plain functions, no I/O.

The webhook's username carries the sender and community ("Anna · Leicester");
the content is the text, markers for attachments the bridge does not relay
(yet), the post's notes in italics, and, where the policy shows it, the
original as a quote under an italic line naming its language and translator. Mentions never ping anyone unless the
link's policy allows user mentions; @everyone, @here and roles never ping.
"""
from __future__ import annotations

import re

import discord

from ..models import Attachment

MAX_CONTENT = 2000  # Discord's limit for message content
MAX_USERNAME = 80  # Discord's limit for a webhook's username
QUOTE_CHARS = 100  # how much of a replied-to message the quote shows
FALLBACK_USERNAME = "twinbridge"

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
    sender = _defuse(_one_line(sender))
    community = _defuse(_one_line(community))
    if not sender:
        label = community
    else:
        suffix = f" · {community}" if community else ""
        if len(sender) + len(suffix) > MAX_USERNAME:
            room = MAX_USERNAME - len(suffix) - 1
            sender = sender[:max(room, 1)].rstrip() + "…"
        label = sender + suffix
    if len(label) > MAX_USERNAME:
        label = label[:MAX_USERNAME - 1].rstrip() + "…"
    return label or FALLBACK_USERNAME


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


def _defuse(text: str) -> str:
    return _RESERVED_IN_USERNAME.sub(lambda m: "-".join(g for g in m.groups() if g), text)


def allowed_mentions(allow_user_mentions: bool) -> discord.AllowedMentions:
    """Never everyone/here or roles; users only when the policy allows."""
    return discord.AllowedMentions(everyone=False, users=allow_user_mentions, roles=False, replied_user=False)


def attachment_marker(attachment: Attachment) -> str:
    return _MARKERS.get(attachment.kind, "[attachment]")


def quoted_original(header: str, original: str) -> str:
    """The original under its header: "*Original (Deutsch), translated by …*" and a quote."""
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in original.strip().split("\n"))
    return f"*{discord.utils.escape_markdown(_one_line(header))}*\n{quoted}"


def compose(text: str, attachments: tuple[Attachment, ...] = (), notes: tuple[str, ...] = (),
            original: str = "") -> str:
    """The body of a post: text, then attachment markers, then notes in
    italics, then the quoted original (already composed by :func:`quoted_original`)."""
    lines = []
    if text:
        lines.append(text)
    markers = " ".join(attachment_marker(a) for a in attachments)
    if markers:
        lines.append(markers)
    for note in notes:
        note = _one_line(note)
        if note:
            lines.append(f"*{discord.utils.escape_markdown(note)}*")
    if original:
        lines.append(original)
    return "\n".join(lines)


def split(text: str, limit: int = MAX_CONTENT, first_limit: int | None = None) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters (the first at
    most ``first_limit``), preferring paragraph, then line, then sentence, then
    word boundaries; only an unbroken run longer than a part is cut hard."""
    parts: list[str] = []
    rest = text.strip()
    budget = first_limit if first_limit is not None else limit
    while len(rest) > budget:
        cut = _cut_point(rest, budget)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            parts.append(head)
        budget = limit
    if rest:
        parts.append(rest)
    return parts


def _cut_point(text: str, budget: int) -> int:
    window = text[:budget + 1]  # a boundary right after the budget still counts
    floor = budget // 3  # never leave a tiny first part just to hit a boundary
    for pattern in (r"\n\s*\n", r"\n", r"[.!?…。]['\")\]]*\s", r"\s"):
        ends = [m.end() for m in re.finditer(pattern, window) if floor <= m.end() <= budget + 1]
        if ends:
            return min(ends[-1], budget)
    return budget


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
        return "\n".join(lines[i + 1:])
    return content


def reply_quote(replied_content: str, link: str, chars: int = QUOTE_CHARS) -> str:
    """Webhooks cannot reply, so a relayed reply starts with a short quote of
    the replied-to message and a jump link to it (ending in a newline)."""
    text = strip_reply_quote(replied_content).strip()
    if len(text) > chars:
        cut = text.rfind(" ", 0, chars)
        text = text[:cut if cut > chars // 2 else chars].rstrip() + "…"
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n")) if text else ""
    return f"{quoted}\n{link}\n" if quoted else f"{link}\n"


def fallback_prefix(label: str) -> str:
    """Without a webhook the bot posts itself, naming the sender in bold."""
    return f"**{discord.utils.escape_markdown(label)}:** "
