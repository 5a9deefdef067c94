"""Sending an organiser's announcement on Telegram (issue 14): the post's messages
(render.render_announcement; the RSVP keyboard on the last one), then for an event notice
its .ics as a document replying to the first, then the pin when the organiser asked.

The copies recorded for the post are the messages and, last, the document, so an edit
(new RSVP totals) finds the text it changes and a delete or cancellation takes the
calendar file too. A pin the chat refuses (the bot is no admin with "Pin messages") does
not fail the delivery: it is counted and logged, without text.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import EditMessageText, PinChatMessage, SendDocument, SendMessage
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)

from ..adapter import BeforePost, DeliveryError
from core.announcements import AnnouncementView
from core.calendar import ics_filename, ics_for
from core.models import OutboundPost
from .errors import NO_PREVIEW, delivery_error, says, target_chat
from .render import announcement_keyboard, render_announcement

if TYPE_CHECKING:
    from .sender import TelegramSender

log = logging.getLogger(__name__)


def view_of(post: OutboundPost) -> AnnouncementView:
    return AnnouncementView.from_dict(post.announcement or {})


def carries_calendar(view: AnnouncementView) -> bool:
    """An event notice carries its .ics (its reminders do not: the entry is there already)."""
    return view.event is not None and view.kind == "announcement"


def keyboard(view: AnnouncementView) -> InlineKeyboardMarkup | None:
    buttons = announcement_keyboard(view)
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=data) for label, data in buttons]]
    )


class TelegramAnnouncements:
    def __init__(self, sender: TelegramSender):
        self._sender = sender

    async def send(self, post: OutboundPost, before_post: BeforePost | None) -> list[str]:
        chat_id = target_chat(post)
        view = view_of(post)
        parts = render_announcement(post)
        markup = keyboard(view)
        if before_post is not None:
            await before_post(parts)
        ids: list[str] = []
        try:
            for index, part in enumerate(parts):
                method = SendMessage(
                    chat_id=chat_id,
                    text=part,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                    reply_markup=markup if index == len(parts) - 1 else None,
                )
                try:
                    message: Message = await self._sender._call(method, "sendMessage")
                except TelegramBadRequest as exc:
                    raise delivery_error(exc, "sendMessage") from exc
                ids.append(str(message.message_id))
            if carries_calendar(view):
                document = await self._send_calendar(chat_id, post, view, reply_to=int(ids[0]))
                if document is not None:
                    ids.append(document)
        except DeliveryError:
            # Retried whole: take back what is shown so the retry shows it once.
            if ids:
                await self._sender.delete_quietly(chat_id, ids)
            raise
        if view.pin:  # the notice is shown now: a pin that fails must not fail the post (shown twice)
            try:
                await self._pin(chat_id, int(ids[0]))
            except Exception as exc:  # noqa: BLE001 - the error's type is logged, no text
                log.warning("pinning an announcement in telegram chat %s failed (%s)", chat_id, type(exc).__name__)
                await self._sender.count("telegram.announcement.pin_failed")
        log.debug("sent an announcement in %d message(s) to telegram chat %s", len(ids), chat_id)
        return ids

    async def _send_calendar(
        self, chat_id: int | str, post: OutboundPost, view: AnnouncementView, *, reply_to: int
    ) -> str | None:
        """The .ics as a document replying to the first message; None when the chat refuses
        documents (the notice stands without it, counted); other failures retry the post."""

        assert view.event is not None
        data = ics_for(view, description=post.text)
        method = SendDocument(
            chat_id=chat_id,
            document=BufferedInputFile(data, filename=ics_filename(view.event.title)),
            reply_parameters=ReplyParameters(message_id=reply_to, allow_sending_without_reply=True),
        )
        try:
            message: Message = await self._sender._call(method, "sendDocument")
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            error = delivery_error(exc, "sendDocument")
            log.warning("announcement without its calendar file in telegram chat %s: %s", chat_id, error.reason)
            await self._sender.count("telegram.announcement.calendar_refused")
            return None
        return str(message.message_id)

    async def _pin(self, chat_id: int | str, message_id: int) -> None:

        try:
            await self._sender._call(
                PinChatMessage(chat_id=chat_id, message_id=message_id, disable_notification=False), "pinChatMessage"
            )
            await self._sender.count("telegram.announcement.pinned")
        except (TelegramBadRequest, TelegramForbiddenError, DeliveryError) as exc:
            reason = exc.reason if isinstance(exc, DeliveryError) else delivery_error(exc, "pinChatMessage").reason
            log.warning("could not pin an announcement in telegram chat %s: %s", chat_id, reason)
            await self._sender.count("telegram.announcement.pin_refused")

    async def edit(self, post: OutboundPost, message_ids: list[str]) -> list[str]:
        """New text (the RSVP totals changed) in the messages, the keyboard kept on the
        last; the document, last of the copies, stays as it is. (Where a chat refused the
        document, a notice of several messages has no document among its copies and its
        last message is left as it was: a chat that takes no files rarely gets that long a
        notice.)"""

        chat_id = target_chat(post)
        view = view_of(post)
        parts = render_announcement(post)
        markup = keyboard(view)
        document: list[str] = []
        texts = list(message_ids)
        if carries_calendar(view) and len(texts) >= 2:
            document = [texts.pop()]
        showing: list[str] = []
        for index, (part, message_id) in enumerate(zip(parts, texts, strict=False)):
            last = index == len(parts) - 1
            method = EditMessageText(
                chat_id=chat_id,
                message_id=int(message_id),
                text=part,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=markup if last else None,
            )
            try:
                await self._sender._call(method, "editMessageText")
            except TelegramBadRequest as exc:
                if not says(exc, "message is not modified"):
                    raise delivery_error(exc, "editMessageText") from exc
            showing.append(message_id)
        for index in range(len(texts), len(parts)):  # the new text needs more messages
            last = index == len(parts) - 1
            method = SendMessage(
                chat_id=chat_id,
                text=parts[index],
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=markup if last else None,
            )
            try:
                message: Message = await self._sender._call(method, "sendMessage")
            except TelegramBadRequest as exc:
                raise delivery_error(exc, "sendMessage") from exc
            showing.append(str(message.message_id))
        surplus = texts[len(parts) :]
        if surplus:
            await self._sender._delete_ids(chat_id, surplus)
        return showing + document
