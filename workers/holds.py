"""Messages held for a moderator (``moderation: approve``).

A held message is stored, with its text, until a moderator of its link
decides or the link's retention passes; each moderator listed in the policy
receives it privately with Approve and Reject buttons. Every step is audited.

Hold IDs are random (65 bits, 13 characters of a base32 alphabet without
look-alike letters), so nobody can guess one; the event's dedup key maps to
its ID, so a task run twice holds it once and notifies once. Releasing an
approved message removes the hold and queues its posts in one script: an
approval interrupted by a crash is simply done again, and releases once. An
approved message is handed to the translation stage in that script; only the
translation worker translates and publishes it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace


from core import audit
from core.storage import holds as stored_holds
from core.storage import members
from core.storage.keys import Keys
from core.storage.writes import write_together
from core.links import Link
from core.models import PlatformEvent
from core.task_queue import TRANSLATE_TASK, TRANSLATION_QUEUE, TaskQueue

from .drafts import Drafts
from .moderation.stage import Moderated
from .notices import held_for_moderator
from .rights import note_authored_into, person


@dataclass(frozen=True)
class Held:
    hold_id: str
    link_id: str
    event: PlatformEvent
    author: str  # "telegram:5001"


# Crockford's base32, lower case: no i, l, o, u to mistake for 1, 1, 0 or v.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
ID_LENGTH = 13  # 65 random bits
_ID = re.compile(f"[{ALPHABET}]{{{ID_LENGTH}}}")
_LOOKALIKES = str.maketrans({"i": "1", "l": "1", "o": "0"})


def new_hold_id() -> str:
    bits = secrets.randbits(5 * ID_LENGTH)
    return "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(ID_LENGTH))


def normalise_id(typed: str) -> str | None:
    """The hold ID a moderator typed ("#7K3…", with look-alike letters), or None
    when it cannot be one (then nothing is looked up)."""
    candidate = typed.strip().lstrip("#").lower().translate(_LOOKALIKES)
    return candidate if _ID.fullmatch(candidate) else None


def hold(redis, keys: Keys, event: PlatformEvent, link: Link, allowed: Moderated, shown_as: str) -> tuple[str, list]:
    """Store ``event`` for ``link``'s moderators and queue the notices to them, once
    (a second call for the same event and link changes nothing). Returns the hold
    ID and the notices queued by this call."""
    author = f"{event.source.platform}:{event.author.id}"
    record = stored_holds.record(link.id, author, event, shown_as, allowed.text)
    member = person(redis, keys, author)
    while True:
        hold_id = new_hold_id()
        # Tagged with the author: their erasure finds and deletes these copies at the moderators.
        notices = [
            replace(n, author=member, written_at=event.timestamp)
            for n in (
                held_for_moderator(
                    m,
                    hold_id,
                    link.id,
                    shown_as,
                    allowed.text,
                    allowed.attachments,
                    link.policy.retention_days,
                    event.source,
                    allowed.shared,  # as the policy lets them cross: withheld where the relay withholds them
                )
                for m in link.policy.moderators
            )
            if n is not None
        ]
        got, created = stored_holds.hold(
            redis, keys, link.id, event.dedup_key, hold_id, record, link.policy.retention_days, notices
        )
        if got:
            break
    if not created:
        return got, []
    # One round trip for the index entry and the audit entry.
    write_together(
        redis,
        lambda pipe: note_authored_into(pipe, keys, author, f"held|{hold_id}", link.policy.retention_days),
        lambda pipe: audit.record_into(
            pipe,
            keys,
            link.id,
            "held",
            subject=member,
            detail=f"id={hold_id}",
            retention_days=link.policy.retention_days,
        ),
    )
    return hold_id, notices


def load(redis, keys: Keys, hold_id: str) -> Held | None:
    """The held item with this ID (as typed), or None."""
    normalised = normalise_id(hold_id)
    data = stored_holds.load(redis, keys, normalised) if normalised else None
    if not data or not normalised:
        return None
    return Held(normalised, data["link_id"], PlatformEvent.from_dict(data["event"]), data["author"])


def release(redis, keys: Keys, held: Held, drafts: Drafts, after: dict, moderator: str, retention_days: int) -> bool:
    """Remove the held item and hand its approved ``drafts`` (with ``after``, the records
    after publishing) to the translation stage, atomically: the translation worker is the
    only translator, also of approved messages. False if it was decided before (by
    another moderator, or a run that died after releasing it). Then the index and the audit."""
    tasks = TaskQueue.for_prefix(keys.prefix, TRANSLATION_QUEUE)
    # No ingress entry: the hold's release mark stands in for it (Drafts.hold_id).
    message = tasks.message(TRANSLATE_TASK, [replace(drafts, hold_id=held.hold_id).to_dict(), "", after])
    if not stored_holds.release(redis, keys, held.hold_id, tasks.key, message, retention_days):
        return False
    _settled(redis, keys, held, "approved", moderator, retention_days)
    return True


def settle(redis, keys: Keys, held: Held, decision: str, moderator: str, retention_days: int) -> bool:
    """Remove the held item (once: False if another moderator was first) and audit the decision."""
    if not stored_holds.remove(redis, keys, held.hold_id):
        return False
    _settled(redis, keys, held, decision, moderator, retention_days)
    return True


def _settled(redis, keys: Keys, held: Held, decision: str, moderator: str, retention_days: int) -> None:
    members.forget_authored(redis, keys, held.author, f"held|{held.hold_id}")
    # People by person key only (a moderator too): the audit names nobody by platform id.
    audit.record(
        redis,
        keys,
        held.link_id,
        decision,
        subject=person(redis, keys, held.author),
        detail=f"id={held.hold_id} by={person(redis, keys, moderator)}",
        retention_days=retention_days,
    )
