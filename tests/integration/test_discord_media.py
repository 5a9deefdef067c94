"""Files through the real DiscordAdapter (real discord.py client, real aiohttp streams)
against the Discord stand-in, which serves attachments' bytes at its own address and
stores what is uploaded, with Discord's limits per server boost level.

Fetching: the adapter's fetcher (registered in a real MediaSource) streams a member's
attachment to a private file; a forged address is refused without a request; an expired
link is asked for again. Uploading: posts put in the outbox with a Discord member's
attachments as their files (Discord -> Discord: both sides are this adapter) arrive as one
message with their bytes; more than 10 make further messages; a file over the server's
limit gives the visible note and a count; a 413 gives one note, not a retry loop; an
Ogg Opus voice message arrives as a Discord voice message posted by the bot after the
webhook post (webhooks cannot send voice messages), any other one as an .ogg file.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from bridge.discord.adapter import DiscordAdapter
from bridge.discord.media_fetching import DiscordFetcher
from bridge.discord.media_sending import shown_with_files
from bridge.ingress import Ingress
from bridge.media.files import MediaTooLarge, MediaUnavailable
from bridge.media.source import MediaSource
from core.idmap import IdMap
from core.intents import Intents
from core.models import Attachment, ChatRef, EventKind, MessageRef, OutboundPost
from core.settings import Settings
from core.stats import Stats
from core.storage.copy_files import CopyFiles
from core.task_queue import TaskQueue
from sandbox.discord import DiscordStandIn
from sandbox.opus import ogg_opus
from tests.helpers import wait_until, write_links

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

GUILD = 112233445566770000
BOOSTED_GUILD = 112233445566771111
SOURCE = 112233445566778800  # where members post the files (not linked: only fetched from)
CHANNEL = 112233445566778899
BOOSTED = 112233445566779911
TELEGRAM_CHAT = "-1001000000001"
LINK = "leicester-krefeld"
TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.standin.S3cr3t-t0ken-for-tests"
JUERGEN = {"id": 331122334455667788, "username": "juergen.b", "global_name": "Jürgen Becker"}
MIB = 1024 * 1024
FLAG_IS_VOICE_MESSAGE = 1 << 13

LINKS_YAML = f"""
version: 1
communities:
  leicester:
    name: Leicester
    language: en
    chats:
      - telegram: {TELEGRAM_CHAT}
  krefeld:
    name: Krefeld
    language: de
    chats:
      - discord: {CHANNEL}
      - discord: {BOOSTED}
links:
  - id: {LINK}
    communities: [leicester, krefeld]
    policy: open
"""


def payload(n: int, size: int) -> bytes:
    """Distinct, incompressible-looking bytes for file ``n``."""
    block = os.urandom(4096)
    return (bytes([n]) + block) * (size // 4097) + bytes(size % 4097)


@pytest.fixture
async def standin():
    server = DiscordStandIn(
        TOKEN,
        {
            GUILD: {"name": "Krefeld", "channels": {CHANNEL: "partnerschaft", SOURCE: "fotos"}},
            BOOSTED_GUILD: {"name": "Krefeld Sport", "premium_tier": 2, "channels": {BOOSTED: "sport"}},
        },
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def media_dir(tmp_path) -> Path:
    directory = tmp_path / "media"
    directory.mkdir()
    return directory


@pytest.fixture
def settings(redis_url, prefix, standin):
    return Settings(
        redis_url=redis_url,
        redis_prefix=prefix,
        discord_bot_token=TOKEN,
        discord_api_url=standin.api_url,
        discord_gateway_url=standin.gateway_url,
    )


@pytest.fixture
async def adapter(settings, standin, tmp_path, aredis, keys, celery_app, media_dir):
    queue = TaskQueue.for_settings(celery_app.conf.twinbridge_settings)
    started = DiscordAdapter(
        settings=settings,
        config=write_links(tmp_path, LINKS_YAML),
        redis=aredis,
        keys=keys,
        ingress=Ingress(aredis, keys, queue),
        media=MediaSource(media_dir),
    )
    await started.start()
    yield started
    await started.stop()
    # Every fetched file was discarded once used, whatever happened to its post.
    assert list(media_dir.iterdir()) == []


def attachments_of(message: dict, kind: str = "photo") -> tuple[Attachment, ...]:
    return tuple(
        Attachment(
            kind=kind,
            file_id=a["id"],
            file_name=a["filename"],
            mime_type=a.get("content_type"),
            size=a["size"],
            url=a["url"],
        )
        for a in message["attachments"]
    )


def outbound(message: dict, kind: EventKind = EventKind.NEW, **fields) -> OutboundPost:
    """The post a Discord member's message with files becomes in another channel."""
    return OutboundPost(
        kind=kind,
        link_id=LINK,
        destination=ChatRef("discord", str(fields.pop("channel", CHANNEL))),
        source=MessageRef("discord", str(SOURCE), message["id"]),
        sender="Jürgen",
        community="Krefeld",
        text=fields.pop("text", message["content"]),
        attachments=fields.pop("attachments", None) or attachments_of(message),
        language="en",
        **fields,
    )


