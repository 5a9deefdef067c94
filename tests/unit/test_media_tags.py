"""Audio and video tags are removed before a file crosses (bridge/media/tags.py through
bridge/media/scrub.py): real MP3, FLAC, Ogg Opus and WebM files, their tags written with
mutagen (a title, an artist, a comment with a position) or as Matroska Tags; after the
scrub none of it is left and the audio and video bytes are the same."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

from mutagen.flac import FLAC, Picture
from mutagen.id3 import COMM, ID3, TIT2, TPE1, TXXX
from mutagen.oggopus import OggOpus
from mutagen.ogg import OggPage
from PIL import Image

from bridge.media.files import MediaFile
from bridge.media.scrub import scrub, shrink_sticker
from bridge.media.tags import strip_tags

PERSONAL = (b"Anna Smith", b"Birthday at Granville Rd", b"52.6369", b"Grandma's voice")


def media_file(path: Path, kind: str = "audio") -> MediaFile:
    return MediaFile(path=path, name=path.name, mime="", size=path.stat().st_size, kind=kind)


def assert_nothing_personal(data: bytes) -> None:
    for secret in PERSONAL:
        assert secret not in data, secret


# -- MP3 ---------------------------------------------------------------------------------------


def mpeg_frames(count: int = 20) -> bytes:
    """MPEG-1 Layer III frames, 128 kbit/s at 44.1 kHz (417 bytes each), their audio random."""
    header = bytes((0xFF, 0xFB, 0x90, 0x64))
    return b"".join(header + os.urandom(413) for _ in range(count))


def test_an_mp3_loses_its_id3_and_keeps_its_frames(tmp_path):
    frames = mpeg_frames()
    path = tmp_path / "song.mp3"
    path.write_bytes(frames + b"TAG" + b"Anna Smith".ljust(30, b"\0") + bytes(95))  # ID3v1 at the end
    tags = ID3()
    tags.add(TIT2(encoding=3, text="Grandma's voice"))
    tags.add(TPE1(encoding=3, text="Anna Smith"))
    tags.add(TXXX(encoding=3, desc="GPS", text="52.6369, -1.1398"))
    tags.add(COMM(encoding=3, lang="eng", desc="", text="Birthday at Granville Rd"))
    tags.save(path)
    assert b"Anna Smith" in path.read_bytes()

    scrubbed = scrub(media_file(path))
    data = scrubbed.path.read_bytes()
    assert_nothing_personal(data)
    assert data == frames  # the audio frames, byte for byte, and nothing else
    assert scrubbed.size == len(frames)


# -- FLAC --------------------------------------------------------------------------------------


def flac_stream(audio: bytes) -> bytes:
    """fLaC, a STREAMINFO block (44.1 kHz, mono, 16 bit) and ``audio`` as its frames."""
    info = struct.pack(">HH", 4096, 4096) + bytes(6)
    info += ((44100 << 12) | (0 << 9) | (15 << 4)).to_bytes(4, "big") + (44100).to_bytes(4, "big") + bytes(16)
    assert len(info) == 34
    return b"fLaC" + bytes((0x80, 0, 0, 34)) + info + audio


def test_a_flac_loses_its_comments_and_pictures_and_keeps_its_frames(tmp_path):
    audio = b"\xff\xf8" + os.urandom(6000)
    path = tmp_path / "voice.flac"
    path.write_bytes(flac_stream(audio))
    flac = FLAC(path)
    flac["TITLE"] = "Grandma's voice"
    flac["ARTIST"] = "Anna Smith"
    flac["LOCATION"] = "52.6369, -1.1398"
    cover = Picture()
    cover.type, cover.mime, cover.desc, cover.data = (
        3,
        "image/jpeg",
        "Birthday at Granville Rd",
        b"\xff\xd8" + bytes(50),
    )
    flac.add_picture(cover)
    flac.save()

    scrubbed = scrub(media_file(path))
    data = scrubbed.path.read_bytes()
    assert_nothing_personal(data)
    assert data.endswith(audio)
    assert FLAC(scrubbed.path).info.sample_rate == 44100 and not FLAC(scrubbed.path).pictures


# -- Ogg Opus (a voice message) ----------------------------------------------------------------


def ogg_opus(packets: list[bytes]) -> bytes:
    """An Ogg Opus stream: OpusHead, OpusTags (no comments), then ``packets``, one per page."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 7) + b"libopus" + struct.pack("<I", 0)
    out = io.BytesIO()
    for sequence, packet in enumerate([head, tags, *packets]):
        page = OggPage()
        page.serial, page.sequence, page.packets = 4711, sequence, [packet]
        page.first = sequence == 0
        page.last = sequence == len(packets) + 1
        page.position = 0 if sequence < 2 else 960 * (sequence - 1)
        out.write(page.write())
    return out.getvalue()


def audio_packets(data: bytes) -> list[bytes]:
    pages, stream = [], io.BytesIO(data)
    while stream.tell() < len(data):
        pages.append(OggPage(stream))
    return [packet for page in pages[2:] for packet in page.packets]


