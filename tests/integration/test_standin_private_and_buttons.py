"""The stand-ins' private chats, buttons, callbacks, interactions and commands,
driven through the real clients (aiogram 3, discord.py 2) where they can be,
and through raw HTTP where the point is the exact error body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
import discord
import pytest
import yarl
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bridge.discord.adapter import NO_VOICE_WARNINGS
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from tests.helpers import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TG_TOKEN = "7000001:AAH-test-secret-token-for-the-stand-in"
GROUP = -1001000000001
ANNA = {"id": 111222333, "first_name": "Anna", "last_name": "Smith", "username": "anna_smith"}
BEN = {"id": 111222444, "first_name": "Ben"}

DC_TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.standin.S3cr3t-t0ken-for-tests"
GUILD = 112233445566770000
CHANNEL = 112233445566778899
JUERGEN = {"id": 331122334455667788, "username": "juergen.b", "global_name": "Jürgen Becker"}
MAREN = {"id": 331122334455667799, "username": "maren"}


# -- Telegram ------------------------------------------------------------------------


@pytest.fixture
async def telegram():
    server = TelegramStandIn(TG_TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(telegram):
    client = Bot(TG_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(telegram.url)))
    yield client
    await client.session.close()


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in rows]
    )


async def test_bot_cannot_write_first_in_private(telegram, bot):
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation with a user"):
        await bot.send_message(ANNA["id"], "Hello Anna")
    # The exact body, as Telegram sends it.
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{telegram.url}/bot{TG_TOKEN}/sendMessage", json={"chat_id": ANNA["id"], "text": "hi"}) as resp,
    ):
        assert resp.status == 403
        assert await resp.json() == {
            "ok": False,
            "error_code": 403,
            "description": "Forbidden: bot can't initiate conversation with a user",
        }
    # Being seen in a group is not enough.
    telegram.inject_message(GROUP, ANNA, "hello group")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(ANNA["id"], "Hello Anna")
    assert telegram.private_messages(ANNA["id"]) == []

    start = telegram.start_private(ANNA)
    assert start["chat"] == {
        "id": ANNA["id"],
        "type": "private",
        "first_name": "Anna",
        "last_name": "Smith",
        "username": "anna_smith",
    }
    assert start["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    sent = await bot.send_message(ANNA["id"], "Welcome! Reply /consent to join.")
    assert sent.chat.type == "private"
    assert [m["text"] for m in telegram.private_messages(ANNA["id"])] == ["Welcome! Reply /consent to join."]

    telegram.block_bot(ANNA["id"])
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ANNA["id"], "still there?")
    telegram.unblock_bot(ANNA["id"])
    await bot.send_message(ANNA["id"], "welcome back")

    with pytest.raises(ValueError):  # a private chat's id is its user's id
        telegram.inject_message(BEN["id"], ANNA, "not my chat")


async def test_inline_keyboards_are_checked_stored_and_removed_by_edits(telegram, bot):
    telegram.start_private(ANNA)
    markup = keyboard([("Yes", "consent:yes"), ("No", "consent:no")])
    sent = await bot.send_message(ANNA["id"], "Relay your messages?", reply_markup=markup)
    assert sent.reply_markup.model_dump() == markup.model_dump()
    (stored,) = telegram.private_messages(ANNA["id"])
    assert stored["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": "consent:yes"}, {"text": "No", "callback_data": "consent:no"}]
        ]
    }

    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ANNA["id"], "x", reply_markup=keyboard([("Too long", "x" * 65)]))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ANNA["id"], "x", reply_markup=keyboard([("Too long", "ü" * 33)]))  # 66 bytes
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(
            ANNA["id"],
            "x",
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="no action")]]),
        )
    await bot.send_message(ANNA["id"], "64 bytes is fine", reply_markup=keyboard([("ok", "y" * 64)]))

    # An edit of the text without reply_markup takes the keyboard away, as on Telegram.
    edited = await bot.edit_message_text(
        "Relay your messages? (asked again)", chat_id=ANNA["id"], message_id=sent.message_id
    )
    assert edited.reply_markup is None
    assert "reply_markup" not in telegram.private_messages(ANNA["id"])[0]
    back = await bot.edit_message_reply_markup(chat_id=ANNA["id"], message_id=sent.message_id, reply_markup=markup)
    assert back.reply_markup.model_dump() == markup.model_dump()
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=ANNA["id"], message_id=sent.message_id, reply_markup=markup)
    cleared = await bot.edit_message_reply_markup(chat_id=ANNA["id"], message_id=sent.message_id)
    assert cleared.reply_markup is None
    assert "reply_markup" not in telegram.private_messages(ANNA["id"])[0]


async def test_callback_queries_and_commands_reach_an_aiogram_dispatcher(telegram, bot):
    seen: dict[str, object] = {}
    router = Router()

    @router.callback_query(F.data.startswith("consent:"))
    async def on_consent(callback: CallbackQuery) -> None:
        seen["callback"] = callback
        await callback.answer("Thanks!", show_alert=True)
        await callback.message.edit_reply_markup(reply_markup=None)

    @router.message(Command("approve"))
    async def on_approve(message: Message, command: CommandObject) -> None:
        seen["approve"] = command.args

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=False)
    )
    try:
        question = await bot.send_message(
            GROUP, "Relay Anna's messages?", reply_markup=keyboard([("Yes", "consent:yes"), ("No", "consent:no")])
        )
        with pytest.raises(ValueError):  # only buttons that are there can be pressed
            telegram.inject_callback(ANNA, GROUP, question.message_id, "consent:maybe")
        update = telegram.inject_callback(ANNA, GROUP, question.message_id, "consent:yes")
        query = update["callback_query"]
        assert set(query) == {"id", "from", "message", "chat_instance", "data"}
        assert query["from"] == {"is_bot": False, **ANNA}
        assert query["message"]["message_id"] == question.message_id and query["data"] == "consent:yes"

        (answer,) = await wait_until(lambda: telegram.callback_answers, message="the callback answer")
        assert answer == {
            "callback_query_id": query["id"],
            "text": "Thanks!",
            "show_alert": True,
            "user_id": ANNA["id"],
            "chat_id": GROUP,
            "message_id": question.message_id,
            "data": "consent:yes",
        }
        callback = seen["callback"]
        assert callback.from_user.id == ANNA["id"] and callback.chat_instance == query["chat_instance"]
        assert callback.message.reply_markup is not None  # as it was when pressed
        await wait_until(
            lambda: "reply_markup" not in telegram.message(GROUP, question.message_id), message="the keyboard removed"
        )

        approve = telegram.inject_message(GROUP, BEN, "/approve@twinbridge_bot 12")
        assert approve["entities"] == [{"type": "bot_command", "offset": 0, "length": 23}]
        await wait_until(lambda: seen.get("approve") == "12", message="the /approve command handled")
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 10)

    # Answered once only; unknown and expired ids get the same answer.
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
        await bot.answer_callback_query(query["id"])
    again = await bot.send_message(GROUP, "Once more?", reply_markup=keyboard([("Yes", "again")]))
    stale = telegram.inject_callback(BEN, GROUP, again.message_id, "again")["callback_query"]["id"]
    telegram.expire_callbacks()
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query(stale, text="too late")
    assert len(telegram.callback_answers) == 1


async def test_members_commands_carry_a_bot_command_entity(telegram):
    assert telegram.inject_message(GROUP, ANNA, "/consent")["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 8}
    ]
    assert telegram.inject_message(GROUP, ANNA, "/approve 12")["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 8}
    ]
    assert telegram.inject_message(GROUP, ANNA, "/consent@twinbridge_bot")["entities"][0]["length"] == 23
    assert "entities" not in telegram.inject_message(GROUP, ANNA, "/ not a command")
    assert "entities" not in telegram.inject_message(GROUP, ANNA, "/path/to/file")


async def test_commands_per_scope(telegram, bot):
    await bot.set_my_commands([BotCommand(command="consent", description="Agree to relaying")])
    await bot.set_my_commands(
        [BotCommand(command="approve", description="Approve a request")], scope=BotCommandScopeChat(chat_id=GROUP)
    )
    assert [c.command for c in await bot.get_my_commands()] == ["consent"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=GROUP))] == ["approve"]
    assert telegram.commands() == [{"command": "consent", "description": "Agree to relaying"}]
    assert telegram.commands("chat", chat_id=GROUP) == [{"command": "approve", "description": "Approve a request"}]
    assert telegram.commands("all_private_chats") == []


# -- Discord -------------------------------------------------------------------------


@pytest.fixture
async def discord_standin():
    # A roomy route limit: these tests are about shapes, not rate limits.
    server = DiscordStandIn(
        DC_TOKEN, {GUILD: {"name": "Krefeld", "channels": {CHANNEL: "partnerschaft"}}}, route_limit=(50, 1.0)
    )
    await server.start()
    yield server
    await server.stop()


def make_client(message_content: bool = True) -> discord.Client:
    """A plain discord.py client with guild and DM messages (and their content, unless told)."""
    logging.getLogger("discord.client").addFilter(NO_VOICE_WARNINGS)  # never joins voice (as the adapter)
    intents = discord.Intents.none()
    intents.guilds = intents.guild_messages = intents.dm_messages = True
    intents.message_content = message_content
    return discord.Client(intents=intents)


@contextlib.asynccontextmanager
async def connected(standin: DiscordStandIn, client: discord.Client):
    """Log ``client`` in to the stand-in and run its gateway until the block ends
    (as bridge/discord/adapter.py does it)."""
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = standin.api_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(standin.gateway_url)
    try:
        await client.login(DC_TOKEN)
        task = asyncio.create_task(client.connect(reconnect=False))
        await asyncio.wait_for(client.wait_until_ready(), 20)
        try:
            yield client
        finally:
            await client.close()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


def consent_view() -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="I agree", style=discord.ButtonStyle.success, custom_id="consent:yes"))
    view.add_item(discord.ui.Button(label="No", style=discord.ButtonStyle.secondary, custom_id="consent:no"))
    return view


async def test_dms_open_send_and_closed(discord_standin):
    client = make_client(message_content=False)
    received: list[discord.Message] = []
    client.event(_collect(received))
    discord_standin.add_user(JUERGEN)
    async with connected(discord_standin, client):
        user = await client.fetch_user(JUERGEN["id"])
        dm = await user.create_dm()
        assert dm.id == discord_standin.dm_channel_id(JUERGEN["id"])
        await dm.send("Hallo Jürgen, reply /consent to join the bridge.")
        assert [m["content"] for m in discord_standin.dms(JUERGEN["id"])] == [
            "Hallo Jürgen, reply /consent to join the bridge."
        ]

        # The member answers in the DM: delivered with its content although the
        # Message Content intent is off (DMs with the app are exempt).
        discord_standin.inject_message(dm.id, JUERGEN, "/consent")
        await wait_until(lambda: any(m.content == "/consent" for m in received), message="the DM answer")
        reply = next(m for m in received if m.content == "/consent")
        assert reply.guild is None and isinstance(reply.channel, discord.DMChannel)

        discord_standin.close_dms(JUERGEN["id"])
        with pytest.raises(discord.Forbidden) as closed:
            await dm.send("are you there?")
        assert closed.value.status == 403 and closed.value.code == 50007
        assert closed.value.text == "Cannot send messages to this user"
        assert len(discord_standin.dms(JUERGEN["id"])) == 1

    # The DM channel is stable per user; any snowflake is a user; the bot cannot DM itself.
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {DC_TOKEN}"}) as http:
        async with http.post(
            f"{discord_standin.api_url}/users/@me/channels", json={"recipient_id": str(JUERGEN["id"])}
        ) as resp:
            assert resp.status == 200
            channel = await resp.json()
            assert channel["id"] == str(dm.id) and channel["type"] == 1
            assert channel["recipients"][0]["id"] == str(JUERGEN["id"])
        async with http.post(
            f"{discord_standin.api_url}/users/@me/channels", json={"recipient_id": str(MAREN["id"])}
        ) as resp:
            assert resp.status == 200 and (await resp.json())["recipients"][0]["username"] == f"user{MAREN['id']}"
        async with http.post(
            f"{discord_standin.api_url}/users/@me/channels", json={"recipient_id": str(discord_standin.bot_id)}
        ) as resp:
            assert resp.status == 400
            assert await resp.json() == {"message": "Invalid Recipient(s)", "code": 50033}


def _collect(into: list):
    async def on_message(message: discord.Message) -> None:
        into.append(message)

    return on_message


async def test_guild_message_content_is_delivered(discord_standin):
    client = make_client()
    received: list[discord.Message] = []
    client.event(_collect(received))
    async with connected(discord_standin, client):
        discord_standin.inject_message(CHANNEL, JUERGEN, "/consent")
        await wait_until(lambda: received, message="the member's message")
        assert received[0].content == "/consent" and received[0].guild.id == GUILD


async def test_components_are_checked_and_stored(discord_standin):
    url = f"{discord_standin.api_url}/channels/{CHANNEL}/messages"
    button = {"type": 2, "style": 1, "label": "Go", "custom_id": "go"}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {DC_TOKEN}"}) as http:

        async def post(components):
            async with http.post(url, json={"content": "Pick one", "components": components}) as resp:
                return resp.status, await resp.json()

        status, body = await post([{"type": 1, "components": [{**button, "custom_id": "x" * 101}]}])
        assert status == 400
        assert body == {
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {
                "components": {
                    "0": {
                        "components": {
                            "0": {
                                "custom_id": {
                                    "_errors": [
                                        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 100 or fewer in length."}
                                    ]
                                }
                            }
                        }
                    }
                }
            },
        }
        status, body = await post([{"type": 1, "components": [button, dict(button)]}])
        assert status == 400
        assert (
            body["errors"]["components"]["0"]["components"]["1"]["custom_id"]["_errors"][0]["code"]
            == "COMPONENT_CUSTOM_ID_DUPLICATED"
        )
        status, body = await post([button])  # a button outside an action row
        assert status == 400 and "type" in body["errors"]["components"]["0"]
        status, body = await post([{"type": 1, "components": [{**button, "style": 9}]}])
        assert status == 400 and body["code"] == 50035
        status, body = await post([{"type": 1, "components": [button] * 6}])
        assert (
            status == 400
            and body["errors"]["components"]["0"]["components"]["_errors"][0]["code"] == "BASE_TYPE_BAD_LENGTH"
        )

        status, body = await post(
            [
                {
                    "type": 1,
                    "components": [button, {"type": 2, "style": 5, "label": "Docs", "url": "https://example.org"}],
                }
            ]
        )
        assert status == 200
        assert [c["custom_id"] for c in body["components"][0]["components"][:1]] == ["go"]
        stored = discord_standin.message(CHANNEL, int(body["id"]))
        assert stored["components"] == body["components"]
        async with http.patch(f"{url}/{body['id']}", json={"components": []}) as resp:
            assert resp.status == 200 and (await resp.json())["components"] == []


async def test_component_clicks_reach_discord_py_and_are_answered(discord_standin):
    client = make_client()
    interactions: list[discord.Interaction] = []

    @client.event
    async def on_interaction(interaction: discord.Interaction) -> None:
        interactions.append(interaction)
        custom_id = interaction.data["custom_id"]
        if custom_id == "consent:yes":
            await interaction.response.send_message("ok", ephemeral=True)
        elif custom_id == "consent:no":
            await interaction.response.edit_message(content="You said no.", view=None)
        elif custom_id == "slow":
            await interaction.response.defer(thinking=True)
            await interaction.followup.send("done")
            await interaction.edit_original_response(content="done, really")

    async with connected(discord_standin, client):
        channel = client.get_channel(CHANNEL)
        question = await channel.send("Relay your messages to Leicester?", view=consent_view())
        stored = discord_standin.message(CHANNEL, question.id)
        assert [c["custom_id"] for c in stored["components"][0]["components"]] == ["consent:yes", "consent:no"]

        with pytest.raises(ValueError):
            discord_standin.inject_component_click(JUERGEN, CHANNEL, question.id, "consent:maybe")
        payload = discord_standin.inject_component_click(JUERGEN, CHANNEL, question.id, "consent:yes")
        assert payload["type"] == 3 and payload["version"] == 1
        assert payload["data"]["custom_id"] == "consent:yes" and payload["data"]["component_type"] == 2
        assert payload["member"]["user"]["id"] == str(JUERGEN["id"]) and "user" not in payload
        assert payload["message"]["id"] == str(question.id) and payload["guild_id"] == str(GUILD)
        assert payload["authorizing_integration_owners"] == {"0": str(GUILD)} and payload["context"] == 0

        (answer,) = await wait_until(lambda: discord_standin.interaction_responses, message="the answer")
        assert answer["interaction_id"] == payload["id"] and answer["kind"] == "callback"
        assert answer["type"] == 4 and answer["ephemeral"] is True and answer["data"]["content"] == "ok"
        assert answer["custom_id"] == "consent:yes" and answer["user_id"] == str(JUERGEN["id"])
        seen = interactions[0]
        assert isinstance(seen.user, discord.Member) and seen.user.id == JUERGEN["id"]
        assert seen.message.id == question.id and seen.guild_id == GUILD and seen.channel.id == CHANNEL
        # Ephemeral: only Jürgen sees it, so it is not in the channel.
        assert ("twinbridge", "ok") not in discord_standin.transcript(CHANNEL)

        # Answering twice is refused.
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{discord_standin.api_url}/interactions/{payload['id']}/{payload['token']}/callback",
                json={"type": 4, "data": {"content": "again"}},
            ) as resp,
        ):
            assert resp.status == 400
            assert await resp.json() == {"message": "Interaction has already been acknowledged.", "code": 40060}

        # UPDATE_MESSAGE edits the message whose button was pressed, for everyone.
        discord_standin.inject_component_click(MAREN, CHANNEL, question.id, "consent:no")
        await wait_until(lambda: len(discord_standin.interaction_responses) == 2, message="the update")
        assert discord_standin.interaction_responses[1]["type"] == 7
        updated = discord_standin.message(CHANNEL, question.id)
        assert updated["content"] == "You said no." and updated["components"] == []

        # A deferred "thinking" answer: the first follow-up becomes it, then an edit.
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="Slow", custom_id="slow"))
        slow = await channel.send("Check the queue", view=view)
        discord_standin.inject_component_click(JUERGEN, CHANNEL, slow.id, "slow")
        await wait_until(lambda: len(discord_standin.interaction_responses) == 5, message="defer, follow-up, edit")
        defer, followup, edit = discord_standin.interaction_responses[2:]
        assert (defer["type"], followup["kind"], edit["kind"]) == (5, "followup", "edit_original")
        assert defer["message_id"] == followup["message_id"] == edit["message_id"]
        answer_message = discord_standin.message(CHANNEL, int(edit["message_id"]))
        assert answer_message["content"] == "done, really" and answer_message["flags"] == 0
        assert answer_message["webhook_id"] == str(discord_standin.application_id)


async def test_slash_commands_synced_and_run_through_the_command_tree(discord_standin):
    client = make_client()
    tree = app_commands.CommandTree(client)
    interactions: list[discord.Interaction] = []

    @tree.command(name="approve", description="Approve a join request", guild=discord.Object(GUILD))
    async def approve(interaction: discord.Interaction, request: int) -> None:
        await interaction.response.send_message(f"approved {request}", ephemeral=True)

    @tree.command(name="consent", description="Agree to relaying your messages")
    async def consent(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Thanks, noted.")

    @client.event
    async def on_interaction(interaction: discord.Interaction) -> None:
        interactions.append(interaction)

    discord_standin.add_user(JUERGEN)
    async with connected(discord_standin, client):
        with pytest.raises(KeyError):  # not registered yet
            discord_standin.inject_slash_command(JUERGEN, CHANNEL, "approve", {"request": 12})
        synced_global = await tree.sync()
        synced_guild = await tree.sync(guild=discord.Object(GUILD))
        assert [c.name for c in synced_global] == ["consent"] and [c.name for c in synced_guild] == ["approve"]
        (stored,) = discord_standin.application_commands(GUILD)
        assert stored["options"][0]["name"] == "request" and stored["options"][0]["type"] == 4
        assert [c["name"] for c in discord_standin.application_commands()] == ["consent"]
        assert synced_guild[0].id == int(stored["id"])
        # A bulk overwrite keeps a command's id.
        assert (await tree.sync(guild=discord.Object(GUILD)))[0].id == int(stored["id"])

        payload = discord_standin.inject_slash_command(JUERGEN, CHANNEL, "approve", {"request": 12})
        assert payload["data"] == {
            "id": stored["id"],
            "name": "approve",
            "type": 1,
            "guild_id": str(GUILD),
            "options": [{"name": "request", "type": 4, "value": 12}],
        }
        (answer,) = await wait_until(lambda: discord_standin.interaction_responses, message="the answer")
        assert answer["command"] == "approve" and answer["ephemeral"] is True
        assert answer["data"]["content"] == "approved 12"

        # The global command also works in the member's DM with the bot.
        dm_id = discord_standin.dm_channel_id(JUERGEN["id"])
        dm_payload = discord_standin.inject_slash_command(JUERGEN, dm_id, "consent")
        assert dm_payload["user"]["id"] == str(JUERGEN["id"]) and "member" not in dm_payload
        assert dm_payload["context"] == 1 and dm_payload["channel"]["type"] == 1
        await wait_until(lambda: len(discord_standin.interaction_responses) == 2, message="the DM answer")
        assert discord_standin.interaction_responses[1]["ephemeral"] is False
        assert [m["content"] for m in discord_standin.dms(JUERGEN["id"])] == []  # an interaction answer, not a DM
        assert interactions[-1].guild_id is None and isinstance(interactions[-1].user, discord.User)

        with pytest.raises(KeyError):  # a guild command is not available in DMs
            discord_standin.inject_slash_command(JUERGEN, dm_id, "approve", {"request": 1})
        with pytest.raises(ValueError):
            discord_standin.inject_slash_command(JUERGEN, CHANNEL, "approve", {"request": "twelve"})


async def test_interaction_errors(discord_standin):
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {DC_TOKEN}"}) as http:
        async with http.post(
            f"{discord_standin.api_url}/channels/{CHANNEL}/messages",
            json={
                "content": "Join?",
                "components": [
                    {"type": 1, "components": [{"type": 2, "style": 1, "label": "Join", "custom_id": "join"}]}
                ],
            },
        ) as resp:
            message = await resp.json()
        async with http.put(
            f"{discord_standin.api_url}/applications/{discord_standin.application_id}/commands",
            json=[{"name": "Bad Name", "description": "x"}],
        ) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == 50035

    click = discord_standin.inject_component_click(JUERGEN, CHANNEL, int(message["id"]), "join")
    callback = f"{discord_standin.api_url}/interactions/{click['id']}/{click['token']}/callback"
    followup = f"{discord_standin.api_url}/webhooks/{discord_standin.application_id}/{click['token']}"
    async with aiohttp.ClientSession() as http:
        async with http.post(followup, json={"content": "too early"}) as resp:
            assert resp.status == 404 and (await resp.json())["code"] == 10015
        async with http.post(
            callback,
            json={
                "type": 4,
                "data": {
                    "content": "ok",
                    "components": [
                        {"type": 1, "components": [{"type": 2, "style": 1, "label": "x", "custom_id": "y" * 101}]}
                    ],
                },
            },
        ) as resp:
            assert resp.status == 400 and "data" in (await resp.json())["errors"]
        discord_standin.interaction_ack_deadline = 0.0  # Discord's 3 seconds, passed
        async with http.post(callback, json={"type": 6}) as resp:
            assert resp.status == 404
            assert await resp.json() == {"message": "Unknown interaction", "code": 10062}
    assert discord_standin.interaction_responses == []