async def put_in_outbox(aredis, keys, post: OutboundPost) -> None:
    await aredis.xadd(keys.outbox("discord"), {"post": json.dumps(post.to_dict())})


async def outbox_empty(aredis, keys) -> bool:
    return await aredis.xlen(keys.outbox("discord")) == 0


async def stat(aredis, keys, name) -> int:
    return (await Stats(aredis, keys).read()).get(name, 0)


# -- fetching -----------------------------------------------------------------------------


async def test_a_member_s_file_is_streamed_to_a_private_file(adapter, standin, media_dir):
    data = payload(1, 3 * MIB + 17)
    message = standin.inject_files_message(SOURCE, JUERGEN, "", [("rathaus.jpg", data)])
    (attachment,) = attachments_of(message)
    assert attachment.url.startswith(standin.base_url)  # served by the stand-in

    fetched = await adapter._media.fetch(attachment, MessageRef("discord", str(SOURCE), message["id"]))
    try:
        assert fetched.path.parent == media_dir
        assert (fetched.size, fetched.name, fetched.mime, fetched.kind) == (
            len(data),
            "rathaus.jpg",
            "image/jpeg",
            "photo",
        )
        assert fetched.path.read_bytes() == data
        assert fetched.path.stat().st_mode & 0o077 == 0  # private to this process's user
    finally:
        fetched.discard()
    assert not fetched.path.exists()
    assert standin.downloads == [(int(attachment.file_id), 200)]


async def test_over_the_cap_the_stream_is_cut_and_nothing_stays(standin, media_dir):
    data = payload(2, 2 * MIB)
    message = standin.inject_files_message(SOURCE, JUERGEN, "", [("big.bin", data)])
    (attachment,) = attachments_of(message, kind="document")
    fetcher = DiscordFetcher(standin.api_url, limit=1 * MIB)
    source = MessageRef("discord", str(SOURCE), message["id"])
    try:
        # Declared over the cap: not even asked for.
        with pytest.raises(MediaTooLarge):
            await fetcher.fetch(attachment, source, media_dir)
        assert standin.downloads == []
        # Under-declared: the stream is cut at the cap (Content-Length says so first).
        with pytest.raises(MediaTooLarge):
            await fetcher.fetch(replace(attachment, size=None), source, media_dir)
        assert standin.downloads == [(int(attachment.file_id), 200)]
    finally:
        await fetcher.close()
    assert list(media_dir.iterdir()) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/attachments/1/2/x.jpg",
        "http://cdn.discordapp.com/attachments/1/2/x.jpg",  # not https
        "https://cdn.discordapp.com.evil.example/attachments/1/2/x.jpg",
        "https://user:pw@cdn.discordapp.com/attachments/1/2/x.jpg",
        "http://127.0.0.1:9/attachments/1/2/x.jpg",  # loopback, but not the stand-in's port
        "file:///etc/passwd",
        "",
    ],
)
async def test_a_forged_address_is_refused_without_a_request(standin, media_dir, url):
    fetcher = DiscordFetcher(standin.api_url)
    attachment = Attachment(kind="photo", file_id="2", file_name="x.jpg", size=10, url=url)
    try:
        with pytest.raises(MediaUnavailable):
            await fetcher.fetch(attachment, MessageRef("discord", str(SOURCE), "1"), media_dir)
    finally:
        await fetcher.close()
    assert standin.downloads == []
    assert list(media_dir.iterdir()) == []
    assert fetcher.allowed("https://cdn.discordapp.com/attachments/1/2/x.jpg?ex=1")
    assert fetcher.allowed("https://media.discordapp.net/attachments/1/2/x.jpg")


