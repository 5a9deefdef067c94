"""discord.py objects -> the bridge's message model. Plain functions, no I/O.

What is skipped on purpose, each with a reason the cog counts as
``discord.skipped.<reason>``:

- ``own_message``: our bot user (fallback posts made without a webhook);
- ``webhook``: any webhook message, which includes every post the bridge
  makes through its channel webhook (the gateway echoes them back);
- ``bot``: other bots;
- ``system``: joins, pins, "thread created" and other non-member messages;
- ``empty``: nothing a partner community could read (a poll, a sticker and a
  forwarded message's snapshot are something);
- ``not_edited``: a MESSAGE_UPDATE that is not an edit (e.g. a link preview
  being attached), which would otherwise relay an unchanged text again.
"""

from __future__ import annotations

import re

from collections.abc import Callable, Collection
from dataclasses import replace

import discord

from core.chat_commands import parse as parse_command
from core import formatting as fmt
from core.models import Attachment, Author, EventKind, ForwardOrigin, MessageRef, PlatformEvent, Shared

from .formatting import parse as parse_markdown

PLATFORM = "discord"

# Messages a member wrote; everything else is a system message.
MEMBER_MESSAGE_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})

UNKNOWN_AUTHOR = Author(id="", display_name="")


def skip_reason(message: discord.Message, own_ids: Collection[int]) -> str | None:
    """Why ``message`` must not cross the bridge, or None if it may."""
    if message.author.id in own_ids:
        return "own_message"
    if message.webhook_id is not None:
        return "webhook"
    if message.author.bot:
        return "bot"
    if message.type not in MEMBER_MESSAGE_TYPES or message.author.system:
        return "system"
    something = message.content.strip() or message.attachments or message.stickers or message.poll
    if not something and not any(_snapshot_has_content(s) for s in message.message_snapshots):
        return "empty"
    if parse_command(message.content) is not None:
        return "command"  # answered by the commands cog, never relayed
    return None


def edit_skip_reason(payload: discord.RawMessageUpdateEvent, own_ids: Collection[int]) -> str | None:
    message = getattr(payload, "message", None)
    if message is None or "author" not in payload.data:
        return "partial_update"
    reason = skip_reason(message, own_ids)
    if reason is None and message.edited_at is None:
        return "not_edited"
    return reason


def delete_skip_reason(payload: discord.RawMessageDeleteEvent, own_ids: Collection[int]) -> str | None:
    """Deletes carry no author; when discord.py still has the message cached,
    the author-based reasons apply (not "empty": an empty message was never
    relayed, and its delete is harmless)."""
    return deleted_skip_reason(payload.cached_message, own_ids)


def deleted_skip_reason(cached: discord.Message | None, own_ids: Collection[int]) -> str | None:
    """:func:`delete_skip_reason` for a deleted message discord.py may have cached."""
    if cached is None:
        return None
    reason = skip_reason(cached, own_ids)
    return reason if reason in ("own_message", "webhook", "bot", "system") else None


def author_of(user: discord.abc.User) -> Author:
    display_name = user.global_name or user.name
    return Author(
        id=str(user.id),
        display_name=display_name,
        first_name=display_name.split()[0] if display_name.split() else None,
        username=user.name,
        is_bot=bool(user.bot),
    )


