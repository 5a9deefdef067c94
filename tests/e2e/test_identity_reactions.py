"""Identity and reactions across the bridge (issue 15, items 5 and 7), through
`twinbridge run` and `twinbridge worker` against the stand-ins:

- a Discord webhook post's avatar is the Telegram sender's profile photo, served by
  `twinbridge run` under TWINBRIDGE_PUBLIC_URL without its metadata, where the policy shows
  names; a neutral avatar under pseudonyms; never a URL that holds the bot's token;
- a forwarded message says where it came from, as the policy allows;
- reactions on a relayed copy show on the original: a Telegram original gets one count
  line, sent once and edited (not once per reaction); a Discord original gets the bot's
  own reactions; taking reactions back lowers the counts.
"""

from __future__ import annotations

import io
import time

import aiohttp
import pytest
from PIL import Image

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, wait_until
from ..processes import free_port

LEICESTER = -1001000000001
GUILD = 112233445566770000
KREFELD = 112233445566778899

LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: en, chats: [{{discord: {KREFELD}}}]}}
links:
  - {{id: twins, communities: [leicester, krefeld], policy: {{POLICY}}}}
policies:
  pseudonymous: {{base: community, sender: pseudonym}}
"""
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max Krüger", "discriminator": "0"}
NEWS_CHANNEL = {"id": -1001777000001, "type": "channel", "title": "Leicester News", "username": "leicesternews"}


def members(n: int) -> list[dict]:
    return [
        {
            "id": str(300000000000000400 + i),
            "username": f"member{i}",
            "global_name": f"Member {i}",
            "discriminator": "0",
        }
        for i in range(n)
    ]


def photo_with_gps() -> bytes:
    """A JPEG whose EXIF carries a GPS position and a camera serial number."""
    image = Image.new("RGB", (640, 640), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    exif[0xA431] = "SERIAL-123456"  # BodySerialNumber
    gps = {1: "N", 2: (52.0, 38.0, 0.0), 3: "W", 4: (1.0, 8.0, 0.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825), "the test photo carries GPS"
    return data


@pytest.fixture
async def standins():
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "leicester"}}})
    async with serving(telegram, discord):
        yield telegram, discord


async def start_bridge(procs, env, telegram, discord) -> None:
    """`twinbridge worker` and `twinbridge run`, waited for generously: on a loaded machine
    importing aiogram alone has taken 20 s."""
    procs.start("worker", ["worker", "--concurrency", "2"], env)
    procs.start("run", ["run"], env)
    await wait_until(lambda: discord.identified.is_set(), 120, message="the Discord adapter to identify")
    await wait_until(
        lambda: any(m == "getUpdates" for _, m, _ in telegram.requests), 120, message="the Telegram adapter to poll"
    )


def webhook_posts(discord, channel_id=KREFELD):
    return [p for p in discord.posts(channel_id) if p.get("webhook_id")]


def forwarded(telegram, message_id: int, text: str, origin: dict) -> dict:
    chat = {"id": LEICESTER, "type": "supergroup", "title": "Leicester"}
    return telegram.inject_update(
        {
            "message": {
                "message_id": message_id,
                "from": ANNA,
                "chat": chat,
                "date": int(time.time()),
                "text": text,
                "forward_origin": {"date": int(time.time()) - 3600, **origin},
            }
        }
    )


def line_requests(telegram, reply_to: int) -> tuple[list[dict], list[dict]]:
    """The count line's sendMessage (replying to ``reply_to``) and its edits."""
    sends = [
        p
        for _, m, p in telegram.requests
        if m.lower() == "sendmessage" and (p.get("reply_parameters") or {}).get("message_id") == reply_to
    ]
    sent_ids = {
        s["message_id"]
        for s in telegram.sent(LEICESTER)
        if (s.get("reply_parameters") or {}).get("message_id") == reply_to
    }
    edits = [p for _, m, p in telegram.requests if m.lower() == "editmessagetext" and p.get("message_id") in sent_ids]
    return sends, edits


def shown_line(telegram, reply_to: int) -> str | None:
    lines = [s for s in telegram.sent(LEICESTER) if (s.get("reply_parameters") or {}).get("message_id") == reply_to]
    if not lines:
        return None
    stored = telegram.message(LEICESTER, lines[-1]["message_id"])
    return stored["text"] if stored else None


