"""The bridge's own notices (answers to commands, consent explanations, held
messages shown to moderators), as posts for the outbox. Plain functions."""

from __future__ import annotations

from dataclasses import replace

from core import phrases
from core.descriptions import describe
from core.models import Attachment, ChatRef, Command, EventKind, MessageRef, OutboundPost, Shared

SYSTEM_LINK = "twinbridge"  # notices belong to no link
NOTICE_RETENTION_DAYS = 1  # a notice is in flight only; its delivery marker is all that stays

_NO_PRIVATE = {
    "telegram": "I cannot write to you privately yet: open a private chat with me, say /start, "
    "then say /{command} again.",
    "discord": "I cannot send you a direct message: allow direct messages from this server's members "
    "(Privacy Settings), then say /{command} again.",
}


def _post(
    destination: ChatRef,
    source: MessageRef,
    text: str,
    *,
    private_to: str = "",
    fallback: str = "",
    buttons: tuple[tuple[str, str], ...] = (),
    link_id: str = SYSTEM_LINK,
    retention_days: int = NOTICE_RETENTION_DAYS,
) -> OutboundPost:
    return OutboundPost(
        kind=EventKind.NOTICE,
        link_id=link_id,
        destination=destination,
        source=source,
        sender="",
        community="",
        text=text,
        private_to=private_to,
        fallback=fallback,
        buttons=buttons,
        retention_days=retention_days,
    )


def _source(command: Command) -> MessageRef:
    return MessageRef(command.platform, command.chat_id, command.message_id)


def answer(command: Command, text: str) -> OutboundPost:
    """An answer in the chat where the command was said (public there)."""
    return _post(command.chat, _source(command), text)


def tell_privately(command: Command, text: str, *, fallback: str | None = None) -> OutboundPost:
    """An answer for the member alone; where the platform will not let the bot
    write to them privately, ``fallback`` (never private data) is said in the
    chat instead, by default how to open a private chat."""
    if command.private:
        return _post(command.chat, _source(command), text)
    if fallback is None:
        fallback = _NO_PRIVATE.get(command.platform, _NO_PRIVATE["telegram"]).format(command=command.name)
    return _post(command.chat, _source(command), text, private_to=command.user.id, fallback=fallback)


def consent_explanation(
    source: MessageRef, user_id: str, link_names: str, community: str, language: str, retention_days: int
) -> OutboundPost:
    """Told once, in the member's language, to a member whose messages do not cross
    because they have not consented."""
    text, fallback = phrases.consent_explanation(language, community, link_names)
    return _post(source.chat, source, text, private_to=user_id, fallback=fallback, retention_days=retention_days)


def held_for_moderator(
    moderator: str,
    hold_id: str,
    link_id: str,
    shown_as: str,
    text: str,
    attachments: tuple[Attachment, ...],
    retention_days: int,
    source: MessageRef | None = None,
    shared: tuple[Shared, ...] = (),
) -> OutboundPost | None:
    """The held message, privately to one moderator ("telegram:111"), with buttons. Its
    attachments are the preview: listed by kind and name, and carried by the notice for the
    moderator's platform to show (fetched from ``source``, the held message, as a relayed
    post's are from its original). ``shared``: its locations, venues, contacts… as the link's
    policy lets them cross (withheld where it redacts postcodes or phone numbers), one line
    each as the relayed copy shows them."""
    platform, _, user_id = moderator.partition(":")
    if not user_id:
        return None
    body = [f'Held for approval in link "{link_id}" — ID {hold_id}', f"From: {shown_as}", "", text or "(no text)"]
    sticker_image = any(a.kind == "sticker" for a in attachments)
    body += [describe(item, "en") for item in shared if not (item.kind == "sticker" and sticker_image)]
    if attachments:
        body += ["", f"Attachments ({len(attachments)}):"]
        body += [f"• {a.kind}" + (f": {a.file_name}" if a.file_name else "") for a in attachments]
    body += [
        "",
        f"Approve or reject (or say /approve {hold_id} or /reject {hold_id}). "
        f"Undecided, it expires in {retention_days} days.",
    ]
    private_chat = ChatRef(platform, user_id)
    notice = _post(
        private_chat,
        MessageRef(platform, user_id, f"held-{hold_id}"),
        "\n".join(body),
        private_to=user_id,
        buttons=(("Approve", f"approve:{hold_id}"), ("Reject", f"reject:{hold_id}")),
        link_id=link_id,
        retention_days=retention_days,
    )
    if attachments and source is not None:
        # The files are fetched by the adapter of the platform they were posted on (bridge/media).
        notice = replace(notice, source=source, attachments=attachments)
    return notice
