"""Consent and the members' rights: access (/mydata, `twinbridge export`) and
erasure (/forgetme, `twinbridge forget`). Plain functions over Redis.

What the bridge keeps about a member: their consent per link, which of their
messages crossed (ids of the source message and its copies, never text),
their messages waiting for a moderator (with text), and audit entries naming
them. Erasure takes back the relayed copies (delete posts through the
outbox, where the platform still allows it), deletes the rest, and rewrites
the audit entries that named them to "erased".
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from bridge import audit, deadletters
from bridge.keys import DAY, Keys
from bridge.links import LinksConfig
from bridge.models import ChatRef, EventKind, MessageRef, OutboundPost

from .privacy import current_pseudonym, forget_pseudonym

ERASED = "erased"


def has_consent(redis, keys: Keys, link_id: str, user_ref: str) -> bool:
    return bool(redis.exists(keys.consent(link_id, user_ref)))


def give_consent(redis, keys: Keys, link_id: str, user_ref: str, retention_days: int) -> None:
    redis.set(keys.consent(link_id, user_ref), "1", ex=retention_days * DAY)
    redis.delete(keys.explained(link_id, user_ref))
    audit.record(redis, keys, link_id, "consent.given", subject=user_ref, retention_days=retention_days)


def withdraw_consent(redis, keys: Keys, link_id: str, user_ref: str, retention_days: int) -> bool:
    had = bool(redis.delete(keys.consent(link_id, user_ref)))
    audit.record(redis, keys, link_id, "consent.withdrawn", subject=user_ref, retention_days=retention_days)
    return had


def refresh_consent_into(pipe, keys: Keys, link_id: str, user_ref: str, retention_days: int) -> None:
    """Consent lapses only after the link's retention without a message: added to
    ``pipe`` (executed by the caller with the rest that follows a message)."""
    pipe.expire(keys.consent(link_id, user_ref), retention_days * DAY, xx=True)


def note_authored(redis, keys: Keys, user_ref: str, member: str, retention_days: int) -> None:
    """Remember ``member`` ("link|source message", or "held|ID") for the member's
    access and erasure requests. Each entry carries its own expiry (the score),
    so none outlives its link's retention even while the member keeps writing."""
    pipe = redis.pipeline()
    note_authored_into(pipe, keys, user_ref, member, retention_days)
    pipe.execute()


def note_authored_into(pipe, keys: Keys, user_ref: str, member: str, retention_days: int) -> None:
    """``note_authored``'s commands, added to ``pipe`` (executed by the caller:
    a redis-py pipeline cannot hold another one)."""
    key = keys.authored(user_ref)
    now = time.time()
    pipe.zremrangebyscore(key, "-inf", now)
    pipe.zadd(key, {member: now + retention_days * DAY})
    pipe.expire(key, retention_days * DAY, nx=True)
    pipe.expire(key, retention_days * DAY, gt=True)


def authored(redis, keys: Keys, user_ref: str) -> list[str]:
    return redis.zrangebyscore(keys.authored(user_ref), time.time(), "+inf")


def note_crossed(redis, keys: Keys, user_ref: str, link_id: str, source: MessageRef, retention_days: int) -> None:
    note_authored(redis, keys, user_ref, f"{link_id}|{source.key}", retention_days)


def note_crossed_into(pipe, keys: Keys, user_ref: str, link_id: str, source: MessageRef,
                      retention_days: int) -> None:
    """``note_crossed``'s commands, added to ``pipe`` (executed by the caller)."""
    note_authored_into(pipe, keys, user_ref, f"{link_id}|{source.key}", retention_days)


def _days_left(redis, key: str) -> float | None:
    ttl = redis.ttl(key)
    return round(ttl / DAY, 1) if ttl and ttl > 0 else None


