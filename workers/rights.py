"""Consent and the members' rights: access (/mydata, `twinbridge export`) and
erasure (/forgetme, `twinbridge forget`). Plain functions over Redis.

What the bridge keeps about a member: their consent per link, which of their
messages crossed (ids of the source message and its copies, never text),
their messages waiting for a moderator (with text), the bot's notices showing
their data (held messages at the moderators, decisions naming them, their
/mydata answer), their answers to event notices (RSVP), and audit entries keyed by their person key (a salted hash,
core/persons.py). Erasure (:mod:`.erasure`) takes all of it back.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, UTC

from core import audit, persons
from core.storage import holds as holds_store
from core.storage import announcements, avatars, members
from core.storage.keys import Keys
from core.links import LinksConfig
from core.models import MessageRef

from . import rsvp
from .privacy import current_pseudonym

ERASED = "erased"


def person(redis, keys: Keys, user_ref: str) -> str:
    """How the audit log and the outbox name ``user_ref`` (never by platform id)."""
    return persons.person(redis, keys, user_ref)


def has_consent(redis, keys: Keys, link_id: str, user_ref: str) -> bool:
    return members.has_consent(redis, keys, link_id, user_ref)


def give_consent(redis, keys: Keys, link_id: str, user_ref: str, retention_days: int) -> None:
    members.give_consent(redis, keys, link_id, user_ref, retention_days)
    audit.record(
        redis, keys, link_id, "consent.given", subject=person(redis, keys, user_ref), retention_days=retention_days
    )


def withdraw_consent(redis, keys: Keys, link_id: str, user_ref: str, retention_days: int) -> bool:
    had = members.withdraw_consent(redis, keys, link_id, user_ref)
    audit.record(
        redis, keys, link_id, "consent.withdrawn", subject=person(redis, keys, user_ref), retention_days=retention_days
    )
    return had


def refresh_consent_into(pipe, keys: Keys, link_id: str, user_ref: str, retention_days: int) -> None:
    """Consent lapses only after the link's retention without a message: added to
    ``pipe`` (executed by the caller with the rest that follows a message)."""
    members.refresh_consent_into(pipe, keys, link_id, user_ref, retention_days)


def note_authored(redis, keys: Keys, user_ref: str, member: str, retention_days: int) -> None:
    """Remember ``member`` ("link|source message", or "held|ID") for the member's
    access and erasure requests. Each entry carries its own expiry (the score),
    so none outlives its link's retention even while the member keeps writing."""
    members.note_authored(redis, keys, user_ref, member, retention_days)


def note_authored_into(pipe, keys: Keys, user_ref: str, member: str, retention_days: int) -> None:
    """``note_authored``'s commands, added to ``pipe`` (executed by the caller:
    a redis-py pipeline cannot hold another one)."""
    members.note_authored_into(pipe, keys, user_ref, member, retention_days)


def authored(redis, keys: Keys, user_ref: str) -> list[str]:
    return members.authored(redis, keys, user_ref)


def note_crossed(redis, keys: Keys, user_ref: str, link_id: str, source: MessageRef, retention_days: int) -> None:
    note_authored(redis, keys, user_ref, f"{link_id}|{source.key}", retention_days)


def note_crossed_into(pipe, keys: Keys, user_ref: str, link_id: str, source: MessageRef, retention_days: int) -> None:
    """``note_crossed``'s commands, added to ``pipe`` (executed by the caller)."""
    note_authored_into(pipe, keys, user_ref, f"{link_id}|{source.key}", retention_days)


