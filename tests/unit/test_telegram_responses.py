"""The Bot API response models aiogram validates with survive garbage collection
(pydantic's cache of generic classes is weak; bridge/telegram/responses.py)."""

from __future__ import annotations

import gc
import weakref

from aiogram.client.session.base import Response
from aiogram.methods import GetChat, GetUpdates, SendMessage

import bridge.telegram.adapter  # noqa: F401 - what the adapter imports keeps them


def _survives_a_collection(method) -> bool:
    ref = weakref.ref(Response[method.__returning__])
    gc.collect()
    return ref() is not None


def test_the_bridges_response_models_are_not_rebuilt_after_a_collection():
    assert _survives_a_collection(SendMessage)
    assert _survives_a_collection(GetUpdates)
    assert not _survives_a_collection(GetChat)  # a method the bridge never calls: what happened to all before
