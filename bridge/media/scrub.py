"""Image metadata removed before any file crosses the bridge, under every policy.

A photo's EXIF says where it was taken (GPS), with which camera (serial number) and when;
XMP, IPTC, comments and PNG text chunks can name the photographer or the place. None of it
crosses. Every fetched file is looked at, whatever the member sent it as (a photo sent "as a
file" keeps all its metadata on both platforms):

- JPEG, PNG, WebP and GIF are rewritten losslessly, metadata segment by segment: the pixels'
  bytes are copied unchanged, only what is not needed to show the picture is left out (JPEG:
  every APPn segment but JFIF, the ICC profile and Adobe's colour transform, every comment, and
  whatever follows the end of the image (a second MPO picture, a phone's "motion photo" video);
  PNG: every chunk but the image's and its colour's; WebP: EXIF, XMP and unknown chunks; GIF:
  comments and application blocks but the loop count).
- Other images Pillow can read and write (TIFF, HEIC with pillow-heif, AVIF) are re-encoded
  from their pixels, upright, with the ICC profile only.
- The EXIF orientation is kept (an EXIF of that one tag), so a photo taken upright is shown
  upright; nothing else of the EXIF is.
- An image Pillow cannot read (corrupt, truncated, over Pillow's pixel limit) crosses as a
  document holding only what the segment walker recognised before the damage; a broken image
  of another format (nothing of which can be kept safely) is not passed on (MediaUnavailable:
  the destination is told the file could not be passed on).
- MP4, MOV and 3GP videos lose their user data, metadata and XMP boxes in place (where the
  phone recorded them, its make and model: bridge/media/movie.py); no other byte changes.
- MP3, FLAC and Ogg files (voice messages too) lose their tags through mutagen, WebM and
  Matroska their Tags, title and recording date in place (bridge/media/tags.py); the audio
  and video bytes stay as they were.
- Anything else passes untouched and is never read whole: Pillow identifies a file from its
  first bytes.

The result is checked: it must open as the same image (same size), else the picture is
re-encoded instead. Synchronous (Pillow, file I/O): MediaSource runs it in a thread.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import tempfile
import warnings
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from .files import CHUNK, MediaFile, MediaUnavailable
from .movie import is_movie, strip_movie_metadata
from .tags import strip_tags

try:  # HEIC/HEIF (iPhones' photos sent as files): optional, Pillow cannot read them alone
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - installed with twinbridge
    pass

log = logging.getLogger(__name__)

ORIENTATION = 0x0112
# What Pillow is asked to recognise: the images that carry metadata worth removing. Only
# their plugins look at a file's first bytes, so an unrelated file is never mistaken for,
# say, a headerless TGA picture.
_WANTED = ("JPEG", "MPO", "PNG", "WEBP", "GIF", "TIFF", "HEIF", "AVIF")
# The first bytes of images, to tell a corrupt image (crosses as a document, its metadata
# removed as far as it can be found) from a file that is no image at all (untouched).
_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


class _Broken(Exception):
    """The file's structure is not what its format says (truncated, a bad length)."""


def scrub(file: MediaFile) -> MediaFile:
    """``file`` without image metadata (a new file; ``file`` is discarded), or ``file``
    itself when it is no image. MediaUnavailable for a broken image none of which can be
    passed on safely."""
    identified = _identify(file.path)
    if identified is None:
        if is_movie(file.path):
            strip_movie_metadata(file.path)  # in place: the same file, the same size
        elif strip_tags(file.path):  # audio and WebM/Matroska tags (bridge/media/tags.py)
            return replace(file, size=file.path.stat().st_size)
        return file
    fmt, orientation, size, readable = identified
    out_path = _new_path(file.path)
    try:
        written, kind = fmt, file.kind
        if readable:
            try:
                written = _rewritten(file.path, out_path, fmt, orientation, size)
            except _PILLOW_ERRORS:  # a header Pillow read, pixels it cannot (a truncated photo)
                readable = False
        if not readable:
            # Pillow cannot show it: sent as a file, holding only what the walker copied
            # (what it recognised) before the damage.
            if not _walk(file.path, out_path, fmt, orientation, salvage=True):
                raise MediaUnavailable("a broken image whose metadata cannot be removed")
            written, kind = fmt, "document"
    except BaseException:
        _remove(out_path)
        raise
    mime = file.mime if written == fmt or fmt == "MPO" else Image.MIME.get(written, file.mime)
    file.discard()
    return replace(file, path=out_path, size=out_path.stat().st_size, kind=kind, mime=mime)


