"""One correlation id per message, in every log line about it, in every process.

A member's message goes adapter (`twinbridge run`) -> moderation -> translation
(`twinbridge worker`, maybe on other hosts) -> delivery (the adapters' outbox lanes).
Every stage knows the message's source key ("telegram:-100123:45"), so the id is
derived from it, not carried: a short digest, the same wherever it is computed, for
what was queued by an older version too. An edit or a deletion of a message shares
its message's id (it is about the same message). A command's id is derived from its
dedup key, which is already a digest (in a private chat the chat id is the member's).

The id lives in a :class:`contextvars.ContextVar`: set where a stage takes a message
up (the Telegram adapter's middleware, the Discord cog's listeners, the ingress, the
Celery task signals, the outbox lanes), read by the logging filter
(core/logging_setup.py) into every record. asyncio tasks copy the context they were
created in, so a task spawned while handling one message keeps its id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

CORRELATION_ID: ContextVar[str] = ContextVar("twinbridge_correlation_id", default="")
TASK_ID: ContextVar[str] = ContextVar("twinbridge_task_id", default="")  # the Celery task running
ID_LENGTH = 12  # hex digits: 48 bits, plenty to tell a day's messages apart in a log


def correlation_id(key: str) -> str:
    """The correlation id of the message whose source key (or command dedup key) is ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()[:ID_LENGTH] if key else ""


def of_source(source: Any) -> str:
    """The id of a :class:`core.models.MessageRef` or its dict form; "" when not one."""
    if isinstance(source, Mapping):
        platform, chat, message = source.get("platform"), source.get("chat_id"), source.get("message_id")
    else:
        platform = getattr(source, "platform", None)
        chat, message = getattr(source, "chat_id", None), getattr(source, "message_id", None)
    if not platform or chat is None or message is None:
        return ""
    return correlation_id(f"{platform}:{chat}:{message}")


def of_payload(payload: Any) -> str:
    """The id of what a task or an ingress entry carries: an event's dict (its
    ``source``), a command's (its dedup key), a command wrapped as an ingress entry's
    event, or drafts (their first post's ``source``); "" for anything else."""
    if not isinstance(payload, Mapping):
        return ""
    if isinstance(payload.get("command"), Mapping):
        return of_payload(payload["command"])
    if "source" in payload:
        return of_source(payload["source"])
    if {"name", "platform", "chat_id", "message_id"} <= payload.keys():
        return of_command(payload)
    posts = payload.get("posts")
    if isinstance(posts, list) and posts:
        return of_payload(posts[0])
    return ""


def of_command(command: Any) -> str:
    """The id of a :class:`core.models.Command` or its dict form (from its dedup key)."""
    if isinstance(command, Mapping):
        from .models import Command  # the digest is the model's; the import is for the dict form only

        try:
            command = Command.from_dict(dict(command))
        except (KeyError, TypeError, ValueError):
            return ""
    key = getattr(command, "dedup_key", "")
    return correlation_id(key) if isinstance(key, str) else ""


def current() -> str:
    return CORRELATION_ID.get()


def bind(cid: str) -> Token[str]:
    """Set the id for what runs next in this context; :func:`unbind` with the token."""
    return CORRELATION_ID.set(cid)


def unbind(token: Token[str]) -> None:
    try:
        CORRELATION_ID.reset(token)
    except ValueError:  # set in another context (a task's copy): nothing to reset here
        CORRELATION_ID.set("")


def current_task() -> str:
    return TASK_ID.get()


def bind_task(task_id: str) -> Token[str]:
    return TASK_ID.set(task_id)


def unbind_task(token: Token[str]) -> None:
    try:
        TASK_ID.reset(token)
    except ValueError:
        TASK_ID.set("")


@contextmanager
def correlated(cid: str) -> Iterator[str]:
    """Log lines inside are about the message ``cid`` ("" leaves the current id)."""
    if not cid:
        yield current()
        return
    token = CORRELATION_ID.set(cid)
    try:
        yield cid
    finally:
        unbind(token)
