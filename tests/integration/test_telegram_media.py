"""Files on Telegram, both ways, through the real aiogram client and the Telegram stand-in:
the fetcher (getFile, the streamed download, the 20 MB limit) and the sender (each send
method, media groups and their type rules, caption overflow, files refused or too large,
edits of a post with files). The files' source is real too: a member's message in another
group of the same stand-in, fetched by the Telegram fetcher through MediaSource."""

from __future__ import annotations

import os

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

from bridge.discord.media_fetching import DiscordFetcher
from bridge.media.files import MediaTooLarge
from bridge.media.limits import MB
from bridge.media.source import MediaSource
from bridge.telegram.convert import event_from_message
from bridge.telegram.media_fetching import TelegramFetcher
from bridge.telegram.sender import TelegramSender
from core.models import Attachment, ChatRef, EventKind, MessageRef, OutboundPost
from core.stats import Stats
from core.storage.copy_files import CopyFiles
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from tests.helpers import two_community_links, write_links

pytestmark = pytest.mark.integration

TOKEN = "7000001:AAH-test-secret-token-for-the-stand-in"
SOURCE = -1001000000001
DESTINATION = -1001000000002
ANNA = {"id": 111222333, "first_name": "Anna"}


@pytest.fixture
async def standin():
    server = TelegramStandIn(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(standin):
    bot = Bot(
        TOKEN,
        session=AiohttpSession(api=TelegramAPIServer.from_base(standin.url)),
        default=DefaultBotProperties(parse_mode=None),
    )
    yield bot
    await bot.session.close()


@pytest.fixture
def media(bot, tmp_path):
    source = MediaSource(tmp_path / "media")
    source.directory.mkdir()
    source.register("telegram", TelegramFetcher(bot))
    return source


@pytest.fixture
def stats(aredis, keys):
    return Stats(aredis, keys)


@pytest.fixture
def sender(bot, media, stats):
    return TelegramSender(bot, stats=stats, media=media)


def payload(size: int, tag: bytes = b"") -> bytes:
    return (tag + os.urandom(64)) * (size // (len(tag) + 64)) + b"\0" * (size % (len(tag) + 64))


def member_message(standin, kind: str, data: bytes, **options) -> Message:
    raw = standin.inject_media(SOURCE, ANNA, kind, data, **options)
    return Message.model_validate(raw)


def post_of(messages: list[Message], text: str = "", **changes) -> OutboundPost:
    """The post a worker would route to DESTINATION for these source messages (an album:
    the first one's source, every file)."""
    events = [event_from_message(m, EventKind.NEW) for m in messages]
    assert all(events)
    return OutboundPost(
        kind=EventKind.NEW,
        link_id="tg-tg",
        destination=ChatRef("telegram", str(DESTINATION)),
        source=events[0].source,
        sender="Anna",
        community="Leicester",
        text=text,
        attachments=tuple(a for e in events for a in e.attachments),
        language="en",
        seq=1,
        **changes,
    )


def leftovers(media: MediaSource) -> list[str]:
    return os.listdir(media.directory)


# -- the fetcher -------------------------------------------------------------------------


async def test_a_file_is_fetched_streamed_byte_for_byte(standin, media):
    data = payload(3 * MB + 17)
    message = member_message(standin, "document", data, file_name="programme.pdf", mime_type="application/pdf")
    [attachment] = event_from_message(message, EventKind.NEW).attachments
    fetched = await media.fetch(attachment, event_from_message(message, EventKind.NEW).source)
    try:
        assert fetched.path.read_bytes() == data
        assert (fetched.size, fetched.name, fetched.mime, fetched.kind) == (
            len(data),
            "programme.pdf",
            "application/pdf",
            "document",
        )
        assert oct(fetched.path.stat().st_mode & 0o777) == "0o600"
    finally:
        fetched.discard()
    assert leftovers(media) == []


async def test_a_file_over_20_mb_is_too_large_with_its_declared_size(standin, media):
    data = b"v" * (21 * MB)
    message = member_message(standin, "video", data)
    event = event_from_message(message, EventKind.NEW)
    [attachment] = event.attachments
    with pytest.raises(MediaTooLarge) as raised:
        await media.fetch(attachment, event.source)
    assert raised.value.size == len(data)
    # Without a declared size Telegram's own answer to getFile says so.
    with pytest.raises(MediaTooLarge):
        await media.fetch(Attachment("video", attachment.file_id), event.source)
    assert [m for _, m, _ in standin.requests].count("getFile") == 1
    assert leftovers(media) == []


# -- the sender ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "method", "options"),
    [
        ("photo", "sendPhoto", {"spoiler": True}),
        ("video", "sendVideo", {"file_name": "parade.mp4", "spoiler": True}),
        ("animation", "sendAnimation", {"file_name": "dance.mp4"}),
        ("audio", "sendAudio", {"file_name": "anthem.mp3", "mime_type": "audio/mpeg"}),
        ("voice", "sendVoice", {}),
        ("video_note", "sendVideoNote", {}),
        ("document", "sendDocument", {"file_name": "programme.pdf", "mime_type": "application/pdf"}),
    ],
)
async def test_each_kind_goes_with_its_own_method_and_caption(standin, sender, media, kind, method, options):
    data = payload(200_000, kind.encode())
    post = post_of([member_message(standin, kind, data, **options)], "See you <there> & then")
    ids = await sender.send(post, None)
    uploads = standin.uploads(DESTINATION)
    [upload] = uploads
    assert upload["method"] == method and upload["kind"] == kind and upload["data"] == data
    assert upload["has_spoiler"] is bool(options.get("spoiler"))
    if kind == "video_note":  # no caption on a round video: the text follows it
        assert upload["caption"] == ""
        assert [text for _, text in standin.transcript(DESTINATION)][1] == "Anna · Leicester: See you <there> & then"
        assert len(ids) == 2
    else:
        assert upload["caption"] == "Anna · Leicester: See you <there> & then"
        assert ids == [str(upload["message_id"])]
    assert "[" + kind not in " ".join(text for _, text in standin.transcript(DESTINATION))
    assert leftovers(media) == []


async def test_files_go_as_media_groups_by_the_type_rules_in_order(standin, sender, stats, aredis, keys):
    sent: list[bytes] = []

    def file(kind: str, **options) -> Message:
        sent.append(payload(5000, kind.encode() + b"%d" % len(sent)))
        return member_message(standin, kind, sent[-1], **options)

    messages = [file("photo") for _ in range(11)]
    messages.append(file("video"))
    messages += [file("document", file_name=f"d{i}.pdf") for i in range(2)]
    messages.append(file("voice"))
    messages.append(file("audio", file_name="a.mp3"))
    post = post_of(messages, "The fair")
    ids = await sender.send(post, None)
    uploads = standin.uploads(DESTINATION)
    # 11 photos + a video: a group of 10, then a group of 2 (photos and videos mix); the two
    # documents together; the voice alone; the one audio alone.
    groups = [u["media_group_id"] for u in uploads]
    assert [u["method"] for u in uploads] == ["sendMediaGroup"] * 14 + ["sendVoice", "sendAudio"]
    assert len(set(groups[:10])) == 1 and len(set(groups[10:12])) == 1 and len(set(groups[12:14])) == 1
    assert len({groups[0], groups[10], groups[12]}) == 3
    assert [u["kind"] for u in uploads] == ["photo"] * 11 + ["video", "document", "document", "voice", "audio"]
    assert [u["data"] for u in uploads] == sent
    assert [u["caption"] for u in uploads] == ["Anna · Leicester: The fair"] + [""] * 15
    assert ids == [str(u["message_id"]) for u in uploads]
    await stats.flush()
    assert (await stats.read()).get("telegram.media.sent") == 16


async def test_a_text_too_long_for_a_caption_follows_the_files_whole(standin, sender):
    text = "Spring fair. " * 100  # 1300 characters
    post = post_of([member_message(standin, "photo", payload(5000)) for _ in range(2)], text)
    ids = await sender.send(post, None)
    uploads = standin.uploads(DESTINATION)
    assert [u["caption"] for u in uploads] == ["Anna · Leicester:", ""]
    shown = standin.transcript(DESTINATION)
    assert len(ids) == 3 and shown[2] == ("bot", "Anna · Leicester: " + text.strip())


async def test_a_big_photo_goes_as_a_document_and_a_refused_one_as_a_note(standin, sender, stats):
    big = payload(12 * MB)
    post = post_of([member_message(standin, "photo", big)], "Big one")
    await sender.send(post, None)
    [upload] = standin.uploads(DESTINATION)
    assert upload["method"] == "sendDocument" and upload["data"] == big and upload["file_name"] == "photo.jpg"

    # Telegram cannot process a photo: it goes as the file it is; refused again: a note.
    standin.fail_next("sendPhoto", 400, description="Bad Request: IMAGE_PROCESS_FAILED")
    standin.fail_next("sendDocument", 400, description="Bad Request: wrong file identifier/HTTP URL specified")
    post = post_of([member_message(standin, "photo", payload(5000))], "Broken")
    ids = await sender.send(post, None)
    assert len(standin.uploads(DESTINATION)) == 1  # nothing more uploaded
    assert standin.transcript(DESTINATION)[-1] == ("bot", "Anna · Leicester: Broken\n📎 photo could not be passed on.")
    assert len(ids) == 1
    await stats.flush()
    assert (await stats.read()).get("telegram.media.refused") == 1


async def test_a_refused_group_is_sent_one_by_one_and_only_the_bad_file_is_a_note(standin, sender):
    messages = [member_message(standin, "document", payload(5000, b"%d" % i), file_name=f"f{i}.pdf") for i in range(3)]
    standin.fail_next("sendMediaGroup", 400, description="Bad Request: wrong file identifier/HTTP URL specified")
    standin.fail_next("sendDocument", 400, description="Bad Request: wrong file identifier/HTTP URL specified")
    ids = await sender.send(post_of(messages, "Three files"), None)
    uploads = standin.uploads(DESTINATION)
    assert [(u["method"], u["file_name"]) for u in uploads] == [("sendDocument", "f1.pdf"), ("sendDocument", "f2.pdf")]
    assert uploads[0]["caption"] == "Anna · Leicester: Three files\n📎 f0.pdf could not be passed on."
    assert len(ids) == 2


async def test_a_file_too_large_at_the_source_leaves_a_note_and_the_rest_goes(standin, sender, media, stats):
    messages = [
        member_message(standin, "photo", payload(5000)),
        member_message(standin, "video", b"v" * (30 * MB), file_name="parade.mp4"),
    ]
    ids = await sender.send(post_of(messages, "Parade"), None)
    [upload] = standin.uploads(DESTINATION)
    assert upload["method"] == "sendPhoto"
    assert upload["caption"] == "Anna · Leicester: Parade\n📎 parade.mp4 (31.5 MB) is too large to pass on here."
    assert len(ids) == 1
    await stats.flush()
    assert (await stats.read()).get("telegram.media.too_large") == 1
    assert leftovers(media) == []


async def test_only_files_that_cannot_come_make_a_text_post(standin, sender):
    message = member_message(standin, "video", b"v" * (21 * MB), file_name="parade.mp4")
    ids = await sender.send(post_of([message], ""), None)
    assert standin.uploads(DESTINATION) == []
    assert len(ids) == 1
    assert standin.transcript(DESTINATION) == [
        ("bot", "Anna · Leicester: 📎 parade.mp4 (22.0 MB) is too large to pass on here.")
    ]


async def test_an_edit_changes_the_caption_and_the_text_after_the_files(standin, sender):
    messages = [member_message(standin, "photo", payload(5000)) for _ in range(3)]
    post = post_of(messages, "First")
    ids = await sender.send(post, None)
    edited = OutboundPost.from_dict({**post_of(messages, "Second").to_dict(), "kind": "edit"})
    assert await sender.edit(edited, ids) == ids
    assert standin.message(DESTINATION, int(ids[0]))["caption"] == "Anna · Leicester: Second"
    # Too long for a caption now: the header stays on the files, the text follows.
    longer = OutboundPost.from_dict({**edited.to_dict(), "text": "Long. " * 300})
    showing = await sender.edit(longer, ids)
    assert showing[:3] == ids and len(showing) == 4
    assert standin.message(DESTINATION, int(ids[0]))["caption"] == "Anna · Leicester:"
    assert standin.message(DESTINATION, int(showing[3]))["text"].endswith("Long.")
    # And short again: the text message goes.
    showing = await sender.edit(edited, showing)
    assert showing == ids and standin.message(DESTINATION, int(ids[0]))["caption"] == "Anna · Leicester: Second"
    await sender.delete(edited, showing)
    assert standin.transcript(DESTINATION) == []


async def test_the_source_file_url_with_the_token_is_never_logged(standin, sender, caplog):
    caplog.set_level("DEBUG")
    standin.fail_next("sendPhoto", 400, description="Bad Request: IMAGE_PROCESS_FAILED")
    await sender.send(post_of([member_message(standin, "photo", payload(5000))], "x"), None)
    assert TOKEN.split(":")[1] not in caplog.text


# -- files a Discord member takes off their message --------------------------------------

DC_TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.standin.S3cr3t-t0ken-for-tests"
DC_GUILD = 112233445566770000
DC_CHANNEL = 112233445566778800
JUERGEN = {"id": 331122334455667788, "username": "juergen.b", "global_name": "Jürgen Becker"}


@pytest.fixture
async def discord_standin():
    server = DiscordStandIn(DC_TOKEN, {DC_GUILD: {"name": "Krefeld", "channels": {DC_CHANNEL: "fotos"}}})
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def from_discord(bot, media, discord_standin, stats, aredis, keys):
    """A Telegram sender whose files come from the Discord stand-in (the real fetcher),
    recording which copy shows which file."""
    fetcher = DiscordFetcher(discord_standin.api_url)
    media.register("discord", fetcher)
    yield TelegramSender(bot, stats=stats, media=media, copy_files=CopyFiles(aredis, keys))
    await fetcher.close()


def discord_post(message: dict, kind: EventKind = EventKind.NEW, text: str | None = None) -> OutboundPost:
    return OutboundPost(
        kind=kind,
        link_id="dc-tg",
        destination=ChatRef("telegram", str(DESTINATION)),
        source=MessageRef("discord", str(DC_CHANNEL), message["id"]),
        sender="Jürgen",
        community="Krefeld",
        text=message["content"] if text is None else text,
        attachments=tuple(
            Attachment(
                kind="photo",
                file_id=a["id"],
                file_name=a["filename"],
                mime_type=a.get("content_type"),
                size=a["size"],
                url=a["url"],
            )
            for a in message["attachments"]
        ),
        language="en",
        seq=1,
    )


async def test_files_taken_off_a_discord_message_go_from_the_telegram_copies(
    standin, discord_standin, from_discord, media, aredis, keys
):
    """An album's part whose file the member took off is deleted (the caption moves to the
    first part left); when the last file goes, the text comes as a message of its own.
    The ids returned (the id map's) are what shows, so later edits and the delete reach it."""
    files = [(f"bild_{n}.png", payload(4000, b"png%d" % n)) for n in range(3)]
    message = discord_standin.inject_files_message(DC_CHANNEL, JUERGEN, "Das Fest", files)
    post = discord_post(message)
    ids = await from_discord.send(post, None)
    assert len(ids) == 3 and standin.message(DESTINATION, int(ids[0]))["caption"] == "Jürgen · Krefeld: Das Fest"
    layout = await CopyFiles(aredis, keys).layout(post.link_id, post.source, post.destination)
    assert layout == {copy: [a["id"]] for copy, a in zip(ids, message["attachments"], strict=True)}

    # The first file goes: its part is deleted and the next one carries the caption.
    attachment_ids = [a["id"] for a in message["attachments"]]
    edited = discord_standin.inject_edit(DC_CHANNEL, int(message["id"]), None, remove_attachments=[attachment_ids[0]])
    showing = await from_discord.edit(discord_post(edited, EventKind.EDIT), ids)
    assert showing == ids[1:]
    assert standin.message(DESTINATION, int(ids[0])) is None
    assert standin.message(DESTINATION, int(ids[1]))["caption"] == "Jürgen · Krefeld: Das Fest"
    assert [u["data"] for u in standin.uploads(DESTINATION) if standin.message(DESTINATION, u["message_id"])] == [
        files[1][1],
        files[2][1],
    ]

    # The other two go: the text stays, as a text message of its own.
    edited = discord_standin.inject_edit(
        DC_CHANNEL, int(message["id"]), "Das Fest war schön", remove_attachments=attachment_ids[1:]
    )
    showing = await from_discord.edit(discord_post(edited, EventKind.EDIT), showing)
    assert len(showing) == 1 and showing[0] not in ids
    assert standin.transcript(DESTINATION) == [("bot", "Jürgen · Krefeld: Das Fest war schön")]
    assert await CopyFiles(aredis, keys).layout(post.link_id, post.source, post.destination) == {}
    await from_discord.delete(discord_post(edited, EventKind.DELETE), showing)
    assert standin.transcript(DESTINATION) == []
    assert os.listdir(media.directory) == []


async def test_files_from_a_thread_go_into_its_topic_single_and_as_an_album(
    standin, bot, media, stats, aredis, keys, tmp_path
):
    """Issue 15: a thread's photo and album land in the twin topic (message_thread_id on
    sendPhoto and sendMediaGroup), the caption without its "🧵" line."""
    config = write_links(tmp_path, two_community_links(DESTINATION, 112233445566778899))
    sender = TelegramSender(bot, stats=stats, media=media, redis=aredis, keys=keys, config=config)
    standin.make_forum(DESTINATION)
    single = post_of([member_message(standin, "photo", payload(5000))], "🧵 Stammtisch\nour table", thread="5001")
    await sender.send(single, None)
    album = post_of(
        [member_message(standin, "photo", payload(5000)) for _ in range(2)], "🧵 Stammtisch\ntwo", thread="5001"
    )
    await sender.send(album, None)
    [topic] = standin.topics(DESTINATION)
    assert topic["name"] == "Stammtisch"
    shown = standin.messages_in(DESTINATION, topic["message_thread_id"])
    assert [("photo" in m, m.get("caption", "")) for m in shown] == [
        (True, "Anna · Leicester: our table"),
        (True, "Anna · Leicester: two"),
        (True, ""),
    ]
    assert standin.messages_in(DESTINATION, None) == []  # nothing in General
