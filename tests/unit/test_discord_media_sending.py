"""How the Discord sender names and groups a post's files (plain functions)."""

from __future__ import annotations

from pathlib import Path

from bridge.discord import media_sending
from bridge.discord.media_sending import PostFiles, Upload, upload_name
from bridge.media.files import MediaFile
from bridge.media.refusals import Refusal, collecting
from bridge.media.limits import MB
from core.models import Attachment


def test_names_on_discord():
    assert upload_name(Attachment("photo", file_name="fest.jpg"), "image/jpeg") == "fest.jpg"
    assert upload_name(Attachment("photo"), "image/jpeg") == "photo.jpg"
    assert upload_name(Attachment("voice", mime_type="audio/ogg"), "audio/ogg") == "voice-message.ogg"
    assert upload_name(Attachment("video_note"), "video/mp4") == "video-note.mp4"
    assert (
        upload_name(Attachment("document", file_name="../../etc/pass\nwd"), "") == "_.._etc_pass_wd"
    )  # no path, no line break
    assert upload_name(Attachment("photo", file_name="torte.jpg", spoiler=True), "image/jpeg") == "SPOILER_torte.jpg"
    long = upload_name(Attachment("document", file_name="x" * 300 + ".pdf"), "application/pdf")
    assert len(long) == 100 and long.endswith(".pdf")


def _upload(n: int, size: int) -> Upload:
    return Upload(
        Attachment("photo"), MediaFile(Path(f"/nonexistent/{n}"), "", "image/jpeg", size, "photo"), f"{n}.jpg"
    )


def test_groups_take_ten_files_and_stay_within_the_limit():
    files = PostFiles("en", 10 * MB, uploads=[_upload(n, 100) for n in range(23)])
    assert [len(g) for g in files.groups()] == [10, 10, 3]
    files = PostFiles("en", 10 * MB, uploads=[_upload(n, 4 * MB) for n in range(5)])
    assert [len(g) for g in files.groups()] == [2, 2, 1]


def test_refusing_files_leaves_a_note_each():
    first, second = _upload(1, 50_000), _upload(2, 30_000_000)
    files = PostFiles("de", 100 * MB, uploads=[first, second])
    files.refuse([second], too_large=True)
    files.refuse([first], too_large=False)
    assert files.uploads == []
    assert files.notes == [
        "📎 2.jpg (30.0 MB) ist zu groß, um hier weitergegeben zu werden.",
        "📎 1.jpg konnte nicht weitergegeben werden.",
    ]


def test_what_a_message_with_files_shows_for_the_delivery_intent():
    assert media_sending.shown_with_files("Anna · Leicester", "hi", []) == "Anna · Leicester\nhi"
    assert media_sending.shown_with_files(None, "", [10, 20]) == "\n\n📎 10,20"


def test_refusals():
    assert media_sending.refusal(413, 0, None).too_large
    assert media_sending.refusal(400, 40005, {}).too_large
    invalid = {"code": 50035, "errors": {"attachments": {"0": {}}}}
    assert not media_sending.refusal(400, 50035, invalid).too_large
    assert media_sending.refusal(400, 50035, {"errors": {"content": {}}}) is None
    assert media_sending.refusal(500, 0, None) is None


def test_files_discord_refuses_are_recorded_for_the_senders_notice(tmp_path):
    """A 413 / 40005 (too large) or an invalid attachment: besides the note, a Refusal for
    the notice to the member who sent it (bridge/media/refusals.py), within a delivery only."""

    def upload(name: str, size: int) -> Upload:
        path = tmp_path / name
        path.write_bytes(b"x" * 10)
        file = MediaFile(path=path, name=name, mime="image/png", size=size, kind="photo")
        return Upload(Attachment("photo", name), file, name)

    big, odd = upload("plakat.png", 12 * MB), upload("SPOILER_odd.png", 5_000)
    files = PostFiles(language="de", limit=10 * MB, uploads=[big, odd])
    with collecting() as found:
        files.refuse([big], too_large=True)
        files.refuse([odd], too_large=False)
    assert found == [
        Refusal("plakat.png", "photo", "too_large", "discord", 12 * MB, 10 * MB),
        Refusal("odd.png", "photo", "refused", "discord"),
    ]
    assert len(files.notes) == 2 and files.uploads == []