async def test_an_expired_link_is_asked_for_again(adapter, standin):
    data = payload(3, 100_000)
    message = standin.inject_files_message(SOURCE, JUERGEN, "", [("fest.png", data)])
    (attachment,) = attachments_of(message)
    standin.expire_attachment_url(attachment.file_id)

    fetched = await adapter._media.fetch(attachment, MessageRef("discord", str(SOURCE), message["id"]))
    try:
        assert fetched.path.read_bytes() == data
    finally:
        fetched.discard()
    assert [status for _, status in standin.downloads] == [404, 200]

    standin.inject_delete(SOURCE, int(message["id"]))  # gone at the source: unavailable
    with pytest.raises(MediaUnavailable):
        await adapter._media.fetch(attachment, MessageRef("discord", str(SOURCE), message["id"]))


# -- uploading ----------------------------------------------------------------------------


async def test_an_album_arrives_as_one_message_with_every_file(adapter, standin, aredis, keys):
    files = [(f"fest_{n}.jpg", payload(n, 200_000 + n)) for n in range(5)]
    message = standin.inject_files_message(SOURCE, JUERGEN, "Das Fest *heute*", files)
    await put_in_outbox(aredis, keys, outbound(message))

    (post,) = await wait_until(lambda: standin.posts(CHANNEL), message="the album post")
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    assert post["via"] == "webhook" and post["username"] == "Jürgen · Krefeld"
    assert post["content"] == "Das Fest \\*heute\\*"
    uploads = standin.uploads(CHANNEL)
    assert [(u["filename"], u["data"]) for u in uploads] == files
    assert {u["message_id"] for u in uploads} == {post["id"]}
    copies = await IdMap(aredis, keys).copies(
        LINK, MessageRef("discord", str(SOURCE), message["id"]), ChatRef("discord", str(CHANNEL))
    )
    assert copies == [post["id"]]
    assert await stat(aredis, keys, "discord.media.too_large") == 0


async def test_more_than_ten_files_make_two_messages_edited_and_deleted_together(adapter, standin, aredis, keys):
    files = [(f"bild_{n:02}.png", payload(n, 20_000)) for n in range(12)]
    message = standin.inject_files_message(SOURCE, JUERGEN, "Zwölf Bilder", files)
    await put_in_outbox(aredis, keys, outbound(message))

    posts = await wait_until(lambda: (lambda p: p if len(p) == 2 else None)(standin.posts(CHANNEL)), message="2 posts")
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    assert [len(p["files"]) for p in posts] == [10, 2]
    assert [p["content"] for p in posts] == ["Zwölf Bilder", ""]
    assert [(u["filename"], u["data"]) for u in standin.uploads(CHANNEL)] == files
    source = MessageRef("discord", str(SOURCE), message["id"])
    destination = ChatRef("discord", str(CHANNEL))
    assert await IdMap(aredis, keys).copies(LINK, source, destination) == [p["id"] for p in posts]

    # An edit changes the content only: every file stays.
    await put_in_outbox(aredis, keys, outbound(message, EventKind.EDIT, text="Zwölf Bilder vom Fest"))
    await wait_until(
        lambda: standin.message(CHANNEL, int(posts[0]["id"]))["content"] == "Zwölf Bilder vom Fest",
        message="the edit",
    )
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    assert [len(standin.message(CHANNEL, int(p["id"]))["attachments"]) for p in posts] == [10, 2]
    assert all("attachments" not in edit for edit in standin.posts(CHANNEL)[0]["edits"])

    await put_in_outbox(aredis, keys, outbound(message, EventKind.DELETE))
    await wait_until(lambda: standin.transcript(CHANNEL) == [], message="both messages deleted")


