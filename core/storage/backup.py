"""`twinbridge backup` / `twinbridge restore`: the install's Redis state as a file.

The file: gzip-compressed JSON lines. The first line is the header (``format``,
``version``, ``twinbridge``, ``prefix``, ``schema``, ``created_at``), then one line per key
(``k``: the key without the prefix, ``t``: its remaining TTL in ms at backup time or -1
for none, ``v``: Redis's DUMP of it, base64), and a last line ``{"end": true, "keys": N}``
so a cut-off file is refused. Keys are read with SCAN in batches (never all of them at
once) and written to a temporary file renamed into place when complete (mode 0600: it
holds personal data). Which key families are kept and why: :data:`FAMILIES` (the table
in docs/operations.md, "Backups and upgrades")."""

from __future__ import annotations

import base64
import fnmatch
import gzip
import inspect
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .keys import Keys
from .migrations import CURRENT, stored_version

FORMAT = "twinbridge-backup"
VERSION = 1
BATCH = 500

_K = Keys("")  # the families' patterns, without a prefix
_ANY = "*"


@dataclass(frozen=True)
class Family:
    name: str  # the Keys method
    pattern: str  # fnmatch pattern of the key without the prefix
    kept: bool
    why: str


def _f(name: str, kept: bool, why: str) -> Family:
    """The family of ``Keys.<name>``: its key with "*" for each part it is given."""
    method = getattr(_K, name)
    return Family(name, method(*[_ANY] * len(inspect.signature(method).parameters)), kept, why)


_STATE = "state"
_PIPELINE = "accepted work not yet done (an upgrade loses nothing)"
# Most specific first: the first pattern that matches a key names its family.
FAMILIES: tuple[Family, ...] = (
    _f("schema", False, "written by restore from the file's header"),
    _f("person_salt", True, "configuration: person keys depend on it"),
    _f("webhooks", True, "configuration-like: the Discord webhooks made"),
    _f("link_pause", True, "link control (a pause)"),
    _f("console_signin", False, "a sign-in link of ten minutes"),
    _f("console_session", False, "a console session of hours: signing in again is the way back"),
    _f("ingress_sweep_lock", False, "a lock of a few seconds"),
    _f("announcement_sweep_lock", False, "a lock of a few seconds"),
    _f("scheduler_alive", False, "a running scheduler's liveness mark"),
    _f("adapter_lease", False, "a running adapter's lease"),
    _f("heartbeats", False, "heartbeats of running processes"),
    _f("heartbeat", False, "a running process's heartbeat"),
    _f("rate_limit", False, "rate-limit bookings (seconds to minutes)"),
    _f("translation", False, "a cache: translated again when needed"),
    _f("stats", False, "counters"),
    _f("link_last_relayed", False, "activity figures for /status (rebuilt by traffic)"),
    _f("link_relayed_on", False, "activity counters for /status"),
    _f("rsvp_refresh", False, "a gate of a few seconds"),
    _f("broker_prefix", True, _PIPELINE + ": Celery's queues and unacknowledged tasks"),
    _f("ingress", True, _PIPELINE),
    _f("seen", True, "deduplication of platform events"),
    _f("in_flight", True, _PIPELINE),
    _f("seq", True, "order: each chat's position counter"),
    _f("pending_commands", True, _PIPELINE),
    _f("outbox", True, _PIPELINE),
    _f("delivered", True, "delivery deduplication"),
    _f("refusal_told", True, _STATE),
    _f("idmap", True, "id maps"),
    _f("copy_files", True, "id maps (files per copy)"),
    _f("intents", True, "posts about to be sent (no duplicate after a crash)"),
    _f("origin", True, "id maps (reverse)"),
    _f("albums_due", True, _PIPELINE),
    _f("album_parts", True, _PIPELINE),
    _f("album_done", True, _STATE),
    _f("album_of", True, "id maps (album parts)"),
    _f("cursor", True, "order: last position delivered"),
    _f("dead_letters", True, "dead letters (old stream, moved on use)"),
    _f("dead_letter_index", True, "dead letters"),
    _f("dead_letters_of_link", True, "dead letters"),
    _f("dead_letters_of_author", True, "dead letters"),
    _f("dead_letter_salt", True, "dead letters (old salt, re-filed on use)"),
    _f("dead_letter", True, "dead letters"),
    _f("consent", True, "consents"),
    _f("explained", True, _STATE),
    _f("held", True, "holds"),
    _f("released", True, "holds (approved, being published)"),
    _f("hold_ref", True, "holds"),
    _f("held_of_link", True, "holds"),
    _f("pseudonym_claim", True, "pseudonyms' claims"),
    _f("pseudonym", True, "pseudonyms"),
    _f("authored", True, "what a member wrote (/mydata, erasure)"),
    _f("audit", True, "the decisions log"),
    _f("erased", True, "erasure tombstones"),
    _f("erasure", True, "erasures under way"),
    _f("notices_about", True, "what erasure takes back"),
    _f("quoted_in", True, "what erasure takes back"),
    _f("rsvp_choices", True, "RSVPs"),
    _f("rsvp_counts", True, "RSVPs"),
    _f("rsvps_of", True, "RSVPs"),
    _f("rsvp_shown", True, "RSVPs"),
    _f("reactions_due", True, _PIPELINE),
    _f("reaction_line", True, _STATE),
    _f("reactions_shown", True, _STATE),
    _f("reactions", True, "reaction counts"),
    _f("avatar_token", True, "avatars index"),
    _f("avatar", True, "avatars"),
    _f("announcements_of_link", True, "announcements"),
    _f("announcement_schedule", True, "announcements (what is still to fire)"),
    _f("announcement_fired", True, "announcements"),
    _f("announcement_firing", True, _PIPELINE),
    _f("announcement_request", True, "announcements (no duplicate for ten minutes)"),
    _f("announcement_posts", True, "announcements (copies)"),
    _f("announcement", True, "announcements"),
    _f("discord_last_seen", True, "Discord catch-up"),
    _f("discord_accepted", True, "Discord catch-up"),
    _f("discord_guild_event", True, "announcements (Discord events)"),
    _f("thread_map", True, "thread/topic twins"),
    _f("copy_thread", True, "thread/topic twins"),
)
# Keys methods that name no key family of their own (patterns and prefixes for SCAN).
# adapter_token_lease: outside every prefix (one per bot token, across deployments), so a
# backup of the prefix never sees it; a running adapter's lease would not be kept anyway.
NOT_FAMILIES = frozenset({"erasures", "announcement_firings", "everything", "in_flight_prefix", "adapter_token_lease"})


