"""Everything members post arrives (issue 15, item 6): a channel's posts on a one-way news
link, messages sent via inline bots, a linked channel's automatic forwards (once), and
polls, dice, locations, venues and contacts as a line in the reader's language, withheld
where the link's policy removes such personal data.

`twinbridge worker` and `twinbridge run` run as subprocesses; the stand-ins send the
updates as the Bot API does, and every assertion is on what they received or on the
counters in Redis.
"""

from __future__ import annotations

import pytest

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, wait_until

NEWS = -1001000000009  # a channel, the speaking side of the one-way news link
OTHER_CHANNEL = -1001000000010  # a channel no link names, whose discussion group is Leicester
LEICESTER = -1001000000001
LYON = -1001000000004
GUILD = 112233445566770000
KREFELD = 112233445566778899
FORUM = 112233445566778877  # Krefeld's forum of event photos, speaking on a one-way link
BOARD = 112233445566778800  # a channel no link names

LINKS = f"""
version: 1
communities:
  news: {{name: Leicester News, language: en, chats: [{{telegram: {NEWS}}}]}}
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: de, chats: [{{discord: {KREFELD}}}]}}
  lyon: {{name: Lyon, language: fr, chats: [{{telegram: {LYON}}}]}}
  photos: {{name: Krefeld Fotos, language: de, chats: [{{discord: {FORUM}}}]}}
links:
  - {{id: photos, communities: [photos, leicester], direction: one-way, policy: open}}
  - {{id: news, communities: [news, krefeld], direction: one-way, policy: open}}
  - {{id: twins, communities: [leicester, krefeld], policy: open}}
  - {{id: classes, communities: [leicester, lyon], policy: strict}}
policies:
  # as the school policy removes personal data (no teacher's approval, for the test's sake)
  strict: {{base: community, redact: [email, phone, postcode], media: block}}
"""
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
MAX = {"id": "300000000000000301", "username": "max.k", "global_name": "Max Krüger", "discriminator": "0"}
GIF_BOT = {"id": 109158646, "is_bot": True, "first_name": "GIF search", "username": "gif"}


@pytest.fixture
async def standins():
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(
        token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "twins", BOARD: "vorstand"}}}
    )
    discord.add_forum(GUILD, FORUM, "fotos")
    async with serving(telegram, discord):
        yield telegram, discord


async def start_bridge(procs, env, telegram, discord) -> None:
    """`twinbridge worker` and `twinbridge run`, until both adapters talk to their stand-ins
    (a generous deadline: importing the adapters takes seconds of CPU on a busy machine)."""
    procs.start("worker", ["worker", "--concurrency", "2"], env)
    procs.start("run", ["run"], env)
    await wait_until(lambda: discord.identified.is_set(), 120, message="the Discord adapter to identify")
    await wait_until(
        lambda: any(m == "getUpdates" for _, m, _ in telegram.requests), 120, message="the Telegram adapter to poll"
    )


def webhook_texts(discord) -> list[tuple[str, str]]:
    return [(p.get("username") or "", p.get("content") or "") for p in discord.posts(KREFELD) if p.get("webhook_id")]


def sent_texts(telegram, chat: int) -> list[str]:
    return [m.get("text") or "" for m in telegram.sent(chat)]


async def _stat(aredis, prefix, name) -> int:
    return int(await aredis.hget(f"{prefix}stats", name) or 0)