async def test_files_the_member_takes_off_their_message_go_from_the_copies(adapter, standin, aredis, keys):
    """A Discord edit with fewer attachments: the copy that showed a removed file is edited
    with the attachments it keeps (Edit Webhook Message, ``attachments`` by id), one left
    with nothing to show is deleted, and the id map and the record follow, so a later edit
    and the delete still reach every copy."""
    files = [(f"bild_{n:02}.png", payload(n, 20_000)) for n in range(12)]
    message = standin.inject_files_message(SOURCE, JUERGEN, "Zwölf Bilder", files)
    await put_in_outbox(aredis, keys, outbound(message))
    first, second = await wait_until(
        lambda: (lambda p: p if len(p) == 2 else None)(standin.posts(CHANNEL)), message="2 posts"
    )
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    source = MessageRef("discord", str(SOURCE), message["id"])
    destination = ChatRef("discord", str(CHANNEL))

    # The member takes off the 4th file and both files the second message carried.
    ids = [a["id"] for a in message["attachments"]]
    edited = standin.inject_edit(SOURCE, int(message["id"]), None, remove_attachments=[ids[3], ids[10], ids[11]])
    assert len(edited["attachments"]) == 9
    await put_in_outbox(aredis, keys, outbound(edited, EventKind.EDIT))
    await wait_until(lambda: standin.message(CHANNEL, int(second["id"])) is None, message="the second message gone")
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    copy = standin.message(CHANNEL, int(first["id"]))
    assert copy["content"] == "Zwölf Bilder"
    kept = [standin.attachment_bytes(a) for a in copy["attachments"]]
    # Through the webhook, the kept attachments by id (then the content, as any edit).
    assert list(standin.posts(CHANNEL)[0]["edits"][0]) == ["attachments"]
    assert kept == [data for n, (_, data) in enumerate(files) if n not in (3, 10, 11)]
    assert await IdMap(aredis, keys).copies(LINK, source, destination) == [first["id"]]

    async def removals():
        return await stat(aredis, keys, "discord.media.removed") == 2

    await wait_until(removals, message="both copies' removals counted")

    # A later edit takes off one more, and changes the text: both reach the copy.
    edited = standin.inject_edit(SOURCE, int(message["id"]), "Acht Bilder", remove_attachments=[ids[0]])
    await put_in_outbox(aredis, keys, outbound(edited, EventKind.EDIT))
    await wait_until(
        lambda: standin.message(CHANNEL, int(first["id"]))["content"] == "Acht Bilder", message="the second edit"
    )
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    copy = standin.message(CHANNEL, int(first["id"]))
    assert [standin.attachment_bytes(a) for a in copy["attachments"]] == [
        data for n, (_, data) in enumerate(files) if n not in (0, 3, 10, 11)
    ]
    assert await aredis.zcard(keys.dead_letter_index()) == 0

    layout = await CopyFiles(aredis, keys).layout(LINK, source, destination)
    assert list(layout) == [first["id"]] and len(layout[first["id"]]) == 8

    await put_in_outbox(aredis, keys, outbound(edited, EventKind.DELETE))
    await wait_until(lambda: standin.transcript(CHANNEL) == [], message="the copy deleted")
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    assert await CopyFiles(aredis, keys).layout(LINK, source, destination) == {}  # forgotten with the copy