# Families named by a member's person key alone ("p:" and hex digits).
PERSON_KEYED = frozenset({"avatar", "rsvps_of", "notices_about", "dead_letters_of_author"})


def family_of(key: str) -> Family | None:
    """The family of ``key`` (without the prefix), or None when none matches."""
    for family in FAMILIES:
        if fnmatch.fnmatchcase(key, family.pattern):
            return family
    return None


class BackupError(Exception):
    """A file that cannot be restored (the message says why and what to do)."""


@dataclass
class Outcome:
    counts: Counter = field(default_factory=Counter)
    user_refs: set[str] = field(default_factory=set)  # members whose data came back
    persons: set[str] = field(default_factory=set)  # person keys whose own keys came back
    header: dict = field(default_factory=dict)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("twinbridge")
    except PackageNotFoundError:
        return "unknown"


def _scan(redis, keys: Keys) -> Iterator[list[bytes]]:
    cursor = 0
    while True:
        cursor, batch = redis.scan(cursor=cursor, match=keys.everything(), count=BATCH)
        if batch:
            yield batch
        if cursor == 0:
            return


def backup(redis, keys: Keys, path: Path, now: float | None = None) -> Counter:
    """Write the kept keys of this install to ``path`` (``redis``: a client that returns
    bytes). Returns counts: ``kept`` (written), ``skipped`` (families not kept), ``gone``
    (expired while read), ``unclassified`` (written too: no family names them)."""
    created = time.time() if now is None else now
    counts: Counter = Counter()
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=int(created)) as out:
            header = {
                "format": FORMAT,
                "version": VERSION,
                "twinbridge": _version(),
                "prefix": keys.prefix,
                "schema": stored_version(redis, keys) or 1,
                "created_at": created,
            }
            out.write(json.dumps(header).encode() + b"\n")
            start = len(keys.prefix)
            for batch in _scan(redis, keys):
                wanted: list[tuple[bytes, str]] = []
                for raw_key in batch:
                    try:
                        name = raw_key.decode()[start:]
                    except UnicodeDecodeError:
                        counts["undecodable"] += 1
                        continue
                    family = family_of(name)
                    if family is None:
                        counts["unclassified"] += 1
                    elif not family.kept:
                        counts["skipped"] += 1
                        continue
                    wanted.append((raw_key, name))
                if not wanted:
                    continue
                read = redis.pipeline(transaction=False)
                for raw_key, _ in wanted:
                    read.pttl(raw_key)
                    read.dump(raw_key)
                replies = read.execute()
                for (_, name), ttl, dumped in zip(wanted, replies[::2], replies[1::2], strict=True):
                    if dumped is None or ttl == -2:
                        counts["gone"] += 1
                        continue
                    line = {"k": name, "t": int(ttl), "v": base64.b64encode(dumped).decode()}
                    out.write(json.dumps(line).encode() + b"\n")
                    counts["kept"] += 1
            out.write(json.dumps({"end": True, "keys": counts["kept"]}).encode() + b"\n")
            out.flush()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return counts


def _lines(path: Path) -> Iterator[dict]:
    try:
        with gzip.open(path, "rb") as stream:
            for number, line in enumerate(stream, 1):
                try:
                    yield json.loads(line)
                except ValueError:
                    raise BackupError(f"{path}: line {number} is not JSON; the file is damaged") from None
    except (OSError, EOFError) as exc:
        raise BackupError(f"{path}: not a readable twinbridge backup ({exc.__class__.__name__}: {exc})") from None


