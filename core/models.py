"""The message model every hop passes along.

A platform event (something a member did in a linked chat) enters as a
:class:`PlatformEvent`; the workers turn it into one :class:`OutboundPost` per
destination chat; the destination adapter posts it. Both are frozen and
round-trip through plain dicts (JSON) so they can cross Redis and Celery
without pickling.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Any

from . import formatting as fmt

PLATFORMS = ("telegram", "discord")


class EventKind(str, Enum):
    NEW = "new"
    EDIT = "edit"
    DELETE = "delete"
    # A message of the bridge's own to one chat or one member (a command's
    # answer, a consent explanation, a held message shown to a moderator).
    NOTICE = "notice"
    # Drop the quote of an erased message from a relayed reply (Discord webhooks
    # cannot reply, so a relayed reply quotes what it answers).
    UNQUOTE = "unquote"


@dataclass(frozen=True)
class ChatRef:
    """A chat on one platform. Ids are strings everywhere: Discord snowflakes
    and Telegram's negative group ids both survive JSON that way."""

    platform: str
    chat_id: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.chat_id}"

    @classmethod
    def parse(cls, text: str) -> ChatRef:
        platform, _, chat_id = text.partition(":")
        return cls(platform, chat_id)


@dataclass(frozen=True)
class MessageRef:
    """One message in one chat."""

    platform: str
    chat_id: str
    message_id: str

    @property
    def chat(self) -> ChatRef:
        return ChatRef(self.platform, self.chat_id)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.chat_id}:{self.message_id}"


@dataclass(frozen=True)
class Author:
    id: str
    display_name: str
    first_name: str | None = None
    username: str | None = None
    is_bot: bool = False


@dataclass(frozen=True)
class Attachment:
    kind: str  # photo | animation | document | video | video_note | audio | voice | sticker | other
    file_id: str = ""
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    url: str | None = None
    # Issue 15: what the destination needs to show it the same way (pixels, seconds) and
    # whether the member hid it behind a spoiler.
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    spoiler: bool = False


@dataclass(frozen=True)
class ForwardOrigin:
    """Where a forwarded message came from, as the source platform says (issue 15). The
    moderation stage decides what of it the link's policy lets show (workers/privacy.py)."""

    kind: str  # user | hidden_user | chat | channel | message (a Discord forward: its origin unnamed)
    name: str = ""  # the user's full name, a hidden user's chosen name, the chat's or channel's title
    first_name: str = ""
    public: bool = False  # a public chat or channel (it has a @username): its title is no one's personal data
    date: float = 0.0  # when the original was written (Unix seconds; 0: unknown)


@dataclass(frozen=True)
class Shared:
    """Something a member posted that is neither text nor a file: a sticker, a poll, a
    dice roll, a location, a venue, a contact. Carried as data; the moderation stage
    decides per link what of it crosses (a location is where someone is, a contact a
    phone number) and core/descriptions.py says it in each reader's language.

    ``kind``: sticker | poll | dice | location | live_location | venue | contact | other.
    A poll's question and options travel as the event's text (translated like text);
    ``withheld``: the policy kept the details back (only the kind crosses)."""

    kind: str
    emoji: str = ""  # a sticker's or a dice's emoji
    value: int = 0  # a dice's value
    latitude: float | None = None
    longitude: float | None = None
    title: str = ""  # a venue's or a contact's name, a sticker's name, an unknown kind's field name
    address: str = ""  # a venue's address
    phone: str = ""  # a contact's phone number
    withheld: bool = False


@dataclass(frozen=True)
class PlatformEvent:
    """Something a member did in a linked chat, as seen by an adapter."""

    kind: EventKind
    source: MessageRef
    author: Author
    text: str = ""
    reply_to: MessageRef | None = None
    attachments: tuple[Attachment, ...] = ()
    timestamp: float = 0.0
    # Bumped for each edit so that (source, kind, revision) identifies an event
    # exactly once, whatever the platform redelivers.
    revision: int = 0
    # Position of this event in its source chat, assigned at ingress; lets the
    # senders keep each destination in the order things were written.
    seq: int = 0
    # Bold, links, code… over ``text`` (core/formatting.py); ``text`` stays the plain text.
    formatting: fmt.Spans = ()
    # A forwarded message: where it came from (issue 15); None when written here.
    forwarded_from: ForwardOrigin | None = None
    # Issue 15: what is neither text nor a file (see Shared).
    shared: tuple[Shared, ...] = ()
    # The thread (Discord) or forum topic (Telegram) of the source chat it was written in;
    # "" for the chat itself (a Discord channel, a Telegram group's General topic).
    thread: str = ""

    @property
    def dedup_key(self) -> str:
        key = f"{self.source.key}:{self.kind.value}:{self.revision}"
        if self.kind == EventKind.EDIT:
            # Telegram's edit_date has whole seconds: two edits within one second
            # share a revision, so the text's digest tells them apart.
            shown = self.text + (repr(fmt.to_json(self.formatting)) if self.formatting else "")
            key += ":" + hashlib.sha256(shown.encode()).hexdigest()[:12]
        return key

    def with_seq(self, seq: int) -> PlatformEvent:
        return replace(self, seq=seq)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        if self.formatting:
            data["formatting"] = fmt.to_json(self.formatting)
        else:
            data.pop("formatting")  # as before formatting crossed: old readers see the same dict
        if not self.thread:
            data.pop("thread")  # likewise, as before threads had twins
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlatformEvent:
        return cls(
            kind=EventKind(data["kind"]),
            source=MessageRef(**data["source"]),
            author=Author(**data["author"]),
            text=data.get("text") or "",
            reply_to=MessageRef(**data["reply_to"]) if data.get("reply_to") else None,
            attachments=tuple(Attachment(**a) for a in data.get("attachments") or ()),
            timestamp=float(data.get("timestamp") or 0.0),
            revision=int(data.get("revision") or 0),
            seq=int(data.get("seq") or 0),
            formatting=fmt.from_json(data.get("formatting")),
            forwarded_from=ForwardOrigin(**data["forwarded_from"]) if data.get("forwarded_from") else None,
            shared=tuple(Shared(**s) for s in data.get("shared") or ()),
            thread=str(data.get("thread") or ""),
        )


