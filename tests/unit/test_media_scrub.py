"""Image metadata is removed before a file crosses (bridge/media/scrub.py): real images made
with Pillow, carrying GPS, a camera serial, XMP, IPTC, comments and text chunks."""

from __future__ import annotations

import io
import os
import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from bridge.media.files import MediaFile, MediaUnavailable
from bridge.media.scrub import scrub

GPS, EXIF_IFD, ORIENTATION, SERIAL = 0x8825, 0x8769, 0x0112, 0xA431
PERSONAL = (b"SN-4711-0815", b"Anna Smith", b"Leicester", b"52.6369")


def camera_exif(orientation: int | None = None) -> Image.Exif:
    """What a phone writes: make, model, GPS position, the camera body's serial number."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS 200D"
    exif[0x013B] = "Anna Smith"  # Artist
    if orientation:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS)
    gps.update({1: "N", 2: (52.0, 37.0, 48.0), 3: "W", 4: (1.0, 7.0, 48.0)})
    exif.get_ifd(EXIF_IFD)[SERIAL] = "SN-4711-0815"
    return exif


def picture(size=(96, 64)) -> Image.Image:
    """Not a flat colour: a real picture's entropy-coded data."""
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    img.paste((200, 30, 30), (10, 10, 40, 30))
    return img


# Made once: a profile's header carries the time it was made.
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def srgb() -> bytes:
    return SRGB


def jpeg_with_everything(orientation: int | None = None, trailer: bytes = b"") -> bytes:
    buf = io.BytesIO()
    picture().save(
        buf,
        "JPEG",
        quality=90,
        exif=camera_exif(orientation),
        comment=b"at Anna Smith's home",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Anna Smith, 52.6369,-1.1398</x:xmpmeta>',
        icc_profile=srgb(),
    )
    data = buf.getvalue()
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0e\x1c\x02\x5a\x00\x09Leicester"
    app13 = b"\xff\xed" + struct.pack(">H", len(iptc) + 2) + iptc
    return data[:2] + app13 + data[2:] + trailer


def spooled(tmp_path: Path, data: bytes, kind="photo", mime="image/jpeg", name="IMG_0001.jpg") -> MediaFile:
    path = tmp_path / f"m-{len(list(tmp_path.iterdir()))}"
    path.write_bytes(data)
    return MediaFile(path=path, name=name, mime=mime, size=len(data), kind=kind)


def from_first(data: bytes, marker: bytes) -> bytes:
    return data[data.index(marker) :]


def no_personal_data(data: bytes) -> None:
    for secret in PERSONAL:
        assert secret not in data


def test_a_jpeg_loses_gps_serial_xmp_iptc_and_comments_and_keeps_its_pixels_bytes(tmp_path):
    original = jpeg_with_everything()
    before = Image.open(io.BytesIO(original))
    assert before.getexif().get_ifd(GPS) and "xmp" in before.info and "comment" in before.info
    file = spooled(tmp_path, original)

    clean = scrub(file)

    data = clean.path.read_bytes()
    assert not file.path.exists() and clean.size == len(data) < len(original)
    assert (clean.name, clean.kind, clean.mime) == ("IMG_0001.jpg", "photo", "image/jpeg")
    no_personal_data(data)
    after = Image.open(clean.path)
    assert not after.getexif() and not after.getexif().get_ifd(GPS)
    assert {"exif", "xmp", "comment", "photoshop"}.isdisjoint(after.info)
    assert after.info["icc_profile"] == srgb() and after.info["jfif"]  # colours and density are kept
    # Lossless: from the first table on, the file is the original byte for byte.
    assert from_first(data, b"\xff\xdb") == from_first(original, b"\xff\xdb")
    assert after.tobytes() == before.tobytes()


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_a_jpeg_keeps_its_orientation_and_nothing_else_of_its_exif(tmp_path, orientation):
    clean = scrub(spooled(tmp_path, jpeg_with_everything(orientation)))
    exif = Image.open(clean.path).getexif()
    assert dict(exif) == {ORIENTATION: orientation} and not exif.get_ifd(GPS)
    no_personal_data(clean.path.read_bytes())