async def test_a_file_over_the_server_s_limit_gives_the_note(adapter, standin, aredis, keys):
    big = payload(7, 11 * MIB)  # over 10 MiB: too large for a server without boosts
    message = standin.inject_files_message(SOURCE, JUERGEN, "Der Umzug", [("umzug.mp4", big), ("a.jpg", b"x" * 5000)])
    await put_in_outbox(aredis, keys, outbound(message, attachments=attachments_of(message, kind="video")))

    (post,) = await wait_until(lambda: standin.posts(CHANNEL), message="the post")
    assert post["content"] == "Der Umzug\n*📎 umzug.mp4 (11.5 MB) is too large to pass on here.*"
    assert [u["filename"] for u in standin.uploads(CHANNEL)] == ["a.jpg"]
    await wait_until(lambda: stat(aredis, keys, "discord.media.too_large"), message="counted")
    assert await stat(aredis, keys, "discord.media.too_large") == 1
    assert standin.downloads == [(int(message["attachments"][1]["id"]), 200)]  # the big one never fetched

    # A server at boost level 2 takes 50 MiB: the same file crosses.
    await put_in_outbox(aredis, keys, outbound(message, channel=BOOSTED, attachments=attachments_of(message, "video")))
    (boosted,) = await wait_until(lambda: standin.posts(BOOSTED), message="the boosted post")
    assert boosted["content"] == "Der Umzug"
    assert [u["data"] for u in standin.uploads(BOOSTED)] == [big, b"x" * 5000]


async def test_a_refused_upload_gives_one_note_not_a_retry_loop(adapter, standin, aredis, keys):
    message = standin.inject_files_message(SOURCE, JUERGEN, "Plakat", [("plakat.png", payload(9, 50_000))])
    standin.fail_next("POST /webhooks/*", 413, body={"message": "Request entity too large", "code": 40005})
    await put_in_outbox(aredis, keys, outbound(message))

    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    (post,) = standin.posts(CHANNEL)
    assert post["content"] == "Plakat\n*📎 plakat.png (50 KB) is too large to pass on here.*"
    assert post["files"] == []
    executes = [p for _, method, p, _ in standin.requests if method == "POST" and p.startswith("/api/v10/webhooks/")]
    assert len(executes) == 2  # the refused one and the one with the note: no loop
    await wait_until(lambda: stat(aredis, keys, "discord.media.too_large"), message="counted")
    assert await stat(aredis, keys, "discord.media.too_large") == 1
    assert await aredis.zcard(keys.dead_letter_index()) == 0


