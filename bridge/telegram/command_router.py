"""Commands and button presses on Telegram -> the workers.

This router comes before the relay router: a command is answered, never
relayed. Commands count in linked groups and in private chats with the bot
(where moderators decide and members receive what is private to them);
anywhere else they are dropped like any other message from an unknown chat.
Button presses (approve/reject on a held message, RSVP on an event notice) are
acknowledged at once, as Telegram expects (an RSVP with the choice, in the chat
community's language), and decided by the workers.
"""

from __future__ import annotations

import logging
import time

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SetMyCommands
from aiogram.types import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
    CallbackQuery,
    Message,
)

from core.chat_commands import (
    MEMBER_COMMANDS,
    ORGANISER_COMMANDS,
    PRIVATE_COMMANDS,
    description,
    menu_languages,
    parse,
    parse_button,
    pressed,
)
from ..ingress import Ingress
from core import formatting as fmt
from .formatting import spans_from_entities
from core.links import LinksConfig
from core.models import Author, ChatRef, Command
from .admins import ChatAdmins
from .convert import PLATFORM

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 15  # seconds for setMyCommands


def _author(user) -> Author:
    name = " ".join(p for p in (user.first_name, user.last_name) if p) or (user.username or "")
    return Author(
        id=str(user.id), display_name=name, first_name=user.first_name, username=user.username, is_bot=user.is_bot
    )


def _language_of_user(user) -> str:
    """The IETF tag of the user's app language ("de", "en-GB"); Telegram may leave it out."""
    return str(getattr(user, "language_code", None) or "")[:16]


def _as_group(message: Message) -> bool:
    """An anonymous administrator writing as the group itself (Telegram shows
    @GroupAnonymousBot as the author and the group as ``sender_chat``)."""
    return message.sender_chat is not None and message.sender_chat.id == message.chat.id


def build_commands_router(config: LinksConfig, bot_username: str | None) -> Router:
    router = Router(name="twinbridge-telegram-commands")
    admins = ChatAdmins()

    def command_of(message: Message) -> tuple[str, str] | None:
        if message.from_user is None or (message.from_user.is_bot and not _as_group(message)):
            return None
        private = message.chat.type == "private"
        if not private and not config.memberships(ChatRef(PLATFORM, str(message.chat.id))):
            return None
        return parse(message.text or "", bot_username)

    async def is_command(message: Message) -> dict[str, tuple[str, str]] | bool:
        # A coroutine on purpose: aiogram runs a plain function filter in a thread
        # (asyncio.to_thread), for every message; the benchmark's profile found it.
        # What it parsed reaches the handler as ``parsed`` (aiogram merges a filter's dict
        # into the handler's data).
        parsed = command_of(message)
        return {"parsed": parsed} if parsed is not None else False

    @router.message(is_command)
    async def on_command(message: Message, bot: Bot, ingress: Ingress, parsed: tuple[str, str]) -> None:
        name, args = parsed
        private = message.chat.type == "private"
        if _as_group(message):
            # The group speaks: only its administrators can. Its id stands for the author
            # (there is nobody to answer privately; workers/organisers.py answers in the group).
            author = Author(id=str(message.chat.id), display_name=message.chat.title or "")
            admin = True
        else:
            author = _author(message.from_user)
            # Asked only for organisers' commands (a call, remembered briefly): the member
            # commands do not depend on it. This chat's updates wait meanwhile, in order.
            admin = (
                not private
                and (name in ORGANISER_COMMANDS or name == "delete")
                and await admins.is_admin(bot, message.chat.id, message.from_user.id)
            )
        # /delete names the message it answers (and when that was written: Telegram's bots
        # delete for 48 hours); what a member typed after it is never taken for one.
        replied = message.reply_to_message if name == "delete" else None
        if replied is not None and replied.forum_topic_created is not None:
            replied = None  # in a forum topic, Telegram shows every message as a reply to its start
        await ingress.command(
            Command(
                name=name,
                args=args,
                platform=PLATFORM,
                chat_id=str(message.chat.id),
                message_id=str(message.message_id),
                user=author,
                private=private,
                admin=admin,
                reply_to=str(replied.message_id) if replied is not None else "",
                reply_to_at=replied.date.timestamp() if replied is not None else 0.0,
                formatting=_formatting_of_args(message, args) if name == "announce" else (),
                # The member's app language (GroupAnonymousBot's says nothing about the admin).
                language="" if _as_group(message) else _language_of_user(message.from_user),
            )
        )

    def language_of(chat_id: int) -> str:
        community = config.community_of(ChatRef(PLATFORM, str(chat_id)))
        return community.language if community is not None else "en"

    @router.callback_query()
    async def on_button(query: CallbackQuery, ingress: Ingress) -> None:
        # Before any await: the presses of one batch of updates run as tasks side by side.
        pressed_at = time.time()
        decided = parse_button(query.data or "")
        if decided is None or query.message is None:
            text = "This button is no longer in use."
        else:
            text = pressed(*decided, language_of(query.message.chat.id))
        try:
            await query.answer(text)
        except TelegramAPIError as exc:
            log.info("could not answer a button press (%s)", type(exc).__name__)
        if decided is None or query.message is None:
            return
        name, args = decided
        await ingress.command(
            Command(
                name=name,
                args=args,
                platform=PLATFORM,
                chat_id=str(query.message.chat.id),
                message_id=str(query.message.message_id),
                user=_author(query.from_user),
                private=query.message.chat.type == "private",
                via="button",
                # This press (Going, then Maybe on one message are two); a redelivery is the same.
                press_id=query.id,
                pressed_at=pressed_at,
                language=_language_of_user(query.from_user),
            )
        )

    return router


def menus() -> list[tuple[BotCommandScope, str, list[BotCommand]]]:
    """(scope, language code, commands) for each command menu: members' in groups (the
    default), administrators' (members' and organisers'), and what works in a private
    chat; each in English (no language code) and in each language the bridge has words for."""
    scopes: list[tuple[BotCommandScope, tuple[str, ...]]] = [
        (BotCommandScopeDefault(), MEMBER_COMMANDS),
        (BotCommandScopeAllChatAdministrators(), MEMBER_COMMANDS + ORGANISER_COMMANDS),
        (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
    ]
    found = []
    for language in ("", *menu_languages()):
        for scope, names in scopes:
            commands = [
                BotCommand(command=name, description=description(name, language or "en")[:256]) for name in names
            ]
            found.append((scope, language, commands))
    return found


async def register_commands(bot: Bot) -> None:
    """The command menus (Telegram's setMyCommands per scope and language), on the
    dispatcher's startup; a failure only costs a menu."""
    for scope, language, commands in menus():
        try:
            await bot(
                SetMyCommands(commands=commands, scope=scope, language_code=language or None),
                request_timeout=REQUEST_TIMEOUT,
            )
        except TelegramAPIError as exc:
            log.warning("could not register a command menu (%s)", type(exc).__name__)


def _formatting_of_args(message: Message, args: str) -> fmt.Spans:
    """The organiser's entities over a command's ``args`` (the end of what they typed)."""
    typed = (message.text or "").rstrip()
    if not args or not typed.endswith(args):
        return ()
    start = len(typed) - len(args)
    return fmt.clip(spans_from_entities(message.text or "", message.entities), start, start + len(args))