async def test_channel_posts_inline_bots_and_automatic_forwards_arrive_once(
    tmp_path, procs, standins, redis_url, prefix, aredis
):
    telegram, discord = standins
    env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
    await start_bridge(procs, env, telegram, discord)

    # A channel post on the one-way news link: the channel (and its signature) is the author.
    post = telegram.inject_channel_post(NEWS, "Spring fair on 3 May", title="Leicester News", signature="Anna Smith")
    await wait_until(lambda: webhook_texts(discord), 30, message="the channel post in Krefeld")
    ((username, content),) = webhook_texts(discord)
    assert username == "Leicester News (Anna Smith) · Leicester News"
    assert content.startswith("Spring fair on 3 May")

    # Leicester is the channel's discussion group: Telegram copies the post there. The
    # channel is linked itself, so its own post was the one to cross: the copy is skipped.
    telegram.inject_automatic_forward(LEICESTER, post)
    await wait_until(
        lambda: _stat(aredis, prefix, "telegram.skipped.automatic_forward"), 30, message="the copy to be skipped"
    )
    # A channel no link names: its automatic forward into Leicester is its only way across.
    unlinked = telegram.inject_channel_post(OTHER_CHANNEL, "Choir practice moved", title="Leicester Choir")
    telegram.inject_automatic_forward(LEICESTER, unlinked)
    # A member's message sent via an inline bot is the member's.
    telegram.inject_content(LEICESTER, ANNA, {"text": "funny cat"}, via_bot=GIF_BOT)
    await wait_until(lambda: len(webhook_texts(discord)) >= 3, 30, message="the forward and the inline-bot message")
    await wait_until(lambda: len(telegram.sent(LYON)) >= 2, 30, message="both in Lyon")
    texts = webhook_texts(discord)
    assert len(texts) == 3
    assert [c for _, c in texts].count(content) == 1  # the news post arrived once
    assert texts[1][0] == "Leicester Choir · Leicester" and texts[1][1].startswith("Choir practice moved")
    assert texts[2][0] == "Anna Smith · Leicester" and texts[2][1].startswith("funny cat")
    assert any("funny cat" in t for t in sent_texts(telegram, LYON))
    assert not telegram.sent(LEICESTER) and not telegram.sent(NEWS)  # one-way: nothing goes back


async def test_polls_dice_places_and_contacts_arrive_as_descriptions(
    tmp_path, procs, standins, redis_url, prefix, aredis
):
    telegram, discord = standins
    env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
    await start_bridge(procs, env, telegram, discord)

    poll = {
        "id": "5436021345678901234",
        "question": "Which weekend?",
        "options": [
            {"text": "3-4 May", "voter_count": 0, "persistent_id": "opt0"},
            {"text": "10-11 May", "voter_count": 0, "persistent_id": "opt1"},
        ],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": True,
        "members_only": False,
    }
    place = {"latitude": 52.636878, "longitude": -1.139759}
    for content in (
        {"poll": poll},
        {"dice": {"emoji": "🎲", "value": 4}},
        {"location": place},
        {"location": place, "venue": {"location": place, "title": "Victoria Park", "address": "Granville Rd"}},
        {"contact": {"phone_number": "+447700900123", "first_name": "Tom", "user_id": 222333444}},
    ):
        telegram.inject_content(LEICESTER, ANNA, content)
    await wait_until(lambda: len(webhook_texts(discord)) >= 5, 60, message="five posts in Krefeld")
    await wait_until(lambda: len(telegram.sent(LYON)) >= 5, 60, message="five posts in Lyon")

    krefeld = [c for _, c in webhook_texts(discord)]
    assert "Which weekend?" in krefeld[0] and "10-11 May" in krefeld[0] and "📊 Umfrage" in krefeld[0]
    assert "🎲 gewürfelt: 4" in krefeld[1]
    assert "📍 Standort: 52.6369, -1.1398" in krefeld[2]
    assert "📍 Ort: Victoria Park, Granville Rd" in krefeld[3]
    assert "👤 Kontakt: Tom, +447700900123" in krefeld[4]

    lyon = sent_texts(telegram, LYON)
    assert "Sondage" in lyon[0] and "🎲 a obtenu 4" in lyon[1]
    for withheld in lyon[2:4]:  # the policy removes postcodes: no map pin crosses
        assert "Une position a été partagée" in withheld and "52.63" not in withheld and "Victoria" not in withheld
    assert "Un contact a été partagé" in lyon[4] and "+44" not in lyon[4]
    assert await _stat(aredis, prefix, "moderation.withheld.location") == 2
    assert await _stat(aredis, prefix, "moderation.withheld.contact") == 1


