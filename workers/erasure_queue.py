"""Erasure before the workers: what a member wrote that no worker has run yet.

Each accepted event or command is in two places until a worker has run it: an
entry of the ingress stream (with its in-flight marker, and for a group's command
a pending mark) and a Celery task message in the broker (the pipeline queue, or
kombu's ``unacked`` hash when a worker took it and has not acknowledged it, alive
or dead). Both carry the text and the member's name, for as long as the workers
are down. Erasure removes the member's from both, with the markers, so that no
lane waits for the removed positions (bridge/outbox/lane.py waits for a missing
position only while its in-flight marker is there) and no later command or message
of the chat waits for a removed command (workers/ordering.py).

Which are the member's: events they wrote before the erasure (the tombstone's
rule, core/persons.py: what they write afterwards crosses as usual) and their
commands, except /forgetme (an erasure request; the one running now answers them).

Bounded work: the queue is read in pages of ``PAGE`` messages and the unacked hash
(what the workers hold: a few per worker) with HSCAN; each page's removals go in
one transaction. Running it again finds nothing more.
"""
from __future__ import annotations

from core.task_queue import IN_FLIGHT

import json

from core.storage.keys import Keys
from core.models import Command
from core.task_queue import PROCESS_COMMAND_TASK, PROCESS_EVENT_TASK, TRANSLATE_TASK, TaskQueue, task_arguments

PAGE = 1000
_OURS = (PROCESS_EVENT_TASK, PROCESS_COMMAND_TASK, TRANSLATE_TASK)


def written_by(data, user_ref: str, erased_at: float) -> bool:
    """Whether an event or command (a dict, as in an ingress entry or a task's first
    argument; a command may come wrapped as {"command": …}) is ``user_ref``'s to erase."""
    if isinstance(data, dict) and isinstance(data.get("command"), dict):
        data = data["command"]
    try:
        if "user" in data:  # a command
            return f"{data['platform']}:{data['user']['id']}" == user_ref and data.get("name") != "forgetme"
        return (f"{data['source']['platform']}:{data['author']['id']}" == user_ref
                and float(data.get("timestamp") or 0) <= erased_at)
    except (KeyError, TypeError, ValueError):
        return False


def _position(keys: Keys, data: dict) -> tuple[str, str | None, int] | None:
    """(in-flight marker, pending-commands key or None, seq) of an event's or command's
    position in its chat's order; None when the dict does not say."""
    if isinstance(data.get("command"), dict):
        data = data["command"]
    try:
        if "user" in data:
            command = Command.from_dict(data)
            pending = None if command.private else keys.pending_commands(command.order_key)
            return keys.in_flight(command.order_key, command.seq), pending, command.seq
        chat = f"{data['source']['platform']}:{data['source']['chat_id']}"
        seq = int(data.get("seq") or 0)
        return keys.in_flight(chat, seq), None, seq
    except (KeyError, TypeError, ValueError):
        return None


def retire_position_into(pipe, keys: Keys, data: dict) -> None:
    """Add to ``pipe``: the markers of an event's or command's position go, so that
    nothing waits for it (its in-flight marker; a group command's pending mark)."""
    position = _position(keys, data)
    if position is None:
        return
    in_flight, pending, seq = position
    pipe.delete(in_flight)
    if pending:
        pipe.zrem(pending, seq)


def drop_ingress_entries(redis, keys: Keys, user_ref: str, erased_at: float) -> int:
    """Remove the member's entries from the ingress stream (the sweeper would enqueue
    their tasks again otherwise), with their positions' markers. Returns how many."""
    dropped = 0
    for page in stream_pages(redis, keys.ingress()):
        pipe = redis.pipeline(transaction=True)
        mine = 0
        for entry_id, fields in page:
            data = _json(fields.get("event"))
            if isinstance(data, dict) and written_by(data, user_ref, erased_at):
                pipe.xdel(keys.ingress(), entry_id)
                retire_position_into(pipe, keys, data)
                mine += 1
        if mine:
            pipe.execute()
            dropped += mine
    return dropped


def drop_queued_tasks(redis, keys: Keys, user_ref: str, erased_at: float) -> int:
    """Remove the member's task messages from the broker: waiting in the moderation or
    the translation queue, or held unacknowledged, with their ingress entries and
    markers. Returns how many."""
    tasks = TaskQueue.for_prefix(keys.prefix)
    dropped = 0
    for queue in (tasks.key, *tasks.later_keys):
        start = 0
        while True:
            page = redis.lrange(queue, start, start + PAGE - 1)
            mine = [(raw, found) for raw in page if (found := _theirs(raw, user_ref, erased_at)) is not None]
            if mine:
                pipe = redis.pipeline(transaction=True)
                for raw, _ in mine:
                    pipe.lrem(queue, 1, raw)
                _retire_into(redis, pipe, keys, [found for _, found in mine])
                pipe.execute()
                dropped += len(mine)
            if len(page) < PAGE:
                break
            start += PAGE - len(mine)  # the page's removals moved the rest up
    cursor = 0
    while True:
        cursor, held = redis.hscan(tasks.unacked_key, cursor, count=PAGE)
        mine = []
        for tag, value in held.items():
            envelope = _json(value)
            found = _theirs(envelope[0], user_ref, erased_at) if isinstance(envelope, list) and envelope else None
            if found is not None:
                mine.append((tag, found))
        if mine:
            pipe = redis.pipeline(transaction=True)
            tags = [tag for tag, _ in mine]
            pipe.hdel(tasks.unacked_key, *tags)
            pipe.zrem(tasks.unacked_index_key, *tags)
            _retire_into(redis, pipe, keys, [found for _, found in mine])
            pipe.execute()
            dropped += len(mine)
        if not cursor:
            return dropped


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
        return {"source": after["source"], "author": {"id": author_id}, "timestamp": after["timestamp"],
                "seq": drafts["seq"]}
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):
        return None


def _retire_into(redis, pipe, keys: Keys, found: list[tuple[dict, str]]) -> None:
    """Add to ``pipe``: the ingress entries and markers of the removed tasks. A task
    enqueued with its entry (IN_FLIGHT) finds the entry through its in-flight marker."""
    read = redis.pipeline(transaction=False)
    for data, ingress_id in found:
        position = _position(keys, data) if ingress_id == IN_FLIGHT else None
        read.get(position[0] if position else keys.in_flight("-", 0))
    for (data, ingress_id), marked in zip(found, read.execute(), strict=True):
        entry_id = marked if ingress_id == IN_FLIGHT else ingress_id
        if entry_id:
            pipe.xdel(keys.ingress(), entry_id)
        retire_position_into(pipe, keys, data)


def _json(raw):
    try:
        return json.loads(raw) if raw else None
    except (TypeError, ValueError):
        return None


def stream_pages(redis, stream: str, size: int = PAGE):
    """A stream's entries, a page (``size`` entries, one round trip) at a time."""
    start = "-"
    while True:
        page = redis.xrange(stream, start, "+", count=size)
        if not page:
            return
        yield page
        if len(page) < size:
            return
        start = "(" + page[-1][0]