def read_header(path: Path) -> dict:
    """The file's header, after reading the whole file once (a cut-off or damaged file, or
    one of an unknown format version, raises :class:`BackupError`)."""
    lines = _lines(path)
    header = next(lines, None)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path}: not a twinbridge backup (no header)")
    if header.get("version") != VERSION:
        raise BackupError(
            f"{path}: backup file format version {header.get('version')!r}, this twinbridge reads version "
            f"{VERSION}; restore it with the twinbridge that wrote it ({header.get('twinbridge')})"
        )
    for count, line in enumerate(lines):
        if line.get("end"):
            if line.get("keys") != count:
                raise BackupError(f"{path}: says {line.get('keys')} keys but holds {count}; the file is damaged")
            return header
        if not isinstance(line.get("k"), str) or not isinstance(line.get("v"), str):
            raise BackupError(f"{path}: a line without a key; the file is damaged")
    raise BackupError(f"{path}: the file ends before its last line (cut off while written or copied)")


def _user_ref(family: Family | None, name: str) -> str | None:
    """The member a key of a member-keyed family names (by their platform ref: the key's
    last two parts, "telegram:5001")."""
    if family is None or family.name not in ("consent", "explained", "pseudonym", "authored"):
        return None
    platform, user_id = ([""] + name.split(":"))[-2:]
    return f"{platform}:{user_id}" if platform in ("telegram", "discord") and user_id.isdigit() else None


def live_tombstones(redis, keys: Keys) -> dict[str, bytes]:
    """person key -> erasure time of every tombstone in the live Redis (before a restore)."""
    pattern = keys.erased(_ANY)
    found: dict[str, bytes] = {}
    start = len(keys.erased(""))
    for batch in _scan_match(redis, pattern):
        values = redis.mget(batch)
        for key, value in zip(batch, values, strict=True):
            if value is not None:
                found[(key.decode() if isinstance(key, bytes) else key)[start:]] = value
    return found


def _scan_match(redis, pattern: str) -> Iterator[list]:
    cursor = 0
    while True:
        cursor, batch = redis.scan(cursor=cursor, match=pattern, count=BATCH)
        if batch:
            yield batch
        if cursor == 0:
            return


def restore(redis, keys: Keys, path: Path, *, replace: bool = False, now: float | None = None) -> Outcome:
    """Restore the keys of a backup file (already checked with :func:`read_header`) under
    ``keys.prefix``. Each key gets what is left of its TTL (a key whose time ran out since
    the backup is not restored); a key that exists is left as it is unless ``replace``.
    The caller re-applies live erasures (see :func:`reopen_erasure`)."""
    current = time.time() if now is None else now
    outcome = Outcome()
    counts = outcome.counts
    lines = _lines(path)
    header = next(lines)
    outcome.header = header
    elapsed_ms = max(0, int((current - float(header["created_at"])) * 1000))
    batch: list[tuple[str, int, bytes]] = []

    def flush() -> None:
        write = redis.pipeline(transaction=False)
        for name, ttl, value in batch:
            write.restore(keys.prefix + name, ttl, value, replace=replace)
        for (name, _, _), reply in zip(batch, write.execute(raise_on_error=False), strict=True):
            if isinstance(reply, Exception):
                if "BUSYKEY" in str(reply):
                    counts["live_kept"] += 1
                else:
                    counts["failed"] += 1
            else:
                counts["restored"] += 1
                family = family_of(name)
                user_ref = _user_ref(family, name)
                if user_ref:
                    outcome.user_refs.add(user_ref)
                elif family is not None and family.name in PERSON_KEYED:
                    outcome.persons.add(name[len(family.pattern) - 1 :])
        batch.clear()

    for line in lines:
        if line.get("end"):
            break
        ttl = int(line["t"])
        if ttl >= 0:
            ttl -= elapsed_ms
            if ttl <= 0:
                counts["expired"] += 1
                continue
        else:
            ttl = 0  # no expiry (configuration)
        family = family_of(line["k"])
        if family is not None and not family.kept:
            counts["skipped"] += 1
            continue
        batch.append((line["k"], ttl, base64.b64decode(line["v"])))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    live = stored_version(redis, keys)
    if live is None:
        redis.set(keys.schema(), str(int(header.get("schema", 1))))
    return outcome


def reopen_erasure(redis, keys: Keys, person: str, user_ref: str, erased_at: bytes) -> None:
    """Record an erasure under way for a member erased in the live Redis whose data a
    restore brought back, started when they were erased (so what they wrote since is
    kept): the next erasure run (`workers/erasure.resume`) takes it back again."""
    job = keys.erasure(person)
    ttl = redis.pttl(keys.erased(person))
    write = redis.pipeline(transaction=True)
    write.hset(job, mapping={"user": user_ref, "started": erased_at})
    write.pexpire(job, ttl if ttl and ttl > 0 else 86400 * 1000)
    write.execute()


def schema_of_file(header: dict) -> int:
    return int(header.get("schema", 1))


def known_schema() -> int:
    return CURRENT
