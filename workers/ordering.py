"""A chat's commands and messages are handled in the order they were written.

The ingress gives a command a position (seq) in its chat's sequence, shared
with the chat's messages, and notes a group's command as pending until it is
handled. Workers run tasks in parallel, so before handling an event a worker
asks whether something written before it must come first:

- a message waits while a command of its chat with a lower position is pending
  ("/consent", then a message: the message is checked after the consent);
- a command waits while a message of its chat with a lower position is still in
  flight (a message, then "/consent withdraw": the message still crosses).

Waiting means the task is retried shortly (it never blocks a worker, so a
worker with one slot cannot wait for itself), for a bounded time: a task lost
with a worker comes back within the visibility timeout (or the ingress sweep),
and past that the chat goes on rather than stall. Private chats (commands to the
bot) have no messages to keep in order with.
"""

from __future__ import annotations

from core import persons
from core.storage import ordering as stored_order
from core.storage.keys import Keys
from core.models import Command, OutboundPost

from .publishing import tagged

# How far back a command looks for messages of its chat still in flight: more than
# any burst the adapters accept while a worker handles a command.
LOOKBACK = 1000


def event_in_flight_before(redis, keys: Keys, chat_key: str, seq: int) -> int:
    """The position of an event of ``chat_key`` written before ``seq`` and still in flight, or 0."""
    return stored_order.event_in_flight_before(redis, keys, chat_key, seq, LOOKBACK)


def finish_command(redis, keys: Keys, command: Command, answers: list[OutboundPost], ingress_id: str | None) -> bool:
    """Retire the handled command from the ingress (and its pending mark) and queue its
    answers, atomically. False when another run of it finished first."""
    chat = command.order_key
    if answers and command.name != "forgetme":
        # An answer to a member is theirs (filed under them in the dead letters, deleted by
        # their erasure), unless it names someone already. Not the /forgetme answer: it
        # comes after the erasure and must not start a new record about them.
        answers = tagged(answers, persons.person(redis, keys, command.user_ref))
    return stored_order.finish_command(redis, keys, chat, command.seq, answers, ingress_id)
