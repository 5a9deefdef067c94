"""Recognising the member and moderator commands (the same words on both platforms)."""

from __future__ import annotations

import pytest

from core.chat_commands import parse, parse_button
from bridge.discord.command_cog import slash_commands


@pytest.mark.parametrize(
    "text,expected",
    [
        ("/consent", ("consent", "")),
        ("/consent withdraw", ("consent", "withdraw")),
        ("/Consent  Withdraw ", ("consent", "Withdraw")),
        ("/approve@twinbridge_bot a1b2c3", ("approve", "a1b2c3")),
        ("/privacy", ("privacy", "")),
        ("/start", ("start", "")),
        ("/help", None),  # not ours
        ("/approve@other_bot 12", None),  # addressed to another bot
        ("consent please", None),
        ("/path/to/file", None),
        ("", None),
    ],
)
def test_parse(text, expected):
    assert parse(text, "twinbridge_bot") == expected


def test_buttons_and_slash_commands():
    assert parse_button("approve:a1b2c3") == ("approve", "a1b2c3")
    assert parse_button("reject:") is None and parse_button("delete:1") is None
    names = {c["name"]: c for c in slash_commands()}
    assert set(names) == {"consent", "privacy", "mydata", "forgetme", "approve", "reject", "console"} | {
        "announce",
        "announcements",
        "status",
        "pause",
        "resume",
    }
    assert names["approve"]["options"][0]["required"] and all(len(c["description"]) <= 100 for c in names.values())
    # Organisers' commands are offered to those who may manage the server (the workers check anyway).
    assert names["pause"]["default_member_permissions"] == str(1 << 5)
    assert "default_member_permissions" not in names["consent"]
    # The same words everywhere; the descriptions in each language the bridge has words for.
    assert names["status"]["description_localizations"]["de"].startswith("Organisation:")
    assert set(names["status"]["description_localizations"]) >= {"de", "fr", "es-ES", "es-419"}
    assert all(len(t) <= 100 for c in names.values() for t in c["description_localizations"].values())


def test_slash_command_options_are_described_in_each_language_too():
    names = {c["name"]: c for c in slash_commands()}
    for command in names.values():
        for option in command.get("options") or ():
            localized = option["description_localizations"]
            assert set(localized) >= {"de", "fr", "es-ES", "es-419"}, (command["name"], option["name"])
            assert all(0 < len(text) <= 100 for text in localized.values())
            assert localized["de"] != option["description"]
    [duration, _link] = names["pause"]["options"]
    assert duration["description_localizations"]["de"].startswith("wie lange")
