"""Celery task messages written by the adapters straight into the broker's Redis list.

Why not ``Celery.send_task``: kombu's Redis transport is synchronous, so from the
adapters' event loop it had to run in a thread, and it cost a round trip (two,
with its exchange lookup) after the event was stored. The benchmark put it at
11 % of the adapters' time, plus the thread hand-offs (docs/benchmarks.md,
"Profile"). Building the same message here lets ingress store an event and
enqueue its task in one Redis script: one round trip, from the event loop, and no
state in which an event is stored but its task not sent.

The message is the one kombu's Redis transport pushes for
``send_task(name, args, queue=...)``: Celery's task protocol 2, a JSON body,
base64 body encoding, the default priority; tests/integration/test_task_queue.py
compares the two field by field, and every end-to-end test runs these messages
through a real ``celery worker``.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid
from datetime import UTC, datetime

from .storage.keys import Keys

# The stages' queues (workers/app.py wires them; docs/architecture.md, "Stages as queues").
# The first stage, moderation, takes what the adapters enqueue.
MODERATION_QUEUE = "moderation"
PROCESS_EVENT_TASK = "twinbridge.process_event"
PROCESS_COMMAND_TASK = "twinbridge.process_command"
# The moderation stage's list before it had its own name, when one task did everything:
# the moderation role still consumes it (and the sweeper and erasure still look in it),
# so that what an older version queued is neither lost nor run twice by an upgrade.
LEGACY_PIPELINE_QUEUE = "pipeline"
# The second stage: translators, which receive only moderated text (workers/stages/translation.py).
TRANSLATION_QUEUE = "translation"
TRANSLATE_TASK = "twinbridge.translate"
# Delivery-side work that needs no text and no policy secret (workers/stages/delivery.py).
DELIVERY_QUEUE = "delivery"
# Back on the moderation queue when an event's author was erased while it was published.
ERASE_AGAIN_TASK = "twinbridge.erase_again"
RESUME_ERASURES_TASK = "twinbridge.resume_erasures"
# An organiser's announcement (or one of its reminders) to fire: fire_announcement(id, what),
# pushed by the scheduler or at once (core/storage/announcements.py), on the moderation queue.
FIRE_ANNOUNCEMENT_TASK = "twinbridge.fire_announcement"
# Shows an event notice's new RSVP counts on its copies, a few seconds after the first
# answer of a burst (core/storage/rsvps.py schedules it; workers/rsvp.py does it).
REFRESH_RSVP_TASK = "twinbridge.refresh_rsvp"
# Every stage queue, as the benchmarks and operators count what is left to do.
STAGE_QUEUES = (MODERATION_QUEUE, LEGACY_PIPELINE_QUEUE, TRANSLATION_QUEUE, DELIVERY_QUEUE)

# The ingress-id argument of a task enqueued by accept(): "the entry this event's
# in-flight marker names" (the task is pushed in the same script that creates the
# entry, before its id is known; workers/publishing.py looks it up when publishing).
IN_FLIGHT = "in-flight"


def handed_over_id(task_id: str) -> str:
    """The id of the translation task the moderation task ``task_id`` hands its event
    to: derived, so that the ingress sweeper, knowing the entry's task id, finds the
    event's task in either stage, and a moderation task run twice hands over under
    one id."""
    return f"{task_id}.translate"


# The body's third part: no callbacks, chains or chords (Celery's "embed").
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def broker_key_prefix(settings) -> str:
    """kombu's ``global_keyprefix``: every Celery key lives under the bridge's prefix."""
    return Keys(settings.redis_prefix).broker_prefix()


# kombu's Redis transport keeps the messages workers hold, unacknowledged, in this hash
# (tag -> [message, exchange, routing key]) and their tags, scored with the time taken, in
# this sorted set (under the global key prefix; tests/integration/test_kombu_layout.py
# checks the names).
UNACKED_HASH = "unacked"
UNACKED_INDEX = "unacked_index"


class TaskQueue:
    """The Redis list a Celery queue lives in, and the messages to push there."""

    def __init__(
        self,
        key: str,
        routing_key: str,
        unacked_key: str | None = None,
        unacked_index_key: str | None = None,
        other_keys: tuple[str, ...] = (),
    ):
        self.key = key
        # The other queues where an event's task may be: the translation stage's once
        # moderation handed it over, and the legacy list an older version pushed to.
        self.other_keys = other_keys
        # Where workers hold what they took from the queue (for telling a lost task from a held one).
        self.unacked_key = unacked_key
        self.unacked_index_key = unacked_index_key
        self._routing_key = routing_key
        self._origin = f"gen{os.getpid()}@{socket.gethostname()}"

    @classmethod
    def for_settings(cls, settings, queue: str = MODERATION_QUEUE) -> TaskQueue:
        """``queue`` of the broker workers/app.py configures from ``settings``
        (without importing Celery into the adapters' process)."""
        return cls.for_prefix(settings.redis_prefix, queue)

    @classmethod
    def for_prefix(cls, redis_prefix: str, queue: str = MODERATION_QUEUE) -> TaskQueue:
        """The same, from the bridge's key prefix (``Keys.prefix``) alone."""
        prefix = Keys(redis_prefix).broker_prefix()
        others = (LEGACY_PIPELINE_QUEUE, TRANSLATION_QUEUE) if queue == MODERATION_QUEUE else ()
        return cls(
            prefix + queue,
            queue,
            prefix + UNACKED_HASH,
            prefix + UNACKED_INDEX,
            tuple(prefix + other for other in others),
        )

    def message(self, task: str, args: list, task_id: str | None = None, eta: float | None = None) -> str:
        """The JSON Celery would push to run ``task(*args)`` (as task ``task_id``, a
        new one by default; not before ``eta``, Unix seconds, when given: Celery's
        ``countdown``). Task arguments are never repeated in the headers (argsrepr is
        empty): that would be the message text a second time."""
        task_id = task_id or new_task_id()
        body = json.dumps([args, {}, _EMBED]).encode("utf-8")
        return json.dumps(
            {
                "body": base64.b64encode(body).decode("ascii"),
                "content-encoding": "utf-8",
                "content-type": "application/json",
                "headers": {
                    "lang": "py",
                    "task": task,
                    "id": task_id,
                    "shadow": None,
                    "eta": None if eta is None else datetime.fromtimestamp(eta, UTC).isoformat(),
                    "expires": None,
                    "group": None,
                    "group_index": None,
                    "retries": 0,
                    "timelimit": [None, None],
                    "root_id": task_id,
                    "parent_id": None,
                    "argsrepr": "",
                    "kwargsrepr": "",
                    "origin": self._origin,
                    "ignore_result": None,
                    "replaced_task_nesting": 0,
                    "stamped_headers": None,
                    "stamps": {},
                },
                "properties": {
                    "correlation_id": task_id,
                    "reply_to": None,
                    "delivery_mode": 2,
                    "delivery_info": {"exchange": "", "routing_key": self._routing_key},
                    "priority": 0,
                    "body_encoding": "base64",
                    "delivery_tag": str(uuid.uuid4()),
                },
            }
        )

    async def push(self, redis, task: str, args: list, task_id: str | None = None) -> None:
        """Enqueue ``task(*args)`` (``redis``: an asyncio client)."""
        await redis.lpush(self.key, self.message(task, args, task_id))


def task_arguments(message) -> tuple[str, list, dict] | None:
    """(task name, args, kwargs) of a task message as kombu keeps it (a JSON string
    or the decoded dict; base64 body), or None when it is not one of ours to read."""
    try:
        if isinstance(message, (str, bytes)):
            message = json.loads(message)
        task = message["headers"]["task"]
        body = message["body"]
        if (message.get("properties") or {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, kwargs, _embed = json.loads(body)
        return (task, list(args), dict(kwargs)) if isinstance(task, str) else None
    except (KeyError, TypeError, ValueError):
        return None


def new_task_id() -> str:
    return str(uuid.uuid4())
