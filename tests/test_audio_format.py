"""AudioFormat and the sample-level codecs of rxdeepgram.audio (G.711, PCM widths, channels)."""

from __future__ import annotations

import dataclasses
import struct
import subprocess
import sys
import warnings
from array import array

import pytest

from rxdeepgram.audio import (
    AudioFormat,
    alaw_decode,
    alaw_encode,
    mulaw_decode,
    mulaw_encode,
)
from rxdeepgram.audio._pcm import convert_channels, float_to_pcm16, pcm_to_pcm16


def pcm(*samples: int) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def unpcm(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 2}h", data))


# --- AudioFormat ---------------------------------------------------------------------------


def test_sizes_and_durations() -> None:
    fmt = AudioFormat("linear16", 16000)
    assert (fmt.sample_width, fmt.frame_bytes, fmt.bytes_per_second) == (2, 2, 32000)
    assert fmt.bytes_for(20) == 640
    assert fmt.duration(32000) == 1.0
    assert fmt.duration(640) == 0.02
    stereo = AudioFormat("linear16", 48000, 2)
    assert (stereo.frame_bytes, stereo.bytes_per_second, stereo.bytes_for(10)) == (4, 192000, 1920)
    mulaw = AudioFormat("mulaw", 8000)
    assert (mulaw.frame_bytes, mulaw.bytes_for(20), mulaw.duration(8000)) == (1, 160, 1.0)


def test_bytes_for_is_whole_frames_nearest_to_the_duration() -> None:
    fmt = AudioFormat("linear16", 22050, 2)
    assert fmt.bytes_for(10) == 220 * 4  # 220.5 frames: the nearest whole number
    assert fmt.bytes_for(10) % fmt.frame_bytes == 0
    assert AudioFormat("linear16", 8000).bytes_for(0.01) == 2  # never less than one frame
    assert fmt.frames_for(1000) == 22050


