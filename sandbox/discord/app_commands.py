"""Application commands: bulk-overwritten with ``PUT /applications/{id}/commands``
(global) and ``.../guilds/{guild_id}/commands``, kept as Discord stores them, and
looked up when a member runs a slash command."""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from sandbox.discord import forms
from sandbox.discord.protocol import JSON_BODY, DiscordError, FormError, Route, json_response
from sandbox.discord.state import DiscordState


class ApplicationCommands:
    def __init__(self, state: DiscordState):
        self._state = state
        self._commands: dict[int | None, list[dict]] = {}  # guild id (None: global) -> commands

    def routes(self) -> list[Route]:
        return [
            ("GET", "/applications/{application_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/commands", self._put_commands),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._put_commands),
        ]

    def application_commands(self, guild_id: int | None = None) -> list[dict]:
        """The application commands as Discord stores them: global ones, or a guild's."""
        return copy.deepcopy(self._commands.get(int(guild_id) if guild_id is not None else None, []))

    def chat_input_command(self, name: str, guild_id: int | None) -> dict | None:
        """The chat-input command ``name`` a member can run here (guild ones first)."""
        in_dm = guild_id is None
        candidates = ([] if in_dm else self._commands.get(guild_id, [])) + self._commands.get(None, [])
        for command in candidates:
            if command["name"] != name or command.get("type", 1) != 1:
                continue
            contexts = command.get("contexts")
            if in_dm and (command.get("dm_permission") is False or (contexts is not None and 1 not in contexts)):
                continue
            if not in_dm and contexts is not None and 0 not in contexts:
                continue
            return command
        return None

    def _scope(self, request: web.Request) -> int | None:
        """The guild id the path names, or None for the global commands."""
        if request.match_info["application_id"] != str(self._state.application_id):
            raise DiscordError(403, "Missing Access", 50001)
        raw = request.match_info.get("guild_id")
        if raw is None:
            return None
        if not raw.isdigit():
            raise FormError(("guild_id",), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
        if int(raw) not in self._state.guilds:
            raise DiscordError(403, "Missing Access", 50001)
        return int(raw)

    async def _get_commands(self, request: web.Request) -> web.Response:
        return json_response(copy.deepcopy(self._commands.get(self._scope(request), [])))

    async def _put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite: the body is the whole new list; commands keep their id by (type, name)."""
        guild_id = self._scope(request)
        body = request[JSON_BODY]
        forms.check_commands(body)
        ids = self._state.ids
        existing = {(c["type"], c["name"]): c for c in self._commands.get(guild_id, [])}
        stored = []
        for given in body:
            kind = given.get("type") or 1
            old = existing.get((kind, given["name"]))
            permissions = given.get("default_member_permissions")
            command: dict[str, Any] = {
                "id": old["id"] if old else str(ids.next()),
                "application_id": str(self._state.application_id),
                "version": str(ids.next()),
                "type": kind,
                "name": given["name"],
                "name_localizations": given.get("name_localizations"),
                "description": given.get("description") or "",
                "description_localizations": given.get("description_localizations"),
                "default_member_permissions": None if permissions is None else str(permissions),
                "nsfw": bool(given.get("nsfw", False)),
                "contexts": given.get("contexts"),
                "integration_types": given.get("integration_types") or [0],
            }
            if given.get("options"):
                command["options"] = copy.deepcopy(given["options"])
            if guild_id is None:
                command["dm_permission"] = given.get("dm_permission") is not False
            else:
                command["guild_id"] = str(guild_id)
            stored.append(command)
        self._commands[guild_id] = stored
        return json_response(copy.deepcopy(stored))
