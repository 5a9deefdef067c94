"""scripts/architecture.py on a small tree whose layering is known."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TREE = {
    "core/__init__.py": "",
    "core/models.py": "X = 1\n",
    "core/leaky.py": "from bridge import outbox\n",  # the kernel reaching up: a violation
    "bridge/__init__.py": "",
    "bridge/outbox.py": "from core.models import X\n",
    "bridge/cli.py": "import workers.tasks\n",  # the composition root may start workers
    "bridge/runner.py": "import workers.tasks\n",  # nobody else in bridge may: a violation
    "bridge/demo.py": "def main():\n    from sandbox.standin import StandIn\n",
    "workers/__init__.py": "",
    "workers/tasks.py": "from core import models\n",
    "sandbox/__init__.py": "",
    "sandbox/standin.py": "class StandIn:\n    pass\n",
    "tests/__init__.py": "",  # not product: left out
}


def test_the_report_measures_the_tree_and_names_each_crossing(tmp_path):
    for name, text in TREE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "scripts.architecture", str(tmp_path), "--title", "Tiny"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = result.stdout
    assert report.startswith("#### Tiny\n")
    assert "\n12 modules, 10 lines in `bridge/`, `core/`, `sandbox/`, `workers/`" in report
    assert "| `core` | 3 | 2 | leaky 1, models 1, __init__ 0 |" in report
    assert "- `bridge` → `workers` 2, `core` 1, `sandbox` 1" in report
    assert (
        "kernel → adapters, workers or stand-ins (`core` imports none of them): 1: `core.leaky` → "
        "`bridge.outbox`" in report
    )
    assert "workers → adapters (`workers` imports no `bridge` module): none" in report
    assert (
        "adapters → workers other than from `bridge.cli` (the composition root that starts them): "
        "1: `bridge.runner` → `workers.tasks`" in report
    )
    assert "product → stand-ins other than from `bridge.demo`: none" in report
    assert (
        textwrap.dedent("""\
        | imports of → | `bridge` | `core` | `sandbox` | `workers` |
        |---|---:|---:|---:|---:|
        | `bridge` | · | 1 | 1 | 2 |
        | `core` | 1 | · | – | – |""")
        in report
    )
