"""The dead letters: what could not be delivered or processed, for organisers to see,
retry or purge (`twinbridge dead-letters`).

Two kinds land here:

- a **post** its destination refused for good (bot kicked, channel deleted: 403/404)
  or that failed every delivery attempt (bridge/outbox/delivery.py);
- an **event** the workers could not process: a payload that does not decode, or one
  the pipeline raised on in every bounded retry (workers/failures.py). Parking it
  retires its ingress entry and in-flight marker in the same script, so its chat's
  lane moves on at once.

Each entry is one hash with its own TTL, its link's retention (an old entry never
outlives it because others keep arriving), indexed in sorted sets scored with each
entry's expiry (all entries, per link, per member), pruned whenever they are used.
One link holds at most ``MAX_PER_LINK`` entries and one member at most
``MAX_PER_SENDER``; what is refused is counted (``dead_letters.refused.*``).

An entry keeps the content a retry needs (the text, the sender as shown), so it is
listed without it: text only on an explicit ``show ID --text``. The member is kept
only by their person key (core/persons.py: the one salted hash the bridge names
people by), which is what erasure (``forget_author``) finds their entries by.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass

from . import persons
from .storage import outbox, scripts
from .storage.keys import DAY, Keys
from .models import OutboundPost
from .task_queue import IN_FLIGHT, PROCESS_EVENT_TASK, TaskQueue, new_task_id

POST = "post"
EVENT = "event"
# A pipeline failure is retried this many times (with backoff) before its event is parked.
EVENT_RETRIES = 3
MAX_PER_LINK = 1000
MAX_PER_SENDER = 50


@dataclass(frozen=True)
class Record:
    """A dead letter about to be stored (see ``post_record`` and ``event_record``)."""

    kind: str
    link: str
    source: str  # the source message ("telegram:-100…:42"), ids only
    destination: str  # the destination chat of a post; "" for an event
    what: str  # new | edit | delete | notice
    reason: str
    attempts: int
    payload: dict  # the post or event, text included (what a retry needs)
    author: str  # the member's person key (core/persons.py) or ""
    retention_days: int


@dataclass(frozen=True)
class DeadLetter:
    entry_id: str
    kind: str
    link: str
    source: str
    destination: str
    what: str
    reason: str
    attempts: int
    at: int
    expires: int
    author: str
    payload: dict

    @property
    def age(self) -> str:
        seconds = max(0, int(time.time()) - self.at)
        for unit, size in (("d", DAY), ("h", 3600), ("m", 60)):
            if seconds >= size:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"

    def summary(self) -> str:
        """One line: where, why and how old; never the text or the sender."""
        where = f"{self.source} → {self.destination}" if self.kind == POST else f"{self.source} (not processed)"
        return (
            f"{self.entry_id}  {self.age} ago  link {self.link or '?'}: {self.kind} {self.what} {where}"
            f"  after {self.attempts} attempt(s): {self.reason}"
        )

    def details(self, with_text: bool = False) -> list[str]:
        """``show``: everything but the content, and the content only when asked."""
        lines = [
            f"id:          {self.entry_id}",
            f"kind:        {self.kind} ({self.what})",
            f"link:        {self.link or '?'}",
            f"source:      {self.source}",
        ]
        if self.destination:
            lines.append(f"destination: {self.destination}")
        lines += [
            f"reason:      {self.reason}",
            f"attempts:    {self.attempts}",
            f"parked:      {_when(self.at)} ({self.age} ago)",
            f"expires:     {_when(self.expires)}",
        ]
        if not with_text:
            lines.append("text:        (not shown; `show ID --text` shows it)")
            return lines
        if self.kind == POST:
            lines += [
                f"sender:      {self.payload.get('sender', '')} · {self.payload.get('community', '')}",
                f"text:        {self.payload.get('text', '')}",
            ]
            if self.payload.get("original"):
                lines.append(f"original:    {self.payload['original']}")
        else:
            author = self.payload.get("author")
            author = author if isinstance(author, dict) else {}
            lines += [f"author:      {author.get('display_name', '?')}", f"text:        {self.payload.get('text', '')}"]
        return lines


def _when(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts)) if ts else "?"


# -- members, by person key -------------------------------------------------------------
def event_author(redis, keys: Keys, event_data) -> str:
    """The person key (core/persons.py) of a raw event's author, leniently (the event
    may be malformed): "" when it names none. ``redis``: a synchronous client."""
    source = event_source(event_data)
    try:
        author_id = str(event_data["author"]["id"])
    except (KeyError, TypeError):
        return ""
    return persons.person(redis, keys, f"{source[0]}:{author_id}") if source and author_id else ""


# -- storing ---------------------------------------------------------------------------
def post_record(post: OutboundPost, reason: str, attempts: int) -> Record:
    """A post is filed under the member it carries (``post.author``, a person key), if any."""
    return Record(
        POST,
        post.link_id,
        post.source.key,
        post.destination.key,
        post.kind.value,
        reason,
        attempts,
        post.to_dict(),
        post.author,
        post.retention_days,
    )


def event_record(event_data, link: str, reason: str, attempts: int, author: str, retention_days: int) -> Record:
    source = event_source(event_data)
    what = event_data.get("kind") if isinstance(event_data, dict) else None
    return Record(
        EVENT,
        link,
        ":".join(source) if source else "?",
        "",
        str(what or "?"),
        reason,
        attempts,
        event_data if isinstance(event_data, dict) else {"unreadable": repr(type(event_data))},
        author,
        retention_days,
    )


def event_source(event_data) -> tuple[str, str, str] | None:
    """(platform, chat id, message id) of a raw event dict, leniently (it may be malformed)."""
    try:
        source = event_data["source"]
        return str(source["platform"]), str(source["chat_id"]), str(source["message_id"])
    except (KeyError, TypeError):
        return None


def add(
    redis,
    keys: Keys,
    record: Record,
    *,
    retire: tuple[str, str] | None = None,
    link_cap: int = MAX_PER_LINK,
    sender_cap: int = MAX_PER_SENDER,
    now: float | None = None,
):
    """Store ``record`` (one script, so atomic). ``retire``: (ingress id or IN_FLIGHT or "",
    in-flight marker key) of an event to take out of the ingress stream at the same time.
    Works with a synchronous client (returns -1, 0 or 1, see core/storage/scripts/dead_letter_add.lua) and with an
    asyncio one (returns an awaitable of that)."""
    now = int(now if now is not None else time.time())
    ttl = max(1, record.retention_days) * DAY
    entry_id = secrets.token_hex(6)
    fields = {
        "kind": record.kind,
        "link": record.link,
        "source": record.source,
        "destination": record.destination,
        "what": record.what,
        "reason": record.reason,
        "attempts": str(record.attempts),
        "at": str(now),
        "expires": str(now + ttl),
        "author": record.author,
        "payload": json.dumps(record.payload, ensure_ascii=False),
    }
    ingress_id, in_flight = retire if retire is not None else ("", keys.ingress())  # unused then
    script = scripts.register(redis, "dead_letter_add")
    return script(
        keys=[
            keys.dead_letter(entry_id),
            keys.dead_letter_index(),
            keys.dead_letters_of_link(record.link),
            keys.dead_letters_of_author(record.author or "-"),
            keys.stats(),
            keys.ingress(),
            in_flight,
        ],
        args=[
            now,
            now + ttl,
            ttl,
            link_cap,
            sender_cap,
            entry_id,
            "1" if retire else "0",
            ingress_id,
            "1" if record.author else "0",
            Keys.STATS_TTL,
            *[x for pair in fields.items() for x in pair],
        ],
    )


# -- reading (synchronous: the CLI and the workers) -------------------------------------
def read(redis, keys: Keys, link: str | None = None) -> list[DeadLetter]:
    """Every dead letter (of ``link``), oldest first; entries that expired are pruned from the indexes."""
    _adopt_legacy_stream(redis, keys)
    _refile_legacy_digests(redis, keys)
    index = keys.dead_letters_of_link(link) if link else keys.dead_letter_index()
    redis.zremrangebyscore(index, "-inf", time.time())
    ids = redis.zrange(index, 0, -1)
    pipe = redis.pipeline(transaction=False)
    for entry_id in ids:
        pipe.hgetall(keys.dead_letter(entry_id))
    letters, gone = [], []
    for entry_id, fields in zip(ids, pipe.execute(), strict=True):
        letter = _letter(entry_id, fields)
        if letter is None:
            gone.append(entry_id)
        else:
            letters.append(letter)
    if gone:
        redis.zrem(index, *gone)
    return sorted(letters, key=lambda letter: (letter.at, letter.entry_id))


def count_of_link(redis, keys: Keys, link: str) -> int:
    """How many of ``link``'s dead letters have not expired (organisers' /status): one call."""
    return int(redis.zcount(keys.dead_letters_of_link(link), f"({time.time()}", "+inf"))


def get(redis, keys: Keys, entry_id: str) -> DeadLetter | None:
    return _letter(entry_id, redis.hgetall(keys.dead_letter(entry_id)))


def _letter(entry_id: str, fields: dict) -> DeadLetter | None:
    if not fields:
        return None
    try:
        payload = json.loads(fields.get("payload") or "{}")
    except ValueError:
        payload = {}
    return DeadLetter(
        entry_id,
        fields.get("kind", POST),
        fields.get("link", ""),
        fields.get("source", "?"),
        fields.get("destination", ""),
        fields.get("what", "?"),
        fields.get("reason", "?"),
        int(fields.get("attempts") or 0),
        int(fields.get("at") or 0),
        int(fields.get("expires") or 0),
        fields.get("author", ""),
        payload,
    )


def counts(letters: list[DeadLetter]) -> Counter:
    """How many per (link, reason): what `dead-letters list` shows first."""
    return Counter((letter.link or "?", letter.reason) for letter in letters)


def refused(redis, keys: Keys) -> dict[str, int]:
    """How many dead letters the caps refused (counters; not per link: no ids kept)."""
    stats = redis.hgetall(keys.stats())
    return {name.rpartition(".")[2]: int(n) for name, n in stats.items() if name.startswith("dead_letters.refused.")}


def _selected(redis, keys, entry_ids, link) -> list[DeadLetter]:
    letters = read(redis, keys, link)
    return [letter for letter in letters if not entry_ids or letter.entry_id in entry_ids]


def _remove_into(pipe, keys: Keys, letter: DeadLetter) -> None:
    pipe.delete(keys.dead_letter(letter.entry_id))
    pipe.zrem(keys.dead_letter_index(), letter.entry_id)
    pipe.zrem(keys.dead_letters_of_link(letter.link), letter.entry_id)
    if letter.author:
        pipe.zrem(keys.dead_letters_of_author(letter.author), letter.entry_id)


# -- acting on them ----------------------------------------------------------------------
def retry(
    redis, keys: Keys, entry_ids: list[str] | None = None, *, tasks: TaskQueue | None = None, link: str | None = None
) -> int:
    """Send dead letters (all, those of ``link``, or the ids given) on again: a post back
    into its platform's outbox, an event back into the ingress stream with a task for the
    workers (``tasks``; without it events stay). Returns how many."""
    count = 0
    for letter in _selected(redis, keys, entry_ids, link):
        with redis.pipeline(transaction=True) as pipe:
            if letter.kind == POST:
                post = OutboundPost.from_dict(letter.payload)
                # The delivered marker must not stop the retry of a post that never arrived.
                pipe.delete(keys.delivered(post.delivery_key))
                outbox.append_into(pipe, keys, post, stored=letter.payload)  # its author inside
            elif tasks is None or not _requeue_event_into(pipe, redis, keys, tasks, letter):
                continue
            _remove_into(pipe, keys, letter)
            pipe.execute()
        count += 1
    return count


def _requeue_event_into(pipe, redis, keys: Keys, tasks: TaskQueue, letter: DeadLetter) -> bool:
    """An event goes back the way the adapters hand it in: at a new position of its chat
    (the lanes have moved on from the old one), in the ingress stream with an in-flight
    marker naming its entry, with its task. False when the event has no readable source."""
    source = event_source(letter.payload)
    if source is None:
        return False
    chat = f"{source[0]}:{source[1]}"
    ttl = max(1, letter.expires - int(time.time()))
    seq = redis.incr(keys.seq(chat))
    if redis.ttl(keys.seq(chat)) < ttl:  # also when INCR just made it (no TTL yet)
        redis.expire(keys.seq(chat), ttl)
    data = {**letter.payload, "seq": seq}
    script = scripts.register(redis, "dead_letter_requeue")
    task_id = new_task_id()  # named in the entry, so the ingress sweeper can tell it is queued
    script(
        keys=[keys.ingress(), keys.in_flight(chat, seq), tasks.key],
        args=[
            json.dumps(data, ensure_ascii=False),
            ttl,
            tasks.message(PROCESS_EVENT_TASK, [data, IN_FLIGHT], task_id),
            task_id,
        ],
        client=pipe,
    )
    return True


def purge(redis, keys: Keys, entry_ids: list[str] | None = None, *, link: str | None = None) -> int:
    letters = _selected(redis, keys, entry_ids, link)
    pipe = redis.pipeline(transaction=True)
    for letter in letters:
        _remove_into(pipe, keys, letter)
    pipe.execute()
    return len(letters)


def forget_author(redis, keys: Keys, user_ref: str) -> int:
    """Erasure: remove every dead letter of ``user_ref`` (their text, their name as shown,
    their id inside a parked event), found by their person key. Returns how many."""
    _adopt_legacy_stream(redis, keys)
    _refile_legacy_digests(redis, keys)
    by_author = keys.dead_letters_of_author(persons.person(redis, keys, user_ref))
    ids = redis.zrange(by_author, 0, -1)
    removed = 0
    for entry_id in ids:
        letter = get(redis, keys, entry_id)
        if letter is not None:
            pipe = redis.pipeline(transaction=True)
            _remove_into(pipe, keys, letter)
            pipe.execute()
            removed += 1
    redis.delete(by_author)
    return removed


def _adopt_legacy_stream(redis, keys: Keys) -> None:
    """Move the entries of the old single stream (before issue 12: one stream whose TTL
    every write reset) into per-entry hashes with their own expiry; then drop it.
    Those posts carry no author digest: they expire with their retention."""
    legacy = keys.dead_letters()
    if redis.type(legacy) != "stream":
        return
    now = time.time()
    for _entry_id, fields in redis.xrange(legacy):
        try:
            post = OutboundPost.from_dict(json.loads(fields["post"]))
            at = int(fields.get("at") or now)
        except (KeyError, ValueError, TypeError):
            continue
        left = at + post.retention_days * DAY - now
        if left > 0:
            record = post_record(post, fields.get("reason", "?"), int(fields.get("attempts") or 0))
            add(redis, keys, record, link_cap=10**9, sender_cap=10**9, now=at)
    redis.delete(legacy)


def _refile_legacy_digests(redis, keys: Keys) -> None:
    """Entries written while the dead letters had a salt of their own (``dead:salt``)
    name their member by a digest under it: file each under the member's person key
    instead, worked out from what the entry holds (a post's own author, or the member
    a notice went to privately; an event's author), then drop that salt. An entry that
    names nobody keeps no author and expires with its retention. Runs once (while the
    old salt exists); running it twice harms nothing."""
    legacy_salt = keys.dead_letter_salt()
    if not redis.exists(legacy_salt):
        return
    now = time.time()
    redis.zremrangebyscore(keys.dead_letter_index(), "-inf", now)
    for entry_id in redis.zrange(keys.dead_letter_index(), 0, -1):
        letter = get(redis, keys, entry_id)
        if letter is None or not letter.author or letter.author.startswith(persons.PREFIX):
            continue
        author = _person_in(redis, keys, letter)
        pipe = redis.pipeline(transaction=True)
        pipe.delete(keys.dead_letters_of_author(letter.author))
        pipe.hset(keys.dead_letter(entry_id), "author", author)
        if author:
            pipe.zadd(keys.dead_letters_of_author(author), {entry_id: letter.expires})
        pipe.execute()
        if author:  # the index lives as long as its longest-lived entry
            by_author, left = keys.dead_letters_of_author(author), max(1, letter.expires - int(now))
            if redis.ttl(by_author) < left:
                redis.expire(by_author, left)
    redis.delete(legacy_salt)


def _person_in(redis, keys: Keys, letter: DeadLetter) -> str:
    if letter.kind == EVENT:
        return event_author(redis, keys, letter.payload)
    author = letter.payload.get("author") or ""
    if isinstance(author, str) and author.startswith(persons.PREFIX):
        return author
    private_to, destination = letter.payload.get("private_to"), letter.payload.get("destination")
    if private_to and isinstance(destination, dict) and destination.get("platform"):
        return persons.person(redis, keys, f"{destination['platform']}:{private_to}")
    return ""