@pytest.mark.slow
async def test_names_policy_avatar_forwards_and_reactions(tmp_path, procs, standins, redis_url, prefix, aredis):
    telegram, discord = standins
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = bridge_env(
        tmp_path,
        LINKS.replace("{POLICY}", "community"),  # first names
        redis_url,
        prefix,
        telegram,
        discord,
        TWINBRIDGE_PUBLIC_URL=public,
        TWINBRIDGE_AVATAR_HOST="127.0.0.1",
        TWINBRIDGE_AVATAR_PORT=str(port),
    )
    telegram.set_profile_photo(ANNA["id"], photo_with_gps())
    telegram.make_admin(LEICESTER, telegram.bot_user)  # message_reaction updates need it
    await start_bridge(procs, env, telegram, discord)

    # -- the avatar: our public URL, serving the photo without its metadata ---------------
    hello = telegram.inject_message(LEICESTER, ANNA, "Hello Krefeld!")
    await wait_until(lambda: webhook_posts(discord), 30, message="the webhook post in Krefeld")
    (post,) = webhook_posts(discord)
    avatar = post["avatar_url"]
    assert avatar.startswith(public + "/avatars/") and avatar.endswith(".jpg")
    assert TG_TOKEN not in avatar and "TEST-token" not in avatar and "/file/bot" not in avatar
    async with aiohttp.ClientSession() as session, session.get(avatar) as response:
        assert response.status == 200 and response.content_type == "image/jpeg"
        served = await response.read()
    image = Image.open(io.BytesIO(served))
    assert image.format == "JPEG" and max(image.size) <= 256
    assert not image.getexif() and "exif" not in image.info
    assert b"SERIAL-123456" not in served and b"CameraMaker" not in served
    # A guessed token finds nothing.
    async with aiohttp.ClientSession() as session, session.get(public + "/avatars/" + "A" * 32 + ".jpg") as response:
        assert response.status == 404
    # Fetched once, then kept: a second post asks Telegram nothing more.
    telegram.inject_message(LEICESTER, ANNA, "Second one")
    await wait_until(lambda: len(webhook_posts(discord)) == 2, 30, message="the second post")
    assert webhook_posts(discord)[1]["avatar_url"] == avatar
    assert [m for _, m, _ in telegram.requests].count("getUserProfilePhotos") == 1

    # -- forwarded messages say where they came from, as the policy allows -----------------
    forwarded(telegram, 500, "Road closed on Sunday", {"type": "channel", "chat": NEWS_CHANNEL, "message_id": 77})
    bob = {"id": 6001, "is_bot": False, "first_name": "Bob", "last_name": "Jones"}
    forwarded(telegram, 501, "See you there", {"type": "user", "sender_user": bob})
    forwarded(telegram, 502, "A secret admirer", {"type": "hidden_user", "sender_user_name": "Carol Hidden"})
    await wait_until(lambda: len(webhook_posts(discord)) == 5, 30, message="the three forwarded posts")
    channel_post, user_post, hidden_post = (p["content"] for p in webhook_posts(discord)[2:])
    assert channel_post.startswith("Road closed on Sunday") and "*↪ forwarded from Leicester News*" in channel_post
    assert "*↪ forwarded from Bob*" in user_post and "Jones" not in user_post  # first names only
    assert "*↪ forwarded*" in hidden_post and "Carol" not in hidden_post  # a hidden user's name only under full

    # -- ten quick reactions on the Discord copy: one count line on Telegram, not ten ---------
    copy_id = int(post["id"])
    crowd = members(10)
    for member in crowd[:7]:
        discord.inject_reaction(KREFELD, copy_id, member, "👍")
    for member in crowd[7:]:
        discord.inject_reaction(KREFELD, copy_id, member, "❤️")
    await wait_until(
        lambda: shown_line(telegram, hello["message_id"]) == "Krefeld: 👍 7 · ❤️ 3", 30, message="the count line"
    )
    sends, edits = line_requests(telegram, hello["message_id"])
    assert len(sends) == 1 and len(edits) <= 1, (len(sends), len(edits))

    # Taking reactions back lowers the counts, in the same line.
    discord.inject_unreaction(KREFELD, copy_id, crowd[0], "👍")
    discord.inject_unreaction(KREFELD, copy_id, crowd[1], "👍")
    await wait_until(
        lambda: shown_line(telegram, hello["message_id"]) == "Krefeld: 👍 5 · ❤️ 3", 30, message="the lowered counts"
    )
    sends, edits = line_requests(telegram, hello["message_id"])
    assert len(sends) == 1 and len(edits) <= 3

    # -- a reaction on a Telegram copy: a native reaction on the Discord original -------------
    original = discord.inject_message(KREFELD, MAX, "Hallo Leicester!")
    await wait_until(lambda: len(telegram.sent(LEICESTER)) >= 2, 30, message="Max's message in Leicester")
    (tg_copy,) = [s for s in telegram.sent(LEICESTER) if "Hallo Leicester!" in s["text"]]
    # Telegram shows the copy a moment before the adapter has recorded it; a member's thumb
    # is never that quick, so wait until the copy is in the id map before reacting.
    idmap_key = f"{prefix}idmap:discord:{KREFELD}:{original['id']}"
    await wait_until(lambda: aredis.exists(idmap_key), 30, message="the copy recorded in the id map")
    telegram.inject_reaction(LEICESTER, tg_copy["message_id"], ANNA, [], ["👍"])
    await wait_until(
        lambda: discord.bot_reactions(KREFELD, int(original["id"])) == {"👍"},
        30,
        message="the bot's 👍 on the original",
    )
    # Anna changes her mind: 👍 goes, ❤ comes.
    telegram.inject_reaction(LEICESTER, tg_copy["message_id"], ANNA, ["👍"], ["❤"])
    await wait_until(
        lambda: discord.bot_reactions(KREFELD, int(original["id"])) == {"❤"}, 30, message="the bot's ❤ instead"
    )
    # And takes it back: nothing of the bot's is left.
    telegram.inject_reaction(LEICESTER, tg_copy["message_id"], ANNA, ["❤"], [])
    await wait_until(
        lambda: discord.bot_reactions(KREFELD, int(original["id"])) == set(), 30, message="the bot's reactions gone"
    )

    # Counts only: no reactor's id or name in Redis.
    keys = [k async for k in aredis.scan_iter(match=f"{prefix}reactions:*")]
    assert keys
    for key in keys:
        assert await aredis.ttl(key) > 0
        dumped = repr(await aredis.dump(key))
        assert str(ANNA["id"]) not in dumped and "member" not in dumped and "Anna" not in dumped

    # /forgetme: the kept photo goes, and its URL leads nowhere.
    assert [k async for k in aredis.scan_iter(match=f"{prefix}avatar:*")]
    telegram.inject_message(LEICESTER, ANNA, "/forgetme")

    async def photo_gone() -> bool:
        if [k async for k in aredis.scan_iter(match=f"{prefix}avatar:*")]:
            return False
        async with aiohttp.ClientSession() as session, session.get(avatar) as response:
            return response.status == 404

    await wait_until(photo_gone, 60, message="the erased profile photo")


