"""A process's heartbeat kept by a thread (workers and the scheduler; `twinbridge run`
has its own in its event loop: bridge/liveness.py): renewed every few seconds until
stopped, then deleted (core/storage/heartbeats.py)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .storage import heartbeats
from .storage.keys import Keys

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(
        self, redis: Any, keys: Keys, role: str, about: dict[str, str] | None = None, period: float = heartbeats.PERIOD
    ):
        self._redis = redis
        self._keys = keys
        self.role = role
        self.about = about
        self.period = period
        self.instance = heartbeats.this_process()
        self.since = time.time()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _beat(self) -> None:
        try:
            heartbeats.beat(self._redis, self._keys, self.role, self.instance, self.since, self.about)
        except Exception as exc:  # noqa: BLE001 - Redis away: the next round tries again
            log.debug("heartbeat not written (%s)", type(exc).__name__)

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            self._beat()

    def start(self) -> Heartbeat:
        self._beat()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{self.role}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.period + 1)
            self._thread = None
        try:
            heartbeats.stop(self._redis, self._keys, self.role, self.instance)
        except Exception as exc:  # noqa: BLE001 - it expires by itself
            log.debug("heartbeat not deleted (%s)", type(exc).__name__)
