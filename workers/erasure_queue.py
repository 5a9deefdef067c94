"""Erasure before the workers: what a member wrote that no worker has run yet.

Each accepted event or command is in two places until a worker has run it: an
entry of the ingress stream (with its in-flight marker, and for a group's command
a pending mark) and a Celery task message in the broker (a stage's queue, or
kombu's ``unacked`` hash when a worker took it and has not acknowledged it, alive
or dead). Both carry the text and the member's name, for as long as the workers
are down. Erasure removes the member's from both, with the markers, so that no
lane waits for the removed positions (bridge/outbox/lane.py waits for a missing
position only while its in-flight marker is there) and no later command or message
of the chat waits for a removed command (workers/ordering.py).

Which are the member's: events they wrote before the erasure (the tombstone's
rule, core/persons.py: what they write afterwards crosses as usual) and their
commands, except /forgetme (an erasure request; the one running now answers them).

Bounded work (core/storage/pending_work.py): the queue is read in pages and the unacked
hash (what the workers hold: a few per worker) with HSCAN; each page's removals go in
one transaction. Running it again finds nothing more.
"""

from __future__ import annotations

from core.storage import pending_work
from core.storage.keys import Keys
from core.task_queue import PROCESS_COMMAND_TASK, PROCESS_EVENT_TASK, TRANSLATE_TASK, task_arguments

_OURS = (PROCESS_EVENT_TASK, PROCESS_COMMAND_TASK, TRANSLATE_TASK)


def written_by(data, user_ref: str, erased_at: float) -> bool:
    """Whether an event or command (a dict, as in an ingress entry or a task's first
    argument; a command may come wrapped as {"command": …}) is ``user_ref``'s to erase."""
    if isinstance(data, dict) and isinstance(data.get("command"), dict):
        data = data["command"]
    try:
        if "user" in data:  # a command
            return f"{data['platform']}:{data['user']['id']}" == user_ref and data.get("name") != "forgetme"
        return (
            f"{data['source']['platform']}:{data['author']['id']}" == user_ref
            and float(data.get("timestamp") or 0) <= erased_at
        )
    except (KeyError, TypeError, ValueError):
        return False


def drop_ingress_entries(redis, keys: Keys, user_ref: str, erased_at: float) -> int:
    """Remove the member's entries from the ingress stream (the sweeper would enqueue
    their tasks again otherwise), with their positions' markers. Returns how many."""
    return pending_work.drop_ingress_entries(redis, keys, lambda data: written_by(data, user_ref, erased_at))


def drop_queued_tasks(redis, keys: Keys, user_ref: str, erased_at: float) -> int:
    """Remove the member's task messages from the broker: waiting in the moderation (or
    legacy pipeline) or the translation queue, or held unacknowledged, with their ingress entries and
    markers. Returns how many."""
    return pending_work.drop_queued_tasks(redis, keys, lambda message: _theirs(message, user_ref, erased_at))


def _theirs(message, user_ref: str, erased_at: float) -> tuple[dict, str] | None:
    """(event or command, ingress id) of a task message of the member's, else None."""
    decoded = task_arguments(message)
    if decoded is None or decoded[0] not in _OURS or not decoded[1]:
        return None
    task, args, kwargs = decoded
    data = _handed_over_event(args) if task == TRANSLATE_TASK else args[0]
    if not isinstance(data, dict) or not written_by(data, user_ref, erased_at):
        return None
    ingress_id = args[1] if len(args) > 1 else kwargs.get("ingress_id")
    return data, ingress_id if isinstance(ingress_id, str) else ""


def _handed_over_event(args: list) -> dict | None:
    """A translation task's arguments (drafts, ingress id, the record for after publishing)
    as the ids of its event: source, author, time, position (no text)."""
    try:
        drafts, after = args[0], args[2]
        _platform, author_id = after["author"].split(":", 1)
        return {
            "source": after["source"],
            "author": {"id": author_id},
            "timestamp": after["timestamp"],
            "seq": drafts["seq"],
        }
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):
        return None
