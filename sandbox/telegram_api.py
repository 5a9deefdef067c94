"""A protocol-level stand-in of the Telegram Bot API on loopback.

The real aiogram client talks to it over HTTP exactly as it would to
api.telegram.org (``{url}/bot{token}/{method}``, form, multipart or JSON
bodies, the real response envelope and error bodies). Tests and the demo play
the members' side through :meth:`TelegramStandIn.inject_message` and friends,
and read what members would see through :meth:`TelegramStandIn.transcript`.

What it checks like Telegram does: the token (401), the method (404), text
length after entity parsing (4096, counted in UTF-16 code units), HTML
entities (only Telegram's tags, balanced, with ``<``/``>``/``&`` escaped),
replies to missing messages, edits of others' or missing messages, "message is
not modified", deletes of missing messages, and one long poller per token
(an older ``getUpdates`` is answered 409 when a newer one arrives).

Private chats (chat id == user id, type "private"): a bot cannot write first.
Sending to a user who has not written to the bot in private (``/start``, see
:meth:`TelegramStandIn.start_private`) is answered 403 "bot can't initiate
conversation with a user"; :meth:`block_bot` gives "bot was blocked by the
user". Inline keyboards on the bot's messages (``reply_markup`` with
``inline_keyboard``; buttons need ``text`` and one action, ``callback_data``
1-64 bytes) are checked, stored and echoed; ``editMessageText`` and
``editMessageReplyMarkup`` without ``reply_markup`` remove the keyboard, as on
Telegram. A member pressing a button is :meth:`inject_callback`, a
``callback_query`` update; ``answerCallbackQuery`` is accepted once per query
and recorded in :attr:`callback_answers`. Members' leading ``/command`` (also
``/command@bot_username``) carries a ``bot_command`` entity.

Opt-in, for benchmarks (off by default, so tests see the stand-in as before):
``enforce_limits=True`` answers sends (``sendMessage``, ``editMessageText``) over
Telegram's published limits with 429 "Too Many Requests: retry after N" and
``parameters.retry_after``: at most 1 per chat per second, 20 per group per
minute, 30 per bot per second (sliding windows of accepted sends; the limits are
:data:`CHAT_LIMIT`, :data:`GROUP_LIMIT`, :data:`BOT_LIMIT`). Every 429 sent,
planned ones included, is counted in :attr:`TelegramStandIn.rate_limited_responses`
(and by the limit that refused it, "chat", "group" or "bot", in
:attr:`TelegramStandIn.rate_limited_by`).
``receipts=True`` stamps each sent message (:meth:`TelegramStandIn.sent`) with
``received_at``: ``time.perf_counter()`` when its request reached the stand-in.

Deliberately not modelled: files and media uploads, Markdown parse modes (the
text is taken as plain), groups the bot was never told about (any negative
chat id exists; use :meth:`remove_bot` to get "bot was kicked"), reply
keyboards and force-reply (accepted, not stored), inline mode and inline
messages, ``my_chat_member`` updates, the wall-clock expiry of callback
queries (use :meth:`expire_callbacks`).
"""
from __future__ import annotations

import asyncio
import contextvars
import hashlib
import html
import json
import math
import re
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web


TEXT_LIMIT = 4096
FIRST_UPDATE_ID = 100_000_001

# Telegram's published limits (count, seconds), enforced with enforce_limits=True.
CHAT_LIMIT = (1, 1.0)  # "avoid sending more than one message per second" in a chat
GROUP_LIMIT = (20, 60.0)  # "no more than 20 messages per minute" in a group
BOT_LIMIT = (30, 1.0)  # "about 30 messages per second" for bulk notifications
_LIMITED_METHODS = frozenset({"sendmessage", "editmessagetext"})
# When the request being handled reached the stand-in (perf_counter), for receipts.
_RECEIVED_AT: contextvars.ContextVar[float] = contextvars.ContextVar("received_at", default=0.0)

# Form and query values arrive as strings; these say how to read them back.
_INT_FIELDS = frozenset({
    "message_id", "offset", "limit", "timeout", "reply_to_message_id", "message_thread_id",
    "from_chat_id", "user_id", "cache_time",
})
_BOOL_FIELDS = frozenset({
    "disable_notification", "protect_content", "drop_pending_updates", "allow_sending_without_reply",
    "disable_web_page_preview", "allow_paid_broadcast", "show_alert",
})
_JSON_FIELDS = frozenset({
    "reply_parameters", "link_preview_options", "allowed_updates", "commands", "scope",
    "reply_markup", "entities", "message_ids",
})

