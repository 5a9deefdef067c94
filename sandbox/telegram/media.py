"""Files on the Telegram stand-in, both ways, with the Bot API's limits and error texts.

The bot's side: sendPhoto, sendVideo, sendAnimation, sendAudio, sendVoice, sendVideoNote
(multipart uploads, ``attach://`` or a known file_id; caption up to 1024 after entity
parsing; ``has_spoiler``), sendMediaGroup (2-10 items; photos and videos may mix,
documents only with documents, audio only with audio; the caption of each item),
editMessageCaption, getFile (a ``file_path`` for every file the stand-in knows; over
20 MB: "Bad Request: file is too big") and the download route
``/file/bot<token>/<file_path>``, streamed. Uploads over 50 MB are refused with 413, a
photo over 10 MB with "PHOTO_SAVE_FILE_INVALID".

The members' side: :meth:`MediaStore.inject_media` (a photo, video, voice message,
document… with its bytes, which getFile and the download then give) and
:meth:`MediaStore.inject_album` (a media group: one message per item sharing a
``media_group_id``, the caption on the first). :meth:`MediaStore.uploads` records what the
bot uploaded (method, bytes, caption, has_spoiler, media group) for assertions.
"""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.telegram.formatting import parse_html, strip_text, utf16_len
from sandbox.telegram.keyboards import inline_keyboard
from sandbox.telegram.protocol import CAPTION_LIMIT, UPLOAD_LIMIT, ApiError, UploadedFile, bad_request, not_modified
from sandbox.telegram.state import Chat, TelegramState
from sandbox.telegram.topics import ForumTopics
from sandbox.telegram.updates import Updates

DOWNLOAD_LIMIT = 20 * 1024 * 1024  # what getFile lets a bot download
PHOTO_LIMIT = 10 * 1024 * 1024  # what sendPhoto takes
DOWNLOAD_CHUNK = 64 * 1024

# The message field each kind of file shows in, and the method that sends it.
SEND_METHODS = {
    "sendPhoto": "photo",
    "sendVideo": "video",
    "sendAnimation": "animation",
    "sendAudio": "audio",
    "sendVoice": "voice",
    "sendVideoNote": "video_note",
    "sendDocument": "document",
}
_METHOD_OF = {kind: name for name, kind in SEND_METHODS.items()}
# Telegram's file_path folders and the file_id prefixes of each kind (as the real ones start).
_FOLDERS = {
    "photo": "photos",
    "video": "videos",
    "animation": "animations",
    "audio": "music",
    "voice": "voice",
    "video_note": "video_notes",
    "document": "documents",
    "sticker": "stickers",
    "thumbnail": "thumbnails",
}
_ID_PREFIX = {
    "photo": "AgACAgQAAxkBAA",
    "video": "BAACAgQAAxkBAA",
    "animation": "CgACAgQAAxkBAA",
    "audio": "CQACAgQAAxkBAA",
    "voice": "AwACAgQAAxkBAA",
    "video_note": "DQACAgQAAxkBAA",
    "document": "BQACAgIAAxkBAA",
    "sticker": "CAACAgIAAxkBAA",
    "thumbnail": "AAMCAgADGQEAA",
}
_DEFAULT_MIME = {"photo": "image/jpeg", "voice": "audio/ogg", "video_note": "video/mp4", "video": "video/mp4"}
_SPOILER_KINDS = frozenset({"photo", "video", "animation"})
# sendMediaGroup: which InputMedia types may share a group.
_GROUP_CLASS = {"photo": "visual", "video": "visual", "document": "document", "audio": "audio"}

Method = Callable[[dict], Awaitable[Any]]


