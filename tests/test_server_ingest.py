"""Unit tests of the local server's audio ingest path (rxdeepgram.server._ingest)."""

from __future__ import annotations

import math
import struct
from array import array

import pytest

from rxdeepgram.server._audio import SampleFormat
from rxdeepgram.server._ingest import AudioIngest
from rxdeepgram.server._stt import DataError
from rxdeepgram.server.engines import ScriptedEngine

ENGINE = ScriptedEngine(["hello"])
FRAME = ENGINE.sample_rate // 100  # 10 ms at the engine's rate


def wav(samples: array[int], channels: int, rate: int) -> bytes:
    """A 16-bit PCM WAV of interleaved ``samples``."""
    data = samples.tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def stereo(seconds: float, rate: int) -> array[int]:
    """A tone on the left channel, silence on the right."""
    out = array("h")
    for i in range(int(seconds * rate)):
        out.append(int(8000 * math.sin(2 * math.pi * 300 * i / rate)))
        out.append(0)
    return out


def run(ingest: AudioIngest, data: bytes, chunk: int) -> list[list[list[int]]]:
    frames: list[list[list[int]]] = []
    for i in range(0, len(data), chunk):
        ingest.feed(data[i : i + chunk])
        frames.extend([list(f) for f in step] for step in ingest.frames())
    return frames


def test_wav_frames_do_not_depend_on_how_the_bytes_are_cut() -> None:
    data = wav(stereo(0.5, 48000), 2, 48000)
    whole = AudioIngest(ENGINE, FRAME)
    pieces = AudioIngest(ENGINE, FRAME)
    assert run(whole, data, len(data)) == run(pieces, data, 7)  # 7: splits header and samples
    assert whole.format == pieces.format == SampleFormat("pcm_s16", 2, 48000)
    assert whole.frames_in == pieces.frames_in == 24000
    assert whole.tracks == 1  # averaged to one track
    assert len(run(AudioIngest(ENGINE, FRAME), data, 4096)) == 50  # 0.5 s of 10 ms frames


def test_multichannel_gives_one_track_per_channel_in_step() -> None:
    ingest = AudioIngest(
        ENGINE, FRAME, encoding="linear16", sample_rate=48000, channels=2, multichannel=True
    )
    steps = run(ingest, stereo(0.3, 48000).tobytes(), 9600)
    assert ingest.tracks == 2
    assert len(steps) == 30
    assert all(len(step) == 2 and len(step[0]) == len(step[1]) == FRAME for step in steps)
    assert any(any(step[0]) for step in steps)  # the tone is on track 0
    assert not any(any(step[1]) for step in steps)  # track 1 is the silent channel


def test_a_declared_format_needs_no_header() -> None:
    mono = array("h", [1000] * 1600)
    ingest = AudioIngest(ENGINE, FRAME, SampleFormat("pcm_s16", 1, 16000))
    steps = run(ingest, mono.tobytes(), 333)  # odd chunks: a sample split across frames
    assert len(steps) == 1600 // FRAME
    assert all(value == 1000 for step in steps for value in step[0])


def test_an_unsupported_encoding_fails_at_the_first_audio_not_before() -> None:
    ingest = AudioIngest(ENGINE, FRAME, encoding="opus", sample_rate=48000)
    assert ingest.format is None and ingest.tracks == 0
    with pytest.raises(DataError, match="opus"):
        ingest.feed(b"\x00" * 20)


def test_raw_audio_without_encoding_waits_for_a_header_then_fails() -> None:
    ingest = AudioIngest(ENGINE, FRAME)
    ingest.feed(b"\x00" * 11)  # too short to tell
    assert ingest.format is None and list(ingest.frames()) == []
    with pytest.raises(DataError, match="encoding and sample_rate"):
        ingest.feed(b"\x00")


def test_other_containers_are_named() -> None:
    ingest = AudioIngest(ENGINE, FRAME)
    with pytest.raises(DataError, match="ogg audio is not supported"):
        ingest.feed(b"OggS" + b"\x00" * 40)
