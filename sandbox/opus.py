"""Ogg Opus recordings for the stand-ins and tests, built without an encoder.

A real Ogg Opus stream (RFC 7845): an OpusHead page, an OpusTags page, then audio pages
of 20 ms CELT packets (TOC byte 0xF8: configuration 31, one frame) with their granule
positions, written with mutagen's Ogg pages (CRCs and lacing right). The packets' bytes
are not decodable sound, but their sizes follow ``loudness`` as an encoder's do: a few
bytes for silence, more for sound; what the bridge reads of a voice message (length,
packet sizes) is exactly what a real recording gives.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable

from mutagen.ogg import OggPage

SAMPLE_RATE = 48000
PRE_SKIP = 312
PACKET_MS = 20
TOC_CELT_20MS = 0xF8


def ogg_opus(seconds: float = 3.0, loudness: Callable[[float], float] | None = None, serial: int = 0x7B1D) -> bytes:
    """A mono Ogg Opus file of ``seconds``; ``loudness(t)`` (0..1, t in seconds) sets how
    many bytes each packet takes (default: a rising then falling tone)."""
    shape = loudness or (lambda t: 1.0 - abs(2 * t / seconds - 1))
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, PRE_SKIP, SAMPLE_RATE, 0, 0)
    vendor = b"twinbridge sandbox"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    packets = []
    for n in range(round(seconds * 1000 / PACKET_MS)):
        level = max(0.0, min(1.0, shape(n * PACKET_MS / 1000)))
        packets.append(bytes([TOC_CELT_20MS]) + os.urandom(2 + round(level * 160)))
    out = io.BytesIO()
    pages = []
    for sequence, (packet, flags) in enumerate(((head, 0x02), (tags, 0))):
        page = OggPage()
        page.packets = [packet]
        page.position = 0
        page.serial = serial
        page.sequence = sequence
        page.first = bool(flags & 0x02)
        pages.append(page)
    per_page = 50  # one second per page
    for start in range(0, len(packets), per_page):
        page = OggPage()
        page.packets = packets[start : start + per_page]
        page.position = PRE_SKIP + (start + len(page.packets)) * SAMPLE_RATE * PACKET_MS // 1000
        page.serial = serial
        page.sequence = len(pages)
        pages.append(page)
    pages[-1].last = True
    for page in pages:
        out.write(page.write())
    return out.getvalue()
