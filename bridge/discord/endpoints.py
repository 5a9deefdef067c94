"""Pointing discord.py at DISCORD_API_URL and the gateway the bridge was given.

discord.py has no public setting for either: every REST and webhook request is
built from the class attribute ``Route.BASE`` (discord.py itself rewrites it to
change the API version), and the gateway is ``DiscordWebSocket.DEFAULT_GATEWAY``,
which ``DiscordWebSocket.from_client`` falls back to on a fresh connection and
after an invalidated session. Both are therefore class attributes set here, for
the whole process (one Discord adapter per process). pyproject.toml pins
discord.py to the minor versions this was checked against, and
tests/unit/test_discord_upstream.py fails when upstream stops reading them.
"""

from __future__ import annotations

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route


def use_api(api_url: str) -> None:
    """Every REST and webhook request of discord.py goes to ``api_url`` (no trailing slash)."""
    Route.BASE = api_url


def use_gateway(gateway_url: str) -> None:
    """The gateway discord.py connects to (and reconnects to when a session cannot resume)."""
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def api_base() -> str:
    """Where discord.py sends REST requests now."""
    return Route.BASE
