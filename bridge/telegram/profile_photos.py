"""A Telegram member's profile photo, for their avatar on Discord (bridge/avatars): the
newest photo in the smallest size of at least 256 px (getUserProfilePhotos), fetched
through getFile and the file route. The file's URL holds the bot's token: it stays
inside this function (aiogram builds it), never logged, never passed on."""

from __future__ import annotations

import io

from aiogram import Bot

AVATAR_SIDE = 256
MAX_BYTES = 5 * 1024 * 1024  # a profile photo is some 100 kB; more is not one


async def profile_photo(bot: Bot, user_id: str) -> bytes | None:
    """The image's bytes, or None when the member shows no profile photo to the bot."""
    photos = await bot.get_user_profile_photos(int(user_id), limit=1)
    if not photos.photos or not photos.photos[0]:
        return None
    sizes = sorted(photos.photos[0], key=lambda size: size.width * size.height)
    size = next((s for s in sizes if min(s.width, s.height) >= AVATAR_SIDE), sizes[-1])
    if size.file_size and size.file_size > MAX_BYTES:
        return None
    file = await bot.get_file(size.file_id)
    if not file.file_path or (file.file_size and file.file_size > MAX_BYTES):
        return None
    buffer = io.BytesIO()
    await bot.download_file(file.file_path, destination=buffer, timeout=10)
    data = buffer.getvalue()
    return data if len(data) <= MAX_BYTES else None
