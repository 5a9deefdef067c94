"""The discord.py internals bridge/discord/gateway_guard.py relies on.

discord.py has no public hook around its gateway parsers, so the guard wraps the
entries of ``ConnectionState.parsers``. These tests fail when upstream changes
what that relies on (then re-check the guard and the version range in
pyproject.toml); the behaviour itself is tested against the stand-in in
tests/integration/test_discord_adapter.py.
"""

from __future__ import annotations

import inspect
import logging

import discord
import pytest
from discord.gateway import DiscordWebSocket

from bridge.discord.adapter import build_bot
from bridge.discord.gateway_guard import SESSION_EVENTS, skip_malformed_events

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_websocket_takes_its_parsers_from_the_connection_state_and_calls_them_by_event_name():
    assert "ws._discord_parsers = client._connection.parsers" in inspect.getsource(DiscordWebSocket.from_client)
    assert "self._discord_parsers[event]" in inspect.getsource(DiscordWebSocket.received_message)


def test_the_version_is_one_the_guard_was_checked_against():
    assert (2, 5) <= discord.version_info[:2] < (2, 8)


async def test_every_parser_but_the_session_ones_is_guarded_and_a_bad_payload_is_skipped(caplog):
    client = build_bot()
    parsers = client._connection.parsers
    assert {
        "MESSAGE_CREATE",
        "MESSAGE_UPDATE",
        "MESSAGE_DELETE",
        "INTERACTION_CREATE",
        "GUILD_CREATE",
        "READY",
        "RESUMED",
    } <= set(parsers)
    skipped: list[str] = []
    skip_malformed_events(client, skipped.append)
    skip_malformed_events(client, skipped.append)  # idempotent: wrapped once
    for event, parse in parsers.items():
        assert getattr(parse, "_twinbridge_guarded", False) is (event not in SESSION_EVENTS), event

    with caplog.at_level(logging.WARNING):
        parsers["MESSAGE_CREATE"]({"id": "not-a-snowflake", "channel_id": "1", "content": "secret words"})
    assert skipped == ["MESSAGE_CREATE"]
    assert "secret words" not in caplog.text and "MESSAGE_CREATE" in caplog.text
    await client.close()
