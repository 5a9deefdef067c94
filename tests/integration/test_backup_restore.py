"""`twinbridge backup` / `twinbridge restore` against a real Redis: what is kept, TTLs,
live keys, erasures made since the backup, and the file's checks (core/storage/backup.py)."""

from __future__ import annotations

import gzip
import json
import textwrap

import pytest
import redis as redis_lib

from bridge.cli import main
from core import persons
from core.links import load_links
from core.models import EventKind, MessageRef, OutboundPost
from core.storage import backup, migrations
from core.storage.keys import Keys
from tests.helpers import SCHOOL_CLASSES_LINKS
from workers import rights

USER = "telegram:5001"


@pytest.fixture
def env(tmp_path, monkeypatch, redis_url, prefix):
    config = tmp_path / "links.yaml"
    config.write_text(textwrap.dedent(SCHOOL_CLASSES_LINKS))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("TWINBRIDGE_REDIS_PREFIX", prefix)
    monkeypatch.setenv("TWINBRIDGE_CONFIG", str(config))
    monkeypatch.setenv("TWINBRIDGE_PSEUDONYM_KEY", "k")
    persons.use_secret("k")
    yield load_links(config, pseudonym_key="k")
    persons.use_secret(None)


def _flush(redis, keys: Keys) -> None:
    for key in list(redis.scan_iter(match=keys.everything(), count=1000)):
        redis.delete(key)


def _state(sync_redis, keys: Keys) -> None:
    rights.give_consent(sync_redis, keys, "classes", USER, 7)
    rights.note_crossed(sync_redis, keys, USER, "classes", MessageRef("telegram", "-1002", "41"), 7)
    sync_redis.hset(keys.idmap("telegram:-1002:41"), "classes|discord:112233445566778811", json.dumps(["900"]))
    sync_redis.expire(keys.idmap("telegram:-1002:41"), 7 * 86400)
    sync_redis.set(keys.link_pause("classes"), json.dumps({"state": "paused"}))  # no TTL: link control
    sync_redis.set(keys.adapter_lease("telegram"), "me", ex=30)  # a running adapter's: not kept
    sync_redis.set(keys.heartbeat("run", "h"), "{}", ex=30)
    sync_redis.set(keys.translation("abc"), "cached", ex=600)
    sync_redis.hset(keys.stats(), "x", 1)
    sync_redis.xadd(keys.ingress(), {"event": "{}"})  # accepted, not yet processed: kept
    sync_redis.expire(keys.ingress(), 86400)


def test_a_round_trip_keeps_the_state_with_its_ttl_and_leaves_out_what_runs(env, sync_redis, keys, tmp_path):
    _state(sync_redis, keys)
    path = tmp_path / "tb.backup.gz"
    assert main(["backup", str(path)]) == 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # it holds personal data
    with gzip.open(path) as stream:
        header = json.loads(stream.readline())
    assert header["format"] == "twinbridge-backup" and header["version"] == 1 and header["prefix"] == keys.prefix
    assert {"twinbridge", "created_at", "schema"} <= header.keys()
    before = {k: sync_redis.dump(k) for k in sync_redis.scan_iter(match=keys.everything())}
    _flush(sync_redis, keys)

    assert main(["restore", str(path)]) == 0
    kept = [
        keys.consent("classes", USER),
        keys.authored(USER),
        keys.idmap("telegram:-1002:41"),
        keys.link_pause("classes"),
        keys.ingress(),
    ]
    for key in kept:
        assert sync_redis.exists(key), key
    assert sync_redis.hgetall(keys.idmap("telegram:-1002:41")) == {
        "classes|discord:112233445566778811": json.dumps(["900"])
    }
    assert 6 * 86400 < sync_redis.ttl(keys.consent("classes", USER)) <= 7 * 86400
    assert sync_redis.ttl(keys.link_pause("classes")) == -1
    for key in (keys.adapter_lease("telegram"), keys.heartbeat("run", "h"), keys.translation("abc"), keys.stats()):
        assert not sync_redis.exists(key), key
        assert key in before  # it was there: left out on purpose
    assert sync_redis.get(keys.schema()) == str(migrations.CURRENT)


def test_a_key_whose_time_ran_out_since_the_backup_is_not_restored(sync_redis, keys, tmp_path):
    client = redis_lib.Redis.from_url(_url(sync_redis))
    sync_redis.set(keys.consent("classes", USER), "1", ex=100)
    sync_redis.set(keys.consent("classes", "telegram:5002"), "1", ex=1000)
    path = tmp_path / "b.gz"
    backup.backup(client, keys, path, now=1_000_000.0)
    _flush(sync_redis, keys)
    outcome = backup.restore(client, keys, path, now=1_000_000.0 + 200)
    assert outcome.counts["expired"] == 1 and outcome.counts["restored"] == 1
    assert not sync_redis.exists(keys.consent("classes", USER))
    assert 700 < sync_redis.ttl(keys.consent("classes", "telegram:5002")) <= 800
    client.close()


def _url(sync_redis) -> str:
    kwargs = sync_redis.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"


def test_live_keys_win_unless_replace(env, sync_redis, keys, tmp_path):
    sync_redis.set(keys.link_pause("classes"), "old")
    path = tmp_path / "b.gz"
    assert main(["backup", str(path)]) == 0
    sync_redis.set(keys.link_pause("classes"), "newer")
    assert main(["restore", str(path)]) == 0
    assert sync_redis.get(keys.link_pause("classes")) == "newer"
    assert main(["restore", str(path), "--replace"]) == 0
    assert sync_redis.get(keys.link_pause("classes")) == "old"


