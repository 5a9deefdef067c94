"""Audio and video tags removed before a file crosses (issue 15), as images' metadata is
(bridge/media/scrub.py calls :func:`strip_tags` for every file that is no image).

A recording's tags can say who made it, where and when: an MP3's ID3 (title, artist, a
comment, a cover picture, a phone's location), a voice memo's or a FLAC's Vorbis comments,
an Opus file's OpusTags, a WebM's or Matroska's Tags and its title and recording date.

- MP3 (ID3v1, ID3v2 and APEv2 tags), FLAC (Vorbis comments and pictures) and Ogg (Vorbis,
  Opus, Speex, FLAC in Ogg: the comment header emptied, the vendor string that decoders
  need kept) go through mutagen, which rewrites the tags only: the audio frames' bytes
  are copied as they were (an Ogg file's pages around them get new checksums).
- WebM and Matroska are changed in place, no byte moves: the Tags elements and Info's Title
  and DateUTC become EBML Void elements of the same size (zeroed), which players skip, so
  every offset (SeekHead, Cues) stays right and a streamed file still plays. MuxingApp and
  WritingApp stay: Matroska requires them, and they name software, not people. Only element
  headers are read, never the file whole.
- MP4 and M4A audio: their iTunes tags live in the movie's ``udta``/``meta`` boxes, which
  bridge/media/movie.py frees already.

A file whose structure does not add up keeps what could not be reached (what was found
before is removed); a file mutagen cannot read is left as it was. Synchronous: MediaSource
runs it in a thread, with the rest of scrub.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import BinaryIO

from mutagen import MutagenError
from mutagen import File as MutagenFile
from mutagen.apev2 import delete as delete_apev2
from mutagen.flac import FLAC
from mutagen.id3 import delete as delete_id3

from .files import CHUNK

log = logging.getLogger(__name__)

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
SEGMENT, INFO, CLUSTER = 0x18538067, 0x1549A966, 0x1F43B675
TAGS, TITLE, DATE_UTC = 0x1254C367, 0x7BA9, 0x4461
VOID = 0xEC
_VOIDED = frozenset((TAGS, TITLE, DATE_UTC))
# Elements walked into (their children read); any other with a known size is stepped over.
# An element of unknown size (a live recording's Segment and Clusters) is walked into too:
# its children follow it as if they were its siblings.
_ENTERED = frozenset((SEGMENT, INFO))
_MAX_ELEMENTS = 1_000_000  # a hostile file of tiny elements: the walk ends, what it found is gone


def strip_tags(path: Path) -> bool:
    """Remove the tags of the audio or video file at ``path`` (in place, or rewritten by
    mutagen); True when it was such a file (tags found or not)."""
    with open(path, "rb") as head_file:
        head = head_file.read(4)
    if head == EBML_MAGIC:
        return _strip_matroska(path) >= 0
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return _strip_mp3(path)
    if head == b"fLaC":
        return _strip_flac(path)
    if head == b"OggS":
        return _strip_ogg(path)
    return False


# -- mutagen ---------------------------------------------------------------------------------


def _strip_mp3(path: Path) -> bool:
    try:
        delete_id3(path)  # ID3v2 at the start and ID3v1 at the end
        delete_apev2(path)
    except (MutagenError, OSError) as exc:
        log.info("an MP3's tags could not be removed (%s)", exc.__class__.__name__)
    return True


def _strip_flac(path: Path) -> bool:
    try:
        flac = FLAC(path)
        flac.clear_pictures()
        if flac.tags is not None:
            flac.tags.clear()
        flac.save(deleteid3=True)
    except (MutagenError, OSError) as exc:
        log.info("a FLAC file's tags could not be removed (%s)", exc.__class__.__name__)
    return True


def _strip_ogg(path: Path) -> bool:
    try:
        ogg = MutagenFile(path)
        if ogg is None:
            return False
        if ogg.tags is not None:
            ogg.tags.clear()  # the comment header stays (decoders need it), empty
            ogg.save()
    except (MutagenError, OSError) as exc:
        log.info("an Ogg file's tags could not be removed (%s)", exc.__class__.__name__)
    return True


# -- Matroska / WebM -------------------------------------------------------------------------


class _Malformed(Exception):
    pass


def _strip_matroska(path: Path) -> int:
    """Void the Tags, Title and DateUTC elements; how many were."""
    voided = 0
    with open(path, "r+b") as movie:
        end = movie.seek(0, os.SEEK_END)
        at = 0
        try:
            for _ in range(_MAX_ELEMENTS):
                if at >= end:
                    break
                element, header, size = _element_at(movie, at, end)
                if size is None or element in _ENTERED:
                    at += header  # walk into it: its children come next
                    continue
                if at + header + size > end:
                    break  # truncated: the rest is left as it is
                if element in _VOIDED:
                    _void(movie, at, header + size)
                    voided += 1
                at += header + size
        except _Malformed:
            pass  # what was found before stays removed
    return voided


def _element_at(movie: BinaryIO, at: int, end: int) -> tuple[int, int, int | None]:
    """(element id, header length, data size or None for "unknown") of the element at ``at``."""
    movie.seek(at)
    raw = movie.read(12)
    if not raw:
        raise _Malformed()
    id_length = _vint_length(raw[0])
    if id_length > 4 or len(raw) < id_length + 1:
        raise _Malformed()
    element = int.from_bytes(raw[:id_length], "big")
    size_length = _vint_length(raw[id_length])
    if size_length > 8 or len(raw) < id_length + size_length:
        raise _Malformed()
    size_bytes = raw[id_length : id_length + size_length]
    value = int.from_bytes(size_bytes, "big") & ((1 << (7 * size_length)) - 1)
    unknown = value == (1 << (7 * size_length)) - 1
    return element, id_length + size_length, None if unknown else value


def _vint_length(first: int) -> int:
    for length in range(1, 9):
        if first & (0x80 >> (length - 1)):
            return length
    return 9  # 0x00: no valid length


def _void(movie: BinaryIO, at: int, total: int) -> None:
    """Overwrite the ``total`` bytes at ``at`` with one EBML Void element of that length."""
    if total - 2 <= 126:
        header = bytes((VOID, 0x80 | (total - 2)))
    else:  # an 8-byte size: 0x01 then 7 bytes of value
        header = bytes((VOID,)) + (1 << 56 | (total - 9)).to_bytes(8, "big")
    movie.seek(at)
    movie.write(header)
    left = total - len(header)
    zeros = bytes(min(CHUNK, max(left, 0)))
    while left > 0:
        piece = min(len(zeros), left)
        movie.write(zeros[:piece])
        left -= piece
