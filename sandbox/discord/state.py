"""The recorded world of the Discord stand-in: guilds and channels, users and their DM
channels, every message as Discord stores it, and what the bot and its webhooks posted.

Every change that Discord would announce on the gateway (a message created, edited or
deleted, a channel created, an interaction) goes to :meth:`DiscordState.dispatch`, which
hands it to the subscribed gateway; the world itself knows nothing about websockets.
"""

from __future__ import annotations

import base64
import contextvars
import copy
import mimetypes
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from sandbox.discord import forms
from sandbox.discord.protocol import (
    MAX_WAVEFORM,
    CHANNEL_DM,
    CHANNEL_GUILD_FORUM,
    CHANNEL_GUILD_TEXT,
    CHANNEL_PUBLIC_THREAD,
    DISCORD_EPOCH_MS,
    ALL_PERMISSIONS,
    ATTACHMENT_FLAG_IS_SPOILER,
    BOT_SETTABLE_FLAGS,
    FLAG_IS_VOICE_MESSAGE,
    MAX_ATTACHMENTS,
    REQUEST_ENTITY_TOO_LARGE,
    UPLOAD_LIMIT_BY_TIER,
    WEBHOOK_SETTABLE_FLAGS,
    PERM_ADMINISTRATOR,
    PERM_EMBED_LINKS,
    PERM_MANAGE_EVENTS,
    PERM_MANAGE_MESSAGES,
    PERM_MANAGE_WEBHOOKS,
    PERM_PIN_MESSAGES,
    PERM_READ_HISTORY,
    PERM_SEND_MESSAGES,
    PERM_VIEW_CHANNEL,
    DiscordError,
    FormError,
    UploadedFile,
    iso,
    snowflake,
)

# When the request being handled reached the stand-in (perf_counter), for receipts:
# set by the REST middleware, read when a post is recorded.
RECEIVED_AT: contextvars.ContextVar[float] = contextvars.ContextVar("received_at", default=0.0)

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(everyone|here)")
_MEMBER_SINCE = "2024-01-01T00:00:00.000000+00:00"


def _role(role_id: int, name: str, permissions: int, *, position: int) -> dict:
    """A role object as Discord sends it."""
    return {
        "id": str(role_id),
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }


class Snowflakes:
    """Discord ids: milliseconds since the Discord epoch << 22, strictly increasing."""

    def __init__(self) -> None:
        self._last = 0
        self._increment = 0

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        self._increment = (self._increment + 1) & 0xFFF
        value = (ms << 22) | (1 << 17) | self._increment
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value


