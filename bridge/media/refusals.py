"""A file the destination would not take, told once to its sender (issue 15).

Where a file cannot cross (over the destination's limit, too large for the source
platform to hand over, refused by the destination: Telegram's 400 or 413 on an upload,
Discord's 413 / 40005), the destination post shows a note in its place
(core.phrases.file_too_large_note). The member who sent it would not know: so the media
code also records a :class:`Refusal` with the delivery's :func:`collecting`, and once
the post is out, :class:`RefusalNotices` queues one short notice to the source chat, in the
source community's language, as a reply to the member's message: the file's name and the
reason in plain words, never the message's text nor the member's name. Once per source
message (a marker), whatever the number of destinations or retries.

The collection is a context variable: the delivery of one post runs in one task, and
the senders' media code adds to it without every signature in between carrying it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from core.links import LinksConfig
from core.models import EventKind, OutboundPost
from core.phrases import file_refused_notice
from core.storage import outbox
from core.storage.keys import Keys

from .limits import human_size


@dataclass(frozen=True)
class Refusal:
    """One file that did not cross: its name and kind, why ("too_large", "source_too_large",
    "refused"), the platform that said no, and the sizes when known (bytes)."""

    name: str
    kind: str
    reason: str
    platform: str
    size: int | None = None
    limit: int | None = None


_collected: ContextVar[list[Refusal] | None] = ContextVar("twinbridge_refusals", default=None)


@contextlib.contextmanager
def collecting() -> Iterator[list[Refusal]]:
    """Collect the refusals recorded while the block runs (one delivery attempt)."""
    found: list[Refusal] = []
    token = _collected.set(found)
    try:
        yield found
    finally:
        _collected.reset(token)


def refused(
    name: str, kind: str, reason: str, platform: str, size: int | None = None, limit: int | None = None
) -> None:
    """Record that a file did not cross (nothing happens outside :func:`collecting`: an
    edit, a moderator's preview)."""
    found = _collected.get()
    if found is not None:
        found.append(Refusal(name, kind, reason, platform, size, limit))


class RefusalNotices:
    """Queues the notice to the sender's chat, once per source message."""

    def __init__(self, redis, keys: Keys, config: LinksConfig):
        self._redis = redis
        self._keys = keys
        self._config = config

    def notice(self, post: OutboundPost, refusals: list[Refusal]) -> OutboundPost | None:
        source = self._config.community_of(post.source.chat)
        destination = self._config.community_of(post.destination)
        if source is None or destination is None or not refusals:
            return None
        lines = [
            file_refused_notice(
                source.language,
                r.kind,
                r.name,
                destination.name,
                r.reason,
                r.platform,
                human_size(r.size) if r.size else "",
                human_size(r.limit) if r.limit else "",
            )
            for r in refusals
        ]
        return OutboundPost(
            kind=EventKind.NOTICE,
            link_id=post.link_id,
            destination=post.source.chat,
            source=post.source,
            sender="",
            community="",
            text="\n".join(dict.fromkeys(lines)),
            reply_to=post.source,  # a reply to the member's message
            retention_days=post.retention_days,
            # The file's name is the member's: the notice is erased with the rest of theirs.
            author=post.author,
            written_at=post.written_at,
        )

    async def tell(self, post: OutboundPost, refusals: list[Refusal]) -> bool:
        """Queue the notice for ``post``'s source chat unless one was queued for its
        source message before. True when queued now."""
        notice = self.notice(post, refusals)
        if notice is None:
            return False
        return await outbox.queue_once(self._redis, self._keys, self._keys.refusal_told(post.source.key), notice)
