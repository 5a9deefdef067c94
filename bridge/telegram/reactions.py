"""Reactions on Telegram (issue 15): members' reactions on relayed copies counted, and
an original's count line kept up to date (bridge/reactions.py says how they meet).

Telegram sends ``message_reaction`` (one member's reactions before and after; the bot
must be an administrator of the group) and ``message_reaction_count`` (the totals of a
message whose reactions are anonymous, as in channels). Emoji are counted; custom emoji
and paid stars cannot be shown on the other platform: skipped and counted.

A bot may set at most one reaction of its own on a message, so a Telegram original shows
its copies' reactions as one count line ("Krefeld: 👍 3 · ❤️ 1") replying to it, sent
once and edited as the counts change (deleted when none are left).
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import MessageReactionCountUpdated, MessageReactionUpdated, ReplyParameters

from core.links import LinksConfig
from core.models import MessageRef
from core.ratelimit import telegram_limits
from core.stats import Stats
from core.storage.reactions import Counts, Reactions
from ..reactions import ReactionCounter, count_lines

log = logging.getLogger(__name__)

PLATFORM = "telegram"


def _emoji_of(reaction, stats: Stats) -> str | None:
    if getattr(reaction, "type", None) == "emoji" and getattr(reaction, "emoji", None):
        return reaction.emoji
    stats.incr_soon(f"telegram.skipped.reaction_{getattr(reaction, 'type', 'unknown') or 'unknown'}")
    return None


def reaction_changes(update: MessageReactionUpdated, stats: Stats) -> dict[str, int]:
    """+1 for each emoji a member added, -1 for each they took back."""
    old = {e for e in (_emoji_of(r, stats) for r in update.old_reaction or ()) if e}
    new = {e for e in (_emoji_of(r, stats) for r in update.new_reaction or ()) if e}
    changes = dict.fromkeys(new - old, 1)
    changes.update(dict.fromkeys(old - new, -1))
    return changes


def build_reactions_router(config: LinksConfig, counter: ReactionCounter, stats: Stats) -> Router:
    router = Router(name="twinbridge-telegram-reactions")
    linked = {chat.chat_id for chat in config.chats(PLATFORM)}

    @router.message_reaction()
    async def on_reaction(update: MessageReactionUpdated) -> None:
        if str(update.chat.id) not in linked:
            stats.incr_soon("telegram.skipped.reaction_unlinked")
            return
        changes = reaction_changes(update, stats)
        if changes:
            await counter.changed(MessageRef(PLATFORM, str(update.chat.id), str(update.message_id)), changes)

    @router.message_reaction_count()
    async def on_reaction_count(update: MessageReactionCountUpdated) -> None:
        if str(update.chat.id) not in linked:
            stats.incr_soon("telegram.skipped.reaction_unlinked")
            return
        totals: dict[str, int] = {}
        for counted in update.reactions or ():
            emoji = _emoji_of(counted.type, stats)
            if emoji:
                totals[emoji] = totals.get(emoji, 0) + int(counted.total_count)
        await counter.changed(MessageRef(PLATFORM, str(update.chat.id), str(update.message_id)), totals, absolute=True)

    return router


class TelegramReactionLine:
    """Shows an original's reaction counts as the bot's count line replying to it."""

    def __init__(self, bot: Bot, redis, keys, config: LinksConfig, stats: Stats, limiter=None):
        self._bot = bot
        self._stats = stats
        self._reactions = Reactions(redis, keys)
        self._config = config
        self._limiter = limiter

    async def show(self, original: MessageRef, counts: Counts) -> None:
        text = count_lines(counts, self._config)
        line = await self._reactions.line(original)
        chat_id = int(original.chat_id)
        if self._limiter is not None:
            await self._limiter.acquire(telegram_limits(original.chat_id))
        if not text:
            if line is not None:
                try:
                    await self._bot.delete_message(chat_id, int(line))
                except TelegramBadRequest:
                    pass  # gone already
                await self._reactions.set_line(original, None, counts.ttl)
            return
        if line is not None:
            try:
                await self._bot.edit_message_text(text=text, chat_id=chat_id, message_id=int(line))
                return
            except TelegramBadRequest as exc:
                if "not modified" in exc.message:
                    return
                # The line was deleted (by an admin): send a new one.
        try:
            sent = await self._bot.send_message(
                chat_id,
                text,
                reply_parameters=ReplyParameters(message_id=int(original.message_id), allow_sending_without_reply=True),
                disable_notification=True,
            )
        except (TelegramBadRequest, TelegramForbiddenError):
            # The chat refuses the bot (removed, muted): nothing to retry; counted.
            self._stats.incr_soon("telegram.reactions.line_refused")
            return
        await self._reactions.set_line(original, str(sent.message_id), counts.ttl)