async def test_discord_threads_forum_posts_polls_stickers_and_forwards_arrive(
    tmp_path, procs, standins, redis_url, prefix, aredis
):
    telegram, discord = standins
    telegram.make_forum(LEICESTER, title="Leicester Twinning")  # a group with topics (issue 15)
    env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
    await start_bridge(procs, env, telegram, discord)

    thread = discord.add_thread(KREFELD, "Ausflug nach Leicester", owner_id=int(MAX["id"]))
    discord.inject_message(thread, MAX, "Wer fährt mit dem Bus?")
    discord.inject_forum_post(FORUM, MAX, "Fotos vom Stadtfest", "Hier kommen die Fotos hin.")
    discord.inject_message(
        KREFELD,
        MAX,
        "",
        poll={
            "question": {"text": "Welches Wochenende?"},
            "answers": [{"poll_media": {"text": "3.-4. Mai"}}, {"poll_media": {"text": "10.-11. Mai"}}],
        },
    )
    discord.inject_message(
        KREFELD, MAX, "", sticker_items=[{"id": "749054660769218631", "name": "Wave", "format_type": 1}]
    )
    original = discord.inject_message(BOARD, MAX, "Der Bus fährt um 8 Uhr.")
    discord.inject_message(KREFELD, MAX, "", forward_of=(BOARD, int(original["id"])))
    await wait_until(lambda: len(telegram.sent(LEICESTER)) >= 5, 60, message="five posts in Leicester")

    texts = sent_texts(telegram, LEICESTER)
    assert len(texts) == 5
    # The thread and the forum post each arrive in a topic the bot made, named after them; the
    # rest in the General topic.
    topics = {t["name"]: t["message_thread_id"] for t in telegram.topics(LEICESTER)}
    assert set(topics) == {"Ausflug nach Leicester", "Fotos vom Stadtfest"}
    topic_of = {m.get("text") or "": m.get("message_thread_id") for m in telegram.sent(LEICESTER)}
    thread_post = next(t for t in texts if "Bus?" in t)
    assert "Wer fährt mit dem Bus?" in thread_post and "🧵" not in thread_post
    assert topic_of[thread_post] == topics["Ausflug nach Leicester"]
    forum_post = next(t for t in texts if "Fotos hin" in t)
    assert "Hier kommen die Fotos hin." in forum_post and "🧵" not in forum_post
    assert topic_of[forum_post] == topics["Fotos vom Stadtfest"]
    assert "<b>Max · Krefeld Fotos:</b>" in forum_post or "<b>Max Krüger · Krefeld Fotos:</b>" in forum_post
    assert sum(1 for m in telegram.sent(LEICESTER) if not m.get("message_thread_id")) == 3
    poll = next(t for t in texts if "Welches Wochenende?" in t)
    assert "• 10.-11. Mai" in poll and "📊 Poll: vote in the original chat" in poll
    assert any("Sticker “Wave”" in t for t in texts)
    forward = next(t for t in texts if "Der Bus fährt um 8 Uhr." in t)  # the forward's content crossed
    assert "↪" in forward  # marked as forwarded (the label's words: workers/privacy.py, core/phrases.py)
    assert await _stat(aredis, prefix, "discord.threads.seen") == 2

    # And back: a member's message in the thread's topic goes into the Discord thread.
    telegram.inject_topic_message(LEICESTER, topics["Ausflug nach Leicester"], ANNA, "I'm coming too!")
    await wait_until(lambda: discord.posts(thread), 60, message="the reply in the Discord thread")
    (reply,) = discord.posts(thread)
    assert reply.get("webhook_id") and "coming too" in reply["content"] and "🧵" not in reply["content"]
    assert not any("coming too" in content for _, content in webhook_texts(discord))  # not in the channel
