"""What was accepted but not run yet, taken out for erasure (sync client;
workers/erasure_queue.py decides what is a member's): ingress entries, task messages in
the broker's queues and kombu's unacked hash, and the markers of their positions (in-flight
markers, a group command's pending mark), so that nothing waits for a removed position.

Bounded: streams and queues are read in pages, the unacked hash with HSCAN; each page's
removals go in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from ..models import Command
from ..task_queue import IN_FLIGHT, TaskQueue
from .ingress import load_entry
from .keys import Keys

PAGE = 1000

# An event or command (a dict as in an ingress entry or a task's first argument) and the
# ingress id its task names (IN_FLIGHT: the entry its in-flight marker names; "": none).
Found = tuple[dict, str]


def stream_pages(redis, stream: str, size: int = PAGE) -> Iterator[list]:
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


def _position(keys: Keys, data: dict) -> tuple[str, str | None, int] | None:
    """(in-flight marker, pending-commands key or None, seq) of an event's or command's
    position in its chat's order; None when the dict does not say."""
    if isinstance(data.get("command"), dict):
        data = data["command"]
    try:
        if "user" in data:
            command = Command.from_dict(data)
            pending = keys.pending_commands(command.order_key) if command.ordered else None
            return keys.in_flight(command.order_key, command.seq), pending, command.seq
        chat = f"{data['source']['platform']}:{data['source']['chat_id']}"
        seq = int(data.get("seq") or 0)
        return keys.in_flight(chat, seq), None, seq
    except (KeyError, TypeError, ValueError):
        return None


def _retire_position_into(pipe, keys: Keys, data: dict) -> None:
    """The markers of an event's or command's position go, so that nothing waits for it."""
    position = _position(keys, data)
    if position is None:
        return
    in_flight, pending, seq = position
    pipe.delete(in_flight)
    if pending:
        pipe.zrem(pending, seq)


def _retire_into(redis, pipe, keys: Keys, found: list[Found]) -> None:
    """The ingress entries and markers of removed tasks. A task enqueued with its entry
    (IN_FLIGHT) finds the entry through its in-flight marker."""
    read = redis.pipeline(transaction=False)
    for data, ingress_id in found:
        position = _position(keys, data) if ingress_id == IN_FLIGHT else None
        read.get(position[0] if position else keys.in_flight("-", 0))
    for (data, ingress_id), marked in zip(found, read.execute(), strict=True):
        entry_id = marked if ingress_id == IN_FLIGHT else ingress_id
        if entry_id:
            pipe.xdel(keys.ingress(), entry_id)
        _retire_position_into(pipe, keys, data)


def drop_ingress_entries(redis, keys: Keys, select: Callable[[dict], bool]) -> int:
    """Remove the ingress entries whose event (or wrapped command) ``select`` picks, with
    their positions' markers (the sweeper would enqueue their tasks again otherwise)."""
    dropped = 0
    for page in stream_pages(redis, keys.ingress()):
        pipe = redis.pipeline(transaction=True)
        mine = 0
        for entry_id, fields in page:
            try:
                data = load_entry(fields)
            except (KeyError, TypeError, ValueError):
                continue
            if isinstance(data, dict) and select(data):
                pipe.xdel(keys.ingress(), entry_id)
                _retire_position_into(pipe, keys, data)
                mine += 1
        if mine:
            pipe.execute()
            dropped += mine
    return dropped


def drop_queued_tasks(redis, keys: Keys, select: Callable[[Any], Found | None]) -> int:
    """Remove the task messages ``select`` picks (given a raw message, it answers the event
    and ingress id of one to remove, else None) from the broker: waiting in the moderation
    (or the legacy pipeline list) or the translation queue, or held unacknowledged; with their
    ingress entries and markers."""
    tasks = TaskQueue.for_prefix(keys.prefix)
    dropped = 0
    for queue in (tasks.key, *tasks.other_keys):
        start = 0
        while True:
            page = redis.lrange(queue, start, start + PAGE - 1)
            mine = [(raw, found) for raw in page if (found := select(raw)) is not None]
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
        held_mine = [(tag, found) for tag, value in held.items() if (found := _select_held(value, select)) is not None]
        if held_mine:
            pipe = redis.pipeline(transaction=True)
            tags = [tag for tag, _ in held_mine]
            pipe.hdel(tasks.unacked_key, *tags)
            pipe.zrem(tasks.unacked_index_key, *tags)
            _retire_into(redis, pipe, keys, [found for _, found in held_mine])
            pipe.execute()
            dropped += len(held_mine)
        if not cursor:
            return dropped


def _select_held(value, select: Callable[[Any], Found | None]) -> Found | None:
    """``select`` applied to the message of a kombu unacked-hash value (a JSON list whose
    first item is the message)."""
    try:
        envelope = json.loads(value) if value else None
    except (TypeError, ValueError):
        return None
    return select(envelope[0]) if isinstance(envelope, list) and envelope else None
