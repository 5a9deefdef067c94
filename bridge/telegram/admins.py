"""Who administers a Telegram group (for organisers' commands: ``Command.admin``).

Asked with getChatAdministrators, one call per group, remembered briefly: an organiser
running several commands costs one call, and a member made or unmade an admin counts
as such within ``TTL`` seconds. A failed call counts nobody as an admin (the listed
organisers still count: the workers check them); it is not remembered.
"""

from __future__ import annotations

import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.methods import GetChatAdministrators

log = logging.getLogger(__name__)

TTL = 60.0  # seconds an answer is remembered
REQUEST_TIMEOUT = 10


class ChatAdmins:
    def __init__(self, ttl: float = TTL):
        self._ttl = ttl
        self._known: dict[int, tuple[float, frozenset[int]]] = {}  # chat id -> (until, admin ids)

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        known = self._known.get(chat_id)
        if known is None or known[0] < time.monotonic():
            try:
                members = await bot(GetChatAdministrators(chat_id=chat_id), request_timeout=REQUEST_TIMEOUT)
            except (TelegramAPIError, TelegramNetworkError, TimeoutError) as exc:
                log.warning("could not ask a group's administrators (%s)", type(exc).__name__)
                return False
            known = (time.monotonic() + self._ttl, frozenset(member.user.id for member in members))
            self._known[chat_id] = known
        return user_id in known[1]
