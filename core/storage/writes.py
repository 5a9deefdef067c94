"""Writes handed around to be made together: functions adding their commands to a
pipeline, so that several concerns' writes reach Redis in one round trip."""

from __future__ import annotations

from collections.abc import Callable

Writes = Callable[[object], None]  # adds writes to a pipeline


def together(*writes: Writes | None) -> Writes:
    """One :data:`Writes` doing each of ``writes`` (None: nothing) in turn."""

    def into(pipe) -> None:
        for write in writes:
            if write is not None:
                write(pipe)

    return into


def write_together(redis, *writes: Writes) -> None:
    """Make ``writes`` in one round trip, as one transaction (a synchronous client)."""
    pipe = redis.pipeline()
    together(*writes)(pipe)
    pipe.execute()


def replies_of(redis, *writes: Writes, transaction: bool = False) -> list:
    """Make ``writes`` (and reads) in one round trip; their replies, in order. Not a
    transaction unless asked: for writes none of which depends on another."""
    pipe = redis.pipeline(transaction=transaction)
    together(*writes)(pipe)
    return pipe.execute()
