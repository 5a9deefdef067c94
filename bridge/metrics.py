"""The adapters' own metrics (`twinbridge run`; served with the Redis ones by core/metrics.py):
how long after a member wrote a message the destination platform accepted its copy, per
link and direction (the histogram's count is how many copies), and whether each adapter
is connected. How many copies each platform accepted in all is counted in Redis already
(``{platform}.delivered.{kind}``, core/storage/deliveries.py: ``twinbridge_relayed_total``).
Labels: a link id (configuration), "telegram→discord" (platform names), a platform name;
never a chat, a user or a text."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Gauge, Histogram

from core.links.schema import SLUG
from core.metrics import LOCAL, NAMESPACE
from core.models import PLATFORMS, EventKind, OutboundPost

# From a few hundred milliseconds (a quiet bridge) to an hour (a message held for a
# moderator counts from when it was written, as its readers see it).
LATENCY_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

LATENCY = Histogram(
    f"{NAMESPACE}_delivery_latency_seconds",
    "From when a message was written to when the destination platform accepted its copy "
    "(seconds; Telegram gives whole seconds), per link and direction",
    ("link", "direction"),
    buckets=LATENCY_BUCKETS,
    registry=LOCAL,
)
CONNECTED = Gauge(
    f"{NAMESPACE}_adapter_connected",
    "1 while this process's adapter of a platform is connected (a process standing by for another's lease: 0)",
    ("platform",),
    registry=LOCAL,
)
OTHER_LINK = "other"  # a post whose link id is not one of the configuration's (never expected)

_known_links: frozenset[str] | None = None


def know_links(link_ids: Iterable[str]) -> None:
    """The configuration's link ids: the only link label values (``other`` for anything else)."""
    global _known_links
    _known_links = frozenset(link_ids)


def link_label(link_id: str) -> str:
    if _known_links is not None:
        return link_id if link_id in _known_links else OTHER_LINK
    return link_id if SLUG.match(link_id or "") else OTHER_LINK


def direction(post: OutboundPost) -> str:
    """ "telegram→discord": the source's and the destination's platform names."""
    source, destination = post.source.chat.platform, post.destination.platform
    return f"{_platform(source)}→{_platform(destination)}"


def _platform(name: str) -> str:
    return name if name in PLATFORMS else "other"


def accepted(post: OutboundPost, at: float) -> None:
    """A copy of ``post`` accepted by its platform at ``at``: its latency observed when it is
    a member's new message whose time is known (an edit carries the original's time;
    notices and announcements are no member's message)."""
    if post.kind != EventKind.NEW or post.announcement is not None or post.written_at <= 0:
        return
    LATENCY.labels(link_label(post.link_id), direction(post)).observe(max(0.0, at - post.written_at))


def connected(platform: str, up: bool) -> None:
    CONNECTED.labels(_platform(platform)).set(1 if up else 0)
