"""Reactions on relayed copies, shown on the original (issue 15): counting and refreshing.

Each adapter hands the reactions members make on a message of a linked chat to
:class:`ReactionCounter`: a reaction on a relayed copy (the id map knows it) is counted
for the copy's original (core/storage/reactions.py, counts only); one on anything else is
ignored, since the original's own readers see it natively. A change schedules one refresh
of the original a few seconds later, so a burst of reactions makes one update there.

The adapter of the original's platform runs a :class:`ReactionRefresher`: about twice a
second it claims the due refreshes of its platform (with a lease: one that its process
dies in runs again after it), reads the counts, and lets its platform's ``show`` make the
original show them (a Telegram count line replying to the original, edited as counts
change; a Discord original the bot's own reactions). Requests are booked with the
platform's rate limiter, as the outbox books its posts. No worker takes part: the
refresh needs the platform's client and no text, no policy secret and no translator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core.idmap import IdMap
from core.links import LinksConfig
from core.models import ChatRef, MessageRef
from core.stats import Stats
from core.storage.keys import Keys
from core.storage.reactions import Counts, Reactions
from .waiting import wait_event

log = logging.getLogger(__name__)

REFRESH_DELAY = 3.0  # a burst's first reaction to the original's update (the RSVP refresh's gate)
POLL_INTERVAL = 0.5
LEASE = 60.0  # a claimed refresh runs again after this if its process died
MAX_EMOJI_PER_EVENT = 20  # a reaction event carries a member's few reactions; more is hostile

# (original, counts) -> shown on the original's platform. Raises to be retried later.
Show = Callable[[MessageRef, Counts], Awaitable[None]]


class ReactionCounter:
    """Reactions seen by one adapter -> the counts of the originals of relayed copies."""

    def __init__(self, redis, keys: Keys, config: LinksConfig, stats: Stats):
        self._reactions = Reactions(redis, keys)
        self._idmap = IdMap(redis, keys)
        self._config = config
        self._stats = stats

    async def changed(self, copy: MessageRef, values: dict[str, int], *, absolute: bool = False) -> bool:
        """Count reactions on ``copy``: changes per emoji, or with ``absolute`` its whole
        counts. False (nothing counted) when ``copy`` is no relayed copy."""
        if len(values) > MAX_EMOJI_PER_EVENT:
            self._stats.incr_soon(f"{copy.platform}.skipped.reaction_oversized")
            return False
        origin = await self._idmap.origin(copy)
        if origin is None:
            return False  # an original or an unrelated message: its readers see their reactions
        link_id, original = origin
        link = self._config.link(link_id)
        if link is None:
            self._stats.incr_soon(f"{copy.platform}.skipped.reaction_unknown_link")
            return False
        changed = await self._reactions.change(
            original,
            copy.chat,
            values,
            absolute=absolute,
            retention_days=link.policy.retention_days,
            delay=REFRESH_DELAY,
        )
        if changed:
            self._stats.incr_soon(f"{copy.platform}.reactions.counted")
        return changed


class ReactionRefresher:
    """Runs the due refreshes of originals on one platform, with its ``show``."""

    def __init__(self, redis, keys: Keys, platform: str, show: Show, stats: Stats):
        self._reactions = Reactions(redis, keys)
        self._platform = platform
        self._show = show
        self._stats = stats
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.refresh_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: try again shortly
                log.warning("%s reactions: refresh round failed (%s)", self._platform, exc.__class__.__name__)
            await wait_event(self._stopping, POLL_INTERVAL)

    async def refresh_due(self) -> int:
        originals = await self._reactions.claim_due(self._platform, LEASE)
        for original in originals:
            counts = await self._reactions.counts(original)
            try:
                await self._show(original, counts)
            except Exception as exc:  # noqa: BLE001 - the lease brings it back later
                self._stats.incr_soon(f"{self._platform}.reactions.refresh_failed")
                log.warning(
                    "%s reactions: could not update the original in %s:%s (%s)",
                    self._platform,
                    original.platform,
                    original.chat_id,
                    exc.__class__.__name__,
                )
                continue
            self._stats.incr_soon(f"{self._platform}.reactions.refreshed")
            await self._reactions.done(original, counts.version, REFRESH_DELAY)
        return len(originals)


def count_lines(counts: Counts, config: LinksConfig) -> str:
    """ "Krefeld: 👍 3 · ❤️ 1", one line per community whose copies carry reactions, the
    most frequent emoji first; "" when none."""
    by_community: dict[str, dict[str, int]] = {}
    for chat_key, emoji_counts in counts.by_chat.items():
        community = config.community_of(ChatRef.parse(chat_key))
        name = community.name if community is not None else "?"
        merged = by_community.setdefault(name, {})
        for emoji, n in emoji_counts.items():
            merged[emoji] = merged.get(emoji, 0) + n
    lines = []
    for name in sorted(by_community):
        shown = sorted(by_community[name].items(), key=lambda item: (-item[1], item[0]))
        lines.append(f"{name}: " + " · ".join(f"{emoji} {n}" for emoji, n in shown))
    return "\n".join(lines)
