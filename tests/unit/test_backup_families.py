"""Every Redis key family of core/storage/keys.py is classified for `twinbridge backup`
(kept or not, and why), and a key of each family is recognised as its own."""

from __future__ import annotations

import inspect

from core.storage import backup
from core.storage.keys import Keys


def _methods() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(Keys, inspect.isfunction)
        if not name.startswith("_")
    }


def test_every_key_family_is_classified():
    named = {family.name for family in backup.FAMILIES}
    missing = set(_methods()) - named - backup.NOT_FAMILIES
    assert not missing, f"classify these key families in core/storage/backup.py FAMILIES: {sorted(missing)}"
    assert len(named) == len(backup.FAMILIES)  # each once


def test_a_key_of_each_family_is_recognised_as_its_own():
    keys = Keys("")
    for family in backup.FAMILIES:
        params = [p for p in _methods()[family.name].parameters if p != "self"]
        sample = getattr(keys, family.name)(*[f"v{n}x" for n in range(len(params))])
        assert backup.family_of(sample) == family, (family.name, sample)


def test_what_runs_is_not_kept_and_the_state_is():
    kept = {family.name: family.kept for family in backup.FAMILIES}
    for name in ("adapter_lease", "heartbeat", "heartbeats", "rate_limit", "translation", "stats"):
        assert not kept[name], name
    for name in ("idmap", "origin", "consent", "pseudonym", "pseudonym_claim", "held", "rsvp_choices"):
        assert kept[name], name
    for name in ("erased", "link_pause", "dead_letter", "thread_map", "avatar_token", "announcement_schedule"):
        assert kept[name], name


def test_docs_operations_lists_every_family():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    section = text.split("## Backups and upgrades", 1)[1].split("\n## ", 1)[0]
    for family in backup.FAMILIES:
        row = f"| `{family.pattern}` | {'yes' if family.kept else 'no'} | {family.why} |"
        assert row in section, f"docs/operations.md, Backups and upgrades: the row for {family.name}: {row}"