def attachment_kind(content_type: str | None, *, voice: bool = False) -> str:
    """The model's kind for a Discord attachment: from its content type (a GIF is an
    animation), "voice" for the audio of a voice message."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    major = mime.split("/", 1)[0]
    if voice and major == "audio":
        return "voice"
    if mime == "image/gif":
        return "animation"
    return {"image": "photo", "video": "video", "audio": "audio"}.get(major, "document")


def _snapshot_has_content(snapshot: discord.MessageSnapshot) -> bool:
    return bool(snapshot.content.strip() or snapshot.attachments or snapshot.stickers)


def home_channel_id(channel) -> int:
    """The channel a link names for where a message was written: a thread's (or a forum
    post's) parent channel, else the channel itself. Threads are relayed into their
    parent's link, with the thread's name (see :func:`event_from_message`)."""
    if isinstance(channel, discord.Thread):
        return int(channel.parent_id)
    return int(channel.id)


def thread_id(channel) -> str:
    """The thread (or forum post) a message was written in, "" for the channel itself."""
    return str(channel.id) if isinstance(channel, discord.Thread) else ""


def thread_name(channel) -> str:
    return channel.name if isinstance(channel, discord.Thread) and channel.name else ""


SPOILER_PREFIX = "SPOILER_"


def _dimension(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _attachments(message: discord.Message | discord.MessageSnapshot) -> tuple[Attachment, ...]:
    """Every attachment of the message (several: one album). A voice message is the message
    flag IS_VOICE_MESSAGE with an audio attachment carrying duration_secs and waveform; a
    spoiler is the SPOILER_ file name prefix or the attachment's IS_SPOILER flag (the
    prefix is dropped from the name: the flag travels as ``spoiler``)."""
    voice = bool(message.flags.voice)
    found = []
    for a in message.attachments:
        name = a.filename or ""
        spoiler = a.is_spoiler()
        if name.startswith(SPOILER_PREFIX):
            name = name[len(SPOILER_PREFIX) :] or name
        duration = a.duration if isinstance(a.duration, int | float) and a.duration >= 0 else None
        found.append(
            Attachment(
                kind=attachment_kind(a.content_type, voice=voice and a.is_voice_message()),
                file_id=str(a.id),
                file_name=name or None,
                mime_type=a.content_type,
                size=a.size if isinstance(a.size, int) and a.size >= 0 else None,
                url=a.url,
                width=_dimension(a.width),
                height=_dimension(a.height),
                duration=float(duration) if duration is not None else None,
                spoiler=spoiler,
            )
        )
    found += [sticker_image(sticker) for sticker in message.stickers if sticker.format in _STICKER_PICTURES]
    return tuple(found)


# A sticker's picture crosses as an image (issue 15): PNG and APNG (its first frame shows),
# GIF; a Lottie sticker (vector animation) has no picture to send: described only.
_STICKER_PICTURES = {
    discord.StickerFormatType.png: ("png", "image/png"),
    discord.StickerFormatType.apng: ("png", "image/png"),
    discord.StickerFormatType.gif: ("gif", "image/gif"),
}
_UNSAFE_NAME = re.compile(r"[^\w .-]+")


def sticker_image(sticker) -> Attachment:
    """The picture of a sticker, fetched by its id from Discord's media host
    (bridge/discord/media_fetching.py builds the address: the payload carries none)."""
    extension, mime = _STICKER_PICTURES[sticker.format]
    name = _UNSAFE_NAME.sub("", sticker.name or "").strip()[:60] or "sticker"
    return Attachment("sticker", str(sticker.id), f"{name}.{extension}", mime)


def _text(message: discord.Message, on_unparsed: Callable[[], None] | None = None) -> tuple[str, fmt.Spans]:
    """What the message shows, as plain text (its markdown read: core/formatting.py) and the
    formatting over it: in a thread, the thread's name first ("🧵 Name"); the content; a
    forwarded message's content (its snapshot); a poll's question and answers (the member's
    words, translated like text; the poll itself is described, not recreated)."""
    lines: list[str] = []
    spans: list[fmt.Span] = []
    offset = 0

    def add(text: str, line_spans: fmt.Spans = ()) -> None:
        nonlocal offset
        lines.append(text)
        spans.extend(fmt.shifted(line_spans, offset))
        offset += len(text) + 1  # and the newline

    for content in (message.content, *(snapshot.content for snapshot in message.message_snapshots)):
        if not content:
            continue
        parsed = parse_markdown(content)
        if parsed.failed and on_unparsed is not None:
            on_unparsed()
        if parsed.text:
            add(parsed.text, parsed.spans)
    poll = message.poll
    if poll is not None:
        add(str(poll.question or ""))
        for answer in poll.answers:
            add(f"• {answer.text}")
    if lines and (name := thread_name(message.channel)):
        head = f"🧵 {name}\n"
        return head + "\n".join(lines), fmt.shifted(spans, len(head))
    return "\n".join(lines), tuple(spans)


def shared_of(message: discord.Message) -> tuple[Shared, ...]:
    """Stickers (by name: Discord stickers have no emoji a client shows) and polls; a
    forwarded message's stickers too. Locations do not exist on Discord."""
    stickers = [*message.stickers, *(s for snap in message.message_snapshots for s in snap.stickers)]
    shared = [Shared("sticker", title=sticker.name) for sticker in stickers]
    if message.poll is not None:
        shared.append(Shared("poll"))
    return tuple(shared)


