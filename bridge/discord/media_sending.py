"""Files of a relayed post, uploaded to Discord (the sender's media part).

Each attachment of the post is fetched from the source platform's adapter
(``MediaSource.fetch``: spooled to a private temporary file, image metadata stripped)
and uploaded with the post as ``files[n]`` parts of a multipart request, streamed from
that file. Discord takes up to 10 files per message, each within the server's upload
limit (10 MiB; 50 MiB and 100 MiB on boost levels 2 and 3), and the bridge keeps each
message's files together within that limit too: more files, or larger ones together,
make further messages of the same post. A file that cannot cross (over the limit, gone
at the source, refused by Discord) is replaced by a visible note with its name and size,
never dropped silently. Webhooks cannot send Discord voice messages (Execute Webhook
accepts no IS_VOICE_MESSAGE flag): a voice message that is Ogg Opus (:func:`take_voice`)
is posted by the bot itself as a real voice message right after the webhook post that
names its sender; any other one arrives as an .ogg audio file.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.models import Attachment, OutboundPost
from core.phrases import file_too_large_note, file_unavailable_note

from ..media import refusals
from ..media.files import MediaError, MediaFile, MediaTooLarge
from ..media.limits import human_size
from ..media.source import MediaSource
from . import render

if TYPE_CHECKING:
    from ..media.voice import VoiceShape

log = logging.getLogger(__name__)

# Kinds that are files the bridge uploads (a sticker's picture too); the others stay markers.
FILE_KINDS = frozenset({"photo", "animation", "document", "video", "video_note", "audio", "voice", "sticker"})
MAX_FILES_PER_MESSAGE = 10  # Discord's limit of attachments per message
MAX_FILENAME = 100
SPOILER_PREFIX = "SPOILER_"
# Names for files the member did not name, by kind (the extension follows the type).
_UNNAMED = {
    "photo": "photo",
    "animation": "animation",
    "video": "video",
    "video_note": "video-note",
    "audio": "audio",
    "voice": "voice-message",
    "document": "file",
    "sticker": "sticker",
}
_EXTENSIONS = {"audio/ogg": ".ogg", "image/jpeg": ".jpg", "audio/mpeg": ".mp3", "video/quicktime": ".mov"}
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")

Count = Callable[[str], Awaitable[None]]

FLAG_IS_VOICE_MESSAGE = 1 << 13  # message flag: Discord shows the one audio file as a voice message
VOICE_FILENAME = "voice-message.ogg"  # as Discord's clients name one
# Discord's answers that refuse a voice message (the post then carries it as a file):
# 50159 content beside it, 50160 not one audio file, 50161 no duration or waveform,
# 50173 voice messages not allowed in the channel, 50013 missing permissions.
VOICE_REFUSALS = frozenset({50013, 50159, 50160, 50161, 50173})
CANNOT_EDIT_VOICE_MESSAGE = 50162


def is_file(attachment: Attachment) -> bool:
    return attachment.kind in FILE_KINDS


def markers_only(attachments: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
    """The attachments still shown as markers when files are uploaded (stickers and the like)."""
    return tuple(a for a in attachments if not is_file(a))


def upload_name(attachment: Attachment, mime: str) -> str:
    """The file's name on Discord: the member's name (no path, no control characters, at
    most 100 characters, its extension kept), else one from its kind and type; a spoiler
    starts with SPOILER_, as Discord marks one."""
    name = _UNSAFE_NAME.sub("_", (attachment.file_name or "").strip()).strip(". ")
    if not name:
        extension = _EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ""
        if attachment.kind == "voice":
            extension = ".ogg"
        name = _UNNAMED.get(attachment.kind, "file") + extension
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        extension = extension[:16] if dot and stem else ""
        name = name[: MAX_FILENAME - len(extension) - 1].rstrip() + ("." + extension if extension else "")
    if attachment.spoiler and not name.startswith(SPOILER_PREFIX):
        name = SPOILER_PREFIX + name
    return name


def shown_name(attachment: Attachment) -> str:
    """How a note names a file (the member's name, else its kind's)."""
    return upload_name(attachment, (attachment.mime_type or "").split(";", 1)[0]).removeprefix(SPOILER_PREFIX)


@dataclass
class Upload:
    """One fetched file and how it is named on Discord."""

    attachment: Attachment
    file: MediaFile
    filename: str

    @property
    def mime(self) -> str:
        return "audio/ogg" if self.attachment.kind == "voice" else self.file.mime or "application/octet-stream"


@dataclass
class PostFiles:
    """The files of one post on their way to one Discord channel, and the notes standing
    in for those that cannot cross. Whoever holds it calls :meth:`discard`."""

    language: str
    limit: int
    uploads: list[Upload] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def groups(self) -> list[list[Upload]]:
        """The files, in order, as messages take them: at most 10 per message and, together,
        within the upload limit."""
        groups: list[list[Upload]] = []
        total = 0
        for upload in self.uploads:
            if not groups or len(groups[-1]) >= MAX_FILES_PER_MESSAGE or total + upload.file.size > self.limit:
                groups.append([])
                total = 0
            groups[-1].append(upload)
            total += upload.file.size
        return groups

    def refuse(self, uploads: list[Upload], *, too_large: bool) -> None:
        """Discord would not take these files: notes in their place, the files discarded."""
        for upload in uploads:
            name = upload.filename.removeprefix(SPOILER_PREFIX)
            if too_large:
                self.notes.append(file_too_large_note(self.language, name, human_size(upload.file.size)))
                refusals.refused(name, upload.attachment.kind, "too_large", "discord", upload.file.size, self.limit)
            else:
                self.notes.append(file_unavailable_note(self.language, name))
                refusals.refused(name, upload.attachment.kind, "refused", "discord")
            upload.file.discard()
        self.uploads = [u for u in self.uploads if u not in uploads]

    def discard(self) -> None:
        for upload in self.uploads:
            upload.file.discard()
        self.uploads = []


@dataclass
class Voice:
    """A voice message the bot posts as one (its file and what Discord shows of it)."""

    upload: Upload
    shape: VoiceShape

    @property
    def size(self) -> int:
        return self.upload.file.size

    def payload(self, reference: dict | None) -> dict:
        """The message's JSON: the voice flag, its one attachment with duration and
        waveform, no content (Discord refuses content beside a voice message)."""
        payload: dict = {
            "flags": FLAG_IS_VOICE_MESSAGE,
            "attachments": [
                {
                    "id": 0,
                    "filename": VOICE_FILENAME,
                    "duration_secs": self.shape.duration,
                    "waveform": self.shape.waveform_b64,
                }
            ],
            "allowed_mentions": {"parse": [], "replied_user": False},
        }
        if reference is not None:
            payload["message_reference"] = reference
        return payload


async def take_voice(files: PostFiles) -> Voice | None:
    """The post's voice message, taken out of its files, where Discord can show it as one:
    the post's only file, a voice message, and Ogg Opus (its length and waveform read from
    the file: :mod:`bridge.media.voice`). None leaves the files as they are (a voice
    message in another format arrives as an audio file)."""
    if len(files.uploads) != 1 or files.uploads[0].attachment.kind != "voice":
        return None
    upload = files.uploads[0]
    from ..media.voice import voice_shape  # mutagen: imported with the first voice message

    shape = await asyncio.to_thread(voice_shape, upload.file.path)
    if shape is None:
        return None
    files.uploads.remove(upload)
    return Voice(upload, shape)


def is_voice_post(post: OutboundPost) -> bool:
    """A post whose one file is a voice message (it may have crossed as one)."""
    files = [a for a in post.attachments if is_file(a)]
    return len(files) == 1 and files[0].kind == "voice"


async def fetch_files(media: MediaSource, post: OutboundPost, limit: int, count: Count) -> PostFiles:
    """Fetch the post's files from the source platform, in order. A file over ``limit``
    (the destination server's), too large for the source to give, or unavailable gets a
    note instead (counted ``discord.media.too_large`` / ``discord.media.unavailable``)."""
    files = PostFiles(language=post.language, limit=limit)
    try:
        for attachment in post.attachments:
            if not is_file(attachment):
                continue
            name = shown_name(attachment)
            if attachment.size is not None and attachment.size > limit:
                # Declared too large for this server: not even fetched.
                files.notes.append(file_too_large_note(post.language, name, human_size(attachment.size)))
                refusals.refused(name, attachment.kind, "too_large", "discord", attachment.size, limit)
                await count("discord.media.too_large")
                continue
            try:
                fetched = await media.fetch(attachment, post.source)
            except MediaTooLarge as exc:
                size = exc.size or attachment.size or exc.limit
                files.notes.append(file_too_large_note(post.language, name, human_size(size)))
                refusals.refused(name, attachment.kind, "source_too_large", post.source.platform, size, exc.limit)
                await count("discord.media.too_large")
                continue
            except MediaError as exc:
                log.info("a file of a post to Discord is unavailable (%s)", exc.__class__.__name__)
                if attachment.kind == "sticker":  # its emoji or name says it: no note
                    await count("discord.media.sticker_unavailable")
                    continue
                files.notes.append(file_unavailable_note(post.language, name))
                await count("discord.media.unavailable")
                continue
            if fetched.size > limit:
                fetched.discard()
                files.notes.append(file_too_large_note(post.language, name, human_size(fetched.size)))
                refusals.refused(name, attachment.kind, "too_large", "discord", fetched.size, limit)
                await count("discord.media.too_large")
                continue
            if attachment.kind == "sticker":  # shown small, as Discord shows stickers
                from ..media.scrub import shrink_sticker  # Pillow: imported with the first sticker

                fetched = await asyncio.to_thread(shrink_sticker, fetched)
            files.uploads.append(Upload(attachment, fetched, upload_name(attachment, fetched.mime)))
    except BaseException:
        files.discard()
        raise
    return files


def declared_notes(post: OutboundPost, limit: int) -> list[str]:
    """The too-large notes an edit shows again (from the sizes the source declared: an
    edit does not fetch the files)."""
    return [
        file_too_large_note(post.language, shown_name(a), human_size(a.size))
        for a in post.attachments
        if is_file(a) and a.size is not None and a.size > limit
    ]


def shown_with_files(username: str | None, content: str, sizes: list[int]) -> str:
    """What a message shows as a delivery intent's digest covers it: the username and
    content (:func:`render.shown`) and, for a message with files, their sizes in bytes, as
    Discord returns them in the message's ``attachments`` (a photo without a caption has no
    content to recognise it by; file names Discord may rewrite)."""
    shown = render.shown(username, content)
    return shown + "\n📎 " + ",".join(str(s) for s in sizes) if sizes else shown


class FileRefused(Exception):
    """Discord refused a message's files (413, 40005 Request entity too large, or an
    invalid attachment): the post goes again without them, with notes instead."""

    def __init__(self, too_large: bool):
        super().__init__("request entity too large" if too_large else "attachment refused")
        self.too_large = too_large


REQUEST_ENTITY_TOO_LARGE = 40005
INVALID_FORM_BODY = 50035


def refusal(status: int, code: int, body: object) -> FileRefused | None:
    """Whether an error answer to a message with files refuses the files."""
    if status == 413 or code == REQUEST_ENTITY_TOO_LARGE:
        return FileRefused(too_large=True)
    if status == 400 and code == INVALID_FORM_BODY and isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, dict) and ({"attachments", "files"} & set(errors)):
            return FileRefused(too_large=False)
    return None
