"""The translation stage: moderated drafts in, each destination's post in its
language out. It receives only what moderation let cross each link (workers/drafts.py)."""

from __future__ import annotations

from dataclasses import replace

from core.links import LinksConfig
from core.models import OutboundPost
from core.phrases import not_translated_note

from ..drafts import Drafts, Outcome
from .providers import DISPLAY_NAMES
from .service import FAILED, TRANSLATED, Request, Translation, Translator


def translated(
    drafts: Drafts, config: LinksConfig, translator: Translator, outcome: Outcome | None = None
) -> list[OutboundPost]:
    """Each draft in its destination's language. Links with the same moderated text,
    providers, glossary and cache share one request, so a message is translated once
    per target language, not once per chat."""
    outcome = outcome if outcome is not None else Outcome()
    if not drafts.needs_translation:
        return list(drafts.posts)
    groups: dict[tuple, tuple[set[str], set[str]]] = {}
    for post in drafts.posts:
        link = config.known_link(post.link_id)
        key = (post.text, link.policy.translation, config.glossary(link), link.policy.translation_cache_days)
        links, targets = groups.setdefault(key, (set(), set()))
        links.add(post.link_id)
        targets.add(post.language)
    translations: dict[tuple[str, str], Translation] = {}
    for (text, providers, glossary, cache_days), (links, targets) in groups.items():
        request = Request(text, drafts.source_language, frozenset(targets), providers, glossary, cache_days)
        done = translator.translate(request)
        for link_id in links:
            for target, result in done.items():
                translations[(link_id, target)] = result
    posts = []
    for post in drafts.posts:
        translation = translations.get((post.link_id, post.language))
        if translation is None:
            posts.append(post)
            continue
        outcome.counts[f"translation.{translation.status}"] += 1
        changes: dict = {"text": translation.text}
        if translation.status == TRANSLATED and config.known_link(post.link_id).policy.show_original:
            changes.update(
                original=post.text,
                original_language=translation.source,
                translated_by=DISPLAY_NAMES.get(translation.provider, translation.provider),
            )
        elif translation.status == FAILED:
            changes["notes"] = (not_translated_note(post.language, translation.source), *post.notes)
        posts.append(replace(post, **changes))
    return posts
