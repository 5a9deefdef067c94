"""The Lua scripts live in core/storage/scripts/ and are run by name: every name the code
runs has its file, every file is run somewhere, and each loads whole (prologue and
constants filled in)."""

from __future__ import annotations

import ast
from pathlib import Path

from core.storage import scripts
from core.task_queue import IN_FLIGHT

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "core/storage/scripts"


def _names_run() -> set[str]:
    names = set()
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("register", "run", "queue")
                and ast.unparse(node.func.value) == "scripts"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                names.add(node.args[1].value)
    return names


def test_every_script_run_has_its_file_and_every_file_is_run():
    files = {path.stem for path in FOLDER.glob("*.lua")}
    prologues = set(scripts._PROLOGUES.values())
    assert _names_run() == files - prologues


def test_every_script_loads_whole():
    for path in FOLDER.glob("*.lua"):
        text = scripts.text(path.stem)
        assert "$" not in text, path.name  # every constant filled in
        assert "redis.call(" in text or path.stem in scripts._PROLOGUES.values(), path.name
    assert scripts.text("publish").startswith(scripts.text("retire_ingress_entry"))
    assert f"'{IN_FLIGHT}'" in scripts.text("retire_ingress_entry")
