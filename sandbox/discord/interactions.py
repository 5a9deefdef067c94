"""Interactions: a member pressing a button (:meth:`Interactions.inject_component_click`)
or running a registered slash command (:meth:`Interactions.inject_slash_command`)
dispatches INTERACTION_CREATE as Discord sends it. ``POST /interactions/{id}/{token}/callback``
(types 4, 5, 6, 7 and 9; flag 64 makes it ephemeral) must come within
``interaction_ack_deadline`` seconds and only once (400, 40060); follow-ups go through
``/webhooks/{application_id}/{token}`` (the first one after a type 5 defer replaces its
"thinking" message) and ``.../messages/@original``. Every accepted answer is logged
(:attr:`Interactions.interaction_responses`)."""

from __future__ import annotations

import base64
import copy
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.discord import forms
from sandbox.discord.app_commands import ApplicationCommands
from sandbox.discord.protocol import (
    ATTACHMENT_SIZE_LIMIT,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_UPDATE_MESSAGE,
    CALLBACK_MODAL,
    CALLBACK_UPDATE_MESSAGE,
    COMPONENT_BUTTON,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTERACTION_ACK_DEADLINE,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_MESSAGE_COMPONENT,
    INTERACTION_TOKEN_TTL,
    JSON_BODY,
    PERM_APP_IN_DM,
    PERM_ADMINISTRATOR,
    PERM_MEMBER,
    DiscordError,
    FormError,
    Route,
    json_response,
)
from sandbox.discord.state import DiscordState

_OPTION_VALUE_TYPES = {3: str, 4: int, 5: bool, 10: float}  # string, integer, boolean, number


@dataclass(eq=False)
class Interaction:
    """One interaction the stand-in dispatched, and how the app has answered it."""

    id: int
    token: str
    type: int  # INTERACTION_APPLICATION_COMMAND or INTERACTION_MESSAGE_COMPONENT
    channel_id: int
    user: dict
    created: float  # monotonic time
    message_id: int | None = None  # the message whose component was used
    custom_id: str | None = None
    command: str | None = None
    response_type: int | None = None  # the callback type, once acknowledged
    original_id: int | None = None  # the response message (types 4 and 5)
    message_ids: set = field(default_factory=set)  # original and follow-ups


