"""The translation preview of a held message: how the other communities will read it.

Asked of the self-hosted translator only (LibreTranslate, where the link's policy allows it):
the message is not approved yet, and no outside provider should see what a moderator may
reject. Bounded (a few seconds), translated once per held message and language (a small
in-memory cache: the queue page is polled), never logged.
"""

from __future__ import annotations

from collections import OrderedDict

from core.links import Link, LinksConfig
from core.models import PlatformEvent
from core.phrases import language_name
from core.settings import Settings

SELF_HOSTED = "libre"
CACHED = 256


class Previews:
    def __init__(self, settings: Settings, config: LinksConfig):
        self._config = config
        self._cache: OrderedDict[tuple[str, str], list[dict]] = OrderedDict()
        self._translator = None
        if settings.libretranslate_url:
            from dataclasses import replace

            from workers.translation.wiring import build_translator

            # The self-hosted translator alone, with a short deadline: a preview must not keep the page waiting.
            only_libre = replace(settings, translator_endpoints={}, provider_credentials={}, translation_timeout=6.0)
            self._translator = build_translator(only_libre, config)

    def available(self, link: Link) -> bool:
        return self._translator is not None and SELF_HOSTED in link.policy.translation

    def of(self, link: Link, hold_id: str, text: str, event: PlatformEvent) -> list[dict]:
        """[{language, text, translated}] for each other language of ``link`` (blocking: call it in a thread)."""
        key = (hold_id, link.id)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        from workers.translation.service import TRANSLATED, Request

        community = self._config.community_of(event.source.chat)
        source = community.language if community else "en"
        targets = frozenset(lang for lang in self._config.languages(link) if lang != source)
        if not targets or self._translator is None:
            return []
        done = self._translator.translate(
            Request(
                text=text,
                source=source,
                targets=targets,
                providers=(SELF_HOSTED,),
                glossary=self._config.glossary(link),
            )
        )
        found = [
            {"language": language_name(t.target), "text": t.text, "translated": t.status == TRANSLATED}
            for t in sorted(done.values(), key=lambda t: t.target)
        ]
        if all(f["translated"] for f in found):  # a failure is asked again next time
            self._cache[key] = found
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)
        return found