STICKER_SIDE = 160  # Discord shows its own stickers at 160 px: a sticker's picture as small


def shrink_sticker(file: MediaFile, side: int = STICKER_SIDE) -> MediaFile:
    """A sticker's picture (already scrubbed) at most ``side`` pixels a side, as a WebP with
    no metadata (transparency kept); ``file`` itself when it is small already or no picture
    Pillow can read (then it goes as it is). A small one keeps its bytes, its type read from them."""
    try:
        with Image.open(file.path) as img:
            if max(img.size) <= side:  # named by what it is (a thumbnail comes without a type)
                return replace(file, mime=Image.MIME.get(img.format or "", file.mime))
            img.seek(0)  # an animated picture's first frame
            small = ImageOps.contain(img.convert("RGBA"), (side, side))
    except _PILLOW_ERRORS + (UnidentifiedImageError,):
        return file
    out_path = _new_path(file.path)
    try:
        small.save(out_path, "WEBP", lossless=True)
    except BaseException:
        _remove(out_path)
        raise
    file.discard()
    return replace(file, path=out_path, size=out_path.stat().st_size, mime="image/webp")


# What Pillow raises for a file it recognised but cannot read.
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError, Image.DecompressionBombError)


def _identify(path: Path) -> tuple[str, int, tuple[int, int], bool] | None:
    """(format, EXIF orientation (1: none), pixel size, whether Pillow reads it) of an image;
    None for a file that is no image. Reads the header only."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a large image's DecompressionBombWarning is not news here
            with Image.open(path, formats=_formats()) as img:
                fmt, size = img.format or "", img.size
                try:
                    orientation = img.getexif().get(ORIENTATION, 1)
                except _PILLOW_ERRORS:  # a broken EXIF: left out anyway, the picture as stored
                    orientation = 1
    except UnidentifiedImageError:  # no image, or one whose header Pillow cannot parse
        sniffed = _sniff(path)
        return (sniffed, 1, (0, 0), False) if sniffed else None
    except _PILLOW_ERRORS:
        return (_sniff(path) or "", 1, (0, 0), False)
    return fmt, orientation if orientation in range(2, 9) else 1, size, True


def _formats() -> tuple[str, ...]:
    # Pillow registers its formats on first use: in a fresh process (`twinbridge run`)
    # Image.OPEN is empty until then, and every photo would pass for a broken image.
    Image.init()
    return tuple(f for f in _WANTED if f in Image.OPEN)


def _sniff(path: Path) -> str | None:
    with open(path, "rb") as src:
        head = src.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for magic, fmt in _MAGIC if head.startswith(magic)), None)


def _rewritten(path: Path, out_path: Path, fmt: str, orientation: int, size: tuple[int, int]) -> str:
    """Write the image without metadata to ``out_path``; the format written."""
    if fmt in _WALKERS:
        try:
            _walk(path, out_path, fmt, orientation)
            if _opens_as(out_path, size):
                return fmt
        except _Broken:
            pass
        log.info("image metadata: %s not rewritable segment by segment; re-encoding it", fmt)
    return _reencode(path, out_path)


def _walk(path: Path, out_path: Path, fmt: str, orientation: int, *, salvage: bool = False) -> bool:
    """Copy the image without its metadata. Salvaging a broken image, a structural error
    ends the copy where it is (what was written is what the walker recognised); False when
    nothing of the picture could be copied."""
    walker = _WALKERS.get(fmt)
    if walker is None:
        return False
    with open(path, "rb") as src, open(out_path, "w+b") as out:
        try:
            walker(src, out, orientation)
        except (_Broken, struct.error):
            if not salvage:
                raise _Broken from None
        return out.tell() > _SIGNATURE_LENGTH.get(fmt, 0)


_SIGNATURE_LENGTH = {"JPEG": 2, "MPO": 2, "PNG": 8, "WEBP": 12, "GIF": 13}


def _opens_as(path: Path, size: tuple[int, int]) -> bool:
    """Whether the rewritten file opens as an image of ``size`` and its pixels decode (a
    JPEG at an eighth of its size: the whole of its entropy-coded data is still read)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path, formats=_formats()) as img:
                if img.size != size:
                    return False
                if img.format in ("JPEG", "MPO"):
                    img.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))
                    img.load()
                else:
                    img.verify()
        return True
    except Exception:  # noqa: BLE001 - whatever Pillow raises, the rewrite is not used
        return False


