"""resample / to_linear16 / AudioConverter: lengths, values, chunking invariance, codecs."""

from __future__ import annotations

import itertools
import math
import struct
from array import array

import pytest
import reactivex

from rxdeepgram.audio import (
    AudioConverter,
    AudioFormat,
    alaw_encode,
    mulaw_decode,
    mulaw_encode,
    resample,
    to_linear16,
)
from rxdeepgram.audio._convert import RateConverter


def tone(freq: float, rate: int, seconds: float, amp: float = 10000.0) -> list[int]:
    return [
        round(amp * math.sin(2 * math.pi * freq * i / rate)) for i in range(int(rate * seconds))
    ]


def pcm(samples: list[int]) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def unpcm(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 2}h", data))


def amplitude(samples: list[int], freq: float, rate: int, skip: int = 100) -> float:
    """Amplitude of the ``freq`` component (projection on sine and cosine), edges skipped."""
    body = samples[skip:-skip]
    w = 2 * math.pi * freq / rate
    s = sum(v * math.sin(w * (i + skip)) for i, v in enumerate(body))
    c = sum(v * math.cos(w * (i + skip)) for i, v in enumerate(body))
    return 2 * math.hypot(s, c) / len(body)


def convert(data: bytes, src: AudioFormat, dst: AudioFormat, chunk: int | None = None) -> bytes:
    """Run ``data`` through the resample operator, in chunks of ``chunk`` bytes."""
    size = chunk or len(data) or 1
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    out: list[bytes] = []
    reactivex.from_iterable(chunks).pipe(resample(src, dst)).subscribe(out.append)
    return b"".join(out)


def mono(rate: int, encoding: str = "linear16", channels: int = 1) -> AudioFormat:
    return AudioFormat(encoding, rate, channels)  # type: ignore[arg-type]


RATE_PAIRS = [(16000, 8000), (48000, 16000), (8000, 16000), (44100, 16000), (16000, 24000)]


