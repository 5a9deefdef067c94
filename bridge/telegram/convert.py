"""Telegram messages -> the bridge's message model, as plain functions.

``skip_reason`` says why a message is not relayed (the reason is counted as
``telegram.skipped.<reason>``); ``event_from_message`` builds the
:class:`~core.models.PlatformEvent` for everything else.
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram.enums import MessageEntityType
from aiogram.types import Message

from core import formatting as fmt
from core.models import Attachment, Author, EventKind, ForwardOrigin, MessageRef, PlatformEvent, Shared

from .formatting import read_entities

PLATFORM = "telegram"

# Things that happened to the chat rather than things a member said.
SERVICE_FIELDS = (
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "channel_chat_created",
    "message_auto_delete_timer_changed",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "pinned_message",
    "chat_owner_left",
    "chat_owner_changed",
    "invoice",
    "successful_payment",
    "refunded_payment",
    "users_shared",
    "chat_shared",
    "user_shared",
    "gift",
    "unique_gift",
    "gift_upgrade_sent",
    "connected_website",
    "write_access_allowed",
    "passport_data",
    "proximity_alert_triggered",
    "boost_added",
    "chat_background_set",
    "checklist_tasks_done",
    "checklist_tasks_added",
    "direct_message_price_changed",
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
    "general_forum_topic_hidden",
    "general_forum_topic_unhidden",
    "giveaway_created",
    "giveaway_completed",
    "giveaway_winners",
    "paid_message_price_changed",
    "video_chat_scheduled",
    "video_chat_started",
    "video_chat_ended",
    "video_chat_participants_invited",
    "web_app_data",
    "suggested_post_approved",
    "suggested_post_approval_failed",
    "suggested_post_declined",
    "suggested_post_paid",
    "suggested_post_refunded",
)
# Content the bridge cannot show: it crosses as a short description naming the kind
# (Shared "other"), with the message's text or caption, if any.
UNSUPPORTED_FIELDS = (
    "game",
    "story",
    "checklist",
    "paid_media",
    "giveaway",
    "live_photo",
)

# User id Telegram shows as the sender of an anonymous group admin's message;
# the admin is a person, the chat (sender_chat) is the author shown.
GROUP_ANONYMOUS_BOT_ID = 1087968824
# "Telegram" itself, the sender of automatic forwards from a linked channel.
TELEGRAM_SERVICE_USER_ID = 777000


def _has(message: Message, name: str) -> bool:
    value = getattr(message, name, None)
    return value is not None and value is not False and value != []


def _speaks_for_chat(message: Message) -> bool:
    """Sent on behalf of a chat (anonymous admin, linked channel): a person wrote it."""
    return message.sender_chat is not None and (
        message.from_user is None or message.from_user.id in (GROUP_ANONYMOUS_BOT_ID, TELEGRAM_SERVICE_USER_ID)
    )


def _is_command(message: Message) -> bool:
    return any(entity.type == MessageEntityType.BOT_COMMAND and entity.offset == 0 for entity in message.entities or ())


def skip_reason(message: Message) -> str | None:
    """Why ``message`` is not relayed, or None when it is."""
    if any(_has(message, name) for name in SERVICE_FIELDS):
        return "service"
    # A member's message sent through an inline bot (via_bot) is the member's: from_user
    # is the member. A bot's own message is not relayed.
    if message.from_user is not None and message.from_user.is_bot and not _speaks_for_chat(message):
        return "from_bot"
    if message.from_user is None and message.sender_chat is None:
        return "no_author"
    if _is_command(message):
        return "command"
    if message.edit_date is not None and message.location is not None and message.location.live_period:
        return "live_location_update"  # a live location moving: the first position was described once
    if not (message.text or message.caption or attachments_of(message) or shared_of(message)):
        return "empty"
    return None


def shared_of(message: Message) -> tuple[Shared, ...]:
    """What the message posts that is neither text nor a file (core.models.Shared)."""
    if message.sticker is not None:
        return (Shared("sticker", emoji=message.sticker.emoji or ""),)
    if message.poll is not None:
        return (Shared("poll"),)
    if message.dice is not None:
        return (Shared("dice", emoji=message.dice.emoji, value=message.dice.value),)
    if message.venue is not None:  # a venue carries a location too: one line for both
        venue = message.venue
        where = venue.location
        return (
            Shared(
                "venue", latitude=where.latitude, longitude=where.longitude, title=venue.title, address=venue.address
            ),
        )
    if message.location is not None:
        where = message.location
        kind = "live_location" if where.live_period else "location"
        return (Shared(kind, latitude=where.latitude, longitude=where.longitude),)
    if message.contact is not None:
        contact = message.contact
        name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
        return (Shared("contact", title=name, phone=contact.phone_number),)
    return tuple(Shared("other", title=name) for name in UNSUPPORTED_FIELDS if _has(message, name))


def poll_text(message: Message) -> str:
    """A poll's question and options, one per line: the member's words, translated like text."""
    poll = message.poll
    if poll is None:
        return ""
    return "\n".join([poll.question, *(f"• {option.text}" for option in poll.options)])


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """What the message carries, each kind as itself (issue 15): the destination sends a
    photo as a photo, a GIF as an animation, a voice message as voice. A message carries
    at most one of them on Telegram; the tuple keeps the model's shape (a Discord message
    has several, an album aggregated at ingress too)."""
    spoiler = bool(message.has_media_spoiler)
    found: list[Attachment] = []
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        found.append(
            Attachment(
                "photo",
                largest.file_id,
                size=largest.file_size,
                mime_type="image/jpeg",  # Telegram re-encodes every photo as JPEG
                width=largest.width,
                height=largest.height,
                spoiler=spoiler,
            )
        )
    # An animation also carries a `document` copy of itself: take the animation only.
    if message.animation:
        a = message.animation
        found.append(
            Attachment(
                "animation",
                a.file_id,
                a.file_name,
                a.mime_type,
                a.file_size,
                width=a.width,
                height=a.height,
                duration=a.duration,
                spoiler=spoiler,
            )
        )
    elif message.document:
        d = message.document
        found.append(Attachment("document", d.file_id, d.file_name, d.mime_type, d.file_size))
    if message.video:
        v = message.video
        found.append(
            Attachment(
                "video",
                v.file_id,
                v.file_name,
                v.mime_type,
                v.file_size,
                width=v.width,
                height=v.height,
                duration=v.duration,
                spoiler=spoiler,
            )
        )
    if message.video_note:
        n = message.video_note
        # A round video: square, `length` pixels a side, always MP4.
        found.append(
            Attachment(
                "video_note",
                n.file_id,
                None,
                "video/mp4",
                n.file_size,
                width=n.length,
                height=n.length,
                duration=n.duration,
            )
        )
    if message.voice:
        v = message.voice
        found.append(Attachment("voice", v.file_id, None, v.mime_type or "audio/ogg", v.file_size, duration=v.duration))
    if message.audio:
        a = message.audio
        found.append(Attachment("audio", a.file_id, a.file_name, a.mime_type, a.file_size, duration=a.duration))
    if message.sticker:
        found += sticker_image(message.sticker)
    return tuple(found)


def sticker_image(sticker) -> tuple[Attachment, ...]:
    """A sticker's picture, to cross as an image beside its emoji (issue 15): a static
    sticker's own WebP; an animated (.tgs) or video (.webm) sticker's thumbnail when the
    update has one (no picture: only its description crosses, as before)."""
    if not (sticker.is_animated or sticker.is_video):
        return (
            Attachment(
                "sticker",
                sticker.file_id,
                "sticker.webp",
                "image/webp",
                sticker.file_size,
                width=sticker.width,
                height=sticker.height,
            ),
        )
    thumb = sticker.thumbnail
    if thumb is None:
        return ()
    return (Attachment("sticker", thumb.file_id, None, None, thumb.file_size, width=thumb.width, height=thumb.height),)


def author_of(message: Message) -> Author:
    if _speaks_for_chat(message) or message.from_user is None:
        chat = message.sender_chat
        assert chat is not None
        title = chat.title or chat.full_name or str(chat.id)
        # A channel's post may be signed by the admin who wrote it (in its automatic
        # forward, the origin carries the signature): shown after the channel's title
        # where the policy shows full names; first names show the title.
        signature = _signature(message) if chat.type == "channel" else None
        signed = f"{title} ({signature})" if signature else title
        return Author(id=str(chat.id), display_name=signed, first_name=title, username=chat.username)
    user = message.from_user
    display = " ".join(part for part in (user.first_name, user.last_name) if part)
    return Author(
        id=str(user.id),
        display_name=display or str(user.id),
        first_name=user.first_name,
        username=user.username,
        is_bot=bool(user.is_bot),
    )


def _signature(message: Message) -> str | None:
    if message.author_signature:
        return message.author_signature
    if message.is_automatic_forward and message.forward_origin is not None:
        return getattr(message.forward_origin, "author_signature", None)
    return None


def reply_of(message: Message) -> MessageRef | None:
    replied = message.reply_to_message
    if replied is None:
        return None
    # In a forum topic every message "replies" to the topic's opening service
    # message; that is the topic, not a reply anyone wrote.
    if replied.forum_topic_created is not None:
        return None
    return MessageRef(PLATFORM, str(message.chat.id), str(replied.message_id))


def forward_origin_of(message: Message) -> ForwardOrigin | None:
    """Where a forwarded message came from (Bot API ``forward_origin``): a user, a user
    who hides their account ("hidden_user", only the name they chose), a chat speaking
    for itself, or a channel; None when the member wrote it here. Everything is kept as
    Telegram says; the policy decides later what shows (workers/privacy.py)."""
    origin = message.forward_origin
    if origin is None:
        return None
    date = origin.date.timestamp() if origin.date else 0.0
    kind = getattr(origin, "type", "")
    if kind == "user":
        user = origin.sender_user
        name = " ".join(part for part in (user.first_name, user.last_name) if part)
        return ForwardOrigin("user", name, user.first_name or "", date=date)
    if kind == "hidden_user":
        return ForwardOrigin("hidden_user", origin.sender_user_name or "", date=date)
    if kind in ("chat", "channel"):
        chat = origin.sender_chat if kind == "chat" else origin.chat
        return ForwardOrigin(kind, chat.title or "", public=bool(chat.username), date=date)
    return ForwardOrigin("message", date=date)  # a kind this version does not know: "forwarded" alone


def event_from_message(
    message: Message, kind: EventKind, on_bad_entities: Callable[[int], None] | None = None
) -> PlatformEvent | None:
    """The bridge's event for a member's message (NEW) or its edit (EDIT); None when skipped.
    ``on_bad_entities(n)`` hears of entities whose offsets are impossible (left out)."""
    if skip_reason(message) is not None:
        return None
    text = message.text or message.caption or ""
    # A caption's formatting comes in caption_entities, a text's in entities.
    formatting, bad = read_entities(text, message.entities if message.text else message.caption_entities)
    if bad and on_bad_entities is not None:
        on_bad_entities(bad)
    if not text:
        text = poll_text(message)
    revision = int(message.edit_date or 0) if kind == EventKind.EDIT else 0
    thread = topic_of(message)
    if thread and text and (name := topic_name(message)):
        head = f"{THREAD_MARK} {name}\n"  # as a Discord thread's messages start (bridge/discord/convert.py)
        text, formatting = head + text, fmt.shifted(formatting, len(head))
    return PlatformEvent(
        kind=kind,
        source=MessageRef(PLATFORM, str(message.chat.id), str(message.message_id)),
        author=author_of(message),
        text=text,
        reply_to=reply_of(message),
        attachments=attachments_of(message),
        timestamp=message.date.timestamp(),
        revision=revision,
        formatting=formatting,
        shared=shared_of(message),
        # An automatic forward of a linked channel speaks as the channel: no "forwarded" line.
        forwarded_from=None if message.is_automatic_forward else forward_origin_of(message),
        thread=thread,
    )


THREAD_MARK = "🧵"


def topic_of(message: Message) -> str:
    """The forum topic a message was written in (its message_thread_id), "" for the
    General topic or a group without topics (a reply thread's id is no topic)."""
    if message.is_topic_message and message.message_thread_id:
        return str(message.message_thread_id)
    return ""


def topic_name(message: Message) -> str:
    """The topic's name, where the message shows it: a message that is no reply
    "replies" to the topic's forum_topic_created service message, which names it."""
    replied = message.reply_to_message
    created = replied.forum_topic_created if replied is not None else None
    return created.name if created is not None and created.name else ""
