"""The web console's plain parts (issue 18): who sees what, the viewer's language, the policy in
plain words, the week's chart, the console's words, the /console command's place in the menus."""

from __future__ import annotations

import textwrap

from console.access import language_of
from console.charts import week_chart
from console.pages import policy_words
from console.words import best, words
from core.chat_commands import COMMANDS, MEMBER_COMMANDS, PRIVATE_COMMANDS, description
from core.console_access import MODERATOR, ORGANISER, named, roles

from ..helpers import write_links

LINKS = textwrap.dedent(
    """
    version: 1
    communities:
      leicester: {name: Leicester, language: en, organisers: ["telegram:1"], chats: [{telegram: -1001}]}
      krefeld:
        name: Krefeld
        language: de
        timezone: Europe/Berlin
        organisers: ["discord:2"]
        chats: [{discord: 112233445566778855}]
      masaya: {name: Masaya, language: es, chats: [{discord: 112233445566778866}]}
    links:
      - {id: town, communities: [leicester, krefeld], policy: community}
      - {id: school, communities: [krefeld, masaya], policy: school, organisers: ["telegram:3"]}
    policies:
      school: {moderators: ["telegram:1", "discord:9"]}
    """
)


def test_each_person_sees_only_the_links_the_configuration_names_them_in(tmp_path):
    config = write_links(tmp_path, LINKS)
    assert roles(config, "telegram:1") == {"town": {ORGANISER}, "school": {MODERATOR}}
    assert roles(config, "discord:2") == {"town": {ORGANISER}, "school": {ORGANISER}}
    assert roles(config, "telegram:3") == {"school": {ORGANISER}}  # the link's own organiser
    assert roles(config, "discord:9") == {"school": {MODERATOR}}
    assert roles(config, "telegram:2") == {} and not named(config, "telegram:2")  # same id, other platform


def test_the_viewer_reads_their_community_s_language(tmp_path):
    config = write_links(tmp_path, LINKS)
    assert language_of(config, "discord:2", roles(config, "discord:2")) == "de"
    # A moderator named in no community: their link's community on their platform.
    assert language_of(config, "discord:9", roles(config, "discord:9")) == "de"
    assert language_of(config, "telegram:3", roles(config, "telegram:3")) == "en"  # no chat on Telegram there


def test_the_policy_in_plain_words(tmp_path):
    config = write_links(tmp_path, LINKS)
    said = " ".join(policy_words(config.known_link("school")))
    assert "pseudonym" in said and "A moderator approves each message" in said and "LibreTranslate" in said
    assert "/consent" in said and "deleted after" in said


def test_the_week_chart_is_an_svg_with_a_text_alternative_and_escaped_names():
    days = [(f"2026-12-0{d}", d) for d in range(1, 8)]
    svg = week_chart({"a": days, "b": [(day, 0) for day, _ in days]}, {"a": "Leicester <3", "b": "Krefeld"})
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "<title>Messages across in the last 7 days: 28" in svg
    assert "Leicester &lt;3" in svg and "<3" not in svg
    assert svg.count("<rect") == 14 + 2 and svg.count("<text") == 7 + 1 + 2  # bars and legend; days, max, legend
    assert "from Krefeld" in svg
    assert week_chart({}, {}) == ""


def test_a_visitor_not_signed_in_reads_their_browser_s_language():
    assert best("de-DE,de;q=0.9,en;q=0.8") == "de"
    assert best("ja, fr-CA;q=0.7") == "fr"
    assert best("") == "en" and best("ja") == "en"


def test_words_fall_back_to_english():
    assert words("de")("approve") == "Freigeben"
    assert words("de-AT")("links") == "Verbindungen"
    assert words("fr")("keys_help").startswith("Keys:")  # no French for it: English
    assert words("xx")("select", id="abc") == "Select message abc"


def test_console_is_a_private_command_in_every_menu_language():
    assert "console" in COMMANDS and "console" in MEMBER_COMMANDS and "console" in PRIVATE_COMMANDS
    for language in ("de", "fr", "es"):
        assert description("console", language) != COMMANDS["console"]
