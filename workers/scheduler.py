"""`twinbridge scheduler`: hands organisers' announcements (and their reminders) to the fire
task when they are due.

A plain loop, about once a second: :func:`core.storage.announcements.claim_due` takes each
due entry off the schedule, sets its firing marker and pushes the Celery task
`twinbridge.fire_announcement(id, what)` onto the moderation queue in one script. So a
scheduler killed at any point neither loses nor doubles a notice, several can run side by
side (each entry is taken by one), and everything it knows is in Redis: a restarted one
picks up what fell due while it was down. It needs no Celery (beat or worker) and holds
no text: it logs ids and counts only.

SIGTERM or SIGINT stop it between two rounds (exit 0).
"""

from __future__ import annotations

import logging
import signal
import threading
import time

import redis as redis_lib
from prometheus_client import Counter, Gauge

from core.storage.connection import redis_client
from core.backoff import Backoff
from core.links import ConfigError, load_links
from core.liveness import Heartbeat
from core.metrics import LOCAL, NAMESPACE
from core.metrics import serve as serve_metrics
from core.settings import Settings
from core.storage import heartbeats
from core.storage import announcements
from core.storage.keys import Keys

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
BATCH = 100  # entries one claim takes; more are taken at once in the same round
BEAT_SECONDS = 10  # how long one round says "a scheduler runs" (`twinbridge announce` asks)
# Looking for fire tasks lost on their way to a worker: this often, one scheduler at a time;
# a firing is pushed again once two looks in a row found its task nowhere, at most this
# often per firing (a task that keeps failing is not pushed forever: its marker expires).
SWEEP_SECONDS = 15.0
REFIRES = 2

# Its own metrics (core/metrics.py serves them with the Redis ones under TWINBRIDGE_METRICS_PORT).
HANDED_OVER = Counter(
    f"{NAMESPACE}_scheduler_handed_over", "Announcements and reminders handed to the fire task", registry=LOCAL
)
REFIRED = Counter(
    f"{NAMESPACE}_scheduler_refired", "Fire tasks found lost and pushed again by this scheduler", registry=LOCAL
)
LAST_ROUND = Gauge(
    f"{NAMESPACE}_scheduler_last_round_timestamp_seconds",
    "When this scheduler last finished a round (Unix time): an old one means it is stuck or Redis is away",
    registry=LOCAL,
)


class Scheduler:
    def __init__(self, redis, keys: Keys, poll: float = POLL_SECONDS, clock=time.time):
        self._redis = redis
        self._keys = keys
        self._poll = poll
        self._clock = clock
        self._next_sweep = 0.0
        self._missing: set[tuple[str, str, str]] = set()  # what the last look found nowhere
        self._refired: dict[tuple[str, str, str], int] = {}

    def run_once(self) -> int:
        """Hand over everything due now; how many entries were taken."""
        taken = 0
        announcements.scheduler_beat(self._redis, self._keys, BEAT_SECONDS)
        while True:
            claimed = announcements.claim_due(self._redis, self._keys, self._clock(), BATCH)
            for announcement_id, what, outcome in claimed:
                if outcome == 1:
                    HANDED_OVER.inc()
                    log.info("announcement %s: %s handed to the fire task", announcement_id, what)
                else:  # cancelled or gone meanwhile: its entry is dropped
                    log.info("announcement %s: %s dropped (%s)", announcement_id, what, _OUTCOMES.get(outcome, outcome))
            taken += len(claimed)
            if len(claimed) < BATCH:
                return taken

    def sweep(self) -> int:
        """Push again the fire tasks found nowhere twice in a row; how many."""
        if not announcements.take_sweep_turn(self._redis, self._keys, max(1, int(SWEEP_SECONDS) - 1)):
            return 0  # another scheduler's turn
        under_way = announcements.firings_under_way(self._redis, self._keys)
        lost = set(announcements.lost_firings(self._redis, self._keys, under_way))
        pushed = 0
        for firing in sorted(lost & self._missing):
            if self._refired.get(firing, 0) >= REFIRES:
                continue
            if announcements.refire(self._redis, self._keys, *firing):
                self._refired[firing] = self._refired.get(firing, 0) + 1
                pushed += 1
                REFIRED.inc()
                log.warning("announcement %s: %s's fire task was lost; pushed again", firing[0], firing[1])
        # Pushed again, the next look finds it queued; once its marker is gone (published,
        # cancelled) it is forgotten.
        self._missing = lost
        still = set(under_way)
        self._refired = {firing: n for firing, n in self._refired.items() if firing in still}
        return pushed

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set; Redis outages are waited out with backoff."""
        backoff = Backoff(first=0.5, cap=10.0)
        failures = 0
        log.info("scheduler started (polling every %.1f s)", self._poll)
        while not stop.is_set():
            try:
                self.run_once()
                if self._clock() >= self._next_sweep:
                    self._next_sweep = self._clock() + SWEEP_SECONDS
                    self.sweep()
                failures, wait = 0, self._poll
                LAST_ROUND.set(self._clock())
            except (redis_lib.exceptions.ConnectionError, redis_lib.exceptions.TimeoutError) as exc:
                wait = backoff.delay(failures)
                failures += 1
                log.warning("scheduler: Redis unreachable (%s); trying again in %.1f s", type(exc).__name__, wait)
            except Exception as exc:  # noqa: BLE001 - a bug must not stop every later notice: logged by type
                wait = backoff.delay(failures)
                failures += 1
                log.error("scheduler: round failed (%s); trying again in %.1f s", type(exc).__name__, wait)
            stop.wait(wait)
        log.info("scheduler stopped")


_OUTCOMES = {0: "handed over before", -1: "gone", -2: "cancelled"}


def main(settings: Settings) -> int:
    """Run the scheduler until SIGTERM or SIGINT."""
    stop = threading.Event()

    def _stop(signum, _frame) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    client = redis_client(settings.redis_url, decode_responses=True, socket_connect_timeout=5, socket_timeout=10)
    keys = Keys(settings.redis_prefix)
    try:
        link_ids = [link.id for link in load_links(settings.config_path).links]
    except ConfigError:  # it needs no links to fire notices; its metrics then have no per-link series
        link_ids = []
    endpoint = serve_metrics(settings, link_ids, "the scheduler")
    # `twinbridge status` and `twinbridge health --role scheduler` read it.
    heartbeat = Heartbeat(client, keys, heartbeats.SCHEDULER).start()
    try:
        Scheduler(client, keys).run(stop)
    finally:
        heartbeat.stop()
        client.close()
        if endpoint is not None:
            endpoint.close()
    return 0
