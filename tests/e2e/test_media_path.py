"""Media across the bridge, through the commands a user starts (`twinbridge worker` and
`twinbridge run` against a real Redis and the stand-ins): a phone photo loses its GPS
position on the way and nothing else, albums stay one post each way, a file over Telegram's
download limit gives a notice with its name and size (and its sender one notice saying so),
voice messages stay voice messages; a photo a Discord member takes off their message goes
from the Telegram album."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, wait_until

pytestmark = pytest.mark.e2e

LEICESTER = -1001000000001
GUILD = 112233445566770000
KREFELD = 112233445566778899
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: en, chats: [{{discord: {KREFELD}}}]}}
links:
  - {{id: twins, communities: [leicester, krefeld], policy: open}}
"""
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max Krüger", "discriminator": "0"}
GPS, EXIF_IFD, SERIAL = 0x8825, 0x8769, 0xA431


@pytest.fixture
async def standins():
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "leicester"}}})
    async with serving(telegram, discord):
        yield telegram, discord


@pytest.fixture
async def bridge(tmp_path, procs, redis_url, prefix, standins):
    telegram, discord = standins
    env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
    procs.start("worker", ["worker", "--concurrency", "2"], env)
    procs.start("run", ["run"], env)
    # Generous: on a busy machine importing aiogram's types alone can take half a minute.
    await wait_until(lambda: discord.identified.is_set(), 120, message="the Discord adapter to identify")
    await wait_until(
        lambda: any(m == "getUpdates" for _, m, _ in telegram.requests), 120, message="the Telegram adapter to poll"
    )
    return telegram, discord


def phone_photo(seed: int = 0) -> bytes:
    """A JPEG with the place it was taken (GPS) and the camera's serial number."""
    picture = Image.linear_gradient("L").resize((160, 120)).convert("RGB")
    picture.paste((200, 40 + seed * 30, 40), (20, 20, 80, 80))
    exif = Image.Exif()
    exif[0x010F] = "Google"
    exif.get_ifd(GPS).update({1: "N", 2: (52.0, 37.0, 48.0), 3: "W", 4: (1.0, 7.0, 48.0)})
    exif.get_ifd(EXIF_IFD)[SERIAL] = "38061FDJH00CXJ"
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def picture_data(jpeg: bytes) -> bytes:
    """The JPEG from its first quantisation table on: the picture without its metadata."""
    return jpeg[jpeg.index(b"\xff\xdb") :]


def ogg_voice(seconds: int = 2) -> bytes:
    return b"OggS\x00\x02" + os.urandom(2000 * seconds)


async def test_a_photo_crosses_without_where_it_was_taken(bridge):
    telegram, discord = bridge
    photo = phone_photo()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(GPS)
    telegram.inject_media(LEICESTER, ANNA, "photo", photo, caption="Market day!")

    await wait_until(lambda: discord.uploads(KREFELD), 30, message="the photo in Krefeld")
    [upload] = discord.uploads(KREFELD)
    received = upload["data"]
    exif = Image.open(io.BytesIO(received)).getexif()
    assert not exif.get_ifd(GPS) and not exif.get_ifd(EXIF_IFD) and not exif
    assert b"38061FDJH00CXJ" not in received
    assert picture_data(received) == picture_data(photo)  # byte for byte, but for the metadata
    [post] = [p for p in discord.posts(KREFELD) if p.get("webhook_id")]
    assert "Market day!" in post["content"] and post["username"] == "Anna Smith · Leicester"


async def test_an_album_of_five_photos_is_one_post_each_way(bridge):
    telegram, discord = bridge
    photos = [phone_photo(i) for i in range(5)]
    telegram.inject_album(LEICESTER, ANNA, [("photo", p) for p in photos], caption="Our town")
    await wait_until(lambda: len(discord.uploads(KREFELD)) >= 5, 30, message="five photos in Krefeld")
    uploads = discord.uploads(KREFELD)
    assert len({u["message_id"] for u in uploads}) == 1  # one Discord post with five attachments
    assert [picture_data(u["data"]) for u in uploads] == [picture_data(p) for p in photos]
    assert all(not Image.open(io.BytesIO(u["data"])).getexif().get_ifd(GPS) for u in uploads)

    files = [(f"IMG_{i}.jpg", phone_photo(i)) for i in range(5)]
    message = discord.inject_files_message(KREFELD, MAX, "Unsere Stadt", files)
    await wait_until(lambda: len(telegram.uploads(LEICESTER)) >= 5, 30, message="five photos in Leicester")
    uploads = telegram.uploads(LEICESTER)
    assert {u["method"] for u in uploads} == {"sendMediaGroup"}
    assert len({u["media_group_id"] for u in uploads}) == 1 and uploads[0]["media_group_id"]
    assert all(not Image.open(io.BytesIO(u["data"])).getexif().get_ifd(GPS) for u in uploads)

    # Max takes the second photo off his message: its part of the album goes in Leicester.
    discord.inject_edit(KREFELD, int(message["id"]), None, remove_attachments=[message["attachments"][1]["id"]])
    await wait_until(
        lambda: telegram.message(LEICESTER, uploads[1]["message_id"]) is None, 30, message="the album part deleted"
    )
    assert all(telegram.message(LEICESTER, u["message_id"]) is not None for n, u in enumerate(uploads) if n != 1)


