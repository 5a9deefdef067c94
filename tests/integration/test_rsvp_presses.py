"""RSVP button presses through the real adapters (aiogram, discord.py) against the
stand-ins: each press becomes its own `rsvp` command in the moderation queue (Going,
then Maybe on one message are two commands; the redelivery of one press is one), the
press is answered at once with the choice in the chat community's language, and an
RSVP takes no place among its chat's messages (no pending mark for them to wait on)."""

from __future__ import annotations

import base64
import json

import pytest

from bridge.discord.adapter import DiscordAdapter
from bridge.ingress import Ingress
from bridge.telegram.adapter import TelegramAdapter
from core.announcements import rsvp_button_data
from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.settings import Settings
from core.task_queue import TaskQueue
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from tests.helpers import two_community_links, wait_until, write_links

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TG_TOKEN = "7000001:AAH-test-secret-token-for-the-stand-in"
DC_TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.standin.S3cr3t-t0ken-for-tests"
TG_CHAT = -1001000000001
GUILD = 112233445566770000
CHANNEL = 112233445566778899
LINK = "leicester-krefeld"
ANNA = {"id": 111222333, "first_name": "Anna", "username": "anna_smith"}
JUERGEN = {"id": 331122334455667788, "username": "juergen.b", "global_name": "Jürgen Becker"}
BUTTONS = tuple(
    (label, rsvp_button_data("fair01", choice)) for label, choice in (("Going", "going"), ("Maybe", "maybe"))
)


@pytest.fixture
def config(tmp_path):
    return write_links(tmp_path, two_community_links(TG_CHAT, CHANNEL, LINK))


def notice_with_buttons(destination: ChatRef) -> OutboundPost:
    """A bot message carrying the RSVP buttons (as an event notice's copy does)."""
    return OutboundPost(
        kind=EventKind.NOTICE,
        link_id=LINK,
        destination=destination,
        source=MessageRef("twinbridge", "announcements", "fair01"),
        sender="",
        community="",
        text="Summer fair, Saturday",
        buttons=BUTTONS,
    )


async def commands_queued(aredis, prefix) -> list[dict]:
    found = []
    for raw in reversed(await aredis.lrange(f"{prefix}celery:moderation", 0, -1)):
        envelope = json.loads(raw)
        if envelope["headers"]["task"] == "twinbridge.process_command":
            found.append(json.loads(base64.b64decode(envelope["body"]))[0][0])
    return found


async def no_pending_marks(aredis, prefix) -> bool:
    return not [key async for key in aredis.scan_iter(match=f"{prefix}pendingcmd:*")]


# -- Telegram ---------------------------------------------------------------------------


async def test_telegram_each_press_is_an_rsvp_command_answered_at_once(
    tmp_path, config, redis_url, prefix, aredis, keys
):
    standin = TelegramStandIn(TG_TOKEN)
    await standin.start()
    settings = Settings(
        config_path=tmp_path / "links.yaml",
        redis_url=redis_url,
        redis_prefix=prefix,
        telegram_bot_token=TG_TOKEN,
        telegram_api_url=standin.url,
    )
    adapter = TelegramAdapter(
        settings=settings,
        config=config,
        redis=aredis,
        keys=keys,
        ingress=Ingress(aredis, keys, TaskQueue.for_settings(settings)),
    )
    await adapter.start()
    try:
        await aredis.xadd(
            keys.outbox("telegram"),
            {"post": json.dumps(notice_with_buttons(ChatRef("telegram", str(TG_CHAT))).to_dict())},
        )
        [shown] = await wait_until(lambda: standin.sent(TG_CHAT), message="the notice with its buttons")
        message_id = shown["message_id"]
        going = standin.inject_callback(ANNA, TG_CHAT, message_id, rsvp_button_data("fair01", "going"))
        await wait_until(lambda: standin.callback_answers, message="the first press answered")
        standin.inject_callback(ANNA, TG_CHAT, message_id, rsvp_button_data("fair01", "maybe"))
        standin.inject_update(going)  # Telegram delivering the first press again
        standin.inject_message(TG_CHAT, ANNA, "barrier")
        await wait_until(
            lambda: _length_at_least(aredis, prefix, 3), message="two commands and the barrier message queued"
        )
        commands = await commands_queued(aredis, prefix)
        assert [(c["name"], c["args"], c["via"]) for c in commands] == [
            ("rsvp", "fair01 going", "button"),
            ("rsvp", "fair01 maybe", "button"),
        ]
        assert all(c["press_id"] and c["chat_id"] == str(TG_CHAT) for c in commands)
        await wait_until(lambda: len(standin.callback_answers) >= 2, message="both presses answered")
        assert [a.get("text") for a in standin.callback_answers[:2]] == ["✓ Going", "✓ Maybe"]
        assert await no_pending_marks(aredis, prefix)
    finally:
        await adapter.stop()
        await standin.stop()


async def _length_at_least(aredis, prefix, count: int) -> bool:
    return await aredis.llen(f"{prefix}celery:moderation") >= count


# -- Discord ----------------------------------------------------------------------------


async def test_discord_each_click_is_an_rsvp_command_confirmed_privately(
    tmp_path, config, redis_url, prefix, aredis, keys
):
    standin = DiscordStandIn(DC_TOKEN, {GUILD: {"name": "Krefeld", "channels": {CHANNEL: "partnerschaft"}}})
    await standin.start()
    settings = Settings(
        redis_url=redis_url,
        redis_prefix=prefix,
        discord_bot_token=DC_TOKEN,
        discord_api_url=standin.api_url,
        discord_gateway_url=standin.gateway_url,
    )
    adapter = DiscordAdapter(
        settings=settings,
        config=config,
        redis=aredis,
        keys=keys,
        ingress=Ingress(aredis, keys, TaskQueue.for_settings(settings)),
    )
    await adapter.start()
    try:
        await aredis.xadd(
            keys.outbox("discord"),
            {"post": json.dumps(notice_with_buttons(ChatRef("discord", str(CHANNEL))).to_dict())},
        )
        [shown] = await wait_until(
            lambda: [p for p in standin.posts(CHANNEL) if p.get("components")], message="the notice with its buttons"
        )
        for choice in ("going", "maybe", "maybe"):
            standin.inject_component_click(JUERGEN, CHANNEL, int(shown["id"]), rsvp_button_data("fair01", choice))
        await wait_until(lambda: len(standin.interaction_responses) >= 3, message="every click answered")
        commands = await wait_until(lambda: _commands_at_least(aredis, prefix, 3), message="three commands queued")
        # Handed over concurrently (discord.py runs each interaction in a task of its own);
        # each stamped with when it came, which the store goes by.
        commands.sort(key=lambda c: c["pressed_at"])
        assert sorted(c["args"] for c in commands) == ["fair01 going", "fair01 maybe", "fair01 maybe"]
        assert len({c["press_id"] for c in commands}) == 3  # each click is its own (the store counts one answer)
        responses = standin.interaction_responses[:3]
        # The member alone sees the confirmation, in the channel community's language (Krefeld: German).
        assert sorted((r["type"], r["ephemeral"], r["data"]["content"]) for r in responses) == [
            (4, True, "✓ Dabei"),
            (4, True, "✓ Vielleicht"),
            (4, True, "✓ Vielleicht"),
        ]
        assert await no_pending_marks(aredis, prefix)
    finally:
        await adapter.stop()
        await standin.stop()


async def _commands_at_least(aredis, prefix, count: int) -> list[dict] | None:
    found = await commands_queued(aredis, prefix)
    return found if len(found) >= count else None