def test_what_follows_a_jpegs_end_is_left_out(tmp_path):
    """A second picture (MPO), a phone's "motion photo" video, a vendor trailer."""
    original = jpeg_with_everything(trailer=b"ftypmp42 video of Anna Smith at 52.6369")
    clean = scrub(spooled(tmp_path, original)).path.read_bytes()
    assert clean.endswith(b"\xff\xd9") and b"ftypmp42" not in clean
    no_personal_data(clean)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def test_a_png_loses_its_text_exif_and_time_chunks(tmp_path):
    buf = io.BytesIO()
    picture().save(buf, "PNG", exif=camera_exif())
    original = buf.getvalue()
    at = original.index(b"IDAT") - 4
    extra = (
        png_chunk(b"tEXt", b"Author\x00Anna Smith")
        + png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"Leicester"))
        + png_chunk(b"iTXt", b"Location\x00\x00\x00\x00\x0052.6369,-1.1398")
        + png_chunk(b"tIME", b"\x07\xea\x0c\x07\x0e\x00\x00")
        + png_chunk(b"prVt", b"SN-4711-0815")
    )
    original = original[:at] + extra + original[at:]
    before = Image.open(io.BytesIO(original))
    before.load()
    assert before.getexif().get_ifd(GPS) and before.text
    clean = scrub(spooled(tmp_path, original, mime="image/png", name="map.png"))

    data = clean.path.read_bytes()
    no_personal_data(data)
    for kind in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"prVt"):
        assert kind not in data
    after = Image.open(clean.path)
    after.load()
    assert not after.getexif() and not after.text
    assert from_first(data, b"IDAT") == from_first(original, b"IDAT")
    assert after.tobytes() == before.tobytes()


def test_a_png_keeps_its_orientation(tmp_path):
    buf = io.BytesIO()
    picture().save(buf, "PNG", exif=camera_exif(orientation=6))
    clean = scrub(spooled(tmp_path, buf.getvalue(), mime="image/png"))
    after = Image.open(clean.path)
    after.load()
    assert dict(after.getexif()) == {ORIENTATION: 6}


def test_a_webp_loses_its_exif_and_xmp(tmp_path):
    buf = io.BytesIO()
    picture().save(buf, "WEBP", lossless=True, exif=camera_exif(), xmp=b"<x:xmpmeta>Anna Smith</x:xmpmeta>")
    original = buf.getvalue()
    assert b"EXIF" in original and b"XMP " in original
    clean = scrub(spooled(tmp_path, original, mime="image/webp", name="a.webp"))
    data = clean.path.read_bytes()
    no_personal_data(data)
    assert b"EXIF" not in data and b"XMP " not in data
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    after = Image.open(clean.path)
    assert not after.getexif() and "xmp" not in after.info
    assert after.tobytes() == Image.open(io.BytesIO(original)).tobytes()


def test_a_gif_loses_its_comments_and_keeps_its_animation(tmp_path):
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(
        buf, "GIF", save_all=True, append_images=frames[1:], loop=0, duration=100, comment=b"Anna Smith, Leicester"
    )
    original = buf.getvalue()
    clean = scrub(spooled(tmp_path, original, kind="animation", mime="image/gif", name="wave.gif"))
    data = clean.path.read_bytes()
    no_personal_data(data)
    after = Image.open(clean.path)
    assert after.n_frames == 3 and after.info.get("loop") == 0 and "comment" not in after.info
    assert clean.kind == "animation"


