"""What each member and moderator command does (called by the thin task).

Each function takes the command and returns the notices to send; the Redis
writes (consent, held items, erasure) are in :mod:`.rights` and
:mod:`.holds`. Answers that concern only the member go to them privately.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

from core.links import LinksConfig
from core.models import Command, OutboundPost
from core.privacy_notice import privacy_notice
from core.storage import link_control

from . import announce_commands, console_signin, deletes, holds, link_commands, rights, rsvp
from .drafts import Outcome
from .notices import answer, tell_privately
from .pipeline import Context, moderated
from .records import after_data


def handle(command: Command, ctx: Context, redis, keys) -> list[OutboundPost]:
    handler = {
        "start": _start,
        "privacy": _privacy,
        "consent": _consent,
        "mydata": _mydata,
        "forgetme": _forgetme,
        "approve": _decide,
        "reject": _decide,
        "rsvp": _rsvp,
        "delete": _delete,
        "announce": _organisers(announce_commands.announce),
        "announcements": _organisers(announce_commands.announcements),
        "status": _organisers(link_commands.status),
        "pause": _organisers(link_commands.pause),
        "resume": _organisers(link_commands.resume),
        "console": _console,
    }.get(command.name)
    return handler(command, ctx, redis, keys) if handler else []


def _organisers(handler):
    """An organiser's command (workers/link_commands.py, workers/announce_commands.py)
    as a handler of this table: they need the configuration, not the pipeline's context."""

    def handle_(command: Command, ctx: Context, redis, keys) -> list[OutboundPost]:
        return handler(command, ctx.config, redis, keys)

    return handle_


def _console(command: Command, ctx: Context, redis, keys) -> list[OutboundPost]:
    return console_signin.handle(command, ctx.config, redis, keys, ctx.console_url)


def _memberships(command: Command, config: LinksConfig):
    return [] if command.private else config.memberships(command.chat)


def _start(command: Command, ctx: Context, redis, keys) -> list[OutboundPost]:
    if not command.private:
        return []
    return [
        answer(
            command,
            "Hello! I am the twinbridge bot. Moderators receive messages held for approval "
            "here; /mydata and /forgetme work here too. In a linked group, /privacy says what "
            "is shared with the twin communities.",
        )
    ]


def _privacy(command: Command, ctx: Context, redis, keys) -> list[OutboundPost]:
    memberships = _memberships(command, ctx.config)
    if not memberships:
        return [
            answer(
                command, "Say /privacy in a linked group or channel to read what it shares, with whom and for how long."
            )
        ]
    return [answer(command, privacy_notice(ctx.config, m.link, m.community.id)) for m in memberships]


def _consent(command: Command, ctx: Context, redis, keys) -> list[OutboundPost]:
    memberships = _memberships(command, ctx.config)
    if not memberships:
        return [answer(command, "Say /consent in the linked group whose messages you want to share.")]
    asking = [m for m in memberships if m.link.policy.consent == "opt_in"]
    if not asking:
        return [
            tell_privately(
                command,
                "This chat's links do not ask for consent: your messages already cross (/privacy says how).",
                fallback="",
            )
        ]
    names = ", ".join(
        dict.fromkeys(ctx.config.communities[c].name for m in asking for c in m.link.communities if c != m.community.id)
    )
    if command.args.lower().startswith("withdraw"):
        for m in asking:
            rights.withdraw_consent(redis, keys, m.link.id, command.user_ref, m.link.policy.retention_days)
        text = f"Done: from now on your messages here are no longer shared with {names}."
    else:
        for m in asking:
            rights.give_consent(redis, keys, m.link.id, command.user_ref, m.link.policy.retention_days)
        text = f"Thank you! From now on your messages here are shared with {names}. Say /consent withdraw to stop."
    return [tell_privately(command, text, fallback=text)]


def _mydata(command: Command, ctx: Context, redis, keys) -> list[OutboundPost]:
    data = rights.export_user(redis, keys, ctx.config, command.user_ref, ctx.pseudonym_key)
    answer_ = tell_privately(
        command, "What twinbridge stores about you:\n" + json.dumps(data, indent=1, ensure_ascii=False)
    )
    # It shows their data: tagged with them, so that their erasure deletes it too.
    return [replace(answer_, author=rights.person(redis, keys, command.user_ref), written_at=time.time())]


