"""Which of a source message's files each relayed copy shows (issue 15).

A Discord member may take attachments off a message they sent (an edit with fewer
attachments); the copies must lose them too. Which copy shows which file is known only
when posting (Discord: up to 10 files per message; Telegram: one file per message, in
albums), so the sender records it here beside the id map: per source message, link and
destination, {copy message id: [source attachment id, ...]}. Ids only (Discord's
attachment ids), never names; the hash expires with the link's retention, like the id
map. A copy posted but not recorded (a crash between posting and recording) has no entry:
an edit then removes nothing from it and counts that.
"""

from __future__ import annotations

import json

import logging

from ..models import ChatRef, EventKind, MessageRef, OutboundPost
from .keys import DAY, Keys

log = logging.getLogger(__name__)

Layout = dict[str, list[str]]


class CopyFiles:
    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    @staticmethod
    def _field(link_id: str, destination: ChatRef) -> str:
        return f"{link_id}|{destination.key}"

    async def record(
        self, link_id: str, source: MessageRef, destination: ChatRef, layout: Layout, retention_days: int
    ) -> None:
        """Set the layout of the copies of ``source`` in ``destination`` (replacing any);
        an empty layout removes the entry."""
        key = self._keys.copy_files(source.key)
        field = self._field(link_id, destination)
        async with self._redis.pipeline(transaction=True) as pipe:
            if layout:
                pipe.hset(key, field, json.dumps(layout))
                pipe.expire(key, max(1, retention_days) * DAY)
            else:
                pipe.hdel(key, field)
            await pipe.execute()

    async def record_post(self, post: OutboundPost, layout: Layout) -> bool:
        """Record the layout of a new post's copies where an edit may take files away (only
        a Discord member can). Best effort, for a post that is out: False when Redis failed
        (the caller counts it; such an edit then leaves the copies' files)."""
        if post.source.platform != "discord" or post.kind is not EventKind.NEW or not layout:
            return True
        try:
            await self.record(post.link_id, post.source, post.destination, layout, post.retention_days)
        except Exception:  # noqa: BLE001 - the post stands; never retried
            log.warning("could not record which copies show the files of a post in %s", post.destination.key)
            return False
        return True

    async def layout(self, link_id: str, source: MessageRef, destination: ChatRef) -> Layout:
        """{copy message id: [source attachment ids]}; empty when nothing was recorded."""
        raw = await self._redis.hget(self._keys.copy_files(source.key), self._field(link_id, destination))
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): [str(i) for i in v] for k, v in data.items() if isinstance(v, list)}


def removed_files(layout: Layout, kept: set[str]) -> set[str]:
    """The recorded attachment ids that are no longer among ``kept`` (the edit's)."""
    return {file_id for files in layout.values() for file_id in files if file_id not in kept}
