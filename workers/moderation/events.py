"""What the moderation stage does with one event (plain functions; the task is in
workers/stages/moderation.py): everything that needs the unredacted text or the
policy's secrets — erasure's refusal, consent, each link's moderation, holds and
their notices, how the sender is shown — then the moderated drafts handed to the
translation stage, or, when nothing is to be translated, published here."""

from __future__ import annotations

from dataclasses import dataclass, replace

from core import persons, stats
from core.storage import link_control, members, ordering
from core.storage.keys import Keys
from core.storage.reactions import forget_sync as forget_reactions
from core.storage.writes import replies_of
from core.models import EventKind, PlatformEvent

from .. import holds, rights
from ..drafts import Drafts, Outcome
from ..notices import consent_explanation
from ..pipeline import Context, moderated
from ..publishing import publish, publish_and_record, send_notices
from ..records import after_data


@dataclass(frozen=True)
class HandOver:
    """What the translation stage receives for one event: its drafts and its records."""

    drafts: Drafts
    after: dict


@dataclass(frozen=True)
class FirstReads:
    """What moderating an event reads before anything else (:func:`first_reads`)."""

    pending_command: int  # a command of its chat written before it and not yet handled (0: none)
    erased_mark: object  # its author's tombstone, or None
    paused: frozenset[str]  # the links of its chat an organiser paused


def first_reads(event: PlatformEvent, ctx: Context, redis, keys: Keys) -> FirstReads:
    """The command it waits for, its author's tombstone and the paused links: one round
    trip instead of three."""
    person = rights.person(redis, keys, f"{event.source.platform}:{event.author.id}")
    link_ids = list(dict.fromkeys(m.link.id for m in ctx.config.memberships(event.source.chat)))

    def reads(pipe) -> None:
        if event.seq:
            ordering.pending_command_before_into(pipe, keys, event.source.chat.key, event.seq)
        persons.erased_mark_into(pipe, keys, person)
        link_control.paused_links_into(pipe, keys, link_ids)

    replies = replies_of(redis, reads)
    pending = int(replies.pop(0) or 0) if event.seq else 0
    mark = replies.pop(0)
    paused = link_control.pauses_in_force(link_ids, replies.pop(0)) if link_ids else {}
    return FirstReads(pending, mark, frozenset(paused))


def moderate_event(
    event: PlatformEvent, ingress_id: str | None, ctx: Context, redis, keys: Keys, reads: FirstReads | None = None
) -> HandOver | None:
    """The event moderated: a :class:`HandOver` for the translation stage, or None when
    it was published (or retired) here; :class:`TakeBack` when it was published here
    while its author was being erased. ``reads``: :func:`first_reads`, if made already."""
    reads = reads if reads is not None else first_reads(event, ctx, redis, keys)
    author = f"{event.source.platform}:{event.author.id}"
    person = rights.person(redis, keys, author)
    if persons.erased_before(reads.erased_mark, event.timestamp):
        # Written before its author's erasure, still on its way: retire it unpublished.
        publish(redis, keys, event, [], ingress_id)
        stats.count(redis, keys, "worker.erasure.refused")
        return None
    asking = [m.link for m in ctx.config.memberships(event.source.chat) if m.link.policy.consent == "opt_in"]
    without_consent = frozenset(link.id for link in asking if not rights.has_consent(redis, keys, link.id, author))
    outcome = Outcome()
    # Organisers' /pause: nothing crosses a paused link (dropped and counted, not queued).
    drafts = moderated(event, ctx, outcome, without_consent=without_consent, paused=reads.paused)
    drafts = replace(
        drafts, posts=tuple(replace(post, author=person, written_at=event.timestamp) for post in drafts.posts)
    )
    # Before publishing: once the ingress entry is gone, a run that died here would not
    # come back, and a held message or an explanation would be lost. Both are idempotent.
    gate(event, author, outcome, ctx, redis, keys)
    if event.kind == EventKind.DELETE:
        # A deleted original takes the reactions counted on its copies with it (idempotent).
        forget_reactions(redis, keys, event.source, _longest_retention(ctx, event))
    after = after_data(event.source, event.timestamp, author, person, outcome, new=event.kind == EventKind.NEW)
    if drafts.needs_translation:
        return HandOver(drafts, after)
    _published, erased_meanwhile = publish_and_record(
        redis, keys, ctx.config, drafts, list(drafts.posts), ingress_id, after
    )
    if erased_meanwhile:
        raise TakeBack(author)
    return None


def _longest_retention(ctx: Context, event: PlatformEvent) -> int:
    return max((m.link.policy.retention_days for m in ctx.config.memberships(event.source.chat)), default=1)


class TakeBack(Exception):  # a request to the caller rather than an error
    """The event was published while its author was being erased: erase them again."""

    def __init__(self, author: str):
        super().__init__("published while its author was erased")
        self.author = author


def gate(event: PlatformEvent, author: str, outcome: Outcome, ctx: Context, redis, keys: Keys) -> None:
    """Consent explanations (once per member and link) and held messages for the moderators."""
    if not outcome.needs_consent and not outcome.held:
        return  # (also an event of a chat no link joins: nothing routed, nothing gated)
    notices = []
    community = ctx.config.known_community(event.source.chat)
    consent_links = sorted(outcome.needs_consent)
    if consent_links:
        # One round trip: the counter and the "explained already?" marker of every link.
        def marks(pipe) -> None:
            for link_id in consent_links:
                stats.count_into(pipe, keys, "moderation.consent_missing")
                members.note_explained_into(
                    pipe, keys, link_id, author, ctx.config.known_link(link_id).policy.retention_days
                )

        first_time = replies_of(redis, marks)[1::2]  # the SET NX replies
        for link_id, new in zip(consent_links, first_time, strict=True):
            if new:
                link = ctx.config.known_link(link_id)
                names = ", ".join(ctx.config.communities[c].name for c in link.communities if c != community.id)
                notices.append(
                    consent_explanation(
                        event.source,
                        event.author.id,
                        names,
                        community.name,
                        community.language,
                        link.policy.retention_days,
                    )
                )
    for link_id, allowed in outcome.held.items():
        link = ctx.config.known_link(link_id)
        shown = ctx.shown(event.author, event.source.platform, link)
        label = f"{shown} · {community.name}" if shown else community.name
        holds.hold(redis, keys, event, link, allowed, label)  # queues the moderators' notices itself, once
        stats.count(redis, keys, "moderation.held")
    if notices:
        send_notices(redis, keys, notices, author=author)
