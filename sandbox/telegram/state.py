"""The recorded world of the Telegram stand-in: chats (groups and users' private chats)
and their messages as members see them now, what the bot sent, and the callback
queries of pressed buttons; plus the members' side (writing, editing, pressing
buttons, starting or blocking the bot), which queues the updates the bot receives."""

from __future__ import annotations

import contextvars
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.telegram.formatting import command_entities
from sandbox.telegram.protocol import (
    ERROR_DESCRIPTIONS,
    FORBIDDEN_BLOCKED,
    FORBIDDEN_NOT_STARTED,
    ApiError,
    bad_request,
)
from sandbox.telegram.updates import Updates

# The user Telegram shows as the author of what an anonymous administrator writes as the group.
GROUP_ANONYMOUS_BOT = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
# The rights of an administrator made with make_admin (ChatMemberAdministrator's booleans).
ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
    "can_pin_messages",
    "can_manage_topics",
)

# Telegram deletes a message for everyone only within 48 hours of its sending.
DELETE_WINDOW = 48 * 3600

# When the request being handled reached the stand-in (perf_counter), for receipts:
# set by the HTTP handler, read when a sent message is recorded.
RECEIVED_AT: contextvars.ContextVar[float] = contextvars.ContextVar("received_at", default=0.0)


@dataclass
class StoredMessage:
    """One message in one chat, as its members see it now."""

    message: dict[str, Any]  # the Bot API Message object (without reply nesting)
    author_label: str  # the member's first name, or "bot"
    text: str  # plain text (caption for media), entities already applied
    from_bot: bool
    deleted: bool = False


@dataclass
class Chat:
    chat: dict[str, Any]
    next_message_id: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    bot_removed: bool = False  # kicked from the group; in a private chat: blocked by the user
    started: bool = False  # private chats: the user has written to the bot
    pinned: list[int] = field(default_factory=list)  # pinned message ids, oldest pin first
    can_pin: bool = True  # the bot may pin here (an admin with "Pin messages", or a private chat)
    # The bot may delete members' messages here (an admin with can_delete_messages); its own
    # it may always delete, like anything in a private chat; either only within 48 hours.
    can_delete: bool = False
    # Groups: the ChatMember objects of the owner and the administrators, by user id
    # (see TelegramState.make_admin), and the users seen writing there (members).
    admins: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def private(self) -> bool:
        return self.chat["type"] == "private"

    def take_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


