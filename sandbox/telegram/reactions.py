"""Reactions: members' (injected as the updates Telegram sends) and the bot's own
(``setMessageReaction``).

``message_reaction`` (one member's reactions before and after a change) is sent only
where the bot is an administrator of the group, and only to a bot that asked for it in
``allowed_updates``; ``message_reaction_count`` (the totals, for anonymous reactions)
likewise. ``setMessageReaction``: a bot may set at most one reaction ("Bad Request:
REACTIONS_TOO_MANY"), an emoji of Telegram's reaction list ("Bad Request:
REACTION_INVALID"), on a message of the chat ("Bad Request: message to react not found")."""

from __future__ import annotations

import time
from typing import Any

from sandbox.telegram.protocol import bad_request
from sandbox.telegram.state import TelegramState
from sandbox.telegram.updates import Updates

# Telegram's reaction emoji (the set ReactionTypeEmoji accepts).
REACTION_EMOJI = frozenset(
    "👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 🥱 🥴 😍 🐳 ❤‍🔥 "
    "🌚 🌭 💯 🤣 ⚡ 🍌 🏆 💔 🤨 😐 🍓 🍾 💋 🖕 😈 "
    "😴 😭 🤓 👻 👨‍💻 👀 🎃 🙈 😇 😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 🤪 🗿 🆒 💘 🙉 🦄 😘 💊 🙊 😎 👾 🤷‍♂ 🤷 🤷‍♀ 😡".split()
)


def _types(reactions: list[str]) -> list[dict[str, Any]]:
    return [{"type": "emoji", "emoji": emoji} for emoji in reactions]


class Reactions:
    def __init__(self, state: TelegramState, updates: Updates):
        self._state = state
        self._updates = updates
        self.bot_reactions: dict[tuple[int, int], list[dict]] = {}  # (chat, message) -> the bot's reaction

    def table(self) -> dict:
        return {"setmessagereaction": self._set_message_reaction}

    def _bot_is_admin(self, chat_id: int) -> bool:
        return int(self._state.bot_user["id"]) in self._state.chat(chat_id).admins

    # -- members' side -------------------------------------------------------------------------
    def inject_reaction(
        self, chat_id: int, message_id: int, user: dict, old: list[str], new: list[str], *, types: bool = True
    ) -> dict | None:
        """``user`` changes their reactions on a message from ``old`` to ``new`` (emoji, or
        dicts for custom emoji and paid reactions when ``types`` is False). None when the
        bot is not an administrator there (Telegram sends it nothing)."""
        if not self._bot_is_admin(chat_id):
            return None
        chat = self._state.chat(chat_id)
        return self._updates.queue(
            {
                "message_reaction": {
                    "chat": dict(chat.chat),
                    "message_id": int(message_id),
                    "user": {"is_bot": False, **user},
                    "date": int(time.time()),
                    "old_reaction": _types(old) if types else old,
                    "new_reaction": _types(new) if types else new,
                }
            }
        )

    def inject_reaction_count(self, chat_id: int, message_id: int, totals: dict[str, int]) -> dict | None:
        """The anonymous reactions on a message now total ``totals``."""
        if not self._bot_is_admin(chat_id):
            return None
        chat = self._state.chat(chat_id)
        return self._updates.queue(
            {
                "message_reaction_count": {
                    "chat": dict(chat.chat),
                    "message_id": int(message_id),
                    "date": int(time.time()),
                    "reactions": [
                        {"type": {"type": "emoji", "emoji": emoji}, "total_count": n} for emoji, n in totals.items()
                    ],
                }
            }
        )

    # -- the bot's own ---------------------------------------------------------------------------
    async def _set_message_reaction(self, params: dict) -> bool:
        chat = self._state.chat(int(params["chat_id"]))
        message_id = int(params.get("message_id") or 0)
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise bad_request("message to react not found")
        reaction = params.get("reaction") or []
        if len(reaction) > 1:
            raise bad_request("REACTIONS_TOO_MANY")
        for item in reaction:
            if item.get("type") != "emoji" or item.get("emoji") not in REACTION_EMOJI:
                raise bad_request("REACTION_INVALID")
        self.bot_reactions[(int(chat.chat["id"]), message_id)] = list(reaction)
        return True
