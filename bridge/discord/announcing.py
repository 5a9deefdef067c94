"""Sending an organiser's announcement on Discord (issue 14). Posted by the bot itself, not
the channel webhook, so the notice can carry the RSVP buttons and be pinned: its content
(render.render_announcement) in one or more messages, the buttons and the .ics attached
to the last; the first pinned when the organiser asked; and, once per announcement and
guild, a native scheduled event (external, at the place or link) where the bot has
Create Events (or Manage Events). A pin or an event Discord refuses (403) does not fail the delivery: it is
counted and logged, without text.

The copies recorded are the messages (the .ics is an attachment of the last), so an edit
(new RSVP totals) changes their content and keeps the buttons and the file, and a delete
or cancellation takes them all.
"""

from __future__ import annotations

import io
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord
from discord.http import handle_message_parameters

from ..adapter import BeforePost
from core.announcements import AnnouncementView
from core.calendar import DEFAULT_DURATION, ics_filename, ics_for
from core.models import OutboundPost
from core.phrases import original_header
from core.ratelimit import DISCORD_GLOBAL, discord_limits
from core.storage.keys import DAY
from . import render

if TYPE_CHECKING:
    from .sender import DiscordSender

log = logging.getLogger(__name__)

EVENT_NAME_LIMIT = 100
EVENT_LOCATION_LIMIT = 100
EVENT_DESCRIPTION_LIMIT = 1000
EVENT_CLAIM_AFTER_END = DAY  # how long the guild's event is remembered after the event ends


def view_of(post: OutboundPost) -> AnnouncementView:
    return AnnouncementView.from_dict(post.announcement or {})


def carries_calendar(view: AnnouncementView) -> bool:
    """An event notice carries its .ics (its reminders do not: the entry is there already)."""
    return view.event is not None and view.kind == "announcement"


