"""The moderation stage: what a link's policy lets cross, decided before any
translator sees the text.

Per link (policies differ between links): personal data the policy lists under
``redact`` is replaced by visible markers, links are removed where ``links:
block``, profanity is masked where ``moderation: profanity``, and media is
kept, narrowed to images, or withheld as ``media`` says (``approve`` keeps it: the
pipeline holds such a message for the link's moderators). What is neither text nor
a file (core.models.Shared) crosses as data, but a location, live location or venue
is withheld where the policy removes postcodes (a map pin is more precise than a
postcode) and a contact where it removes phone numbers: the reader is told one was
shared, not what. Every decision is counted (for the audit log) without any content.
A caption is the event's text: it is redacted like any text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from core import formatting as fmt
from core.links import LinksConfig, Link
from core.descriptions import PLACES, withheld
from core.models import Attachment, EventKind, PlatformEvent, Shared

from .profanity import check_profanity
from .redaction import redact, regions_for_languages


@dataclass(frozen=True)
class Moderated:
    """One event as one link's policy lets it cross."""

    text: str
    attachments: tuple[Attachment, ...]
    withheld_media: int = 0  # attachments the policy does not carry
    decisions: Counter = field(default_factory=Counter)  # e.g. {"redacted.phone": 1, "media.withheld": 2}
    formatting: fmt.Spans = ()  # the event's formatting, moved onto ``text`` as it was changed
    shared: tuple[Shared, ...] = ()  # the event's Shared items, details withheld as the policy says


def needs_approval(event: PlatformEvent, link: Link) -> bool:
    """Whether a moderator of ``link`` decides ``event`` before it crosses: every message
    under ``moderation: approve``, one that carries media under ``media: approve``. A
    delete never waits (what was not relayed has no copies to delete)."""
    if event.kind == EventKind.DELETE:
        return False
    policy = link.policy
    files = any(a.kind != "sticker" for a in event.attachments)  # a sticker crosses described there
    return policy.moderation == "approve" or (policy.media == "approve" and files)


def moderate(event: PlatformEvent, link: Link, config: LinksConfig) -> Moderated:
    policy = link.policy
    decisions: Counter = Counter()
    text = event.text
    kinds = set(policy.redact)
    if policy.links == "block":
        kinds.add("url")
    languages = config.languages(link)
    if text and kinds:
        redacted = redact(text, kinds, regions_for_languages(languages))
        text = redacted.text
        decisions.update({f"redacted.{kind}": n for kind, n in redacted.found.items()})
    if text and policy.moderation == "profanity":
        checked = check_profanity(text, languages)
        if checked.count:
            text = checked.text
            decisions["profanity.masked"] += checked.count
    # Redaction and masking replace stretches of the text; the marks follow (a bold phone
    # number gives a bold marker) without either of them knowing about formatting.
    formatting = fmt.remap(event.text, text, event.formatting) if event.formatting else ()
    if kinds and any(span.kind == fmt.LINK for span in formatting):
        # A masked link's address is what the member wrote too: one the policy would redact
        # (a blocked link, one carrying an e-mail address) does not cross; its words stay, unlinked.
        regions = regions_for_languages(languages)
        unlinked = [s for s in formatting if s.kind == fmt.LINK and redact(s.data, kinds, regions).found]
        if unlinked:
            formatting = tuple(s for s in formatting if s not in unlinked)
            decisions["redacted.link_address"] += len(unlinked)
    # A sticker's picture (issue 15) crosses where the policy lets every file cross freely
    # (allow); elsewhere ("only photos", approve, block) the sticker is described as before,
    # and nothing counts as withheld.
    stickers = tuple(a for a in event.attachments if a.kind == "sticker")
    files = tuple(a for a in event.attachments if a.kind != "sticker")
    kept = files
    if policy.media == "block":
        kept = ()
    elif policy.media == "images":
        kept = tuple(a for a in files if a.kind == "photo")
    withheld_count = len(files) - len(kept)
    kept += stickers if policy.media == "allow" else ()
    if withheld_count:
        decisions["media.withheld"] += withheld_count
    shared = tuple(_shared(item, policy.redact, decisions) for item in event.shared)
    return Moderated(text, kept, withheld_count, decisions, formatting, shared)


def _shared(item: Shared, redact: tuple[str, ...], decisions: Counter) -> Shared:
    if (item.kind in PLACES and "postcode" in redact) or (item.kind == "contact" and "phone" in redact):
        decisions["withheld.location" if item.kind in PLACES else "withheld.contact"] += 1
        return withheld(item)
    return item
