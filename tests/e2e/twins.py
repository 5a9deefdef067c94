"""A fleet of twinned pairs for fault tests: Telegram group i ↔ Discord channel i."""

from __future__ import annotations

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env

GUILD = 112233445566770000


def tg_chat(i: int) -> int:
    return -1002000000000 - i


def dc_channel(i: int) -> int:
    return 112233445566700000 + i


def pair_links(pairs: int) -> str:
    """links.yaml with one `policy: open` link per pair."""
    lines = ["version: 1", "communities:"]
    for i in range(pairs):
        lines += [
            f"  town{i}: {{name: Town {i}, language: en, chats: [{{telegram: {tg_chat(i)}}}]}}",
            f"  twin{i}: {{name: Twin {i}, language: en, chats: [{{discord: {dc_channel(i)}}}]}}",
        ]
    lines.append("links:")
    for i in range(pairs):
        lines.append(f"  - {{id: pair-{i}, communities: [town{i}, twin{i}], direction: both, policy: open}}")
    return "\n".join(lines) + "\n"


def translated_pair_links(pairs: int) -> str:
    """Pair i: a Telegram group writing English, a Discord channel reading German."""
    lines = ["version: 1", "communities:"]
    for i in range(pairs):
        lines += [
            f"  town{i}: {{name: Town {i}, language: en, chats: [{{telegram: {tg_chat(i)}}}]}}",
            f"  twin{i}: {{name: Twin {i}, language: de, chats: [{{discord: {dc_channel(i)}}}]}}",
        ]
    lines.append("links:")
    lines += [f"  - {{id: pair-{i}, communities: [town{i}, twin{i}], policy: pair}}" for i in range(pairs)]
    lines += ["policies:", "  pair: {base: open, translation: [libre]}"]
    return "\n".join(lines) + "\n"


def standins(pairs: int) -> tuple[TelegramStandIn, DiscordStandIn]:
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(
        token=DC_TOKEN,
        guilds={GUILD: {"name": "Twins", "channels": {dc_channel(i): f"twin-{i}" for i in range(pairs)}}},
    )
    return telegram, discord


def fleet_env(tmp_path, pairs: int, redis_url: str, prefix: str, telegram, discord, **extra: str) -> dict[str, str]:
    """Write the fleet's links.yaml and return the environment for the `twinbridge` commands."""
    return bridge_env(tmp_path, pair_links(pairs), redis_url, prefix, telegram, discord, **extra)
