"""Forum topics (a supergroup with ``is_forum``), as the Bot API has them: getChat
(``is_forum``), createForumTopic (the bot needs can_manage_topics; the topic's id is the
id of its ``forum_topic_created`` service message, which members' clients and the bot
see), reopenForumTopic, and ``message_thread_id`` on the send methods: a message in a
topic carries ``message_thread_id`` and ``is_topic_message``; a closed topic refuses
members and bots without can_manage_topics (TOPIC_CLOSED), a deleted one is "message
thread not found", as is any topic of a chat that is not a forum.

Not modelled: topic icons beyond their colour, editForumTopic, the General topic's
own methods, unpinning all of a topic's messages."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sandbox.telegram.protocol import bad_request
from sandbox.telegram.state import Chat, TelegramState
from sandbox.telegram.updates import Updates

ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
NAME_LIMIT = 128


@dataclass
class Topic:
    thread_id: int
    name: str
    icon_color: int
    closed: bool = False
    deleted: bool = False


class ForumTopics:
    def __init__(self, state: TelegramState, updates: Updates):
        self._state = state
        self._updates = updates
        self._topics: dict[int, dict[int, Topic]] = {}  # chat id -> thread id -> topic
        self._can_manage: dict[int, bool] = {}  # chat id -> the bot may manage topics there

    def table(self) -> dict:
        return {
            "getchat": self._get_chat,
            "createforumtopic": self._create_forum_topic,
            "reopenforumtopic": self._reopen_forum_topic,
        }

    # -- for tests ---------------------------------------------------------------------
    def make_forum(self, chat_id: int, *, title: str | None = None, can_manage_topics: bool = True) -> None:
        """The supergroup has topics turned on (``is_forum``); whether the bot is an admin
        allowed to manage them."""
        chat = self._state.chat(chat_id, "supergroup", title)
        chat.chat["is_forum"] = True
        self._can_manage[int(chat_id)] = can_manage_topics
        self._topics.setdefault(int(chat_id), {})

    def deny_manage_topics(self, chat_id: int) -> None:
        self._can_manage[int(chat_id)] = False

    def inject_topic(self, chat_id: int, user: dict, name: str) -> int:
        """A member opens a topic; the ``forum_topic_created`` service message reaches the
        bot. Returns the topic's message_thread_id."""
        chat = self._forum(chat_id)
        return self._open(chat, name, {"is_bot": False, **user})

    def inject_topic_message(self, chat_id: int, thread_id: int, user: dict, text: str) -> dict:
        """A member writes in a topic: the message carries message_thread_id and
        is_topic_message, and (not being a reply) "replies" to the topic's service message."""
        chat = self._forum(chat_id)
        topic = self._topic(chat, thread_id)
        author = {"is_bot": False, **user}
        chat.members.setdefault(int(user["id"]), author)
        message = {
            "message_id": chat.take_id(),
            "from": author,
            "chat": dict(chat.chat),
            "date": int(time.time()),
            "message_thread_id": topic.thread_id,
            "is_topic_message": True,
            "reply_to_message": dict(chat.messages[topic.thread_id].message),
            "text": text,
        }
        self._state.store(chat, message)
        self._updates.queue({"message": message})
        return message

    def close_topic(self, chat_id: int, thread_id: int) -> None:
        self._topic(self._forum(chat_id), thread_id).closed = True

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """A member deletes the topic with its messages."""
        chat = self._forum(chat_id)
        self._topic(chat, thread_id).deleted = True
        for stored in chat.messages.values():
            if stored.message.get("message_thread_id") == thread_id:
                stored.deleted = True

    def topics(self, chat_id: int) -> list[dict[str, Any]]:
        """The chat's topics (deleted ones too), oldest first."""
        return [
            {"message_thread_id": t.thread_id, "name": t.name, "closed": t.closed, "deleted": t.deleted}
            for t in self._topics.get(int(chat_id), {}).values()
        ]

    def messages_in(self, chat_id: int, thread_id: int | None) -> list[dict]:
        """The messages of one topic (None: the General topic), oldest first, service
        messages left out."""
        chat = self._state.chats[int(chat_id)]
        return [
            dict(s.message)
            for s in chat.messages.values()
            if not s.deleted
            and s.message.get("message_thread_id") == thread_id
            and "forum_topic_created" not in s.message
        ]

    # -- where a bot's message goes (the send methods call this) --------------------------
    def place(self, chat: Chat, params: dict, message: dict[str, Any]) -> None:
        """Put a message the bot sends into the topic ``message_thread_id`` names (or the
        General topic without it), or refuse as Telegram does."""
        raw = params.get("message_thread_id")
        if raw in (None, "", 0):
            return
        thread_id = int(raw)
        topics = self._topics.get(int(chat.chat["id"]), {})
        topic = topics.get(thread_id)
        if not chat.chat.get("is_forum") or topic is None or topic.deleted:
            raise bad_request("message thread not found")
        if topic.closed and not self._can_manage.get(int(chat.chat["id"]), False):
            raise bad_request("TOPIC_CLOSED")
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True

    # -- methods -----------------------------------------------------------------------
    async def _get_chat(self, params: dict) -> dict:
        chat = self._state.chat_for_bot(params)
        info = {**chat.chat, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": _NO_GIFTS}
        return info

    async def _create_forum_topic(self, params: dict) -> dict:
        chat = self._state.chat_for_bot(params)
        if not chat.chat.get("is_forum"):
            raise bad_request("the chat is not a forum")
        if not self._can_manage.get(int(chat.chat["id"]), False):
            raise bad_request("not enough rights to create a topic")
        name = str(params.get("name") or "")
        if not 1 <= len(name) <= NAME_LIMIT:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_INVALID")
        thread_id = self._open(chat, name, dict(self._state.bot_user), int(params.get("icon_color") or 0))
        topic = self._topics[int(chat.chat["id"])][thread_id]
        return {"message_thread_id": thread_id, "name": topic.name, "icon_color": topic.icon_color}

    async def _reopen_forum_topic(self, params: dict) -> bool:
        chat = self._state.chat_for_bot(params)
        if not chat.chat.get("is_forum"):
            raise bad_request("the chat is not a forum")
        topic = self._topics.get(int(chat.chat["id"]), {}).get(int(params.get("message_thread_id") or 0))
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        if not self._can_manage.get(int(chat.chat["id"]), False):
            raise bad_request("not enough rights to manage topics")
        if not topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = False
        return True

    # -- inside ------------------------------------------------------------------------
    def _forum(self, chat_id: int) -> Chat:
        chat = self._state.chats.get(int(chat_id))
        if chat is None or not chat.chat.get("is_forum"):
            raise ValueError(f"chat {chat_id} is not a forum (make_forum first)")
        return chat

    def _topic(self, chat: Chat, thread_id: int) -> Topic:
        topic = self._topics[int(chat.chat["id"])].get(int(thread_id))
        if topic is None:
            raise ValueError(f"no topic {thread_id} in chat {chat.chat['id']}")
        return topic

    def _open(self, chat: Chat, name: str, author: dict, icon_color: int = 0) -> int:
        topics = self._topics.setdefault(int(chat.chat["id"]), {})
        color = icon_color if icon_color in ICON_COLORS else ICON_COLORS[len(topics) % len(ICON_COLORS)]
        thread_id = chat.take_id()
        topics[thread_id] = Topic(thread_id, name, color)
        service = {
            "message_id": thread_id,
            "from": author,
            "chat": dict(chat.chat),
            "date": int(time.time()),
            "message_thread_id": thread_id,
            "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": color},
        }
        self._state.store(chat, service)
        self._updates.queue({"message": service})
        return thread_id


_NO_GIFTS = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}
