"""The demo's photo: Anna posts a phone photo that records where it was taken (EXIF GPS, the
camera's serial number), and what Krefeld's channel receives is shown next to it."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

from PIL import Image

GPS, EXIF_IFD, SERIAL = 0x8825, 0x8769, 0xA431
# Leicester market: 52°37'48" N, 1°7'48" W
PLACE = {1: "N", 2: (52.0, 37.0, 48.0), 3: "W", 4: (1.0, 7.0, 48.0)}


def phone_photo() -> bytes:
    """A JPEG as a phone writes it: the picture, then EXIF with the place and the camera."""
    picture = Image.linear_gradient("L").resize((320, 240)).convert("RGB")
    picture.paste((200, 60, 40), (40, 60, 140, 140))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Google", "Pixel 8"
    exif.get_ifd(GPS).update(PLACE)
    exif.get_ifd(EXIF_IFD)[SERIAL] = "38061FDJH00CXJ"
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=88, exif=exif)
    return out.getvalue()


def where_taken(data: bytes) -> str:
    """ "52.63,-1.13" from a JPEG's EXIF GPS, or "none"."""
    gps = Image.open(io.BytesIO(data)).getexif().get_ifd(GPS)
    if not gps.get(2) or not gps.get(4):
        return "none"

    def degrees(dms, ref: str) -> float:
        value = float(dms[0]) + float(dms[1]) / 60 + float(dms[2]) / 3600
        return -value if ref in ("S", "W") else value

    return f"{degrees(gps[2], gps.get(1, 'N')):.2f},{degrees(gps[4], gps.get(3, 'E')):.2f}"


def camera_serial(data: bytes) -> str:
    return str(Image.open(io.BytesIO(data)).getexif().get_ifd(EXIF_IFD).get(SERIAL) or "none")


def scan_data(data: bytes) -> bytes:
    """The picture itself: everything from the JPEG's first quantisation table on."""
    start = data.find(b"\xff\xdb")
    return data[start:] if start >= 0 else b""


class PhotoCrossing:
    def __init__(
        self,
        telegram,
        discord,
        say: Callable[[str], None],
        wait_for: Callable[..., Awaitable[bool]],
    ):
        self.telegram = telegram
        self.discord = discord
        self.say = say
        self.wait_for = wait_for

    async def run(self, leicester: int, krefeld: int, anna: dict) -> bool:
        photo = phone_photo()
        before = len(self.discord.uploads(krefeld))
        self.telegram.inject_media(leicester, anna, "photo", photo, caption="Market day in Leicester!")
        arrived = await self.wait_for(lambda: len(self.discord.uploads(krefeld)) > before)
        if not arrived:
            self.say("  ✗ Anna's photo did not arrive in Krefeld's channel in time")
            return False
        received = self.discord.uploads(krefeld)[before]["data"]
        same_picture = scan_data(received) == scan_data(photo)
        self.say("  ✓ Anna posts a phone photo in Leicester → shown in Krefeld's channel, its metadata removed:")
        self.say(f"      GPS: {where_taken(photo)} → {where_taken(received)}")
        self.say(f"      camera serial: {camera_serial(photo)} → {camera_serial(received)}")
        self.say(
            f"      size: {len(photo):,} → {len(received):,} bytes; the picture itself: "
            + ("byte for byte the same" if same_picture else "re-encoded")
        )
        return where_taken(received) == "none" and camera_serial(received) == "none"
