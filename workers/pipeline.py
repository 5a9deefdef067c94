"""route → moderate → translate → deliver, as plain functions.

Two stages, each run by its own Celery task on its own queue (workers/tasks.py):
:func:`moderated` (the moderation worker: the only one that sees the unredacted
text) hands :class:`Drafts` to :func:`translated` (the translation worker), which
publishes. Routing decides which chats see an event; the policy decides how the sender
is shown; moderation applies the rest of each link's policy (redaction,
links, profanity, media) before translation turns the text into each
destination's language, once per language: a translator never sees what a
policy removes.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace


from core import persons
from core.storage import outbox
from core.storage.keys import Keys
from core.links import Community, LinksConfig
from core.models import ChatRef, EventKind, OutboundPost, PlatformEvent
from core.phrases import media_withheld_note, not_translated_note

from .moderation.stage import Moderated, moderate
from .privacy import PseudonymBook, shown_sender
from .translation.detection import detect_language
from .translation.providers import DISPLAY_NAMES
from .translation.service import FAILED, TRANSLATED, Request, Translation, Translator


@dataclass(frozen=True)
class Context:
    """What the pipeline needs besides the event: wired once per worker."""

    config: LinksConfig
    pseudonym_key: str | None = None
    # No providers: every message between languages goes out untranslated, marked.
    translator: Translator = field(default_factory=lambda: Translator({}))
    # The workers' allocator of unique pseudonyms; without it (no Redis) they are only derived.
    pseudonyms: PseudonymBook | None = None

    def shown(self, author, platform: str, link) -> str:
        """How ``author`` is shown in ``link`` (a :class:`~core.links.Link`)."""
        return shown_sender(author, platform, link.policy.sender, link.id, self.pseudonym_key, self.pseudonyms,
                            link.policy.retention_days)


@dataclass
class Outcome:
    """What happened to one event, for the counters, the audit log and the
    after-effects (consent explanations, held messages); no content but the
    held messages' own."""

    counts: Counter = field(default_factory=Counter)
    decisions: dict[str, Counter] = field(default_factory=dict)  # link id -> policy decisions
    needs_consent: set[str] = field(default_factory=set)  # links the author has not consented to
    held: dict[str, Moderated] = field(default_factory=dict)  # links where a moderator must approve
    crossed: set[str] = field(default_factory=set)  # links the event crossed


def route(event: PlatformEvent, config: LinksConfig) -> list[tuple[str, ChatRef]]:
    """(link id, destination chat) for every chat that should see ``event``.

    An unknown chat routes nowhere; a one-way link carries only its first
    community's messages; a chat never receives its own messages back, and
    receives each message once even when several links join it to the source.
    """
    targets: list[tuple[str, ChatRef]] = []
    reached: set[ChatRef] = set()
    for membership in config.memberships(event.source.chat):
        link = membership.link
        if membership.community.id not in link.speakers():
            continue
        for community_id in link.communities:
            for chat in config.communities[community_id].chats:
                # Several links may reach the same chat: it sees the message once.
                if chat != event.source.chat and chat not in reached:
                    reached.add(chat)
                    targets.append((link.id, chat))
    return targets


def source_language(event: PlatformEvent, community: Community, config: LinksConfig) -> str:
    """The language ``event`` is written in: detected among the languages its
    links join, or, when detection is unsure, its community's language."""
    detected = detect_language(event.text, config.languages_around(event.source.chat))
    return detected.language if detected else community.language


@dataclass(frozen=True)
class Drafts:
    """What the moderation stage hands to the translation stage: the posts of one
    event, each already moderated for its link (its text is what the policy lets
    cross, never the unredacted original), not yet translated; plain data (JSON)."""

    chat_key: str  # the source chat (its in-flight marker is retired with publishing)
    seq: int
    posts: tuple[OutboundPost, ...]
    source_language: str = ""  # "": nothing to translate (a deletion, no text)

    @property
    def needs_translation(self) -> bool:
        return bool(self.source_language and self.posts)

    def to_dict(self) -> dict:
        return {"chat_key": self.chat_key, "seq": self.seq, "source_language": self.source_language,
                "posts": [post.to_dict() for post in self.posts]}

    @classmethod
    def from_dict(cls, data: dict) -> Drafts:
        return cls(chat_key=data["chat_key"], seq=int(data.get("seq") or 0),
                   posts=tuple(OutboundPost.from_dict(p) for p in data.get("posts") or ()),
                   source_language=data.get("source_language") or "")


def plan(event: PlatformEvent, ctx: Context, outcome: Outcome | None = None, *,
         without_consent: frozenset[str] = frozenset(), approved_link: str | None = None) -> list[OutboundPost]:
    """The posts ``event`` turns into, one per destination chat: both stages in one
    call (:func:`moderated` then :func:`translated`). ``outcome`` (optional) collects
    counters, each link's policy decisions and what was gated."""
    outcome = outcome if outcome is not None else Outcome()
    drafts = moderated(event, ctx, outcome, without_consent=without_consent, approved_link=approved_link)
    return translated(drafts, ctx, outcome)


