"""A translation cache, only where a link's policy allows one (stored by
core/storage/translations.py).

Message text is personal data, so the cache is off unless the policy sets
``translation_cache_days``; entries are keyed by a hash (the text never
appears in a key) and expire after that many days, which the configuration
keeps within the link's retention.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence


def cache_digest(text: str, source: str, target: str, providers: Sequence[str], glossary: Sequence[str]) -> str:
    material = json.dumps([text, source, target, list(providers), sorted(glossary)], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()