def test_an_erasure_made_after_the_backup_is_not_undone(env, sync_redis, keys, tmp_path, capsys):
    _state(sync_redis, keys)
    person = persons.person(sync_redis, keys, USER)
    sync_redis.hset(keys.avatar(person), "photo", "jpeg")
    sync_redis.expire(keys.avatar(person), 86400)
    path = tmp_path / "b.gz"
    assert main(["backup", str(path)]) == 0
    rights.erase_user(sync_redis, keys, env, USER)  # /forgetme after the backup
    assert sync_redis.exists(keys.erased(person))
    assert not sync_redis.exists(keys.consent("classes", USER))

    assert main(["restore", str(path)]) == 0
    assert "1 member(s) erased since the backup erased again" in capsys.readouterr().out
    assert not sync_redis.exists(keys.consent("classes", USER))
    assert not sync_redis.exists(keys.authored(USER))
    assert not sync_redis.exists(keys.avatar(person))
    assert not sync_redis.exists(keys.erasure(person))  # the erasure ran to its end
    assert sync_redis.exists(keys.erased(person))
    for key in sync_redis.scan_iter(match=keys.everything()):
        assert USER not in key and "5001" not in key, key
    # The copy restored with the id map is taken back again: a second delete is queued.
    posts = [OutboundPost.from_dict(json.loads(f["post"])) for _, f in sync_redis.xrange(keys.outbox("discord"))]
    assert [(p.kind, p.source.key) for p in posts] == [(EventKind.DELETE, "telegram:-1002:41")] * 2
    # What others keep is back.
    assert sync_redis.exists(keys.link_pause("classes"))


def _rewrite(path, change) -> None:
    with gzip.open(path) as stream:
        lines = [json.loads(line) for line in stream]
    lines = change(lines)
    with gzip.open(path, "wb") as out:
        for line in lines:
            out.write(json.dumps(line).encode() + b"\n")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda lines: [{**lines[0], "version": 99}, *lines[1:]], "file format version 99"),
        (lambda lines: lines[:-1], "ends before its last line"),
        (lambda lines: [{**lines[0], "schema": 99}, *lines[1:]], "newer twinbridge"),
        (lambda lines: [{"hello": 1}], "not a twinbridge backup"),
    ],
)
def test_a_file_that_cannot_be_restored_is_refused_with_exit_2(env, sync_redis, keys, tmp_path, capsys, change, says):
    _state(sync_redis, keys)
    path = tmp_path / "b.gz"
    assert main(["backup", str(path)]) == 0
    _rewrite(path, change)
    _flush(sync_redis, keys)
    assert main(["restore", str(path)]) == 2
    assert says in capsys.readouterr().err
    assert not sync_redis.exists(keys.consent("classes", USER))


def test_not_gzip_is_refused(env, tmp_path, capsys):
    path = tmp_path / "b.gz"
    path.write_text("hello")
    assert main(["restore", str(path)]) == 2
    assert "not a readable twinbridge backup" in capsys.readouterr().err


def test_another_prefix_needs_saying_so(env, sync_redis, keys, tmp_path, capsys, monkeypatch, prefix):
    _state(sync_redis, keys)
    path = tmp_path / "b.gz"
    assert main(["backup", str(path)]) == 0
    other = Keys(prefix + "other:")
    monkeypatch.setenv("TWINBRIDGE_REDIS_PREFIX", other.prefix)
    assert main(["restore", str(path)]) == 2
    assert "--prefix" in capsys.readouterr().err
    assert main(["restore", str(path), "--prefix", other.prefix]) == 0
    assert sync_redis.exists(other.consent("classes", USER))
    assert sync_redis.exists(other.link_pause("classes"))


def test_backup_streams_in_batches(sync_redis, keys, tmp_path, monkeypatch):
    """More keys than one SCAN batch: every one is written and restored."""
    monkeypatch.setattr(backup, "BATCH", 50)
    write = sync_redis.pipeline()
    for n in range(400):
        write.set(keys.delivered(f"d{n}"), "1", ex=3600)
    write.execute()
    client = redis_lib.Redis.from_url(_url(sync_redis))
    path = tmp_path / "b.gz"
    assert backup.backup(client, keys, path)["kept"] == 400
    assert backup.read_header(path)["prefix"] == keys.prefix
    _flush(sync_redis, keys)
    assert backup.restore(client, keys, path).counts["restored"] == 400
    client.close()


def test_a_backup_into_a_missing_folder_is_refused_and_leaves_nothing(env, tmp_path, capsys):
    assert main(["backup", str(tmp_path / "nowhere" / "b.gz")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "links.yaml"]  # no temporary file left either


def test_a_key_redis_cannot_restore_is_counted_and_exits_1(env, sync_redis, keys, tmp_path, capsys):
    _state(sync_redis, keys)
    path = tmp_path / "b.gz"
    assert main(["backup", str(path)]) == 0

    def damage(lines):
        first = next(n for n, line in enumerate(lines) if "k" in line and line["k"].startswith("consent:"))
        lines[first]["v"] = "AAAA"  # not a DUMP payload (as from another Redis version)
        return lines

    _rewrite(path, damage)
    _flush(sync_redis, keys)
    assert main(["restore", str(path)]) == 1
    assert "1 could not be restored" in capsys.readouterr().out
    assert sync_redis.exists(keys.link_pause("classes"))  # the rest is back
