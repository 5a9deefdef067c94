"""The adapters process imports Pillow, mutagen and icalendar only with the first file,
voice message, sticker, avatar or event calendar it handles (issue 17 item 5: ~11 MB of
the idle `twinbridge run`, docs/benchmarks.md "The stack's memory")."""

from __future__ import annotations

import subprocess
import sys

LATE = ("PIL", "mutagen", "icalendar", "dateutil")


def test_adapters_start_without_the_file_libraries():
    probe = (
        "import sys\n"
        "import bridge.cli, bridge.runner\n"
        "from bridge.platforms import PLATFORMS\n"
        "for platform in PLATFORMS:\n"
        "    platform.load()\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({LATE!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", done.stdout
