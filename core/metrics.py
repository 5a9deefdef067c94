"""Prometheus metrics (docs/operations.md, "Metrics"): one endpoint per long-running process
(`twinbridge run`, `twinbridge worker`, `twinbridge scheduler`) when TWINBRIDGE_METRICS_PORT
is set, bound to 127.0.0.1 unless TWINBRIDGE_METRICS_HOST says otherwise.

Two kinds of series:

- **Read from Redis at scrape time** (:class:`RedisCollector`): every counter the bridge
  keeps in its stats hash (core/stats.py; written by every process, every worker child and
  every host, so nothing is counted twice and a restart loses nothing), shown under the
  names below, and how much waits in each queue, how many dead letters and held messages
  each link has. Every process shows the same values of these: aggregate them with
  ``max``, not ``sum``.
- **This process's own** (:data:`LOCAL`): what only the process itself sees, e.g. the
  adapters' end-to-end latency histogram and whether each adapter is connected
  (bridge/metrics.py), the scheduler's rounds (workers/scheduler.py).

No label ever holds personal data: label values are link ids (configuration), platform
names, and words of the code (reasons, queue names, statuses). A counter whose name has a
part that is not such a word (a digit, an upper-case letter, punctuation) is not shown,
so even a counter named by mistake after an id could not leak it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .models import PLATFORMS
from .settings import Settings
from .storage import scrape
from .storage.keys import Keys

log = logging.getLogger(__name__)

NAMESPACE = "twinbridge"
# This process's own metrics (histograms, gauges only it knows); served with the Redis ones.
LOCAL = CollectorRegistry()

# A counter name is dot-separated words of lower-case letters and underscores.
_WORD = re.compile(r"^[a-z][a-z_]{0,62}$")
MAX_COUNTERS = 1000  # a hash grown past this by a bug is cut, not a cardinality explosion


def exposable(name: str) -> bool:
    """Whether the stats counter ``name`` may appear in a label (words of the code only)."""
    parts = name.split(".")
    return 2 <= len(parts) <= 4 and all(_WORD.match(part) for part in parts)


# -- the counters of the stats hash, named -------------------------------------------------
@dataclass(frozen=True)
class Family:
    name: str  # without the namespace and without "_total"
    help: str
    labels: tuple[str, ...] = ()


RELAYED = Family(
    "relayed",
    "Copies a platform accepted, by destination platform and kind (new, edit, delete, notice, unquote)",
    ("platform", "kind"),
)
ACCEPTED = Family("accepted", "Events accepted from a platform into the ingress (new, edits, deletes)", ("platform",))
DROPPED = Family(
    "dropped",
    "Events not relayed on purpose, by where and why (an unknown chat, the bridge's own echo, a paused link, …)",
    ("stage", "reason"),
)
DEAD_LETTERED = Family("dead_lettered", "Posts or events given up on and parked as dead letters", ("stage",))
RATE_LIMITED = Family("rate_limited", "HTTP 429 answers from a platform (each waited out)", ("platform",))
RETRIES = Family("retries", "Attempts made again after a failure (not counting 429s)", ("stage",))
HELD = Family("held", "Messages held for a moderator")
REDACTED = Family("redacted", "Pieces of personal data redacted from relayed text, by kind", ("kind",))
MODERATION = Family(
    "moderation_decisions", "Other moderation decisions (profanity masked, media withheld, …)", ("decision",)
)
TRANSLATIONS = Family(
    "translations", "Translations of a post by outcome (translated, same_language, nothing, failed)", ("status",)
)
PROCESSED = Family("processed", "Events the workers published")
OTHER = Family("counter", "Every other counter of the bridge, by its name (core/stats.py)", ("counter",))
FAMILIES = (
    RELAYED,
    ACCEPTED,
    DROPPED,
    DEAD_LETTERED,
    RATE_LIMITED,
    RETRIES,
    HELD,
    REDACTED,
    MODERATION,
    TRANSLATIONS,
    PROCESSED,
    OTHER,
)


def classify(name: str) -> tuple[Family, tuple[str, ...]]:
    """The family and label values a stats counter is shown under (every counter under
    exactly one: what no rule names is shown as ``twinbridge_counter_total{counter=…}``)."""
    parts = name.split(".")
    head, rest = parts[0], parts[1:]
    if head in PLATFORMS and rest == ["accepted"]:
        return ACCEPTED, (head,)
    if head in PLATFORMS and len(rest) == 2:
        area, what = rest
        if area == "delivered":
            return RELAYED, (head, what)
        if area == "skipped":
            return DROPPED, (head, what)
        if area == "delivery" and what == "dead_lettered":
            return DEAD_LETTERED, (head,)
        if area == "delivery" and what == "rate_limited":
            return RATE_LIMITED, (head,)
        if area == "delivery" and what == "retried":
            return RETRIES, (head,)
    if name == "ingress.dropped_unreadable":
        return DROPPED, ("ingress", "unreadable")
    if name == "dropped.paused":
        return DROPPED, ("moderation", "paused")
    if name == "moderation.consent_missing":
        return DROPPED, ("moderation", "consent_missing")
    if name == "worker.event_dead_lettered":
        return DEAD_LETTERED, ("worker",)
    if name == "worker.event_retried":
        return RETRIES, ("worker",)
    if name == "worker.processed":
        return PROCESSED, ()
    if name == "moderation.held":
        return HELD, ()
    if head == "moderation" and len(rest) == 2 and rest[0] == "redacted":
        return REDACTED, (rest[1],)
    if head == "moderation" and rest:
        return MODERATION, (".".join(rest),)
    if head == "translation" and len(rest) == 1:
        return TRANSLATIONS, (rest[0],)
    return OTHER, (name,)


def counter_families(counters: dict[str, int]) -> list[CounterMetricFamily]:
    """The stats counters as Prometheus counters; the unexposable ones left out."""
    built = {
        family: CounterMetricFamily(f"{NAMESPACE}_{family.name}", family.help, labels=family.labels)
        for family in FAMILIES
    }
    seen: dict[tuple[Family, tuple[str, ...]], int] = {}
    for name in sorted(counters)[:MAX_COUNTERS]:
        if not exposable(name):
            continue
        key = classify(name)
        seen[key] = seen.get(key, 0) + counters[name]
    for (family, values), total in seen.items():
        built[family].add_metric(list(values), total)
    return list(built.values())


# -- the collector ---------------------------------------------------------------------------
class RedisCollector(Collector):
    """Reads Redis at each scrape (two round trips, three when something is held:
    core/storage/scrape.py). Redis away: ``twinbridge_redis_up 0`` and nothing else of it,
    so the scrape still answers with the process's own metrics."""

    def __init__(self, redis: Any, keys: Keys, link_ids: Iterable[str]):
        self._redis = redis
        self._keys = keys
        self._link_ids = tuple(link_ids)

    def collect(self) -> Iterator[Metric]:
        import redis as redis_lib  # the client's errors only

        up = GaugeMetricFamily(f"{NAMESPACE}_redis_up", "Whether this process could read Redis for this scrape")
        try:
            read = scrape.read(self._redis, self._keys, self._link_ids)
        except (redis_lib.exceptions.ConnectionError, redis_lib.exceptions.TimeoutError) as exc:
            log.warning("metrics: Redis unreachable for a scrape (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from counter_families(read.counters)
        depth = GaugeMetricFamily(
            f"{NAMESPACE}_queue_depth",
            "Entries waiting in each queue of the path: ingress (accepted, not yet moderated), "
            "each stage's Celery queue, each platform's outbox (to be delivered)",
            labels=("queue",),
        )
        for queue, n in read.queues.items():
            depth.add_metric([queue], n)
        yield depth
        taken = GaugeMetricFamily(
            f"{NAMESPACE}_tasks_taken", "Tasks workers have taken and not yet acknowledged (running or due later)"
        )
        taken.add_metric([], read.taken)
        yield taken
        dead = GaugeMetricFamily(
            f"{NAMESPACE}_dead_letters", "Dead letters not yet expired, retried or purged", labels=("link",)
        )
        held = GaugeMetricFamily(f"{NAMESPACE}_held_waiting", "Messages waiting for a moderator", labels=("link",))
        for link_id in self._link_ids:
            dead.add_metric([link_id], read.dead_letters.get(link_id, 0))
            held.add_metric([link_id], read.held.get(link_id, 0))
        yield dead
        yield held


class _Served(Collector):
    """What one endpoint serves: this process's own metrics, its process figures (CPU,
    memory, open files) and the Redis ones."""

    def __init__(self, *collectors: Collector):
        self._collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


def served(redis: Any, keys: Keys, link_ids: Iterable[str]) -> Collector:
    return _Served(LOCAL, ProcessCollector(registry=None), RedisCollector(redis, keys, link_ids))


class MetricsServer:
    """The endpoint of one process (a thread of prometheus-client's own HTTP server)."""

    def __init__(self, server: Any, thread: Any, client: Any):
        self._server = server
        self._thread = thread
        self._client = client
        self.port = server.server_port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()


def serve(settings: Settings, link_ids: Iterable[str], role: str) -> MetricsServer | None:
    """Start this process's endpoint at ``settings.metrics_host``:``settings.metrics_port``
    (None, and nothing started, when the port is not set). A port that cannot be bound is
    logged and the process runs on without metrics: they are not worth a stopped bridge."""
    if not settings.metrics_port:
        return None

    # Its own synchronous client: scrapes run in the server's thread, not on an event loop.
    from .storage.connection import redis_client

    client = redis_client(settings.redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5)
    collector = served(client, Keys(settings.redis_prefix), link_ids)
    try:
        server, thread = start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=collector)
    except OSError as exc:
        log.error(
            "metrics: cannot listen on %s:%s (%s); %s runs on without metrics",
            settings.metrics_host,
            settings.metrics_port,
            exc.strerror or type(exc).__name__,
            role,
        )
        client.close()
        return None
    log.info("metrics: %s serves them on http://%s:%s/metrics", role, settings.metrics_host, server.server_port)
    return MetricsServer(server, thread, client)
