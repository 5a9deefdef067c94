"""Messages held for a moderator (``moderation: approve``).

A held message is stored, with its text, until a moderator of its link
decides or the link's retention passes; each moderator listed in the policy
receives it privately with Approve and Reject buttons. Every step is audited.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from bridge import audit
from bridge.keys import DAY, Keys
from bridge.links import Link
from bridge.models import PlatformEvent

from .moderation.stage import Moderated
from .notices import held_for_moderator
from .rights import note_authored_into


@dataclass(frozen=True)
class Held:
    hold_id: str
    link_id: str
    event: PlatformEvent
    author: str  # "telegram:5001"


def hold_id_for(event: PlatformEvent, link_id: str) -> str:
    """The same event held in the same link always gets the same ID, so a task
    run twice (a worker died) holds it once and notifies once."""
    return hashlib.sha256(f"{link_id}|{event.dedup_key}".encode()).hexdigest()[:6]


def hold(redis, keys: Keys, event: PlatformEvent, link: Link, allowed: Moderated, shown_as: str) -> tuple[str, list]:
    """Store ``event`` for ``link``'s moderators; return its ID and the notices to send them."""
    hold_id = hold_id_for(event, link.id)
    author = f"{event.source.platform}:{event.author.id}"
    ttl = link.policy.retention_days * DAY
    record = {"link_id": link.id, "author": author, "event": event.to_dict()}
    if redis.set(keys.held(hold_id), json.dumps(record, ensure_ascii=False), ex=ttl, nx=True):
        pipe = redis.pipeline()  # one round trip for the index entry and the audit entry
        note_authored_into(pipe, keys, author, f"held|{hold_id}", link.policy.retention_days)
        audit.record_into(pipe, keys, link.id, "held", subject=author, detail=f"id={hold_id}",
                          retention_days=link.policy.retention_days)
        pipe.execute()
    notices = [held_for_moderator(m, hold_id, link.id, shown_as, allowed.text, len(allowed.attachments),
                                  link.policy.retention_days) for m in link.policy.moderators]
    return hold_id, [n for n in notices if n is not None]


def load(redis, keys: Keys, hold_id: str) -> Held | None:
    raw = redis.get(keys.held(hold_id.strip().lstrip("#")))
    if not raw:
        return None
    data = json.loads(raw)
    return Held(hold_id.strip().lstrip("#"), data["link_id"], PlatformEvent.from_dict(data["event"]), data["author"])


def settle(redis, keys: Keys, held: Held, decision: str, moderator: str, retention_days: int) -> bool:
    """Remove the held item (once: False if another moderator was first) and audit the decision."""
    if not redis.delete(keys.held(held.hold_id)):
        return False
    redis.zrem(keys.authored(held.author), f"held|{held.hold_id}")
    audit.record(redis, keys, held.link_id, decision, subject=held.author,
                 detail=f"id={held.hold_id} by={moderator}", retention_days=retention_days)
    return True