# -- re-encoding -------------------------------------------------------------------------


def _reencode(path: Path, out_path: Path) -> str:
    """The picture's pixels, upright, in a new file of its format (PNG where Pillow cannot
    write that format), with its ICC profile and nothing else; the format written."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path, formats=_formats()) as img:
            fmt = img.format or "PNG"
            icc = img.info.get("icc_profile")
            upright = ImageOps.exif_transpose(img)
            clean = upright.copy()  # a plain Image: no EXIF, no TIFF tags, no text
            clean.info = {}
    target = fmt if fmt in Image.SAVE and fmt not in ("MPO",) else "PNG"
    if target == "JPEG" and clean.mode not in ("RGB", "L", "CMYK"):
        clean = clean.convert("RGB")
    options: dict[str, object] = {"icc_profile": icc} if icc else {}
    if target == "TIFF":
        options["compression"] = "tiff_lzw"
    elif target in ("JPEG", "WEBP", "HEIF", "AVIF"):
        options["quality"] = 92
    clean.save(out_path, format=target, **options)
    return target


# -- segment walkers: copy what shows the picture, leave out the rest --------------------


def _copy(src: BinaryIO, out: BinaryIO, count: int) -> None:
    while count > 0:
        piece = src.read(min(CHUNK, count))
        if not piece:
            raise _Broken
        out.write(piece)
        count -= len(piece)


def _read(src: BinaryIO, count: int) -> bytes:
    data = src.read(count)
    if len(data) != count:
        raise _Broken
    return data


def _skip(src: BinaryIO, count: int) -> None:
    here = src.tell()
    end = src.seek(0, os.SEEK_END)
    if here + count > end:
        raise _Broken
    src.seek(here + count)


def _orientation_exif(orientation: int) -> bytes:
    """A TIFF-structured EXIF of the one Orientation tag (no "Exif\\0\\0" prefix)."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif.tobytes().removeprefix(b"Exif\x00\x00")


