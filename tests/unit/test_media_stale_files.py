"""Files a killed process left in the media directory are removed when `twinbridge run` starts."""

from __future__ import annotations

import os
import time

from bridge.media.files import STALE_AFTER, remove_stale


def test_only_old_spooled_files_are_removed(tmp_path):
    old, young, scrubbed, other = (tmp_path / n for n in ("m-old", "m-young", "s-old", "notes.txt"))
    for path in (old, young, scrubbed, other):
        path.write_bytes(b"a member's photo")
    long_ago = time.time() - STALE_AFTER - 60
    for path in (old, scrubbed, other):
        os.utime(path, (long_ago, long_ago))

    assert remove_stale(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-young", "notes.txt"]  # in flight, and not ours
