"""Posting, editing and deleting relayed copies on Telegram (the Sender protocol).

Errors become :class:`~bridge.adapter.DeliveryError` so the outbox consumer
can decide: wait ``retry_after`` on flood control, give up on what can never
work (bot removed, chat gone, request refused), retry the rest. Reasons name
the method and Telegram's error class, never the message text.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
)
from aiogram.methods import DeleteMessage, DeleteMessages, EditMessageText, SendMessage, TelegramMethod
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters

from ..adapter import BeforePost, DeliveryError
from ..media.source import MediaSource
from core.intents import DeliveryIntent
from core.links import LinksConfig
from core.storage.keys import Keys
from core.thread_heads import without_head
from core.models import ChatRef, OutboundPost
from core.stats import Stats
from core.storage.copy_files import CopyFiles, Layout, removed_files
from .announcing import TelegramAnnouncements
from .errors import NO_PREVIEW, delivery_error, says as _says, target_chat as _chat_id
from .media_sending import MediaSending, sendable
from .render import TEXT_LIMIT, render_parts, split_text
from .topics import CURRENT_TOPIC, TelegramTopics, TopicRefused, topic_refusal

log = logging.getLogger(__name__)

DELETE_BATCH = 100  # message ids one deleteMessages call takes
REQUEST_TIMEOUT = 20  # seconds; a hung request must not hold the outbox for aiogram's 60 s
# Under the files a moderator's notice carries (the notice above says what they belong to).
PREVIEW_CAPTION = "Attached to the held message above."


class TelegramSender:
    platform = "telegram"

    def __init__(
        self,
        bot: Bot,
        *,
        request_timeout: int = REQUEST_TIMEOUT,
        stats: Stats | None = None,
        media: MediaSource | None = None,
        copy_files: CopyFiles | None = None,
        redis=None,
        keys: Keys | None = None,
        config: LinksConfig | None = None,
    ):
        self._bot = bot
        # Discord threads' twin forum topics (topics.py); without Redis and the links, none.
        self._topics = TelegramTopics(self, redis, keys, config) if redis is not None and keys and config else None
        self._timeout = request_timeout
        self._stats = stats
        self._announcements = TelegramAnnouncements(self)
        # Files of other platforms' members, fetched through their adapters (None: shown as markers).
        self._media = media
        self._files = MediaSending(self, media) if media is not None else None
        # Which copy shows which file of a Discord member's message (an edit may take files away).
        self._copy_files = copy_files

    async def count(self, name: str) -> None:
        """Count what went differently than asked without failing the post (a pin refused)."""
        if self._stats is not None:
            self._stats.incr_soon(name)

    async def call(self, method: TelegramMethod[Any], action: str, *, timeout: int | None = None) -> Any:
        """One Bot API call; a bad request is raised as is (the caller decides what it
        means), every other failure as a DeliveryError."""
        return await self._call(method, action, timeout)

    async def _call(self, method: TelegramMethod[Any], action: str, timeout: int | None = None) -> Any:
        topic = CURRENT_TOPIC.get()
        if topic is not None and getattr(method, "message_thread_id", 0) is None:
            method = method.model_copy(update={"message_thread_id": topic})  # a send into the post's topic
        try:
            return await self._bot(method, request_timeout=timeout or self._timeout)
        except TelegramBadRequest as exc:
            if topic is not None and (why := topic_refusal(exc)) is not None:
                raise TopicRefused(why) from exc
            raise  # callers decide which bad requests mean success
        except (TimeoutError, AiogramError, aiohttp.ClientError) as exc:
            raise delivery_error(exc, action) from exc

    async def send_text(self, chat_id: int | str, text: str, reply_to: str | None) -> str:
        reply = None
        if reply_to is not None and str(reply_to).isdigit():
            reply = ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True)
        method = SendMessage(
            chat_id=chat_id,
            text=text,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_parameters=reply,
        )
        try:
            message: Message = await self._call(method, "sendMessage")
        except TelegramBadRequest as exc:
            raise delivery_error(exc, "sendMessage") from exc
        return str(message.message_id)

    async def send(
        self, post: OutboundPost, reply_to: str | None, *, before_post: BeforePost | None = None
    ) -> list[str]:
        if post.announcement:
            return await self._announcements.send(post, before_post)
        if self._topics is None or not post.thread:
            return await self._send(post, reply_to, before_post)
        for _ in range(3):  # a closed topic reopened, a deleted one made anew: then the General topic
            placement = await self._topics.placement(post)
            if placement.topic is None:
                return await self._send(without_head(post) if placement.twinned else post, reply_to, before_post)
            token = CURRENT_TOPIC.set(placement.topic)
            try:
                return await self._send(without_head(post), reply_to, before_post)
            except TopicRefused as refused:
                if not await self._topics.refused(post, placement, refused.why):
                    break
            finally:
                CURRENT_TOPIC.reset(token)
        await self.count("telegram.topics.fallback")
        return await self._send(post, reply_to, before_post)

    async def _send(self, post: OutboundPost, reply_to: str | None, before_post: BeforePost | None) -> list[str]:
        chat_id = _chat_id(post)
        if self._files is not None and sendable(post, self._media):
            return await self._files.send(post, chat_id, reply_to, before_post)
        ids: list[str] = []
        parts = render_parts(post)
        if before_post is not None:
            await before_post(parts)
        try:
            for index, part in enumerate(parts):
                ids.append(await self.send_text(chat_id, part, reply_to if index == 0 else None))
        except DeliveryError:
            # The whole post is retried; take back the parts already shown so the
            # retry does not show them twice.
            if ids:
                await self.delete_quietly(chat_id, ids)
            raise
        log.debug("sent %d part(s) to telegram chat %s", len(ids), chat_id)
        return ids

    async def find_sent(self, intent: DeliveryIntent, post: OutboundPost | None = None) -> None:
        """A bot cannot read a chat's history on Telegram: whether a post in flight when
        the adapter died arrived cannot be told, so it is sent again (docs/reliability.md)."""
        return None

    async def edit(self, post: OutboundPost, message_ids: list[str]) -> list[str]:
        if post.announcement:
            return await self._announcements.edit(post, message_ids)
        if self._topics is None or not post.thread:
            return await self._edit(post, message_ids)
        placement = await self._topics.placement(post, create=False)
        if not placement.twinned:
            return await self._edit(post, message_ids)
        # The copies are in the twin topic: without the "🧵 name" line, and a part sent anew goes there too.
        token = CURRENT_TOPIC.set(placement.topic)
        try:
            return await self._edit(without_head(post), message_ids)
        except TopicRefused:
            CURRENT_TOPIC.set(None)
            await self.count("telegram.topics.fallback")
            return await self._edit(without_head(post), message_ids)
        finally:
            CURRENT_TOPIC.reset(token)

    async def _edit(self, post: OutboundPost, message_ids: list[str]) -> list[str]:
        chat_id = _chat_id(post)
        if self._copy_files is not None and post.source.platform == "discord":
            message_ids = await self._remove_files(post, chat_id, message_ids)
        if self._files is not None and sendable(post, self._media):
            return await self._files.edit(post, chat_id, message_ids)
        # No file left (or none sent): the text alone, in text messages (sent anew when the
        # caption of a file taken away carried it).
        return await self.edit_texts(chat_id, render_parts(post), message_ids)

    async def record_files(self, post: OutboundPost, layout: Layout) -> None:
        """Which copy shows which file of a Discord member's message (one file per message
        on Telegram), for an edit that takes files away. Best effort: the post is out."""
        if self._copy_files is not None and not await self._copy_files.record_post(post, layout):
            await self.count("telegram.media.layout_unrecorded")

    async def _remove_files(self, post: OutboundPost, chat_id: int | str, message_ids: list[str]) -> list[str]:
        """The files the member took off their Discord message go from the copies: each
        message that showed one (an album's part, or a single file) is deleted, as a bot
        cannot take a file off a message; the caption moves to the first file left, or the
        text comes as a message of its own (the edit after this). The ids still showing."""
        assert self._copy_files is not None
        layout = await self._copy_files.layout(post.link_id, post.source, post.destination)
        removed = removed_files(layout, {a.file_id for a in post.attachments})
        if not removed:
            return message_ids
        showing: list[str] = []
        for message_id in message_ids:
            shown = layout.get(message_id) or []
            if not shown or not set(shown) <= removed:
                showing.append(message_id)
                continue
            try:
                await self._call(DeleteMessage(chat_id=chat_id, message_id=int(message_id)), "deleteMessage")
            except TelegramBadRequest as exc:
                if not _says(exc, "message to delete not found"):
                    # E.g. past Telegram's 48 hours: the file stays, the rest of the edit goes on.
                    showing.append(message_id)
                    await self.count("telegram.media.remove_refused")
                    continue
            layout.pop(message_id, None)
            await self.count("telegram.media.removed")
        layout = {m: files for m, files in layout.items() if m in showing}
        await self._copy_files.record(post.link_id, post.source, post.destination, layout, post.retention_days)
        return showing

    async def edit_texts(self, chat_id: int | str, parts: list[str], message_ids: list[str]) -> list[str]:
        """Show ``parts`` in the text messages ``message_ids``: edited in place, the
        missing ones sent, the surplus deleted; the ids now showing them. A message that
        has no text (a file) is left as it is and keeps its place."""
        showing: list[str] = []
        remaining = list(parts)
        texts: list[str] = []
        for message_id in message_ids:
            if not remaining:
                texts.append(message_id)  # surplus, deleted below
                continue
            method = EditMessageText(
                chat_id=chat_id,
                message_id=int(message_id),
                text=remaining[0],
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
            )
            try:
                await self._call(method, "editMessageText")
            except TelegramBadRequest as exc:
                if _says(exc, "there is no text in the message to edit"):
                    showing.append(message_id)  # a file without a caption (a video note)
                    continue
                if not _says(exc, "message is not modified"):
                    raise delivery_error(exc, "editMessageText") from exc
            remaining.pop(0)
            showing.append(message_id)
        # The new text needs more or fewer messages than the old one did.
        for part in remaining:
            showing.append(await self.send_text(chat_id, part, None))
        if texts:
            await self._delete_ids(chat_id, texts)
        return showing

    async def delete(self, post: OutboundPost, message_ids: list[str]) -> None:
        await self._delete_ids(_chat_id(post), message_ids)

    async def _delete_ids(self, chat_id: int | str, message_ids: list[str]) -> None:
        refused: DeliveryError | None = None
        for message_id in message_ids:
            try:
                await self._call(DeleteMessage(chat_id=chat_id, message_id=int(message_id)), "deleteMessage")
            except TelegramBadRequest as exc:
                if _says(exc, "message to delete not found"):
                    continue  # already gone: that is what we wanted
                # E.g. older than 48 h; still try the other parts.
                refused = delivery_error(exc, "deleteMessage")
        if refused is not None:
            raise refused

    async def delete_many(self, destination: ChatRef, message_ids: list[str]) -> None:
        """Delete up to DELETE_BATCH messages of one chat in one request (deleteMessages;
        ids Telegram cannot find are skipped, so a copy already gone is no error). The
        outbox gathers consecutive deletes of a lane into such batches (erasure)."""
        chat_id = int(destination.chat_id) if destination.chat_id.lstrip("-").isdigit() else destination.chat_id
        method = DeleteMessages(chat_id=chat_id, message_ids=[int(m) for m in message_ids])
        try:
            await self._call(method, "deleteMessages")
        except TelegramBadRequest as exc:
            raise delivery_error(exc, "deleteMessages") from exc

    async def delete_quietly(self, chat_id: int | str, message_ids: list[str]) -> None:
        try:
            await self._delete_ids(chat_id, message_ids)
        except DeliveryError as exc:
            log.warning("could not take back a partly sent post: %s", exc.reason)

    # -- notices ---------------------------------------------------------------------
    async def notify(self, post: OutboundPost) -> list[str]:
        """A notice, as plain text: privately if possible (a bot may write to a member
        only after they opened a private chat with it), else the fallback in the chat."""
        if post.private_to:
            try:
                ids = await self._send_plain(int(post.private_to), post.text, post.buttons, None)
            except DeliveryError as exc:
                if exc.retry_after is not None or not exc.permanent:
                    raise
                if not post.fallback or post.destination.chat_id == post.private_to:
                    raise DeliveryError(
                        "telegram: cannot write to the member privately "
                        "(they have not started a private chat with the bot)",
                        permanent=True,
                    ) from exc
            else:
                return ids + await self._preview(post, int(post.private_to), ids)
            return await self._send_plain(_chat_id(post), post.fallback, (), post.source.message_id)
        return await self._send_plain(_chat_id(post), post.text, post.buttons, _reply_in_chat(post))

    async def _preview(self, post: OutboundPost, chat_id: int, notice_ids: list[str]) -> list[str]:
        """The files a private notice carries (a held message's, for its moderator under
        `media: approve`), sent under it, fetched from the platform they were posted on. The
        notice is out already: a failure here is counted, not retried (that would repeat it)."""
        if self._files is None or not sendable(post, self._media):
            return []
        preview = replace(
            post, text=PREVIEW_CAPTION, formatting=(), sender="", community="", notes=(), original="", buttons=()
        )
        try:
            return await self._files.send(preview, chat_id, notice_ids[-1] if notice_ids else None, None)
        except DeliveryError:
            await self.count("telegram.media.preview_failed")
            return []

    async def _send_plain(self, chat_id: int | str, text: str, buttons, reply_to: str | None) -> list[str]:
        markup = None
        if buttons:
            markup = InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=data) for label, data in buttons]]
            )
        chunks = split_text(text.strip() or "…", TEXT_LIMIT, TEXT_LIMIT)
        ids = []
        for index, chunk in enumerate(chunks):
            reply = None
            if index == 0 and reply_to and str(reply_to).isdigit():
                reply = ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True)
            method = SendMessage(
                chat_id=chat_id,
                text=chunk,
                link_preview_options=NO_PREVIEW,
                reply_parameters=reply,
                reply_markup=markup if index == len(chunks) - 1 else None,
            )
            try:
                message: Message = await self._call(method, "sendMessage")
            except TelegramBadRequest as exc:
                raise delivery_error(exc, "sendMessage") from exc
            ids.append(str(message.message_id))
        return ids


def _reply_in_chat(post: OutboundPost) -> str | None:
    """A notice in a chat answers the message it is about when that is in the chat (a
    file that did not cross: the member's message), else stands alone."""
    if post.reply_to is not None and post.reply_to.chat == post.destination:
        return post.reply_to.message_id
    return None
