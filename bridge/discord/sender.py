"""Posting to Discord: the :class:`~bridge.adapter.Sender` for the outbox.

Posts go through one channel webhook named "twinbridge" so each carries its
sender and community as the username. Without the Manage Webhooks permission
(or with the channel's 15 webhooks used up) the bot posts itself and names
the sender in bold. Requests go through discord.py's own HTTP client, so its
rate-limit buckets and 429 retries apply; whatever still fails is mapped to
:class:`DeliveryError` for the outbox to retry or give up on. Failure reasons
never contain message text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, UTC

import aiohttp
import discord
from discord.http import MultipartParameters

from ..adapter import BeforePost, DeliveryError
from ..media.limits import DISCORD_DEFAULT_UPLOAD_LIMIT, discord_upload_limit
from ..media.source import MediaSource
from . import media_sending
from .media_sending import FileRefused, PostFiles, Upload, Voice
from core.idmap import IdMap
from core.stats import Stats
from core.intents import DeliveryIntent
from core.storage.copy_files import CopyFiles, Layout, removed_files
from core.storage.discord import DiscordState
from core.storage.keys import Keys
from core.models import MessageRef, OutboundPost
from core.phrases import original_header
from core.ratelimit import DISCORD_GLOBAL, discord_limits
from . import render
from .announcing import DiscordAnnouncements
from ..avatars.service import AvatarService
from .render import shown as _shown
from .endpoints import api_base
from core.storage.threads import CopyThreads
from .threads import WHERE, DiscordThreads, ThreadRefused, Where, target, thread_object, thread_refusal
from core.links import LinksConfig
from core.thread_heads import without_head

log = logging.getLogger(__name__)

WEBHOOK_NAME = "twinbridge"
WEBHOOK_REASON = "twinbridge relays the partner communities' messages into this channel"
# discord.py already retries 429s and 5xx inside a request; this bounds the
# whole operation so a hung connection cannot stall the outbox forever.
OPERATION_TIMEOUT = 120.0
# After a 403 on the webhook routes, post as the bot for a while before asking again.
NO_WEBHOOK_RECHECK = 600.0

# Webhook posts go through our own request; bounded like discord.py's operations.
WEBHOOK_TIMEOUT = 30.0
# A post with files: fetching them from the source and uploading them takes longer.
MEDIA_OPERATION_TIMEOUT = 900.0
UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=600.0, sock_connect=15.0, sock_read=120.0)
CANNOT_SEND_EMPTY = 50006
# Looking for a post after a crash: the history from a little before the intent (clocks
# differ), in pages of 100, at most this many pages.
CLOCK_SKEW = 60.0
HISTORY_PAGE = 100
HISTORY_PAGES = 20

UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
MAX_WEBHOOKS = 30007


class RecentDeletes:
    """Ids of messages the bridge itself deleted lately. MESSAGE_DELETE says
    only which message went, so this is how the cog recognises the echo of
    its own deletes (the bot keeps no message cache: no text in memory)."""

    def __init__(self, ttl: float = 300.0):
        self._ttl = ttl
        self._until: dict[int, float] = {}

    def add(self, message_id: int) -> None:
        now = time.monotonic()
        self._until = {m: t for m, t in self._until.items() if t > now}
        self._until[message_id] = now + self._ttl

    def __contains__(self, message_id: int) -> bool:
        return self._until.get(message_id, 0.0) > time.monotonic()


@dataclass(frozen=True)
class _Hook:
    id: int
    token: str


class DiscordSender:
    platform = "discord"

    def __init__(
        self,
        client: discord.Client,
        redis,
        keys: Keys,
        *,
        recent_deletes: RecentDeletes | None = None,
        limiter=None,
        api_url: str | None = None,
        media: MediaSource | None = None,
        avatars: AvatarService | None = None,
        config: LinksConfig | None = None,
    ):
        self._client = client
        # Twin threads of Telegram topics, and forum posts in a forum destination (threads.py).
        self._threads = DiscordThreads(self, client, redis, keys, config) if config is not None else None
        self._copy_threads = CopyThreads(redis, keys)
        # Where the files of a post come from (the source platform's adapter); None: files
        # are shown as markers such as "[photo]" (bridge/discord/media_sending.py).
        self._media = media
        self._avatars = avatars
        self._api_url = api_url.rstrip("/") if api_url else None
        self._session: aiohttp.ClientSession | None = None  # webhook posts (see _execute_webhook)
        self._hook_ready_at: dict[int, float] = {}  # webhook id -> loop time its bucket refills
        # Books the requests a post may need besides the one the outbox booked (finding
        # or creating the channel's webhook, the further parts of a long text): the first
        # posts to fifty channels at once otherwise provoked ~35 global 429s
        # (docs/benchmarks.md, flood warm-up).
        self._limiter = limiter
        self.recent_deletes = recent_deletes or RecentDeletes()
        self._state = DiscordState(redis, keys)
        self._idmap = IdMap(redis, keys)
        self._copy_files = CopyFiles(redis, keys)
        self._no_webhook_until: dict[int, float] = {}
        self._hooks: dict[int, _Hook] = {}  # Redis holds them for restarts; this saves a round trip per post
        self._guild_of: dict[int, int] = {}
        self._stats = Stats(redis, keys)
        self._announcements = DiscordAnnouncements(self)

    async def count(self, name: str) -> None:
        """Count what went differently than asked without failing the post (a pin refused)."""
        self._stats.incr_soon(name)

    # -- the Sender protocol ------------------------------------------------------
    async def send(
        self, post: OutboundPost, reply_to: str | None, *, before_post: BeforePost | None = None
    ) -> list[str]:
        if post.announcement:
            return await self._guarded(self._announcements.send(post, before_post))
        timeout = MEDIA_OPERATION_TIMEOUT if self._relays_files(post) else OPERATION_TIMEOUT
        return await self._guarded(self._send_placed(post, reply_to, before_post), timeout)

    async def _send_placed(self, post: OutboundPost, reply_to: str | None, before_post: BeforePost | None) -> list[str]:
        """Post into the thread ``post`` belongs in (threads.py), or the channel itself."""
        if self._threads is None:
            return await self._send_any(post, reply_to, before_post)
        for _ in range(3):  # an archived thread unarchived, a deleted one made anew: then without it
            where = await self._threads.where(post, create=True)
            token = WHERE.set(where)
            opening = bool(where.new_post)  # the first message opens a forum post (its id then in where.thread)
            try:
                ids = await self._send_any(without_head(post) if where.twinned else post, reply_to, before_post)
                if opening:
                    await self._threads.opened(post, where)
                await self._note_thread(post, where, ids)
                return ids
            except ThreadRefused as refused:
                if not await self._threads.refused(post, where, refused.code):
                    break
            finally:
                WHERE.reset(token)
        fallback = self._threads.fallback(post)
        where = await self._threads.where(fallback, create=True)
        token = WHERE.set(where)
        opening = bool(where.new_post)
        try:
            ids = await self._send_any(fallback, reply_to, before_post)
            if opening:
                await self._threads.opened(fallback, where)
            await self._note_thread(post, where, ids)
            return ids
        finally:
            WHERE.reset(token)

    async def _send_any(self, post: OutboundPost, reply_to: str | None, before_post: BeforePost | None) -> list[str]:
        if self._relays_files(post):
            return await self._send_with_files(post, reply_to, before_post)
        return await self._send(post, reply_to, before_post)

    async def _note_thread(self, post: OutboundPost, where: Where, ids: list[str]) -> None:
        if where.thread:
            await self._copy_threads.note(post.destination, str(where.thread), ids, post.retention_days)

    async def _placed(self, post: OutboundPost, operation, message_ids: list[str] | None = None):
        """Run an operation on a post's copies where they are (its twin thread, if any; a
        delete or edit that names no thread, e.g. an erasure's, finds it by its copies)."""
        where = await self._threads.where(post, create=False) if self._threads is not None else Where()
        if where.thread is None and message_ids and not post.private_to:
            found = await self._copy_threads.thread_of(post.destination, message_ids[0])
            if found:
                where = Where(int(found))
        token = WHERE.set(where)
        try:
            return await operation()
        finally:
            WHERE.reset(token)

    async def find_sent(self, intent: DeliveryIntent, post: OutboundPost | None = None) -> list[str | None] | None:
        if post is not None and self._threads is not None:  # a post into a thread is looked for there
            return await self._guarded(self._placed(post, lambda: self._find_sent(intent)))
        return await self._guarded(self._find_sent(intent))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def edit(self, post: OutboundPost, message_ids: list[str]) -> list[str]:
        if post.announcement:
            return await self._guarded(self._announcements.edit(post, message_ids))
        return await self._guarded(self._placed(post, lambda: self._edit(post, message_ids), message_ids))

    async def delete(self, post: OutboundPost, message_ids: list[str]) -> None:
        await self._guarded(self._placed(post, lambda: self._delete_in(post, message_ids), message_ids))

    async def unquote(self, post: OutboundPost, message_ids: list[str]) -> None:
        """Drop the quote (and jump link) of an erased message from the top of a relayed
        reply; the reply itself stays."""
        await self._guarded(
            self._placed(post, lambda: self._unquote(int(post.destination.chat_id), message_ids), message_ids)
        )

    async def notify(self, post: OutboundPost) -> list[str]:
        if post.private_to and self._relays_files(post):
            return await self._guarded(self._notify(post), MEDIA_OPERATION_TIMEOUT)
        return await self._guarded(self._notify(post))

    # -- rendering ---------------------------------------------------------------
    def _relays_files(self, post: OutboundPost) -> bool:
        return self._media is not None and any(media_sending.is_file(a) for a in post.attachments)

    async def _parts(
        self,
        post: OutboundPost,
        channel_id: int,
        reply_to: str | None,
        *,
        file_notes: list[str] | None = None,
        has_files: bool = False,
        prefix: str | None = None,
    ) -> tuple[str, list[str]]:
        """(reply prefix, body parts). The first part leaves room for the
        reply prefix and for the bold label of a fallback post, so either
        form fits in 2000 characters. ``file_notes``: the post's files are
        uploaded (not shown as markers), with these notes for those that cannot
        cross; ``has_files``: some are uploaded, so a post without text is
        one message with files only."""
        label = render.webhook_username(post.sender, post.community)
        if prefix is None:
            prefix = await self._reply_prefix(channel_id, reply_to) if reply_to else ""
        original: list[str] = []
        if post.original.strip():  # the policy shows it, with its own formatting, in a quote that ends the post
            header = original_header(post.language, post.original_language, post.translated_by)
            original = render.quoted_original_parts(
                header, post.original, post.original_formatting, allow_user_mentions=post.allow_mentions
            )
        attachments, notes = post.attachments, post.notes
        if file_notes is not None:
            attachments = media_sending.markers_only(post.attachments)
            notes = (*notes, *file_notes)
        first = render.MAX_CONTENT - len(prefix) - len(render.fallback_prefix(label))
        parts = render.compose_parts(
            post.text,
            post.formatting,
            attachments,
            notes,
            allow_user_mentions=post.allow_mentions,
            first_limit=first,
            original_parts=tuple(original),
        )
        if not parts:
            if has_files:
                return prefix, [""]
            raise DeliveryError("nothing to post (no text, attachments or notes)", permanent=True)
        return prefix, parts

    async def _reply_prefix(self, channel_id: int, reply_to: str) -> str:
        try:
            replied = await self._client.http.get_message(target(channel_id), int(reply_to))
        except (discord.NotFound, discord.Forbidden):
            return ""  # deleted or unreadable (or in another thread): post without the quote
        guild_id = await self._guild_id(channel_id)
        return render.reply_quote(replied.get("content") or "", render.jump_url(guild_id, target(channel_id), reply_to))

    async def _guild_id(self, channel_id: int) -> int:
        if channel_id not in self._guild_of:
            channel = self._client.get_channel(channel_id)
            guild = getattr(channel, "guild", None)
            if guild is not None:
                self._guild_of[channel_id] = guild.id
            else:
                data = await self._client.http.get_channel(channel_id)
                self._guild_of[channel_id] = int(data["guild_id"])
        return self._guild_of[channel_id]

    # -- operations --------------------------------------------------------------
    async def _send(self, post: OutboundPost, reply_to: str | None, before_post: BeforePost | None) -> list[str]:
        channel_id = int(post.destination.chat_id)
        prefix, parts = await self._parts(post, channel_id, reply_to)
        hook = await self._webhook(channel_id)
        if before_post is not None:
            label = render.webhook_username(post.sender, post.community)
            await before_post(
                [
                    _shown(label if hook is not None else None, _content(hook, label, part, index=index, prefix=prefix))
                    for index, part in enumerate(parts)
                ]
            )
        posted: list[str] = []
        try:
            for index, part in enumerate(parts):
                if index:  # the outbox booked one request per post; a long text takes several
                    await self._book(discord_limits(str(channel_id)))
                posted.append(
                    await self._post_one(post, channel_id, hook, part, index=index, prefix=prefix, reply_to=reply_to)
                )
        except BaseException:
            # A split text half posted would be posted again on retry: take
            # the posted parts back so a retry shows the text exactly once.
            await self._take_back(channel_id, hook, posted)
            raise
        return posted

    async def _send_with_files(
        self, post: OutboundPost, reply_to: str | None, before_post: BeforePost | None
    ) -> list[str]:
        """A post with files: fetched first (so what each message will show, sizes
        included, is known before the delivery intent is recorded), then posted as
        messages of text and up to 10 files each. Discord refusing a message's files
        (413 / 40005, or an invalid attachment) takes the post back and posts it again
        with a note in place of those files: once per refused message, never a loop.
        Every fetched file is discarded when done, also on errors."""
        assert self._media is not None
        channel_id = int(post.destination.chat_id)
        limit = await self._upload_limit(channel_id)
        files = await media_sending.fetch_files(self._media, post, limit, self.count)
        voice: Voice | None = None
        try:
            # A voice message in Ogg Opus is posted by the bot as a real voice message
            # after the post (webhooks cannot); the post keeps the label and any text.
            voice = await media_sending.take_voice(files)
            prefix = await self._reply_prefix(channel_id, reply_to) if reply_to else ""
            hook = await self._webhook(channel_id)
            while True:
                try:
                    return await self._post_with_files(
                        post, channel_id, hook, files, prefix, reply_to, before_post, voice=voice
                    )
                except _Refused as refused:
                    await self.count("discord.media.too_large" if refused.too_large else "discord.media.refused")
                    files.refuse(refused.uploads, too_large=refused.too_large)
                except _VoiceRefused:
                    # Not allowed here (or not taken as one): the post carries it as an audio file.
                    assert voice is not None
                    await self.count("discord.media.voice_refused")
                    files.uploads.insert(0, voice.upload)
                    voice = None
        finally:
            files.discard()
            if voice is not None:
                voice.upload.file.discard()

    async def _post_with_files(
        self,
        post: OutboundPost,
        channel_id: int,
        hook: _Hook | None,
        files: PostFiles,
        prefix: str,
        reply_to: str | None,
        before_post: BeforePost | None,
        *,
        voice: Voice | None = None,
    ) -> list[str]:
        _, parts = await self._parts(
            post,
            channel_id,
            reply_to,
            file_notes=files.notes,
            has_files=bool(files.uploads) or voice is not None,
            prefix=prefix,
        )
        if voice is not None and parts == [""] and not files.uploads:
            # Nothing else to show: the post that names the sender says what follows.
            parts = [render.attachment_marker(voice.upload.attachment)]
        groups = files.groups()
        # The text first; the files ride with its last part and the messages after it.
        last_text = len(parts) - 1
        parts += [""] * max(len(groups) - 1, 0)
        carried: list[list[Upload]] = [[] for _ in parts]
        for g, group in enumerate(groups):
            carried[last_text + g] = group
        label = render.webhook_username(post.sender, post.community)
        if before_post is not None:
            shown = [
                media_sending.shown_with_files(
                    label if hook is not None else None,
                    _content(hook, label, part, index=index, prefix=prefix),
                    [u.file.size for u in carried[index]],
                )
                for index, part in enumerate(parts)
            ]
            if voice is not None:  # the bot's voice message: no content, one file
                shown.append(media_sending.shown_with_files(None, "", [voice.size]))
            await before_post(shown)
        posted: list[str] = []
        try:
            for index, part in enumerate(parts):
                if index:
                    await self._book(discord_limits(str(channel_id)))
                try:
                    posted.append(
                        await self._post_one(
                            post,
                            channel_id,
                            hook,
                            part,
                            index=index,
                            prefix=prefix,
                            reply_to=reply_to,
                            files=carried[index],
                        )
                    )
                except FileRefused as exc:
                    raise _Refused(carried[index], exc.too_large) from None
            if voice is not None:
                await self._book(discord_limits(str(channel_id)))
                posted.append(await self._post_voice(channel_id, voice, reply_to=posted[0]))
        except BaseException:
            await self._take_back(channel_id, hook, posted)
            raise
        layout = {posted[i]: [u.attachment.file_id for u in carried[i]] for i in range(len(parts)) if carried[i]}
        if voice is not None:
            layout[posted[-1]] = [voice.upload.attachment.file_id]
        await self._record_files(post, layout)
        return posted

    async def _record_files(self, post: OutboundPost, layout: Layout) -> None:
        """Which copy shows which of the source message's files, for an edit that takes
        files away (only a Discord member can; core/storage/copy_files.py). Best effort:
        the post is out; without the record such an edit leaves the copies' files."""
        if not await self._copy_files.record_post(post, layout):
            await self.count("discord.media.layout_unrecorded")

    async def _upload_limit(self, channel_id: int) -> int:
        """The largest file the channel's server takes (its boost level's limit)."""
        channel = self._client.get_channel(channel_id)
        guild = getattr(channel, "guild", None)
        return discord_upload_limit(getattr(guild, "premium_tier", 0))

    async def _post_one(
        self,
        post: OutboundPost,
        channel_id: int,
        hook: _Hook | None,
        part: str,
        *,
        index: int,
        prefix: str,
        reply_to: str | None,
        files: list[Upload] | None = None,
    ) -> str:
        mentions = render.allowed_mentions(post.allow_mentions)
        label = render.webhook_username(post.sender, post.community)
        content = _content(hook, label, part, index=index, prefix=prefix)
        if hook is not None:
            payload = {"content": content, "username": label, "allowed_mentions": mentions.to_dict()}
            if avatar_url := await self._avatar_url(post, label):
                payload["avatar_url"] = avatar_url
            return await self._execute_webhook(channel_id, hook, payload, files=files)
        # Bot fallback: a bot message can be a real reply.
        reference = None
        if index == 0 and reply_to:
            reference = discord.MessageReference(
                message_id=int(reply_to), channel_id=target(channel_id), fail_if_not_exists=False
            )
        where = WHERE.get()
        if where is not None and where.new_post and not files:
            # A forum post opened by the bot itself (Start Thread in Forum, its first message).
            forum = self._client.get_channel(channel_id)
            if not isinstance(forum, discord.ForumChannel):
                raise DeliveryError("discord: the forum channel is unknown", permanent=True)
            opened = await forum.create_thread(name=where.new_post, content=content, allowed_mentions=mentions)
            where.thread, where.new_post = opened.thread.id, ""
            return str(opened.message.id)
        if not files:
            try:
                message = await self._client.get_partial_messageable(target(channel_id)).send(
                    content, allowed_mentions=mentions, reference=reference
                )
            except discord.HTTPException as exc:
                if WHERE.get() is not None and thread_object() is not None and thread_refusal(exc.status, exc.code):
                    raise ThreadRefused(exc.code) from None
                raise
            return str(message.id)
        # discord.File keeps the open file; discord.py's multipart request streams it.
        with contextlib.ExitStack() as stack:
            uploads = [discord.File(stack.enter_context(open(u.file.path, "rb")), filename=u.filename) for u in files]
            try:
                message = await self._client.get_partial_messageable(target(channel_id)).send(
                    content or None, allowed_mentions=mentions, reference=reference, files=uploads
                )
            except discord.HTTPException as exc:
                refused = media_sending.refusal(exc.status, exc.code, _error_body(exc))
                if refused is not None:
                    raise refused from None
                raise
        return str(message.id)

    async def _post_voice(self, channel_id: int, voice: Voice, *, reply_to: str) -> str:
        """The bot posts the voice message (Create Message with IS_VOICE_MESSAGE, its one
        Ogg Opus file with duration_secs and waveform, no content), replying to the post
        that names its sender. Discord refusing it raises :class:`_VoiceRefused`."""
        reference = {"message_id": reply_to, "channel_id": str(channel_id), "fail_if_not_exists": False}
        payload = voice.payload(reference)
        with open(voice.upload.file.path, "rb") as fp:
            # discord.py's request seeks the file back before each retry of a 429 or 5xx.
            file = discord.File(fp, filename=media_sending.VOICE_FILENAME)
            multipart = [
                {"name": "payload_json", "value": json.dumps(payload)},
                {
                    "name": "files[0]",
                    "value": fp,
                    "filename": media_sending.VOICE_FILENAME,
                    "content_type": "audio/ogg",
                },
            ]
            params = MultipartParameters(payload=payload, multipart=multipart, files=[file])
            try:
                data = await self._client.http.send_message(channel_id, params=params)
            except discord.HTTPException as exc:
                if exc.status in (400, 403) and exc.code in media_sending.VOICE_REFUSALS:
                    raise _VoiceRefused() from None
                refused = media_sending.refusal(exc.status, exc.code, _error_body(exc))
                if refused is not None:
                    raise _VoiceRefused() from None
                raise
        return str(data["id"])

    async def _avatar_url(self, post: OutboundPost, label: str) -> str | None:
        """The post's avatar (bridge/avatars): a public URL that never holds a token."""
        return await self._avatars.url_for(post, label) if self._avatars is not None else None

    async def _execute_webhook(
        self, channel_id: int, hook: _Hook, payload: dict, *, files: list[Upload] | None = None
    ) -> str:
        """Post through the webhook on our own request path, so the post is recorded as
        soon as Discord answers: discord.py's webhook client, when a response empties
        the bucket, sleeps out its reset (up to 2 s) before returning the message, and a
        crash in that sleep left a post on Discord unrecorded. The wait moves to before
        the *next* post of this webhook instead."""
        loop = asyncio.get_running_loop()
        wait = self._hook_ready_at.get(hook.id, 0.0) - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT))
        # The URL holds the webhook's token: it is never logged (errors name status and code only).
        url = f"{self._api_url or api_base()}/webhooks/{hook.id}/{hook.token}"
        params = {"wait": "true"}
        where = WHERE.get()
        if where is not None and where.thread:
            params["thread_id"] = str(where.thread)
        elif where is not None and where.new_post:
            payload = {**payload, "thread_name": where.new_post}  # a forum post opened by this message
        with contextlib.ExitStack() as stack:
            if files:
                # As Discord takes files: the JSON in "payload_json", each file a "files[n]"
                # part named in "attachments"; aiohttp streams each from its open file.
                payload = {**payload, "attachments": [{"id": n, "filename": u.filename} for n, u in enumerate(files)]}
                form = aiohttp.FormData(quote_fields=False)
                form.add_field("payload_json", json.dumps(payload), content_type="application/json")
                for n, upload in enumerate(files):
                    form.add_field(
                        f"files[{n}]",
                        stack.enter_context(open(upload.file.path, "rb")),
                        filename=upload.filename,
                        content_type=upload.mime,
                    )
                request = self._session.post(url, data=form, params=params, timeout=UPLOAD_TIMEOUT)
            else:
                request = self._session.post(url, json=payload, params=params)
            async with request as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
                headers = response.headers
                status = response.status
        if headers.get("X-RateLimit-Remaining") == "0" and status != 429:
            try:
                self._hook_ready_at[hook.id] = loop.time() + float(headers.get("X-RateLimit-Reset-After", 0))
            except ValueError:
                pass
        if 200 <= status < 300 and isinstance(data, dict) and "id" in data:
            if where is not None and where.new_post and data.get("channel_id"):
                where.thread, where.new_post = int(data["channel_id"]), ""  # the post's further parts follow it in
            return str(data["id"])
        code = data.get("code", 0) if isinstance(data, dict) else 0
        if where is not None and where.thread and thread_refusal(status, code):
            raise ThreadRefused(code)
        if files:
            refused = media_sending.refusal(status, code, data)
            if refused is not None:
                raise refused
        if status == 404 and code == UNKNOWN_WEBHOOK:
            # Someone deleted our webhook: forget it; the retry makes a new one.
            await self._forget_webhook(channel_id)
            raise DeliveryError("the channel webhook was deleted", retry_after=0.0)
        retry_after = None
        shared = False
        if status == 429:
            try:
                retry_after = float(data.get("retry_after") if isinstance(data, dict) else headers.get("Retry-After"))
            except (TypeError, ValueError):
                retry_after = 1.0
            # The global limit (body "global", X-RateLimit-Global / -Scope): every channel waits.
            shared = (isinstance(data, dict) and data.get("global") is True) or (
                headers.get("X-RateLimit-Global", "").lower() == "true" or headers.get("X-RateLimit-Scope") == "global"
            )
        raise error_for(status, code, retry_after, shared=shared)

    # -- looking for a post after a crash ------------------------------------------
    async def _find_sent(self, intent: DeliveryIntent) -> list[str | None] | None:
        """The messages of ``intent`` in its channel: posted by our webhook (or the bot)
        after the intent's time, showing what the intent's digests say. Reads the
        channel's history forward from then, a bounded number of pages."""
        channel_id = int(intent.destination.chat_id)
        hook = await self._cached_webhook(channel_id)
        me = self._client.user.id if self._client.user is not None else None
        found: list[str | None] = [None] * len(intent.marks)
        since = datetime.fromtimestamp(intent.at - CLOCK_SKEW, tz=UTC)
        after = discord.utils.time_snowflake(since)
        for _ in range(HISTORY_PAGES):
            await self._book([DISCORD_GLOBAL])
            try:
                page = await self._client.http.logs_from(target(channel_id), HISTORY_PAGE, after=after)
            except discord.Forbidden:
                # No Read Message History here: we cannot tell, as on Telegram.
                log.warning(
                    "cannot read the history of discord:%s to look for a post in flight at a crash; "
                    "grant Read Message History",
                    channel_id,
                )
                return None
            for message in sorted(page, key=lambda m: int(m["id"])):
                author = message.get("author") or {}
                if message.get("webhook_id"):
                    if hook is None or str(message["webhook_id"]) != str(hook.id):
                        continue
                    label = author.get("username") or ""
                elif me is not None and str(author.get("id")) == str(me):
                    label = None
                else:
                    continue
                sizes = [int(a.get("size") or 0) for a in message.get("attachments") or ()]
                content = message.get("content") or ""
                index = intent.match(media_sending.shown_with_files(label, content, sizes))
                if index is None and sizes:  # a post whose file is not one of a member's (an event's .ics)
                    index = intent.match(_shown(label, content))
                if index is not None and found[index] is None:
                    # A message showing the same (the same photo, or "ok", twice within the
                    # clock skew) that is already another message's recorded copy is not this one.
                    origin = await self._idmap.origin(MessageRef(self.platform, str(channel_id), str(message["id"])))
                    if origin is None or origin == (intent.link_id, intent.source):
                        found[index] = str(message["id"])
            if all(found) or len(page) < HISTORY_PAGE:
                break
            after = max(int(m["id"]) for m in page)
        return found

    async def _edit(self, post: OutboundPost, message_ids: list[str]) -> list[str]:
        channel_id = int(post.destination.chat_id)
        where = WHERE.get()
        if where is not None and where.twinned:
            post = without_head(post)
        reply_to = None
        if post.reply_to is not None:
            reply_to = await self._idmap.reply_target(post.link_id, post.reply_to, post.destination)
        if post.source.platform == "discord":
            message_ids = await self._remove_files(post, channel_id, message_ids)
        with_files = self._relays_files(post)
        if with_files:
            # The content only: the files stay (an edit does not send them again); the
            # notes of files too large for this server are shown again from their sizes.
            notes = media_sending.declared_notes(post, await self._upload_limit(channel_id))
            prefix, parts = await self._parts(post, channel_id, reply_to, file_notes=notes, has_files=True)
        else:
            prefix, parts = await self._parts(post, channel_id, reply_to)
        hook = await self._webhook(channel_id)
        label = render.webhook_username(post.sender, post.community)
        mentions = render.allowed_mentions(post.allow_mentions)
        showing: list[str] = []
        for index, part in enumerate(parts):
            if index < len(message_ids):
                try:
                    edited = await self._edit_one(
                        channel_id,
                        hook,
                        int(message_ids[index]),
                        part,
                        prefix=prefix if index == 0 else "",
                        bot_prefix=render.fallback_prefix(label) if index == 0 else "",
                        mentions=mentions,
                    )
                except discord.HTTPException as exc:
                    if exc.code == media_sending.CANNOT_EDIT_VOICE_MESSAGE:
                        # The bot's voice message (it cannot be edited): it stays; the part follows.
                        showing.append(message_ids[index])
                        showing.append(
                            await self._post_one(
                                post, channel_id, hook, part, index=index, prefix=prefix, reply_to=reply_to
                            )
                        )
                        continue
                    if not (exc.code == CANNOT_SEND_EMPTY and index == 0 and media_sending.is_voice_post(post)):
                        raise
                    # The post before a voice message, its text gone: it names what follows.
                    voice_file = next(a for a in post.attachments if media_sending.is_file(a))
                    edited = await self._edit_one(
                        channel_id,
                        hook,
                        int(message_ids[index]),
                        render.attachment_marker(voice_file),
                        prefix=prefix,
                        bot_prefix=render.fallback_prefix(label),
                        mentions=mentions,
                    )
                if edited:
                    showing.append(message_ids[index])
            else:  # the new text needs more parts than the old one had
                showing.append(
                    await self._post_one(post, channel_id, hook, part, index=index, prefix=prefix, reply_to=reply_to)
                )
        if with_files:
            # Messages the shorter text no longer needs may carry files: they stay, emptied.
            for message_id in message_ids[len(parts) :]:
                if await self._empty_or_delete(channel_id, hook, int(message_id), mentions):
                    showing.append(message_id)
            return showing
        await self._delete(channel_id, message_ids[len(parts) :])
        return showing

    async def _remove_files(self, post: OutboundPost, channel_id: int, message_ids: list[str]) -> list[str]:
        """The files the member took off their message (an edit with fewer attachments)
        go from the copies too: each copy that showed one is edited with the attachments it
        keeps, or deleted when nothing would be left (a message with no text and no file,
        or the bot's voice message, which cannot be edited). The copies still showing."""
        layout = await self._copy_files.layout(post.link_id, post.source, post.destination)
        removed = removed_files(layout, {a.file_id for a in post.attachments if media_sending.is_file(a)})
        if not removed:
            return message_ids
        hook = await self._cached_webhook(channel_id)
        showing: list[str] = []
        for message_id in message_ids:
            shown = layout.get(message_id) or []
            if not removed & set(shown):
                showing.append(message_id)
                continue
            keep = [file_id not in removed for file_id in shown]
            if await self._keep_attachments(channel_id, hook, int(message_id), keep):
                showing.append(message_id)
                layout[message_id] = [f for f, k in zip(shown, keep, strict=True) if k]
            else:
                layout.pop(message_id, None)
            await self.count("discord.media.removed")
        layout = {m: files for m, files in layout.items() if files and m in showing}
        await self._copy_files.record(post.link_id, post.source, post.destination, layout, post.retention_days)
        return showing

    async def _keep_attachments(self, channel_id: int, hook: _Hook | None, message_id: int, keep: list[bool]) -> bool:
        """Edit one copy to keep only the attachments ``keep`` marks (in the order they were
        posted; Discord's Edit Message with the kept ones in ``attachments``), or delete it
        when nothing would show. False when the copy is gone (deleted here or before)."""
        try:
            data = await self._client.http.get_message(target(channel_id), message_id)
        except discord.NotFound:
            return False
        attachments = data.get("attachments") or []
        if len(attachments) != len(keep):
            # Not as posted (changed on Discord meanwhile): which is which cannot be told.
            await self.count("discord.media.remove_unmatched")
            return True
        kept = [{"id": str(a["id"])} for a, k in zip(attachments, keep, strict=True) if k]
        voice = int(data.get("flags") or 0) & media_sending.FLAG_IS_VOICE_MESSAGE
        if voice or (not kept and not (data.get("content") or "").strip()):
            await self._delete_one(channel_id, hook, message_id)
            return False
        if hook is not None and str(data.get("webhook_id") or "") == str(hook.id):
            await self._patch_webhook_message(channel_id, hook, message_id, {"attachments": kept})
            return True
        params = MultipartParameters(payload={"attachments": kept}, multipart=None, files=None)
        try:
            await self._client.http.edit_message(target(channel_id), message_id, params=params)
        except discord.NotFound:
            return False
        return True

    async def _patch_webhook_message(self, channel_id: int, hook: _Hook, message_id: int, payload: dict) -> None:
        """Edit Webhook Message with a JSON body discord.py's webhook client cannot build
        (attachments named by id only)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT))
        url = f"{self._api_url or api_base()}/webhooks/{hook.id}/{hook.token}/messages/{message_id}"
        thread = thread_object()
        params = {"thread_id": str(thread.id)} if thread is not None else {}
        async with self._session.patch(url, json=payload, params=params) as response:
            status = response.status
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = None
        if 200 <= status < 300:
            return
        code = data.get("code", 0) if isinstance(data, dict) else 0
        if status == 404 and code == UNKNOWN_WEBHOOK:
            await self._forget_webhook(channel_id)
        raise error_for(status, code, None)

    async def _empty_or_delete(
        self, channel_id: int, hook: _Hook | None, message_id: int, mentions: discord.AllowedMentions
    ) -> bool:
        """Empty a message's content, keeping its files; a message without files (Discord:
        50006 Cannot send an empty message) is deleted. True when it still shows."""
        try:
            return await self._edit_one(channel_id, hook, message_id, "", prefix="", bot_prefix="", mentions=mentions)
        except discord.HTTPException as exc:
            if exc.code == media_sending.CANNOT_EDIT_VOICE_MESSAGE:
                return True  # the bot's voice message: it has no text to empty
            if exc.code != CANNOT_SEND_EMPTY:
                raise
        await self._delete(channel_id, [str(message_id)])
        return False

    async def _edit_one(
        self,
        channel_id: int,
        hook: _Hook | None,
        message_id: int,
        part: str,
        *,
        prefix: str,
        bot_prefix: str,
        mentions: discord.AllowedMentions,
    ) -> bool:
        """Edit one copy; False when it no longer exists."""
        if hook is not None:
            try:
                await self._webhook_client(hook).edit_message(
                    message_id, content=prefix + part, allowed_mentions=mentions, **_in_thread()
                )
                return True
            except discord.NotFound as exc:
                if exc.code == UNKNOWN_WEBHOOK:
                    await self._forget_webhook(channel_id)
                # Otherwise not a post of this webhook: a fallback post, or gone.
        try:
            await (
                self._client.get_partial_messageable(target(channel_id))
                .get_partial_message(message_id)
                .edit(content=bot_prefix + part, allowed_mentions=mentions)
            )
            return True
        except discord.NotFound:
            return False

    async def _delete_in(self, post: OutboundPost, message_ids: list[str]) -> None:
        if post.private_to:
            # A notice sent to a member's DMs (erasure takes it back): their DM channel.
            dm = await self._client.create_dm(discord.Object(id=int(post.private_to)))
            channel_id = dm.id
        else:
            channel_id = int(post.destination.chat_id)
        await self._delete(channel_id, message_ids)

    async def _unquote(self, channel_id: int, message_ids: list[str]) -> None:
        if not message_ids:
            return
        hook = await self._cached_webhook(channel_id)
        first = int(message_ids[0])  # the quote heads the first part only
        try:
            if hook is not None:
                message = await self._webhook_client(hook).fetch_message(first, **_in_thread())
                content = message.content
            else:
                content = (await self._client.http.get_message(target(channel_id), first)).get("content") or ""
        except discord.NotFound:
            return  # gone already
        kept = render.strip_reply_quote(content)
        if kept == content:
            return
        await self._edit_one(
            channel_id,
            hook,
            first,
            kept or render.ERASED_QUOTE,
            prefix="",
            bot_prefix="",
            mentions=discord.AllowedMentions.none(),
        )

    async def _delete(self, channel_id: int, message_ids: list[str]) -> None:
        hook = await self._cached_webhook(channel_id) if message_ids else None
        for message_id in message_ids:
            await self._delete_one(channel_id, hook, int(message_id))

    async def _delete_one(self, channel_id: int, hook: _Hook | None, message_id: int) -> None:
        self.recent_deletes.add(message_id)
        if hook is not None:
            try:
                await self._webhook_client(hook).delete_message(message_id, **_in_thread())
                return
            except discord.NotFound as exc:
                if exc.code == UNKNOWN_WEBHOOK:
                    await self._forget_webhook(channel_id)
                # Otherwise a fallback post (or already gone): delete it as the bot.
        try:
            await self._client.get_partial_messageable(target(channel_id)).get_partial_message(message_id).delete()
        except discord.NotFound:
            pass  # already deleted: that is what we wanted

    async def _take_back(self, channel_id: int, hook: _Hook | None, message_ids: list[str]) -> None:
        for message_id in message_ids:
            try:
                await asyncio.wait_for(self._delete_one(channel_id, hook, int(message_id)), timeout=10)
            except Exception:  # noqa: BLE001 - best effort; the original error is what matters
                log.warning("could not take back part of a split post in discord:%s", channel_id)

    # -- notices ---------------------------------------------------------------------
    async def _notify(self, post: OutboundPost) -> list[str]:
        """A notice from the bot: by direct message if possible (members can close
        their DMs), else the fallback as a reply in the channel."""
        if post.private_to:
            try:
                dm = await self._client.create_dm(discord.Object(id=int(post.private_to)))
                ids = await self._send_plain(dm, post.text, post.buttons, None)
                if self._relays_files(post):
                    ids += await self._preview_files(dm, post)
                return ids
            except discord.Forbidden:
                if not post.fallback:
                    raise DeliveryError("discord: the member does not accept direct messages", permanent=True) from None
            channel = self._client.get_partial_messageable(int(post.destination.chat_id))
            return await self._send_plain(channel, post.fallback, (), post.source.message_id)
        channel = self._client.get_partial_messageable(int(post.destination.chat_id))
        in_chat = post.reply_to is not None and post.reply_to.chat == post.destination
        # A notice about a message in this channel (a file that did not cross) answers it.
        return await self._send_plain(channel, post.text, post.buttons, post.reply_to.message_id if in_chat else None)

    async def _preview_files(self, dm, post: OutboundPost) -> list[str]:
        """The files a notice carries (a held message's, for its moderator), under it in the
        DM: fetched from the held message's platform, up to 10 per message within Discord's
        default limit; those that cannot be shown are named in a line instead."""
        assert self._media is not None
        files = await media_sending.fetch_files(self._media, post, DISCORD_DEFAULT_UPLOAD_LIMIT, self.count)
        ids: list[str] = []
        try:
            for group in files.groups():
                with contextlib.ExitStack() as stack:
                    uploads = [
                        discord.File(stack.enter_context(open(u.file.path, "rb")), filename=u.filename) for u in group
                    ]
                    try:
                        message = await dm.send(files=uploads, allowed_mentions=discord.AllowedMentions.none())
                    except discord.HTTPException as exc:
                        if media_sending.refusal(exc.status, exc.code, _error_body(exc)) is None:
                            raise
                        files.refuse(group, too_large=exc.status == 413 or exc.code == 40005)
                        await self.count("discord.media.refused")
                        continue
                ids.append(str(message.id))
            if files.notes:
                ids += await self._send_plain(dm, "\n".join(files.notes), (), None)
        finally:
            files.discard()
        return ids

    async def _send_plain(self, channel, text: str, buttons, reply_to: str | None) -> list[str]:
        view = None
        if buttons:
            view = discord.ui.View(timeout=None)
            for label, data in buttons:
                style = discord.ButtonStyle.success if data.startswith("approve") else discord.ButtonStyle.danger
                view.add_item(discord.ui.Button(label=label, custom_id=data, style=style))
        # Notices are plain text, and may quote a member (a held message shown to a moderator).
        parts = render.split(render.escape(text.strip()) or "…")
        ids = []
        for index, part in enumerate(parts):
            reference = None
            if index == 0 and reply_to and str(reply_to).isdigit():
                reference = discord.MessageReference(
                    message_id=int(reply_to), channel_id=channel.id, fail_if_not_exists=False
                )
            kwargs = {"view": view} if view is not None and index == len(parts) - 1 else {}
            message = await channel.send(
                part, allowed_mentions=discord.AllowedMentions.none(), reference=reference, **kwargs
            )
            ids.append(str(message.id))
        return ids

    # -- the channel webhook ---------------------------------------------------
    def _webhook_client(self, hook: _Hook) -> discord.Webhook:
        return discord.Webhook.partial(hook.id, hook.token, client=self._client)

    async def _cached_webhook(self, channel_id: int) -> _Hook | None:
        hook = self._hooks.get(channel_id)
        if hook is not None:
            return hook
        stored = await self._state.webhook(channel_id)
        if stored is None:
            return None
        hook = self._hooks[channel_id] = _Hook(*stored)
        return hook

    async def _forget_webhook(self, channel_id: int) -> None:
        self._hooks.pop(channel_id, None)
        await self._state.forget_webhook(channel_id)

    async def _webhook(self, channel_id: int) -> _Hook | None:
        """Our webhook in the channel (cached in Redis; reused if listed, else
        created), or None when the bot has to post itself."""
        cached = await self._cached_webhook(channel_id)
        if cached is not None:
            return cached
        loop = asyncio.get_running_loop()
        if loop.time() < self._no_webhook_until.get(channel_id, 0.0):
            return None
        try:
            await self._book([DISCORD_GLOBAL])
            hooks = await self._client.http.channel_webhooks(channel_id)
            data = next((h for h in hooks if self._is_ours(h)), None)
            if data is None:
                await self._book([DISCORD_GLOBAL])
                data = await self._client.http.create_webhook(channel_id, name=WEBHOOK_NAME, reason=WEBHOOK_REASON)
            # The slot the outbox booked for the post went by while we looked: book again.
            await self._book([DISCORD_GLOBAL])
        except discord.Forbidden:
            log.warning(
                "no Manage Webhooks permission in discord:%s; posting as the bot (grant it for per-sender names)",
                channel_id,
            )
            self._no_webhook_until[channel_id] = loop.time() + NO_WEBHOOK_RECHECK
            return None
        except discord.HTTPException as exc:
            if exc.code != MAX_WEBHOOKS:
                raise
            log.warning("discord:%s already has 15 webhooks; posting as the bot", channel_id)
            self._no_webhook_until[channel_id] = loop.time() + NO_WEBHOOK_RECHECK
            return None
        hook = self._hooks[channel_id] = _Hook(int(data["id"]), data["token"])
        await self._state.save_webhook(channel_id, hook.id, hook.token)
        return hook

    async def _book(self, limits) -> None:
        if self._limiter is not None:
            await self._limiter.acquire(limits)

    def _is_ours(self, data: dict) -> bool:
        if data.get("name") != WEBHOOK_NAME or not data.get("token"):
            return False
        me = self._client.user
        owner = (data.get("user") or {}).get("id")
        app = data.get("application_id")
        return (me is not None and owner == str(me.id)) or (
            app is not None and self._client.application_id is not None and app == str(self._client.application_id)
        )

    # -- errors ------------------------------------------------------------------
    async def _guarded(self, operation, timeout: float = OPERATION_TIMEOUT):
        try:
            return await asyncio.wait_for(operation, timeout=timeout)
        except DeliveryError:
            raise
        except discord.RateLimited as exc:
            raise DeliveryError("rate limited by Discord", retry_after=exc.retry_after) from None
        except discord.HTTPException as exc:
            raise delivery_error(exc) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"Discord unreachable ({exc.__class__.__name__})") from None


class _VoiceRefused(Exception):
    """Discord would not take the voice message as one (see :data:`media_sending.VOICE_REFUSALS`)."""


class _Refused(Exception):
    """Discord refused these files of a post (see :class:`media_sending.FileRefused`)."""

    def __init__(self, uploads: list[Upload], too_large: bool):
        super().__init__("files refused")
        self.uploads = uploads
        self.too_large = too_large


def _error_body(exc: discord.HTTPException) -> dict:
    """Discord's error answer as discord.py keeps it: the message, and each failing
    field as an "In <field>: ..." line of ``text``."""
    text = exc.text or ""
    return {"errors": {field: True for field in ("attachments", "files") if f"In {field}" in text}}


def _in_thread() -> dict:
    """discord.py's ``thread=`` for a webhook message call in the delivery's thread."""
    thread = thread_object()
    return {"thread": thread} if thread is not None else {}


def delivery_error(exc: discord.HTTPException) -> DeliveryError:
    """Map a failed Discord request; the reason names status and code only."""
    retry_after = None
    if exc.status == 429:
        headers = getattr(exc.response, "headers", None) or {}
        try:
            retry_after = float(headers.get("Retry-After"))
        except (TypeError, ValueError):
            pass
    return error_for(exc.status, exc.code, retry_after)


def error_for(status: int, code: int, retry_after: float | None, *, shared: bool = False) -> DeliveryError:
    reason = f"Discord answered HTTP {status} (code {code})"
    if status == 429:
        return DeliveryError(reason, retry_after=retry_after, shared=shared)
    if status >= 500 or status in (401, 408):
        return DeliveryError(reason)  # transient (401: a token being rotated)
    if status == 404 and code == UNKNOWN_CHANNEL:
        return DeliveryError("unknown channel (deleted, or the bot was removed)", permanent=True)
    return DeliveryError(reason, permanent=True)


def _content(hook: _Hook | None, label: str, part: str, *, index: int, prefix: str) -> str:
    """What one message of a post says: a webhook post names the sender as its username,
    a post by the bot itself in a bold first line."""
    if index:
        return part
    return prefix + part if hook is not None else render.fallback_prefix(label) + part