def export_user(
    redis,
    keys: Keys,
    config: LinksConfig,
    user_ref: str,
    pseudonym_key: str | None,
    links: Collection[str] | None = None,
) -> dict:
    """Everything stored about ``user_ref`` ("telegram:5001"), as a JSON-ready dict.

    ``links``: only what belongs to these links (the web console's export, for an organiser
    of them: what a member does in a link they do not organise is none of their business).
    None (/mydata, `twinbridge export`): every link, and the profile photo kept for the
    member, which belongs to no link in particular (so a scoped export leaves it out)."""
    wanted = None if links is None else frozenset(links)

    def ours(link_id: str) -> bool:
        return wanted is None or link_id in wanted

    data: dict = {
        "user": user_ref,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": "twinbridge never stores message text except while delivering it and while a message "
        "waits for a moderator; below is everything else it keeps about you.",
        "consent": [],
        "messages_relayed": [],
        "held_for_approval": [],
        "audit_entries": [],
        "pseudonyms": {},
        "event_answers": [],
    }
    if wanted is not None:
        data["links"] = sorted(wanted)
    me = person(redis, keys, user_ref)
    # Their answers to event notices (Going / Maybe / Can't), kept until the link's
    # retention after the event.
    answers = rsvp.answers_of(redis, keys, me)
    data["event_answers"] = [a for a in answers if wanted is None or _answered_in(redis, keys, a, wanted)]
    if wanted is None:
        # A copy of their Telegram profile photo, kept as their avatar on Discord (issue 15).
        data["profile_photo_kept"] = avatars.kept(redis, keys, me)
    for link in config.links:
        if not ours(link.id):
            continue
        if members.has_consent(redis, keys, link.id, user_ref):
            data["consent"].append(
                {
                    "link": link.id,
                    "given": True,
                    "lapses_in_days": members.consent_days_left(redis, keys, link.id, user_ref),
                }
            )
        pseudonym = current_pseudonym(redis, keys, link.id, user_ref)
        if pseudonym:
            data["pseudonyms"][link.id] = pseudonym
        for entry in audit.entries(redis, keys, link.id):
            if audit.concerns(entry, me, user_ref):
                data["audit_entries"].append(
                    {
                        "link": link.id,
                        "at": _when(entry["id"]),
                        "action": entry["action"],
                        "detail": entry.get("detail", ""),
                    }
                )
    for member in sorted(authored(redis, keys, user_ref)):
        kind, _, rest = member.partition("|")
        if kind == "held":
            held = holds_store.load(redis, keys, rest)
            if held is not None and ours(held["link_id"]):
                data["held_for_approval"].append(
                    {"id": rest, "link": held["link_id"], "text": held["event"].get("text", "")}
                )
            continue
        if not ours(kind):
            continue
        copies, kept_for_days = members.relayed_copies(redis, keys, rest)
        data["messages_relayed"].append(
            {
                "link": kind,
                "message": rest,
                "copies": copies.get(kind, {}),
                "kept_for_days": kept_for_days,
            }
        )
    return data


def _answered_in(redis, keys: Keys, answer: dict, wanted: frozenset[str]) -> bool:
    """Whether an answer to an event notice belongs to one of ``wanted`` (the notice's link);
    a notice no longer stored belongs to none we can name."""
    announcement = announcements.load(redis, keys, answer["announcement"])
    return announcement is not None and announcement.link_id in wanted


# The console's own entries about a request (console.export, console.erase.refused, …)
# name the member as its subject, but they are not the member's doing in the link.
CONSOLE_ACTION = "console."


def has_footprint(data: dict) -> bool:
    """Whether an export (scoped or not) holds anything the member did or has in its links:
    a consent, a pseudonym, a relayed or held message, an event answer, or an audit entry
    other than the console's own notes of earlier requests about them."""
    return bool(
        data["consent"]
        or data["pseudonyms"]
        or data["messages_relayed"]
        or data["held_for_approval"]
        or data["event_answers"]
        or any(not entry["action"].startswith(CONSOLE_ACTION) for entry in data["audit_entries"])
    )


def _when(entry_id: str) -> str:
    millis = int(entry_id.split("-")[0])
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds")


def erase_user(redis, keys: Keys, config: LinksConfig, user_ref: str) -> dict:
    """Erase what the bridge keeps about ``user_ref`` (see :mod:`.erasure`)."""
    from .erasure import erase

    return erase(redis, keys, config, user_ref)
