"""What a Discord voice message needs besides its file: its length and a waveform.

Discord shows a voice message (message flag IS_VOICE_MESSAGE) only for one Ogg Opus file
whose attachment carries ``duration_secs`` and ``waveform`` (base64 of up to 256 bytes,
each an amplitude 0-255). Both are read here from the Ogg Opus file without decoding the
audio: mutagen reads the Opus headers (a file that is not Ogg Opus is no voice message) and
the length (last granule position less the pre-skip), and walks the Ogg pages one at a
time (never the whole file in memory). The waveform is approximated from the sizes of the
Opus packets: the encoder spends more bytes on sound than on silence (a packet of silence
is a few bytes), so the bytes per second of each slice of time, scaled between the
quietest and the loudest slice, draw the outline of the recording. Each packet's length
in time is read from its first byte (RFC 6716, section 3.1: the TOC byte's configuration
gives the frame size, its code the number of frames).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from pathlib import Path

from mutagen import MutagenError
from mutagen.ogg import OggPage
from mutagen.oggopus import OggOpus

MAX_WAVEFORM = 256  # Discord's limit of waveform samples
SAMPLES_PER_SECOND = 10  # as Discord's clients draw it: one bar per 100 ms, 256 at most

# Frame sizes in ms by TOC configuration (RFC 6716 3.1): SILK 0-11, hybrid 12-15, CELT 16-31.
_SILK = (10.0, 20.0, 40.0, 60.0)
_HYBRID = (10.0, 20.0)
_CELT = (2.5, 5.0, 10.0, 20.0)


@dataclass(frozen=True)
class VoiceShape:
    """A voice message's length in seconds and its waveform (at most 256 amplitudes)."""

    duration: float
    waveform: bytes

    @property
    def waveform_b64(self) -> str:
        return base64.b64encode(self.waveform).decode("ascii")


def packet_seconds(packet: bytes) -> float:
    """The length of one Opus packet in seconds, from its TOC byte (0 for an empty packet
    or a code 3 packet without its frame count byte)."""
    if not packet:
        return 0.0
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        frame = _SILK[config % 4]
    elif config < 16:
        frame = _HYBRID[config % 2]
    else:
        frame = _CELT[config % 4]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = packet[1] & 0x3F if len(packet) > 1 else 0
    return frame * frames / 1000.0


def _packets(path: Path):
    """(first two bytes, length) of every packet of the file's first Ogg stream, page by
    page; a packet continued over pages counts once, with its whole length."""
    serial = None
    head = b""
    length = -1  # no packet begun yet
    with open(path, "rb") as fileobj:
        while True:
            try:
                page = OggPage(fileobj)
            except EOFError:
                break
            if serial is None:
                serial = page.serial
            if page.serial != serial:
                continue
            for index, data in enumerate(page.packets):
                if index == 0 and page.continued and length >= 0:
                    head = (head + data[:2])[:2]
                    length += len(data)
                    continue
                if length >= 0:
                    yield head, length
                head, length = data[:2], len(data)
    if length >= 0:
        yield head, length


def voice_shape(path: Path) -> VoiceShape | None:
    """The length and waveform of an Ogg Opus file; None when it is not one (or is empty,
    or broken): such a file crosses as an audio file instead."""
    try:
        info = OggOpus(path).info
        duration = float(info.length)
        if not math.isfinite(duration) or duration <= 0:
            return None
        samples = max(1, min(MAX_WAVEFORM, round(duration * SAMPLES_PER_SECOND)))
        weight = [0.0] * samples  # bytes spent in each slice
        time_in = [0.0] * samples  # seconds of packets in each slice
        clock = 0.0
        for number, (head, length) in enumerate(_packets(path)):
            if number < 2:  # OpusHead and OpusTags
                continue
            seconds = packet_seconds(head) or 0.02
            slot = min(samples - 1, int((clock + seconds / 2) / duration * samples))
            weight[slot] += length
            time_in[slot] += seconds
            clock += seconds
    except (MutagenError, OSError, ValueError, IndexError, ZeroDivisionError):
        return None
    rates = [w / t if t > 0 else 0.0 for w, t in zip(weight, time_in, strict=True)]
    low, high = min(rates), max(rates)
    if high <= 0:
        waveform = bytes(samples)
    elif high - low < 1e-9:
        waveform = bytes([128]) * samples
    else:
        waveform = bytes(round(255 * (r - low) / (high - low)) for r in rates)
    return VoiceShape(duration=round(duration, 3), waveform=waveform)
