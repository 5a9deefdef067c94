"""The stored formats' version (core/storage/migrations.py): set on a fresh Redis, older
migrated step by step (each step idempotent), newer refused with exit 2 at a process's start."""

from __future__ import annotations

import textwrap

import pytest

from bridge.cli import main
from core.storage import migrations
from tests.helpers import SCHOOL_CLASSES_LINKS


def test_a_fresh_redis_is_at_the_current_version(sync_redis, keys):
    assert migrations.check(sync_redis, keys) == []
    assert sync_redis.get(keys.schema()) == str(migrations.CURRENT)
    assert sync_redis.ttl(keys.schema()) == -1  # configuration


def _rename_consents(redis, keys) -> None:
    """A test step (version 1 -> 2): consent values "1" become "yes" (idempotent)."""
    for key in redis.scan_iter(match=keys.consent("*", "*")):
        if redis.get(key) == "1":
            redis.set(key, "yes", keepttl=True)


def test_an_older_redis_is_migrated_once_and_each_step_is_idempotent(sync_redis, keys):
    sync_redis.set(keys.consent("classes", "telegram:1"), "1", ex=600)
    steps = {1: _rename_consents}
    assert migrations.check(sync_redis, keys, current=2, migrations=steps) == [1]
    assert sync_redis.get(keys.consent("classes", "telegram:1")) == "yes"
    assert 0 < sync_redis.ttl(keys.consent("classes", "telegram:1")) <= 600
    assert sync_redis.get(keys.schema()) == "2"
    _rename_consents(sync_redis, keys)  # a crash before the version was written: run again
    assert sync_redis.get(keys.consent("classes", "telegram:1")) == "yes"
    assert migrations.check(sync_redis, keys, current=2, migrations=steps) == []


def test_a_newer_redis_is_refused(sync_redis, keys):
    sync_redis.set(keys.schema(), "99")
    with pytest.raises(migrations.SchemaTooNew, match="upgrade this host"):
        migrations.check(sync_redis, keys)


@pytest.mark.parametrize("command", ["scheduler", "worker"])
def test_a_process_refuses_to_start_on_a_newer_redis(
    sync_redis, keys, prefix, redis_url, tmp_path, monkeypatch, capsys, command
):
    config = tmp_path / "links.yaml"
    config.write_text(textwrap.dedent(SCHOOL_CLASSES_LINKS))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("TWINBRIDGE_REDIS_PREFIX", prefix)
    monkeypatch.setenv("TWINBRIDGE_CONFIG", str(config))
    monkeypatch.setenv("TWINBRIDGE_PSEUDONYM_KEY", "k")
    sync_redis.set(keys.schema(), "99")
    with pytest.raises(SystemExit) as stopped:
        main([command])
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert "this Redis was written by a newer twinbridge" in said and "upgrade this host" in said