async def test_a_30_mb_video_gives_a_notice_with_its_name_and_size(bridge):
    telegram, discord = bridge
    video = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(30_000_000 - 24)
    sent = telegram.inject_media(LEICESTER, ANNA, "video", video, caption="The concert", file_name="concert.mp4")
    await wait_until(
        lambda: any("concert.mp4" in (p.get("content") or "") for p in discord.posts(KREFELD)),
        60,
        message="the notice in Krefeld",
    )
    [post] = [p for p in discord.posts(KREFELD) if "concert.mp4" in (p.get("content") or "")]
    assert "30.0 MB" in post["content"] and "too large" in post["content"] and "The concert" in post["content"]
    assert not discord.uploads(KREFELD)
    # The sender hears of it once, in Leicester's language, as a reply to their message:
    # the file's name and why, neither the caption nor their name.
    told = lambda: [m for m in telegram.sent(LEICESTER) if "concert.mp4" in (m.get("text") or "")]  # noqa: E731
    await wait_until(told, 30, message="the notice in Leicester")
    [notice] = told()
    assert notice["text"] == (
        "Your video concert.mp4 could not be shown in Krefeld: too large for Discord (30.0 MB, limit 10.5 MB)."
    )
    assert notice["reply_parameters"]["message_id"] == sent["message_id"]
    assert "The concert" not in notice["text"] and "Anna" not in notice["text"]


async def test_a_voice_message_stays_a_voice_message_each_way(bridge):
    """Discord → Telegram: a voice message (sendVoice). Telegram → Discord: a voice note that is
    not Ogg Opus (these bytes are not) as a playable .ogg file under the member's name; an
    Ogg Opus one becomes a Discord voice message (tests/e2e/test_media_telegram_to_discord.py)."""
    telegram, discord = bridge
    recording = ogg_voice(3)
    discord.inject_voice_message(KREFELD, MAX, recording, duration_secs=3.0)
    await wait_until(lambda: telegram.uploads(LEICESTER), 30, message="the voice message in Leicester")
    [upload] = telegram.uploads(LEICESTER)
    assert (upload["method"], upload["kind"]) == ("sendVoice", "voice") and upload["data"] == recording

    recording = ogg_voice(2)
    telegram.inject_media(LEICESTER, ANNA, "voice", recording, duration=2, mime_type="audio/ogg")
    await wait_until(lambda: discord.uploads(KREFELD), 30, message="the voice message in Krefeld")
    [upload] = discord.uploads(KREFELD)
    assert upload["content_type"].startswith("audio/ogg") and upload["filename"].endswith(".ogg")
    assert upload["data"] == recording

    # Stickers cross as pictures (issue 15). A static Telegram sticker: its WebP, with its emoji.
    telegram.inject_sticker(LEICESTER, ANNA, sticker_picture("WEBP", with_exif=True), emoji="🎉")
    await wait_until(lambda: len(discord.uploads(KREFELD)) >= 2, 30, message="the sticker in Krefeld")
    sticker = discord.uploads(KREFELD)[1]
    assert sticker["filename"] == "sticker.webp" and Image.open(io.BytesIO(sticker["data"])).size == (64, 64)
    assert b"Exif" not in sticker["data"]  # scrubbed like any picture
    [post] = [p for p in discord.posts(KREFELD) if p["id"] == sticker["message_id"]]
    assert "🎉" in (post.get("content") or "")
    # An animated one crosses as its thumbnail; without one, as its description.
    telegram.inject_sticker(
        LEICESTER, ANNA, b"\x1f\x8b tgs", emoji="🐱", form="animated", thumbnail=sticker_picture("WEBP")
    )
    await wait_until(lambda: len(discord.uploads(KREFELD)) >= 3, 30, message="the thumbnail in Krefeld")
    thumbnail = discord.uploads(KREFELD)[2]
    assert thumbnail["data"].startswith(b"RIFF") and thumbnail["filename"] == "sticker.webp"
    telegram.inject_sticker(LEICESTER, ANNA, b"\x1aE\xdf\xa3 webm", emoji="🐶", form="video")
    await wait_until(
        lambda: any("🐶" in (p.get("content") or "") for p in discord.posts(KREFELD)), 30, message="the description"
    )
    assert len(discord.uploads(KREFELD)) == 3
    # A Discord sticker (PNG) arrives on Telegram as a photo; a Lottie one as its description.
    discord.inject_sticker_message(KREFELD, MAX, 749054660769218631, "Wave", sticker_picture("PNG"))
    await wait_until(lambda: len(telegram.uploads(LEICESTER)) >= 2, 30, message="the sticker in Leicester")
    photo = telegram.uploads(LEICESTER)[1]
    assert photo["method"] == "sendPhoto" and Image.open(io.BytesIO(photo["data"])).format == "PNG"
    discord.inject_sticker_message(KREFELD, MAX, 749054660769218632, "Dance", None, format_type=3)
    await wait_until(
        lambda: any("Dance" in text for _, text in telegram.transcript(LEICESTER)), 30, message="the Lottie sticker"
    )
    assert len(telegram.uploads(LEICESTER)) == 2


