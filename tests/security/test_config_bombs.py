"""A hostile or broken links.yaml: `twinbridge check` answers quickly with exit 2,
naming the file, the field and the fix, in little memory, never a traceback.

The alias bomb ("billion laughs") made `check` hang today while its memory
grew past a gigabyte; the address-space limit below turns that into a failure
instead of a stalled test run.
"""

from __future__ import annotations

import copy
import io
import resource
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml

from bridge.cli import main as cli_main

pytestmark = pytest.mark.e2e  # `twinbridge check`, mostly as a subprocess


ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "links.example.yaml"
MEMORY_CAP = 768 * 1024 * 1024  # bytes of address space `check` may use here (it needs ~35 MB of RSS)


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def check(path: Path) -> subprocess.CompletedProcess:
    """The real `twinbridge check`, with a deadline and a memory cap."""
    import os
    import sys

    from ..processes import OFFLINE_TRANSLATORS, twinbridge_command

    # Well within a few seconds on an idle machine; generous for a loaded one.
    return subprocess.run(
        twinbridge_command() + ["check", "--config", str(path)],
        env={**os.environ, **OFFLINE_TRANSLATORS},
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=_cap_memory if sys.platform == "linux" else None,
    )


def billion_laughs(levels: int = 9) -> str:
    lines = ['lol0: &v0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"lol{i}: &v{i} [{', '.join([f'*v{i - 1}'] * 9)}]")
    top = f"*v{levels}"
    lines += [
        f"version: {top}",
        f"communities: {{a: {{name: x, language: {top}, chats: {top}}}}}",
        f"links: {top}",
        f"policies: {{p: {{translation: {top}, base: {top}}}}}",
    ]
    return "\n".join(lines) + "\n"


def assert_refused(result: subprocess.CompletedProcess, path: Path, *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr
    assert "fix:" in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr[-2000:]


def test_alias_bomb_is_refused_quickly_in_little_memory(tmp_path):
    bomb = tmp_path / "links.yaml"
    bomb.write_text(billion_laughs())
    assert_refused(check(bomb), bomb, "alias")


def test_recursive_alias_is_refused(tmp_path):
    loop = tmp_path / "links.yaml"
    loop.write_text("version: 1\ncommunities: &c {a: {name: x, language: en, chats: *c}}\nlinks: [*c]\n")
    assert_refused(check(loop), loop, "alias")


def test_deep_nesting_is_refused(tmp_path):
    deep = tmp_path / "links.yaml"
    deep.write_text("version: 1\ncommunities: " + "[" * 5000 + "]" * 5000 + "\nlinks: []\n")
    assert_refused(check(deep), deep, "nested")


def test_oversized_file_is_refused_without_reading_it_all(tmp_path):
    big = tmp_path / "links.yaml"
    text = EXAMPLE.read_text()
    big.write_text(text + "# " + "x" * (9 * 1024 * 1024) + "\n")
    assert_refused(check(big), big, "too large")


def test_a_few_aliases_for_repeated_parts_still_work(tmp_path):
    ok = tmp_path / "links.yaml"
    ok.write_text(
        "version: 1\n"
        "communities:\n"
        "  a: {name: A, language: en, chats: [{telegram: -1001000000001}]}\n"
        "  b: {name: B, language: de, chats: [{telegram: -1001000000002}]}\n"
        "  c: {name: C, language: fr, chats: [{telegram: -1001000000003}]}\n"
        "links:\n"
        "  - &pair {id: a-b, communities: [a, b], direction: both, policy: community}\n"
        "  - {<<: *pair, id: a-c, communities: [a, c]}\n"
    )
    result = check(ok)
    assert result.returncode == 0, result.stderr


LONG = "x" * 5000


@pytest.mark.parametrize(
    "edit, field",
    [
        (
            lambda d: d["communities"]["leicester"].__setitem__("name", "Leicester " + LONG),
            "communities.leicester.name",
        ),
        (
            lambda d: d["communities"]["leicester"].__setitem__("language", "en-" + "a" * 200),
            "communities.leicester.language",
        ),
        (lambda d: d["links"][0].__setitem__("id", "l" * 200), "links[0].id"),
        (lambda d: d["policies"].__setitem__("p" * 200, {"base": "open"}), "policies.ppp"),
        (
            lambda d: d["policies"]["open-adults"].__setitem__("moderators", ["telegram:" + "1" * 500]),
            "policies.open-adults.moderators",
        ),
        (lambda d: d["links"][0].__setitem__("glossary", [LONG]), "links[0].glossary[0]"),
        (
            lambda d: d["communities"]["krefeld"].__setitem__("organisers", ["discord:" + "3" * 500]),
            "communities.krefeld.organisers",
        ),
        (
            lambda d: d["communities"]["krefeld"].__setitem__("timezone", "Europe/" + LONG),
            "communities.krefeld.timezone",
        ),
    ],
)
def test_names_and_codes_are_bounded_in_length(tmp_path, edit, field):
    data = yaml.safe_load(EXAMPLE.read_text())
    edit(data)
    path = tmp_path / "links.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    code, err = _check_in_process(path)
    assert code == 2, err
    assert f"{path}: {field}" in err
    assert LONG not in err  # the message quotes a prefix, not the whole value


# -- wrong types anywhere -------------------------------------------------------------

WRONG_VALUES = [
    [],
    ["a", {"b": 1}],
    {},
    {"k": [1, 2]},
    0,
    -1,
    3.5,
    True,
    False,
    None,
    "",
    "text",
    [[[[]]]],
    {"nested": {"deeper": [None, True, {"x": []}]}},
]


def _paths(node, at=()):
    """Every path to a value in the parsed example (mapping keys and list indexes)."""
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, at + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, at + (i,))


def _replaced(data, path, value):
    data = copy.deepcopy(data)
    if not path:
        return value
    node = data
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return data


def _check_in_process(path: Path) -> tuple[int, str]:
    """`twinbridge check` through its own entry point (the CLI code path, in this process:
    a few thousand variants would take minutes as subprocesses). An exception escaping
    it would be the traceback a user sees."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = cli_main(["check", "--config", str(path)])
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()


@pytest.mark.slow
def test_wrong_types_anywhere_are_exit_2_never_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("TWINBRIDGE_PSEUDONYM_KEY", "k" * 32)
    data = yaml.safe_load(EXAMPLE.read_text())
    path = tmp_path / "links.yaml"
    tried = 0
    for where in list(_paths(data)):
        for value in WRONG_VALUES:
            variant = _replaced(data, where, value)
            if variant == data:
                continue
            path.write_text(yaml.safe_dump(variant, allow_unicode=True))
            code, err = _check_in_process(path)
            tried += 1
            label = ".".join(map(str, where)) or "(top level)"
            if code == 0:
                # A few replacements are still valid (e.g. a name that is any text); nothing else.
                continue
            assert code == 2, f"{label} = {value!r}: exit {code}\n{err[-1500:]}"
            assert "Traceback" not in err and str(path) in err and "fix:" in err, f"{label} = {value!r}\n{err}"
    assert tried > 500


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\ncommunities: [a, b]\nlinks: {a: 1}\n",
        "version: true\ncommunities: {a: {name: [x], language: {en: 1}, chats: [{telegram: {id: 1}}]}}\nlinks: 7\n",
        "version: 1\ncommunities: {a: null}\nlinks: [null, [], {communities: [[a], {b: 1}], policy: [x]}]\n"
        "policies: {p: {base: [open], translation: [{x: 1}, [2]], redact: [[email]], moderators: [[1]]}}\n",
    ],
)
def test_wrong_types_through_the_real_command(tmp_path, text):
    path = tmp_path / "links.yaml"
    path.write_text(text)
    assert_refused(check(path), path)
