"""Organisers' announcements (sync client): the stored announcement (its JSON and its
state), each link's index of them, the schedule of what is still to fire, and the
hand-over to the fire task (`twinbridge.fire_announcement(id, what)` on the moderation
queue), which happens once per announcement and ``what`` however often it is asked for.

``what`` is ``"fire"`` (the notice itself) or ``"remind:SECONDS"`` (a reminder that many
seconds before the event). Handing one over sets its firing marker and pushes the task
in one script; the script that publishes the posts retires the marker (:func:`retire_firing`,
or the same lines in the publishing script), so the notice is published once even when
the task runs twice, and not at all once cancelled.

Everything expires with the announcement: the event's end (or start, or the time it is
sent, whichever is latest) plus the link's retention.
"""

from __future__ import annotations

import json
import secrets

from ..announcements import CANCELLED, SCHEDULED, Announcement
from ..task_queue import (
    FIRE_ANNOUNCEMENT_TASK,
    MODERATION_QUEUE,
    TaskQueue,
    handed_over_id,
    new_task_id,
)
from . import scripts
from .keys import DAY, Keys

FIRE = "fire"
REMIND = "remind:"
# Short, typeable ids ("/announcements cancel a7k2m9"): no letters read as others (0/o, 1/l/i).
ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
ID_LENGTH = 6
REQUEST_TTL = 600  # how long the same `twinbridge announce` command makes nothing new


def new_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def remind(seconds: int) -> str:
    """The ``what`` of the reminder ``seconds`` before the event."""
    return f"{REMIND}{int(seconds)}"


def firings(announcement: Announcement) -> list[tuple[str, float]]:
    """Every ``what`` of ``announcement`` with when it is due: the notice at ``at``, each
    reminder its seconds before the event's start (none without an event)."""
    due = [(FIRE, announcement.at)]
    if announcement.event is not None:
        due += [(remind(seconds), announcement.event.start - seconds) for seconds in announcement.reminders]
    return due


def expires_at(announcement: Announcement, retention_days: int) -> float:
    """When the announcement and everything of it expire."""
    event = announcement.event
    last = max(announcement.at, event.start if event else 0.0, (event.end or 0.0) if event else 0.0)
    return last + max(1, retention_days) * DAY


def save(
    redis, keys: Keys, announcement: Announcement, retention_days: int, now: float, request: str = ""
) -> str | None:
    """Store ``announcement`` (new, state SCHEDULED) and file it under its link; its id.
    With ``request`` (a digest of the command that asked for it), the same request made
    within REQUEST_TTL returns the id the first one stored and stores nothing. None when
    its id is taken by another announcement (draw another with :func:`new_id`)."""
    data = announcement.to_dict()
    data.pop("state")
    stored_keys = [keys.announcement(announcement.id), keys.announcements_of_link(announcement.link_id)]
    args = [
        announcement.id,
        json.dumps(data, ensure_ascii=False, sort_keys=True),
        SCHEDULED,
        int(expires_at(announcement, retention_days)) + 1,
        now,
    ]
    if request:
        stored_keys.append(keys.announcement_request(request))
        args.append(REQUEST_TTL)
    got = scripts.run(redis, "announcement_save", stored_keys, args)
    return _text(got) if got else None


def load(redis, keys: Keys, announcement_id: str) -> Announcement | None:
    return _announcement(redis.hgetall(keys.announcement(announcement_id)))


def of_link(redis, keys: Keys, link_id: str, now: float) -> list[Announcement]:
    """The link's announcements not yet expired, the earliest ``at`` first."""
    index = keys.announcements_of_link(link_id)
    redis.zremrangebyscore(index, "-inf", now)
    ids = [_text(i) for i in redis.zrange(index, 0, -1)]
    read = redis.pipeline(transaction=False)
    for announcement_id in ids:
        read.hgetall(keys.announcement(announcement_id))
    found = [a for a in (_announcement(raw) for raw in read.execute()) if a is not None]
    return sorted(found, key=lambda a: (a.at, a.created))