def sticker_picture(fmt: str, with_exif: bool = False) -> bytes:
    picture = Image.new("RGBA", (64, 64), (250, 200, 0, 255))
    out = io.BytesIO()
    exif = Image.Exif()
    if with_exif:
        exif[0x013B] = "Anna Smith"
    picture.save(out, fmt, **({"exif": exif} if with_exif else {}))
    return out.getvalue()


MODERATOR = {"id": "300000000000000777", "username": "frau.weber", "global_name": "Frau Weber", "discriminator": "0"}
APPROVE_LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: en, chats: [{{discord: {KREFELD}}}]}}
links:
  - {{id: twins, communities: [leicester, krefeld], policy: careful}}
policies:
  careful: {{base: open, media: approve, moderators: ["discord:{MODERATOR["id"]}"]}}
"""


async def test_media_approve_holds_a_photo_for_the_moderator_who_sees_it_first(tmp_path, procs, redis_url, prefix):
    """`media: approve`: a text crosses at once; a photo waits, the moderator's DM shows the
    notice with its buttons and the photo itself (already without its GPS), and Approve lets it
    cross."""
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "leicester"}}})
    discord.add_user(MODERATOR)
    async with serving(telegram, discord):
        env = bridge_env(tmp_path, APPROVE_LINKS, redis_url, prefix, telegram, discord)
        procs.start("worker", ["worker", "--concurrency", "2"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 120, message="the Discord adapter to identify")

        telegram.inject_message(LEICESTER, ANNA, "Text crosses at once")
        await wait_until(lambda: discord.posts(KREFELD), 60, message="the text in Krefeld")
        photo = phone_photo()
        telegram.inject_media(LEICESTER, ANNA, "photo", photo, caption="Our market")
        dms = await wait_until(
            lambda: (lambda d: d if len(d) >= 2 else None)(discord.dms(int(MODERATOR["id"]))),
            30,
            message="the held photo in the moderator's DM",
        )
        notice, preview = dms[0], dms[1]
        assert "Held for approval" in notice["content"] and "Our market" in notice["content"]
        assert "• photo" in notice["content"]
        [shown] = discord.uploads(int(preview["channel_id"]))
        assert not Image.open(io.BytesIO(shown["data"])).getexif().get_ifd(GPS)
        assert not discord.uploads(KREFELD)  # nothing crossed yet

        hold_id = dict((c["label"], c["custom_id"]) for row in notice["components"] for c in row["components"])
        discord.inject_component_click(MODERATOR, int(notice["channel_id"]), int(notice["id"]), hold_id["Approve"])
        await wait_until(lambda: discord.uploads(KREFELD), 30, message="the approved photo in Krefeld")
        [upload] = discord.uploads(KREFELD)
        assert picture_data(upload["data"]) == picture_data(photo)
        assert not Image.open(io.BytesIO(upload["data"])).getexif().get_ifd(GPS)


TEACHER = {"id": 9001, "is_bot": False, "first_name": "Mrs", "last_name": "Patel"}


async def test_a_telegram_moderator_sees_a_held_discord_photo_under_the_notice(tmp_path, procs, redis_url, prefix):
    """The other way round: a photo posted on Discord, held; the Telegram moderator gets the
    notice with its buttons and, under it, the photo (fetched from Discord, scrubbed)."""
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "leicester"}}})
    telegram.start_private(TEACHER)  # Telegram: a bot writes only to who opened a chat with it
    links = APPROVE_LINKS.replace(f"discord:{MODERATOR['id']}", f"telegram:{TEACHER['id']}")
    async with serving(telegram, discord):
        env = bridge_env(tmp_path, links, redis_url, prefix, telegram, discord)
        procs.start("worker", ["worker", "--concurrency", "2"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 120, message="the Discord adapter to identify")

        photo = phone_photo()
        discord.inject_files_message(KREFELD, MAX, "Unser Markt", [("IMG_0004.jpg", photo)])
        await wait_until(lambda: telegram.uploads(TEACHER["id"]), 60, message="the photo under the notice")
        [notice] = [m for m in telegram.private_messages(TEACHER["id"]) if "Held for approval" in m.get("text", "")]
        assert "• photo: IMG_0004.jpg" in notice["text"] and "Unser Markt" in notice["text"]
        [shown] = telegram.uploads(TEACHER["id"])
        assert shown["caption"] == "Attached to the held message above."
        assert picture_data(shown["data"]) == picture_data(photo)
        assert not Image.open(io.BytesIO(shown["data"])).getexif().get_ifd(GPS)
        assert not telegram.uploads(LEICESTER)

        buttons = [b for row in notice["reply_markup"]["inline_keyboard"] for b in row]
        approve = next(b["callback_data"] for b in buttons if b["text"] == "Approve")
        telegram.inject_callback(TEACHER, TEACHER["id"], notice["message_id"], approve)
        await wait_until(lambda: telegram.uploads(LEICESTER), 60, message="the approved photo in Leicester")
