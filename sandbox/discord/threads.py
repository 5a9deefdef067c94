"""Threads and forum posts as the bot meets them (issue 15): Start Thread without Message
(``POST /channels/{id}/threads``, type 11, in a text channel) and Start Thread in Forum
(the same route with a first ``message``, in a forum), Modify Channel on a thread
(``archived``, ``locked``; Manage Threads needed to unlock or to unarchive a locked one),
Delete Channel on a thread, and where a message may be posted: a forum takes none
directly (50008 "Cannot send messages in a non-text channel"; a webhook without
``thread_id``/``thread_name`` gets 220001), an archived thread is unarchived by a new
message unless locked (50083 "Thread is archived"), a deleted one is Unknown Channel.

Not modelled: private threads, thread members, tags, slow mode."""

from __future__ import annotations

import copy
import time

from aiohttp import web

from sandbox.discord.protocol import JSON_BODY, DiscordError, FormError, Route, iso, json_response, snowflake
from sandbox.discord.state import DiscordState

THREAD_ARCHIVED = 50083
CANNOT_SEND_NON_TEXT = 50008
FORUM_NEEDS_THREAD = 220001
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)


class Threads:
    def __init__(self, state: DiscordState):
        self._state = state
        self.create_threads = True  # the bot may create public threads (and forum posts)
        self.manage_threads = False  # the bot may unlock and unarchive locked threads
        self.deleted: set[int] = set()

    def routes(self) -> list[Route]:
        return [
            ("POST", "/channels/{channel_id}/threads", self._start_thread),
            ("PATCH", "/channels/{channel_id}", self._modify_thread),
            ("DELETE", "/channels/{channel_id}", self._delete_thread),
        ]

    # -- for tests ---------------------------------------------------------------------
    def archive_thread(self, thread_id: int, *, locked: bool = False) -> None:
        """A moderator (or the auto-archive timer) archives the thread; THREAD_UPDATE."""
        thread = self._state.threads[int(thread_id)]
        thread["thread_metadata"].update(archived=True, locked=locked, archive_timestamp=_now())
        self._state.dispatch("THREAD_UPDATE", copy.deepcopy(thread))

    def delete_thread(self, thread_id: int) -> None:
        """A moderator deletes the thread (a forum post) with its messages; THREAD_DELETE."""
        thread = self._state.threads.pop(int(thread_id))
        self._state.channel_guild.pop(int(thread_id), None)
        self._state.messages.pop(int(thread_id), None)
        self.deleted.add(int(thread_id))
        self._state.dispatch(
            "THREAD_DELETE",
            {k: thread[k] for k in ("id", "guild_id", "parent_id", "type")},
        )

    def threads_of(self, parent_id: int) -> list[dict]:
        """The parent's threads (forum posts) now, oldest first."""
        return [copy.deepcopy(t) for t in self._state.threads.values() if t["parent_id"] == str(parent_id)]

    # -- where a new message may go (the message routes call this) -----------------------
    def postable(self, channel_id: int, *, via_webhook: bool) -> None:
        """Refuse a message Discord refuses there; a message into an archived, unlocked
        thread unarchives it."""
        state = self._state
        if channel_id in state.forums:
            if via_webhook:
                raise DiscordError(
                    400, "Webhooks posted to forum channels must have a thread_name or thread_id", FORUM_NEEDS_THREAD
                )
            raise DiscordError(400, "Cannot send messages in a non-text channel", CANNOT_SEND_NON_TEXT)
        thread = state.threads.get(channel_id)
        if thread is None:
            return
        meta = thread["thread_metadata"]
        if meta["archived"]:
            if meta["locked"]:
                raise DiscordError(400, "Thread is archived", THREAD_ARCHIVED)
            meta.update(archived=False, archive_timestamp=_now())
            state.dispatch("THREAD_UPDATE", copy.deepcopy(thread))

    def webhook_target(self, hook_channel: int, thread_id: str | None) -> int:
        """The channel a webhook request with ``?thread_id=`` acts in: a thread of the
        webhook's channel."""
        if not thread_id:
            return hook_channel
        target = snowflake(thread_id, "thread_id")
        thread = self._state.threads.get(target)
        if thread is None or thread["parent_id"] != str(hook_channel):
            raise DiscordError(400, "Unknown Channel", 10003)
        return target

    def open_forum_post(self, forum_id: int, name: str, owner_id: int) -> int:
        """A forum post made by a webhook's ``thread_name``: its id, which its first message takes."""
        _check_name(name)
        thread_id = self._state.ids.next()
        self._state.add_thread(forum_id, name, owner_id=owner_id, thread_id=thread_id)
        return thread_id

    # -- routes --------------------------------------------------------------------------
    async def _start_thread(self, request: web.Request) -> web.Response:
        state = self._state
        parent = state.known_channel(request.match_info["channel_id"])
        if parent in state.threads or parent in state.dm_users:
            raise DiscordError(400, "Cannot execute action on this channel type", 50024)
        if not self.create_threads or not state.send_messages:
            raise DiscordError(403, "Missing Permissions", 50013)
        body = request[JSON_BODY] or {}
        name = str(body.get("name") or "")
        _check_name(name)
        duration = int(body.get("auto_archive_duration") or 1440)
        if duration not in ARCHIVE_DURATIONS:
            raise FormError(
                ("auto_archive_duration",), "BASE_TYPE_CHOICES", f"Value must be one of {ARCHIVE_DURATIONS}."
            )
        if parent in state.forums:
            first = body.get("message")
            if not isinstance(first, dict) or not (first.get("content") or first.get("embeds")):
                raise FormError(("message",), "BASE_TYPE_REQUIRED", "This field is required")
            thread_id = state.ids.next()
            state.add_thread(parent, name, owner_id=state.bot_id, thread_id=thread_id)
            message = state.new_message(
                thread_id, state.users[state.bot_id], str(first.get("content") or ""), member=True
            )
            message["id"] = str(thread_id)  # a forum post's first message has its thread's id
            message["_notified"] = state.mentions(message, first.get("allowed_mentions"))
            state.record_post(message, first, via="bot", webhook_id=None)
            state.store(message)
            return json_response({**state.channel_payload(thread_id), "message": state.public(message)}, status=201)
        if int(body.get("type") or 11) != 11:
            raise FormError(("type",), "BASE_TYPE_CHOICES", "Only public threads are modelled")
        thread_id = state.add_thread(parent, name, owner_id=state.bot_id)
        state.threads[thread_id]["thread_metadata"]["auto_archive_duration"] = duration
        return json_response(state.channel_payload(thread_id), status=201)

    async def _modify_thread(self, request: web.Request) -> web.Response:
        state = self._state
        thread_id = state.known_channel(request.match_info["channel_id"])
        thread = state.threads.get(thread_id)
        if thread is None:
            raise DiscordError(403, "Missing Permissions", 50013)  # channel settings: not modelled
        body = request[JSON_BODY] or {}
        meta = thread["thread_metadata"]
        if meta["locked"] and not self.manage_threads:
            raise DiscordError(403, "Missing Permissions", 50013)
        if "locked" in body and not self.manage_threads:
            raise DiscordError(403, "Missing Permissions", 50013)
        for key in ("archived", "locked"):
            if key in body:
                meta[key] = bool(body[key])
        if "name" in body:
            _check_name(str(body["name"] or ""))
            thread["name"] = str(body["name"])
        state.dispatch("THREAD_UPDATE", copy.deepcopy(thread))
        return json_response(copy.deepcopy(thread))

    async def _delete_thread(self, request: web.Request) -> web.Response:
        thread_id = self._state.known_channel(request.match_info["channel_id"])
        if thread_id not in self._state.threads or not self.manage_threads:
            raise DiscordError(403, "Missing Permissions", 50013)
        payload = copy.deepcopy(self._state.threads[thread_id])
        self.delete_thread(thread_id)
        return json_response(payload)


def _check_name(name: str) -> None:
    if not 1 <= len(name) <= 100:
        raise FormError(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")


def _now() -> str:
    return iso(int(time.time() * 1000))
