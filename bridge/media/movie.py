"""A video's own metadata removed in place: MP4, MOV and 3GP files (ISO base media).

Phones write where a video was recorded into its movie box: QuickTime's ``©xyz`` user data,
Apple's ``com.apple.quicktime.location.ISO6709`` key in the movie's ``meta`` box, with the
make, model, software and creation date beside it; cameras and editors add XMP in ``uuid``
boxes. Those boxes are turned into ``free`` boxes of the same size, their content zeroed: no
other byte moves, so every offset into the media data stays right and the video plays as it
did. Only box headers are read (the file is never read whole); the zeroes are written in
pieces. What is left: the tracks themselves (a timed metadata track's samples, such as a
GoPro's GPS track, are media data).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

from .files import CHUNK

# Boxes whose content is metadata: user data, metadata, vendors' extensions (XMP among them).
_METADATA = frozenset((b"udta", b"meta", b"uuid"))
# Boxes whose children are looked into: the movie and its tracks.
_CONTAINERS = frozenset((b"moov", b"trak"))
# What an ISO base media file may start with (an old QuickTime file has no ftyp).
_FIRST_BOXES = frozenset((b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"))
_IMAGE_BRANDS = frozenset((b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"))
_MAX_DEPTH = 4


def is_movie(path: Path) -> bool:
    """An ISO base media file that is no image (HEIC and AVIF pictures share the layout)."""
    with open(path, "rb") as src:
        head = src.read(12)
    if len(head) < 12 or head[4:8] not in _FIRST_BOXES:
        return False
    return not (head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS)


def strip_movie_metadata(path: Path) -> int:
    """Turn the metadata boxes of the movie at ``path`` into free space; how many were.
    A box structure that does not add up stops the walk where it is (what was found before
    is removed; the rest is left as it was)."""
    with open(path, "r+b") as movie:
        end = movie.seek(0, os.SEEK_END)
        return _walk(movie, 0, end, depth=0)


def _walk(movie: BinaryIO, start: int, end: int, *, depth: int) -> int:
    removed = 0
    at = start
    while at + 8 <= end:
        movie.seek(at)
        size, kind = struct.unpack(">I4s", movie.read(8))
        header = 8
        if size == 1:  # a 64-bit size follows
            raw = movie.read(8)
            if len(raw) < 8:
                break
            (size,) = struct.unpack(">Q", raw)
            header = 16
        elif size == 0:  # up to the end of the file (or of the container)
            size = end - at
        if size < header or at + size > end:
            break
        if kind in _METADATA:
            _free(movie, at, size, header)
            removed += 1
        elif kind in _CONTAINERS and depth < _MAX_DEPTH:
            removed += _walk(movie, at + header, at + size, depth=depth + 1)
        at += size
    return removed


def _free(movie: BinaryIO, at: int, size: int, header: int) -> None:
    movie.seek(at + 4)
    movie.write(b"free")
    movie.seek(at + header)
    left = size - header
    zeros = bytes(min(CHUNK, left))
    while left > 0:
        piece = min(len(zeros), left)
        movie.write(zeros[:piece])
        left -= piece
