"""/delete's pure parts: parsing, menus, the answers' words, the model's round trips."""

from __future__ import annotations

from core import delete_phrases
from core.chat_commands import COMMANDS, MEMBER_COMMANDS, TELEGRAM_ONLY, description, parse
from core.models import Author, ChatRef, Command, EventKind, MessageRef, OutboundPost


def test_delete_is_a_member_command_of_telegram_only():
    assert parse("/delete") == ("delete", "")
    assert parse("/delete@twin_bot", "twin_bot") == ("delete", "")
    assert parse("/delete@other_bot", "twin_bot") is None
    assert "delete" in COMMANDS and "delete" in MEMBER_COMMANDS and "delete" in TELEGRAM_ONLY
    assert description("delete", "de").startswith("Als Antwort")
    assert all(len(description("delete", language)) <= 256 for language in ("en", "de", "fr", "es"))


def test_discord_registers_no_delete_slash_command():
    from bridge.discord.command_cog import slash_commands

    names = {command["name"] for command in slash_commands()}
    assert "delete" not in names and "forgetme" in names


def test_telegram_menus_offer_delete_to_members():
    from bridge.telegram.command_router import menus

    for scope, _language, commands in menus():
        if scope.type in ("default", "all_chat_administrators"):
            assert "delete" in [c.command for c in commands]


def test_answers_in_the_chat_language_english_otherwise():
    assert "reply to it with /delete" in delete_phrases.how_to("en")
    assert "antworte auf sie mit /delete" in delete_phrases.how_to("de")
    assert delete_phrases.how_to("gu") == delete_phrases.how_to("en")
    assert "nada" in delete_phrases.refused("es")
    assert delete_phrases.too_old("fr", others_go=True).endswith("Discord sont en cours de suppression.")
    assert "Discord" not in delete_phrases.too_old("en", others_go=False)
    assert "Discord" in delete_phrases.on_discord("en")


def test_command_and_post_carry_the_new_fields_through_json():
    command = Command(
        name="delete",
        args="",
        platform="telegram",
        chat_id="-100",
        message_id="7",
        user=Author(id="5001", display_name="Anna"),
        reply_to="5",
        reply_to_at=1_700_000_000.0,
    )
    assert Command.from_dict(command.to_dict()) == command
    post = OutboundPost(
        kind=EventKind.DELETE,
        link_id="twins",
        destination=ChatRef("telegram", "-100"),
        source=MessageRef("telegram", "-100", "5"),
        sender="",
        community="",
        itself=True,
    )
    assert OutboundPost.from_dict(post.to_dict()) == post
    assert OutboundPost.from_dict({**post.to_dict(), "itself": None}).itself is False