def schedule(redis, keys: Keys, announcement: Announcement, retention_days: int) -> int:
    """Put every firing of the stored ``announcement`` on the schedule (the scheduler
    hands each over when due: :func:`claim_due`); what was handed over already is left
    out, so asking twice schedules nothing twice. The number of entries added (0 when
    the announcement is gone or cancelled)."""
    args: list = [int(expires_at(announcement, retention_days)) + 1]
    for what, due in firings(announcement):
        args += [_entry(announcement.id, what), due]
    return int(
        scripts.run(
            redis,
            "announcement_schedule",
            [
                keys.announcement_schedule(),
                keys.announcement(announcement.id),
                keys.announcement_fired(announcement.id),
            ],
            args,
        )
    )


def enqueue_fire(redis, keys: Keys, announcement_id: str, what: str = FIRE) -> int:
    """Hand ``what`` of the announcement to the fire task now (its firing marker and the
    task, in one script; off the schedule if it was there): 1 when handed over, 0 when it
    was before, -1 when the announcement is gone, -2 when cancelled."""
    return _fire(redis, keys, announcement_id, what, claim=False) or 0


def claim_due(redis, keys: Keys, now: float, limit: int = 100) -> list[tuple[str, str, int]]:
    """Hand over what is due by ``now`` (at most ``limit``): each entry leaves the schedule
    in the script that sets its marker and pushes its task, so a scheduler killed at any
    point neither loses nor doubles one, and of two schedulers only one takes an entry.
    Returns (id, what, outcome) for each entry this call took (outcome as enqueue_fire's)."""
    taken = []
    for entry in redis.zrangebyscore(keys.announcement_schedule(), "-inf", now, start=0, num=limit):
        announcement_id, _, what = _text(entry).partition("|")
        outcome = _fire(redis, keys, announcement_id, what, claim=True)
        if outcome is not None:  # None: another scheduler took it
            taken.append((announcement_id, what, outcome))
    return taken


def next_due(redis, keys: Keys) -> float | None:
    """When the earliest scheduled entry is due (None: nothing scheduled)."""
    first = redis.zrange(keys.announcement_schedule(), 0, 0, withscores=True)
    return float(first[0][1]) if first else None


# -- lost fire tasks -----------------------------------------------------------------------
# A worker can die between taking a task off the queue and kombu noting it as held (the one
# window where a task is nowhere, docs/architecture.md): the firing marker then stays and
# nothing would ever publish it. The scheduler looks for such markers (:func:`lost_firings`)
# and pushes their task again under the same id (:func:`refire`).


def take_sweep_turn(redis, keys: Keys, seconds: int) -> bool:
    """Whether this scheduler may look for lost fire tasks now (one at a time)."""
    return bool(redis.set(keys.announcement_sweep_lock(), "1", nx=True, ex=seconds))


def firings_under_way(redis, keys: Keys) -> list[tuple[str, str, str]]:
    """(id, what, fire task id) of every firing handed over and not yet published."""
    head = len(keys.announcement_firings()) - 1
    markers = list(redis.scan_iter(match=keys.announcement_firings(), count=1000))
    if not markers:
        return []
    task_ids = redis.mget(markers)
    found = []
    for marker, task_id in zip(markers, task_ids, strict=True):
        announcement_id, _, what = _text(marker)[head:].partition(":")
        if task_id:
            found.append((announcement_id, what, _text(task_id)))
    return found


