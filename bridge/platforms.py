"""The platforms `twinbridge run` can connect, one line each.

Each entry names the :class:`~core.settings.Settings` field holding the
platform's token (unset: the platform is off) and where its adapter class lives
(a package implementing :class:`bridge.adapter.Adapter`). The class is imported
only when its token is set, so a platform whose client library is not installed
costs nothing to the others. docs/architecture.md, "Adding a platform", says
what else a new platform needs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from .adapter import Adapter

# What the runner calls to build a platform's adapter (once per (re)start).
AdapterFactory = Callable[..., Adapter]


@dataclass(frozen=True)
class Platform:
    name: str  # as chats name it in links.yaml (core.models.PLATFORMS)
    token_setting: str  # the Settings field with its token; None or empty: not started
    adapter: str  # "module:Class", imported when the platform is started

    def token(self, settings: Any) -> str | None:
        return getattr(settings, self.token_setting, None) or None

    def load(self) -> AdapterFactory:
        """The adapter class (ImportError if the platform's client library is missing)."""
        module, _, name = self.adapter.partition(":")
        return getattr(importlib.import_module(module), name)


PLATFORMS: tuple[Platform, ...] = (
    Platform("telegram", "telegram_bot_token", "bridge.telegram.adapter:TelegramAdapter"),
    Platform("discord", "discord_bot_token", "bridge.discord.adapter:DiscordAdapter"),
)
