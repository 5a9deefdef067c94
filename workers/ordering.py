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

import json

from redis.commands.core import Script

from core import persons
from core.keys import DAY, Keys
from core.models import Command, OutboundPost

from .pipeline import RETIRE_INGRESS_ENTRY, tagged

# How far back a command looks for messages of its chat still in flight: more than
# any burst the adapters accept while a worker handles a command.
LOOKBACK = 1000

# KEYS: the chat's pending commands. ARGV: the event's position, the in-flight key
# prefix of its chat. The lowest pending command before it whose in-flight marker still
# exists, or 0; commands handled or retired elsewhere (dead-lettered, expired) are dropped.
_PENDING_COMMAND_BEFORE = """
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, s in ipairs(found) do
  if redis.call('EXISTS', ARGV[2] .. s) == 1 then return tonumber(s) end
  redis.call('ZREM', KEYS[1], s)
end
return 0
"""

# ARGV: the command's position, the in-flight key prefix of its chat, the lookback.
# The highest earlier position still in flight, or 0.
_EVENT_IN_FLIGHT_BEFORE = """
local seq = tonumber(ARGV[1])
for s = seq - 1, math.max(1, seq - tonumber(ARGV[3])), -1 do
  if redis.call('EXISTS', ARGV[2] .. s) == 1 then return s end
end
return 0
"""

# KEYS: ingress stream, the command's in-flight marker, the chat's pending commands, then
# one outbox stream per answer. ARGV: the ingress entry id (IN_FLIGHT: the one the marker
# names; '': not from the ingress), the command's position, then (answer, its TTL) per answer
# (each carrying its member's person key, for erasure and the dead letters).
# Retire the command and queue its answers, atomically: only the first run answers (-1 after).
_FINISH = RETIRE_INGRESS_ENTRY + """
redis.call('ZREM', KEYS[3], ARGV[2])
for i = 4, #KEYS do
  redis.call('XADD', KEYS[i], '*', 'post', ARGV[2 * i - 5])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 4])
end
return #KEYS - 3
"""


def _in_flight_prefix(keys: Keys, chat_key: str) -> str:
    return keys.in_flight(chat_key, 0)[:-1]  # "…inflight:<chat>:" (the seq is appended in the script)


def pending_command_before(redis, keys: Keys, chat_key: str, seq: int) -> int:
    """The position of a command of ``chat_key`` written before ``seq`` and not yet handled, or 0."""
    return _run(redis, _PENDING_COMMAND_BEFORE, [keys.pending_commands(chat_key)],
                [seq, _in_flight_prefix(keys, chat_key)])


def event_in_flight_before(redis, keys: Keys, chat_key: str, seq: int) -> int:
    """The position of an event of ``chat_key`` written before ``seq`` and still in flight, or 0."""
    return _run(redis, _EVENT_IN_FLIGHT_BEFORE, [], [seq, _in_flight_prefix(keys, chat_key), LOOKBACK])


def finish_command(redis, keys: Keys, command: Command, answers: list[OutboundPost], ingress_id: str | None) -> bool:
    """Retire the handled command from the ingress (and its pending mark) and queue its
    answers, atomically. False when another run of it finished first."""
    chat = command.order_key
    if answers and command.name != "forgetme":
        # An answer to a member is theirs (filed under them in the dead letters, deleted by
        # their erasure), unless it names someone already. Not the /forgetme answer: it
        # comes after the erasure and must not start a new record about them.
        answers = tagged(answers, persons.person(redis, keys, command.user_ref))
    script_keys = [keys.ingress(), keys.in_flight(chat, command.seq), keys.pending_commands(chat)]
    args = [ingress_id or "", command.seq]
    for post in answers:
        script_keys.append(keys.outbox(post.destination.platform))
        args += [json.dumps(post.to_dict(), ensure_ascii=False), post.retention_days * DAY]
    return _run(redis, _FINISH, script_keys, args) != -1


_SCRIPTS: dict[str, Script] = {}  # script text -> redis-py Script (EVALSHA after the first call)


def _run(redis, text: str, script_keys: list, args: list):
    script = _SCRIPTS.get(text)
    if script is None:
        script = _SCRIPTS[text] = redis.register_script(text)
    return script(script_keys, args, client=redis)
