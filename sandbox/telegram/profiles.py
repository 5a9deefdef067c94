"""Members' profile photos: ``getUserProfilePhotos`` (the photos newest first, each in
sizes 160, 320 and 640 px). Their files are the media store's (media.py): ``getFile``
gives a ``file_path`` and ``/file/bot<token>/<file_path>`` serves the bytes; that URL holds
the bot's token, as on Telegram, so it must never leave the bridge.

Not modelled: the photos' real resizing (every size serves the bytes a test gave), video
avatars."""

from __future__ import annotations

from sandbox.telegram.media import MediaStore
from sandbox.telegram.protocol import bad_request

SIZES = (160, 320, 640)


class Profiles:
    def __init__(self, media: MediaStore):
        self._media = media
        self._photos: dict[int, list[list[dict]]] = {}  # user id -> photos (newest first), each its sizes

    def table(self) -> dict:
        return {"getuserprofilephotos": self._get_user_profile_photos}

    def set_profile_photo(self, user_id: int, data: bytes) -> None:
        """The member sets a new profile photo (``data``: the image file's bytes)."""
        sizes = [self._media.register("photo", data, width=side, height=side) for side in SIZES]
        self._photos.setdefault(int(user_id), []).insert(0, sizes)

    async def _get_user_profile_photos(self, params: dict) -> dict:
        if "user_id" not in params:
            raise bad_request("user_id is empty")
        photos = self._photos.get(int(params["user_id"]), [])
        offset = int(params.get("offset") or 0)
        limit = min(100, max(1, int(params.get("limit") or 100)))
        return {"total_count": len(photos), "photos": photos[offset : offset + limit]}
