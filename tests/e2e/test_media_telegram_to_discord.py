"""Files from a Telegram group to a Discord channel with the real `twinbridge run` and
`worker`: the Telegram adapter fetches (getFile, the download), the Discord sender uploads
through the channel's webhook. A voice message (Ogg Opus) arrives as a Discord voice
message the bot posts after the webhook post that names its sender (webhooks cannot send
one), an album of 5 photos as one post with 5 attachments, a round video as a video file."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sandbox.discord import DiscordStandIn
from sandbox.opus import ogg_opus
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, wait_until

pytestmark = pytest.mark.timeout(240)

GUILD = 112233445566770000
KREFELD = 112233445566778899
LEICESTER = -1001000000001
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}

LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: en, chats: [{{discord: {KREFELD}}}]}}
links:
  - id: twins
    communities: [leicester, krefeld]
    policy: open
"""


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (shade, 90, 30)).save(out, "JPEG", quality=90)
    return out.getvalue()


async def test_voice_an_album_and_a_round_video_from_telegram_arrive_on_discord(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "twins"}}})
    async with serving(telegram, discord):
        env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
        procs.start("worker", ["worker", "--concurrency", "2"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")

        def posts(n: int):
            found = discord.posts(KREFELD)
            return found if len(found) >= n else None

        voice = ogg_opus(4.0)
        telegram.inject_media(LEICESTER, ANNA, "voice", voice, mime_type="audio/ogg", duration=4)
        (post, sent) = await wait_until(lambda: posts(2), 90, message="the voice message on Discord")
        assert (post["username"], post["content"], post["files"]) == ("Anna Smith · Leicester", "[voice message]", [])
        (file,) = sent["files"]
        assert (file["filename"], file["data"], file["duration_secs"]) == ("voice-message.ogg", voice, 4.0)
        assert int(sent["flags"]) & (1 << 13) and sent["via"] == "bot"  # a voice message

        photos = [jpeg(40 * n) for n in range(5)]
        telegram.inject_album(LEICESTER, ANNA, [("photo", data) for data in photos], caption="Our day")
        album = (await wait_until(lambda: posts(3), 90, message="the album on Discord"))[2]
        assert album["content"] == "Our day"
        assert len(album["files"]) == 5
        assert [Image.open(io.BytesIO(f["data"])).getpixel((5, 5)) for f in album["files"]] == [
            Image.open(io.BytesIO(data)).getpixel((5, 5)) for data in photos
        ]

        round_video = b"\x00\x00\x00\x18ftypmp42" + bytes(5000)
        telegram.inject_media(LEICESTER, ANNA, "video_note", round_video, duration=3, length=240)
        video = (await wait_until(lambda: posts(4), 90, message="the round video on Discord"))[3]
        (file,) = video["files"]
        assert file["filename"].endswith(".mp4") and file["data"] == round_video
        assert len(discord.posts(KREFELD)) == 4  # nothing twice
