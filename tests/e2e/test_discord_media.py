"""Files across a Discord -> Discord link with the real `twinbridge run` and `worker`:
a member's photo arrives with its bytes (apart from the metadata the bridge strips), an
album of 5 images as one post with 5 attachments, and a 30 MB video to a server without
boosts as the visible note with its name and size."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, wait_until

pytestmark = pytest.mark.timeout(180)

KREFELD_GUILD = 112233445566770000
MOERS_GUILD = 112233445566771111
KREFELD = 112233445566778899
MOERS = 112233445566779911
JUERGEN = {"id": 331122334455667788, "username": "juergen.b", "global_name": "Jürgen Becker"}

LINKS = f"""
version: 1
communities:
  krefeld:
    name: Krefeld
    language: de
    chats:
      - discord: {KREFELD}
  moers:
    name: Moers
    language: de
    chats:
      - discord: {MOERS}
links:
  - id: krefeld-moers
    communities: [krefeld, moers]
    policy: open
"""


def jpeg_with_gps() -> bytes:
    """A photo as a phone saves it: JFIF, and EXIF with the camera and where it was taken."""
    image = Image.new("RGB", (64, 48), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 20.0, 0.0), 3: "E", 4: (6.0, 33.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def without_exif(jpeg: bytes) -> bytes:
    """The JPEG with its APP1 "Exif" segment taken out and nothing else changed
    (segments walked up to the start of the scan, read here independently of the bridge)."""
    out, at = [jpeg[:2]], 2
    while True:
        marker, length = jpeg[at + 1], struct.unpack(">H", jpeg[at + 2 : at + 4])[0]
        segment = jpeg[at : at + 2 + length]
        if marker == 0xDA:  # start of scan: the rest is image data
            out.append(jpeg[at:])
            return b"".join(out)
        if not (marker == 0xE1 and segment[4:10] == b"Exif\x00\x00"):
            out.append(segment)
        at += 2 + length


def png(n: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (n * 40, 10, 200 - n * 30)).save(out, "PNG")
    return out.getvalue()


async def test_photos_an_album_and_a_too_large_video_cross_discord(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(
        token=DC_TOKEN,
        guilds={
            KREFELD_GUILD: {"name": "Krefeld", "channels": {KREFELD: "partnerschaft"}},
            MOERS_GUILD: {"name": "Moers", "channels": {MOERS: "partnerschaft"}},  # no boosts: 10 MiB
        },
    )
    async with serving(telegram, discord):
        env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
        procs.start("worker", ["worker", "--concurrency", "2"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")

        # 1. A photo with its place and camera in EXIF.
        photo = jpeg_with_gps()
        discord.inject_files_message(KREFELD, JUERGEN, "Der Rathausplatz", [("rathaus.jpg", photo)])
        (post,) = await wait_until(lambda: discord.posts(MOERS), 60, message="the photo in Moers")
        assert post["username"] == "Jürgen Becker · Krefeld"
        assert post["content"] == "Der Rathausplatz"
        (arrived,) = post["files"]
        assert arrived["filename"] == "rathaus.jpg"
        assert arrived["data"] == without_exif(photo)  # byte for byte, but for the metadata
        assert Image.open(io.BytesIO(arrived["data"])).getexif().get_ifd(0x8825) == {}

        # 2. An album: five images in one message arrive as one message with five.
        album = [(f"fest_{n}.png", png(n)) for n in range(5)]
        discord.inject_files_message(KREFELD, JUERGEN, "Das Fest", album)
        posts = await wait_until(
            lambda: (lambda p: p if len(p) == 2 else None)(discord.posts(MOERS)), 60, message="the album in Moers"
        )
        assert posts[1]["content"] == "Das Fest"
        assert [f["filename"] for f in posts[1]["files"]] == [name for name, _ in album]
        assert [Image.open(io.BytesIO(f["data"])).getpixel((0, 0)) for f in posts[1]["files"]] == [
            Image.open(io.BytesIO(data)).getpixel((0, 0)) for _, data in album
        ]

        # 3. A 30 MB video to a server without boosts: the note with its name and size.
        video = discord.inject_files_message(
            KREFELD, JUERGEN, "Der Umzug", [("umzug.mp4", bytes(30_000_000))], attachment_fields=[{}]
        )
        posts = await wait_until(
            lambda: (lambda p: p if len(p) == 3 else None)(discord.posts(MOERS)), 60, message="the note in Moers"
        )
        assert (
            posts[2]["content"] == "Der Umzug\n*📎 umzug.mp4 (30.0 MB) ist zu groß, um hier weitergegeben zu werden.*"
        )
        assert posts[2]["files"] == []
        # Jürgen hears of it once, in German, as a reply to his video; nothing else went the other
        # way (the bridge's own posts are not relayed back).
        (notice,) = await wait_until(lambda: discord.posts(KREFELD), 60, message="the notice to the sender")
        assert notice["content"] == (
            "Dein Video umzug.mp4 konnte in Moers nicht gezeigt werden: zu groß für Discord (30.0 MB, Grenze 10.5 MB)."
        )
        assert str(notice["message_reference"]["message_id"]) == str(video["id"])
