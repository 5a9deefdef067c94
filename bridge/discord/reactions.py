"""Reactions on Discord (issue 15): members' reactions on relayed copies counted, and an
original shown with its copies' reactions as the bot's own (bridge/reactions.py says how
they meet).

MESSAGE_REACTION_ADD / _REMOVE (the guild message reactions intent) say which member
added or took back which emoji; the bot's own are ignored. A custom emoji of a server is
counted by its name (":party:"), which a Telegram count line can show but a Discord
original cannot carry as the bot's reaction (the bot may not have that server's emoji).
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from core.links import LinksConfig
from core.models import MessageRef
from core.ratelimit import DISCORD_GLOBAL
from core.stats import Stats
from core.storage.reactions import Counts, Reactions
from ..reactions import ReactionCounter

log = logging.getLogger(__name__)

PLATFORM = "discord"
UNKNOWN_EMOJI = 10014
UNKNOWN_MESSAGE = 10008
MAX_REACTIONS = 20  # Discord's limit of distinct reactions on one message


def emoji_name(emoji: discord.PartialEmoji) -> str | None:
    """A unicode emoji as itself, a custom one as ":name:", None for neither."""
    if emoji.id is None:
        return emoji.name or None
    return f":{emoji.name}:" if emoji.name else None


class ReactionCog(commands.Cog, name="reactions"):
    def __init__(self, bot: commands.Bot, *, config: LinksConfig, counter: ReactionCounter, stats: Stats):
        self._bot = bot
        self._counter = counter
        self._stats = stats
        self._linked = {int(chat.chat_id) for chat in config.chats(PLATFORM)}

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._changed(payload, +1)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._changed(payload, -1)

    async def _changed(self, payload: discord.RawReactionActionEvent, change: int) -> None:
        if payload.channel_id not in self._linked:
            return
        me = self._bot.user
        if me is not None and payload.user_id == me.id:
            return  # the bot showing an original's reactions
        name = emoji_name(payload.emoji)
        if name is None:
            self._stats.incr_soon("discord.skipped.reaction_unknown_emoji")
            return
        try:
            await self._counter.changed(
                MessageRef(PLATFORM, str(payload.channel_id), str(payload.message_id)), {name: change}
            )
        except Exception as exc:  # noqa: BLE001 - a reaction lost to an outage is a count off by one
            self._stats.incr_soon("discord.skipped.reaction_error")
            log.warning("discord: a reaction could not be counted (%s)", exc.__class__.__name__)


class DiscordReactionShower:
    """Shows an original's reaction counts as the bot's own reactions on it: each emoji any
    copy carries (unicode emoji only), taken back when no copy carries it any more."""

    def __init__(self, client: discord.Client, redis, keys, stats: Stats, limiter=None):
        self._client = client
        self._reactions = Reactions(redis, keys)
        self._stats = stats
        self._limiter = limiter

    async def show(self, original: MessageRef, counts: Counts) -> None:
        totals = counts.totals()
        wanted = {e for e, n in totals.items() if n > 0 and not e.startswith(":")}
        wanted = set(sorted(wanted, key=lambda e: -totals[e])[:MAX_REACTIONS])
        shown = await self._reactions.shown(original)
        channel_id, message_id = int(original.chat_id), int(original.message_id)
        kept = set(shown)
        try:
            for emoji in sorted(wanted - shown):
                await self._book()
                try:
                    await self._client.http.add_reaction(channel_id, message_id, emoji)
                except discord.HTTPException as exc:
                    if exc.code != UNKNOWN_EMOJI:
                        raise
                    self._stats.incr_soon("discord.skipped.reaction_unknown_emoji")
                kept.add(emoji)  # an emoji Discord does not know is not tried again
            for emoji in sorted(shown - wanted):
                await self._book()
                await self._client.http.remove_own_reaction(channel_id, message_id, emoji)
                kept.discard(emoji)
        except discord.NotFound as exc:
            if exc.code != UNKNOWN_MESSAGE:
                raise
            kept = set()  # the original is gone: nothing to show
        finally:
            await self._reactions.set_shown(original, kept, counts.ttl)

    async def _book(self) -> None:
        if self._limiter is not None:
            await self._limiter.acquire([DISCORD_GLOBAL])
