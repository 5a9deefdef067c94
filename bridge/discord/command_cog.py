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

from core.chat_commands import (
    COMMANDS,
    ORGANISER_COMMANDS,
    TELEGRAM_ONLY,
    option_description,
    description,
    menu_languages,
    parse,
    parse_button,
    pressed,
)
from ..ingress import Ingress
from core import formatting as fmt
from core.links import LinksConfig
from core.models import Author, ChatRef, Command
from . import convert
from .formatting import parse as parse_markdown

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


# Discord's locales for the languages the bridge has words for (its locale list has no
# plain "es" or "pt": the regional ones are what members' clients say).
DISCORD_LOCALES = {
    "de": ("de",),
    "fr": ("fr",),
    "es": ("es-ES", "es-419"),
    "it": ("it",),
    "nl": ("nl",),
    "pl": ("pl",),
    "pt": ("pt-BR",),
    "zh": ("zh-CN", "zh-TW"),
}
# Organisers' commands are shown to members who may manage the server; a server's admins
# can show them to others (Server Settings > Integrations). The workers check anyway:
# listed organisers without the permission type the same words as a message.
MANAGE_GUILD = 1 << 5


def _localized(text_of) -> dict[str, str]:
    return {
        locale: text_of(language)[:100]
        for language in menu_languages()
        for locale in DISCORD_LOCALES.get(language, ())
        if text_of(language)
    }


def slash_commands() -> list[dict]:
    """The application commands, in the shape Discord's bulk overwrite takes. Their names
    are the same words on every platform and in every language (the design's contract);
    their descriptions are in each language the bridge has words for."""
    # (option, required) per command; the words are core/chat_commands.py's OPTIONS.
    argument = {
        "approve": [("id", True)],
        "reject": [("id", True)],
        "consent": [("action", False)],
        "announce": [("text", True)],
        "announcements": [("action", False)],
        "status": [("link", False)],
        "pause": [("duration", False), ("link", False)],
        "resume": [("link", False)],
    }
    found = []
    for name in COMMANDS:
        if name in TELEGRAM_ONLY:
            continue
        entry: dict = {
            "name": name,
            "description": description(name)[:100],
            "description_localizations": _localized(lambda language, name=name: description(name, language)),
            "type": 1,
        }
        if name in ORGANISER_COMMANDS:
            entry["default_member_permissions"] = str(MANAGE_GUILD)
        if name in argument:
            entry["options"] = [
                {
                    "name": option,
                    "description": option_description(name, option)[:100],
                    "description_localizations": _localized(
                        lambda language, name=name, option=option: option_description(name, option, language)
                    ),
                    "type": 3,
                    "required": required,
                }
                for option, required in argument[name]
            ]
        found.append(entry)
    return found


def may_organise(permissions: discord.Permissions) -> bool:
    """Discord's word for a chat's admin: Administrator, Manage Server or Manage Channels."""
    return permissions.administrator or permissions.manage_guild or permissions.manage_channels


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
        args, formatting = formatted_args(name, args)
        # The member's permissions in the channel, from their roles in the guild's cache
        # (the message carries the member's roles): no call to Discord.
        admin = (
            not private
            and isinstance(message.author, discord.Member)
            and may_organise(message.channel.permissions_for(message.author))  # type: ignore[union-attr]
        )
        await self._ingress.command(
            Command(
                name=name,
                args=args,
                platform=convert.PLATFORM,
                chat_id=str(message.channel.id),
                message_id=str(message.id),
                user=_author(message.author),
                private=private,
                admin=admin,
                formatting=formatting,
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
            # The link first, as the typed form has it ("/pause krefeld 2h").
            options = sorted(data.get("options") or (), key=lambda option: option.get("name") != "link")
            args = " ".join(str(option.get("value", "")) for option in options)
            await self._hand_over(interaction, name, args, str(interaction.id), private, "slash")
            await interaction.response.send_message(SLASH_ACK, ephemeral=True)

    def _language_of(self, channel_id: int | None) -> str:
        community = self._config.community_of(ChatRef(convert.PLATFORM, str(channel_id)))
        return community.language if community is not None else "en"

    async def _hand_over(
        self, interaction: discord.Interaction, name: str, args: str, message_id: str, private: bool, via: str
    ) -> None:
        args, formatting = formatted_args(name, args.strip())
        await self._ingress.command(
            Command(
                name=name,
                args=args,
                formatting=formatting,
                platform=convert.PLATFORM,
                chat_id=str(interaction.channel_id),
                message_id=message_id,
                user=_author(interaction.user),
                private=private,
                via=via,
                # A button press is this interaction (Going, then Maybe on one message are two).
                press_id=str(interaction.id) if via == "button" else "",
                pressed_at=time.time() if via == "button" else 0.0,
                # The member's permissions in the channel, as the interaction carries them.
                admin=not private and may_organise(interaction.permissions),
                # The member's client language, as every interaction carries it ("de", "en-GB");
                # a typed command (a message) carries none.
                language=str(getattr(interaction.locale, "value", "") or "")[:16],
            )
        )


def formatted_args(name: str, args: str) -> tuple[str, fmt.Spans]:
    """A /announce's words as Discord shows them, and the organiser's markdown over them
    (the notice keeps its bold, links, lists…); other commands' words as typed."""
    if name != "announce" or not args:
        return args, ()
    parsed = parse_markdown(args)
    if parsed.failed:
        return args, ()
    return parsed.text.strip(), fmt.strip(parsed.text, parsed.spans)[1]
