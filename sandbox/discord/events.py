"""Guild scheduled events: ``POST /guilds/{guild_id}/scheduled-events`` (checked as Discord
checks an external event: a name of 1-100, ``privacy_level`` 2, ``entity_metadata.location``
of 1-100 and an end time for ``entity_type`` 3, a start in the future and an end after
it), list and fetch. Creating one needs Manage Events (``manage_events=False``: 403
Missing Permissions, 50013); each is announced as GUILD_SCHEDULED_EVENT_CREATE to
sessions with the Guild Scheduled Events intent.

Not modelled: stage and voice events' channels, editing, deleting, subscribers,
recurrence rules, cover images."""

from __future__ import annotations

import copy
import time
from datetime import datetime

from aiohttp import web

from sandbox.discord.protocol import (
    EVENT_ENTITY_EXTERNAL,
    EVENT_PRIVACY_GUILD_ONLY,
    EVENT_STATUS_SCHEDULED,
    JSON_BODY,
    MAX_EVENT_DESCRIPTION,
    MAX_EVENT_LOCATION,
    MAX_EVENT_NAME,
    DiscordError,
    FormError,
    Route,
    json_response,
    snowflake,
)
from sandbox.discord.state import DiscordState


class ScheduledEvents:
    def __init__(self, state: DiscordState):
        self._state = state

    def routes(self) -> list[Route]:
        return [
            ("GET", "/guilds/{guild_id}/scheduled-events", self._list),
            ("POST", "/guilds/{guild_id}/scheduled-events", self._create),
            ("GET", "/guilds/{guild_id}/scheduled-events/{event_id}", self._get),
        ]

    def _guild(self, request: web.Request) -> int:
        guild_id = snowflake(request.match_info["guild_id"], "guild_id")
        if guild_id not in self._state.guilds:
            raise DiscordError(404, "Unknown Guild", 10004)
        return guild_id

    async def _list(self, request: web.Request) -> web.Response:
        return json_response(self._state.events(self._guild(request)))

    async def _get(self, request: web.Request) -> web.Response:
        guild_id = self._guild(request)
        wanted = request.match_info["event_id"]
        for event in self._state.scheduled_events.get(guild_id, []):
            if event["id"] == wanted:
                return json_response(copy.deepcopy(event))
        raise DiscordError(404, "Unknown Guild Scheduled Event", 10070)

    async def _create(self, request: web.Request) -> web.Response:
        guild_id = self._guild(request)
        if not self._state.manage_events:
            raise DiscordError(403, "Missing Permissions", 50013)
        body = request[JSON_BODY]
        if not isinstance(body, dict):
            raise FormError((), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_EVENT_NAME:
            raise FormError(("name",), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_EVENT_NAME} in length.")
        if body.get("privacy_level") != EVENT_PRIVACY_GUILD_ONLY:
            raise FormError(("privacy_level",), "BASE_TYPE_CHOICES", "Value must be one of {2}.")
        if body.get("entity_type") != EVENT_ENTITY_EXTERNAL:
            # Stage and voice events need a channel of that kind, which the stand-in has not.
            raise FormError(("entity_type",), "BASE_TYPE_CHOICES", "Value must be one of {3}.")
        if body.get("channel_id") is not None:
            raise FormError(("channel_id",), "GUILD_SCHEDULED_EVENT_CHANNEL_ID_INVALID", "Must be null for external.")
        location = (body.get("entity_metadata") or {}).get("location")
        if not isinstance(location, str) or not 1 <= len(location) <= MAX_EVENT_LOCATION:
            raise FormError(
                ("entity_metadata", "location"),
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {MAX_EVENT_LOCATION} in length.",
            )
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > MAX_EVENT_DESCRIPTION):
            raise FormError(
                ("description",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EVENT_DESCRIPTION} or fewer in length."
            )
        start = _time(body.get("scheduled_start_time"), "scheduled_start_time")
        if start <= time.time():
            raise FormError(
                ("scheduled_start_time",),
                "GUILD_SCHEDULED_EVENT_SCHEDULED_START_TIME_IN_PAST",
                "Cannot schedule event in the past.",
            )
        if body.get("scheduled_end_time") is None:
            raise FormError(("scheduled_end_time",), "BASE_TYPE_REQUIRED", "This field is required")
        end = _time(body.get("scheduled_end_time"), "scheduled_end_time")
        if end <= start:
            raise FormError(
                ("scheduled_end_time",),
                "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                "Cannot schedule event to end before starting.",
            )
        event = {
            "id": str(self._state.ids.next()),
            "guild_id": str(guild_id),
            "channel_id": None,
            "creator_id": str(self._state.bot_id),
            "creator": self._state.bot_user(),
            "name": name,
            "description": description,
            "scheduled_start_time": body["scheduled_start_time"],
            "scheduled_end_time": body["scheduled_end_time"],
            "privacy_level": EVENT_PRIVACY_GUILD_ONLY,
            "status": EVENT_STATUS_SCHEDULED,
            "entity_type": EVENT_ENTITY_EXTERNAL,
            "entity_id": None,
            "entity_metadata": {"location": location},
            "user_count": 0,
            "image": None,
            "recurrence_rule": None,
        }
        self._state.scheduled_events.setdefault(guild_id, []).append(event)
        self._state.dispatch("GUILD_SCHEDULED_EVENT_CREATE", event)
        return json_response(copy.deepcopy(event))


def _time(raw: object, field_name: str) -> float:
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        raise FormError((field_name,), "DATE_TIME_TYPE_PARSE", "Could not parse the date time.") from None
    if moment.tzinfo is None:
        raise FormError((field_name,), "DATE_TIME_TYPE_PARSE", "Could not parse the date time.")
    return moment.timestamp()
