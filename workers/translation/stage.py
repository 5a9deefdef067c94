"""The translation stage: moderated drafts in, each destination's post in its
language out. It receives only what moderation let cross each link (workers/drafts.py)."""

from __future__ import annotations

from dataclasses import replace

from core import formatting as fmt
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
    per target language, not once per chat. An announcement's event title is a text of
    its own (core/announcements.py: how the title travels), translated the same way."""
    outcome = outcome if outcome is not None else Outcome()
    if not drafts.needs_translation:
        return list(drafts.posts)
    texts = [post.text for post in drafts.posts]
    titles = [_title(post) for post in drafts.posts]
    translations = _translations(drafts, config, translator, texts, [post.formatting for post in drafts.posts])
    title_translations = _translations(drafts, config, translator, titles)
    posts = []
    for post, title in zip(drafts.posts, titles, strict=True):
        translation = translations.get((post.text, post.formatting, post.link_id, post.language))
        changes: dict = {}
        if title:
            done = title_translations.get((title, (), post.link_id, post.language))
            if done is not None and done.status == TRANSLATED:
                changes["announcement"] = _with_title(post.announcement or {}, done.text)
        if translation is None:
            posts.append(replace(post, **changes))
            continue
        outcome.counts[f"translation.{translation.status}"] += 1
        changes["text"] = translation.text
        changes["formatting"] = translation.formatting
        if translation.status == TRANSLATED and config.known_link(post.link_id).policy.show_original:
            changes.update(
                original=post.text,
                original_formatting=post.formatting,
                original_language=translation.source,
                translated_by=DISPLAY_NAMES.get(translation.provider, translation.provider),
            )
        elif translation.status == FAILED:
            changes["notes"] = (not_translated_note(post.language, translation.source), *post.notes)
        posts.append(replace(post, **changes))
    return posts


def _translations(
    drafts: Drafts,
    config: LinksConfig,
    translator: Translator,
    texts: list[str],
    formatting: list[fmt.Spans] | None = None,
) -> dict[tuple[str, fmt.Spans, str, str], Translation]:
    """(text, its formatting, link id, target language) -> its translation, for the text of
    each draft in ``texts`` ("" for none) with its ``formatting`` (none if not given): one
    request per text and settings, for every language they reach."""
    groups: dict[tuple, tuple[set[str], set[str]]] = {}
    for i, (post, text) in enumerate(zip(drafts.posts, texts, strict=True)):
        if not text:
            continue
        link = config.known_link(post.link_id)
        spans = formatting[i] if formatting else ()
        key = (text, spans, link.policy.translation, config.glossary(link), link.policy.translation_cache_days)
        links, targets = groups.setdefault(key, (set(), set()))
        links.add(post.link_id)
        targets.add(post.language)
    translations: dict[tuple[str, fmt.Spans, str, str], Translation] = {}
    for (text, spans, providers, glossary, cache_days), (links, targets) in groups.items():
        request = Request(text, drafts.source_language, frozenset(targets), providers, glossary, cache_days, spans)
        done = translator.translate(request)
        for link_id in links:
            for target, result in done.items():
                translations[(text, spans, link_id, target)] = result
    return translations


def _title(post: OutboundPost) -> str:
    """The event title an announcement's post shows ("" for none)."""
    event = (post.announcement or {}).get("event") or {}
    return str(event.get("title") or "")


def _with_title(view: dict, title: str) -> dict:
    return {**view, "event": {**(view.get("event") or {}), "title": title}}
