"""The platforms' file size limits (bytes), as documented.

Telegram Bot API: a bot downloads files up to 20 MB (getFile) and uploads up to 50 MB
(photos up to 10 MB). Discord: 10 MiB per upload by default, more on boosted servers
(level 2: 50 MiB, level 3: 100 MiB; discord.py's ``Guild.filesize_limit``)."""

from __future__ import annotations

MB = 1024 * 1024

TELEGRAM_DOWNLOAD_LIMIT = 20 * MB
TELEGRAM_UPLOAD_LIMIT = 50 * MB
TELEGRAM_PHOTO_LIMIT = 10 * MB
DISCORD_DEFAULT_UPLOAD_LIMIT = 10 * MB
DISCORD_UPLOAD_LIMIT_BY_BOOST = {0: 10 * MB, 1: 10 * MB, 2: 50 * MB, 3: 100 * MB}


def discord_upload_limit(premium_tier: int | None) -> int:
    return DISCORD_UPLOAD_LIMIT_BY_BOOST.get(premium_tier or 0, DISCORD_DEFAULT_UPLOAD_LIMIT)


def human_size(size: int) -> str:
    """ "30.1 MB", "850 KB" (decimal units, as people read them)."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{max(1, round(size / 1000))} KB"
