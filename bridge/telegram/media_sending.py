"""Posting a relayed message's files on Telegram, and editing such a post.

Each file is fetched from its source platform (bridge/media: spooled to a private temp
file, made safe) and uploaded streamed from that file with the method of its kind:
sendPhoto (up to 10 MB; bigger, or a photo Telegram cannot process, goes as a document),
sendVideo, sendAnimation, sendAudio, sendVoice, sendVideoNote, sendDocument. Several
files go as media groups (sendMediaGroup, 2-10 items; photos and videos mix, documents
only with documents, audio only with audio; anything else alone), in the order they came.

The post's text (header, text, notes) is the caption of the first file when it fits
Telegram's 1024 characters; otherwise the files carry the header only and the text
follows in message(s) of its own, never cut. A file that cannot come (over a limit: a
note with its name and size; refused by Telegram or unavailable at the source: a note
with its name) does not hold the post up: the rest goes, with the note in the text.
Every id of the post is returned (files first, then text), so edits and deletes reach
every part; every fetched file is discarded once the post is sent or failed.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramEntityTooLarge
from aiogram.methods import (
    EditMessageCaption,
    SendAnimation,
    SendAudio,
    SendDocument,
    SendMediaGroup,
    SendPhoto,
    SendVideo,
    SendVideoNote,
    SendVoice,
    TelegramMethod,
)
from aiogram.types import (
    FSInputFile,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
    ReplyParameters,
)

from core.models import Attachment, OutboundPost
from core.phrases import file_too_large_note, file_unavailable_note

from ..adapter import BeforePost, DeliveryError
from ..media import refusals
from ..media.files import MediaError, MediaFile, MediaTooLarge
from ..media.limits import TELEGRAM_PHOTO_LIMIT, TELEGRAM_UPLOAD_LIMIT, human_size
from ..media.source import MediaSource
from .errors import delivery_error, says
from .render import esc, render_parts

if TYPE_CHECKING:
    from .sender import TelegramSender

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024  # UTF-16 units after entity parsing
GROUP_LIMIT = 10  # items of one media group
UPLOAD_TIMEOUT = 300  # seconds for one upload (50 MB on a slow line)
# The kinds of files the bridge sends as files; a sticker's picture (issue 15) goes as a photo.
SENDABLE = frozenset({"photo", "animation", "document", "video", "video_note", "audio", "voice", "sticker"})
# Which kinds may share a media group (the Bot API's rule); kinds not listed go alone.
GROUP_CLASS = {"photo": "visual", "video": "visual", "document": "document", "audio": "audio"}
_DEFAULT_NAMES = {
    "photo": "photo.jpg",
    "animation": "animation.mp4",
    "video": "video.mp4",
    "video_note": "video_note.mp4",
    "voice": "voice.ogg",
    "audio": "audio.mp3",
    "document": "file",
    "sticker": "sticker.webp",
}
# Bad requests that are about the chat or the request, not the file (delivery_error decides).
_NOT_THE_FILE = ("chat not found", "not enough rights", "message to be replied not found", "can't parse entities")


def sendable(post: OutboundPost, media: MediaSource | None) -> bool:
    """Whether this sender posts ``post`` with its files (else as text with markers)."""
    return media is not None and any(a.kind in SENDABLE for a in post.attachments)


@dataclass
class Item:
    """One attachment on its way: the file once fetched, how it goes, or why it does not."""

    attachment: Attachment
    file: MediaFile | None = None
    as_document: bool = False  # a photo over 10 MB, or one Telegram could not process
    alone: bool = False  # in a media group Telegram refused: sent by itself from then on
    note: str = ""  # set: the file does not go, this note says so

    @property
    def kind(self) -> str:
        return "document" if self.as_document else self.attachment.kind

    @property
    def label(self) -> str:
        """How notes name the file: its name, else the word for its kind."""
        return self.attachment.file_name or self.attachment.kind.replace("_", " ")

    def filename(self) -> str:
        name = (self.file.name if self.file is not None else "") or self.attachment.file_name or ""
        if name:
            return name
        default = _DEFAULT_NAMES.get(self.attachment.kind, "file")
        if default == "file":
            mime = self.file.mime if self.file is not None else self.attachment.mime_type
            default += mimetypes.guess_extension(mime or "") or ""
        return default


class Refused(Exception):
    """Telegram refused the file(s) of one unit (a 400 about the file, or 413)."""

    def __init__(self, unit: list[Item]):
        super().__init__("refused")
        self.unit = unit


class MediaSending:
    def __init__(self, sender: TelegramSender, media: MediaSource):
        self._sender = sender
        self._media = media

    # -- sending --------------------------------------------------------------------------
    async def send(
        self, post: OutboundPost, chat_id: int | str, reply_to: str | None, before_post: BeforePost | None
    ) -> list[str]:
        items = [Item(a) for a in post.attachments if a.kind in SENDABLE]
        try:
            for item in items:
                await self._fetch(post, item)
            # A sticker whose picture cannot be had: its emoji or name says it, no note.
            items = [i for i in items if not (i.attachment.kind == "sticker" and i.file is None)]
            announced = False
            # Each refusal takes one file out (or a group apart, or a photo to a document):
            # the rounds are bounded, and nothing is retried in a loop.
            for _ in range(3 * len(items) + 1):
                units = plan(items)
                caption, texts = layout(post, items, bool(units) and units[0][0].kind != "video_note")
                if before_post is not None and not announced:
                    announced = True
                    await before_post([caption, *texts] if caption else texts)
                try:
                    ids = await self._send_units(chat_id, units, caption, texts, reply_to)
                except Refused as refused:
                    await self._refused(post, refused.unit)
                    continue
                # One file per message: which copy shows which file (files come first).
                files = [item for unit in units for item in unit]
                await self._sender.record_files(
                    post, {ids[i]: [item.attachment.file_id] for i, item in enumerate(files) if i < len(ids)}
                )
                return ids
            raise DeliveryError("telegram: the files of a post were refused too often", permanent=True)
        finally:
            for item in items:
                if item.file is not None:
                    item.file.discard()

    async def _fetch(self, post: OutboundPost, item: Item) -> None:
        attachment = item.attachment
        try:
            item.file = await self._media.fetch(attachment, post.source)
        except MediaTooLarge as exc:
            size = exc.size or attachment.size
            item.note = file_too_large_note(post.language or "en", item.label, human_size(size) if size else "?")
            refusals.refused(item.label, attachment.kind, "source_too_large", post.source.platform, size, exc.limit)
            await self._sender.count("telegram.media.too_large")
            return
        except MediaError:
            item.note = file_unavailable_note(post.language or "en", item.label)
            await self._sender.count("telegram.media.unavailable")
            return
        if item.file.size > TELEGRAM_UPLOAD_LIMIT:
            item.note = file_too_large_note(post.language or "en", item.label, human_size(item.file.size))
            refusals.refused(
                item.label, attachment.kind, "too_large", "telegram", item.file.size, TELEGRAM_UPLOAD_LIMIT
            )
            item.file.discard()
            item.file = None
            await self._sender.count("telegram.media.too_large")
            return
        if item.kind == "photo" and (item.file.kind == "document" or item.file.size > TELEGRAM_PHOTO_LIMIT):
            item.as_document = True  # the scrubber could not read it as an image, or too big for sendPhoto

    async def _refused(self, post: OutboundPost, unit: list[Item]) -> None:
        if len(unit) > 1:
            for item in unit:  # which file it was is not said: send them one by one
                item.alone = True
            return
        item = unit[0]
        if item.attachment.kind == "photo" and not item.as_document:
            item.as_document = True  # e.g. PHOTO_INVALID_DIMENSIONS: the file as it is
            return
        item.note = file_unavailable_note(post.language or "en", item.label)
        refusals.refused(item.label, item.attachment.kind, "refused", "telegram")
        if item.file is not None:
            item.file.discard()
            item.file = None
        await self._sender.count("telegram.media.refused")

    async def _send_units(
        self, chat_id: int | str, units: list[list[Item]], caption: str, texts: list[str], reply_to: str | None
    ) -> list[str]:
        ids: list[str] = []
        try:
            for index, unit in enumerate(units):
                reply = reply_to if index == 0 else None
                ids += await self._send_unit(chat_id, unit, caption if index == 0 else "", reply)
            for index, text in enumerate(texts):
                ids.append(await self._sender.send_text(chat_id, text, reply_to if not units and index == 0 else None))
        except (DeliveryError, Refused):
            if ids:  # the whole post goes again: take back what is shown
                await self._sender.delete_quietly(chat_id, ids)
            raise
        for unit in units:
            for _ in unit:
                await self._sender.count("telegram.media.sent")
        return ids

    async def _send_unit(self, chat_id: int | str, unit: list[Item], caption: str, reply_to: str | None) -> list[str]:
        reply = None
        if reply_to is not None and str(reply_to).isdigit():
            reply = ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True)
        method: TelegramMethod[Any]
        if len(unit) > 1:
            method = SendMediaGroup(
                chat_id=chat_id,
                media=[input_media(item, caption if i == 0 else "") for i, item in enumerate(unit)],
                reply_parameters=reply,
            )
        else:
            method = single_method(chat_id, unit[0], caption, reply)
        name = type(method).__name__[0].lower() + type(method).__name__[1:]
        try:
            answer = await self._sender.call(method, name, timeout=UPLOAD_TIMEOUT)
        except TelegramEntityTooLarge:
            raise Refused(unit) from None
        except TelegramBadRequest as exc:
            if says(exc, *_NOT_THE_FILE):
                raise delivery_error(exc, name) from exc
            raise Refused(unit) from None
        messages: list[Message] = answer if isinstance(answer, list) else [answer]
        return [str(m.message_id) for m in messages]

    # -- editing --------------------------------------------------------------------------
    async def edit(self, post: OutboundPost, chat_id: int | str, message_ids: list[str]) -> list[str]:
        """The new text on a post sent with files: the caption of its first file (or its
        header when the text is too long for a caption), the text messages after the files
        edited, added or taken away. Which copies are files is found by asking: Telegram
        answers editMessageCaption on a text message with "there is no caption"."""
        items = [Item(a) for a in post.attachments if a.kind in SENDABLE]
        for item in items:  # what is known without the file: a declared size over the limit
            size = item.attachment.size
            if size is not None and size > TELEGRAM_UPLOAD_LIMIT:
                item.note = file_too_large_note(post.language or "en", item.label, human_size(size))
        caption, texts = layout(post, items, True)
        files: list[str] = []
        text_ids: list[str] = []
        for message_id in message_ids:
            if text_ids:  # text follows the files, never the other way round
                text_ids.append(message_id)
                continue
            if await self._edit_caption(chat_id, message_id, "" if files else caption):
                files.append(message_id)
            else:
                text_ids.append(message_id)
        if not files:  # every file failed when it was sent: a text-only post
            _, texts = layout(post, items, False)
        return files + await self._sender.edit_texts(chat_id, texts, text_ids)

    async def _edit_caption(self, chat_id: int | str, message_id: str, caption: str) -> bool:
        """Set a file's caption; False when the message has none to set (a text message)."""
        method = EditMessageCaption(
            chat_id=chat_id, message_id=int(message_id), caption=caption, parse_mode=ParseMode.HTML
        )
        try:
            await self._sender.call(method, "editMessageCaption")
        except TelegramBadRequest as exc:
            if says(exc, "message is not modified"):
                return True
            if says(exc, "there is no caption in the message to edit"):
                return False
            raise delivery_error(exc, "editMessageCaption") from exc
        return True