# JPEG: APP0 "JFIF" (pixel density), APP2 "ICC_PROFILE" (colours), APP14 "Adobe" (how CMYK
# and YCCK pictures are decoded) are kept; every other APPn and COM is metadata.
_JPEG_KEPT_APPS = {0xE0: (b"JFIF\x00",), 0xE2: (b"ICC_PROFILE\x00",), 0xEE: (b"Adobe",)}
# In entropy-coded data, 0xFF starts a marker unless a 0x00 (a stuffed byte), a restart
# marker (RSTn, part of the scan) or another 0xFF (fill) follows.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _strip_jpeg(src: BinaryIO, out: BinaryIO, orientation: int) -> None:
    if _read(src, 2) != b"\xff\xd8":
        raise _Broken
    out.write(b"\xff\xd8")
    exif_written = False
    while True:
        marker = _next_marker(src)
        if marker == 0xD9:  # EOI: what follows (another picture, a video, a vendor trailer) is left out
            out.write(b"\xff\xd9")
            return
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):  # no length
            out.write(bytes((0xFF, marker)))
            continue
        (length,) = struct.unpack(">H", _read(src, 2))
        if length < 2:
            raise _Broken
        body = length - 2
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            head = _read(src, min(body, 14))
            if any(head.startswith(sig) for sig in _JPEG_KEPT_APPS.get(marker, ())):
                out.write(bytes((0xFF, marker)) + struct.pack(">H", length) + head)
                _copy(src, out, body - len(head))
            else:
                if marker == 0xE1 and head.startswith(b"Exif\x00\x00") and orientation != 1 and not exif_written:
                    payload = b"Exif\x00\x00" + _orientation_exif(orientation)
                    out.write(b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload)
                    exif_written = True
                _skip(src, body - len(head))
            continue
        out.write(bytes((0xFF, marker)) + struct.pack(">H", length))
        _copy(src, out, body)
        if marker == 0xDA:  # SOS: the scan's entropy-coded data runs up to the next marker
            _copy_scan(src, out)


def _next_marker(src: BinaryIO) -> int:
    if _read(src, 1) != b"\xff":
        raise _Broken
    byte = _read(src, 1)[0]
    while byte == 0xFF:  # fill bytes
        byte = _read(src, 1)[0]
    return byte


def _copy_scan(src: BinaryIO, out: BinaryIO) -> None:
    """Copy entropy-coded data up to (not including) the next marker, in pieces."""
    start = src.tell()
    carry = b""
    while True:
        piece = src.read(CHUNK)
        if not piece:
            raise _Broken
        data = carry + piece
        found = _JPEG_MARKER.search(data)
        if found is None:
            keep = len(data) - 1 if data.endswith(b"\xff") else len(data)  # a marker may straddle the pieces
            out.write(data[:keep])
            start += keep
            carry = data[keep:]
            continue
        out.write(data[: found.start()])
        src.seek(start + found.start())
        return


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What shows a PNG (or an APNG): the image, its palette and transparency, its colours
# (ICC profile, gamma, chromaticities, HDR), pixel density and the animation. Everything
# else ancillary (tEXt, iTXt, zTXt, eXIf, tIME, vendors' private chunks) is left out.
_PNG_KEPT = frozenset(
    b"IHDR PLTE IDAT IEND tRNS cHRM gAMA iCCP sBIT sRGB cICP mDCV cLLI bKGD hIST pHYs sPLT acTL fcTL fdAT".split()
)


def _strip_png(src: BinaryIO, out: BinaryIO, orientation: int) -> None:
    if _read(src, 8) != _PNG_SIGNATURE:
        raise _Broken
    out.write(_PNG_SIGNATURE)
    while True:
        head = _read(src, 8)
        length, kind = struct.unpack(">I4s", head)
        if length > 2**31 - 1:
            raise _Broken
        critical = kind[:1].isupper()
        if kind in _PNG_KEPT or (critical and kind != b"eXIf"):
            out.write(head)
            _copy(src, out, length + 4)  # the data and its CRC
        else:
            if kind == b"eXIf" and orientation != 1:
                data = _orientation_exif(orientation)
                out.write(struct.pack(">I4s", len(data), b"eXIf") + data)
                out.write(struct.pack(">I", _crc(b"eXIf" + data)))
            _skip(src, length + 4)
        if kind == b"IEND":
            return


