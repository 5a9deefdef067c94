"""The stand-ins' group administrators and roles, through the real clients: Telegram's
getChatAdministrators / getChatMember and an anonymous admin writing as the group;
Discord roles reaching discord.py's permission checks on messages and interactions,
and application commands' localizations and default permissions."""

from __future__ import annotations

import aiohttp
import discord
import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import ChatMemberAdministrator, ChatMemberMember, ChatMemberOwner

from tests.helpers import wait_until
from tests.integration.test_standin_private_and_buttons import (  # noqa: F401 - the fixtures
    ANNA,
    BEN,
    CHANNEL,
    DC_TOKEN,
    GUILD,
    GROUP,
    JUERGEN,
    MAREN,
    bot,
    connected,
    discord_standin,
    make_client,
    telegram,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3


async def test_telegram_administrators(telegram, bot):
    telegram.inject_message(GROUP, BEN, "hello")
    assert await bot.get_chat_administrators(GROUP) == []
    telegram.make_admin(GROUP, ANNA)
    owner = {"id": 424242, "first_name": "Olga"}
    telegram.make_admin(GROUP, owner, owner=True)
    admins = await bot.get_chat_administrators(GROUP)
    assert {type(m) for m in admins} == {ChatMemberAdministrator, ChatMemberOwner}
    assert {m.user.id for m in admins} == {ANNA["id"], owner["id"]}
    anna = await bot.get_chat_member(GROUP, ANNA["id"])
    assert isinstance(anna, ChatMemberAdministrator) and anna.can_manage_chat and not anna.is_anonymous
    assert isinstance(await bot.get_chat_member(GROUP, BEN["id"]), ChatMemberMember)
    with pytest.raises(TelegramBadRequest, match="user not found"):
        await bot.get_chat_member(GROUP, 999)
    telegram.start_private(ANNA)
    with pytest.raises(TelegramBadRequest, match="there are no administrators in the private chat"):
        await bot.get_chat_administrators(ANNA["id"])
    telegram.remove_admin(GROUP, ANNA["id"])
    assert isinstance(await bot.get_chat_member(GROUP, ANNA["id"]), ChatMemberMember)

    message = telegram.inject_as_group(GROUP, "/status")
    assert message["sender_chat"]["id"] == GROUP and message["from"]["username"] == "GroupAnonymousBot"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    [update] = [u for u in await bot.get_updates() if u.message and u.message.sender_chat]
    assert update.message.sender_chat.id == GROUP and update.message.from_user.is_bot


async def test_discord_roles_reach_permission_checks(discord_standin):
    client = make_client()
    seen: list[discord.Message] = []
    interactions: list[discord.Interaction] = []

    @client.event
    async def on_message(message: discord.Message) -> None:
        seen.append(message)

    @client.event
    async def on_interaction(interaction: discord.Interaction) -> None:
        interactions.append(interaction)

    before = discord_standin.add_role(GUILD, "Vorstand", MANAGE_GUILD)  # known from GUILD_CREATE
    async with connected(discord_standin, client):
        after = discord_standin.add_role(GUILD, "Admins", ADMINISTRATOR)  # GUILD_ROLE_CREATE
        await wait_until(lambda: client.get_guild(GUILD).get_role(after), 10, message="the new role cached")
        discord_standin.give_role(GUILD, JUERGEN, before)
        discord_standin.give_role(GUILD, MAREN, after)
        discord_standin.inject_message(CHANNEL, JUERGEN, "/status")
        discord_standin.inject_message(CHANNEL, MAREN, "/status")
        discord_standin.inject_message(CHANNEL, {"id": 331122334455660000, "username": "kai"}, "/status")
        await wait_until(lambda: len(seen) == 3, 10, message="the three messages")
        permissions = [m.channel.permissions_for(m.author) for m in seen]
        assert [p.manage_guild for p in permissions] == [True, True, False]
        assert [p.administrator for p in permissions] == [False, True, False]

        # Application commands: localizations are checked, default permissions decide who may run it.
        commands = [
            {
                "name": "status",
                "description": "Organisers: how the bridge is doing",
                "description_localizations": {"de": "Organisation: wie es der Brücke geht"},
                "default_member_permissions": str(MANAGE_GUILD),
            }
        ]
        await client.http.bulk_upsert_global_commands(discord_standin.application_id, commands)
        [stored] = discord_standin.application_commands()
        assert stored["description_localizations"] == {"de": "Organisation: wie es der Brücke geht"}
        with pytest.raises(PermissionError):
            discord_standin.inject_slash_command({"id": 331122334455660000, "username": "kai"}, CHANNEL, "status")
        payload = discord_standin.inject_slash_command(JUERGEN, CHANNEL, "status")
        assert payload["member"]["roles"] == [str(before)] and int(payload["member"]["permissions"]) & MANAGE_GUILD
        await wait_until(lambda: interactions, 10, message="the interaction")
        assert interactions[0].permissions.manage_guild

    bad = [{"name": "status", "description": "x", "description_localizations": {"de-DE": "falsch"}}]
    async with aiohttp.ClientSession() as http:
        url = f"{discord_standin.api_url}/applications/{discord_standin.application_id}/commands"
        async with http.put(url, json=bad, headers={"Authorization": f"Bot {DC_TOKEN}"}) as response:
            assert response.status == 400
            body = await response.json()
    assert body["code"] == 50035 and "de-DE" in body["errors"]["0"]["description_localizations"]
