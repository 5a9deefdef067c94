"""core/links/yaml_tree.py: the values are `yaml.safe_load`'s, built in one bounded pass;
a 10,000-link file (issue 17) loads, and its routing index answers for every chat."""

from __future__ import annotations

import gc

import pytest
import yaml

from core.links import load_links
from core.links.yaml_tree import LOADER, TooComplex, load
from core.models import ChatRef

SAME_AS_SAFE_LOAD = [
    "a: 1",
    'a: [1, 2.5, true, null, 2024-01-01, "x", 0x10, ~, 1_000, .inf]',
    "x: &a {p: 1, q: 2}\ny: {<<: *a, q: 3}\nz: {<<: [*a, {p: 9, r: 1}], s: 0}",
    "",
    "- a\n- b: c\n  d: [e]\n",
    "k: !!str 12",
    "a: !!binary aGVsbG8=",
    "{a: 1, a: 2}",
    "<<: {a: 1}\nb: 2",
    "t: 2001-12-14t21:59:43.10-05:00",
    "s: &s text\nt: *s",
    "version: 1\ncommunities:\n  a: {name: A, language: en, chats: [{telegram: -100}]}\n",
]
REFUSED_LIKE_SAFE_LOAD = ["? [a]\n: 1", "a: *nope", "---\na\n---\nb", "a: [", "a: !!python/name:os.system x", "a: <<"]


@pytest.mark.parametrize("text", SAME_AS_SAFE_LOAD)
def test_values_are_safe_loads(text):
    assert load(text, max_depth=40, max_values=1000) == yaml.safe_load(text)


@pytest.mark.parametrize("text", REFUSED_LIKE_SAFE_LOAD)
def test_errors_are_safe_loads(text):
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(type(expected.value)):
        load(text, max_depth=40, max_values=1000)


def test_aliases_share_the_anchored_value_like_safe_load():
    data = load("a: &x [1]\nb: *x", max_depth=40, max_values=1000)
    assert data["a"] is data["b"]


@pytest.mark.parametrize(
    "text, words",
    [
        ("a: " + "[" * 41 + "]" * 41, "nested"),
        ("a: " + "[" * 2000 + "]" * 2000, "nested"),  # past libyaml's own 1,000
        ("a: &a [1, 2, 3]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]", "expand"),
        ("a: &a [1, *a]", "loop"),
        ("!!set {a, b}", None),
    ],
)
def test_bounds_and_refusals(text, words):
    with pytest.raises(yaml.YAMLError) as info:
        load(text, max_depth=40, max_values=100)
    if words:
        assert isinstance(info.value, TooComplex) and words in info.value.message


def test_libyaml_is_used_where_pyyaml_has_it():
    assert LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_ten_thousand_links_load_and_route(tmp_path):
    lines = ["version: 1", "communities:"]
    for i in range(10_000):
        lines.append(f"  town{i}: {{name: Town {i}, language: en, chats: [{{telegram: {-1002000000000 - i}}}]}}")
        lines.append(f"  twin{i}: {{name: Twin {i}, language: de, chats: [{{discord: {112233445566700000 + i}}}]}}")
    lines.append("links:")
    lines += [f"  - {{id: pair-{i}, communities: [town{i}, twin{i}], policy: community}}" for i in range(10_000)]
    path = tmp_path / "links.yaml"
    path.write_text("\n".join(lines) + "\n")
    enabled = gc.isenabled()
    config = load_links(path)
    assert gc.isenabled() == enabled
    assert len(config.links) == 10_000 and len(config.chats()) == 20_000
    (membership,) = config.memberships(ChatRef("discord", str(112233445566700000 + 9_999)))
    assert membership.link.id == "pair-9999" and membership.community.name == "Twin 9999"