@dataclass(frozen=True)
class OutboundPost:
    """What one destination chat should show for one source event."""

    kind: EventKind
    link_id: str
    destination: ChatRef
    source: MessageRef
    sender: str  # the sender as the policy allows, e.g. "Anna"; may be ""
    community: str  # display name of the source community, e.g. "Leicester"
    text: str = ""
    reply_to: MessageRef | None = None  # the *source* message replied to
    attachments: tuple[Attachment, ...] = ()
    notes: tuple[str, ...] = field(default=())  # visible notes, e.g. "not translated"
    seq: int = 0
    retention_days: int = 30
    allow_mentions: bool = False
    # Translation: the language ``text`` is in, and, when the policy shows the
    # original, the original text, its language and who translated it.
    language: str = ""
    original: str = ""
    original_language: str = ""
    translated_by: str = ""
    # Notices: the member to tell privately (a user id on the destination's
    # platform; ``destination`` is where to answer instead when that is not
    # possible), and buttons as (label, data) pairs.
    private_to: str = ""
    buttons: tuple[tuple[str, str], ...] = ()
    fallback: str = ""  # what to say in ``destination`` when the member cannot be told privately
    # Whose data the post shows (a person key, core/persons.py, never a platform id)
    # and when they wrote it: after an erasure, what they wrote before is not sent.
    author: str = ""
    written_at: float = 0.0
    # An organiser's announcement or event notice: how this destination sees it
    # (core.announcements.AnnouncementView as a dict), None for everything else.
    announcement: dict[str, Any] | None = None
    # A DELETE of the source message itself, in its own chat (a member's /delete on
    # Telegram takes the original and the command message too), not of its relayed copies.
    itself: bool = False
    # Bold, links, code… over ``text`` (core/formatting.py), moved along with every
    # change moderation and translation make to it.
    formatting: fmt.Spans = ()
    # The original's formatting, over ``original`` (shown under a translation, kept as written).
    original_formatting: fmt.Spans = ()
    # The avatar a Discord webhook post shows (issue 15): "" Discord's default, "neutral" one
    # of Discord's default avatars chosen from the label (a pseudonym reveals nothing), or
    # "telegram:USER_ID" the Telegram sender's profile photo (only where the policy shows
    # names), served by `twinbridge run` (bridge/avatars) under TWINBRIDGE_PUBLIC_URL.
    avatar: str = ""
    # The source's thread or forum topic (PlatformEvent.thread): the destination puts the
    # copy into its twin thread or topic (core/storage/threads.py), "" the chat itself.
    thread: str = ""

    @property
    def label(self) -> str:
        """How the sender is shown: "Anna · Leicester", or just "Leicester" (one
        line, and the "·" is ours: see core.names)."""
        from .names import label

        return label(self.sender, self.community)

    @property
    def delivery_key(self) -> str:
        if self.kind == EventKind.NOTICE:
            # One command may answer several times in one chat; and a notice's key must not
            # name the member it went to (a marker outlives the notice), so it is a digest.
            material = "\x00".join((self.source.key, self.destination.key, self.private_to, self.text))
            return f"{self.link_id}:notice:{hashlib.sha256(material.encode()).hexdigest()[:24]}"
        return f"{self.link_id}:{self.source.key}:{self.kind.value}:{self.destination.key}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        if self.formatting:
            data["formatting"] = fmt.to_json(self.formatting)
        else:
            data.pop("formatting")  # as before formatting crossed: old readers see the same dict
        if self.original_formatting:
            data["original_formatting"] = fmt.to_json(self.original_formatting)
        else:
            data.pop("original_formatting")
        if not self.thread:
            data.pop("thread")  # likewise, as before threads had twins
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutboundPost:
        return cls(
            kind=EventKind(data["kind"]),
            link_id=data["link_id"],
            destination=ChatRef(**data["destination"]),
            source=MessageRef(**data["source"]),
            sender=data.get("sender") or "",
            community=data.get("community") or "",
            text=data.get("text") or "",
            reply_to=MessageRef(**data["reply_to"]) if data.get("reply_to") else None,
            attachments=tuple(Attachment(**a) for a in data.get("attachments") or ()),
            notes=tuple(data.get("notes") or ()),
            seq=int(data.get("seq") or 0),
            retention_days=int(data.get("retention_days") or 30),
            allow_mentions=bool(data.get("allow_mentions")),
            language=data.get("language") or "",
            original=data.get("original") or "",
            original_language=data.get("original_language") or "",
            translated_by=data.get("translated_by") or "",
            private_to=data.get("private_to") or "",
            buttons=tuple((str(label), str(value)) for label, value in data.get("buttons") or ()),
            fallback=data.get("fallback") or "",
            author=data.get("author") or "",
            written_at=float(data.get("written_at") or 0.0),
            announcement=dict(data["announcement"]) if data.get("announcement") else None,
            itself=bool(data.get("itself")),
            formatting=fmt.from_json(data.get("formatting")),
            original_formatting=fmt.from_json(data.get("original_formatting")),
            avatar=data.get("avatar") or "",
            thread=str(data.get("thread") or ""),
        )