async def test_a_voice_message_arrives_as_a_discord_voice_message(adapter, standin, aredis, keys):
    """Ogg Opus: the webhook post names the sender, then the bot posts the recording as a
    real voice message (IS_VOICE_MESSAGE, duration and waveform read from the file)
    replying to it; both are the copies, so an edit keeps the voice message and a delete
    takes both."""
    recording = ogg_opus(4.0)
    message = standin.inject_voice_message(SOURCE, JUERGEN, recording, duration_secs=4.0)
    voice = replace(attachments_of(message)[0], kind="voice", duration=4.0)
    await put_in_outbox(aredis, keys, outbound(message, text="", attachments=(voice,)))

    posts = await wait_until(lambda: (lambda p: p if len(p) == 2 else None)(standin.posts(CHANNEL)), message="2 posts")
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    label, sent = posts
    assert (label["via"], label["username"], label["content"], label["files"]) == (
        "webhook",
        "Jürgen · Krefeld",
        "[voice message]",
        [],
    )
    assert sent["via"] == "bot" and int(sent["flags"]) & FLAG_IS_VOICE_MESSAGE and not sent.get("content")
    (upload,) = standin.uploads(CHANNEL)
    assert (upload["message_id"], upload["filename"], upload["data"]) == (sent["id"], "voice-message.ogg", recording)
    assert upload["content_type"] == "audio/ogg" and upload["reference"] == label["id"]
    assert upload["duration_secs"] == 4.0
    waveform = base64.b64decode(upload["waveform"])
    assert len(waveform) == 40  # one sample per 100 ms
    # The recording rises to the middle and falls (ogg_opus's default): so does its waveform.
    assert waveform[0] < waveform[10] < waveform[19] and waveform[20] > waveform[30] > waveform[39]
    source = MessageRef("discord", str(SOURCE), message["id"])
    destination = ChatRef("discord", str(CHANNEL))
    assert await IdMap(aredis, keys).copies(LINK, source, destination) == [label["id"], sent["id"]]

    # An edit reaches the post's text; the voice message (Discord lets no one edit one) stays.
    await put_in_outbox(aredis, keys, outbound(message, EventKind.EDIT, text="Grüße", attachments=(voice,)))
    await wait_until(lambda: standin.message(CHANNEL, int(label["id"]))["content"] == "Grüße", message="the edit")
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    assert standin.message(CHANNEL, int(sent["id"])) is not None
    assert await IdMap(aredis, keys).copies(LINK, source, destination) == [label["id"], sent["id"]]
    assert await aredis.zcard(keys.dead_letter_index()) == 0

    await put_in_outbox(aredis, keys, outbound(message, EventKind.DELETE, attachments=(voice,)))
    await wait_until(lambda: standin.transcript(CHANNEL) == [], message="both messages deleted")


async def test_a_voice_message_is_found_in_the_history_after_a_crash(adapter, standin, aredis, keys):
    """find_sent: both messages of a voice post (the webhook's and the bot's) are found by
    what they show, not posted again."""
    message = standin.inject_voice_message(SOURCE, JUERGEN, ogg_opus(2.0), duration_secs=2.0)
    voice = replace(attachments_of(message)[0], kind="voice", duration=2.0)
    post = outbound(message, text="Hallo", attachments=(voice,))
    intents = Intents(aredis, keys)
    recorded = []

    async def before_post(shown):
        recorded.append(await intents.record(post, shown))

    ids = await adapter._sender.send(post, None, before_post=before_post)
    (intent,) = recorded
    assert len(ids) == 2 and len(intent.marks) == 2
    assert await adapter._sender.find_sent(intent) == ids


async def test_a_voice_message_that_is_not_ogg_opus_arrives_as_an_ogg_audio_file(adapter, standin, aredis, keys):
    ogg = b"OggS" + payload(4, 30_000)
    message = standin.inject_voice_message(SOURCE, JUERGEN, ogg, duration_secs=4.5)
    voice = replace(attachments_of(message)[0], kind="voice", duration=4.5)
    await put_in_outbox(aredis, keys, outbound(message, text="", attachments=(voice,)))

    (post,) = await wait_until(lambda: standin.posts(CHANNEL), message="the voice post")
    (upload,) = standin.uploads(CHANNEL)
    assert (upload["filename"], upload["content_type"], upload["data"]) == ("voice-message.ogg", "audio/ogg", ogg)
    assert upload["flags"] == 0  # Execute Webhook cannot set IS_VOICE_MESSAGE
    assert post["content"] == ""


async def test_a_voice_message_refused_in_the_channel_arrives_as_a_file(adapter, standin, aredis, keys):
    """Discord refusing the bot's voice message (50173: not allowed in this channel) takes the
    post back and sends it once more with the recording as a file: no loop, counted."""
    recording = ogg_opus(1.0)
    message = standin.inject_voice_message(SOURCE, JUERGEN, recording, duration_secs=1.0)
    voice = replace(attachments_of(message)[0], kind="voice", duration=1.0)
    standin.fail_next(
        f"POST /channels/{CHANNEL}/messages",
        400,
        body={"message": "Cannot send voice messages in this channel", "code": 50173},
    )
    await put_in_outbox(aredis, keys, outbound(message, text="Hallo", attachments=(voice,)))

    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
    await wait_until(lambda: stat(aredis, keys, "discord.media.voice_refused"), message="counted")
    shown = [p for p in standin.posts(CHANNEL) if not p["deleted"]]
    assert [(p["via"], p["content"]) for p in shown] == [("webhook", "Hallo")]
    (upload,) = [u for u in standin.uploads(CHANNEL) if not u["deleted"]]
    assert upload["data"] == recording and upload["flags"] == 0
    assert await aredis.zcard(keys.dead_letter_index()) == 0