class DiscordState:
    """Guilds, channels, users, DMs and messages of one bot's Discord, and its posts.

    ``guilds`` maps guild id -> ``{"name": str, "channels": {channel_id: name}}``.
    ``manage_webhooks`` is whether the bot's role has Manage Webhooks, ``pin_messages``
    whether it has Pin Messages, ``manage_events`` whether it has Manage Events (both
    may be changed at any time: a request without the permission is answered 403
    Missing Permissions, 50013); ``receipts`` stamps each post with the perf_counter
    time its request arrived.
    """

    def __init__(
        self,
        token: str,
        guilds: dict[int, dict] | None,
        *,
        bot_id: int,
        application_id: int,
        bot_name: str,
        manage_webhooks: bool,
        receipts: bool,
        pin_messages: bool = True,
        manage_events: bool = True,
    ):
        self.token = token
        self.bot_id = bot_id
        self.application_id = application_id
        self.bot_name = bot_name
        self.manage_webhooks = manage_webhooks
        self.send_messages = True  # the bot's role has Send Messages (in a forum: Create Posts)
        self.pin_messages = pin_messages
        self.manage_events = manage_events
        self.receipts = receipts
        self.pins: dict[int, list[tuple[int, str]]] = {}  # channel -> (message id, pinned_at), oldest first
        self.scheduled_events: dict[int, list[dict]] = {}  # guild -> events, as Discord answers them
        self.attachment_data: dict[int, bytes] = {}  # attachment id -> the uploaded bytes
        # Where attachments are downloaded: the stand-in's own address once it serves
        # (sandbox/discord/files.py), with a signature per attachment that
        # expire_attachment_url changes (as Discord's CDN links expire).
        self.file_base = ""
        self.attachment_signatures: dict[int, str] = {}
        self.ids = Snowflakes()
        self.guilds: dict[int, dict] = {}
        self.channel_guild: dict[int, int] = {}
        self.messages: dict[int, dict[int, dict]] = {}  # channel -> id -> message (API shape)
        self.users: dict[int, dict] = {bot_id: self.bot_user()}
        self.dm_users: dict[int, int] = {}  # DM channel id -> its user's id
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.closed_dms: set[int] = set()
        self.roles: dict[int, dict[int, dict]] = {}  # guild -> role id -> role (besides @everyone)
        self.member_roles: dict[tuple[int, int], list[int]] = {}  # (guild, user) -> role ids
        self.threads: dict[int, dict] = {}  # thread id -> the thread channel (API shape)
        self.forums: set[int] = set()  # forum channels (type 15) among the guilds' channels
        self._posts: list[dict] = []
        self._listeners: list[Callable[[str, dict], None]] = []
        for guild_id, guild in (guilds or {}).items():
            self.guilds[int(guild_id)] = {
                "name": guild.get("name", f"guild {guild_id}"),
                "channels": {},
                "premium_tier": int(guild.get("premium_tier", 0)),
            }
            for channel_id, name in (guild.get("channels") or {}).items():
                self._add_channel(int(guild_id), int(channel_id), name)

    # -- events ------------------------------------------------------------------
    def subscribe(self, listener: Callable[[str, dict], None]) -> None:
        self._listeners.append(listener)

    def dispatch(self, event: str, data: dict) -> None:
        for listener in self._listeners:
            listener(event, data)

    # -- guilds and channels -------------------------------------------------------
    def add_channel(self, guild_id: int, channel_id: int, name: str) -> None:
        self.guilds.setdefault(int(guild_id), {"name": f"guild {guild_id}", "channels": {}})
        self._add_channel(int(guild_id), int(channel_id), name)
        self.dispatch("CHANNEL_CREATE", self.channel_payload(int(channel_id)))

    def _add_channel(self, guild_id: int, channel_id: int, name: str) -> None:
        self.guilds[guild_id]["channels"][channel_id] = name
        self.channel_guild[channel_id] = guild_id
        self.messages.setdefault(channel_id, {})

    # -- roles ----------------------------------------------------------------------
    def add_role(self, guild_id: int, name: str, permissions: int) -> int:
        """A new role in the guild with ``permissions`` (Discord's bit set, e.g. 1 << 5 for
        Manage Server, 1 << 3 for Administrator); dispatches GUILD_ROLE_CREATE. Its id."""
        guild_id = int(guild_id)
        if guild_id not in self.guilds:
            raise ValueError(f"no guild {guild_id}")
        roles = self.roles.setdefault(guild_id, {})
        role_id = self.ids.next()
        roles[role_id] = _role(role_id, name, permissions, position=len(roles) + 1)
        self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": copy.deepcopy(roles[role_id])})
        return role_id

    def give_role(self, guild_id: int, user: dict, role_id: int) -> None:
        """The member gets the role: their messages' ``member.roles`` and their interactions'
        ``member.roles`` and ``member.permissions`` say so from now on. (Discord announces
        it as GUILD_MEMBER_UPDATE only to bots with the Server Members intent, which the
        bridge does not ask for: nothing is dispatched.)"""
        guild_id, role_id = int(guild_id), int(role_id)
        if role_id not in self.roles.get(guild_id, {}):
            raise ValueError(f"no role {role_id} in guild {guild_id}")
        member = self.remember_user(user)
        held = self.member_roles.setdefault((guild_id, int(member["id"])), [])
        if role_id not in held:
            held.append(role_id)

    def member_role_ids(self, guild_id: int, user_id: int) -> list[str]:
        return [str(r) for r in self.member_roles.get((int(guild_id), int(user_id)), [])]

    def member_permissions(self, guild_id: int, user_id: int, base: int) -> int:
        """``base`` (what the member has without roles) with their roles' permissions; every
        permission with Administrator, as Discord computes it for interactions."""
        permissions = base
        for role_id in self.member_roles.get((int(guild_id), int(user_id)), []):
            permissions |= int(self.roles[int(guild_id)][role_id]["permissions"])
        return ALL_PERMISSIONS if permissions & PERM_ADMINISTRATOR else permissions

    def add_forum(self, guild_id: int, channel_id: int, name: str) -> None:
        """A forum channel (type 15): members open posts in it, each a thread."""
        self.forums.add(int(channel_id))
        self.add_channel(guild_id, channel_id, name)

    def add_thread(
        self, parent_id: int, name: str, *, owner_id: int | None = None, thread_id: int | None = None
    ) -> int:
        """A public thread (a forum post, in a forum) of ``parent_id``; dispatches
        THREAD_CREATE (newly_created) as Discord does to those who can see the parent.
        Returns the thread's id (a forum post's equals its first message's)."""
        parent_id = int(parent_id)
        guild_id = self.channel_guild[parent_id]
        thread_id = int(thread_id) if thread_id is not None else self.ids.next()
        now = iso(int(time.time() * 1000))
        self.threads[thread_id] = {
            "id": str(thread_id),
            "type": CHANNEL_PUBLIC_THREAD,
            "guild_id": str(guild_id),
            "parent_id": str(parent_id),
            "owner_id": str(owner_id or self.bot_id),
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
            "applied_tags": [],
        }
        self.channel_guild[thread_id] = guild_id
        self.messages.setdefault(thread_id, {})
        self.dispatch("THREAD_CREATE", {**copy.deepcopy(self.threads[thread_id]), "newly_created": True})
        return thread_id

    def inject_forum_post(self, forum_id: int, author: dict, title: str, content: str) -> dict:
        """A member opens a post in a forum: a thread named ``title`` whose id is its
        first message's, then that message (THREAD_CREATE, then MESSAGE_CREATE)."""
        if int(forum_id) not in self.forums:
            raise ValueError(f"channel {forum_id} is not a forum")
        thread_id = self.add_thread(forum_id, title, owner_id=int(author["id"]), thread_id=self.ids.next())
        return self.inject_message(thread_id, author, content, message_id=thread_id)

    def channel_payload(self, channel_id: int) -> dict:
        if channel_id in self.threads:
            return copy.deepcopy(self.threads[channel_id])
        messages = self.messages.get(channel_id) or {}
        last_message_id = str(next(reversed(messages))) if messages else None
        if channel_id in self.dm_users:
            user = self.users[self.dm_users[channel_id]]
            return {
                "id": str(channel_id),
                "type": CHANNEL_DM,
                "flags": 0,
                "recipients": [copy.deepcopy(user)],
                "last_message_id": last_message_id,
            }
        guild_id = self.channel_guild[channel_id]
        names = list(self.guilds[guild_id]["channels"])
        return {
            "id": str(channel_id),
            "type": CHANNEL_GUILD_FORUM if channel_id in self.forums else CHANNEL_GUILD_TEXT,
            "guild_id": str(guild_id),
            "name": self.guilds[guild_id]["channels"][channel_id],
            "position": names.index(channel_id),
            "permission_overwrites": [],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "flags": 0,
            "last_message_id": last_message_id,
        }

    def bot_permissions(self) -> int:
        return (
            PERM_VIEW_CHANNEL
            | (PERM_SEND_MESSAGES if self.send_messages else 0)
            | PERM_MANAGE_MESSAGES
            | PERM_EMBED_LINKS
            | PERM_READ_HISTORY
            | (PERM_MANAGE_WEBHOOKS if self.manage_webhooks else 0)
            | (PERM_PIN_MESSAGES if self.pin_messages else 0)
            | (PERM_MANAGE_EVENTS if self.manage_events else 0)
        )

    def guild_payload(self, guild_id: int) -> dict:
        """A guild as GUILD_CREATE carries it: roles, the bot as member, the channels."""
        guild = self.guilds[guild_id]
        permissions = self.bot_permissions()
        return {
            "id": str(guild_id),
            "name": guild["name"],
            "icon": None,
            "splash": None,
            "banner": None,
            "owner_id": "900000000000000009",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "premium_tier": guild.get("premium_tier", 0),
            "premium_subscription_count": {0: 0, 1: 2, 2: 7, 3: 14}.get(guild.get("premium_tier", 0), 0),
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": _MEMBER_SINCE,
            "large": False,
            "unavailable": False,
            "member_count": 2,
            "lazy": True,
            "roles": [
                _role(guild_id, "@everyone", permissions, position=0),
                *copy.deepcopy(list(self.roles.get(guild_id, {}).values())),
            ],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "threads": [copy.deepcopy(t) for t in self.threads.values() if t["guild_id"] == str(guild_id)],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "members": [
                {
                    "user": self.bot_user(),
                    "roles": [],
                    "nick": None,
                    "avatar": None,
                    "joined_at": _MEMBER_SINCE,
                    "premium_since": None,
                    "deaf": False,
                    "mute": False,
                    "pending": False,
                    "flags": 0,
                    "communication_disabled_until": None,
                }
            ],
            "channels": [self.channel_payload(c) for c in guild["channels"]],
        }

    def known_channel(self, raw_id: str) -> int:
        """The guild or DM channel a path names, or Discord's error for it."""
        channel_id = snowflake(raw_id, "channel_id")
        if channel_id not in self.channel_guild and channel_id not in self.dm_users:
            raise DiscordError(404, "Unknown Channel", 10003)
        return channel_id

    def require_channel(self, channel_id: int) -> None:
        if channel_id not in self.channel_guild and channel_id not in self.dm_users:
            raise KeyError(f"unknown channel {channel_id}: add it with add_channel() (or open a DM)")

    # -- users and DM channels -------------------------------------------------------
    def bot_user(self) -> dict:
        return {
            "id": str(self.bot_id),
            "username": self.bot_name,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "public_flags": 0,
            "email": None,
            "locale": "en-US",
            "premium_type": 0,
        }

    def user(self, user_id: int) -> dict:
        """Every snowflake is a user, as on Discord: those the stand-in never saw get a
        plain profile (``add_user``, ``inject_message`` and interactions give them a name)."""
        if user_id not in self.users:
            self.users[user_id] = {
                "id": str(user_id),
                "username": f"user{user_id}",
                "global_name": None,
                "discriminator": "0",
                "avatar": None,
                "public_flags": 0,
                "flags": 0,
            }
        return self.users[user_id]

    def remember_user(self, author: dict) -> dict:
        user = {
            "id": str(author["id"]),
            "username": author.get("username") or f"user{author['id']}",
            "global_name": author.get("global_name"),
            "discriminator": author.get("discriminator", "0"),
            "avatar": author.get("avatar"),
            "public_flags": 0,
            "flags": 0,
        }
        if author.get("bot"):
            user["bot"] = True
        if author.get("system"):
            user["system"] = True
        self.users[int(user["id"])] = user
        return user

    def dm_channel(self, user_id: int) -> int:
        if user_id not in self.dm_channels:
            channel_id = self.ids.next()
            self.dm_channels[user_id] = channel_id
            self.dm_users[channel_id] = user_id
            self.messages[channel_id] = {}
        return self.dm_channels[user_id]

    def add_user(self, user: dict) -> dict:
        """Give a member who has not written anything yet their name (GET /users/{id},
        DM recipients); unknown ids are users too, with a plain ``user<id>`` profile."""
        return copy.deepcopy(self.remember_user(user))

    def close_dms(self, user_id: int) -> None:
        """The user does not accept DMs from the bot: posts to their DM channel get 403
        "Cannot send messages to this user" (50007); opening the channel still works."""
        self.closed_dms.add(int(user_id))

    def open_dms(self, user_id: int) -> None:
        self.closed_dms.discard(int(user_id))

    def dm_channel_id(self, user_id: int) -> int:
        """The id of the user's DM channel with the bot (the one POST /users/@me/channels opens)."""
        self.user(int(user_id))
        return self.dm_channel(int(user_id))

    # -- messages ------------------------------------------------------------------
    def new_message(self, channel_id: int, author: dict, content: str, *, member: bool) -> dict:
        message_id = self.ids.next()
        guild_id = self.channel_guild.get(channel_id)
        ms = (message_id >> 22) + DISCORD_EPOCH_MS
        message: dict[str, Any] = {
            "id": str(message_id),
            "type": 0,
            "channel_id": str(channel_id),
            "guild_id": str(guild_id),
            "author": dict(author),
            "content": content,
            "timestamp": iso(ms),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "flags": 0,
        }
        if guild_id is None:  # a DM
            del message["guild_id"]
        elif member:
            message["member"] = {
                "roles": self.member_role_ids(guild_id, int(author["id"])),
                "nick": None,
                "avatar": None,
                "banner": None,
                "premium_since": None,
                "pending": False,
                "mute": False,
                "deaf": False,
                "flags": 0,
                "joined_at": _MEMBER_SINCE,
                "communication_disabled_until": None,
            }
        return message

    def attachment(self, data: dict, channel_id: int = 0) -> dict:
        """A new attachment; with ``data`` (its bytes) it is stored and served for download."""
        attachment_id = self.ids.next()
        filename = data.get("filename", "file.bin")
        if "data" in data:
            self.attachment_data[attachment_id] = bytes(data["data"])
        url = data.get("url") or self.attachment_url(attachment_id, filename, channel_id)
        attachment = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data["data"]) if "data" in data else int(data.get("size", 1024)),
            "url": url,
            "proxy_url": url,
            "content_type": data.get("content_type"),
            **{
                k: v
                for k, v in data.items()
                if k in ("width", "height", "description", "duration_secs", "waveform", "flags")
            },
        }
        if filename.startswith("SPOILER_"):
            attachment["flags"] = int(attachment.get("flags") or 0) | ATTACHMENT_FLAG_IS_SPOILER
        return attachment

    def attachment_url(self, attachment_id: int, filename: str, channel_id: int = 0) -> str:
        """Its download address: Discord's CDN form, on the stand-in's own host once it serves."""
        signature = self.attachment_signatures.setdefault(attachment_id, secrets.token_hex(4))
        base = self.file_base or "https://cdn.discordapp.com"
        return f"{base}/attachments/{channel_id}/{attachment_id}/{filename}?ex={signature}"

    def upload_limit(self, channel_id: int) -> int:
        """The largest file the channel's server takes (its boost level's limit)."""
        guild_id = self.channel_guild.get(channel_id)
        tier = self.guilds[guild_id].get("premium_tier", 0) if guild_id in self.guilds else 0
        return UPLOAD_LIMIT_BY_TIER.get(tier, UPLOAD_LIMIT_BY_TIER[0])

    def check_message_files(self, channel_id: int, body: dict, files: dict[int, UploadedFile], *, via: str) -> None:
        """A new message's files and flags, as Discord checks them: each file within the
        server's limit (413, 40005), at most 10, only the flags the route may set, and a
        voice message (IS_VOICE_MESSAGE, bot route only) exactly one audio file with
        duration_secs and waveform and no content (50159, 50160, 50161)."""
        limit = self.upload_limit(channel_id)
        if any(len(f.data) > limit for f in files.values()):
            raise DiscordError(413, "Request entity too large", REQUEST_ENTITY_TOO_LARGE)
        if len(files) > MAX_ATTACHMENTS:
            raise FormError(("attachments",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ATTACHMENTS} or fewer in length.")
        flags = int(body.get("flags") or 0)
        settable = WEBHOOK_SETTABLE_FLAGS if via == "webhook" else BOT_SETTABLE_FLAGS
        if flags & ~settable:
            raise FormError(("flags",), "MESSAGE_FLAGS_INVALID", "Invalid flags.")
        if flags & FLAG_IS_VOICE_MESSAGE:
            if (body.get("content") or "").strip() or body.get("embeds") or body.get("sticker_ids"):
                raise DiscordError(400, "Voice messages do not support additional content.", 50159)
            upload = next(iter(files.values()), None) if len(files) == 1 else None
            if upload is None or not (upload.content_type or "").startswith("audio/"):
                raise DiscordError(400, "Voice messages must have a single audio attachment.", 50160)
            entries = body.get("attachments") or []
            entry = entries[0] if len(entries) == 1 and isinstance(entries[0], dict) else {}
            if entry.get("duration_secs") is None or entry.get("waveform") is None:
                raise DiscordError(400, "Voice messages must have supporting metadata.", 50161)
            duration = entry["duration_secs"]
            if isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0:
                raise FormError(("attachments", 0, "duration_secs"), "NUMBER_TYPE_COERCE", "Value is not a number.")
            try:
                shape = base64.b64decode(str(entry["waveform"]), validate=True)
            except ValueError:
                shape = None
            if shape is None or len(shape) > MAX_WAVEFORM:
                # A base64 byte array of at most 256 amplitude samples.
                raise FormError(("attachments", 0, "waveform"), "BASE_TYPE_BAD_LENGTH", "Invalid waveform.")

    def uploaded(self, body: dict, files: dict[int, UploadedFile], kept: list[dict], channel_id: int = 0) -> list[dict]:
        """The attachments a create or edit leaves on a message: the ``attachments``
        entries naming an existing attachment by id (``kept``, an edit's) or a file part
        by its index, and any file part not named (Discord attaches those too)."""
        by_id = {a["id"]: a for a in kept}
        result: list[dict] = []
        used: set[int] = set()
        entries = body.get("attachments")
        for position, entry in enumerate(entries or []):
            if not isinstance(entry, dict) or "id" not in entry:
                raise FormError(("attachments", position, "id"), "BASE_TYPE_REQUIRED", "This field is required")
            if str(entry["id"]) in by_id:
                result.append(by_id[str(entry["id"])])
                continue
            try:
                index = int(entry["id"])
            except (TypeError, ValueError):
                index = -1
            if index not in files:
                raise FormError(
                    ("attachments", position, "id"), "ATTACHMENT_NOT_FOUND", f"Attachment data not found: {entry['id']}"
                )
            used.add(index)
            result.append(self._stored_file(files[index], entry, channel_id))
        result += [self._stored_file(f, {}, channel_id) for i, f in sorted(files.items()) if i not in used]
        if len(result) > MAX_ATTACHMENTS:
            raise FormError(("attachments",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ATTACHMENTS} or fewer in length.")
        return result

    def _stored_file(self, upload: UploadedFile, entry: dict, channel_id: int) -> dict:
        name = entry.get("filename") or upload.filename
        # Discord sets the content type from the file's name, not from what the client said.
        guessed = mimetypes.guess_type(name)[0]
        content_type = f"{guessed}; charset=utf-8" if guessed and guessed.startswith("text/") else guessed
        data: dict[str, Any] = {"filename": name, "content_type": content_type, "data": upload.data}
        for key in ("description", "duration_secs", "waveform"):
            if entry.get(key) is not None:
                data[key] = entry[key]
        if entry.get("is_spoiler"):
            data["flags"] = ATTACHMENT_FLAG_IS_SPOILER
        return self.attachment(data, channel_id)

    def attach_reference(self, message: dict, channel_id: int, target_id: int) -> None:
        target = self.get_message(channel_id, target_id)
        message["type"] = 19
        message["message_reference"] = {"type": 0, "message_id": str(target_id), "channel_id": str(channel_id)}
        if channel_id in self.channel_guild:
            message["message_reference"]["guild_id"] = str(self.channel_guild[channel_id])
        message["referenced_message"] = self.public(target) if target else None

    def mentions(self, message: dict, allowed: dict | None) -> dict:
        """Fill the mention fields as Discord does and say who would be pinged.
        Without ``allowed_mentions`` Discord parses everything in the content."""
        content = message.get("content") or ""
        parse = {"everyone", "users", "roles"} if allowed is None else set(allowed.get("parse") or ())
        users_allowed = {int(u) for u in (allowed or {}).get("users") or ()}
        roles_allowed = {int(r) for r in (allowed or {}).get("roles") or ()}
        users = [int(u) for u in _USER_MENTION.findall(content)]
        roles = [int(r) for r in _ROLE_MENTION.findall(content)]
        pinged_users = [u for u in dict.fromkeys(users) if "users" in parse or u in users_allowed]
        pinged_roles = [r for r in dict.fromkeys(roles) if "roles" in parse or r in roles_allowed]
        everyone = bool(_EVERYONE.search(content)) and "everyone" in parse
        message["mention_everyone"] = everyone
        message["mentions"] = [
            self.users.get(
                u, {"id": str(u), "username": f"user{u}", "discriminator": "0", "global_name": None, "avatar": None}
            )
            for u in pinged_users
        ]
        message["mention_roles"] = [str(r) for r in pinged_roles]
        return {"everyone": everyone, "users": [str(u) for u in pinged_users], "roles": [str(r) for r in pinged_roles]}

    def record_post(self, message: dict, body: dict, *, via: str, webhook_id: str | None) -> None:
        """Remember what the bot sent (``body``) for :meth:`posts`; ``message`` carries
        ``_notified`` from :meth:`mentions` until it is stored."""
        post = copy.deepcopy(body)
        post.update(
            {
                "files": [
                    {**a, "data": self.attachment_data.get(int(a["id"]), b"")} for a in message.get("attachments") or []
                ],
                "id": message["id"],
                "channel_id": message["channel_id"],
                "via": via,
                "webhook_id": webhook_id,
                "notified": message["_notified"],
                "edits": [],
                "deleted": False,
            }
        )
        if self.receipts:
            post["received_at"] = RECEIVED_AT.get()
        self._posts.append(post)

    def store(self, message: dict) -> None:
        """Keep a new message in its channel and announce it (MESSAGE_CREATE)."""
        message.pop("_notified", None)
        self.messages[int(message["channel_id"])][int(message["id"])] = message
        thread = self.threads.get(int(message["channel_id"]))
        if thread is not None:  # a thread counts its messages and names its newest
            thread["last_message_id"] = message["id"]
            thread["message_count"] += 1
            thread["total_message_sent"] += 1
        self.dispatch("MESSAGE_CREATE", message)

    def delete_message(self, channel_id: int, message_id: int) -> None:
        self._remove(channel_id, message_id)
        deleted = {"id": str(message_id), "channel_id": str(channel_id)}
        if channel_id in self.channel_guild:
            deleted["guild_id"] = str(self.channel_guild[channel_id])
        self.dispatch("MESSAGE_DELETE", deleted)

    def _remove(self, channel_id: int, message_id: int) -> None:
        message = self.messages.get(channel_id, {}).pop(message_id, None)
        if message is None:
            raise KeyError(f"no message {message_id} in channel {channel_id}")
        self.pins[channel_id] = [p for p in self.pins.get(channel_id, []) if p[0] != message_id]
        for post in self._posts:
            if post["id"] == str(message_id):
                post["deleted"] = True

    def bulk_delete(self, channel_id: int, message_ids: list[int]) -> None:
        """A moderator deletes 2-100 messages at once (Discord's bulk delete, messages younger
        than two weeks): one MESSAGE_DELETE_BULK with their ``ids``, as Discord sends it."""
        ids = [int(i) for i in message_ids]
        if not 2 <= len(ids) <= 100:
            raise ValueError("Discord's bulk delete takes 2 to 100 messages")
        now_ms = time.time() * 1000
        for message_id in ids:
            if now_ms - ((message_id >> 22) + DISCORD_EPOCH_MS) > 14 * 86400 * 1000:
                raise ValueError(f"message {message_id} is older than two weeks: Discord cannot bulk delete it")
        for message_id in ids:
            self._remove(int(channel_id), message_id)
        deleted = {"ids": [str(i) for i in ids], "channel_id": str(channel_id)}
        if int(channel_id) in self.channel_guild:
            deleted["guild_id"] = str(self.channel_guild[int(channel_id)])
        self.dispatch("MESSAGE_DELETE_BULK", deleted)

    def get_message(self, channel_id: int, message_id: int) -> dict | None:
        return self.messages.get(channel_id, {}).get(message_id)

    def known_message(self, channel_id: int, raw_id: str) -> dict:
        message = self.get_message(channel_id, int(raw_id))
        if message is None:
            raise DiscordError(404, "Unknown Message", 10008)
        return message

    def public(self, message: dict) -> dict:
        """A message as REST answers carry it (no guild_id or member, no private fields)."""
        data = {k: copy.deepcopy(v) for k, v in message.items() if not k.startswith("_")}
        data.pop("guild_id", None)
        data.pop("member", None)
        return data

    def apply_edit(self, message: dict, body: dict, files: dict[int, UploadedFile] | None = None) -> None:
        """A PATCH of a message (bot, webhook or interaction route), checked first; recorded
        in its post's ``edits`` and announced with MESSAGE_UPDATE (unless ephemeral).
        Without ``components`` or ``attachments`` in the body, those stay as they were."""
        components = forms.components(body.get("components")) if "components" in body else None
        if int(message.get("flags") or 0) & FLAG_IS_VOICE_MESSAGE:
            raise DiscordError(400, "Voice messages cannot be edited.", 50162)
        if "attachments" in body or files:
            message["attachments"] = self.uploaded(
                body, files or {}, list(message.get("attachments") or []), int(message["channel_id"])
            )
        if "content" in body:
            forms.check_content(
                {
                    "content": body["content"],
                    "embeds": message["embeds"] or body.get("embeds"),
                    "attachments": message["attachments"],
                }
            )
            message["content"] = body["content"] or ""
        if "embeds" in body:
            message["embeds"] = list(body["embeds"] or [])
        if components is not None:
            message["components"] = components
        message["edited_timestamp"] = iso(int(time.time() * 1000))
        notified = self.mentions(message, body.get("allowed_mentions"))
        for post in self._posts:
            if post["id"] == message["id"]:
                post["edits"].append(copy.deepcopy(body))
                post["notified_after_edit"] = notified
        if "_viewer" not in message:  # ephemeral messages are not dispatched
            self.dispatch("MESSAGE_UPDATE", message)

    # -- members' side -------------------------------------------------------------
    def inject_message(
        self,
        channel_id: int,
        author: dict,
        content: str,
        *,
        reference_message_id: int | None = None,
        attachments: list[dict] | None = None,
        sticker_items: list[dict] | None = None,
        message_type: int | None = None,
        flags: int = 0,
        poll: dict | None = None,
        forward_of: tuple[int, int] | None = None,
        message_id: int | None = None,
    ) -> dict:
        """A member (``author``: id, username, optional global_name, bot) writes
        in a channel, or in their DM channel with the bot (see :meth:`dm_channel_id`);
        returns the message as Discord stores it."""
        channel_id = int(channel_id)
        self.require_channel(channel_id)
        if channel_id in self.dm_users and int(author["id"]) != self.dm_users[channel_id]:
            raise ValueError(f"channel {channel_id} is the DM channel of user {self.dm_users[channel_id]}")
        user = self.remember_user(author)
        message = self.new_message(channel_id, user, content, member=True)
        if attachments:
            # With "data" (bytes), each is stored and served at its URL.
            message["attachments"] = [self.attachment(a, channel_id) for a in attachments]
        if sticker_items:
            message["sticker_items"] = list(sticker_items)
        if message_id is not None:  # a forum post's first message has its thread's id
            message["id"] = str(message_id)
        if channel_id in self.threads:
            message["channel_type"] = CHANNEL_PUBLIC_THREAD
            message["position"] = len(self.messages[channel_id])
        if poll is not None:
            message["poll"] = self.poll(poll)
        if forward_of is not None:
            self.attach_forward(message, *forward_of)
        if reference_message_id is not None:
            self.attach_reference(message, channel_id, int(reference_message_id))
        if message_type is not None:
            message["type"] = message_type
        if flags:
            message["flags"] = int(message.get("flags") or 0) | flags
        self.mentions(message, None)
        self.store(message)
        return copy.deepcopy(message)

    def poll(self, request: dict) -> dict:
        """A poll as a message carries it, from what a client sends: {"question": {"text"},
        "answers": [{"poll_media": {"text"}}], "duration" (hours), "allow_multiselect"}."""
        hours = int(request.get("duration") or 24)
        return {
            "question": dict(request["question"]),
            "answers": [
                {"answer_id": n, "poll_media": dict(a["poll_media"])} for n, a in enumerate(request["answers"], 1)
            ],
            "expiry": iso(int((time.time() + hours * 3600) * 1000)),
            "allow_multiselect": bool(request.get("allow_multiselect")),
            "layout_type": int(request.get("layout_type") or 1),
            "results": {"is_finalized": False, "answer_counts": []},
        }

    def attach_forward(self, message: dict, channel_id: int, target_id: int) -> None:
        """Make ``message`` a forward of a stored message: a message_reference of type 1
        (FORWARD), the HAS_SNAPSHOT flag and a snapshot of the forwarded message's content,
        files, stickers and timestamps (no author: Discord does not carry it)."""
        target = self.get_message(int(channel_id), int(target_id))
        if target is None:
            raise KeyError(f"no message {target_id} in channel {channel_id} to forward")
        message["content"] = ""
        message["flags"] = int(message.get("flags") or 0) | (1 << 14)
        message["message_reference"] = {
            "type": 1,
            "channel_id": str(channel_id),
            "message_id": str(target_id),
            "guild_id": str(self.channel_guild.get(int(channel_id))),
        }
        snapshot = {
            key: copy.deepcopy(target.get(key))
            for key in ("type", "content", "embeds", "attachments", "timestamp", "edited_timestamp", "flags")
        }
        snapshot.update(mentions=[], mention_roles=[], components=[])
        if target.get("sticker_items"):
            snapshot["sticker_items"] = copy.deepcopy(target["sticker_items"])
        message["message_snapshots"] = [{"message": snapshot}]

    def inject_edit(
        self, channel_id: int, message_id: int, content: str | None, *, remove_attachments: list[str] | None = None
    ) -> dict:
        """A member edits their message: new ``content`` (None: unchanged) and/or takes the
        attachments ``remove_attachments`` (their ids) off it, as Discord lets the author;
        MESSAGE_UPDATE carries the full message with the attachments left."""
        message = self.get_message(int(channel_id), int(message_id))
        if message is None:
            raise KeyError(f"no message {message_id} in channel {channel_id}")
        if content is not None:
            message["content"] = content
        if remove_attachments:
            gone = {str(a) for a in remove_attachments}
            message["attachments"] = [a for a in message.get("attachments") or [] if a["id"] not in gone]
            if not message["attachments"] and not (message.get("content") or "").strip():
                raise ValueError("Discord deletes a message left with no content and no attachment")
        message["edited_timestamp"] = iso(int(time.time() * 1000))
        self.mentions(message, None)
        self.dispatch("MESSAGE_UPDATE", message)
        return copy.deepcopy(message)

    def inject_delete(self, channel_id: int, message_id: int) -> None:
        self.delete_message(int(channel_id), int(message_id))

    def inject_bulk_delete(self, channel_id: int, message_ids: list[int]) -> None:
        """A moderator deletes several messages at once: one MESSAGE_DELETE_BULK."""
        self.bulk_delete(int(channel_id), [int(i) for i in message_ids])

    def inject_dispatch(self, event_name: str, data: dict) -> None:
        """Send any dispatch as is (odd payloads, events the stand-in does not model)."""
        self.dispatch(event_name, data)

    def inject_malformed_message(self, channel_id: int, author: dict, content: str = "") -> dict:
        """A MESSAGE_CREATE no client can parse (its id is not a snowflake and it has no
        author), as a gateway bug or an unannounced schema change could send. Not
        stored: the channel's history does not show it. Returns the payload."""
        channel_id = int(channel_id)
        self.require_channel(channel_id)
        message = self.new_message(channel_id, self.remember_user(author), content, member=True)
        message["id"] = "not-a-snowflake"
        message.pop("author", None)
        self.dispatch("MESSAGE_CREATE", message)
        return copy.deepcopy(message)

    # -- what the bridge did ---------------------------------------------------------
    def posts(self, channel_id: int | None = None) -> list[dict]:
        """Messages created by the bot or its webhooks, with every field the
        client sent plus: id, channel_id, via ("webhook" | "bot"), webhook_id,
        notified (who Discord would ping), edits (bodies of later PATCHes),
        deleted, and received_at with ``receipts=True``."""
        return [copy.deepcopy(p) for p in self._posts if channel_id is None or p["channel_id"] == str(channel_id)]

    @property
    def post_count(self) -> int:
        """How many posts the bot and its webhooks have made (cheap, unlike ``len(posts())``)."""
        return len(self._posts)

    def transcript(self, channel_id: int) -> list[tuple[str, str]]:
        """What members see now, oldest first: (author shown, content)."""
        shown = []
        for message in self.messages.get(int(channel_id), {}).values():
            author = message["author"]
            shown_name = author.get("global_name") or author["username"]
            name = author["username"] if message.get("webhook_id") else shown_name
            shown.append((name, message["content"]))
        return shown

    def pinned(self, channel_id: int) -> list[int]:
        """The ids of the messages pinned in the channel now, oldest pin first."""
        return [message_id for message_id, _ in self.pins.get(int(channel_id), [])]

    def events(self, guild_id: int) -> list[dict]:
        """The guild's scheduled events as Discord answers them, oldest first."""
        return copy.deepcopy(self.scheduled_events.get(int(guild_id), []))

    def attachment_bytes(self, attachment: dict) -> bytes:
        """What was uploaded for an attachment (a message's ``attachments`` entry)."""
        return self.attachment_data[int(attachment["id"])]

    def message(self, channel_id: int, message_id: int) -> dict | None:
        found = self.get_message(int(channel_id), int(message_id))
        return copy.deepcopy(found) if found else None

    def bridge_messages(self) -> list[dict]:
        """Every message the bot or its webhooks show now, in every channel and DM,
        as they are now (for whole-platform scans)."""
        return [
            self.public(m)
            for channel in self.messages.values()
            for m in channel.values()
            if m.get("webhook_id") or m["author"]["id"] == str(self.bot_id)
        ]

    def dms(self, user_id: int) -> list[dict]:
        """The bot's messages in its DM channel with the user, as they are now, oldest first."""
        channel_id = self.dm_channels.get(int(user_id))
        if channel_id is None:
            return []
        return [
            self.public(m)
            for m in self.messages[channel_id].values()
            if m["author"]["id"] == str(self.bot_id) and not m.get("webhook_id")
        ]
