"""`config/links.yaml` validation: every problem names file, field and fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.links import ConfigError, load_links
from core.models import ChatRef

from ..helpers import two_community_links

ROOT = Path(__file__).resolve().parents[2]

GOOD = two_community_links(-1001234567890, 112233445566778899, policy="community")


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text: str, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_links(write(tmp_path, text), **kwargs)
    return [str(p) for p in info.value.problems]


def test_contract_example_loads(tmp_path):
    config = load_links(write(tmp_path, GOOD))
    assert [link.id for link in config.links] == ["leicester-krefeld"]
    (membership,) = config.memberships(ChatRef("telegram", "-1001234567890"))
    assert membership.community.name == "Leicester"
    assert config.memberships(ChatRef("telegram", "-1009999")) == []


@pytest.mark.parametrize("name", ["links.example.yaml", "school.example.yaml"])
def test_shipped_examples_are_valid(name):
    config = load_links(ROOT / "config" / name, pseudonym_key="k", strict_secrets=True)
    assert config.links


def test_leicester_example_has_the_real_twins():
    config = load_links(ROOT / "config" / "links.example.yaml")
    languages = {c.id: c.language for c in config.communities.values()}
    expected = {"krefeld": "de", "strasbourg": "fr", "masaya": "es", "chongqing": "zh", "rajkot": "gu"}
    assert expected.items() <= languages.items()


def test_unknown_community_in_link_suggests_the_right_one(tmp_path):
    (msg,) = problems(tmp_path, GOOD.replace("[leicester, krefeld]", "[leicester, krefled]"))
    assert "links.yaml: links[0].communities[1]" in msg
    assert "unknown community 'krefled'" in msg
    assert "did you mean 'krefeld'" in msg


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    bad = (
        GOOD.replace("language: de", "language: deutsch")
        .replace("direction: both", "direction: sideways")
        .replace("discord: 112233445566778899", "discord: 12345")
    )
    found = problems(tmp_path, bad)
    fields = [m.split(": ")[1] for m in found]
    assert "communities.krefeld.language" in fields
    assert "links[0].direction" in fields
    assert "communities.krefeld.chats[0].discord" in fields
    assert all("fix:" in m for m in found)


def test_yaml_syntax_error_names_the_line(tmp_path):
    (msg,) = problems(tmp_path, "version: 1\ncommunities:\n  a: [unclosed\n")
    assert "line" in msg and "YAML syntax error" in msg


def test_missing_file_explains_where_to_start(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_links(tmp_path / "nope.yaml")
    assert "links.example.yaml" in str(info.value)


def test_unknown_field_and_policy_values(tmp_path):
    text = (
        GOOD
        + """
policies:
  community:
    sender: nickname
    redact: [email, passport]
    translaton: [libre]
"""
    )
    found = problems(tmp_path, text)
    joined = "\n".join(found)
    assert "policies.community.sender" in joined and "'nickname' is not allowed" in joined
    assert "'passport' is not something the bridge can redact" in joined
    assert "policies.community.translaton: unknown field" in joined and "did you mean 'translation'" in joined


def test_school_policy_refuses_outside_translators(tmp_path):
    text = (
        GOOD.replace("policy: community", "policy: school")
        + """
policies:
  school:
    moderators: ["telegram:1"]
    translation: [libre, google]
"""
    )
    (msg,) = problems(tmp_path, text)
    assert "policies.school.translation" in msg and "google" in msg


def test_pseudonyms_need_a_key_when_strict(tmp_path):
    text = (
        GOOD.replace("policy: community", "policy: school")
        + """
policies:
  school:
    moderators: ["telegram:1"]
