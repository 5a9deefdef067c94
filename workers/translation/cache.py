"""A translation cache, only where a link's policy allows one.

Message text is personal data, so the cache is off unless the policy sets
``translation_cache_days``; entries are keyed by a hash (the text never
appears in a key) and expire after that many days, which the configuration
keeps within the link's retention.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from core.storage.keys import DAY, Keys


def cache_digest(text: str, source: str, target: str, providers: Sequence[str], glossary: Sequence[str]) -> str:
    material = json.dumps([text, source, target, list(providers), sorted(glossary)], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


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
            self.redis.set(self.keys.translation(digest), json.dumps({"text": text, "provider": provider},
                                                                      ensure_ascii=False), ex=days * DAY)
