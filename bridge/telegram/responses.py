"""Keeps aiogram's response models alive for the Bot API methods the bridge calls.

aiogram validates every answer of the Bot API with ``Response[T]``, T being the
method's return type. pydantic caches such generic classes in a *weak*
dictionary, so each time the garbage collector runs, the class is dropped and
the next call creates it again (a new model class and its schema). The
benchmark's profile at 300 msg/s found that re-creation in 5 % of the adapters'
time (docs/benchmarks.md); holding the classes here keeps the cache warm.
"""

from __future__ import annotations

from aiogram.client.session.base import Response
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    DeleteWebhook,
    EditMessageText,
    GetMe,
    GetUpdates,
    SendMessage,
    SetMyCommands,
)

from .polling import RawGetUpdates

CALLED = (
    RawGetUpdates,
    GetUpdates,
    SendMessage,
    EditMessageText,
    DeleteMessage,
    AnswerCallbackQuery,
    GetMe,
    DeleteWebhook,
    SetMyCommands,
)

KEPT = tuple(Response[method.__returning__] for method in CALLED)