"""
    )
    load_links(write(tmp_path, text))  # fine when not strict
    (msg,) = problems(tmp_path, text, strict_secrets=True)
    assert "TWINBRIDGE_PSEUDONYM_KEY" in msg


def test_chat_in_two_communities_is_refused(tmp_path):
    text = GOOD.replace("- discord: 112233445566778899", "- telegram: -1001234567890")
    (msg,) = problems(tmp_path, text)
    assert "already listed under community 'leicester'" in msg


def test_a_link_needs_two_communities(tmp_path):
    (msg,) = problems(tmp_path, GOOD.replace("[leicester, krefeld]", "[leicester]"))
    assert "links[0].communities" in msg and "two or more" in msg


def test_top_level_not_a_mapping(tmp_path):
    (msg,) = problems(tmp_path, "- just\n- a list\n")
    assert "(top level)" in msg


def test_design_contract_community_fields_timezone_and_organisers(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(
        "version: 1\n"
        "communities:\n"
        "  leicester: {name: Leicester, language: en, chats: [{telegram: -1001234567890}]}\n"
        "  krefeld:\n"
        "    name: Krefeld\n"
        "    language: de\n"
        "    timezone: Europe/Berlin\n"
        '    organisers: ["discord:333"]\n'
        "    chats: [{discord: 112233445566778899}]\n"
        "links: [{id: leicester-krefeld, communities: [leicester, krefeld]}]\n"
    )
    config = load_links(path)
    assert config.communities["krefeld"].timezone == "Europe/Berlin"
    assert config.communities["krefeld"].organisers == ("discord:333",)
    assert config.communities["leicester"].timezone == "UTC" and config.communities["leicester"].organisers == ()
    path.write_text(path.read_text().replace("Europe/Berlin", "Europe/Krefeld").replace('"discord:333"', "333"))
    with pytest.raises(ConfigError) as err:
        load_links(path)
    fields = [p.field for p in err.value.problems]
    assert fields == ["communities.krefeld.timezone", "communities.krefeld.organisers"]


def test_a_link_lists_its_own_organisers(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(
        "version: 1\n"
        "communities:\n"
        "  leicester:\n"
        "    {name: Leicester, language: en, chats: [{telegram: -1001234567890}], organisers: ['telegram:7']}\n"
        "  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}]}\n"
        "links:\n"
        "  - id: leicester-krefeld\n"
        "    communities: [leicester, krefeld]\n"
        '    organisers: ["discord:333", "telegram:7"]\n'
        "  - {id: other, communities: [krefeld, leicester]}\n"
    )
    config = load_links(path)
    link, other = config.links
    assert link.organisers == ("discord:333", "telegram:7") and other.organisers == ()
    # Who organises a link: its own organisers, then its communities', each once.
    assert config.organisers(link) == ("discord:333", "telegram:7")
    assert config.organisers(other) == ("telegram:7",)


@pytest.mark.parametrize("value", ['"discord:333"', '["333"]', '["matrix:1"]'])
def test_a_wrong_link_organiser_names_the_field_and_the_fix(tmp_path, value):
    path = tmp_path / "links.yaml"
    path.write_text(
        "version: 1\n"
        "communities:\n"
        "  leicester: {name: Leicester, language: en, chats: [{telegram: -1001234567890}]}\n"
        "  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}]}\n"
        f"links: [{{id: leicester-krefeld, communities: [leicester, krefeld], organisers: {value}}}]\n"
    )
    with pytest.raises(ConfigError) as err:
        load_links(path)
    (problem,) = err.value.problems
    assert problem.field == "links[0].organisers" and problem.file == str(path)
    assert "telegram:" in problem.fix


# -- issue 15: `topics:` on a chat entry (threads and forum topics get twins) ---------------


def test_a_chat_entry_may_say_whether_topics_get_twins(tmp_path):
    text = GOOD.replace("- telegram: -1001234567890", "- telegram: -1001234567890\n        topics: false")
    config = load_links(write(tmp_path, text))
    assert config.topics(ChatRef("telegram", "-1001234567890")) is False
    assert config.topics(ChatRef("discord", "112233445566778899")) is None  # the default: by the chat
    assert config.memberships(ChatRef("telegram", "-1001234567890"))  # still the same chat


def test_topics_of_the_wrong_type_names_the_field_and_the_fix(tmp_path, capsys):
    from bridge.cli import main

    text = GOOD.replace("- telegram: -1001234567890", "- telegram: -1001234567890\n        topics: sometimes")
    (msg,) = problems(tmp_path, text)
    assert "links.yaml: communities.leicester.chats[0].topics" in msg
    assert "'sometimes' is not true or false" in msg and "write `topics: true`" in msg
    with pytest.raises(SystemExit) as exited:  # `twinbridge check`
        main(["check", "--config", str(write(tmp_path, text))])
    assert exited.value.code == 2
    assert "chats[0].topics" in capsys.readouterr().err