class MediaStore:
    """Files known to the stand-in (file_id -> object, bytes, file_path) and the methods on them."""

    def __init__(self, state: TelegramState, updates: Updates, topics: ForumTopics | None = None):
        self._state = state
        self._updates = updates
        self._topics = topics
        self._paths: dict[str, str] = {}  # file_path -> file_id
        self._uploads: list[dict[str, Any]] = []
        self._media_groups = 0

    def table(self) -> dict[str, Method]:
        table: dict[str, Method] = {name.lower(): self._sender(kind) for name, kind in SEND_METHODS.items()}
        table.update(
            {
                "sendmediagroup": self._send_media_group,
                "editmessagecaption": self._edit_message_caption,
                "getfile": self._get_file,
            }
        )
        return table

    # -- files ----------------------------------------------------------------------------
    def register(
        self, kind: str, data: bytes, *, file_name: str | None = None, mime_type: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Keep ``data`` as a file of ``kind``; the object a message shows for it (for a photo,
        the largest PhotoSize)."""
        file_id = _ID_PREFIX.get(kind, "BQACAgIAAxkBAA") + secrets.token_urlsafe(24)
        unique = "AgAD" + hashlib.sha256(data).hexdigest()[:12]
        obj: dict[str, Any] = {"file_id": file_id, "file_unique_id": unique, "file_size": len(data)}
        if kind == "photo":
            obj.update(width=extra.get("width", 1280), height=extra.get("height", 960))
        else:
            if file_name and kind in ("document", "video", "animation", "audio"):
                obj["file_name"] = file_name
            obj["mime_type"] = mime_type or _DEFAULT_MIME.get(kind) or _guess(file_name)
            if kind in ("video", "animation"):
                obj.update(width=extra.get("width", 1280), height=extra.get("height", 720))
            if kind == "video_note":
                obj["length"] = extra.get("length", 384)
            if kind in ("video", "animation", "audio", "voice", "video_note"):
                obj["duration"] = int(extra.get("duration", 3))
        extension = mimetypes.guess_extension(obj.get("mime_type") or "image/jpeg") or ".bin"
        if kind == "voice":
            extension = ".oga"  # Telegram's own choice for voice messages
        path = f"{_FOLDERS.get(kind, 'documents')}/file_{len(self._paths)}{extension}"
        self._paths[path] = file_id
        self._state.files[file_id] = {"document": obj, "data": data, "path": path, "kind": kind}
        return dict(obj)

    async def _get_file(self, params: dict) -> dict:
        file_id = str(params.get("file_id") or "")
        if not file_id:
            raise bad_request("file_id is empty")  # aiogram never sends this; Telegram's wording is close
        known = self._state.files.get(file_id)
        if known is None:
            raise bad_request("invalid file_id")
        obj = known["document"]
        if len(known["data"]) > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": obj["file_unique_id"],
            "file_size": len(known["data"]),
            "file_path": known["path"],
        }

    async def download(self, request: web.Request) -> web.StreamResponse:
        """``GET /file/bot<token>/<file_path>``: the bytes, streamed (404 as Telegram's file server)."""
        file_id = self._paths.get(request.match_info["path"])
        known = self._state.files.get(file_id or "")
        if known is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        data: bytes = known["data"]
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = len(data)
        await response.prepare(request)
        view = memoryview(data)
        for start in range(0, len(data), DOWNLOAD_CHUNK):
            await response.write(view[start : start + DOWNLOAD_CHUNK])
        await response.write_eof()
        return response

    def _input_file(self, params: dict, name: str, kind: str, extra: dict) -> tuple[dict[str, Any], bytes]:
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value[len("attach://") :])
            if not isinstance(value, UploadedFile):
                raise bad_request(f'can\'t find attached file "{params[name][len("attach://") :]}"')
        if isinstance(value, UploadedFile):
            if not value.data:
                raise bad_request("file must be non-empty")
            if len(value.data) > UPLOAD_LIMIT:
                raise ApiError(413, "Request Entity Too Large")
            if kind == "photo" and len(value.data) > PHOTO_LIMIT:
                raise bad_request("PHOTO_SAVE_FILE_INVALID")
            mime = value.content_type if value.content_type != "application/octet-stream" else None
            obj = self.register(kind, value.data, file_name=value.filename, mime_type=mime, **extra)
            return obj, value.data
        if isinstance(value, str) and value in self._state.files:
            known = self._state.files[value]
            return dict(known["document"]), known["data"]
        if value in (None, ""):
            raise bad_request(f"there is no {name} in the request")
        raise bad_request("wrong file identifier/HTTP URL specified")

    # -- sending --------------------------------------------------------------------------
    def _sender(self, kind: str) -> Method:
        async def send(params: dict) -> dict:
            return await self._send_one(kind, params)

        return send

    async def _send_one(self, kind: str, params: dict) -> dict:
        chat = self._state.chat_for_bot(params)
        caption, entities = parse_caption(params.get("caption"), params)
        if kind == "video_note" and caption:
            raise bad_request("video notes can't have a caption")  # the method has no caption parameter
        markup = inline_keyboard(params.get("reply_markup"))
        replied = _replied(self._state, chat, params)
        extra = {k: params[k] for k in ("width", "height", "duration", "length") if k in params}
        obj, data = self._input_file(params, kind, kind, extra)
        message = self._message(chat, kind, obj, caption, entities, spoiler=_flag(params.get("has_spoiler")))
        if self._topics is not None:
            self._topics.place(chat, params, message)
        if replied is not None:
            message["reply_to_message"] = dict(replied)
        if markup is not None:
            message["reply_markup"] = markup
        self._state.store(chat, message)
        self._record(_METHOD_OF[kind], chat, message, data, caption, params.get("has_spoiler"))
        if kind == "document":
            self._state.record_document(params, chat, message, data)
        return message

    async def _send_media_group(self, params: dict) -> list[dict]:
        chat = self._state.chat_for_bot(params)
        media = params.get("media")
        if not isinstance(media, list):
            raise bad_request('parameter "media" is required')
        if len(media) < 2:
            raise bad_request("MEDIA_GROUP_INVALID: there must be 2-10 media in a media group")
        if len(media) > 10:
            raise bad_request("too many messages to send as an album")
        types = [str(item.get("type")) for item in media if isinstance(item, dict)]
        if len(types) != len(media) or any(t not in _GROUP_CLASS for t in types):
            raise bad_request("wrong type of the media in the media group")
        classes = {_GROUP_CLASS[t] for t in types}
        if len(classes) > 1:
            odd = "document" if "document" in classes else "audio"
            raise bad_request(f"{odd} can't be mixed with other media types")
        replied = _replied(self._state, chat, params)
        if self._topics is not None:
            self._topics.place(chat, params, {})  # the topic checked before anything is shown
        prepared = []
        for item in media:  # every item checked before any is shown, as Telegram does
            caption, entities = parse_caption(item.get("caption"), item)
            obj, data = self._input_file({**params, "media": item.get("media")}, "media", item["type"], {})
            prepared.append((item, obj, data, caption, entities))
        self._media_groups += 1
        group_id = str(13800000000000000 + self._media_groups)
        messages = []
        for index, (item, obj, data, caption, entities) in enumerate(prepared):
            message = self._message(chat, item["type"], obj, caption, entities, spoiler=_flag(item.get("has_spoiler")))
            message["media_group_id"] = group_id
            if self._topics is not None:
                self._topics.place(chat, params, message)
            if replied is not None and index == 0:
                message["reply_to_message"] = dict(replied)
            self._state.store(chat, message)
            self._record("sendMediaGroup", chat, message, data, caption, item.get("has_spoiler"), group_id)
            messages.append(message)
        return messages

    def _message(
        self, chat: Chat, kind: str, obj: dict, caption: str, entities: list, *, spoiler: bool
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": chat.take_id(),
            "from": dict(self._state.bot_user),
            "chat": dict(chat.chat),
            "date": int(time.time()),
        }
        message[kind] = [_thumbnail(obj), dict(obj)] if kind == "photo" else dict(obj)
        if caption:
            message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
        if spoiler and kind in _SPOILER_KINDS:
            message["has_media_spoiler"] = True
        return message

    def _record(
        self,
        method: str,
        chat: Chat,
        message: dict,
        data: bytes,
        caption: str,
        spoiler: Any,
        group: str | None = None,
    ) -> None:
        kind = next(k for k in _FOLDERS if k in message)
        self._uploads.append(
            {
                "method": method,
                "kind": kind,
                "chat_id": chat.chat["id"],
                "message_id": message["message_id"],
                "data": data,
                "caption": caption,
                "has_spoiler": _flag(spoiler),
                "media_group_id": group,
                "file_name": (message[kind] if kind != "photo" else {}).get("file_name"),
                "mime_type": (message[kind] if kind != "photo" else {}).get("mime_type"),
            }
        )

    def uploads(self, chat_id: int | None = None) -> list[dict]:
        """Every file the bot sent with a message, in order: ``method`` (sendPhoto …,
        sendMediaGroup), ``kind`` (the message field), ``chat_id``, ``message_id``, ``data``
        (the bytes), ``caption`` (plain text, entities applied), ``has_spoiler``,
        ``media_group_id``, ``file_name`` and ``mime_type``."""
        return [dict(u) for u in self._uploads if chat_id is None or u["chat_id"] == int(chat_id)]

    async def _edit_message_caption(self, params: dict) -> dict:
        chat = self._state.chat_for_bot(params)
        if params.get("message_id") in (None, ""):
            raise bad_request("message identifier is not specified")
        stored = chat.messages.get(int(params["message_id"]))
        if stored is None or stored.deleted:
            raise bad_request("message to edit not found")
        if not stored.from_bot:
            raise bad_request("message can't be edited")
        if not any(kind in stored.message for kind in _FOLDERS) or "video_note" in stored.message:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = parse_caption(params.get("caption"), params)
        if caption == (stored.message.get("caption") or "") and entities == (
            stored.message.get("caption_entities") or []
        ):
            raise not_modified()
        message = {**stored.message, "edit_date": int(time.time())}
        message.pop("caption", None)
        message.pop("caption_entities", None)
        if caption:
            message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
        stored.message = message
        stored.text = caption
        return message

    # -- the members' side ---------------------------------------------------------------
    def inject_media(
        self,
        chat_id: int,
        user: dict,
        kind: str,
        data: bytes,
        *,
        caption: str = "",
        file_name: str | None = None,
        mime_type: str | None = None,
        spoiler: bool = False,
        media_group_id: str | None = None,
        **extra: Any,
    ) -> dict:
        """A member sends a file of ``kind`` (photo, video, animation, audio, voice,
        video_note, document) with ``data`` as its bytes; returns the Message the bot will
        receive. getFile and the download route give the bytes back (getFile refuses a
        file over 20 MB, as Telegram does)."""
        if kind not in _FOLDERS:
            raise ValueError(f"unknown kind of file {kind!r}")
        if "id" not in user or not user.get("first_name"):
            raise ValueError("a member needs at least an id and a first_name")
        chat = self._state.chat(chat_id)
        author = {"is_bot": False, **user}
        chat.members.setdefault(int(user["id"]), author)
        obj = self.register(kind, data, file_name=file_name, mime_type=mime_type, **extra)
        message: dict[str, Any] = {
            "message_id": chat.take_id(),
            "from": author,
            "chat": dict(chat.chat),
            "date": int(time.time()),
        }
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        if kind == "photo":
            message["photo"] = [_thumbnail(obj), obj]
        else:
            message[kind] = obj
            if kind == "animation":  # Telegram sends an animation's document copy along
                message["document"] = {k: v for k, v in obj.items() if k not in ("width", "height", "duration")}
        if caption:
            message["caption"] = caption
        if spoiler and kind in _SPOILER_KINDS:
            message["has_media_spoiler"] = True
        self._state.store(chat, message)
        self._updates.queue({"message": message})
        return message

    def inject_sticker(
        self,
        chat_id: int,
        user: dict,
        data: bytes,
        *,
        emoji: str = "👍",
        form: str = "static",
        thumbnail: bytes | None = None,
        set_name: str = "HotCherry",
    ) -> dict:
        """A member sends a sticker: ``form`` "static" (``data`` is its WebP), "animated" (.tgs)
        or "video" (.webm); ``thumbnail`` (WebP bytes) is the small picture Telegram may add.
        getFile and the download route serve the sticker and its thumbnail."""
        if form not in ("static", "animated", "video"):
            raise ValueError(f"unknown sticker form {form!r}")
        chat = self._state.chat(chat_id)
        author = {"is_bot": False, **user}
        chat.members.setdefault(int(user["id"]), author)
        mime = {"static": "image/webp", "animated": "application/x-tgsticker", "video": "video/webm"}[form]
        own = self.register("sticker", data, mime_type=mime)
        sticker: dict[str, Any] = {
            "file_id": own["file_id"],
            "file_unique_id": own["file_unique_id"],
            "file_size": own["file_size"],
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": form == "animated",
            "is_video": form == "video",
            "emoji": emoji,
            "set_name": set_name,
        }
        if thumbnail is not None:
            thumb = self.register("thumbnail", thumbnail, mime_type="image/webp")
            sticker["thumbnail"] = {
                "file_id": thumb["file_id"],
                "file_unique_id": thumb["file_unique_id"],
                "file_size": thumb["file_size"],
                "width": 128,
                "height": 128,
            }
        message: dict[str, Any] = {
            "message_id": chat.take_id(),
            "from": author,
            "chat": dict(chat.chat),
            "date": int(time.time()),
            "sticker": sticker,
        }
        self._state.store(chat, message)
        self._updates.queue({"message": message})
        return message

    def inject_album(
        self, chat_id: int, user: dict, items: list[tuple[str, bytes]], *, caption: str = ""
    ) -> list[dict]:
        """A member sends an album: one message per (kind, bytes) item, sharing a
        media_group_id, the caption on the first, as Telegram delivers them."""
        self._media_groups += 1
        group_id = str(13900000000000000 + self._media_groups)
        return [
            self.inject_media(chat_id, user, kind, data, caption=caption if index == 0 else "", media_group_id=group_id)
            for index, (kind, data) in enumerate(items)
        ]

    def inject_caption_edit(self, chat_id: int, message_id: int, caption: str) -> dict:
        """The member edits the caption of their media message; queues an ``edited_message``."""
        stored = self._state.chats[int(chat_id)].messages[int(message_id)]
        message = {**stored.message, "caption": caption, "edit_date": int(time.time())}
        stored.message = message
        stored.text = caption
        self._updates.queue({"edited_message": message})
        return message


def parse_caption(source: Any, params: dict) -> tuple[str, list[dict[str, Any]]]:
    """A caption as Telegram reads it: HTML or entities, stripped, at most 1024 UTF-16 units."""
    if not isinstance(source, str) or not source:
        return "", []
    if str(params.get("parse_mode") or "").lower() == "html":
        text, entities = parse_html(source)
    else:
        text, entities = source, list(params.get("caption_entities") or [])
    text, entities = strip_text(text, entities)
    if utf16_len(text) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return text, entities


def _replied(state: TelegramState, chat: Chat, params: dict) -> dict | None:
    reply = params.get("reply_parameters") or {}
    reply_to = reply.get("message_id", params.get("reply_to_message_id"))
    if reply_to is None:
        return None
    replied = chat.messages.get(int(reply_to))
    if replied is None or replied.deleted:
        if not reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply")):
            raise bad_request("message to be replied not found")
        return None
    return dict(replied.message)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _guess(file_name: str | None) -> str:
    return (mimetypes.guess_type(file_name)[0] if file_name else None) or "application/octet-stream"


def _thumbnail(obj: dict) -> dict:
    """The small size Telegram lists first in a photo's sizes."""
    return {
        "file_id": obj["file_id"] + "s",
        "file_unique_id": obj["file_unique_id"] + "s",
        "file_size": min(1400, int(obj.get("file_size") or 0)),
        "width": 90,
        "height": 68,
    }