def _forgetme(command: Command, ctx: Context, redis, keys) -> list[OutboundPost]:
    done = rights.erase_user(redis, keys, ctx.config, command.user_ref)
    if not any(done.values()):
        return [
            tell_privately(
                command,
                "twinbridge had nothing stored about you: there was nothing to erase.",
                fallback="twinbridge had nothing stored about you: there was nothing to erase.",
            )
        ]
    text = (
        f"Done: your data is erased. {done['copies_to_delete']} relayed cop(ies) of your messages are being "
        "deleted where the platform still allows it (Telegram: 48 hours); your consent, messages waiting "
        "for a moderator, your answers to event notices and your name in the privacy log are gone."
    )
    return [tell_privately(command, text, fallback="Done: what twinbridge kept about you is erased.")]


def _delete(command: Command, ctx: Context, redis, keys) -> list[OutboundPost]:
    return deletes.handle(command, ctx.config, redis, keys)


def _rsvp(command: Command, ctx: Context, redis, keys) -> list[OutboundPost]:
    return rsvp.handle(command, ctx.config, redis, keys)


def _decide(command: Command, ctx: Context, redis, keys) -> list[OutboundPost]:
    typed = command.args.split()[0][:40] if command.args.split() else ""
    held = holds.load(redis, keys, typed) if typed else None
    link = ctx.config.link(held.link_id) if held is not None else None
    if held is None or link is None or command.user_ref not in link.policy.moderators:
        # The same answer for an ID that does not exist and one of a link this member does
        # not moderate: an answer must not tell which IDs exist.
        return [
            tell_privately(
                command,
                f"There is no message waiting for you with ID {typed or '(none given)'}: "
                "it was decided already, it expired, or it is not yours to decide.",
                fallback="",
            )
        ]
    shown = ctx.shown(held.event.author, held.event.source.platform, link) or "a member"
    retention = link.policy.retention_days
    author = rights.person(redis, keys, held.author)

    def naming_them(text: str) -> list[OutboundPost]:
        # It names the member (by pseudonym or name): tagged with them, for their erasure.
        return [replace(tell_privately(command, text, fallback=""), author=author, written_at=held.event.timestamp)]

    if command.name == "approve" and link_control.paused(redis, keys, link.id) is not None:
        # An organiser paused the link: nothing crosses it now. The message keeps waiting.
        return [
            tell_privately(
                command,
                f"Link {link.id} is paused by an organiser: message {held.hold_id} keeps waiting. "
                f"Approve it after /resume (or reject it now).",
                fallback="",
            )
        ]
    if (
        command.name == "approve"
        and link.policy.consent == "opt_in"
        and not rights.has_consent(redis, keys, link.id, held.author)
    ):
        # Consent withdrawn (or the member erased) while the message waited: it does not cross.
        if holds.settle(redis, keys, held, "dropped.no_consent", command.user_ref, retention):
            return naming_them(
                f"Message {held.hold_id} from {shown} was not relayed: its author has withdrawn their consent since."
            )
    elif command.name == "approve":
        outcome = Outcome()
        drafts = moderated(held.event, ctx, outcome, approved_link=link.id)
        drafts = replace(
            drafts, posts=tuple(replace(post, author=author, written_at=held.event.timestamp) for post in drafts.posts)
        )
        # Its policy decisions were recorded when it was held: only what crossed is noted now.
        after = after_data(
            held.event.source,
            held.event.timestamp,
            held.author,
            author,
            Outcome(crossed=outcome.crossed),
            approved=True,
        )
        if holds.release(redis, keys, held, drafts, after, command.user_ref, retention):
            return naming_them(f"Message {held.hold_id} from {shown} approved.")
    elif holds.settle(redis, keys, held, "rejected", command.user_ref, retention):
        return naming_them(f"Message {held.hold_id} from {shown} rejected.")
    return [tell_privately(command, f"Message {held.hold_id} was just decided by another moderator.", fallback="")]
