"""One firing of an announcement as drafts: a post per chat of every community of its link
(one-way links too, the organiser's own community included), each with the view its
community reads (core.announcements.AnnouncementView): the header and the RSVP labels in
its language, the event's time written in its time zone. Plain functions, no Redis."""

from __future__ import annotations

from core.announcements import (
    ANNOUNCEMENT_CHAT,
    ANNOUNCEMENT_PLATFORM,
    RSVP_CHOICES,
    Announcement,
    AnnouncementView,
)
from core.event_time import local_when
from core.links import Community, LinksConfig
from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.phrases import announcement_header, rsvp_labels
from core.storage.announcements import REMIND

from ..drafts import Drafts, announcement_marker

ANNOUNCEMENT, REMINDER = "announcement", "reminder"


def kind_of(what: str) -> str:
    """The view's kind for ``what`` ("fire": the announcement; "remind:SECONDS": a reminder)."""
    return REMINDER if what.startswith(REMIND) else ANNOUNCEMENT


def source_of(announcement_id: str, what: str) -> MessageRef:
    """The synthetic source a firing's posts share (their id map, intents and delivery
    markers hang on it): the announcement's id, a reminder's "<id>.r<seconds>"."""
    message_id = announcement_id
    if what.startswith(REMIND):
        message_id = f"{announcement_id}.r{what.removeprefix(REMIND)}"
    return MessageRef(ANNOUNCEMENT_PLATFORM, ANNOUNCEMENT_CHAT, message_id)


def organiser_name(announcement: Announcement, config: LinksConfig) -> str:
    community = config.communities.get(announcement.community)
    return community.name if community else announcement.community


def view_for(
    announcement: Announcement, what: str, organiser: str, community: Community, counts: dict[str, int]
) -> AnnouncementView:
    """How ``community`` sees this firing. A reminder is shorter: no buttons, no counts, no pin."""
    kind = kind_of(what)
    event = announcement.event
    has_rsvp = event is not None and kind == ANNOUNCEMENT
    return AnnouncementView(
        id=announcement.id,
        header=announcement_header(community.language, kind, organiser),
        kind=kind,
        event=event,
        when_local=local_when(event.start, event.end, community.timezone, community.language) if event else "",
        timezone=community.timezone,
        language=community.language,
        labels=rsvp_labels(community.language) if has_rsvp else {},
        counts={choice: int(counts.get(choice) or 0) for choice in RSVP_CHOICES} if has_rsvp else {},
        pin=announcement.pin and kind == ANNOUNCEMENT,
    )


def drafts_of(
    announcement: Announcement, what: str, config: LinksConfig, counts: dict[str, int] | None = None
) -> Drafts:
    """The drafts of one firing (none when its link is no longer configured). The body is the
    post's text (a reminder has none: its view shows the event); the event title travels in
    the view, and the translation stage translates both (core/announcements.py)."""
    link = config.link(announcement.link_id)
    source = source_of(announcement.id, what)
    marker = announcement_marker(announcement.id, what)
    if link is None:
        return Drafts(source.chat.key, 0, (), marker=marker)
    organiser = organiser_name(announcement, config)
    text = announcement.text if kind_of(what) == ANNOUNCEMENT else ""
    posts: list[OutboundPost] = []
    reached: set[ChatRef] = set()
    for community_id in link.communities:
        community = config.communities[community_id]
        view = view_for(announcement, what, organiser, community, counts or {}).to_dict()
        for chat in community.chats:
            if chat in reached:
                continue
            reached.add(chat)
            posts.append(
                OutboundPost(
                    kind=EventKind.NEW,
                    link_id=link.id,
                    destination=chat,
                    source=source,
                    sender="",
                    community=organiser,
                    text=text,
                    formatting=announcement.formatting if text else (),
                    seq=0,
                    retention_days=link.policy.retention_days,
                    language=community.language,
                    announcement=view,
                )
            )
    has_text = bool(text.strip() or (announcement.event and announcement.event.title.strip()))
    return Drafts(
        source.chat.key,
        0,
        tuple(posts),
        source_language=announcement.language if has_text else "",
        marker=marker,
    )
