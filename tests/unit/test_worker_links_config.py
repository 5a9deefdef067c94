"""workers/links_config.py: one loaded config per version of the file, so a worker's pool
processes use the one their main process loaded before the fork (issue 17 item 6)."""

from __future__ import annotations

import os

from core.settings import load_settings
from workers.links_config import links_config

from ..helpers import two_community_links


def test_the_same_file_gives_the_same_config_and_an_edit_a_new_one(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(two_community_links(-1001234567890, 112233445566778899, policy="community"))
    settings = load_settings({"TWINBRIDGE_CONFIG": str(path)}, dotenv_path=None)
    first = links_config(settings)
    assert links_config(settings) is first
    path.write_text(two_community_links(-1001234567891, 112233445566778899, policy="community"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # however coarse the clock
    edited = links_config(settings)
    assert edited is not first
    assert [c.chat_id for c in edited.chats("telegram")] == ["-1001234567891"]


def test_the_config_the_command_checked_is_the_one_used(tmp_path):
    from workers.links_config import keep

    path = tmp_path / "links.yaml"
    path.write_text(two_community_links(-1001234567890, 112233445566778899, policy="community"))
    settings = load_settings({"TWINBRIDGE_CONFIG": str(path)}, dotenv_path=None)
    checked = links_config(load_settings({"TWINBRIDGE_CONFIG": str(path)}, dotenv_path=None))
    keep(settings, checked)
    assert links_config(settings) is checked