def _crc(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


# WebP (RIFF): the bitstreams, alpha, animation and ICC profile are kept; EXIF, XMP and
# unknown chunks are left out, and VP8X's flags say so.
_WEBP_KEPT = frozenset((b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"))
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _strip_webp(src: BinaryIO, out: BinaryIO, orientation: int) -> None:
    riff, declared, webp = struct.unpack("<4sI4s", _read(src, 12))
    if riff != b"RIFF" or webp != b"WEBP":
        raise _Broken
    end = 8 + declared
    out.write(b"RIFF\x00\x00\x00\x00WEBP")  # the size is written at the end
    vp8x_at = None
    while src.tell() < end:
        head = src.read(8)
        if len(head) < 8:
            break  # a RIFF size larger than the file: what is there is all
        kind, length = struct.unpack("<4sI", head)
        padded = length + (length & 1)
        if kind in _WEBP_KEPT:
            if kind == b"VP8X":
                vp8x_at = out.tell()
            out.write(head)
            _copy(src, out, padded)
        else:
            _skip(src, padded)
    if vp8x_at is not None:
        flags_at = vp8x_at + 8
        out.seek(flags_at)
        flags = out.read(1)[0]
        flags &= ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF
        if orientation != 1:
            flags |= _VP8X_EXIF
        out.seek(flags_at)
        out.write(bytes((flags,)))
        out.seek(0, os.SEEK_END)
        if orientation != 1:
            data = _orientation_exif(orientation)
            out.write(struct.pack("<4sI", b"EXIF", len(data)) + data + b"\x00" * (len(data) & 1))
    total = out.tell()
    out.seek(4)
    out.write(struct.pack("<I", total - 8))
    out.seek(0, os.SEEK_END)


# GIF: the loop count (NETSCAPE2.0, ANIMEXTS1.0), frame timing and plain-text frames are
# kept; comments and other application blocks (XMP, ICC, vendors') are left out.
_GIF_KEPT_APPS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")


def _strip_gif(src: BinaryIO, out: BinaryIO, orientation: int) -> None:
    header = _read(src, 13)
    if header[:6] not in (b"GIF87a", b"GIF89a"):
        raise _Broken
    out.write(header)
    if header[10] & 0x80:
        _copy(src, out, 3 * 2 ** ((header[10] & 7) + 1))
    while True:
        block = _read(src, 1)[0]
        if block == 0x3B:  # trailer: anything after it is left out
            out.write(b"\x3b")
            return
        if block == 0x2C:  # an image: descriptor, local colour table, LZW code size, data
            descriptor = _read(src, 9)
            out.write(b"\x2c" + descriptor)
            if descriptor[8] & 0x80:
                _copy(src, out, 3 * 2 ** ((descriptor[8] & 7) + 1))
            out.write(_read(src, 1))
            _sub_blocks(src, out)
        elif block == 0x21:
            label = _read(src, 1)[0]
            if label in (0xF9, 0x01):  # graphic control, plain text
                out.write(bytes((0x21, label)))
                _sub_blocks(src, out)
            elif label == 0xFF:
                size = _read(src, 1)[0]
                ident = _read(src, size)
                if ident[:11] in _GIF_KEPT_APPS:
                    out.write(bytes((0x21, 0xFF, size)) + ident)
                    _sub_blocks(src, out)
                else:
                    _sub_blocks(src, None)
            else:  # comments and unknown extensions
                _sub_blocks(src, None)
        else:
            raise _Broken


def _sub_blocks(src: BinaryIO, out: BinaryIO | None) -> None:
    while True:
        size = _read(src, 1)[0]
        if out is not None:
            out.write(bytes((size,)))
        if size == 0:
            return
        if out is None:
            _skip(src, size)
        else:
            _copy(src, out, size)


_WALKERS: dict[str, Callable[[BinaryIO, BinaryIO, int], None]] = {
    "JPEG": _strip_jpeg,
    "MPO": _strip_jpeg,  # the first picture only: the others follow its end of image
    "PNG": _strip_png,
    "WEBP": _strip_webp,
    "GIF": _strip_gif,
}


def _new_path(beside: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=beside.parent, prefix="s-")
    os.close(fd)
    return Path(name)


def _remove(path: Path) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
