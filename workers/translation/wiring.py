"""Building the translator from settings and config (the one place it is wired)."""

from __future__ import annotations

import logging

from core.storage.keys import Keys
from core.storage.translations import TranslationCache
from core.links import LinksConfig
from core.settings import Settings

from .providers import build_providers
from .service import Translator

log = logging.getLogger(__name__)


def wanted_providers(config: LinksConfig) -> list[str]:
    """Every provider some link's policy allows, in first-mentioned order."""
    return list(dict.fromkeys(p for link in config.links for p in link.policy.translation))


def _providers(settings: Settings, config: LinksConfig):
    return build_providers(
        libretranslate_url=settings.libretranslate_url,
        libretranslate_api_key=settings.libretranslate_api_key,
        credentials=settings.provider_credentials,
        endpoints=settings.translator_endpoints,
        wanted=wanted_providers(config),
    )


def build_translator(settings: Settings, config: LinksConfig, redis=None, keys: Keys | None = None) -> Translator:
    providers, unavailable = _providers(settings, config)
    for name, why in unavailable.items():
        log.warning("translation provider %s is not available: %s", name, why)
    cache = TranslationCache(redis, keys) if redis is not None and keys is not None else None
    return Translator(providers, unavailable=unavailable, deadline=settings.translation_timeout, cache=cache)


def translation_report(settings: Settings, config: LinksConfig, probe_timeout: float = 3.0) -> list[str]:
    """What `twinbridge check` says about translation: providers that cannot
    run here, and language pairs a link's providers cannot translate."""
    providers, unavailable = _providers(settings, config)
    lines = [f"translation provider {name} cannot be used: {why}" for name, why in unavailable.items()]
    libre = providers.get("libre")
    if libre is not None and libre.languages(probe_timeout) is None:
        lines.append(f"LibreTranslate at {libre.url} did not answer; its languages were not checked")
    for link in config.links:
        languages = config.languages(link)
        speakers = {config.communities[c].language for c in link.speakers()}
        for source in languages:
            if source not in speakers:
                continue
            for target in languages:
                if target.split("-")[0] == source.split("-")[0]:
                    continue
                usable = []
                for name in link.policy.translation:
                    provider = providers.get(name)
                    if provider is None:
                        continue
                    if provider.code_for(source, probe_timeout) and provider.code_for(target, probe_timeout):
                        usable.append(name)
                    else:
                        lines.append(f"{link.id}: {name} cannot translate {source}→{target}")
                if not usable:
                    lines.append(
                        f"{link.id}: no provider the policy allows can translate {source}→{target} here; "
                        "those messages will arrive untranslated, marked so"
                    )
    return lines
