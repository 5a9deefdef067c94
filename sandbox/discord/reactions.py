"""Reactions: the bot's own (``PUT``/``DELETE /channels/{c}/messages/{m}/reactions/{emoji}/@me``,
as discord.py's ``add_reaction``/``remove_own_reaction`` call them) and members' (injected),
each announced as MESSAGE_REACTION_ADD / MESSAGE_REACTION_REMOVE to sessions with the
guild (or direct) message reactions intent, shaped as Discord sends them.

Checked as Discord checks: the emoji in the path is a unicode emoji or ``name:id`` of a
custom one (else 400 Unknown Emoji, 10014); at most 20 distinct reactions on a message
(400, 30010); adding one already there and removing one that is not are no-ops (204).

Not modelled: super reactions, listing who reacted, removing others' reactions."""

from __future__ import annotations

import copy
import unicodedata

from aiohttp import web

from sandbox.discord.protocol import DiscordError, Route
from sandbox.discord.state import DiscordState

MAX_DISTINCT = 20
UNKNOWN_EMOJI = 10014
MAX_REACTIONS = 30010


def _emoji_data(raw: str) -> dict:
    """The emoji object of a path's or a test's emoji: unicode, or "name:id" (custom)."""
    name, _, custom_id = raw.partition(":")
    if custom_id:
        if not custom_id.isdigit() or not name:
            raise DiscordError(400, "Unknown Emoji", UNKNOWN_EMOJI)
        return {"id": custom_id, "name": name}
    if not raw or any(unicodedata.category(c)[0] in "LNPZ" and c not in "#*" for c in raw):
        # Letters, digits, punctuation or spaces: no emoji Discord knows.
        raise DiscordError(400, "Unknown Emoji", UNKNOWN_EMOJI)
    return {"id": None, "name": raw}


def _key(emoji: dict) -> str:
    return f"{emoji['name']}:{emoji['id']}" if emoji.get("id") else emoji["name"]


class Reactions:
    def __init__(self, state: DiscordState):
        self._state = state

    def routes(self) -> list[Route]:
        base = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}"
        return [
            ("PUT", base + "/@me", self._add_own),
            ("DELETE", base + "/@me", self._remove_own),
        ]

    # -- REST ---------------------------------------------------------------------------
    def _target(self, request: web.Request) -> dict:
        channel_id = self._state.known_channel(request.match_info["channel_id"])
        return self._state.known_message(channel_id, request.match_info["message_id"])

    async def _add_own(self, request: web.Request) -> web.Response:
        message = self._target(request)
        self.add(message, self._state.bot_id, _emoji_data(request.match_info["emoji"]))
        return web.Response(status=204)

    async def _remove_own(self, request: web.Request) -> web.Response:
        message = self._target(request)
        self.remove(message, self._state.bot_id, _emoji_data(request.match_info["emoji"]))
        return web.Response(status=204)

    # -- the world ------------------------------------------------------------------------
    def add(self, message: dict, user_id: int, emoji: dict) -> None:
        reactors: dict[str, list[int]] = message.setdefault("_reactors", {})
        key = _key(emoji)
        if key not in reactors and len(reactors) >= MAX_DISTINCT:
            raise DiscordError(400, "Maximum number of reactions reached (20)", MAX_REACTIONS)
        users = reactors.setdefault(key, [])
        if int(user_id) in users:
            return
        users.append(int(user_id))
        message.setdefault("_emoji", {})[key] = emoji
        self._publish(message)
        self._state.dispatch("MESSAGE_REACTION_ADD", self._event(message, user_id, emoji, add=True))

    def remove(self, message: dict, user_id: int, emoji: dict) -> None:
        reactors: dict[str, list[int]] = message.setdefault("_reactors", {})
        key = _key(emoji)
        if int(user_id) not in reactors.get(key, []):
            return
        reactors[key].remove(int(user_id))
        if not reactors[key]:
            del reactors[key]
        self._publish(message)
        self._state.dispatch("MESSAGE_REACTION_REMOVE", self._event(message, user_id, emoji, add=False))

    def _publish(self, message: dict) -> None:
        """The public ``reactions`` array REST answers carry."""
        bot = self._state.bot_id
        emoji = message.get("_emoji", {})
        message["reactions"] = [
            {
                "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "me": bot in users,
                "me_burst": False,
                "burst_colors": [],
                "emoji": copy.deepcopy(emoji[key]),
            }
            for key, users in message["_reactors"].items()
        ]
        if not message["reactions"]:
            del message["reactions"]

    def _event(self, message: dict, user_id: int, emoji: dict, *, add: bool) -> dict:
        data = {
            "user_id": str(user_id),
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "emoji": copy.deepcopy(emoji),
            "burst": False,
            "type": 0,
        }
        if "guild_id" in message:
            data["guild_id"] = message["guild_id"]
        if add:
            data["message_author_id"] = message["author"]["id"]
            data["burst_colors"] = []
        return data

    # -- members' side and what tests read -------------------------------------------------
    def inject_reaction(self, channel_id: int, message_id: int, user: dict, emoji: str) -> None:
        """A member adds ``emoji`` (unicode, or "name:id") to a message."""
        message = self._state.known_message(int(channel_id), str(message_id))
        user = self._state.remember_user(user)
        self.add(message, int(user["id"]), _emoji_data(emoji))

    def inject_unreaction(self, channel_id: int, message_id: int, user: dict, emoji: str) -> None:
        """A member takes their ``emoji`` back."""
        message = self._state.known_message(int(channel_id), str(message_id))
        self.remove(message, int(user["id"]), _emoji_data(emoji))

    def reactions(self, channel_id: int, message_id: int) -> dict[str, list[int]]:
        """emoji -> the ids of who reacted with it (the bot's own included)."""
        message = self._state.get_message(int(channel_id), int(message_id)) or {}
        return {k: list(v) for k, v in message.get("_reactors", {}).items()}

    def bot_reactions(self, channel_id: int, message_id: int) -> set[str]:
        """The emoji the bot itself put on a message."""
        bot = self._state.bot_id
        return {k for k, users in self.reactions(channel_id, message_id).items() if bot in users}
