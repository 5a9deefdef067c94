"""bridge/media/voice.py: a voice message's length and waveform from its Ogg Opus file."""

from __future__ import annotations

from bridge.media.voice import MAX_WAVEFORM, packet_seconds, voice_shape
from sandbox.opus import ogg_opus


def test_a_packet_s_length_comes_from_its_toc_byte():
    assert packet_seconds(bytes([0xF8])) == 0.020  # CELT 20 ms, one frame
    assert packet_seconds(bytes([(1 << 3) | 1, 0])) == 0.040  # SILK 20 ms, two frames
    assert packet_seconds(bytes([(16 << 3) | 3, 4])) == 0.010  # CELT 2.5 ms, code 3: four frames
    assert packet_seconds(b"") == 0.0


def test_length_and_waveform_follow_the_recording(tmp_path):
    path = tmp_path / "v.ogg"
    path.write_bytes(ogg_opus(6.0, loudness=lambda t: 1.0 if 2 <= t < 4 else 0.0))
    shape = voice_shape(path)
    assert shape is not None and shape.duration == 6.0
    assert len(shape.waveform) == 60
    assert set(shape.waveform[:19]) == {0} and set(shape.waveform[21:39]) == {255} and set(shape.waveform[41:]) == {0}


def test_a_long_recording_has_256_samples(tmp_path):
    path = tmp_path / "long.ogg"
    path.write_bytes(ogg_opus(40.0))
    shape = voice_shape(path)
    assert shape is not None and len(shape.waveform) == MAX_WAVEFORM and shape.duration == 40.0


def test_what_is_not_ogg_opus_has_no_shape(tmp_path):
    path = tmp_path / "x.ogg"
    for data in (b"", b"OggS\x00\x02" + bytes(3000), b"ID3" + bytes(100)):
        path.write_bytes(data)
        assert voice_shape(path) is None
