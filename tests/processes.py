"""Starting the real `twinbridge` commands as subprocesses, as a user would."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path


# Translation providers that would reach the internet are pointed at a closed
# loopback port unless a test gives its stand-in: no test ever leaves this machine.
_CLOSED = "http://127.0.0.1:9"
OFFLINE_TRANSLATORS = {
    "TWINBRIDGE_TRANSLATOR_URLS": ",".join(
        f"{name}={_CLOSED}/{name}"
        for name in ("google", "mymemory", "deepl", "microsoft", "yandex", "papago", "baidu", "qcri")
    )
}


def twinbridge_command() -> list[str]:
    """The installed console script (what a user types), or the module as a fallback."""
    script = shutil.which("twinbridge", path=str(Path(sys.executable).parent)) or shutil.which("twinbridge")
    return [script] if script else [sys.executable, "-m", "bridge.cli"]


class Procs:
    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict[str, str], *, stderr_apart: bool = False) -> subprocess.Popen:
        """``stderr_apart``: the process's stderr (its log lines) in a file of its own
        (:meth:`stderr`), not mixed with what it prints on stdout."""
        env = {**os.environ, **OFFLINE_TRANSLATORS, **env}
        with (
            open(self.tmp_path / f"{name}.log", "wb") as log,  # the child keeps its own copy
            open(self.tmp_path / f"{name}.stderr", "wb") as err,
        ):
            proc = subprocess.Popen(
                twinbridge_command() + args,
                env=env,
                stdout=log,
                stderr=err if stderr_apart else subprocess.STDOUT,
                start_new_session=True,
                cwd=self.tmp_path,
            )
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        """Everything the process wrote (stdout and stderr)."""
        return (self.tmp_path / f"{name}.log").read_text(errors="replace") + self.stderr(name)

    def stderr(self, name: str) -> str:
        """What it wrote on stderr when started with ``stderr_apart`` ("" otherwise)."""
        path = self.tmp_path / f"{name}.stderr"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str, sig=signal.SIGTERM, timeout: float = 20) -> int | None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        return proc.returncode

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def run_cli(args: list[str], env: dict[str, str] | None = None, cwd=None, timeout: float = 60):
    env = {**os.environ, **OFFLINE_TRANSLATORS, **(env or {})}
    return subprocess.run(
        twinbridge_command() + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    """A loopback port nothing listens on (to point a client at a dead service)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