def buttons(view: AnnouncementView) -> discord.ui.View | None:
    choices = render.rsvp_buttons(view)
    if not choices:
        return None
    styles = (discord.ButtonStyle.success, discord.ButtonStyle.secondary, discord.ButtonStyle.danger)
    row = discord.ui.View(timeout=None)
    for (label, custom_id), style in zip(choices, styles, strict=False):
        row.add_item(discord.ui.Button(label=label, custom_id=custom_id, style=style))
    return row


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class DiscordAnnouncements:
    def __init__(self, sender: DiscordSender):
        self._sender = sender

    def _parts(self, post: OutboundPost, view: AnnouncementView) -> list[str]:
        original = ""
        if post.original.strip():  # the policy shows the original under a translation
            header = original_header(post.language, post.original_language, post.translated_by)
            quoted = render.formatted_lines(
                post.original, post.original_formatting, quote=True, allow_user_mentions=post.allow_mentions
            )
            original = "\n".join([render.original_heading(header), *quoted])
        return render.render_announcement(
            view,
            post.text,
            notes=tuple(post.notes),
            original=original,
            allow_user_mentions=post.allow_mentions,
            spans=post.formatting,
        )

    async def send(self, post: OutboundPost, before_post: BeforePost | None) -> list[str]:
        channel_id = int(post.destination.chat_id)
        view = view_of(post)
        parts = self._parts(post, view)
        if before_post is not None:
            await before_post([render.shown(None, part) for part in parts])
        mentions = render.allowed_mentions(post.allow_mentions)
        posted: list[str] = []
        try:
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                if index:  # the outbox booked one request per post
                    await self._sender._book(discord_limits(str(channel_id)))
                file = None
                if last and carries_calendar(view) and view.event is not None:
                    data = ics_for(view, description=post.text)
                    file = discord.File(io.BytesIO(data), filename=ics_filename(view.event.title))
                params = handle_message_parameters(
                    content=part,
                    allowed_mentions=mentions,
                    view=buttons(view) if last else None,
                    file=file if file is not None else discord.utils.MISSING,
                )
                with params:
                    message = await self._sender._client.http.send_message(channel_id, params=params)
                posted.append(str(message["id"]))
        except BaseException:
            # Retried whole: take back what is shown so the retry shows it once.
            await self._sender._take_back(channel_id, None, posted)
            raise
        # The notice is on Discord now: nothing after this may fail the post (a retry would
        # show it twice), whatever goes wrong with the pin or the event.
        if view.pin:
            await self._best_effort(self._pin(channel_id, int(posted[0])), "pin", channel_id)
        if carries_calendar(view):
            await self._best_effort(self._guild_event(channel_id, post, view), "event", channel_id)
        return posted

    async def _best_effort(self, step, what: str, channel_id: int) -> None:
        try:
            await step
        except Exception as exc:  # noqa: BLE001 - see above; the error's type is logged, no text
            log.warning("announcement %s in discord:%s failed (%s)", what, channel_id, type(exc).__name__)
            await self._sender.count(f"discord.announcement.{what}_failed")

    async def edit(self, post: OutboundPost, message_ids: list[str]) -> list[str]:
        """The new content (the RSVP totals changed) in the messages; the buttons stay on
        the last one and the attached .ics stays as it is."""
        channel_id = int(post.destination.chat_id)
        view = view_of(post)
        parts = self._parts(post, view)
        mentions = render.allowed_mentions(post.allow_mentions)
        http = self._sender._client.http
        showing: list[str] = []
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if index:
                await self._sender._book(discord_limits(str(channel_id)))
            row = buttons(view) if last else None
            if index < len(message_ids):
                params = handle_message_parameters(
                    content=part, allowed_mentions=mentions, view=row if row is not None else discord.utils.MISSING
                )
                try:
                    await http.edit_message(channel_id, int(message_ids[index]), params=params)
                except discord.NotFound:
                    continue  # gone: nothing to show there
                showing.append(message_ids[index])
            else:  # the new content needs more messages than the old one had
                params = handle_message_parameters(content=part, allowed_mentions=mentions, view=row)
                message = await http.send_message(channel_id, params=params)
                showing.append(str(message["id"]))
        await self._sender._delete(channel_id, message_ids[len(parts) :])
        return showing

    async def _pin(self, channel_id: int, message_id: int) -> None:
        await self._sender._book(discord_limits(str(channel_id)))
        try:
            await self._sender._client.http.pin_message(channel_id, message_id, reason="an organiser's announcement")
            await self._sender.count("discord.announcement.pinned")
        except discord.HTTPException as exc:
            log.warning(
                "could not pin an announcement in discord:%s (HTTP %s, code %s)%s",
                channel_id,
                exc.status,
                exc.code,
                "; grant Pin Messages" if exc.status == 403 else "",
            )
            await self._sender.count("discord.announcement.pin_refused")

    async def _guild_event(self, channel_id: int, post: OutboundPost, view: AnnouncementView) -> None:
        """The guild's own scheduled event, once per announcement and guild, where the bot
        has Create Events or Manage Events; a past event or a refusal just goes without."""
        event = view.event
        if event is None or event.start <= time.time() + 60:
            return
        end = event.end if event.end and event.end > event.start else event.start + DEFAULT_DURATION.total_seconds()
        ttl = int(end - time.time() + EVENT_CLAIM_AFTER_END)
        try:
            guild_id = await self._sender._guild_id(channel_id)
        except discord.HTTPException:
            return
        state = self._sender._state
        if not await state.claim_guild_event(view.id, guild_id, ttl):
            return  # made (or being made) for another channel of this guild
        location = event.place.strip() or event.url.strip() or post.community.strip() or "-"
        description = "\n\n".join(x for x in (post.text.strip(), event.url.strip()) if x)
        await self._sender._book([DISCORD_GLOBAL])
        try:
            made = await self._sender._client.http.create_guild_scheduled_event(
                guild_id,
                name=_cut(event.title or view.header, EVENT_NAME_LIMIT) or "Event",
                privacy_level=discord.PrivacyLevel.guild_only.value,
                entity_type=discord.EntityType.external.value,
                entity_metadata={"location": _cut(location, EVENT_LOCATION_LIMIT)},
                scheduled_start_time=datetime.fromtimestamp(event.start, UTC).isoformat(),
                scheduled_end_time=datetime.fromtimestamp(end, UTC).isoformat(),
                description=description[:EVENT_DESCRIPTION_LIMIT],
                reason="an organiser's announcement",
            )
        except discord.HTTPException as exc:
            if exc.status >= 500 or exc.status == 429:
                await state.release_guild_event(view.id, guild_id)  # another copy may try again
            log.warning(
                "no scheduled event for an announcement in discord guild %s (HTTP %s, code %s)%s",
                guild_id,
                exc.status,
                exc.code,
                "; grant Create Events" if exc.status == 403 else "",
            )
            await self._sender.count("discord.announcement.event_refused")
            return
        await state.note_guild_event(view.id, guild_id, str(made["id"]), ttl)
        await self._sender.count("discord.announcement.event_created")