def plan(items: Sequence[Item]) -> list[list[Item]]:
    """The sends, in order: runs of items that may share a media group, cut at 10 (a run
    of one is a single send); every other item alone."""
    units: list[list[Item]] = []
    for item in items:
        if item.note or item.file is None:
            continue
        group = None if item.alone else GROUP_CLASS.get(item.kind)
        last = units[-1] if units else None
        if (
            group is not None
            and last is not None
            and GROUP_CLASS.get(last[0].kind) == group
            and not last[0].alone
            and len(last) < GROUP_LIMIT
        ):
            last.append(item)
        else:
            units.append([item])
    return units


def layout(post: OutboundPost, items: Sequence[Item], captioned: bool) -> tuple[str, list[str]]:
    """(the caption of the first file, the text messages after the files). The notes of
    files that do not come join the post's notes; markers stay for what is not sent as a
    file (a sticker). ``captioned``: the first message is a file that takes a caption."""
    shown = replace(
        post,
        attachments=tuple(a for a in post.attachments if a.kind not in SENDABLE),
        notes=(*post.notes, *(item.note for item in items if item.note)),
    )
    if not captioned:
        return "", render_parts(shown)
    parts = render_parts(shown, CAPTION_LIMIT)
    if len(parts) == 1:
        return parts[0], []
    # Too long for a caption: the files name their sender, the text follows whole.
    label = post.label.strip()
    return (f"<b>{esc(label)}:</b>" if label else ""), render_parts(shown)