def export_user(redis, keys: Keys, config: LinksConfig, user_ref: str, pseudonym_key: str | None) -> dict:
    """Everything stored about ``user_ref`` ("telegram:5001"), as a JSON-ready dict."""
    data: dict = {
        "user": user_ref,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "note": "twinbridge never stores message text except while delivering it and while a message "
                "waits for a moderator; below is everything else it keeps about you.",
        "consent": [], "messages_relayed": [], "held_for_approval": [], "audit_entries": [], "pseudonyms": {},
    }
    for link in config.links:
        key = keys.consent(link.id, user_ref)
        if redis.exists(key):
            data["consent"].append({"link": link.id, "given": True, "lapses_in_days": _days_left(redis, key)})
        pseudonym = current_pseudonym(redis, keys, link.id, user_ref)
        if pseudonym:
            data["pseudonyms"][link.id] = pseudonym
        for entry in audit.entries(redis, keys, link.id):
            if entry.get("subject") == user_ref:
                data["audit_entries"].append({"link": link.id, "at": _when(entry["id"]), "action": entry["action"],
                                              "detail": entry.get("detail", "")})
    for member in sorted(authored(redis, keys, user_ref)):
        kind, _, rest = member.partition("|")
        if kind == "held":
            raw = redis.get(keys.held(rest))
            if raw:
                held = json.loads(raw)
                data["held_for_approval"].append({"id": rest, "link": held["link_id"],
                                                  "text": held["event"].get("text", "")})
            continue
        copies = redis.hgetall(keys.idmap(rest))
        data["messages_relayed"].append({
            "link": kind, "message": rest,
            "copies": {field.partition("|")[2]: json.loads(ids) for field, ids in copies.items()
                       if field.startswith(f"{kind}|")},
            "kept_for_days": _days_left(redis, keys.idmap(rest)),
        })
    return data


def _when(entry_id: str) -> str:
    millis = int(entry_id.split("-")[0])
    return datetime.fromtimestamp(millis / 1000, timezone.utc).isoformat(timespec="seconds")


def erase_user(redis, keys: Keys, config: LinksConfig, user_ref: str) -> dict:
    """Erase what the bridge keeps about ``user_ref``; queue deletes of the relayed
    copies of their messages. Returns what was done (counts, no content)."""
    from .pipeline import send_notices

    done = {"copies_to_delete": 0, "consents": 0, "held": 0, "audit_entries": 0}
    deletes: list[OutboundPost] = []
    touched: set[str] = set()
    for member in authored(redis, keys, user_ref):
        kind, _, rest = member.partition("|")
        if kind == "held":
            done["held"] += redis.delete(keys.held(rest))
            continue
        link = config.link(kind)
        platform, chat_id, message_id = rest.split(":", 2)
        source = MessageRef(platform, chat_id, message_id)
        for field, ids in redis.hgetall(keys.idmap(rest)).items():
            link_id, _, destination = field.partition("|")
            if link_id != kind:
                continue
            touched.add(link_id)
            done["copies_to_delete"] += len(json.loads(ids))
            deletes.append(OutboundPost(kind=EventKind.DELETE, link_id=link_id, destination=ChatRef.parse(destination),
                                        source=source, sender="", community="",
                                        retention_days=link.policy.retention_days if link else 1))
    if deletes:
        send_notices(redis, keys, deletes)  # the adapters delete the copies and their id-map entries
    for link in config.links:
        consents = redis.delete(keys.consent(link.id, user_ref))
        redis.delete(keys.explained(link.id, user_ref))
        forget_pseudonym(redis, keys, link.id, user_ref)
        rewritten = _pseudonymise_audit(redis, keys, link.id, user_ref)
        done["consents"] += consents
        done["audit_entries"] += rewritten
        if consents or rewritten or link.id in touched:
            audit.record(redis, keys, link.id, "erased", subject=ERASED,
                         detail=f"copies={done['copies_to_delete']} consents={consents}",
                         retention_days=link.policy.retention_days)
    redis.delete(keys.authored(user_ref))
    deadletters.forget_author(redis, keys, user_ref)  # parked posts and events: their text, name, id
    return done


def _pseudonymise_audit(redis, keys: Keys, link_id: str, user_ref: str) -> int:
    """Rewrite the entries naming ``user_ref`` to name nobody. A stream entry
    cannot be changed in place: each is removed and appended again, keeping
    its original time in an "at" field."""
    key = keys.audit(link_id)
    changed = 0
    ttl = redis.ttl(key)
    for entry_id, fields in redis.xrange(key):
        if fields.get("subject") != user_ref:
            continue
        pipe = redis.pipeline()
        pipe.xdel(key, entry_id)
        pipe.xadd(key, {**fields, "subject": ERASED, "at": fields.get("at") or _when(entry_id)})
        pipe.execute()
        changed += 1
    if changed and ttl and ttl > 0:
        redis.expire(key, ttl)
    return changed