@pytest.mark.parametrize("ms", [0, -5, float("nan"), float("inf")])
def test_bytes_for_rejects_a_duration_that_is_not_positive(ms: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        AudioFormat("linear16", 16000).bytes_for(ms)


def test_options_are_ready_for_connect() -> None:
    assert AudioFormat("linear16", 16000).options() == {
        "encoding": "linear16",
        "sample_rate": 16000,
    }
    assert AudioFormat("mulaw", 8000, 2).options() == {
        "encoding": "mulaw",
        "sample_rate": 8000,
        "channels": 2,
    }


def test_is_frozen_hashable_and_prints_well() -> None:
    fmt = AudioFormat("alaw", 8000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fmt.sample_rate = 16000  # type: ignore[misc]
    assert {fmt, AudioFormat("alaw", 8000)} == {fmt}
    assert dataclasses.replace(fmt, encoding="linear16") == AudioFormat("linear16", 8000, 1)
    assert str(fmt) == "alaw 8000 Hz mono"
    assert str(AudioFormat("linear16", 48000, 2)) == "linear16 48000 Hz stereo"


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("opus", 48000, 1), ValueError, "unsupported audio encoding 'opus'"),
        (("linear16", 0, 1), ValueError, "sample_rate must be positive"),
        (("linear16", 16000, 0), ValueError, "channels must be at least 1"),
        (("linear16", 16000.0, 1), TypeError, "sample_rate must be an int"),
        (("linear16", 16000, True), TypeError, "channels must be an int"),
    ],
)
def test_invalid_formats_are_rejected(args: tuple[object, ...], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        AudioFormat(*args)  # type: ignore[arg-type]


# --- G.711 ---------------------------------------------------------------------------------

# Code points from the G.711 tables (the values of Sun's reference g711.c).
MULAW_DECODED = {0x00: -32124, 0x80: 32124, 0xFF: 0, 0x7F: 0, 0xFE: 8, 0x7E: -8, 0xCE: 988}
ALAW_DECODED = {0xD5: 8, 0x55: -8, 0xAA: 32256, 0x2A: -32256, 0x80: 5504, 0x00: -5504}
ENCODED = [  # sample, mu-law, A-law
    (0, 0xFF, 0xD5),
    (8, 0xFE, 0xD5),
    (100, 0xF2, 0xD3),
    (-100, 0x72, 0x53),
    (1000, 0xCE, 0xFA),
    (-1000, 0x4E, 0x7A),
    (5000, 0xAB, 0x86),
    (32767, 0x80, 0xAA),
    (-32768, 0x00, 0x2A),
]


def test_g711_decoding_matches_known_code_points() -> None:
    for code, value in MULAW_DECODED.items():
        assert unpcm(mulaw_decode(bytes([code]))) == [value], hex(code)
    for code, value in ALAW_DECODED.items():
        assert unpcm(alaw_decode(bytes([code]))) == [value], hex(code)


def test_g711_encoding_matches_known_code_points() -> None:
    samples = pcm(*(s for s, _, _ in ENCODED))
    assert list(mulaw_encode(samples)) == [u for _, u, _ in ENCODED]
    assert list(alaw_encode(samples)) == [a for _, _, a in ENCODED]


def test_g711_codes_survive_a_round_trip() -> None:
    codes = bytes(range(256))
    assert alaw_encode(alaw_decode(codes)) == codes
    expected = bytes(0xFF if c == 0x7F else c for c in codes)  # mu-law's negative zero
    assert mulaw_encode(mulaw_decode(codes)) == expected


def test_g711_encoding_picks_a_level_close_to_the_sample() -> None:
    samples = array("h", range(-32768, 32768, 7))
    data = pcm(*samples)
    for decoded in (mulaw_decode(mulaw_encode(data)), alaw_decode(alaw_encode(data))):
        for original, back in zip(samples, unpcm(decoded), strict=True):
            # G.711 keeps 4 mantissa bits: the error is within 1/16 of the magnitude (+ step).
            assert abs(original - back) <= abs(original) / 16 + 140


def test_g711_is_bit_exact_with_audioop_where_available() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # removed in Python 3.13
    every_sample = array("h", range(-32768, 32768)).tobytes()
    if array("h", [1]).tobytes() != b"\x01\x00":
        pytest.skip("audioop works in native byte order")
    assert mulaw_encode(every_sample) == audioop.lin2ulaw(every_sample, 2)
    assert alaw_encode(every_sample) == audioop.lin2alaw(every_sample, 2)
    codes = bytes(range(256))
    assert mulaw_decode(codes) == audioop.ulaw2lin(codes, 2)
    assert alaw_decode(codes) == audioop.alaw2lin(codes, 2)


def test_g711_encoding_ignores_a_trailing_odd_byte() -> None:
    assert mulaw_encode(pcm(0, 0) + b"\x01") == b"\xff\xff"


# --- PCM widths and channels ---------------------------------------------------------------


def test_other_pcm_widths_keep_their_top_16_bits() -> None:
    assert unpcm(pcm_to_pcm16(bytes([0, 128, 255]), 1)) == [-32768, 0, 32512]
    s24 = b"".join(v.to_bytes(3, "little", signed=True) for v in (0x123456, -0x123456, -1))
    assert unpcm(pcm_to_pcm16(s24, 3)) == [0x1234, -0x1235, -1]
    s32 = struct.pack("<3i", 0x12345678, -0x80000000, 0x7FFFFFFF)
    assert unpcm(pcm_to_pcm16(s32, 4)) == [0x1234, -32768, 32767]
    assert pcm_to_pcm16(pcm(1, 2), 2) == pcm(1, 2)
    with pytest.raises(ValueError, match="sample width: 5"):
        pcm_to_pcm16(b"\x00" * 5, 5)


def test_float_samples_are_scaled_and_clipped() -> None:
    floats = struct.pack("<5f", 0.0, 0.5, -1.0, 2.0, float("nan"))
    assert unpcm(float_to_pcm16(floats, 4)) == [0, 16384, -32767, 32767, 0]
    assert unpcm(float_to_pcm16(struct.pack("<d", -0.25), 8)) == [-8192]


def test_channel_conversion() -> None:
    stereo = array("h", [100, 300, -50, 50, 7, 8])
    assert list(convert_channels(stereo, 2, 1)) == [200, 0, 7]
    assert list(convert_channels(array("h", [1, 2]), 1, 3)) == [1, 1, 1, 2, 2, 2]
    quad = array("h", [4, 8, 12, 16])
    assert list(convert_channels(quad, 4, 2)) == [10, 10]  # through mono
    assert convert_channels(stereo, 2, 2) is stereo


# --- the package ---------------------------------------------------------------------------


def test_the_index_is_sorted_and_resolvable() -> None:
    import rxdeepgram.audio as audio

    assert audio.__all__ == sorted(audio.__all__)
    assert [n for n in audio.__all__ if not hasattr(audio, n)] == []


def test_importing_audio_loads_no_device_library() -> None:
    code = (
        "import sys, rxdeepgram.audio\n"
        "print([m for m in ('sounddevice', 'numpy', 'audioop', 'rxdeepgram.server')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
