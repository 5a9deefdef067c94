"""Attachments' bytes: served for download at the stand-in's own address, as Discord's CDN
serves them, and members' messages with files.

An attachment's ``url`` (in MESSAGE_CREATE, history, fetched messages) is
``{base_url}/attachments/{channel}/{attachment}/{filename}?ex={signature}``; a GET of it
streams the stored bytes in chunks with their Content-Length. A wrong or expired signature
(:meth:`expire_attachment_url`, as Discord's signed links expire after about a day) or an
unknown attachment is a 404, as the CDN answers. Every download is in :attr:`downloads`.

Members' files: :meth:`inject_files_message` (a message with several files: one album) and
:meth:`inject_voice_message` (a voice message: message flag IS_VOICE_MESSAGE, one
``audio/ogg`` attachment with ``duration_secs`` and ``waveform``). What the bridge uploaded
(through webhooks or as the bot) is in :meth:`uploads`, with each file's bytes.
"""

from __future__ import annotations

import base64
import mimetypes
import secrets

from aiohttp import web

from sandbox.discord.protocol import FLAG_IS_VOICE_MESSAGE
from sandbox.discord.state import DiscordState

CHUNK = 64 * 1024


class Files:
    def __init__(self, state: DiscordState):
        self._state = state
        # Every download asked for: (attachment id, HTTP status answered).
        self.downloads: list[tuple[int, int]] = []
        # Stickers' pictures, as Discord's media host serves them at /stickers/ID.png (or .gif).
        self.sticker_pictures: dict[int, bytes] = {}
        self.sticker_downloads: list[tuple[int, int]] = []

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._download)
        app.router.add_get("/stickers/{filename}", self._sticker)

    async def _sticker(self, request: web.Request) -> web.Response:
        stem, _, extension = request.match_info["filename"].partition(".")
        sticker_id = int(stem) if stem.isdigit() else 0
        data = self.sticker_pictures.get(sticker_id)
        if data is None or extension not in ("png", "gif"):
            self.sticker_downloads.append((sticker_id, 404))
            return web.Response(status=404, text="Not found")
        self.sticker_downloads.append((sticker_id, 200))
        return web.Response(body=data, content_type="image/gif" if extension == "gif" else "image/png")

    async def _download(self, request: web.Request) -> web.StreamResponse:
        try:
            attachment_id = int(request.match_info["attachment_id"])
        except ValueError:
            attachment_id = 0
        data = self._state.attachment_data.get(attachment_id)
        signature = self._state.attachment_signatures.get(attachment_id)
        if data is None or signature is None or request.query.get("ex") != signature:
            self.downloads.append((attachment_id, 404))
            return web.Response(status=404, text="This content is no longer available.")
        self.downloads.append((attachment_id, 200))
        content_type = mimetypes.guess_type(request.match_info["filename"])[0] or "application/octet-stream"
        response = web.StreamResponse(headers={"Content-Type": content_type, "Content-Length": str(len(data))})
        await response.prepare(request)
        view = memoryview(data)
        for start in range(0, len(data), CHUNK):
            await response.write(view[start : start + CHUNK])
        await response.write_eof()
        return response

    # -- for tests -------------------------------------------------------------------
    def inject_files_message(
        self, channel_id: int, author: dict, content: str, files: list[tuple[str, bytes]], **extra
    ) -> dict:
        """A member posts ``files`` ((filename, bytes), in order) with ``content``; each
        attachment's content type follows its name, as Discord sets it. ``extra``: per-file
        fields (width, height, ...) as a list under ``attachment_fields``."""
        fields = extra.pop("attachment_fields", None) or [{} for _ in files]
        attachments = [
            {"filename": name, "content_type": mimetypes.guess_type(name)[0], "data": data, **more}
            for (name, data), more in zip(files, fields, strict=True)
        ]
        return self._state.inject_message(channel_id, author, content, attachments=attachments, **extra)

    def inject_sticker_message(
        self, channel_id: int, author: dict, sticker_id: int, name: str, picture: bytes | None, *, format_type: int = 1
    ) -> dict:
        """A member posts a sticker (format_type 1 PNG, 2 APNG, 3 Lottie, 4 GIF): the message
        carries ``sticker_items`` only; its picture (``picture``: PNG or GIF bytes, None for a
        Lottie sticker) is served at /stickers/ID.png, as Discord's media host does."""
        if picture is not None:
            self.sticker_pictures[int(sticker_id)] = picture
        item = {"id": str(sticker_id), "name": name, "format_type": format_type}
        return self._state.inject_message(channel_id, author, "", sticker_items=[item])

    def inject_voice_message(
        self, channel_id: int, author: dict, data: bytes, *, duration_secs: float = 3.0, waveform: bytes | None = None
    ) -> dict:
        """A member's voice message, as the Discord client sends it."""
        shape = waveform if waveform is not None else bytes(range(0, 256, 8))
        attachment = {
            "filename": "voice-message.ogg",
            "content_type": "audio/ogg",
            "data": data,
            "duration_secs": duration_secs,
            "waveform": base64.b64encode(shape).decode(),
            "flags": 0,
        }
        return self._state.inject_message(channel_id, author, "", attachments=[attachment], flags=FLAG_IS_VOICE_MESSAGE)

    def expire_attachment_url(self, attachment_id: int | str) -> None:
        """The attachment's signed link expires: the old URL answers 404; the message (read
        again through REST) carries a new one."""
        attachment_id = int(attachment_id)
        self._state.attachment_signatures[attachment_id] = secrets.token_hex(4)
        for channel in self._state.messages.values():
            for message in channel.values():
                for attachment in message.get("attachments") or ():
                    if attachment["id"] == str(attachment_id):
                        url = self._state.attachment_url(
                            attachment_id, attachment["filename"], int(message["channel_id"])
                        )
                        attachment["url"] = attachment["proxy_url"] = url

    def attachment_bytes(self, attachment: dict) -> bytes:
        """The stored bytes of one attachment of a message as it is now (after edits)."""
        return self._state.attachment_data[int(attachment["id"])]

    def uploads(self, channel_id: int | None = None) -> list[dict]:
        """Each file the bot or its webhooks posted, in order: message id, channel id,
        filename, content_type, size, data (the bytes), the message's flags and the
        attachment's flags, a voice message's duration_secs and waveform (base64), the
        message it replies to, whether its message is deleted."""
        found = []
        for post in self._state.posts(channel_id):
            for attachment in post.get("files") or ():
                found.append(
                    {
                        "message_id": post["id"],
                        "channel_id": post["channel_id"],
                        "filename": attachment["filename"],
                        "content_type": attachment.get("content_type"),
                        "size": attachment["size"],
                        "data": attachment["data"],
                        "flags": int(post.get("flags") or 0),
                        "attachment_flags": int(attachment.get("flags") or 0),
                        # a voice message's (None for other files)
                        "duration_secs": attachment.get("duration_secs"),
                        "waveform": attachment.get("waveform"),
                        "reference": (post.get("message_reference") or {}).get("message_id"),
                        "deleted": post["deleted"],
                    }
                )
        return found
