"""Counts a process's Redis round trips and commands from inside it (benchmark only).

Put on the ``PYTHONPATH`` of a ``twinbridge`` process through
``benchmarks/redis_probe_site`` (its ``sitecustomize`` calls :func:`install` when
``TB_BENCH_REDIS_PROBE_DIR`` is set). It wraps redis-py's connection classes, sync
(Celery/kombu, the workers) and asyncio (the adapters):

- ``send_packed_command`` is one write to the socket followed by reading every reply
  of it: **one round trip**, whether it carries one command or a whole pipeline;
- ``send_command`` (one command) and ``pack_commands`` (a pipeline, MULTI/EXEC
  included) run just before it on the same connection, with no await in between,
  so they say what the round trip carried.

A round trip is filed under its command's name (``evalsha`` for a script call), or
``pipeline`` / ``transaction`` for a batch. Commands a script runs inside Redis
are not seen here (the server's ``INFO commandstats`` counts those). Counts go to
``<dir>/<role>-<pid>.json`` every 0.2 s and at exit; a forked child (a Celery
pool process) starts from zero under ``<role>-pool``.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections import Counter

_DUMP_EVERY = 0.2
_lock = threading.Lock()
_round_trips: Counter[str] = Counter()
_commands: Counter[str] = Counter()
_state = {"role": "process", "dir": "", "installed": False}


def _name(arg) -> str:
    return (arg.decode() if isinstance(arg, bytes) else str(arg)).split(" ")[0].lower()


def _batch_kind(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return "transaction" if names and names[0] == "multi" else "pipeline"


def _record(conn) -> None:
    names = getattr(conn, "_tb_probe_names", None) or ["?"]
    conn._tb_probe_names = None
    with _lock:
        _round_trips[_batch_kind(names)] += 1
        _commands.update(names)


def _patch(cls, is_async: bool) -> None:
    send_command, pack_commands, send_packed = cls.send_command, cls.pack_commands, cls.send_packed_command

    def probed_pack_commands(self, commands):
        commands = list(commands)
        packed = pack_commands(self, commands)  # (asyncio's calls pack_command per command)
        self._tb_probe_names = [_name(c[0]) for c in commands if c]
        return packed

    if is_async:

        async def probed_send_command(self, *args, **kwargs):
            self._tb_probe_names = [_name(args[0])] if args else ["?"]
            return await send_command(self, *args, **kwargs)

        async def probed_send(self, command, *args, **kwargs):
            _record(self)
            return await send_packed(self, command, *args, **kwargs)

    else:

        def probed_send_command(self, *args, **kwargs):
            self._tb_probe_names = [_name(args[0])] if args else ["?"]
            return send_command(self, *args, **kwargs)

        def probed_send(self, command, *args, **kwargs):
            _record(self)
            return send_packed(self, command, *args, **kwargs)

    cls.send_command, cls.pack_commands, cls.send_packed_command = (
        probed_send_command,
        probed_pack_commands,
        probed_send,
    )


def snapshot() -> dict:
    with _lock:
        return {
            "role": _state["role"],
            "pid": os.getpid(),
            "round_trips": dict(_round_trips),
            "commands": dict(_commands),
        }


def _dump() -> None:
    path = os.path.join(_state["dir"], f"{_state['role']}-{os.getpid()}.json")
    try:
        with open(path + ".tmp", "w") as f:
            json.dump(snapshot(), f)
        os.replace(path + ".tmp", path)
    except OSError:
        pass  # the benchmark's directory is gone: it has finished


def _dumper() -> None:
    stop = threading.Event()
    while not stop.wait(_DUMP_EVERY):
        _dump()


def _start_dumper() -> None:
    threading.Thread(target=_dumper, name="redis-probe", daemon=True).start()


def _after_fork_in_child() -> None:
    _round_trips.clear()
    _commands.clear()
    if not _state["role"].endswith("-pool"):
        _state["role"] += "-pool"
    _start_dumper()


def install(directory: str, role: str) -> None:
    if _state["installed"]:
        return
    from redis import connection as sync_connection
    from redis.asyncio import connection as async_connection

    _patch(sync_connection.AbstractConnection, is_async=False)
    _patch(async_connection.AbstractConnection, is_async=True)
    _state.update(role=role, dir=directory, installed=True)
    os.register_at_fork(after_in_child=_after_fork_in_child)
    atexit.register(_dump)
    _start_dumper()


def read_all(directory: str) -> dict[str, dict]:
    """Every probed process's counts so far: file stem (role-pid) -> snapshot."""
    out = {}
    for entry in os.scandir(directory):
        if entry.name.endswith(".json"):
            try:
                with open(entry.path) as f:
                    out[entry.name.removesuffix(".json")] = json.load(f)
            except (OSError, ValueError):
                continue  # being replaced right now: the next read has it
    return out
