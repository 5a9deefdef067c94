"""The discord.py internals the Discord adapter still relies on, and the public hooks it
uses instead of the others.

discord.py has no public setting for the REST base URL or the gateway URL, so
bridge/discord/endpoints.py sets the class attributes it reads. These tests fail when
upstream stops reading them (then re-check endpoints.py and the version range pinned in
pyproject.toml); the behaviour itself is exercised against the stand-in by every Discord
integration test. (The gateway parsers: tests/unit/test_discord_gateway_guard.py.)
"""

from __future__ import annotations

import inspect
import logging

import discord
import pytest
from discord.app_commands import CommandTree
from discord.gateway import DiscordWebSocket
from discord.http import Route
from discord.webhook.async_ import AsyncWebhookAdapter

from bridge.discord import endpoints
from bridge.discord.adapter import RelayOnlyTree, build_bot

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_version_is_one_these_were_checked_against():
    assert (2, 5) <= discord.version_info[:2] < (2, 8)


def test_every_rest_and_webhook_request_is_built_from_route_base(monkeypatch):
    monkeypatch.setattr(Route, "BASE", Route.BASE)  # restored afterwards
    endpoints.use_api("http://127.0.0.1:9/api/v10")
    assert endpoints.api_base() == "http://127.0.0.1:9/api/v10"
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=42)
    assert route.url == "http://127.0.0.1:9/api/v10/channels/42/messages"
    # discord.Webhook (edits and deletes of the bridge's posts) builds its requests as Routes too.
    edit = inspect.getsource(AsyncWebhookAdapter.edit_webhook_message)
    assert "route = Route(" in edit and "'/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}'" in edit


def test_the_gateway_is_default_gateway_for_a_new_connection_and_after_an_invalid_session(monkeypatch):
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    endpoints.use_gateway("ws://127.0.0.1:9/gateway")
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:9/gateway"
    assert "gateway = gateway or cls.DEFAULT_GATEWAY" in inspect.getsource(DiscordWebSocket.from_client)
    assert "self.gateway = self.DEFAULT_GATEWAY" in inspect.getsource(DiscordWebSocket.received_message)
    assert "DiscordWebSocket.from_client(self, **ws_params)" in inspect.getsource(discord.Client.connect)


def test_the_command_tree_asks_its_public_global_check_before_looking_a_command_up():
    call = inspect.getsource(CommandTree._call)
    assert call.index("if not await self.interaction_check(interaction)") < call.index("_get_app_command_options")
    assert RelayOnlyTree.interaction_check is not CommandTree.interaction_check


async def test_no_voice_warnings_are_logged_and_nothing_of_discord_py_is_patched(monkeypatch, caplog):
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)  # as in a fresh process without PyNaCl
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True)
    with caplog.at_level(logging.DEBUG):
        client = build_bot()
    try:
        assert "voice will NOT be supported" not in caplog.text
        assert isinstance(client.tree, RelayOnlyTree)
    finally:
        await client.close()


# discord.py's HTTPClient is undocumented: the sender and the command cog call these of
# its methods (raw JSON, no message cache) with these arguments.
HTTP_CALLS = {
    "get_message": ["channel_id", "message_id"],
    "get_channel": ["channel_id"],
    "get_bot_gateway": [],
    "logs_from": ["channel_id", "limit", "after"],
    "channel_webhooks": ["channel_id"],
    "create_webhook": ["channel_id", "name", "reason"],
    "bulk_upsert_global_commands": ["application_id", "payload"],
}


@pytest.mark.parametrize("method", sorted(HTTP_CALLS))
def test_the_http_client_methods_called_take_the_arguments_given(method):
    parameters = inspect.signature(getattr(discord.http.HTTPClient, method)).parameters
    assert set(HTTP_CALLS[method]) <= set(parameters), method


def test_a_voice_message_goes_through_send_message_with_our_own_multipart():
    """DiscordSender._post_voice builds MultipartParameters itself (discord.File carries no
    duration or waveform): send_message must still post ``params.multipart`` as the form and
    ``params.files`` as the files it seeks back before a retry."""
    from discord.http import HTTPClient, MultipartParameters

    assert MultipartParameters._fields == ("payload", "multipart", "files")
    source = inspect.getsource(HTTPClient.send_message)
    assert "files=params.files" in source and "form=params.multipart" in source
