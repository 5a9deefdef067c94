"""route → moderate, as plain functions: the moderation stage's logic.

Two stages, each run by its own Celery task on its own queue (workers/stages/):
:func:`moderated` (the moderation worker: the only one that sees the unredacted
text) hands :class:`~workers.drafts.Drafts` to the translation stage
(workers/translation/stage.py), which translates and publishes. Routing decides
which chats see an event; the policy decides how the sender is shown; moderation
applies the rest of each link's policy (redaction, links, profanity, media)
before translation turns the text into each destination's language, once per
language: a translator never sees what a policy removes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.links import Community, LinksConfig
from core.models import ChatRef, EventKind, OutboundPost, PlatformEvent
from core.descriptions import describe
from core.phrases import forwarded_note, media_withheld_note

from .drafts import Drafts, Outcome
from .moderation.stage import moderate, needs_approval
from .privacy import PseudonymBook, shown_forward_origin, shown_sender
from .translation.detection import detect_language
from .translation.service import Translator
from .translation.stage import translated


@dataclass(frozen=True)
class Context:
    """What the pipeline needs besides the event: wired once per worker."""

    config: LinksConfig
    pseudonym_key: str | None = None
    # Only for :func:`plan` (both stages in one call: tests, the demo's preview). No
    # providers: every message between languages goes out untranslated, marked.
    translator: Translator = field(default_factory=lambda: Translator({}))
    # The workers' allocator of unique pseudonyms; without it (no Redis) they are only derived.
    pseudonyms: PseudonymBook | None = None
    # The web console's public base URL (TWINBRIDGE_CONSOLE_URL): /console's links start with it.
    console_url: str = ""

    def shown(self, author, platform: str, link) -> str:
        """How ``author`` is shown in ``link`` (a :class:`~core.links.Link`)."""
        return shown_sender(
            author,
            platform,
            link.policy.sender,
            link.id,
            self.pseudonym_key,
            self.pseudonyms,
            link.policy.retention_days,
        )


def _described(shared, attachments, language: str) -> tuple[str, ...]:
    """A line per Shared item in the destination's language; a sticker whose image
    crosses as an attachment shows its emoji only (a Telegram sticker's), or its name where
    it has no emoji (a Discord sticker's: the words stay if its picture cannot be fetched)."""
    image = any(a.kind == "sticker" for a in attachments)
    return tuple(
        item.emoji if item.kind == "sticker" and image and item.emoji else describe(item, language) for item in shared
    )


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


def plan(
    event: PlatformEvent,
    ctx: Context,
    outcome: Outcome | None = None,
    *,
    without_consent: frozenset[str] = frozenset(),
    approved_link: str | None = None,
) -> list[OutboundPost]:
    """The posts ``event`` turns into, one per destination chat: both stages in one
    call (:func:`moderated` then :func:`translated`). ``outcome`` (optional) collects
    counters, each link's policy decisions and what was gated."""
    outcome = outcome if outcome is not None else Outcome()
    drafts = moderated(event, ctx, outcome, without_consent=without_consent, approved_link=approved_link)
    return translated(drafts, ctx.config, ctx.translator, outcome)


# Policies that show a member's name may show their face too; under any other the avatar
# reveals nothing (a neutral one chosen from the label).
_NAMES_SHOWN = ("full", "first_name")


def avatar_of(event: PlatformEvent, mode: str, destination: ChatRef) -> str:
    """The avatar of a post to ``destination`` (OutboundPost.avatar): a Telegram member's
    profile photo on Discord where ``mode`` shows names, else a neutral one."""
    if destination.platform != "discord":
        return ""
    if mode in _NAMES_SHOWN and event.source.platform == "telegram" and event.author.id.isdigit():
        # A positive id is a user; a negative one a chat speaking (an anonymous admin, a channel).
        return f"telegram:{event.author.id}"
    return "neutral"


def moderated(
    event: PlatformEvent,
    ctx: Context,
    outcome: Outcome | None = None,
    *,
    without_consent: frozenset[str] = frozenset(),
    approved_link: str | None = None,
    paused: frozenset[str] = frozenset(),
) -> Drafts:
    """The moderation stage: route, consent, moderation and holds, and how the sender
    is shown; the posts with each link's moderated text, untranslated.
    ``without_consent``: links whose consent the author has not given (nothing
    crosses them). ``approved_link``: a held event a moderator approved; it goes to
    that link only, without being held again. ``paused``: links an organiser paused
    (nothing crosses them, not even edits and deletes; counted as ``dropped.paused``)."""
    outcome = outcome if outcome is not None else Outcome()
    chat_key = event.source.chat.key
    source_community = ctx.config.community_of(event.source.chat)
    if source_community is None:
        return Drafts(chat_key, event.seq, ())
    routed = [
        (link_id, chat)
        for link_id, chat in route(event, ctx.config)
        if approved_link is None or link_id == approved_link
    ]
    moderated_texts = {}
    for link_id in dict.fromkeys(link_id for link_id, _ in routed):
        link = ctx.config.known_link(link_id)
        if link_id in paused:
            outcome.counts["dropped.paused"] += 1
            continue
        if link_id in without_consent and event.kind != EventKind.DELETE:
            outcome.needs_consent.add(link_id)
            continue
        allowed = moderate(event, link, ctx.config)
        if allowed.decisions:
            outcome.decisions[link_id] = allowed.decisions
            outcome.counts.update({f"moderation.{k}": v for k, v in allowed.decisions.items()})
        if needs_approval(event, link) and link_id != approved_link:
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
        notes = _described(allowed.shared, allowed.attachments, language)
        if allowed.withheld_media:
            notes += (media_withheld_note(language, allowed.withheld_media),)
        if event.forwarded_from is not None:
            notes = (forwarded_note(language, shown_forward_origin(event.forwarded_from, policy.sender)), *notes)
        posts.append(
            OutboundPost(
                kind=event.kind,
                link_id=link_id,
                destination=destination,
                source=event.source,
                sender=ctx.shown(event.author, event.source.platform, link),
                community=source_community.name,
                text=allowed.text,  # only moderated text goes on to the translators
                formatting=allowed.formatting,
                reply_to=event.reply_to,
                attachments=allowed.attachments,
                notes=notes,
                seq=event.seq,
                retention_days=policy.retention_days,
                allow_mentions=policy.mentions == "allow",
                language=language,
                avatar=avatar_of(event, policy.sender, destination),
                thread=event.thread,
            )
        )
    language = ""
    if posts and event.kind != EventKind.DELETE and event.text.strip():
        language = source_language(event, source_community, ctx.config)
    return Drafts(chat_key, event.seq, tuple(posts), language)