def test_a_tiff_is_re_encoded_without_its_tags(tmp_path):
    buf = io.BytesIO()
    tags = {0x013B: "Anna Smith", 0x010E: "Leicester 52.6369", 0x02BC: b"<x:xmpmeta>SN-4711-0815</x:xmpmeta>"}
    picture().save(buf, "TIFF", tiffinfo=tags)
    original = buf.getvalue()
    assert 0x013B in Image.open(io.BytesIO(original)).getexif()
    clean = scrub(spooled(tmp_path, original, kind="document", mime="image/tiff", name="scan.tif"))
    after = Image.open(clean.path)
    assert after.format == "TIFF" and not set(after.getexif()) & set(tags)
    no_personal_data(clean.path.read_bytes())
    assert after.tobytes() == picture().tobytes()


def test_a_heic_photo_is_re_encoded_without_its_exif(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    picture().save(buf, "HEIF", exif=camera_exif())
    clean = scrub(spooled(tmp_path, buf.getvalue(), kind="document", mime="image/heic", name="IMG_0002.HEIC"))
    after = Image.open(clean.path)
    assert after.format == "HEIF" and not after.getexif().get_ifd(GPS)
    no_personal_data(clean.path.read_bytes())


def test_a_corrupt_image_crosses_as_a_document_without_a_crash(tmp_path):
    corrupt = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(4000)
    clean = scrub(spooled(tmp_path, corrupt))
    assert clean.kind == "document" and clean.name == "IMG_0001.jpg"


def test_a_truncated_photo_crosses_as_a_document_without_its_metadata(tmp_path):
    whole = jpeg_with_everything()
    clean = scrub(spooled(tmp_path, whole[: len(whole) - 300]))
    assert clean.kind == "document"
    data = clean.path.read_bytes()
    no_personal_data(data)
    assert data.startswith(b"\xff\xd8") and b"\xff\xda" in data


def test_a_broken_image_nothing_of_which_can_be_kept_safely_is_not_passed_on(tmp_path):
    file = spooled(tmp_path, b"II*\x00" + b"\xff" * 64 + b"Anna Smith", kind="document", mime="image/tiff")
    with pytest.raises(MediaUnavailable):
        scrub(file)
    assert list(tmp_path.iterdir()) == [file.path]  # no half-written file left behind


def test_what_is_no_image_passes_untouched(tmp_path):
    pdf = b"%PDF-1.7\n" + os.urandom(2000)
    file = spooled(tmp_path, pdf, kind="document", mime="application/pdf", name="plan.pdf")
    assert scrub(file) is file and file.path.read_bytes() == pdf
    text_as_photo = spooled(tmp_path, b"hello", kind="photo")  # a kind says nothing about the bytes
    assert scrub(text_as_photo) is text_as_photo


def box(kind: bytes, *content: bytes) -> bytes:
    body = b"".join(content)
    return struct.pack(">I4s", 8 + len(body), kind) + body


LOCATION = b"+52.6369-001.1398/"


def phone_movie_box() -> bytes:
    """A phone's movie box: its place in QuickTime user data and Apple's metadata keys."""
    keys = box(b"keys", b"\x00" * 8, box(b"mdta", b"com.apple.quicktime.location.ISO6709"))
    ilst = box(b"ilst", box(b"\x00\x00\x00\x01", box(b"data", b"\x00\x00\x00\x01\x00\x00\x00\x00" + LOCATION)))
    return box(
        b"moov",
        box(b"mvhd", b"\x00" * 100),
        box(b"meta", b"\x00" * 4, box(b"hdlr", b"\x00" * 8 + b"mdta" + b"\x00" * 13), keys, ilst),
        box(b"trak", box(b"tkhd", b"\x00" * 84), box(b"udta", box(b"name", b"Anna Smith")), box(b"mdia", b"\x00" * 40)),
        box(b"udta", box(b"\xa9xyz", b"\x00\x12\x15\xc7" + LOCATION), box(b"\xa9mak", b"SN-4711-0815")),
    )


def test_a_video_loses_where_it_was_recorded_and_nothing_else(tmp_path):
    mdat = box(b"mdat", os.urandom(5000))
    xmp = box(b"uuid", bytes.fromhex("be7acfcb97a942e89c71999491e3afac") + b"<x:xmpmeta>Leicester</x:xmpmeta>")
    original = box(b"ftyp", b"qt  \x00\x00\x00\x00qt  ") + box(b"wide") + mdat + phone_movie_box() + xmp
    file = spooled(tmp_path, original, kind="video", mime="video/quicktime", name="IMG_0003.MOV")

    assert scrub(file) is file
    data = file.path.read_bytes()
    assert len(data) == len(original) and LOCATION not in data and b"location" not in data
    no_personal_data(data)
    assert data.index(mdat) == original.index(mdat)  # the media data has not moved
    assert data.count(b"free") == 4 and b"mvhd" in data and b"tkhd" in data and b"mdia" in data


def test_a_50_mb_video_is_never_read_whole(tmp_path):
    path = tmp_path / "m-video"
    with open(path, "wb") as out:
        out.write(box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41"))
        out.write(struct.pack(">I4sQ", 1, b"mdat", 16 + 50 * 1024 * 1024))  # a 64-bit size
        for _ in range(50):
            out.write(os.urandom(1024 * 1024))
        out.write(phone_movie_box())
    file = MediaFile(path=path, name="party.mp4", mime="video/mp4", size=path.stat().st_size, kind="video")
    tracemalloc.start()
    try:
        assert scrub(file) is file
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, peak
    with open(path, "rb") as video:
        video.seek(-len(phone_movie_box()), os.SEEK_END)
        assert LOCATION not in video.read()


def test_a_50_mb_file_of_no_known_kind_passes_untouched_unread(tmp_path):
    path = tmp_path / "m-file"
    with open(path, "wb") as out:
        for _ in range(50):
            out.write(os.urandom(1024 * 1024))
    file = MediaFile(path=path, name="backup.bin", mime="", size=path.stat().st_size, kind="document")
    tracemalloc.start()
    try:
        assert scrub(file) is file
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, peak


def test_a_large_jpeg_is_rewritten_in_pieces(tmp_path):
    """A 24-megapixel photo of noise (about 30 MB): rewritten without holding it whole."""
    noise = Image.frombytes("RGB", (3000, 2000), os.urandom(3000 * 2000 * 3))
    buf = io.BytesIO()
    noise.save(buf, "JPEG", quality=95, exif=camera_exif())
    original = buf.getvalue()
    del noise, buf
    file = spooled(tmp_path, original)
    tracemalloc.start()
    try:
        clean = scrub(file)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    data = clean.path.read_bytes()
    assert from_first(data, b"\xff\xdb") == from_first(original, b"\xff\xdb")
    no_personal_data(data)
    assert peak < 8 * 1024 * 1024, peak


async def test_the_media_source_hands_on_fetched_files_scrubbed(tmp_path):
    """As `twinbridge run` wires it (bridge/runner.py): every fetch is scrubbed, in a thread."""
    from bridge.media.source import MediaSource
    from core.models import Attachment, MessageRef

    class Platform:
        async def fetch(self, attachment, source, directory):
            return spooled(directory, jpeg_with_everything())

    class Counts:
        def __init__(self):
            self.seen: list[str] = []

        async def incr(self, name: str, amount: int = 1) -> None:
            self.seen.append(name)

    stats = Counts()
    media = MediaSource(tmp_path, scrub=scrub, stats=stats)
    media.register("telegram", Platform())
    fetched = await media.fetch(Attachment("photo", "f1"), MessageRef("telegram", "-1001", "7"))
    assert not Image.open(fetched.path).getexif().get_ifd(GPS)
    assert list(tmp_path.iterdir()) == [fetched.path]  # the unscrubbed download is gone
    assert stats.seen == ["media.image_cleaned"]