def _reply_to(message: discord.Message) -> MessageRef | None:
    ref = message.reference
    if ref is None or ref.message_id is None:
        return None
    if getattr(ref, "type", discord.MessageReferenceType.reply) is not discord.MessageReferenceType.reply:
        return None  # a forward quotes another message; it does not answer it
    if ref.channel_id != message.channel.id:
        return None
    return MessageRef(PLATFORM, str(home_channel_id(message.channel)), str(ref.message_id))


def forward_origin_of(message: discord.Message) -> ForwardOrigin | None:
    """A forwarded message (message_reference type 1, FORWARD, with message_snapshots):
    Discord names no author of the original, only its channel, which is shown by name
    when it is a channel of this server the bot knows (``#news``); else "forwarded" alone."""
    ref = message.reference
    if ref is None or getattr(ref, "type", None) is not discord.MessageReferenceType.forward:
        return None
    snapshots = getattr(message, "message_snapshots", None) or ()
    date = snapshots[0].created_at.timestamp() if snapshots and snapshots[0].created_at else 0.0
    guild = message.guild
    channel = guild.get_channel(ref.channel_id) if guild is not None and ref.channel_id else None
    if channel is None or not getattr(channel, "name", None):
        return ForwardOrigin("message", date=date)
    # A channel's name is the server's, not a member's: shown as a public channel's title.
    return ForwardOrigin("channel", f"#{channel.name}", public=True, date=date)


def revision_of(message: discord.Message) -> int:
    """Edits are numbered by their edit time (ms), so a redelivered
    MESSAGE_UPDATE is the same event and a new edit a new one."""
    return int(message.edited_at.timestamp() * 1000) if message.edited_at else 0


def event_from_message(
    message: discord.Message, kind: EventKind = EventKind.NEW, on_unparsed: Callable[[], None] | None = None
) -> PlatformEvent | None:
    """The event for a member's message (NEW or EDIT); None when there is
    nothing to relay. Call :func:`skip_reason` first. ``on_unparsed`` is called when
    the markdown could not be read (the text then crosses as typed, unformatted)."""
    text, formatting = _text(message, on_unparsed)
    attachments = _attachments(message) + tuple(a for snap in message.message_snapshots for a in _attachments(snap))
    shared = shared_of(message)
    if not text.strip() and not attachments and not shared:
        return None
    edited = kind is EventKind.EDIT and message.edited_at is not None
    return PlatformEvent(
        kind=kind,
        source=MessageRef(PLATFORM, str(home_channel_id(message.channel)), str(message.id)),
        author=author_of(message.author),
        text=text,
        reply_to=_reply_to(message),
        attachments=attachments,
        timestamp=(message.edited_at if edited else message.created_at).timestamp(),
        revision=revision_of(message) if kind is EventKind.EDIT else 0,
        formatting=formatting,
        shared=shared,
        forwarded_from=forward_origin_of(message),
        thread=thread_id(message.channel),
    )


def event_from_raw_edit(
    payload: discord.RawMessageUpdateEvent, on_unparsed: Callable[[], None] | None = None
) -> PlatformEvent | None:
    """An EDIT event from MESSAGE_UPDATE (which carries the whole message).
    Call :func:`edit_skip_reason` first."""
    return event_from_message(payload.message, EventKind.EDIT, on_unparsed)


def event_from_raw_delete(
    payload: discord.RawMessageDeleteEvent, *, now: float, home_id: int | None = None
) -> PlatformEvent:
    """A DELETE event; MESSAGE_DELETE says only which message, not whose. ``home_id``:
    the linked channel, when the message was in one of its threads."""
    event = deleted_event(home_id or payload.channel_id, payload.message_id, payload.cached_message, now=now)
    if home_id and home_id != payload.channel_id:  # written in a thread of the linked channel
        return replace(event, thread=str(payload.channel_id))
    return event


def deleted_event(
    channel_id: int, message_id: int, cached: discord.Message | None = None, *, now: float
) -> PlatformEvent:
    """A DELETE event for one message (MESSAGE_DELETE, each of a MESSAGE_DELETE_BULK, or a
    message found gone when a new session reconciles), by its author when known."""
    return PlatformEvent(
        kind=EventKind.DELETE,
        source=MessageRef(PLATFORM, str(channel_id), str(message_id)),
        author=author_of(cached.author) if cached is not None else UNKNOWN_AUTHOR,
        timestamp=now,
    )