@dataclass(frozen=True)
class Command:
    """A member's command ("/consent", "/approve 12", a button press), as an
    adapter saw it. ``private``: said in a private chat with the bot."""

    name: str
    args: str
    platform: str
    chat_id: str
    message_id: str
    user: Author
    private: bool = False
    via: str = "message"  # message | button | slash
    seq: int = 0  # its position in its chat, shared with the chat's messages (set by the ingress)
    # The platform says the member administers the chat (Telegram's chat administrators,
    # Discord's Manage Server or Administrator permission): an organiser there (issue 14).
    admin: bool = False
    # A button press: the platform's id of this press (Telegram's callback query id,
    # Discord's interaction id). Two presses on one message (Going, then Maybe) are two
    # commands; a redelivery of one press is the same.
    press_id: str = ""
    # When the adapter received the press (Unix seconds; 0: not a press). Two presses of one
    # member handled in parallel are recorded in the order they were made, not handled.
    pressed_at: float = 0.0
    # The message the command answers (a reply: Telegram's /delete), in the same chat, and
    # when that message was written (Unix seconds, as the platform says; 0: unknown).
    reply_to: str = ""
    reply_to_at: float = 0.0
    # The formatting over ``args`` (core/formatting.py): a /announce keeps the organiser's bold,
    # links… (Telegram's entities, Discord's markdown read by the adapter). Empty for the others.
    formatting: fmt.Spans = ()
    # The asker's own language as their app reports it (Telegram's ``language_code``, the
    # locale of a Discord interaction: "de", "en-GB"); "" when the platform does not say.
    # Answers meant for the asker alone use it where the bridge has words for it.
    language: str = ""

    # Commands that need no place among their chat's messages: an RSVP concerns an
    # announcement, not what the chat said before it, and must not wait behind a backlog.
    UNORDERED = frozenset({"rsvp"})

    @property
    def chat(self) -> ChatRef:
        return ChatRef(self.platform, self.chat_id)

    @property
    def dedup_key(self) -> str:
        """Identifies this command as the platform delivered it (a redelivery is the same).
        Hashed: in a private chat the chat id is the member's id, and the ingress's
        markers must not name them."""
        said = f"{self.platform}:{self.chat_id}:{self.message_id}:{self.via}:{self.name}"
        if self.press_id:
            said += f":{self.press_id}"
        return "cmd:" + hashlib.sha256(said.encode()).hexdigest()[:32]

    @property
    def ordered(self) -> bool:
        """Whether this command keeps its place among its chat's messages (a group's
        commands, but for those in UNORDERED)."""
        return not self.private and self.name not in self.UNORDERED

    @property
    def order_key(self) -> str:
        """The sequence this command takes a position in: its chat's (shared with the
        chat's messages), or for a command that needs no order with anything else (in a
        private chat with the bot, or UNORDERED), one of its own, named like its seen
        marker (a hash of a chat id alone would name the member: in a private chat it is
        their id)."""
        if self.ordered:
            return self.chat.key
        return ("private:" if self.private else "own:") + self.dedup_key.removeprefix("cmd:")

    @property
    def user_ref(self) -> str:
        return f"{self.platform}:{self.user.id}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.formatting:
            data["formatting"] = fmt.to_json(self.formatting)
        else:
            data.pop("formatting")
        if not self.language:
            data.pop("language")  # as before the asker's language was carried
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Command:
        return cls(**{**data, "user": Author(**data["user"]), "formatting": fmt.from_json(data.get("formatting"))})