async def test_a_spoiler_keeps_its_prefix_and_an_unnamed_file_gets_a_name(adapter, standin, aredis, keys):
    message = standin.inject_files_message(SOURCE, JUERGEN, "", [("SPOILER_torte.jpg", payload(5, 9000))])
    (attachment,) = attachments_of(message)
    spoiler = replace(attachment, file_name="torte.jpg", spoiler=True)
    unnamed = replace(attachment, file_name=None, mime_type="image/jpeg")
    await put_in_outbox(aredis, keys, outbound(message, attachments=(spoiler, unnamed)))

    await wait_until(lambda: standin.posts(CHANNEL), message="the post")
    uploads = standin.uploads(CHANNEL)
    assert [u["filename"] for u in uploads] == ["SPOILER_torte.jpg", "photo.jpg"]
    assert uploads[0]["attachment_flags"] & (1 << 3)  # Discord marks it a spoiler


async def test_a_media_post_is_recognised_in_the_history_after_a_crash(adapter, standin, aredis, keys):
    """find_sent: a post Discord took whose answer was lost is found by what it shows
    (for a photo without text: its files' sizes), not posted again."""
    files = [(f"f{n}.jpg", payload(n, 10_000 + n)) for n in range(3)]
    message = standin.inject_files_message(SOURCE, JUERGEN, "", files)
    post = outbound(message)
    intents = Intents(aredis, keys)
    recorded = []

    async def before_post(shown):
        recorded.append(await intents.record(post, shown))

    sender = adapter._sender
    ids = await sender.send(post, None, before_post=before_post)
    (intent,) = recorded
    assert intent.match(shown_with_files("Jürgen · Krefeld", "", [10_000, 10_001, 10_002])) == 0
    assert await sender.find_sent(intent) == ids


async def test_a_held_message_s_files_are_shown_to_its_moderator(adapter, standin, aredis, keys):
    """A moderator's notice carries the held message's files (media: approve): they arrive in
    the DM under the notice and its buttons."""
    moderator = {"id": 444555666777888999, "username": "mod.k", "global_name": "Moderatorin"}
    standin.add_user(moderator)
    files = [("a.png", payload(1, 5000)), ("b.png", payload(2, 6000))]
    message = standin.inject_files_message(SOURCE, JUERGEN, "", files)
    notice = OutboundPost(
        kind=EventKind.NOTICE,
        link_id=LINK,
        destination=ChatRef("discord", str(moderator["id"])),
        source=MessageRef("discord", str(SOURCE), message["id"]),
        sender="",
        community="",
        text="Held for approval — ID 7",
        private_to=str(moderator["id"]),
        buttons=(("Approve", "approve:7"), ("Reject", "reject:7")),
        attachments=attachments_of(message),
    )
    await put_in_outbox(aredis, keys, notice)

    dms = await wait_until(lambda: (lambda d: d if len(d) == 2 else None)(standin.dms(moderator["id"])), message="DMs")
    assert dms[0]["content"] == "Held for approval — ID 7" and dms[0]["components"]
    assert [a["filename"] for a in dms[1]["attachments"]] == ["a.png", "b.png"]
    dm_channel = standin.dm_channel_id(moderator["id"])
    assert [(u["filename"], u["data"]) for u in standin.uploads(dm_channel)] == files
    await wait_until(lambda: outbox_empty(aredis, keys), message="the outbox drained")
