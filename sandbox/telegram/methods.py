"""The Bot API methods the bridge calls, checked as Telegram checks them: getMe, the
webhook pair, getUpdates (see :mod:`sandbox.telegram.updates`), the command menus,
sendMessage (HTML entities, 4096 UTF-16 units, replies, inline keyboards),
editMessageText /
editMessageReplyMarkup ("message is not modified", others' or missing messages),
pinChatMessage / unpinChatMessage (the bot's right to pin, see ``deny_pin``),
answerCallbackQuery (once per query), deleteMessage and deleteMessages.

Files (sendDocument, sendPhoto …, sendMediaGroup, editMessageCaption, getFile and
downloads) live in :mod:`sandbox.telegram.media`.

Not modelled: the "pinned_message" service message a pin leaves in a group, thumbnails,
files by URL."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.telegram.formatting import parse_html, strip_text, utf16_len
from sandbox.telegram.keyboards import inline_keyboard
from sandbox.telegram.protocol import (
    QUERY_INVALID,
    TEXT_LIMIT,
    bad_request,
    not_modified,
)
from sandbox.telegram.state import Chat, StoredMessage, TelegramState
from sandbox.telegram.topics import ForumTopics
from sandbox.telegram.updates import Updates

Method = Callable[[dict], Awaitable[Any]]


class BotMethods:
    def __init__(self, state: TelegramState, updates: Updates, topics: ForumTopics | None = None):
        self._state = state
        self._updates = updates
        self._topics = topics
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self._answers_held: asyncio.Event | None = None  # see hold_send_answers

    def table(self) -> dict[str, Method]:
        """Method name (lower case: Telegram's are case-insensitive) -> handler."""
        return {
            "getme": self._get_me,
            "getupdates": self._updates.get_updates,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "pinchatmessage": self._pin_chat_message,
            "unpinchatmessage": self._unpin_chat_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "getchatadministrators": self._get_chat_administrators,
            "getchatmember": self._get_chat_member,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "close": self._true,
            "logout": self._true,
        }

    # -- for tests -----------------------------------------------------------------------
    def commands(self, scope_type: str = "default", *, language_code: str = "", **scope: Any) -> list[dict]:
        """The commands set with setMyCommands for a scope (``chat_id=``/``user_id=`` for
        the scopes that need them) and language, as getMyCommands answers."""
        params = {"scope": {"type": scope_type, **scope}, "language_code": language_code}
        return [dict(c) for c in self._commands.get(self._commands_key(params), [])]

    def hold_send_answers(self) -> None:
        """From now on a sendMessage is carried out (the chat shows it) but answered only
        after :meth:`release_send_answers`: a bot that dies meanwhile sent it without
        learning so (a crash between Telegram accepting a post and the bridge recording it)."""
        self._answers_held = asyncio.Event()

    def release_send_answers(self) -> None:
        if self._answers_held is not None:
            self._answers_held.set()
            self._answers_held = None

    # -- the bot and its updates ----------------------------------------------------------
    async def _true(self, params: dict) -> bool:
        return True

    async def _get_me(self, params: dict) -> dict:
        return {
            **self._state.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _delete_webhook(self, params: dict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.drop_pending()
        return True

    async def _get_webhook_info(self, params: dict) -> dict:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates.pending_updates()),
        }

    # -- chat members -----------------------------------------------------------------------
    def _known_chat(self, params: dict) -> Chat:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise bad_request("chat_id is empty")
        try:
            chat = self._state.chats.get(int(raw))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        if chat is None or chat.bot_removed:
            raise bad_request("chat not found")
        return chat

    async def _get_chat_administrators(self, params: dict) -> list[dict]:
        """The group's owner and administrators (ChatMember objects); like Telegram, an
        error for a private chat."""
        chat = self._known_chat(params)
        if chat.private:
            raise bad_request("there are no administrators in the private chat")
        return [dict(member) for member in chat.admins.values()]

    async def _get_chat_member(self, params: dict) -> dict:
        chat = self._known_chat(params)
        try:
            user_id = int(params.get("user_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise bad_request("invalid user_id specified") from None
        return self._state.chat_member(chat, user_id)

    # -- command menus --------------------------------------------------------------------
    async def _set_my_commands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        for command in commands:
            name = str(command.get("command", ""))
            if not (1 <= len(name) <= 32) or not name.replace("_", "").isalnum() or name.lower() != name:
                raise bad_request("BOT_COMMAND_INVALID")
            if not (1 <= len(str(command.get("description", ""))) <= 256):
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, params: dict) -> list[dict]:
        return self._commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: dict) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    @staticmethod
    def _commands_key(params: dict) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    # -- messages ---------------------------------------------------------------------------
    @staticmethod
    def _parse_text(params: dict) -> tuple[str, list[dict[str, Any]]]:
        source = params.get("text")
        if not isinstance(source, str):
            raise bad_request("message text is empty")
        if str(params.get("parse_mode") or "").lower() == "html":
            text, entities = parse_html(source)
        else:
            text, entities = source, list(params.get("entities") or [])
        text, entities = strip_text(text, entities)
        if not text:
            raise bad_request("message text is empty")
        if utf16_len(text) > TEXT_LIMIT:
            raise bad_request("message is too long")
        return text, entities

    async def _send_message(self, params: dict) -> dict:
        state = self._state
        chat = state.chat_for_bot(params)
        text, entities = self._parse_text(params)
        markup = inline_keyboard(params.get("reply_markup"))
        replied = self._replied(chat, params)
        message: dict[str, Any] = {
            "message_id": chat.take_id(),
            "from": dict(state.bot_user),
            "chat": dict(chat.chat),
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if self._topics is not None:
            self._topics.place(chat, params, message)
        if replied is not None:
            message["reply_to_message"] = dict(replied.message)
        if isinstance(params.get("link_preview_options"), dict):
            message["link_preview_options"] = params["link_preview_options"]
        if markup is not None:
            message["reply_markup"] = markup
        state.store(chat, message)
        state.record_sent(params, chat, message)
        if self._answers_held is not None:
            await self._answers_held.wait()
        return message

    @staticmethod
    def _replied(chat: Chat, params: dict) -> StoredMessage | None:
        """The message a send replies to (reply_parameters or the older reply_to_message_id)."""
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id", params.get("reply_to_message_id"))
        allow_without = bool(reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply")))
        if reply_to is None:
            return None
        replied = chat.messages.get(int(reply_to))
        if replied is None or replied.deleted:
            if not allow_without:
                raise bad_request("message to be replied not found")
            return None
        return replied

    async def _pin_chat_message(self, params: dict) -> bool:
        chat = self._state.chat_for_bot(params)
        stored = self._bots_message(chat, params, "pin")
        if not chat.can_pin and not chat.private:
            raise bad_request("not enough rights to manage pinned messages in the chat")
        message_id = int(stored.message["message_id"])
        if message_id in chat.pinned:
            chat.pinned.remove(message_id)
        chat.pinned.append(message_id)
        return True

    async def _unpin_chat_message(self, params: dict) -> bool:
        chat = self._state.chat_for_bot(params)
        if not chat.can_pin and not chat.private:
            raise bad_request("not enough rights to manage pinned messages in the chat")
        if params.get("message_id") in (None, ""):
            if not chat.pinned:
                raise bad_request("message to unpin not found")
            chat.pinned.pop()  # the most recent pin, as Telegram does
            return True
        message_id = int(params["message_id"])
        if message_id not in chat.pinned:
            raise bad_request("message to unpin not found")
        chat.pinned.remove(message_id)
        return True

    @staticmethod
    def _bots_message(chat: Chat, params: dict, action: str) -> StoredMessage:
        if params.get("message_id") in (None, ""):
            raise bad_request("message identifier is not specified")
        stored = chat.messages.get(int(params["message_id"]))
        if stored is None or stored.deleted:
            raise bad_request(f"message to {action} not found")
        return stored

    def _editable(self, params: dict) -> StoredMessage:
        """The bot's own message an edit method names (Telegram's errors otherwise)."""
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by this stand-in")
        stored = self._bots_message(self._state.chat_for_bot(params), params, "edit")
        if not stored.from_bot:
            raise bad_request("message can't be edited")
        return stored

    async def _edit_message_text(self, params: dict) -> dict:
        stored = self._editable(params)
        if "text" not in stored.message:  # a document: its caption is edited with editMessageCaption
            raise bad_request("there is no text in the message to edit")
        text, entities = self._parse_text(params)
        # Like Telegram: an edit without reply_markup takes the inline keyboard away.
        markup = inline_keyboard(params.get("reply_markup"))
        if (
            text == stored.message.get("text")
            and entities == (stored.message.get("entities") or [])
            and markup == stored.message.get("reply_markup")
        ):
            raise not_modified()
        message = {**stored.message, "text": text, "edit_date": int(time.time())}
        message.pop("entities", None)
        message.pop("reply_markup", None)
        if entities:
            message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        stored.message = message
        stored.text = text
        return message

    async def _edit_message_reply_markup(self, params: dict) -> dict:
        stored = self._editable(params)
        markup = inline_keyboard(params.get("reply_markup"))  # omitted: the keyboard is removed
        if markup == stored.message.get("reply_markup"):
            raise not_modified()
        message = {**stored.message, "edit_date": int(time.time())}
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        stored.message = message
        return message

    async def _answer_callback_query(self, params: dict) -> bool:
        query = self._state.callback_queries.pop(str(params.get("callback_query_id") or ""), None)
        if query is None:  # unknown, expired or already answered
            raise bad_request(QUERY_INVALID)
        answer = {key: params[key] for key in ("text", "show_alert", "url", "cache_time") if key in params}
        answer.update(
            callback_query_id=query["id"],
            user_id=query["from"]["id"],
            chat_id=query["message"]["chat"]["id"],
            message_id=query["message"]["message_id"],
            data=query.get("data"),
        )
        self._state.record_callback_answer(answer)
        return True

    async def _delete_message(self, params: dict) -> bool:
        """Like Telegram: the bot's own messages, a member's where the bot is an admin allowed
        to delete (or in a private chat), each within 48 hours; else 400 "message can't be deleted"."""
        chat = self._state.chat_for_bot(params)
        stored = self._bots_message(chat, params, "delete")
        refused = self._state.deletable(chat, stored)
        if refused is not None:
            raise bad_request(refused)
        stored.deleted = True
        if int(params["message_id"]) in chat.pinned:  # a deleted message is no longer pinned
            chat.pinned.remove(int(params["message_id"]))
        return True

    async def _delete_messages(self, params: dict) -> bool:
        """Like Telegram: 1-100 ids, those that cannot be found are skipped, True. Those the
        bot may not delete (deleteMessage's rules) are skipped too and stay."""
        chat = self._state.chat_for_bot(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        if len(ids) > 100:
            raise bad_request("too many message identifiers specified")
        for message_id in ids:
            stored = chat.messages.get(int(message_id))
            if stored is not None and self._state.deletable(chat, stored) is None:
                stored.deleted = True
                if int(message_id) in chat.pinned:
                    chat.pinned.remove(int(message_id))
        return True