def lost_firings(redis, keys: Keys, under_way: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Those of the firings ``under_way`` whose task is nowhere a worker will run it from:
    neither the fire task nor the translation task it hands over (the same id, derived)
    waits in a queue or is held by a worker."""
    if not under_way:
        return []
    # The moderation queue, with the legacy and translation queues and kombu's held messages.
    queues = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE)
    wanted = [i for _, _, task_id in under_way for i in (task_id, handed_over_id(task_id))]
    found = set(
        scripts.run(
            redis,
            "ingress_find_tasks",
            [queues.key, *queues.other_keys, str(queues.unacked_key)],
            wanted,
        )
    )
    return [
        (announcement_id, what, task_id)
        for announcement_id, what, task_id in under_way
        if task_id not in found and handed_over_id(task_id) not in found
    ]


def refire(redis, keys: Keys, announcement_id: str, what: str, task_id: str) -> bool:
    """Push the fire task ``task_id`` again, if its marker still names it."""
    queue = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE)
    return bool(
        scripts.run(
            redis,
            "announcement_refire",
            [keys.announcement_firing(announcement_id, what), queue.key],
            [task_id, queue.message(FIRE_ANNOUNCEMENT_TASK, [announcement_id, what], task_id)],
        )
    )


def scheduler_beat(redis, keys: Keys, seconds: int) -> None:
    """Say a scheduler is polling, for ``seconds``."""
    redis.set(keys.scheduler_alive(), "1", ex=seconds)


def scheduler_running(redis, keys: Keys) -> bool:
    """Whether a scheduler polled within the last few seconds."""
    return bool(redis.exists(keys.scheduler_alive()))


def cancel(redis, keys: Keys, announcement_id: str) -> str:
    """Cancel the announcement: its schedule entries go, and what was handed to the fire
    task but not yet published is not published. The state it had ("" when there is no
    such announcement; CANCELLED when it was cancelled before)."""
    announcement = load(redis, keys, announcement_id)
    if announcement is None:
        return ""
    whats = [what for what, _ in firings(announcement)]
    return _text(
        scripts.run(
            redis,
            "announcement_cancel",
            [
                keys.announcement(announcement_id),
                keys.announcement_schedule(),
                *(keys.announcement_firing(announcement_id, what) for what in whats),
            ],
            [_entry(announcement_id, what) for what in whats],
        )
    )


def firing_marker(keys: Keys, announcement_id: str, what: str) -> str:
    """The key of ``what``'s firing marker: present while it is handed over and not yet
    published. A script that publishes an announcement's posts deletes it in the same
    script (and publishes nothing when it is gone), as :func:`retire_firing` does."""
    return keys.announcement_firing(announcement_id, what)


def retire_firing(redis, keys: Keys, announcement_id: str, what: str) -> bool:
    """Retire ``what``'s firing marker (and mark a scheduled announcement sent when
    ``what`` is FIRE); False when it was gone: published before, or cancelled."""
    return bool(
        scripts.run(
            redis,
            "announcement_retire_firing",
            [keys.announcement_firing(announcement_id, what), keys.announcement(announcement_id)],
            [what],
        )
    )


def is_cancelled(announcement: Announcement | None) -> bool:
    return announcement is None or announcement.state == CANCELLED


def _fire(redis, keys: Keys, announcement_id: str, what: str, claim: bool) -> int | None:
    queue = TaskQueue.for_prefix(keys.prefix, MODERATION_QUEUE)
    task_id = new_task_id()
    outcome = scripts.run(
        redis,
        "announcement_fire",
        [
            keys.announcement(announcement_id),
            keys.announcement_fired(announcement_id),
            keys.announcement_firing(announcement_id, what),
            queue.key,
            keys.announcement_schedule(),
        ],
        [
            what,
            queue.message(FIRE_ANNOUNCEMENT_TASK, [announcement_id, what], task_id),
            task_id,
            _entry(announcement_id, what),
            "claim" if claim else "",
        ],
    )
    return None if outcome is None else int(outcome)


def _entry(announcement_id: str, what: str) -> str:
    return f"{announcement_id}|{what}"


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _announcement(raw: dict) -> Announcement | None:
    if not raw:
        return None
    fields = {_text(k): _text(v) for k, v in raw.items()}
    if "data" not in fields:
        return None
    data = json.loads(fields["data"])
    data["state"] = fields.get("state") or SCHEDULED
    return Announcement.from_dict(data)
