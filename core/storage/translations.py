"""Cached translations (sync client): only where a link's policy allows a cache, keyed
by a digest of the text and its settings (the text never appears in a key), stored as
JSON (text and provider), expiring after the policy's days."""

from __future__ import annotations

import json

from .keys import DAY, Keys


class TranslationCache:
    def __init__(self, redis, keys: Keys):
        self.redis = redis
        self.keys = keys

    def get(self, digest: str) -> tuple[str, str] | None:
        """(translated text, provider name), or None."""
        raw = self.redis.get(self.keys.translation(digest))
        if not raw:
            return None
        data = json.loads(raw)
        return data["text"], data["provider"]

    def put(self, digest: str, text: str, provider: str, days: int) -> None:
        if days > 0:
            self.redis.set(
                self.keys.translation(digest),
                json.dumps({"text": text, "provider": provider}, ensure_ascii=False),
                ex=days * DAY,
            )