_ERROR_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was kicked from the supergroup chat",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ApiError(Exception):
    """An error answer, with the body Telegram would send."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


# -- Telegram's HTML parse mode -------------------------------------------------

_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
    "code": "code", "pre": "pre", "blockquote": "blockquote",
}
ALLOWED_TAGS = frozenset(_SIMPLE_TAGS) | {"a", "span"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Telegram measures text and entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class _EntityParser(HTMLParser):
    """Telegram's HTML: its tags only, balanced, and the three specials escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.text_parts: list[str] = []
        self.length = 0  # UTF-16 units so far
        self.open: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[dict[str, Any]] = []

    def _append(self, text: str) -> None:
        self.text_parts.append(text)
        self.length += utf16_len(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in ALLOWED_TAGS:
            raise _bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')
        if tag == "a" and not attributes.get("href"):
            raise _bad_request("can't parse entities: the tag \"a\" needs an href")
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise _bad_request("can't parse entities: Tag \"span\" must have class \"tg-spoiler\"")
        self.open.append((tag, self.length, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise _bad_request(f'can\'t parse entities: Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open:
            raise _bad_request(f'can\'t parse entities: Unexpected end tag "{tag}"')
        name, start, attributes = self.open.pop()
        if name != tag:
            raise _bad_request(f'can\'t parse entities: Can\'t find end tag corresponding to start tag "{name}"')
        length = self.length - start
        if length <= 0:
            return
        entity: dict[str, Any] = {"offset": start, "length": length}
        if tag == "a":
            href = attributes.get("href") or ""
            if href.startswith("tg://user?id="):
                entity.update(type="text_mention", user={"id": int(href.split("=", 1)[1] or 0),
                                                         "is_bot": False, "first_name": ""})
            else:
                entity.update(type="text_link", url=href)
        elif tag == "span":
            entity["type"] = "spoiler"
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        else:
            entity["type"] = _SIMPLE_TAGS[tag]
            language = (attributes.get("class") or "")
            if tag == "code" and language.startswith("language-") and self.open and self.open[-1][0] == "pre":
                entity.update(type="pre", language=language[len("language-"):])
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        for special in "<>&":
            if special in data:
                raise _bad_request(
                    f"can't parse entities: Unescaped \"{special}\" (write {html.escape(special)})")
        self._append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _NAMED_ENTITIES:
            raise _bad_request(f'can\'t parse entities: Unsupported HTML entity "&{name};"')
        self._append(_NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self._append(chr(code))
        except (ValueError, OverflowError):
            raise _bad_request(f'can\'t parse entities: Invalid character reference "&#{name};"') from None

    def handle_comment(self, data: str) -> None:
        raise _bad_request("can't parse entities: comments are not supported")

    def handle_decl(self, decl: str) -> None:
        raise _bad_request("can't parse entities: declarations are not supported")

    handle_pi = handle_decl
    unknown_decl = handle_decl


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """(plain text, entities) as Telegram would show a text sent with parse_mode HTML;
    raise :class:`ApiError` 400 "can't parse entities" on anything Telegram rejects."""
    parser = _EntityParser()
    parser.feed(source)
    parser.close()
    if parser.open:
        raise _bad_request(
            f'can\'t parse entities: Can\'t find end tag corresponding to start tag "{parser.open[-1][0]}"')
    return "".join(parser.text_parts), sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))


def _strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims surrounding whitespace; entities move and shrink with it."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(limit, entity["offset"] - shift + entity["length"])
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


FORBIDDEN_NOT_STARTED = "Forbidden: bot can't initiate conversation with a user"
FORBIDDEN_BLOCKED = "Forbidden: bot was blocked by the user"
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CALLBACK_DATA_LIMIT = 64  # bytes
# The fields of an InlineKeyboardButton of which exactly one must be set.
_BUTTON_ACTIONS = ("url", "callback_data", "web_app", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
                   "callback_game", "pay")

# "/command" (letters, digits, underscores) with an optional "@bot_username", ended
# by the text's end or a character that cannot continue it.
_BOT_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")


def _command_entities(text: str) -> list[dict[str, Any]]:
    """Telegram marks a leading "/command" or "/command@bot_username" (members' side;
    the only entity we compute)."""
    match = _BOT_COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


def _button_error(detail: str) -> ApiError:
    return _bad_request(f"can't parse inline keyboard button: {detail}")


def _inline_keyboard(markup: Any) -> dict[str, Any] | None:
    """The InlineKeyboardMarkup to store with a message (None for no inline keyboard),
    or :class:`ApiError` 400 with Telegram's description for a malformed one."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None  # a reply keyboard, keyboard removal or force reply: not modelled
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
    keyboard = []
    for row in rows:
        kept_row = []
        for button in row:
            if not isinstance(button, dict):
                raise _button_error("InlineKeyboardButton should be an Object")
            if "text" not in button:
                raise _button_error('Can\'t find field "text"')
            if not isinstance(button["text"], str):
                raise _button_error('Field "text" must be of type String')
            actions = [name for name in _BUTTON_ACTIONS if button.get(name) is not None]
            if not actions:
                raise _button_error("Text buttons are unallowed in the inline keyboard")
            if "callback_data" in actions:
                data = button["callback_data"]
                if not isinstance(data, str):
                    raise _button_error('Field "callback_data" must be of type String')
                if not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                    raise _bad_request("BUTTON_DATA_INVALID")
            if "url" in actions:
                if not isinstance(button["url"], str):
                    raise _button_error('Field "url" must be of type String')
                if not button["url"].startswith(("http://", "https://", "tg://")):
                    raise _bad_request("BUTTON_URL_INVALID")
            kept_row.append({key: value for key, value in button.items() if value is not None})
        if kept_row:
            keyboard.append(kept_row)
    return {"inline_keyboard": keyboard}


# -- state ----------------------------------------------------------------------

@dataclass
class _StoredMessage:
    """One message in one chat, as its members see it now."""

    message: dict[str, Any]  # the Bot API Message object (without reply nesting)
    author_label: str  # the member's first name, or "bot"
    text: str  # plain text (caption for media), entities already applied
    from_bot: bool
    deleted: bool = False


@dataclass
class _Chat:
    chat: dict[str, Any]
    next_message_id: int = 1
    messages: dict[int, _StoredMessage] = field(default_factory=dict)
    bot_removed: bool = False  # kicked from the group; in a private chat: blocked by the user
    started: bool = False  # private chats: the user has written to the bot

    @property
    def private(self) -> bool:
        return self.chat["type"] == "private"

    def take_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


class TelegramStandIn:
    """The Telegram Bot API for one bot, on 127.0.0.1."""

    def __init__(self, token: str, bot_id: int = 7000001, bot_username: str = "twinbridge_bot", *,
                 enforce_limits: bool = False, receipts: bool = False):
        self.token = token
        self.enforce_limits = enforce_limits
        self.receipts = receipts
        self.rate_limited_responses = 0  # every 429 sent (planned ones included)
        self.rate_limited_by: Counter = Counter()  # enforce_limits 429s by the limit that refused
        # bucket -> times (loop clock) of the sends it accepted lately, for enforce_limits
        self._windows: dict[str, deque] = {}
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": "twinbridge", "username": bot_username}
        self.requests: list[tuple[float, str, dict]] = []
        self._chats: dict[int, _Chat] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = FIRST_UPDATE_ID
        self._allowed_updates: list[str] = []
        # Replaced after each wake-up, so a waiter only ever sees the wake-up it waited for.
        self._wakeup = asyncio.Event()
        self._poll_generation = 0
        self._faults: dict[str, list[ApiError]] = {}
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self._sent: list[dict[str, Any]] = []
        self._answers_held: asyncio.Event | None = None  # see hold_send_answers
        self._callback_queries: dict[str, dict[str, Any]] = {}  # id -> the query, while answerable
        self._callback_answers: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = False

    # -- lifecycle ----------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # access_log=None: the access log would print request paths, and the path holds the token.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._host = host
        self._port = self._runner.addresses[0][1]
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._wake()  # release long polls now rather than at their timeout
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("TelegramStandIn is not started")
        return f"http://{self._host}:{self._port}"

    # -- the members' side ----------------------------------------------------------
    def _chat(self, chat_id: int, chat_type: str | None = None, title: str | None = None,
              user: dict | None = None) -> _Chat:
        """The chat, created on first mention. Positive ids are users' private chats
        (as on Telegram), negative ones groups (a supergroup unless ``chat_type`` says)."""
        chat_id = int(chat_id)
        if chat_id not in self._chats:
            chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
            info: dict[str, Any] = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                user = user or {}
                info["first_name"] = user.get("first_name") or title or "Member"
                for key in ("last_name", "username"):
                    if user.get(key):
                        info[key] = user[key]
            else:
                info["title"] = title or f"Chat {chat_id}"
            self._chats[chat_id] = _Chat(chat=info)
        return self._chats[chat_id]

    def inject_message(self, chat_id: int, user: dict, text: str, *, reply_to_message_id: int | None = None,
                       chat_type: str | None = None, title: str | None = None) -> dict:
        """A member writes ``text`` in the chat; returns the Message the bot will receive.

        ``chat_type`` defaults to "private" for a positive chat id (which must then be
        the member's own id) and "supergroup" otherwise. Writing in private lets the
        bot write back (see :meth:`start_private`)."""
        if "id" not in user or not user.get("first_name"):
            # aiogram would reject the update and the poller would retry it forever.
            raise ValueError("a member needs at least an id and a first_name")
        chat_type = chat_type or ("private" if int(chat_id) > 0 else "supergroup")
        if chat_type == "private" and int(chat_id) != int(user["id"]):
            raise ValueError(f"a private chat's id is its user's id ({user['id']}), not {chat_id}")
        chat = self._chat(chat_id, chat_type, title, user=user)
        if chat.private:
            chat.started = True
        author = {"is_bot": False, **user}
        message: dict[str, Any] = {
            "message_id": chat.take_id(), "from": author, "chat": dict(chat.chat),
            "date": int(time.time()), "text": text,
        }
        if entities := _command_entities(text):
            message["entities"] = entities
        if reply_to_message_id is not None:
            replied = chat.messages.get(int(reply_to_message_id))
            if replied is None or replied.deleted:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
            message["reply_to_message"] = dict(replied.message)
        self._store(chat, message)
        self._queue({"message": message})
        return message

    def inject_edit(self, chat_id: int, message_id: int, text: str) -> dict:
        """The author edits their message; queues an ``edited_message`` update."""
        chat = self._chats[int(chat_id)]
        stored = chat.messages[int(message_id)]
        if stored.deleted:
            raise ValueError(f"message {message_id} in chat {chat_id} was deleted")
        # Like Telegram: whole seconds, so two edits within a second share an edit_date.
        message = {**stored.message, "text": text, "edit_date": int(time.time())}
        message.pop("entities", None)
        if entities := _command_entities(text):
            message["entities"] = entities
        stored.message = message
        stored.text = text
        self._queue({"edited_message": message})
        return message

    def inject_update(self, update: dict) -> dict:
        """Queue a raw update (stickers, polls, service messages...); an update_id is
        assigned unless given. A contained message is stored in its chat too."""
        update = dict(update)
        for kind in ("message", "edited_message"):
            message = update.get(kind)
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                chat = self._chat(message["chat"]["id"], message["chat"].get("type"),
                                  message["chat"].get("title"), user=message["chat"])
                chat.next_message_id = max(chat.next_message_id, int(message["message_id"]) + 1)
                self._store(chat, message)
                if chat.private and (message.get("from") or {}).get("id") == chat.chat["id"]:
                    chat.started = True
        self._queue(update)
        return update

    def inject_unparseable(self, chat_id: int, *, text: str = "") -> dict:
        """Queue an update no Bot API client can parse: a message to ``chat_id`` whose
        ``date`` is not a number and whose ``from`` lacks ``first_name``, as a buggy or
        future Bot API server could send. Nothing is stored in the chat. Returns the update."""
        message = {"message_id": self._chat(chat_id).take_id(), "chat": dict(self._chat(chat_id).chat),
                   "from": {"id": 1, "is_bot": False}, "date": "not-a-date", "text": text}
        update = {"message": message}
        self._queue(update)
        return {"update_id": self._next_update_id - 1, **update}

    def start_private(self, user: dict) -> dict:
        """The member opens the bot's private chat and presses Start: a "/start" message
        in the private chat (id == the user's id). The bot may write to them from now on.
        Returns the Message the bot will receive."""
        return self.inject_message(int(user["id"]), user, "/start", chat_type="private")

    def block_bot(self, user_id: int) -> None:
        """The member blocks the bot: sends to them fail with 403 "bot was blocked by the user"."""
        self._chat(user_id, "private").bot_removed = True

    def unblock_bot(self, user_id: int) -> None:
        self._chat(user_id, "private").bot_removed = False

    def inject_callback(self, user: dict, chat_id: int, message_id: int, data: str) -> dict:
        """The member presses the inline button carrying ``data`` under the bot's message;
        queues a ``callback_query`` update shaped as Telegram sends it and returns it.
        Like in the Telegram apps, only a button that is on the message can be pressed."""
        if "id" not in user or not user.get("first_name"):
            raise ValueError("a member needs at least an id and a first_name")
        chat = self._chats.get(int(chat_id))
        stored = chat.messages.get(int(message_id)) if chat is not None else None
        if stored is None or stored.deleted:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        buttons = [button for row in (stored.message.get("reply_markup") or {}).get("inline_keyboard", [])
                   for button in row]
        if not any(button.get("callback_data") == data for button in buttons):
            raise ValueError(f"message {message_id} in chat {chat_id} has no button with callback_data {data!r}")
        # chat_instance: a stable opaque id for (bot, chat), a signed 64-bit number as a string.
        digest = hashlib.sha256(f"{self.bot_user['id']}:{chat.chat['id']}".encode()).digest()
        query = {
            "id": str(secrets.randbits(63)), "from": {"is_bot": False, **user},
            "message": dict(stored.message), "chat_instance": str(int.from_bytes(digest[:8], "big", signed=True)),
            "data": data,
        }
        self._callback_queries[query["id"]] = query
        update = {"update_id": self._next_update_id, "callback_query": query}
        self._queue(update)
        return update

    def expire_callbacks(self) -> None:
        """Every callback query not yet answered expires (Telegram's answer deadline passed)."""
        self._callback_queries.clear()

    def remove_bot(self, chat_id: int) -> None:
        """The bot is kicked from the chat: sends there now fail with 403 Forbidden."""
        self._chat(chat_id).bot_removed = True

    def add_bot(self, chat_id: int) -> None:
        """The bot is added (back) to the chat."""
        self._chat(chat_id).bot_removed = False

    def _store(self, chat: _Chat, message: dict[str, Any]) -> None:
        author = message.get("from") or {}
        from_bot = author.get("id") == self.bot_user["id"]
        label = ("bot" if from_bot
                 else str(author.get("first_name") or (message.get("sender_chat") or {}).get("title", "")))
        stored_message = {k: v for k, v in message.items() if k != "reply_to_message"}
        chat.messages[int(message["message_id"])] = _StoredMessage(
            message=stored_message, author_label=label,
            text=message.get("text") or message.get("caption") or "", from_bot=from_bot)

    def _queue(self, payload: dict[str, Any]) -> None:
        if "update_id" not in payload:
            payload = {"update_id": self._next_update_id, **payload}
        self._next_update_id = max(self._next_update_id, int(payload["update_id"]) + 1)
        self._updates.append(payload)
        self._wake()

    def _wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    # -- what the bot did ----------------------------------------------------------
    def sent(self, chat_id: int | None = None) -> list[dict]:
        """Every message the bot sent (successfully), with all its parameters and the
        ``message_id`` it got (and ``received_at`` with ``receipts=True``), in order."""
        return [dict(s) for s in self._sent if chat_id is None or s["chat_id"] == int(chat_id)]

    @property
    def sent_count(self) -> int:
        """How many messages the bot has sent so far (cheap, unlike ``len(sent())``)."""
        return len(self._sent)

    def message(self, chat_id: int, message_id: int) -> dict | None:
        """One message as the chat's members see it now (None if missing or deleted)."""
        chat = self._chats.get(int(chat_id))
        stored = chat.messages.get(int(message_id)) if chat is not None else None
        return None if stored is None or stored.deleted else dict(stored.message)

    def bot_messages(self) -> list[dict]:
        """Every message the bot shows now, in every chat it is in (groups and private
        chats), as members see them; deleted ones left out (for whole-platform scans)."""
        return [dict(m.message) for chat in self._chats.values() for _, m in sorted(chat.messages.items())
                if m.from_bot and not m.deleted]

    def private_messages(self, user_id: int) -> list[dict]:
        """The bot's messages in its private chat with the user as the user sees them
        now (Message objects: edited text, current ``reply_markup``; deleted ones left out)."""
        chat = self._chats.get(int(user_id))
        if chat is None or not chat.private:
            return []
        return [dict(m.message) for _, m in sorted(chat.messages.items()) if m.from_bot and not m.deleted]

    @property
    def callback_answers(self) -> list[dict]:
        """Every accepted answerCallbackQuery, in order: the parameters sent (text,
        show_alert, url, cache_time when given) plus ``callback_query_id``, ``user_id``,
        ``chat_id``, ``message_id`` and ``data`` of the query answered."""
        return [dict(a) for a in self._callback_answers]

    def commands(self, scope_type: str = "default", *, language_code: str = "", **scope: Any) -> list[dict]:
        """The commands set with setMyCommands for a scope (``chat_id=``/``user_id=`` for
        the scopes that need them) and language, as getMyCommands answers."""
        params = {"scope": {"type": scope_type, **scope}, "language_code": language_code}
        return [dict(c) for c in self._commands.get(self._commands_key(params), [])]

    def transcript(self, chat_id: int) -> list[tuple[str, str]]:
        """What the chat's members see now, oldest first: (first name or "bot", plain text)."""
        chat = self._chats.get(int(chat_id))
        if chat is None:
            return []
        return [(m.author_label, m.text) for _, m in sorted(chat.messages.items()) if not m.deleted]

    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    def fail_next(self, method: str, status: int, *, retry_after: int | None = None, count: int = 1,
                  description: str | None = None) -> None:
        """Answer the next ``count`` calls of ``method`` with a real Telegram error body."""
        if status == 429:
            retry_after = 5 if retry_after is None else retry_after
            text = description or f"Too Many Requests: retry after {retry_after}"
        else:
            text = description or _ERROR_DESCRIPTIONS.get(status, "Error")
        for _ in range(count):
            self._faults.setdefault(method.lower(), []).append(ApiError(status, text, retry_after=retry_after))

    # -- HTTP ----------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        if self.receipts:
            _RECEIVED_AT.set(time.perf_counter())
        method = request.match_info["method"]
        try:
            params = await _read_params(request)
        except ApiError as error:
            return web.json_response(error.body(), status=error.status)
        self.requests.append((time.time(), method, params))
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._methods().get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            faults = self._faults.get(method.lower())
            if faults:
                raise faults.pop(0)
            if self.enforce_limits and method.lower() in _LIMITED_METHODS:
                self._check_limits(params)
            result = await handler(params)
        except ApiError as error:
            if error.status == 429:
                self.rate_limited_responses += 1
            return web.json_response(error.body(), status=error.status)
        return web.json_response({"ok": True, "result": result})

    def _check_limits(self, params: dict) -> None:
        """429 with retry_after when this send would exceed a limit (enforce_limits);
        otherwise the send is counted in every window it belongs to. A send that then
        fails for another reason (400, 403) still counts, as it would on Telegram."""
        try:
            chat_id = int(params.get("chat_id"))
        except (TypeError, ValueError):
            return  # the handler answers 400
        buckets = [(f"chat:{chat_id}", CHAT_LIMIT), ("bot", BOT_LIMIT)]
        if chat_id < 0:
            buckets.append((f"group:{chat_id}", GROUP_LIMIT))
        now = asyncio.get_running_loop().time()
        wait, refused_by = 0.0, None
        for name, (count, period) in buckets:
            window = self._windows.setdefault(name, deque())
            while window and window[0] <= now - period:
                window.popleft()
            if len(window) >= count and window[len(window) - count] + period - now > wait:
                wait, refused_by = window[len(window) - count] + period - now, name.split(":")[0]
        if wait > 0:
            self.rate_limited_by[refused_by] += 1
            retry_after = max(1, math.ceil(wait))  # Telegram says whole seconds
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        for name, _ in buckets:
            self._windows[name].append(now)

    def _methods(self) -> dict[str, Any]:
        return {
            "getme": self._get_me, "getupdates": self._get_updates, "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info, "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands, "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message, "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "deletemessage": self._delete_message, "deletemessages": self._delete_messages,
            "close": self._true, "logout": self._true,
        }

    async def _true(self, params: dict) -> bool:
        return True

    async def _get_me(self, params: dict) -> dict:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _delete_webhook(self, params: dict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: dict) -> dict:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    async def _get_updates(self, params: dict) -> list[dict]:
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older poll still waiting is answered 409 now
        offset = int(params.get("offset") or 0)
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = max(0, int(params.get("timeout") or 0))
        if "allowed_updates" in params and params["allowed_updates"] is not None:
            # Like Telegram, the filter sticks until the next call that sets it.
            self._allowed_updates = list(params["allowed_updates"])
        if offset > 0:
            # Everything before the offset is confirmed and forgotten.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, _ERROR_DESCRIPTIONS[409])
            ready = self._deliverable(offset)
            if ready or self._closing:
                return ready[:limit]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            wakeup = self._wakeup
            try:
                await asyncio.wait_for(wakeup.wait(), remaining)
            except TimeoutError:
                return []

    def _deliverable(self, offset: int) -> list[dict]:
        updates = self._updates
        if offset < 0:
            updates = updates[offset:]
        allowed = self._allowed_updates or None
        if allowed is None:
            return list(updates)
        # Telegram silently drops updates of kinds the bot did not ask for.
        wanted = [u for u in updates if any(kind in u for kind in allowed)]
        unwanted = {u["update_id"] for u in updates} - {u["update_id"] for u in wanted}
        self._updates = [u for u in self._updates if u["update_id"] not in unwanted]
        return wanted

    async def _set_my_commands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("parameter \"commands\" is required")
        for command in commands:
            name = str(command.get("command", ""))
            if not (1 <= len(name) <= 32) or not name.replace("_", "").isalnum() or name.lower() != name:
                raise _bad_request("BOT_COMMAND_INVALID")
            if not (1 <= len(str(command.get("description", ""))) <= 256):
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
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

    def _chat_for_bot(self, params: dict) -> _Chat:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise _bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise _bad_request("chat not found") from None
        chat = self._chats.get(chat_id)
        if (chat is None and chat_id > 0) or (chat is not None and chat.private and not chat.started):
            # A user's private chat: the user has to write to the bot first.
            raise ApiError(403, FORBIDDEN_NOT_STARTED)
        chat = chat or self._chat(chat_id)
        if chat.bot_removed:
            raise ApiError(403, FORBIDDEN_BLOCKED if chat.private else _ERROR_DESCRIPTIONS[403])
        return chat

    @staticmethod
    def _parse_text(params: dict) -> tuple[str, list[dict[str, Any]]]:
        source = params.get("text")
        if not isinstance(source, str):
            raise _bad_request("message text is empty")
        if str(params.get("parse_mode") or "").lower() == "html":
            text, entities = parse_html(source)
        else:
            text, entities = source, list(params.get("entities") or [])
        text, entities = _strip_text(text, entities)
        if not text:
            raise _bad_request("message text is empty")
        if utf16_len(text) > TEXT_LIMIT:
            raise _bad_request("message is too long")
        return text, entities

    async def _send_message(self, params: dict) -> dict:
        chat = self._chat_for_bot(params)
        text, entities = self._parse_text(params)
        markup = _inline_keyboard(params.get("reply_markup"))
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id", params.get("reply_to_message_id"))
        allow_without = bool(reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply")))
        replied = None
        if reply_to is not None:
            replied = chat.messages.get(int(reply_to))
            if replied is None or replied.deleted:
                if not allow_without:
                    raise _bad_request("message to be replied not found")
                replied = None
        message: dict[str, Any] = {
            "message_id": chat.take_id(), "from": dict(self.bot_user), "chat": dict(chat.chat),
            "date": int(time.time()), "text": text,
        }
        if entities:
            message["entities"] = entities
        if replied is not None:
            message["reply_to_message"] = dict(replied.message)
        if isinstance(params.get("link_preview_options"), dict):
            message["link_preview_options"] = params["link_preview_options"]
        if markup is not None:
            message["reply_markup"] = markup
        self._store(chat, message)
        entry = {**params, "chat_id": chat.chat["id"], "message_id": message["message_id"]}
        if self.receipts:
            entry["received_at"] = _RECEIVED_AT.get()
        self._sent.append(entry)
        if self._answers_held is not None:
            await self._answers_held.wait()
        return message

    def hold_send_answers(self) -> None:
        """From now on a sendMessage is carried out (the chat shows it) but answered only
        after :meth:`release_send_answers`: a bot that dies meanwhile sent it without
        learning so (a crash between Telegram accepting a post and the bridge recording it)."""
        self._answers_held = asyncio.Event()

    def release_send_answers(self) -> None:
        if self._answers_held is not None:
            self._answers_held.set()
            self._answers_held = None

    def _bots_message(self, chat: _Chat, params: dict, action: str) -> _StoredMessage:
        if params.get("message_id") in (None, ""):
            raise _bad_request("message identifier is not specified")
        stored = chat.messages.get(int(params["message_id"]))
        if stored is None or stored.deleted:
            raise _bad_request(f"message to {action} not found")
        return stored

    def _editable(self, params: dict) -> _StoredMessage:
        """The bot's own message an edit method names (Telegram's errors otherwise)."""
        if params.get("inline_message_id"):
            raise _bad_request("inline messages are not supported by this stand-in")
        stored = self._bots_message(self._chat_for_bot(params), params, "edit")
        if not stored.from_bot:
            raise _bad_request("message can't be edited")
        return stored

    async def _edit_message_text(self, params: dict) -> dict:
        stored = self._editable(params)
        text, entities = self._parse_text(params)
        # Like Telegram: an edit without reply_markup takes the inline keyboard away.
        markup = _inline_keyboard(params.get("reply_markup"))
        if text == stored.message.get("text") and entities == (stored.message.get("entities") or []) \
                and markup == stored.message.get("reply_markup"):
            raise _not_modified()
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
        markup = _inline_keyboard(params.get("reply_markup"))  # omitted: the keyboard is removed
        if markup == stored.message.get("reply_markup"):
            raise _not_modified()
        message = {**stored.message, "edit_date": int(time.time())}
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        stored.message = message
        return message

    async def _answer_callback_query(self, params: dict) -> bool:
        query = self._callback_queries.pop(str(params.get("callback_query_id") or ""), None)
        if query is None:  # unknown, expired or already answered
            raise _bad_request(QUERY_INVALID)
        answer = {key: params[key] for key in ("text", "show_alert", "url", "cache_time") if key in params}
        answer.update(callback_query_id=query["id"], user_id=query["from"]["id"],
                      chat_id=query["message"]["chat"]["id"], message_id=query["message"]["message_id"],
                      data=query.get("data"))
        self._callback_answers.append(answer)
        return True

    async def _delete_message(self, params: dict) -> bool:
        chat = self._chat_for_bot(params)
        stored = self._bots_message(chat, params, "delete")
        stored.deleted = True
        return True

    async def _delete_messages(self, params: dict) -> bool:
        """Like Telegram: 1-100 ids, those that cannot be found are skipped, True."""
        chat = self._chat_for_bot(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise _bad_request("message identifiers are not specified")
        if len(ids) > 100:
            raise _bad_request("too many message identifiers specified")
        for message_id in ids:
            stored = chat.messages.get(int(message_id))
            if stored is not None:
                stored.deleted = True
        return True


def _not_modified() -> ApiError:
    return _bad_request("message is not modified: specified new message content and reply markup "
                        "are exactly the same as a current content and reply markup of the message")


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and a form, multipart or JSON body, typed back."""
    raw: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad_request("can't parse JSON") from None
            if not isinstance(body, dict):
                raise _bad_request("JSON body must be an object")
            raw.update(body)
            return raw  # JSON values are typed already
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):  # uploaded files are not modelled
                    raw[key] = value
    return {key: _typed(key, value) for key, value in raw.items()}


def _typed(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if key in _JSON_FIELDS:
            return json.loads(value)
        if key in _INT_FIELDS:
            return int(value)
        if key == "chat_id":
            return int(value) if value.lstrip("-").isdigit() else value
        if key in _BOOL_FIELDS:
            return value.lower() in ("true", "1")
    except ValueError:
        raise _bad_request(f"can't parse parameter \"{key}\"") from None
    return value