async def test_pseudonyms_get_a_neutral_avatar_and_a_bare_forward(tmp_path, procs, standins, redis_url, prefix, aredis):
    telegram, discord = standins
    port = free_port()
    env = bridge_env(
        tmp_path,
        LINKS.replace("{POLICY}", "pseudonymous"),
        redis_url,
        prefix,
        telegram,
        discord,
        TWINBRIDGE_PSEUDONYM_KEY="test-pseudonym-key",
        TWINBRIDGE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TWINBRIDGE_AVATAR_HOST="127.0.0.1",
        TWINBRIDGE_AVATAR_PORT=str(port),
    )
    telegram.set_profile_photo(ANNA["id"], photo_with_gps())
    await start_bridge(procs, env, telegram, discord)

    telegram.inject_message(LEICESTER, ANNA, "Hello from a pupil")
    forwarded(telegram, 600, "Road closed on Sunday", {"type": "channel", "chat": NEWS_CHANNEL, "message_id": 77})
    await wait_until(lambda: len(webhook_posts(discord)) == 2, 30, message="both posts")
    first, forward = webhook_posts(discord)
    assert "Anna" not in first["username"]
    assert first["avatar_url"].startswith("https://cdn.discordapp.com/embed/avatars/")
    assert first["avatar_url"] == forward["avatar_url"]  # the same pseudonym, the same avatar
    assert "*↪ forwarded*" in forward["content"] and "Leicester News" not in forward["content"]
    # The photo was never even asked for.
    assert "getUserProfilePhotos" not in [m for _, m, _ in telegram.requests]
    assert not [k async for k in aredis.scan_iter(match=f"{prefix}avatar:*")]