def moderated(event: PlatformEvent, ctx: Context, outcome: Outcome | None = None, *,
              without_consent: frozenset[str] = frozenset(), approved_link: str | None = None) -> Drafts:
    """The moderation stage: route, consent, moderation and holds, and how the sender
    is shown; the posts with each link's moderated text, untranslated.
    ``without_consent``: links whose consent the author has not given (nothing
    crosses them). ``approved_link``: a held event a moderator approved; it goes to
    that link only, without being held again."""
    outcome = outcome if outcome is not None else Outcome()
    chat_key = event.source.chat.key
    source_community = ctx.config.community_of(event.source.chat)
    if source_community is None:
        return Drafts(chat_key, event.seq, ())
    routed = [(link_id, chat) for link_id, chat in route(event, ctx.config)
              if approved_link is None or link_id == approved_link]
    moderated_texts = {}
    for link_id in dict.fromkeys(link_id for link_id, _ in routed):
        link = ctx.config.known_link(link_id)
        if link_id in without_consent and event.kind != EventKind.DELETE:
            outcome.needs_consent.add(link_id)
            continue
        allowed = moderate(event, link, ctx.config)
        if allowed.decisions:
            outcome.decisions[link_id] = allowed.decisions
            outcome.counts.update({f"moderation.{k}": v for k, v in allowed.decisions.items()})
        if link.policy.moderation == "approve" and link_id != approved_link and event.kind != EventKind.DELETE:
            outcome.held[link_id] = allowed  # nothing crosses (or reaches a translator) before a moderator says so
            continue
        moderated_texts[link_id] = allowed
        outcome.crossed.add(link_id)
    posts = []
    for link_id, destination in routed:
        if link_id not in moderated_texts:
            continue
        link = ctx.config.known_link(link_id)
        policy = link.policy
        allowed = moderated_texts[link_id]
        language = ctx.config.known_community(destination).language
        notes = (media_withheld_note(language, allowed.withheld_media),) if allowed.withheld_media else ()
        posts.append(
            OutboundPost(
                kind=event.kind,
                link_id=link_id,
                destination=destination,
                source=event.source,
                sender=ctx.shown(event.author, event.source.platform, link),
                community=source_community.name,
                text=allowed.text,  # only moderated text goes on to the translators
                reply_to=event.reply_to,
                attachments=allowed.attachments,
                notes=notes,
                seq=event.seq,
                retention_days=policy.retention_days,
                allow_mentions=policy.mentions == "allow",
                language=language,
            )
        )
    language = ""
    if posts and event.kind != EventKind.DELETE and event.text.strip():
        language = source_language(event, source_community, ctx.config)
    return Drafts(chat_key, event.seq, tuple(posts), language)


def translated(drafts: Drafts, ctx: Context, outcome: Outcome | None = None) -> list[OutboundPost]:
    """The translation stage: each draft in its destination's language. Links with
    the same moderated text, providers, glossary and cache share one request, so a
    message is translated once per target language, not once per chat."""
    outcome = outcome if outcome is not None else Outcome()
    if not drafts.needs_translation:
        return list(drafts.posts)
    groups: dict[tuple, tuple[set[str], set[str]]] = {}
    for post in drafts.posts:
        link = ctx.config.known_link(post.link_id)
        key = (post.text, link.policy.translation, ctx.config.glossary(link), link.policy.translation_cache_days)
        links, targets = groups.setdefault(key, (set(), set()))
        links.add(post.link_id)
        targets.add(post.language)
    translations: dict[tuple[str, str], Translation] = {}
    for (text, providers, glossary, cache_days), (links, targets) in groups.items():
        request = Request(text, drafts.source_language, frozenset(targets), providers, glossary, cache_days)
        done = ctx.translator.translate(request)
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
        if translation.status == TRANSLATED and ctx.config.known_link(post.link_id).policy.show_original:
            changes.update(original=post.text, original_language=translation.source,
                           translated_by=DISPLAY_NAMES.get(translation.provider, translation.provider))
        elif translation.status == FAILED:
            changes["notes"] = (not_translated_note(post.language, translation.source),) + post.notes
        posts.append(replace(post, **changes))
    return posts





def tagged(posts: list[OutboundPost], person: str) -> list[OutboundPost]:
    """``posts`` with those that name nobody yet tagged as the data of ``person`` (a
    person key), written now: the one reference by which the outbox refuses them after
    the member's erasure, erasure finds them, and the dead letters file them."""
    now = time.time()
    return [post if post.author else replace(post, author=person, written_at=post.written_at or now)
            for post in posts]


def send_notices(redis, keys: Keys, notices: list[OutboundPost], author: str | None = None) -> None:
    """Queue the bridge's own notices for their platforms' adapters. ``author``: the member
    ("telegram:5001") they are about: each notice not tagged yet carries their person key,
    so that it is erased with the rest of theirs (also once parked in the dead letters)."""
    if author and notices:
        notices = tagged(notices, persons.person(redis, keys, author))
    outbox.queue(redis, keys, notices)


def publish(redis, keys: Keys, event: PlatformEvent, posts: list[OutboundPost],
            ingress_id: str | None = None) -> bool:
    """Append each post to its destination platform's outbox and retire the
    ingress entry, atomically. False when this event was already published."""
    return publish_posts(redis, keys, event.source.chat.key, event.seq, posts, ingress_id)


def publish_posts(redis, keys: Keys, chat_key: str, seq: int, posts: list[OutboundPost],
                  ingress_id: str | None = None) -> bool:
    """:func:`publish` by the source chat and position (the translation stage has no event)."""
    return outbox.publish(redis, keys, chat_key, seq, posts, ingress_id)