def test_an_ogg_opus_voice_message_loses_its_tags_and_keeps_its_packets(tmp_path):
    packets = [os.urandom(120) for _ in range(25)]
    path = tmp_path / "voice.ogg"
    path.write_bytes(ogg_opus(packets))
    opus = OggOpus(path)
    opus["title"] = "Grandma's voice"
    opus["artist"] = "Anna Smith"
    opus["comment"] = "Birthday at Granville Rd, 52.6369"
    opus.save()
    assert b"Anna Smith" in path.read_bytes()

    scrubbed = scrub(media_file(path, "voice"))
    data = scrubbed.path.read_bytes()
    assert_nothing_personal(data)
    assert audio_packets(data) == packets
    assert not OggOpus(scrubbed.path).tags and OggOpus(scrubbed.path).info.channels == 1


# -- WebM / Matroska ---------------------------------------------------------------------------


def vint(n: int) -> bytes:
    return (1 << 56 | n).to_bytes(8, "big")


def el(element: int, payload: bytes, *, unknown: bool = False) -> bytes:
    ident = element.to_bytes((element.bit_length() + 7) // 8, "big")
    return ident + (b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown else vint(len(payload))) + payload


def webm(cluster: bytes, *, live: bool = False) -> bytes:
    header = el(0x1A45DFA3, el(0x4282, b"webm") + el(0x4287, b"\x04") + el(0x4285, b"\x02"))
    info = el(
        0x1549A966,
        el(0x2AD7B1, (1_000_000).to_bytes(3, "big"))
        + el(0x4D80, b"Lavf60.3.100")
        + el(0x5741, b"Lavf60.3.100")
        + el(0x7BA9, b"Grandma's voice")
        + el(0x4461, (725_000_000_000_000_000).to_bytes(8, "big")),
    )
    tracks = el(0x1654AE6B, el(0xAE, el(0xD7, b"\x01") + el(0x83, b"\x01") + el(0x86, b"V_VP9")))
    simple_tag = el(0x67C8, el(0x45A3, b"ARTIST") + el(0x4487, b"Anna Smith"))
    tags = el(
        0x1254C367,
        el(0x7373, el(0x63C0, b"") + simple_tag + el(0x67C8, el(0x45A3, b"LOCATION") + el(0x4487, b"52.6369"))),
    )
    body = info + tracks + (el(0x1F43B675, cluster, unknown=True) if live else el(0x1F43B675, cluster)) + tags
    if live:  # a live recording (a browser's MediaRecorder): Tags first, sizes unknown
        body = info + tags + tracks + el(0x1F43B675, cluster, unknown=True)
    return header + el(0x18538067, body, unknown=live)


def cluster_bytes() -> bytes:
    timecode = el(0xE7, b"\x00")
    blocks = b"".join(el(0xA3, b"\x81\x00\x00\x80" + os.urandom(300)) for _ in range(5))
    return timecode + blocks


def test_a_webm_loses_its_tags_title_and_date_in_place(tmp_path):
    for live in (False, True):
        cluster = cluster_bytes()
        original = webm(cluster, live=live)
        path = tmp_path / f"clip-{live}.webm"
        path.write_bytes(original)
        assert strip_tags(path)
        data = path.read_bytes()
        assert len(data) == len(original)  # in place: nothing moved
        assert_nothing_personal(data)
        assert b"ARTIST" not in data and b"LOCATION" not in data
        assert cluster in data and data.index(cluster) == original.index(cluster)  # the video, where it was
        assert b"Lavf60.3.100" in data and b"V_VP9" in data  # what players need stays
        # The voided stretches are Void elements (0xEC) of the same length.
        assert data.count(b"\xec") >= 3


def test_a_broken_webm_keeps_what_could_not_be_reached_and_does_not_crash(tmp_path):
    original = webm(cluster_bytes())
    path = tmp_path / "cut.webm"
    path.write_bytes(original[: len(original) - 40])  # cut inside the Tags
    assert strip_tags(path)
    assert len(path.read_bytes()) == len(original) - 40
    path.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 30)  # no valid element length
    assert strip_tags(path)


def test_other_files_are_left_alone(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"Anna Smith, 52.6369")
    assert not strip_tags(path)
    path.write_bytes(b"OggS" + b"\x00" * 40)  # an Ogg mutagen cannot read
    assert strip_tags(path) in (True, False)
    assert path.read_bytes() == b"OggS" + b"\x00" * 40


def test_a_sticker_picture_is_shown_small(tmp_path):
    """A Telegram sticker (512 px WebP) goes to Discord at 160 px, as Discord's own stickers;
    a small one (a thumbnail) keeps its bytes and is named by its type."""
    big = tmp_path / "sticker.webp"
    Image.new("RGBA", (512, 512), (250, 200, 0, 128)).save(big, "WEBP")
    small = shrink_sticker(MediaFile(path=big, name="sticker.webp", mime="image/webp", size=1, kind="sticker"))
    with Image.open(small.path) as img:
        assert img.size == (160, 160) and img.mode == "RGBA" and img.format == "WEBP"
    assert small.mime == "image/webp" and not big.exists()

    thumb = tmp_path / "thumb"
    Image.new("RGB", (128, 128), (1, 2, 3)).save(thumb, "JPEG")
    data = thumb.read_bytes()
    kept = shrink_sticker(
        MediaFile(path=thumb, name="", mime="application/octet-stream", size=len(data), kind="sticker")
    )
    assert kept.path == thumb and thumb.read_bytes() == data and kept.mime == "image/jpeg"