class TelegramState:
    def __init__(self, bot_user: dict[str, Any], updates: Updates, *, receipts: bool):
        self.bot_user = bot_user
        self.receipts = receipts
        self._updates = updates
        self.chats: dict[int, Chat] = {}
        self._sent: list[dict[str, Any]] = []
        self.callback_queries: dict[str, dict[str, Any]] = {}  # id -> the query, while answerable
        self._callback_answers: list[dict[str, Any]] = []
        self._documents: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}  # file_id -> the Document and its bytes

    # -- chats -------------------------------------------------------------------------
    def chat(
        self, chat_id: int, chat_type: str | None = None, title: str | None = None, user: dict | None = None
    ) -> Chat:
        """The chat, created on first mention. Positive ids are users' private chats
        (as on Telegram), negative ones groups (a supergroup unless ``chat_type`` says)."""
        chat_id = int(chat_id)
        if chat_id not in self.chats:
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
            self.chats[chat_id] = Chat(chat=info)
        return self.chats[chat_id]

    def chat_for_bot(self, params: dict) -> Chat:
        """The chat a method's ``chat_id`` names, if the bot may write there."""
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        chat = self.chats.get(chat_id)
        if (chat is None and chat_id > 0) or (chat is not None and chat.private and not chat.started):
            # A user's private chat: the user has to write to the bot first.
            raise ApiError(403, FORBIDDEN_NOT_STARTED)
        chat = chat or self.chat(chat_id)
        if chat.bot_removed:
            raise ApiError(403, FORBIDDEN_BLOCKED if chat.private else ERROR_DESCRIPTIONS[403])
        return chat

    def store(self, chat: Chat, message: dict[str, Any]) -> None:
        author = message.get("from") or {}
        from_bot = author.get("id") == self.bot_user["id"]
        sender_chat = message.get("sender_chat") or {}
        label = "bot" if from_bot else str(author.get("first_name") or sender_chat.get("title", ""))
        stored_message = {k: v for k, v in message.items() if k != "reply_to_message"}
        chat.messages[int(message["message_id"])] = StoredMessage(
            message=stored_message,
            author_label=label,
            text=message.get("text") or message.get("caption") or "",
            from_bot=from_bot,
        )

    def record_sent(self, params: dict, chat: Chat, message: dict[str, Any]) -> None:
        entry = {**params, "chat_id": chat.chat["id"], "message_id": message["message_id"]}
        if self.receipts:
            entry["received_at"] = RECEIVED_AT.get()
        self._sent.append(entry)

    def record_document(self, params: dict, chat: Chat, message: dict[str, Any], data: bytes) -> None:
        entry = {
            **{k: v for k, v in params.items() if not isinstance(v, (bytes, bytearray)) and k != "document"},
            "chat_id": chat.chat["id"],
            "message_id": message["message_id"],
            "document": dict(message["document"]),
            "data": data,
        }
        self._documents.append(entry)

    def record_callback_answer(self, answer: dict[str, Any]) -> None:
        self._callback_answers.append(answer)

    # -- the members' side ----------------------------------------------------------------
    def inject_message(
        self,
        chat_id: int,
        user: dict,
        text: str,
        *,
        reply_to_message_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        entities: list[dict] | None = None,
    ) -> dict:
        """A member writes ``text`` in the chat; returns the Message the bot will receive.
        ``entities``: the formatting the member's client sent (Bot API MessageEntity
        objects, UTF-16 offsets), besides the bot_command entity Telegram adds itself.

        ``chat_type`` defaults to "private" for a positive chat id (which must then be
        the member's own id) and "supergroup" otherwise. Writing in private lets the
        bot write back (see :meth:`start_private`)."""
        if "id" not in user or not user.get("first_name"):
            # aiogram would reject the update and the poller would retry it forever.
            raise ValueError("a member needs at least an id and a first_name")
        chat_type = chat_type or ("private" if int(chat_id) > 0 else "supergroup")
        if chat_type == "private" and int(chat_id) != int(user["id"]):
            raise ValueError(f"a private chat's id is its user's id ({user['id']}), not {chat_id}")
        chat = self.chat(chat_id, chat_type, title, user=user)
        if chat.private:
            chat.started = True
        author = {"is_bot": False, **user}
        chat.members.setdefault(int(user["id"]), author)
        message: dict[str, Any] = {
            "message_id": chat.take_id(),
            "from": author,
            "chat": dict(chat.chat),
            "date": int(time.time()),
            "text": text,
        }
        if all_entities := sorted(
            [*command_entities(text), *(entities or ())], key=lambda e: (e["offset"], -e["length"])
        ):
            message["entities"] = all_entities
        if reply_to_message_id is not None:
            replied = chat.messages.get(int(reply_to_message_id))
            if replied is None or replied.deleted:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
            message["reply_to_message"] = dict(replied.message)
        self.store(chat, message)
        self._updates.queue({"message": message})
        return message

    def inject_edit(self, chat_id: int, message_id: int, text: str) -> dict:
        """The author edits their message; queues an ``edited_message`` update."""
        chat = self.chats[int(chat_id)]
        stored = chat.messages[int(message_id)]
        if stored.deleted:
            raise ValueError(f"message {message_id} in chat {chat_id} was deleted")
        # Like Telegram: whole seconds, so two edits within a second share an edit_date.
        message = {**stored.message, "text": text, "edit_date": int(time.time())}
        message.pop("entities", None)
        if entities := command_entities(text):
            message["entities"] = entities
        stored.message = message
        stored.text = text
        self._updates.queue({"edited_message": message})
        return message

    def inject_update(self, update: dict) -> dict:
        """Queue a raw update (stickers, polls, service messages...); an update_id is
        assigned unless given. A contained message is stored in its chat too."""
        update = dict(update)
        for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
            message = update.get(kind)
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                chat = self.chat(
                    message["chat"]["id"],
                    message["chat"].get("type"),
                    message["chat"].get("title"),
                    user=message["chat"],
                )
                chat.next_message_id = max(chat.next_message_id, int(message["message_id"]) + 1)
                self.store(chat, message)
                if chat.private and (message.get("from") or {}).get("id") == chat.chat["id"]:
                    chat.started = True
        self._updates.queue(update)
        return update

    def inject_unparseable(self, chat_id: int, *, text: str = "") -> dict:
        """Queue an update no Bot API client can parse: a message to ``chat_id`` whose
        ``date`` is not a number and whose ``from`` lacks ``first_name``, as a buggy or
        future Bot API server could send. Nothing is stored in the chat. Returns the update."""
        message = {
            "message_id": self.chat(chat_id).take_id(),
            "chat": dict(self.chat(chat_id).chat),
            "from": {"id": 1, "is_bot": False},
            "date": "not-a-date",
            "text": text,
        }
        return dict(self._updates.queue({"message": message}))

    def start_private(self, user: dict) -> dict:
        """The member opens the bot's private chat and presses Start: a "/start" message
        in the private chat (id == the user's id). The bot may write to them from now on.
        Returns the Message the bot will receive."""
        return self.inject_message(int(user["id"]), user, "/start", chat_type="private")

    def make_admin(self, chat_id: int, user: dict, *, owner: bool = False, anonymous: bool = False) -> dict:
        """The member becomes an administrator of the group (``owner``: its creator), as
        getChatMember and getChatAdministrators report them from now on (a Bot API
        ChatMemberAdministrator with the usual rights, or ChatMemberOwner). Returns it."""
        chat = self.chat(chat_id)
        if chat.private:
            raise ValueError("a private chat has no administrators")
        member_user = {"is_bot": False, **user}
        if owner:
            member: dict[str, Any] = {"status": "creator", "user": member_user, "is_anonymous": anonymous}
        else:
            member = {
                "status": "administrator",
                "user": member_user,
                "can_be_edited": False,
                "is_anonymous": anonymous,
                **dict.fromkeys(ADMIN_RIGHTS, True),
            }
        chat.admins[int(user["id"])] = member
        chat.members.setdefault(int(user["id"]), member_user)
        return dict(member)

    def remove_admin(self, chat_id: int, user_id: int) -> None:
        """The member is an ordinary member again."""
        self.chat(chat_id).admins.pop(int(user_id), None)

    def chat_member(self, chat: Chat, user_id: int) -> dict[str, Any]:
        """getChatMember's answer: the admin's record, a member who wrote there, or "left"."""
        if int(user_id) in chat.admins:
            return dict(chat.admins[int(user_id)])
        if int(user_id) == self.bot_user["id"]:
            return {"status": "member", "user": dict(self.bot_user)}
        user = chat.members.get(int(user_id))
        if user is None:
            raise bad_request("user not found")
        return {"status": "member", "user": dict(user)}

    def inject_as_group(self, chat_id: int, text: str) -> dict:
        """An anonymous administrator writes on behalf of the group: ``sender_chat`` is the
        group itself and ``from`` Telegram's placeholder bot @GroupAnonymousBot, as Telegram
        sends it. Returns the Message the bot will receive."""
        chat = self.chat(chat_id)
        if chat.private:
            raise ValueError("only a group's administrators can write as the group")
        message: dict[str, Any] = {
            "message_id": chat.take_id(),
            "from": dict(GROUP_ANONYMOUS_BOT),
            "sender_chat": dict(chat.chat),
            "chat": dict(chat.chat),
            "date": int(time.time()),
            "text": text,
        }
        if entities := command_entities(text):
            message["entities"] = entities
        self.store(chat, message)
        self._updates.queue({"message": message})
        return message

    def inject_channel_post(self, channel_id: int, text: str, *, title: str | None = None, signature: str = "") -> dict:
        """An admin posts in a channel the bot administers: a ``channel_post`` update, the
        channel as ``sender_chat`` and no ``from`` (and ``author_signature`` when the
        channel signs its posts), as Telegram sends it. Returns the Message."""
        chat = self.chat(channel_id, "channel", title)
        message: dict[str, Any] = {
            "message_id": chat.take_id(),
            "sender_chat": dict(chat.chat),
            "chat": dict(chat.chat),
            "date": int(time.time()),
            "text": text,
        }
        if signature:
            message["author_signature"] = signature
        self.store(chat, message)
        self._updates.queue({"channel_post": message})
        return message

    def inject_automatic_forward(self, group_id: int, post: dict) -> dict:
        """Telegram copies a channel's ``post`` into its linked discussion group: a
        ``message`` from the service user 777000 on behalf of the channel, marked
        ``is_automatic_forward``, with the post's ``forward_origin``. Returns the Message."""
        chat = self.chat(group_id)
        channel = post["chat"]
        origin: dict[str, Any] = {
            "type": "channel",
            "chat": dict(channel),
            "message_id": post["message_id"],
            "date": post["date"],
        }
        if post.get("author_signature"):
            origin["author_signature"] = post["author_signature"]
        message: dict[str, Any] = {
            "message_id": chat.take_id(),
            "from": {"id": 777000, "is_bot": False, "first_name": "Telegram"},
            "sender_chat": dict(channel),
            "chat": dict(chat.chat),
            "date": int(time.time()),
            "is_automatic_forward": True,
            "forward_origin": origin,
            "text": post.get("text", ""),
        }
        self.store(chat, message)
        self._updates.queue({"message": message})
        return message

    def inject_content(self, chat_id: int, user: dict, content: dict, *, via_bot: dict | None = None) -> dict:
        """A member posts something other than plain text (``content``: the Message fields,
        e.g. {"poll": {...}}, {"location": {...}}, {"text": ..., } with ``via_bot``); a
        ``message`` update as Telegram sends it. Returns the Message."""
        chat = self.chat(chat_id)
        author = {"is_bot": False, **user}
        chat.members.setdefault(int(user["id"]), author)
        message: dict[str, Any] = {
            "message_id": chat.take_id(),
            "from": author,
            "chat": dict(chat.chat),
            "date": int(time.time()),
            **content,
        }
        if via_bot is not None:
            message["via_bot"] = dict(via_bot)
        self.store(chat, message)
        self._updates.queue({"message": message})
        return message

    def block_bot(self, user_id: int) -> None:
        """The member blocks the bot: sends to them fail with 403 "bot was blocked by the user"."""
        self.chat(user_id, "private").bot_removed = True

    def unblock_bot(self, user_id: int) -> None:
        self.chat(user_id, "private").bot_removed = False

    def inject_callback(self, user: dict, chat_id: int, message_id: int, data: str) -> dict:
        """The member presses the inline button carrying ``data`` under the bot's message;
        queues a ``callback_query`` update shaped as Telegram sends it and returns it.
        Like in the Telegram apps, only a button that is on the message can be pressed."""
        if "id" not in user or not user.get("first_name"):
            raise ValueError("a member needs at least an id and a first_name")
        chat = self.chats.get(int(chat_id))
        stored = chat.messages.get(int(message_id)) if chat is not None else None
        if chat is None or stored is None or stored.deleted:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        buttons = [
            button for row in (stored.message.get("reply_markup") or {}).get("inline_keyboard", []) for button in row
        ]
        if not any(button.get("callback_data") == data for button in buttons):
            raise ValueError(f"message {message_id} in chat {chat_id} has no button with callback_data {data!r}")
        # chat_instance: a stable opaque id for (bot, chat), a signed 64-bit number as a string.
        digest = hashlib.sha256(f"{self.bot_user['id']}:{chat.chat['id']}".encode()).digest()
        query: dict[str, Any] = {
            "id": str(secrets.randbits(63)),
            "from": {"is_bot": False, **user},
            "message": dict(stored.message),
            "chat_instance": str(int.from_bytes(digest[:8], "big", signed=True)),
            "data": data,
        }
        self.callback_queries[query["id"]] = query
        return self._updates.queue({"callback_query": query})

    def expire_callbacks(self) -> None:
        """Every callback query not yet answered expires (Telegram's answer deadline passed)."""
        self.callback_queries.clear()

    def deny_pin(self, chat_id: int) -> None:
        """The bot is not an admin allowed to pin in the chat: pinChatMessage is answered
        400 "not enough rights to manage pinned messages in the chat", as Telegram does."""
        self.chat(chat_id).can_pin = False

    def allow_pin(self, chat_id: int) -> None:
        self.chat(chat_id).can_pin = True

    def allow_delete(self, chat_id: int) -> None:
        """The bot becomes an admin of the group with the right to delete messages: it may
        delete members' messages (younger than 48 hours) from now on."""
        self.chat(chat_id).can_delete = True

    def deny_delete(self, chat_id: int) -> None:
        """The bot loses that right: deleting a member's message is answered 400 "message
        can't be deleted", as Telegram does (its own it may still delete)."""
        self.chat(chat_id).can_delete = False

    def age_message(self, chat_id: int, message_id: int, seconds: float) -> None:
        """Move the message ``seconds`` into the past (its ``date``), as if written then:
        past 48 hours the bot may no longer delete it. A later reply to it carries that date."""
        stored = self.chats[int(chat_id)].messages[int(message_id)]
        stored.message = {**stored.message, "date": int(stored.message["date"] - seconds)}

    def deletable(self, chat: Chat, stored: StoredMessage) -> str | None:
        """None if the bot may delete ``stored`` now, else Telegram's description of why not:
        older than 48 hours, or a member's message in a group where the bot lacks the right."""
        date = stored.message.get("date")
        if isinstance(date, (int, float)) and time.time() - date > DELETE_WINDOW:
            return "message can't be deleted for everyone"
        if not (stored.from_bot or chat.private or chat.can_delete):
            return "message can't be deleted"
        return None

    def remove_bot(self, chat_id: int) -> None:
        """The bot is kicked from the chat: sends there now fail with 403 Forbidden."""
        self.chat(chat_id).bot_removed = True

    def add_bot(self, chat_id: int) -> None:
        """The bot is added (back) to the chat."""
        self.chat(chat_id).bot_removed = False

    # -- what the bot did ---------------------------------------------------------------
    def sent(self, chat_id: int | None = None) -> list[dict]:
        """Every message the bot sent (successfully), with all its parameters and the
        ``message_id`` it got (and ``received_at`` with ``receipts=True``), in order."""
        return [dict(s) for s in self._sent if chat_id is None or s["chat_id"] == int(chat_id)]

    def documents(self, chat_id: int | None = None) -> list[dict]:
        """Every document the bot sent (sendDocument), in order: the parameters sent (the
        upload itself left out), ``chat_id``, ``message_id``, the ``document`` object
        Telegram answered with (file_id, file_name, mime_type, file_size) and ``data``,
        the uploaded bytes. (:meth:`sent` lists sendMessage only.)"""
        return [dict(d) for d in self._documents if chat_id is None or d["chat_id"] == int(chat_id)]

    def pinned(self, chat_id: int) -> list[int]:
        """The ids of the messages pinned in the chat now, oldest pin first."""
        chat = self.chats.get(int(chat_id))
        return list(chat.pinned) if chat is not None else []

    @property
    def sent_count(self) -> int:
        """How many messages the bot has sent so far (cheap, unlike ``len(sent())``)."""
        return len(self._sent)

    def message(self, chat_id: int, message_id: int) -> dict | None:
        """One message as the chat's members see it now (None if missing or deleted)."""
        chat = self.chats.get(int(chat_id))
        stored = chat.messages.get(int(message_id)) if chat is not None else None
        return None if stored is None or stored.deleted else dict(stored.message)

    def bot_messages(self) -> list[dict]:
        """Every message the bot shows now, in every chat it is in (groups and private
        chats), as members see them; deleted ones left out (for whole-platform scans)."""
        return [
            dict(m.message)
            for chat in self.chats.values()
            for _, m in sorted(chat.messages.items())
            if m.from_bot and not m.deleted
        ]

    def private_messages(self, user_id: int) -> list[dict]:
        """The bot's messages in its private chat with the user as the user sees them
        now (Message objects: edited text, current ``reply_markup``; deleted ones left out)."""
        chat = self.chats.get(int(user_id))
        if chat is None or not chat.private:
            return []
        return [dict(m.message) for _, m in sorted(chat.messages.items()) if m.from_bot and not m.deleted]

    @property
    def callback_answers(self) -> list[dict]:
        """Every accepted answerCallbackQuery, in order: the parameters sent (text,
        show_alert, url, cache_time when given) plus ``callback_query_id``, ``user_id``,
        ``chat_id``, ``message_id`` and ``data`` of the query answered."""
        return [dict(a) for a in self._callback_answers]

    def transcript(self, chat_id: int) -> list[tuple[str, str]]:
        """What the chat's members see now, oldest first: (first name or "bot", plain text)."""
        chat = self.chats.get(int(chat_id))
        if chat is None:
            return []
        return [(m.author_label, m.text) for _, m in sorted(chat.messages.items()) if not m.deleted]
