"""Organisers' announcements and event notices (issue 14): the pure model.

An :class:`Announcement` is what an organiser asked for (from a chat with `/announce`
or from `twinbridge announce`): a text, optionally an event (title, start, end, place,
link), when to send it, whether to pin it, and reminders before the event. It is stored
in Redis until the event is over (core/storage/announcements.py) and fired by the
scheduler (or at once). Firing it makes one post per chat of every community of the
link; each post carries an :class:`AnnouncementView`: how that community sees it (the
header in its language, the event's time in its time zone, the RSVP buttons' labels
and the counts), so the adapters render it without knowing the configuration.

How a firing travels (workers/announcements/, the moderation stage's fire task): its posts
(seq 0, source MessageRef(ANNOUNCEMENT_PLATFORM, ANNOUNCEMENT_CHAT, id), a reminder's
"<id>.r<seconds>") go to the translation stage as drafts like a member's message, carrying
the firing marker that publishing retires (workers/drafts.py Drafts.marker), so the notice
is published once however often the task runs, and not at all once cancelled. The body is
the post's ``text``; the event title travels in the view (``AnnouncementView.event.title``)
and the translation stage translates it as a text of its own, once per language like the
body (same providers and glossary), and writes the translation back into the view: two
requests instead of one text with a separator that every translator would have to leave
intact. Where the policy shows the original, the body's original goes with it
(``OutboundPost.original``); the title is shown translated only. The published copies are
kept per announcement (core/storage/announcement_posts.py) for the RSVP refresh's edits.

Everything here is plain data that round-trips through JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from . import formatting as fmt

# What a member can answer to an event notice, in the order the buttons show.
GOING, MAYBE, CANT = "going", "maybe", "cant"
RSVP_CHOICES = (GOING, MAYBE, CANT)

# The synthetic source every announcement's posts share: its id map, intents and
# delivery markers live under MessageRef(ANNOUNCEMENT_PLATFORM, ANNOUNCEMENT_CHAT, <post id>).
ANNOUNCEMENT_PLATFORM = "twinbridge"
ANNOUNCEMENT_CHAT = "announcements"

# States of a stored announcement.
SCHEDULED, SENT, CANCELLED = "scheduled", "sent", "cancelled"


@dataclass(frozen=True)
class EventDetails:
    """The event an event notice is about. Times are Unix seconds (UTC); shown in
    each community's time zone (and the reader's own where the platform can)."""

    title: str
    start: float
    end: float | None = None
    place: str = ""
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventDetails:
        end = data.get("end")
        return cls(
            title=str(data.get("title") or ""),
            start=float(data["start"]),
            end=float(end) if end not in (None, "") else None,
            place=str(data.get("place") or ""),
            url=str(data.get("url") or ""),
        )


@dataclass(frozen=True)
class Announcement:
    """An organiser's notice to every community of one link."""

    id: str  # short, typeable: "/announcements cancel a7k2m9"
    link_id: str
    community: str  # the organiser's community id (named on every copy)
    organiser: str  # a person key (core/persons.py) of who asked, or "cli"
    text: str
    language: str  # the language ``text`` is written in
    event: EventDetails | None = None
    at: float = 0.0  # when it is (or was) sent, Unix seconds
    reminders: tuple[int, ...] = ()  # seconds before the event's start, e.g. (86400,)
    pin: bool = False
    created: float = 0.0
    state: str = SCHEDULED
    # The organiser's formatting over ``text`` (core/formatting.py): bold, links, lists…
    formatting: fmt.Spans = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["event"] = self.event.to_dict() if self.event else None
        data["reminders"] = list(self.reminders)
        if self.formatting:
            data["formatting"] = fmt.to_json(self.formatting)
        else:
            data.pop("formatting")  # as before formatting crossed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Announcement:
        event = data.get("event")
        return cls(
            id=str(data["id"]),
            link_id=str(data["link_id"]),
            community=str(data.get("community") or ""),
            organiser=str(data.get("organiser") or ""),
            text=str(data.get("text") or ""),
            language=str(data.get("language") or ""),
            event=EventDetails.from_dict(event) if event else None,
            at=float(data.get("at") or 0.0),
            reminders=tuple(int(r) for r in data.get("reminders") or ()),
            pin=bool(data.get("pin")),
            created=float(data.get("created") or 0.0),
            state=str(data.get("state") or SCHEDULED),
            formatting=fmt.from_json(data.get("formatting")),
        )

    def with_state(self, state: str) -> Announcement:
        return replace(self, state=state)


@dataclass(frozen=True)
class AnnouncementView:
    """How one destination community sees one announcement (or one of its reminders):
    carried on each of its posts (OutboundPost.announcement) so that an adapter renders
    it without the configuration. The post's own ``text`` is the body, translated."""

    id: str  # the announcement's id (RSVP buttons carry it)
    header: str  # "📢 Ankündigung · Leicester", in the destination's language
    kind: str = "announcement"  # announcement | reminder
    event: EventDetails | None = None
    # The event's time written the local way in the destination community's time zone
    # and language ("Sa., 14. März 2027, 19:30 MEZ"); "" without an event.
    when_local: str = ""
    timezone: str = "UTC"
    language: str = "en"
    # The RSVP buttons' words in the destination's language, keyed by RSVP_CHOICES.
    labels: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # totals across every twin
    pin: bool = False

    @property
    def has_rsvp(self) -> bool:
        return self.event is not None and self.kind == "announcement"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["event"] = self.event.to_dict() if self.event else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnnouncementView:
        event = data.get("event")
        return cls(
            id=str(data["id"]),
            header=str(data.get("header") or ""),
            kind=str(data.get("kind") or "announcement"),
            event=EventDetails.from_dict(event) if event else None,
            when_local=str(data.get("when_local") or ""),
            timezone=str(data.get("timezone") or "UTC"),
            language=str(data.get("language") or "en"),
            labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()},
            counts={str(k): int(v) for k, v in (data.get("counts") or {}).items()},
            pin=bool(data.get("pin")),
        )

    def with_counts(self, counts: dict[str, int]) -> AnnouncementView:
        return replace(self, counts=dict(counts))


def rsvp_button_data(announcement_id: str, choice: str) -> str:
    """What an RSVP button carries ("rsvp:a7k2m9:going"): under Telegram's 64 bytes."""
    return f"rsvp:{announcement_id}:{choice}"


def parse_rsvp_button(data: str) -> tuple[str, str] | None:
    """(announcement id, choice) from an RSVP button's data; None if it is not one."""
    name, _, rest = (data or "").partition(":")
    announcement_id, _, choice = rest.partition(":")
    if name != "rsvp" or not announcement_id or choice not in RSVP_CHOICES or len(announcement_id) > 32:
        return None
    return announcement_id, choice