class Interactions:
    def __init__(self, state: DiscordState, commands: ApplicationCommands):
        self._state = state
        self._commands = commands
        # Seconds an interaction may wait for its initial response (None: no limit).
        self.interaction_ack_deadline: float | None = INTERACTION_ACK_DEADLINE
        self._interactions: dict[int, Interaction] = {}
        self._tokens: dict[str, int] = {}
        self._log: list[dict] = []
        self._ephemeral: dict[int, dict] = {}  # ephemeral interaction messages: only their user sees them

    def routes(self) -> list[Route]:
        return [("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self._callback)]

    @property
    def interaction_responses(self) -> list[dict]:
        """Every accepted answer to an interaction, in order: ``interaction_id``,
        ``interaction_type`` (2 or 3), ``custom_id`` / ``command``, ``user_id``,
        ``channel_id``, ``kind`` ("callback", "followup", "edit_original", "edit_followup",
        "delete_original", "delete_followup"), ``type`` (the callback type, for callbacks), ``data`` (the
        body's message data), ``ephemeral`` and ``message_id`` (the message it made or
        changed, if any)."""
        return copy.deepcopy(self._log)

    # -- members' side -----------------------------------------------------------------
    def inject_component_click(
        self,
        user: dict,
        channel_id: int,
        message_id: int,
        custom_id: str,
        *,
        permissions: int | None = None,
        locale: str | None = None,
    ) -> dict:
        """The member presses the button ``custom_id`` on a message of the bot's (in a
        guild channel or their DM channel); dispatches INTERACTION_CREATE (type 3) and
        returns its payload. Like in the Discord apps, only an enabled button that is
        on the message can be pressed. ``permissions`` are the member's in the channel;
        ``locale`` their app's language (else the user dict's "locale", else en-US)."""
        channel_id = int(channel_id)
        self._state.require_channel(channel_id)
        member = self._state.remember_user(user)
        message = self._state.get_message(channel_id, int(message_id))
        if message is None:
            ephemeral = self._ephemeral.get(int(message_id))
            if ephemeral is not None and ephemeral["_viewer"] == member["id"]:
                message = ephemeral
        if message is None:
            raise ValueError(f"no message {message_id} in channel {channel_id} that this user can see")
        buttons = [
            child
            for row in message.get("components") or ()
            for child in row.get("components") or ()
            if child.get("type") == COMPONENT_BUTTON
        ]
        button = next((b for b in buttons if b.get("custom_id") == custom_id), None)
        if button is None or button.get("disabled"):
            raise ValueError(f"message {message_id} has no enabled button with custom_id {custom_id!r}")
        data = {"custom_id": custom_id, "component_type": COMPONENT_BUTTON, "id": button.get("id")}
        return self._start(
            INTERACTION_MESSAGE_COMPONENT,
            member,
            channel_id,
            data,
            message=message,
            permissions=permissions,
            locale=locale or user.get("locale") or "en-US",
        )

    def inject_slash_command(
        self,
        user: dict,
        channel_id: int,
        name: str,
        options: dict | None = None,
        *,
        permissions: int | None = None,
        locale: str | None = None,
    ) -> dict:
        """The member runs ``/name`` with ``options`` (option name -> value) in a channel;
        dispatches INTERACTION_CREATE (type 2) and returns its payload. The command must
        have been registered (PUT .../commands) for that guild or globally, and only its
        declared options (string, integer, boolean or number) can be given. ``locale``: the
        member's app language (else the user dict's "locale", else en-US)."""
        channel_id = int(channel_id)
        self._state.require_channel(channel_id)
        member = self._state.remember_user(user)
        guild_id = self._state.channel_guild.get(channel_id)
        command = self._commands.chat_input_command(name, guild_id)
        if command is None:
            where = f"guild {guild_id}" if guild_id else "DMs"
            raise KeyError(f"no slash command /{name} is registered for {where}: PUT it first (tree.sync())")
        required_permissions = command.get("default_member_permissions")
        if guild_id is not None and required_permissions is not None:
            # Like Discord's client: a command the member lacks the permissions for is not
            # offered to them (a server's admins may change that; not modelled).
            have = (
                self._state.member_permissions(guild_id, int(member["id"]), PERM_MEMBER)
                if permissions is None
                else permissions
            )
            needed = int(required_permissions)
            if not have & PERM_ADMINISTRATOR and have & needed != needed:
                raise PermissionError(f"/{name} needs permissions {needed}: Discord does not offer it to this member")
        declared = {o["name"]: o for o in command.get("options") or ()}
        given = dict(options or {})
        for option in declared.values():
            if option.get("required") and option["name"] not in given:
                raise ValueError(f"/{name} needs the option {option['name']!r}")
        data_options = []
        for key, value in given.items():
            option = declared.get(key)
            if option is None:
                raise ValueError(f"/{name} has no option {key!r}")
            kind = _OPTION_VALUE_TYPES.get(option["type"])
            if kind is None:
                raise ValueError(f"option type {option['type']} is not modelled by the stand-in")
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ValueError(f"option {key!r} of /{name} takes a {kind.__name__}, not {value!r}")
            data_options.append({"name": key, "type": option["type"], "value": value})
        data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": 1}
        if data_options:
            data["options"] = data_options
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        locale = locale or user.get("locale") or "en-US"  # the member's app language
        return self._start(
            INTERACTION_APPLICATION_COMMAND, member, channel_id, data, permissions=permissions, locale=locale
        )

    def _owners(self, channel_id: int) -> dict[str, str]:
        """authorizing_integration_owners of a guild install: the guild, or "0" in the bot's DMs."""
        guild_id = self._state.channel_guild.get(channel_id)
        return {"0": str(guild_id) if guild_id is not None else "0"}

    def _start(
        self,
        kind: int,
        user: dict,
        channel_id: int,
        data: dict,
        *,
        message: dict | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> dict:
        """``locale``: the member's client language, which every interaction carries."""
        state = self._state
        interaction_id = state.ids.next()
        secret = secrets.token_urlsafe(72)
        token = base64.urlsafe_b64encode(f"interaction:{interaction_id}:{secret}".encode()).decode().rstrip("=")
        guild_id = state.channel_guild.get(channel_id)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(state.application_id),
            "type": kind,
            "data": data,
            "channel": state.channel_payload(channel_id),
            "channel_id": str(channel_id),
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "authorizing_integration_owners": self._owners(channel_id),
            "context": 0 if guild_id is not None else 1,  # GUILD or BOT_DM
            "app_permissions": str(state.bot_permissions() if guild_id is not None else PERM_APP_IN_DM),
            # The largest file the app may send here: the server's boost level's limit.
            "attachment_size_limit": state.upload_limit(channel_id) if guild_id is not None else ATTACHMENT_SIZE_LIMIT,
        }
        if guild_id is not None:
            payload.update(
                {
                    "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
                    "guild_id": str(guild_id),
                    "guild_locale": "en-US",
                    "member": {
                        "user": copy.deepcopy(user),
                        "roles": state.member_role_ids(guild_id, int(user["id"])),
                        "nick": None,
                        "avatar": None,
                        "banner": None,
                        "premium_since": None,
                        "pending": False,
                        "mute": False,
                        "deaf": False,
                        "flags": 0,
                        "joined_at": "2024-01-01T00:00:00.000000+00:00",
                        "communication_disabled_until": None,
                        "permissions": str(
                            state.member_permissions(guild_id, int(user["id"]), PERM_MEMBER)
                            if permissions is None
                            else permissions
                        ),
                    },
                }
            )
        else:
            payload["user"] = copy.deepcopy(user)
        if message is not None:
            payload["message"] = state.public(message)
        self._interactions[interaction_id] = Interaction(
            id=interaction_id,
            token=token,
            type=kind,
            channel_id=channel_id,
            user=copy.deepcopy(user),
            created=time.monotonic(),
            message_id=int(message["id"]) if message is not None else None,
            custom_id=data.get("custom_id"),
            command=data.get("name") if kind == INTERACTION_APPLICATION_COMMAND else None,
        )
        self._tokens[token] = interaction_id
        state.dispatch("INTERACTION_CREATE", payload)
        return copy.deepcopy(payload)

    # -- the app's answers ---------------------------------------------------------------
    def _record(
        self, interaction: Interaction, kind: str, callback_type: int | None, data: dict, message: dict | None
    ) -> None:
        self._log.append(
            {
                "interaction_id": str(interaction.id),
                "interaction_type": interaction.type,
                "custom_id": interaction.custom_id,
                "command": interaction.command,
                "user_id": interaction.user["id"],
                "channel_id": str(interaction.channel_id),
                "kind": kind,
                "type": callback_type,
                "data": copy.deepcopy(data),
                "ephemeral": bool(message is not None and int(message.get("flags") or 0) & FLAG_EPHEMERAL),
                "message_id": message["id"] if message is not None else None,
            }
        )

    def _new_message(
        self, interaction: Interaction, data: dict, *, loading: bool = False, followup: bool = False
    ) -> dict:
        """A message the app sends in answer to an interaction: shown to everyone in the
        channel (and dispatched), or, with flag 64, only to the member who interacted."""
        state = self._state
        ephemeral = bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)
        message = state.new_message(
            interaction.channel_id, state.users[state.bot_id], data.get("content") or "", member=False
        )
        slash = interaction.type == INTERACTION_APPLICATION_COMMAND
        message["type"] = 20 if slash and not followup else 0  # CHAT_INPUT_COMMAND for the response
        message["webhook_id"] = str(state.application_id)
        message["application_id"] = str(state.application_id)
        message["tts"] = bool(data.get("tts"))
        message["embeds"] = list(data.get("embeds") or [])
        message["components"] = forms.components(data.get("components"))
        message["flags"] = (FLAG_EPHEMERAL if ephemeral else 0) | (FLAG_LOADING if loading else 0)
        metadata: dict[str, Any] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": copy.deepcopy(interaction.user),
            "authorizing_integration_owners": self._owners(interaction.channel_id),
        }
        if interaction.message_id is not None:
            metadata["interacted_message_id"] = str(interaction.message_id)
        if followup and interaction.original_id is not None:
            metadata["original_response_message_id"] = str(interaction.original_id)
        message["interaction_metadata"] = metadata
        if slash:
            message["interaction"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "name": interaction.command,
                "user": copy.deepcopy(interaction.user),
            }
        state.mentions(message, data.get("allowed_mentions"))
        interaction.message_ids.add(int(message["id"]))
        if ephemeral:
            message["_viewer"] = interaction.user["id"]
            self._ephemeral[int(message["id"])] = message
        else:
            state.store(message)
        return message

    def _target(self, interaction: Interaction, message_id: int | None) -> dict | None:
        if message_id is None:
            return None
        return self._state.get_message(interaction.channel_id, message_id) or self._ephemeral.get(message_id)

    async def _callback(self, request: web.Request) -> web.Response:
        try:
            interaction = self._interactions.get(int(request.match_info["interaction_id"]))
        except ValueError:
            interaction = None
        if interaction is None or interaction.token != request.match_info["interaction_token"]:
            raise DiscordError(404, "Unknown interaction", 10062)
        if interaction.response_type is not None:
            raise DiscordError(400, "Interaction has already been acknowledged.", 40060)
        if (
            self.interaction_ack_deadline is not None
            and time.monotonic() - interaction.created > self.interaction_ack_deadline
        ):
            raise DiscordError(404, "Unknown interaction", 10062)
        body = request[JSON_BODY]
        if not isinstance(body, dict) or body.get("type") is None:
            raise FormError(("type",), "BASE_TYPE_REQUIRED", "This field is required")
        kind = body["type"]
        allowed: tuple[int, ...] = (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE, CALLBACK_MODAL)
        if interaction.type == INTERACTION_MESSAGE_COMPONENT:
            allowed += (CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE)
        if kind not in allowed:
            raise FormError(
                ("type",), "BASE_TYPE_CHOICES", "Value must be one of {" + ", ".join(map(str, sorted(allowed))) + "}."
            )
        data = body.get("data") or {}
        if not isinstance(data, dict):
            raise FormError(("data",), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        message = None
        if kind == CALLBACK_CHANNEL_MESSAGE:
            forms.check_content(data)
            self._check_components(data)
            message = self._new_message(interaction, data)
        elif kind == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            message = self._new_message(interaction, {"flags": data.get("flags")}, loading=True)
        elif kind == CALLBACK_UPDATE_MESSAGE:
            message = self._target(interaction, interaction.message_id)
            if message is None:
                raise DiscordError(404, "Unknown Message", 10008)
            self._check_components(data)
            self._state.apply_edit(message, data)
        elif kind == CALLBACK_MODAL:
            for key in ("custom_id", "title", "components"):
                if not data.get(key):
                    raise FormError(("data", key), "BASE_TYPE_REQUIRED", "This field is required")
        interaction.response_type = kind
        if message is not None and kind in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE):
            interaction.original_id = int(message["id"])
        self._record(interaction, "callback", kind, data, message)
        if request.query.get("with_response", "false").lower() not in ("true", "1"):
            return web.Response(status=204)
        callback: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        if message is not None and kind in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE):
            callback.update(
                response_message_id=message["id"],
                response_message_loading=kind == CALLBACK_DEFERRED_CHANNEL_MESSAGE,
                response_message_ephemeral=bool(int(message["flags"]) & FLAG_EPHEMERAL),
            )
        answer: dict[str, Any] = {"interaction": callback}
        if message is not None:
            answer["resource"] = {"type": kind, "message": self._state.public(message)}
        return json_response(answer)

    @staticmethod
    def _check_components(data: dict) -> None:
        try:
            forms.components(data.get("components"))
        except FormError as error:
            raise error.under("data") from None

    def _by_token(self, request: web.Request) -> Interaction:
        """The interaction whose token is in a /webhooks/{application_id}/{token} path."""
        interaction = self._interactions.get(self._tokens.get(request.match_info["webhook_token"], 0))
        if interaction is None or time.monotonic() - interaction.created > INTERACTION_TOKEN_TTL:
            raise DiscordError(401, "Invalid Webhook Token", 50027)
        return interaction

    async def followup(self, request: web.Request) -> web.Response:
        """POST /webhooks/{application_id}/{token}: a follow-up message."""
        interaction = self._by_token(request)
        if interaction.response_type is None:  # follow-ups need an initial response first
            raise DiscordError(404, "Unknown Webhook", 10015)
        body = forms.message_body(request)
        original = None
        if interaction.response_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            original = self._target(interaction, interaction.original_id)
        if original is not None and int(original.get("flags") or 0) & FLAG_LOADING:
            # The first follow-up after a "thinking" defer becomes that message.
            message = original
            self._edit(message, body)
        else:
            message = self._new_message(interaction, body, followup=True)
        self._record(interaction, "followup", None, body, message)
        if request.query.get("wait", "false").lower() in ("true", "1"):
            return json_response(self._state.public(message))
        return web.Response(status=204)

    def _edit(self, message: dict, body: dict) -> None:
        """An edit through the interaction webhook; it also ends a "thinking" state."""
        flags = int(message.get("flags") or 0)
        message["flags"] = flags & ~FLAG_LOADING
        fields = {k: v for k, v in body.items() if k in ("content", "embeds", "components", "allowed_mentions")}
        try:
            self._state.apply_edit(message, fields)
        except DiscordError:
            message["flags"] = flags
            raise

    async def message_route(self, request: web.Request) -> web.Response:
        """GET / PATCH / DELETE /webhooks/{application_id}/{token}/messages/{@original | id}."""
        interaction = self._by_token(request)
        reference = request.match_info["message_id"]
        message_id: int | None = None
        if reference == "@original":
            if interaction.response_type in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE):
                message_id = interaction.original_id
            elif interaction.response_type in (CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE):
                message_id = interaction.message_id  # the message whose component was used
        elif reference.isdigit() and int(reference) in interaction.message_ids:
            message_id = int(reference)
        message = self._target(interaction, message_id)
        if message is None:
            raise DiscordError(404, "Unknown Message", 10008)
        if request.method == "GET":
            return json_response(self._state.public(message))
        kind = "original" if reference == "@original" else "followup"
        if request.method == "DELETE":
            if "_viewer" in message:
                del self._ephemeral[int(message["id"])]
            else:
                self._state.delete_message(int(message["channel_id"]), int(message["id"]))
            self._record(interaction, f"delete_{kind}", None, {}, message)
            return web.Response(status=204)
        body = request[JSON_BODY] or {}
        self._edit(message, body)
        self._record(interaction, f"edit_{kind}", None, body, message)
        return json_response(self._state.public(message))
