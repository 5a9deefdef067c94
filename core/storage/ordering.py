"""A chat's order between commands and messages (sync client; workers/ordering.py says
why): the chat's pending commands and its events' in-flight markers, and the script
that retires a handled command and queues its answers."""

from __future__ import annotations

from . import scripts
from .keys import Keys
from ..models import OutboundPost
from .outbox import script_streams


def pending_command_before(redis, keys: Keys, chat_key: str, seq: int) -> int:
    """The position of a command of ``chat_key`` before ``seq`` still pending, or 0
    (commands handled or retired elsewhere are dropped from the pending set)."""
    return scripts.run(
        redis, "pending_command_before", [keys.pending_commands(chat_key)], [seq, keys.in_flight_prefix(chat_key)]
    )


def pending_command_before_into(pipe, keys: Keys, chat_key: str, seq: int) -> None:
    """Queue :func:`pending_command_before` on ``pipe`` (its reply: the same)."""
    scripts.queue(
        pipe, "pending_command_before", [keys.pending_commands(chat_key)], [seq, keys.in_flight_prefix(chat_key)]
    )


def event_in_flight_before(redis, keys: Keys, chat_key: str, seq: int, lookback: int) -> int:
    """The highest position of ``chat_key`` before ``seq`` (at most ``lookback`` back)
    still in flight, or 0."""
    return scripts.run(redis, "event_in_flight_before", [], [seq, keys.in_flight_prefix(chat_key), lookback])


def finish_command(
    redis, keys: Keys, chat_key: str, seq: int, answers: list[OutboundPost], ingress_id: str | None
) -> bool:
    """Retire a handled command (its ingress entry, in-flight marker and pending mark) and
    queue its answers, atomically; False when another run of it finished first."""
    stream_keys, args = script_streams(keys, answers)
    return (
        scripts.run(
            redis,
            "command_finish",
            [keys.ingress(), keys.in_flight(chat_key, seq), keys.pending_commands(chat_key), *stream_keys],
            [ingress_id or "", seq, *args],
        )
        != -1
    )
