"""Files crossing between two Telegram groups, through the commands a user starts
(`twinbridge run` and `twinbridge worker` as subprocesses, real Redis, the Telegram
stand-in in this test's loop): the file is fetched by the Telegram adapter from the
source group (getFile, the download), made safe, and uploaded to the other group with the
method of its kind. Every assertion is on what the stand-in received."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from sandbox.telegram import TelegramStandIn

from ..helpers import TG_TOKEN, serving, wait_until

LEICESTER = -1001000000001
MASAYA = -1001000000003
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
GPS = 0x8825

LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  masaya: {{name: Masaya, language: en, chats: [{{telegram: {MASAYA}}}]}}
links:
  - id: twins
    communities: [leicester, masaya]
    direction: both
    policy: open
"""


def jpeg_with_gps(shade: int = 30) -> bytes:
    """A phone's photo: a real picture with the camera's GPS position and serial."""
    img = Image.linear_gradient("L").resize((96, 64)).convert("RGB")
    img.paste((200, shade, 30), (10, 10, 40, 30))
    exif = Image.Exif()
    exif[0x0110] = "EOS 200D"
    exif.get_ifd(GPS).update({1: "N", 2: (52.0, 37.0, 48.0), 3: "W", 4: (1.0, 7.0, 48.0)})
    exif.get_ifd(0x8769)[0xA431] = "SN-4711-0815"
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


def from_tables(data: bytes) -> bytes:
    """A JPEG from its first quantisation table on: the picture, without the metadata before it."""
    return data[data.index(b"\xff\xdb") :]


@pytest.fixture
async def telegram():
    standin = TelegramStandIn(token=TG_TOKEN)
    async with serving(standin):
        yield standin


async def test_photos_albums_voice_and_a_too_large_video_cross_between_telegram_groups(
    tmp_path, procs, telegram, redis_url, prefix
):
    config = tmp_path / "links.yaml"
    config.write_text(LINKS, encoding="utf-8")
    media_dir = tmp_path / "media"
    env = {
        "TWINBRIDGE_CONFIG": str(config),
        "REDIS_URL": redis_url,
        "TWINBRIDGE_REDIS_PREFIX": prefix,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "TWINBRIDGE_MEDIA_DIR": str(media_dir),
        "TWINBRIDGE_LOG_LEVEL": "DEBUG",
    }
    procs.start("worker", ["worker", "--concurrency", "2"], env)
    procs.start("run", ["run"], env)
    await wait_until(
        lambda: any(m == "getUpdates" for _, m, _ in telegram.requests), 90, message="the Telegram adapter to poll"
    )

    def uploads():
        return telegram.uploads(MASAYA)

    # A photo with a caption: a photo in Masaya, its GPS position and serial gone, its picture
    # byte for byte the member's.
    original = jpeg_with_gps()
    telegram.inject_media(LEICESTER, ANNA, "photo", original, caption="The twinning stone")
    await wait_until(lambda: len(uploads()) == 1, 60, message="the photo in Masaya")
    [photo] = uploads()
    assert photo["method"] == "sendPhoto"
    assert photo["caption"] == "Anna Smith · Leicester: The twinning stone"
    assert from_tables(photo["data"]) == from_tables(original)
    crossed = Image.open(io.BytesIO(photo["data"]))
    assert not crossed.getexif().get_ifd(GPS) and b"SN-4711-0815" not in photo["data"]

    # An album of five photos: one media group of five, the caption on the first.
    album = [jpeg_with_gps(shade) for shade in (10, 60, 110, 160, 210)]
    telegram.inject_album(LEICESTER, ANNA, [("photo", data) for data in album], caption="Spring fair")
    await wait_until(lambda: len(uploads()) == 6, 60, message="the album in Masaya")
    group = uploads()[1:]
    assert {u["method"] for u in group} == {"sendMediaGroup"} and len({u["media_group_id"] for u in group}) == 1
    assert [from_tables(u["data"]) for u in group] == [from_tables(data) for data in album]
    assert [u["caption"] for u in group] == ["Anna Smith · Leicester: Spring fair", "", "", "", ""]

    # A voice message arrives as voice.
    voice = os.urandom(40_000)
    telegram.inject_media(LEICESTER, ANNA, "voice", voice, duration=4)
    await wait_until(lambda: len(uploads()) == 7, 60, message="the voice message in Masaya")
    assert uploads()[-1]["method"] == "sendVoice" and uploads()[-1]["data"] == voice

    # A 30 MB video: over what a bot may download; the note says so, the text still goes.
    telegram.inject_media(
        LEICESTER, ANNA, "video", b"\0" * (30 * 1024 * 1024), file_name="parade.mp4", caption="Our parade"
    )
    note = "Anna Smith · Leicester: Our parade\n📎 parade.mp4 (31.5 MB) is too large to pass on here."
    await wait_until(lambda: ("bot", note) in telegram.transcript(MASAYA), 60, message="the too-large note")
    assert len(uploads()) == 7

    # Nothing of the files stays on disk, and the download URL (it holds the token) is in no log.
    assert os.listdir(media_dir) == []
    secret = TG_TOKEN.split(":", 1)[1]
    assert secret not in procs.log("run") and "/file/bot" not in procs.log("run")
