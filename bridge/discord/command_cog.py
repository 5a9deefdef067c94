"""Commands, slash commands and button presses on Discord -> the workers.

The same words as on Telegram: a message in a linked channel (or a direct
message to the bot) that starts with "/consent", "/approve 12", … is taken as
the command and never relayed; the same commands are registered as
application (slash) commands; the Approve/Reject buttons on a held message
and the RSVP buttons on an event notice arrive as component interactions. Interactions are acknowledged at once
(Discord allows three seconds); the workers decide and answer.
"""

from __future__ import annotations

import logging
import time

import discord
from discord.ext import commands

from core.chat_commands import COMMANDS, parse, parse_button, pressed
from ..ingress import Ingress
from core.links import LinksConfig
from core.models import Author, ChatRef, Command
from . import convert

log = logging.getLogger(__name__)

SLASH_ACK = "Got it: the answer follows in a moment (privately where it concerns only you)."


def _author(user: discord.abc.User) -> Author:
    return Author(
        id=str(user.id),
        display_name=getattr(user, "global_name", None) or user.name,
        first_name=None,
        username=user.name,
        is_bot=user.bot,
    )


def slash_commands() -> list[dict]:
    """The application commands, in the shape Discord's bulk overwrite takes."""
    held = ("id", "the ID of the held message", True)
    argument = {
        "approve": held,
        "reject": held,
        "consent": ("action", "say `withdraw` to stop your messages crossing", False),
    }
    found = []
    for name, description in COMMANDS.items():
        entry = {"name": name, "description": description[:100], "type": 1}
        if name in argument:
            option, text, required = argument[name]
            entry["options"] = [{"name": option, "description": text, "type": 3, "required": required}]
        found.append(entry)
    return found


class CommandsCog(commands.Cog, name="commands"):
    def __init__(self, bot: commands.Bot, *, config: LinksConfig, ingress: Ingress):
        self.bot = bot
        self._config = config
        self._ingress = ingress

    def _counts(self, channel_id: int | None, private: bool) -> bool:
        return private or (
            channel_id is not None and bool(self._config.memberships(ChatRef(convert.PLATFORM, str(channel_id))))
        )

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self.bot.application_id is None:
            return
        try:
            await self.bot.http.bulk_upsert_global_commands(self.bot.application_id, slash_commands())
        except discord.HTTPException as exc:
            log.warning("could not register the slash commands (HTTP %s)", exc.status)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None:
            return
        private = message.guild is None
        if not self._counts(message.channel.id, private):
            return
        parsed = parse(message.content)
        if parsed is None:
            return
        name, args = parsed
        await self._ingress.command(
            Command(
                name=name,
                args=args,
                platform=convert.PLATFORM,
                chat_id=str(message.channel.id),
                message_id=str(message.id),
                user=_author(message.author),
                private=private,
            )
        )

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        # The command is handed to the ingress before the interaction is acknowledged (an
        # HTTP round trip): its position in the channel must come before that of a message
        # written right after it (the ingress keeps the order of its calls, not of awaits).
        data = interaction.data or {}
        private = interaction.guild_id is None
        if interaction.type == discord.InteractionType.component:
            decided = parse_button(str(data.get("custom_id", "")))
            if decided is not None and interaction.message is not None:
                name, args = decided
                await self._hand_over(interaction, name, args, str(interaction.message.id), private, "button")
                if name == "rsvp":
                    # Said to the member alone; the counts on the notice follow in a few seconds.
                    await interaction.response.send_message(
                        pressed(name, args, self._language_of(interaction.channel_id)), ephemeral=True
                    )
                    return
            await interaction.response.defer()  # "deferred update": the message stays as it is for now
        elif interaction.type == discord.InteractionType.application_command:
            name = str(data.get("name", ""))
            if name not in COMMANDS or not self._counts(interaction.channel_id, private):
                await interaction.response.send_message(
                    "This command works in a linked channel or a direct message to me.", ephemeral=True
                )
                return
            args = " ".join(str(option.get("value", "")) for option in data.get("options") or ())
            await self._hand_over(interaction, name, args, str(interaction.id), private, "slash")
            await interaction.response.send_message(SLASH_ACK, ephemeral=True)

    def _language_of(self, channel_id: int | None) -> str:
        community = self._config.community_of(ChatRef(convert.PLATFORM, str(channel_id)))
        return community.language if community is not None else "en"

    async def _hand_over(
        self, interaction: discord.Interaction, name: str, args: str, message_id: str, private: bool, via: str
    ) -> None:
        await self._ingress.command(
            Command(
                name=name,
                args=args.strip(),
                platform=convert.PLATFORM,
                chat_id=str(interaction.channel_id),
                message_id=message_id,
                user=_author(interaction.user),
                private=private,
                via=via,
                # A button press is this interaction (Going, then Maybe on one message are two).
                press_id=str(interaction.id) if via == "button" else "",
                pressed_at=time.time() if via == "button" else 0.0,
            )
        )