def _file(item: Item) -> FSInputFile:
    assert item.file is not None
    return FSInputFile(item.file.path, filename=item.filename())


def input_media(item: Item, caption: str) -> InputMediaPhoto | InputMediaVideo | InputMediaDocument | InputMediaAudio:
    common: dict[str, Any] = {"media": _file(item)}
    if caption:
        common.update(caption=caption, parse_mode=ParseMode.HTML)
    a = item.attachment
    if item.kind == "photo":
        return InputMediaPhoto(**common, has_spoiler=a.spoiler or None)
    if item.kind == "video":
        return InputMediaVideo(
            **common,
            has_spoiler=a.spoiler or None,
            width=a.width,
            height=a.height,
            duration=int(a.duration) if a.duration else None,
            supports_streaming=True,
        )
    if item.kind == "audio":
        return InputMediaAudio(**common, duration=int(a.duration) if a.duration else None)
    return InputMediaDocument(**common)


def single_method(chat_id: int | str, item: Item, caption: str, reply: ReplyParameters | None) -> TelegramMethod[Any]:
    a = item.attachment
    file = _file(item)
    duration = int(a.duration) if a.duration else None
    text: dict[str, Any] = {"caption": caption, "parse_mode": ParseMode.HTML} if caption else {}
    common: dict[str, Any] = {"chat_id": chat_id, "reply_parameters": reply}
    spoiler = a.spoiler or None
    match item.kind:
        case "photo" | "sticker":  # a sticker's picture is shown as a photo
            return SendPhoto(**common, photo=file, has_spoiler=spoiler, **text)
        case "video":
            return SendVideo(
                **common,
                video=file,
                has_spoiler=spoiler,
                width=a.width,
                height=a.height,
                duration=duration,
                supports_streaming=True,
                **text,
            )
        case "animation":
            return SendAnimation(
                **common, animation=file, has_spoiler=spoiler, width=a.width, height=a.height, duration=duration, **text
            )
        case "audio":
            return SendAudio(**common, audio=file, duration=duration, **text)
        case "voice":
            return SendVoice(**common, voice=file, duration=duration, **text)
        case "video_note":
            return SendVideoNote(**common, video_note=file, duration=duration, length=a.width or None)
        case _:
            return SendDocument(**common, document=file, **text)
