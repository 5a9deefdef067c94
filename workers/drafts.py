"""What the moderation stage hands to the translation stage: plain data (JSON).

Shared by both stages and nothing else: importing it loads no moderation logic,
so a translation worker can read what it receives (workers/stages/translation.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.models import OutboundPost

if TYPE_CHECKING:  # only a type: the translation stage never loads the moderation package
    from .moderation.stage import Moderated


@dataclass
class Outcome:
    """What happened to one event, for the counters, the audit log and the
    after-effects (consent explanations, held messages); no content but the
    held messages' own."""

    counts: Counter = field(default_factory=Counter)
    decisions: dict[str, Counter] = field(default_factory=dict)  # link id -> policy decisions
    needs_consent: set[str] = field(default_factory=set)  # links the author has not consented to
    held: dict[str, Moderated] = field(default_factory=dict)  # links where a moderator must approve
    crossed: set[str] = field(default_factory=set)  # links the event crossed


@dataclass(frozen=True)
class Drafts:
    """The posts of one event, each already moderated for its link (its text is what
    the policy lets cross, never the unredacted original), not yet translated."""

    chat_key: str  # the source chat (its in-flight marker is retired with publishing)
    seq: int
    posts: tuple[OutboundPost, ...]
    source_language: str = ""  # "": nothing to translate (a deletion, no text)
    # An approved held message: the hold whose release mark (Keys.released) publishing
    # retires instead of the event's in-flight marker (retired when it was held).
    hold_id: str = ""
    # Drafts that no ingress entry stands behind carry the marker publishing retires instead
    # (and publishes nothing without): "announcement:ID:WHAT", one firing of an organiser's
    # announcement (its firing marker: core/storage/announcements.py). :func:`marker_of`
    # reads it; an approved hold's is its ``hold_id`` (kept by that name: drafts an older
    # version queued carry it so).
    marker: str = ""

    @property
    def needs_translation(self) -> bool:
        return bool(self.source_language and self.posts)

    def to_dict(self) -> dict:
        data = {
            "chat_key": self.chat_key,
            "seq": self.seq,
            "source_language": self.source_language,
            "posts": [post.to_dict() for post in self.posts],
        }
        if self.hold_id:
            data["hold_id"] = self.hold_id
        if self.marker:
            data["marker"] = self.marker
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Drafts:
        return cls(
            chat_key=data["chat_key"],
            seq=int(data.get("seq") or 0),
            posts=tuple(OutboundPost.from_dict(p) for p in data.get("posts") or ()),
            source_language=data.get("source_language") or "",
            hold_id=data.get("hold_id") or "",
            marker=data.get("marker") or "",
        )

    @property
    def announcement_firing(self) -> tuple[str, str] | None:
        """(announcement id, what) when these are the posts of one firing of an announcement."""
        return announcement_firing_of(self.marker)


ANNOUNCEMENT_MARKER = "announcement"


def announcement_marker(announcement_id: str, what: str) -> str:
    """The marker of the drafts of one firing (``what``: "fire", "remind:SECONDS")."""
    return f"{ANNOUNCEMENT_MARKER}:{announcement_id}:{what}"


def announcement_firing_of(marker: str) -> tuple[str, str] | None:
    kind, _, rest = (marker or "").partition(":")
    announcement_id, _, what = rest.partition(":")
    if kind != ANNOUNCEMENT_MARKER or not announcement_id or not what:
        return None
    return announcement_id, what
