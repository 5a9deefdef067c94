"""CPU time and resident memory of processes, from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; everything after its ")" is fixed.
    return raw[raw.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (e.g. a Celery worker's pool processes)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and int(fields[1]) == pid:  # field 4, ppid
                found.append(int(entry.name))
    return sorted(found)


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(children(current))
    return pids


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process so far (0 if it is gone)."""
    fields = _stat_fields(pid)
    if not fields:
        return 0.0
    # After the name: state(3) ppid(4) ... utime is field 14, stime field 15 (1-based overall).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _kib_field(path: str, name: str) -> float:
    """A "Name:  123 kB" line of a /proc file, in MiB (0 if the process is gone)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mb(pid: int) -> float:
    """VmRSS in MiB (0 if the process is gone)."""
    return _kib_field(f"/proc/{pid}/status", "VmRSS:")


def hwm_mb(pid: int) -> float:
    """VmHWM in MiB: the highest VmRSS the process has had (0 if it is gone)."""
    return _kib_field(f"/proc/{pid}/status", "VmHWM:")


def pss_mb(pid: int) -> float:
    """Proportional set size in MiB: resident pages, each shared page divided among the
    processes sharing it (so a group's PSS sum counts a page once; 0 if gone)."""
    return _kib_field(f"/proc/{pid}/smaps_rollup", "Pss:")


class CpuMeter:
    """CPU seconds used by groups of processes between :meth:`start` and :meth:`stop`.

    ``groups`` maps a name to a main pid; each group counts the main process and
    the children it has at start (a worker's pool processes)."""

    def __init__(self, groups: dict[str, int]):
        self.groups = {name: tree(pid) for name, pid in groups.items()}
        self._before: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.groups.items()}

    def start(self) -> None:
        self._before = self._sample()

    def stop(self) -> dict[str, float]:
        after = self._sample()
        return {name: after[name] - self._before.get(name, 0.0) for name in after}


def self_cpu_seconds() -> float:
    return cpu_seconds(os.getpid())


def memory(groups: dict[str, int]) -> dict[str, dict]:
    """Per group: the main process's and each child's VmRSS, their total, and the
    group's PSS total (MiB): RSS counts pages a pool's processes share (copy-on-write
    after the fork) once per process, PSS once in all."""
    out = {}
    for name, pid in groups.items():
        kids = children(pid)
        out[name] = {"main": rss_mb(pid), "children": [rss_mb(k) for k in kids]}
        out[name]["total"] = out[name]["main"] + sum(out[name]["children"])
        out[name]["pss_total"] = pss_mb(pid) + sum(pss_mb(k) for k in kids)
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
