"""What the worker loads before its pool forks: pure data, never a connection."""

from __future__ import annotations

import textwrap
from types import SimpleNamespace

import redis as redis_lib

from core.settings import Settings
from workers import app as app_module
from workers.stages import moderation as moderation_stage
from workers.moderation import profanity
from workers.translation import detection

LINKS = """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}]}
links:
  - {id: twins, communities: [leicester, krefeld], direction: both, policy: community}
"""


def test_preload_loads_the_shared_data_and_opens_no_connection(monkeypatch, tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(LINKS))
    monkeypatch.setitem(app_module.app.conf, "twinbridge_settings", Settings(config_path=path))

    def no_connection(*args, **kwargs):
        raise AssertionError("a Redis client before the fork")

    monkeypatch.setattr(redis_lib.Redis, "from_url", no_connection)
    monkeypatch.setattr(redis_lib.Redis, "__init__", no_connection)
    profanity._matcher.cache_clear()
    moderation_stage.load_shared_data()
    assert moderation_stage._wiring.cache_info().currsize == 0
    assert detection._full is not None
    assert profanity._matcher.cache_info().currsize == 1  # the link's languages, en and de
    hits = profanity._matcher.cache_info().hits
    profanity.check_profanity("hello", ["de", "en"])
    assert profanity._matcher.cache_info().hits == hits + 1


def test_the_moderation_stage_registers_its_preload():
    assert moderation_stage.load_shared_data in app_module._PRELOADS


def test_the_worker_preloads_before_forking_only_for_the_bridge_app(monkeypatch):
    calls = []
    monkeypatch.setattr(app_module, "_PRELOADS", [lambda: calls.append("preload")])
    monkeypatch.setattr(app_module, "gc", SimpleNamespace(freeze=lambda: calls.append("freeze")))
    app_module._preload_before_fork(sender=SimpleNamespace(app=object()))  # another app's worker
    assert calls == []
    app_module._preload_before_fork(sender=SimpleNamespace(app=app_module.app))
    assert calls == ["preload", "freeze"]


def test_a_failed_preload_does_not_stop_the_worker(monkeypatch):
    calls = []

    def broken():
        raise OSError("no config")

    monkeypatch.setattr(app_module, "_PRELOADS", [broken])
    monkeypatch.setattr(app_module, "gc", SimpleNamespace(freeze=lambda: calls.append("freeze")))
    app_module._preload_before_fork(sender=SimpleNamespace(app=app_module.app))
    assert calls == []
