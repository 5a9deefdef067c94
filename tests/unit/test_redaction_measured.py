"""Leaks and wrongly removed look-alikes, measured on a corpus of personal data in
plain and disguised forms and of the numbers that must stay (tests/unit/data/pii_bypasses.tsv).

An item leaks unless every letter and digit of it is inside something redaction
removed (of any kind); a look-alike is wrongly removed when any of its characters
is; text around the items must stay as typed. `python -m tests.unit.test_redaction_measured`
prints the figures for docs/privacy.md."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from workers.moderation.redaction import KINDS, find, regions_for_languages

CORPUS = Path(__file__).parent / "data" / "pii_bypasses.tsv"
_MARKUP = re.compile(r"\[\[(\w+):(.*?)\]\]|\{\{(\w+):(.*?)\}\}")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")

# Lines whose figures are known not to be perfect, and why (docs/privacy.md lists them too).
KNOWN_EXCEPTIONS: dict[str, str] = {}


@dataclass(frozen=True)
class Item:
    kind: str
    start: int
    end: int
    personal: bool  # True: must be removed; False: a look-alike that must stay


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    items: tuple[Item, ...]
    kinds: frozenset[str]
    language: str


def _parse(number: int, raw: str) -> Line:
    marked, kinds, language = raw.split("\t")
    marked = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), marked)
    text, items, pos = [], [], 0
    length = 0
    for m in _MARKUP.finditer(marked):
        text.append(marked[pos : m.start()])
        length += m.start() - pos
        personal = m.group(1) is not None
        kind, value = (m.group(1), m.group(2)) if personal else (m.group(3), m.group(4))
        items.append(Item(kind, length, length + len(value), personal))
        text.append(value)
        length += len(value)
        pos = m.end()
    text.append(marked[pos:])
    return Line(
        number, "".join(text), tuple(items), frozenset() if kinds == "-" else frozenset(kinds.split(",")), language
    )


LINES = [
    _parse(n, raw)
    for n, raw in enumerate(CORPUS.read_text(encoding="utf-8").splitlines(), 1)
    if raw.strip() and not raw.startswith("#")
]
LANGUAGES = tuple(dict.fromkeys(line.language for line in LINES))
BROAD = frozenset(regions_for_languages(LANGUAGES))


def narrow(language: str) -> frozenset[str]:
    """The regions of a link between this language's community and an English one."""
    return frozenset(regions_for_languages({language, "en"}))


@dataclass
class Outcome:
    leaked: list[Item]
    wrongly_removed: list[Item]
    collateral: str  # letters and digits removed outside every marked item
    found_kinds: frozenset[str]


def outcome(line: Line, regions: frozenset[str]) -> Outcome:
    finds = find(line.text, KINDS, regions)
    removed = [False] * len(line.text)
    for start, end, _ in finds:
        removed[start:end] = [True] * (end - start)
    covered = [False] * len(line.text)
    for item in line.items:
        covered[item.start : item.end] = [True] * (item.end - item.start)
    leaked = [
        i
        for i in line.items
        if i.personal and not all(removed[k] for k in range(i.start, i.end) if line.text[k].isalnum())
    ]
    wrong = [i for i in line.items if not i.personal and any(removed[i.start : i.end])]
    collateral = "".join(c for k, c in enumerate(line.text) if removed[k] and not covered[k] and c.isalnum())
    return Outcome(leaked, wrong, collateral, frozenset(kind for _, _, kind in finds))


def test_corpus_covers_five_languages_every_kind_and_look_alikes():
    assert len(LANGUAGES) >= 5
    for language in LANGUAGES:
        items = [i for line in LINES if line.language == language for i in line.items]
        assert any(i.personal for i in items), language
    assert len({line.language for line in LINES if any(not i.personal for i in line.items)}) >= 5
    personal = {"phone", "email", "url", "handle", "postcode"}
    assert {i.kind for line in LINES for i in line.items if i.personal} >= personal
    assert {i.kind for line in LINES for i in line.items if not i.personal} >= {
        "date",
        "time",
        "price",
        "year",
        "order",
        "room",
    }


@pytest.mark.parametrize("setting", ["broad", "narrow"])
@pytest.mark.parametrize("line", LINES, ids=[f"line{line.number}" for line in LINES])
def test_nothing_leaks_and_look_alikes_stay(line, setting):
    if line.text in KNOWN_EXCEPTIONS:
        pytest.xfail(KNOWN_EXCEPTIONS[line.text])
    result = outcome(line, BROAD if setting == "broad" else narrow(line.language))
    assert result.leaked == [], f"{line.text!r}: {[line.text[i.start : i.end] for i in result.leaked]} crossed"
    assert result.wrongly_removed == [], (
        f"{line.text!r}: {[line.text[i.start : i.end] for i in result.wrongly_removed]} removed"
    )
    assert result.collateral == "", f"{line.text!r}: {result.collateral!r} removed around the items"
    assert result.found_kinds == line.kinds


def figures(regions_of) -> tuple[dict, dict]:
    """{(kind, language): [items, leaked]}, {(kind, language): [look-alikes, removed]}."""
    leaks: dict = defaultdict(lambda: [0, 0])
    removals: dict = defaultdict(lambda: [0, 0])
    for line in LINES:
        result = outcome(line, regions_of(line))
        for item in line.items:
            table = leaks if item.personal else removals
            table[item.kind, line.language][0] += 1
            table[item.kind, line.language][1] += item in (result.leaked if item.personal else result.wrongly_removed)
    return leaks, removals


def _table(counts: dict, what: str) -> str:
    kinds = sorted({k for k, _ in counts})
    rows = [f"| {what} | " + " | ".join(LANGUAGES) + " | all |", "|---" * (len(LANGUAGES) + 2) + "|"]
    for kind in kinds:
        cells = []
        for language in LANGUAGES:
            total, bad = counts.get((kind, language), (0, 0))
            cells.append(f"{bad}/{total}" if total else "–")
        total = sum(counts[k, lang][0] for k, lang in counts if k == kind)
        bad = sum(counts[k, lang][1] for k, lang in counts if k == kind)
        rows.append(f"| {kind} | " + " | ".join(cells) + f" | {bad}/{total} ({100 * bad / total:.0f} %) |")
    return "\n".join(rows)


if __name__ == "__main__":
    for name, regions_of in (
        ("every corpus language's regions", lambda line: BROAD),
        ("a link of the line's language and English", lambda line: narrow(line.language)),
    ):
        leaks, removals = figures(regions_of)
        print(f"\n### {name}\n\n{_table(leaks, 'leaked / items')}\n\n{_table(removals, 'removed / look-alikes')}")