@pytest.mark.parametrize(("src", "dst"), RATE_PAIRS)
def test_output_length_is_the_input_length_scaled(src: int, dst: int) -> None:
    for n in (0, 1, 7, 1000, src // 10):
        out = convert(pcm([0] * n), mono(src), mono(dst), chunk=98)
        assert len(out) // 2 == math.ceil(n * dst / src), n


@pytest.mark.parametrize(("src", "dst"), RATE_PAIRS)
def test_a_sine_keeps_its_amplitude_and_frequency(src: int, dst: int) -> None:
    freq = 440.0
    out = unpcm(convert(pcm(tone(freq, src, 0.25)), mono(src), mono(dst), chunk=640))
    assert amplitude(out, freq, dst) == pytest.approx(10000, rel=0.005)
    expected = tone(freq, dst, 0.25)
    middle = slice(50, len(expected) - 50)
    assert max(abs(a - b) for a, b in zip(out[middle], expected[middle], strict=True)) < 40


@pytest.mark.parametrize(("src", "dst"), RATE_PAIRS)
def test_dc_passes_unchanged(src: int, dst: int) -> None:
    out = unpcm(convert(pcm([1234] * (src // 20)), mono(src), mono(dst), chunk=100))
    reach = 40  # the filter's start-up from the silence before the stream, at either end
    assert set(out[reach:-reach]) == {1234}


@pytest.mark.parametrize(("src", "dst"), RATE_PAIRS)
def test_chunking_does_not_change_the_output(src: int, dst: int) -> None:
    data = pcm(tone(440, src, 0.1) + tone(3000, src, 0.05, amp=20000))
    whole = convert(data, mono(src), mono(dst))
    for chunk in (2, 62, 640, 1002):
        assert convert(data, mono(src), mono(dst), chunk=chunk) == whole, chunk


def test_chunk_boundaries_do_not_click() -> None:
    src, dst = mono(16000), mono(8000)
    data = pcm(tone(300, 16000, 0.2))
    out = unpcm(convert(data, src, dst, chunk=320))
    steps = [abs(b - a) for a, b in itertools.pairwise(out[20:-20])]
    max_step = 10000 * 2 * math.pi * 300 / 8000  # the steepest slope of the sine per sample
    assert max(steps) <= max_step * 1.02


def test_downsampling_filters_what_the_new_rate_cannot_hold() -> None:
    # 7 kHz at 16 kHz would alias to 1 kHz at 8 kHz; the anti-alias filter removes it.
    out = unpcm(convert(pcm(tone(7000, 16000, 0.25)), mono(16000), mono(8000)))
    assert amplitude(out, 1000, 8000) < 10  # > 60 dB down from 10000
    # while the passband (here up to 80 % of 4 kHz) stays within 0.5 dB
    kept = unpcm(convert(pcm(tone(3200, 16000, 0.25)), mono(16000), mono(8000)))
    assert amplitude(kept, 3200, 8000) > 10000 * 10 ** (-0.55 / 20)


def test_upsampling_does_not_create_images() -> None:
    out = unpcm(convert(pcm(tone(1000, 8000, 0.25)), mono(8000), mono(16000)))
    assert amplitude(out, 1000, 16000) == pytest.approx(10000, rel=0.005)
    assert amplitude(out, 7000, 16000) < 10  # the image of 1 kHz around 8 kHz


def test_stereo_to_mono_and_back() -> None:
    left, right = tone(440, 16000, 0.05), [2000] * 800
    stereo = array("h", [0] * 1600)
    stereo[0::2], stereo[1::2] = array("h", left), array("h", right)
    mixed = unpcm(convert(pcm(list(stereo)), mono(16000, channels=2), mono(16000)))
    assert mixed == [(a + b) >> 1 for a, b in zip(left, right, strict=True)]
    widened = unpcm(convert(pcm(left), mono(16000), mono(16000, channels=2)))
    assert widened[0::2] == left and widened[1::2] == left


def test_stereo_rate_conversion_treats_channels_apart() -> None:
    left, right = tone(440, 48000, 0.1), tone(1000, 48000, 0.1, amp=5000)
    stereo = array("h", [0] * (2 * len(left)))
    stereo[0::2], stereo[1::2] = array("h", left), array("h", right)
    out = unpcm(convert(pcm(list(stereo)), mono(48000, channels=2), mono(16000, channels=2), 998))
    assert len(out) == 2 * 1600
    assert amplitude(out[0::2], 440, 16000) == pytest.approx(10000, rel=0.005)
    assert amplitude(out[1::2], 1000, 16000) == pytest.approx(5000, rel=0.005)
    assert amplitude(out[0::2], 1000, 16000) < 5  # no crosstalk


def test_g711_to_linear16_and_back() -> None:
    codes = bytes(range(256)) * 4
    assert convert(codes, mono(8000, "mulaw"), mono(8000)) == mulaw_decode(codes)
    linear = pcm(tone(440, 8000, 0.1))
    assert convert(linear, mono(8000), mono(8000, "alaw"), chunk=3) == alaw_encode(linear)
    assert convert(linear, mono(8000), mono(8000, "mulaw")) == mulaw_encode(linear)
    out: list[bytes] = []
    reactivex.of(codes).pipe(to_linear16(mono(8000, "mulaw"))).subscribe(out.append)
    assert out == [mulaw_decode(codes)]


def test_mulaw_8k_to_linear16_16k_in_one_step() -> None:
    signal = mulaw_encode(pcm(tone(440, 8000, 0.25)))
    out = unpcm(convert(signal, mono(8000, "mulaw"), mono(16000), chunk=160))
    assert len(out) == 4000
    assert amplitude(out, 440, 16000) == pytest.approx(10000, rel=0.02)  # G.711 noise


def test_same_format_passes_chunks_unchanged() -> None:
    fmt = mono(16000)
    out: list[bytes] = []
    reactivex.of(b"\x01\x02\x03", b"\x04").pipe(resample(fmt, fmt)).subscribe(out.append)
    assert out == [b"\x01\x02\x03", b"\x04"]


def test_the_converter_holds_partial_frames_and_flushes_the_tail() -> None:
    conv = AudioConverter(mono(16000, channels=2), mono(8000))
    first = conv.convert(b"\x10\x00\x10")  # less than one stereo frame (4 bytes)
    assert first == b""
    more = conv.convert(b"\x00" + pcm([16] * 2 * 399))
    tail = conv.flush()
    assert len(more + tail) == 2 * 200
    assert conv.flush() == b""
    with pytest.raises(ValueError, match="after flush"):
        conv.convert(b"\x00\x00")


def test_rate_converter_rejects_bad_rates() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateConverter(0, 16000)


def test_an_awkward_ratio_uses_quantised_phases() -> None:
    # 44100 -> 16001 needs 16001 exact phases; 1024 are used, with no audible difference.
    out = unpcm(convert(pcm(tone(440, 44100, 0.1)), mono(44100), mono(16001), chunk=882))
    assert len(out) == math.ceil(4410 * 16001 / 44100)
    assert amplitude(out, 440, 16001) == pytest.approx(10000, rel=0.005)


def test_resample_emits_nothing_for_empty_results_and_completes() -> None:
    events: list[object] = []
    source = reactivex.of(b"\x00")  # half a frame of linear16: nothing to emit
    source.pipe(resample(mono(16000), mono(8000))).subscribe(
        events.append, on_completed=lambda: events.append("done")
    )
    assert events == ["done"]
