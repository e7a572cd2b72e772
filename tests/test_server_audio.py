"""Unit tests of the local server's audio plumbing (rxdeepgram.server._audio)."""

from __future__ import annotations

import struct
import warnings
from array import array

import pytest
from audio_util import (
    alaw,
    concat,
    interleave,
    lin2alaw,
    lin2ulaw,
    mulaw,
    noise,
    pcm16,
    silence,
    tone,
    wav_header,
    wav_pcm16,
)

from rxdeepgram.server._audio import (
    ALAW_TABLE,
    ULAW_TABLE,
    AudioFormatError,
    EnergyVad,
    PcmDecoder,
    Resampler,
    SampleFormat,
    VadConfig,
    alaw_decode,
    detect_container,
    downmix,
    frame_rms,
    mulaw_decode,
    parse_wav_header,
    pcm16_from_bytes,
    pcm16_to_bytes,
    split_channels,
)

# --- G.711 ---------------------------------------------------------------------------------


def test_mulaw_known_values() -> None:
    assert ULAW_TABLE[0xFF] == 0
    assert ULAW_TABLE[0x7F] == 0
    assert ULAW_TABLE[0x00] == -32124
    assert ULAW_TABLE[0x80] == 32124
    assert ULAW_TABLE[0xFE] == 8
    assert ULAW_TABLE[0x7E] == -8
    assert ULAW_TABLE[0xEF] == 132
    assert list(pcm16_from_bytes(mulaw_decode(bytes([0xFF, 0x00, 0x80])))) == [0, -32124, 32124]


def test_alaw_known_values() -> None:
    assert ALAW_TABLE[0xD5] == 8
    assert ALAW_TABLE[0x55] == -8
    assert ALAW_TABLE[0xAA] == 32256
    assert ALAW_TABLE[0x2A] == -32256
    assert ALAW_TABLE[0xC5] == 264
    assert list(pcm16_from_bytes(alaw_decode(bytes([0xD5, 0x55, 0xAA])))) == [8, -8, 32256]


def test_g711_tables_match_audioop_when_available() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    every = bytes(range(256))
    assert list(pcm16_from_bytes(audioop.ulaw2lin(every, 2))) == list(ULAW_TABLE)
    assert list(pcm16_from_bytes(audioop.alaw2lin(every, 2))) == list(ALAW_TABLE)


def test_g711_round_trip_within_quantisation() -> None:
    for sample in range(-32768, 32768, 97):
        u = ULAW_TABLE[lin2ulaw(sample)]
        a = ALAW_TABLE[lin2alaw(sample)]
        assert abs(u - sample) <= max(8, abs(sample) // 16), (sample, u)
        assert abs(a - sample) <= max(16, abs(sample) // 16), (sample, a)


def test_g711_decode_is_byte_for_sample() -> None:
    samples = tone(0.01)
    assert len(mulaw_decode(mulaw(samples))) == 2 * len(samples)
    assert len(alaw_decode(alaw(samples))) == 2 * len(samples)


# --- PCM decoding --------------------------------------------------------------------------


def test_pcm_decoder_keeps_partial_frames() -> None:
    decoder = PcmDecoder(SampleFormat("pcm_s16", 2, 16000))
    data = pcm16([1, -1, 2, -2, 3, -3])
    out = array("h")
    for piece in (data[:3], data[3:5], data[5:11], data[11:]):
        out.extend(decoder.decode(piece))
    assert list(out) == [1, -1, 2, -2, 3, -3]
    assert decoder.pending == 0


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("pcm_u8", bytes([0, 128, 255]), [-32768, 0, 32512]),
        ("pcm_s24", b"\x00\x00\x80" + b"\xff\xff\x7f" + b"\x00\x01\x00", [-32768, 32767, 1]),
        ("pcm_s32", struct.pack("<3i", -(2**31), 2**31 - 1, 65536), [-32768, 32767, 1]),
        ("float32", struct.pack("<3f", -1.0, 0.5, 2.0), [-32767, 16383, 32767]),
        ("float64", struct.pack("<2d", 0.25, -0.25), [8191, -8191]),
        ("mulaw", bytes([0xFF, 0x80]), [0, 32124]),
        ("alaw", bytes([0xD5, 0x2A]), [8, -32256]),
    ],
)
def test_pcm_decoder_formats(kind: str, raw: bytes, expected: list[int]) -> None:
    decoder = PcmDecoder(SampleFormat(kind, 1, 8000))  # type: ignore[arg-type]
    assert list(decoder.decode(raw)) == expected


def test_for_encoding_refuses_compressed_codecs() -> None:
    assert SampleFormat.for_encoding("linear16", 16000, 2).frame_width == 4
    assert SampleFormat.for_encoding("linear32", 16000, 1).kind == "pcm_s32"
    with pytest.raises(AudioFormatError, match="opus"):
        SampleFormat.for_encoding("opus", 48000, 1)


def test_pcm16_bytes_round_trip() -> None:
    samples = array("h", [0, 1, -1, 32767, -32768])
    raw = pcm16_to_bytes(samples)
    assert raw[:4] == b"\x00\x00\x01\x00"
    assert list(pcm16_from_bytes(raw)) == list(samples)


# --- containers ----------------------------------------------------------------------------


def test_parse_wav_from_stdlib_wave() -> None:
    data = wav_pcm16(interleave(tone(0.1), tone(0.1)), rate=44100, channels=2)
    header = parse_wav_header(data)
    assert header is not None
    assert header.format == SampleFormat("pcm_s16", 2, 44100)
    assert header.data_offset == 44
    assert header.bits_per_sample == 16


def test_parse_wav_needs_more_bytes_until_data_chunk() -> None:
    data = wav_pcm16(tone(0.01))
    for cut in (0, 5, 11, 20, 36, 43):
        assert parse_wav_header(data[:cut]) is None
    assert parse_wav_header(data[:44]) is not None


def test_parse_wav_skips_other_chunks_and_reads_extensible() -> None:
    extra = b"LIST" + struct.pack("<I", 5) + b"abcde" + b"\x00"  # odd size, padded
    data = wav_header(
        format_tag=1, channels=1, rate=22050, bits=24, extensible=True, extra_chunks=extra
    )
    header = parse_wav_header(data)
    assert header is not None
    assert header.format == SampleFormat("pcm_s24", 1, 22050)
    assert header.data_offset == len(data)


@pytest.mark.parametrize(
    ("tag", "bits", "kind"),
    [(3, 32, "float32"), (3, 64, "float64"), (6, 8, "alaw"), (7, 8, "mulaw"), (1, 8, "pcm_u8")],
)
def test_parse_wav_formats(tag: int, bits: int, kind: str) -> None:
    header = parse_wav_header(wav_header(format_tag=tag, channels=1, rate=8000, bits=bits))
    assert header is not None
    assert header.format.kind == kind


def test_parse_wav_refuses_unsupported_and_foreign_data() -> None:
    with pytest.raises(AudioFormatError, match="0x0002"):
        parse_wav_header(wav_header(format_tag=2, channels=1, rate=8000, bits=4))
    with pytest.raises(AudioFormatError, match="not a WAV"):
        parse_wav_header(b"OggS" + bytes(40))
    with pytest.raises(AudioFormatError, match="before its 'fmt '"):
        parse_wav_header(b"RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00")


def test_detect_container() -> None:
    assert detect_container(wav_pcm16(tone(0.01))) == "wav"
    assert detect_container(b"OggS\x00\x02") == "ogg"
    assert detect_container(b"fLaC\x00") == "flac"
    assert detect_container(b"\x1a\x45\xdf\xa3") == "webm"
    assert detect_container(b"ID3\x04") == "mp3"
    assert detect_container(b"\xff\xfb\x90\x00") == "mp3"
    assert detect_container(b"\x00\x00\x00\x18ftypisom") == "mp4"
    assert detect_container(pcm16(silence(0.01))) is None


# --- channels and resampling ---------------------------------------------------------------


def test_split_and_downmix() -> None:
    stereo = interleave([100, 200, -300], [300, 0, -100])
    assert [list(c) for c in split_channels(stereo, 2)] == [[100, 200, -300], [300, 0, -100]]
    assert list(downmix(stereo, 2)) == [200, 100, -200]
    three = interleave([3, 6], [3, 0], [3, 0])
    assert list(downmix(three, 3)) == [3, 2]
    mono = array("h", [1, 2])
    assert downmix(mono, 1) is mono


@pytest.mark.parametrize(
    ("src", "dst"), [(48000, 16000), (44100, 16000), (8000, 16000), (22050, 16000)]
)
def test_resampler_length_and_chunking(src: int, dst: int) -> None:
    signal = tone(1.0, rate=src, freq=200)
    whole = Resampler(src, dst).process(signal)
    assert abs(len(whole) - dst) <= 2
    chunked = Resampler(src, dst)
    out = array("h")
    for offset in range(0, len(signal), 333):
        out.extend(chunked.process(signal[offset : offset + 333]))
    assert list(out) == list(whole)


def test_resampler_preserves_level_and_passthrough() -> None:
    signal = tone(0.5, rate=48000, freq=200, amp=10000)
    out = Resampler(48000, 16000).process(signal)
    assert frame_rms(out) == pytest.approx(frame_rms(signal), rel=0.02)
    same = Resampler(16000, 16000)
    assert same.passthrough
    assert same.process(signal) is signal
    up = Resampler(8000, 16000).process(array("h", [0, 100, 200]))
    assert list(up) == [0, 50, 100, 150]  # the last input sample waits for its successor


# --- speech detection ----------------------------------------------------------------------


def test_vad_finds_tone_bursts() -> None:
    audio = concat(silence(0.5), tone(1.2), silence(1.0), noise(0.6), silence(0.5))
    segments = EnergyVad(16000).segments(audio)
    assert segments == [(0.5, 1.7), (2.7, 3.3)]


def test_vad_min_speech_ignores_clicks() -> None:
    audio = concat(silence(0.3), tone(0.03), silence(0.5), tone(0.3), silence(0.5))
    assert EnergyVad(16000).segments(audio) == [(0.83, 1.13)]


def test_vad_bridges_dips_shorter_than_min_silence() -> None:
    # A 100 ms gap is shorter than min_silence (200 ms): one segment.
    audio = concat(silence(0.2), tone(0.5), silence(0.1), tone(0.5), silence(0.5))
    assert EnergyVad(16000).segments(audio) == [(0.2, 1.3)]


def test_vad_hysteresis_between_start_and_continue_levels() -> None:
    config = VadConfig(start_level=1000, continue_level=300, start_ratio=1, continue_ratio=1)
    weak = 700  # RMS ~495: above the continue level, below the start level
    tail = concat(silence(0.2), tone(0.5, amp=3000), tone(0.3, amp=weak), silence(0.5))
    assert EnergyVad(16000, config).segments(tail) == [(0.2, 1.0)]
    assert EnergyVad(16000, config).segments(concat(silence(0.2), tone(0.5, amp=weak))) == []


def test_vad_detects_speech_at_the_very_start() -> None:
    assert EnergyVad(16000).segments(concat(tone(0.4), silence(0.5))) == [(0.0, 0.4)]
    assert EnergyVad(16000).segments(concat(noise(0.4, amp=3000), silence(0.5))) == [(0.0, 0.4)]


def test_vad_min_silence_sets_the_end_detection() -> None:
    audio = concat(silence(0.2), tone(0.5), silence(0.4), tone(0.5), silence(1.0))
    assert EnergyVad(16000, VadConfig(min_silence_ms=500)).segments(audio) == [(0.2, 1.6)]
    assert EnergyVad(16000, VadConfig(min_silence_ms=300)).segments(audio) == [
        (0.2, 0.7),
        (1.1, 1.6),
    ]


def test_vad_adapts_to_background_noise() -> None:
    # Steady noise well above the absolute start level: the floor follows it, so only the
    # louder burst counts as speech.
    background = 400
    audio = concat(
        silence(0.2),
        noise(2.0, amp=background, seed=2),
        tone(0.6, amp=12000),
        noise(1.0, amp=background, seed=3),
    )
    vad = EnergyVad(16000)
    segments = vad.segments(audio)
    assert segments == [(2.2, 2.8)]
    assert vad.floor is not None
    assert background / 4 < vad.floor < background


def test_vad_ignores_steady_noise_from_the_start_and_digital_silence() -> None:
    hiss = noise(1.5, amp=500, seed=4)  # RMS ~290, above the absolute start level
    audio = concat(hiss, silence(0.5), tone(0.5, amp=12000), hiss)
    assert EnergyVad(16000).segments(audio) == [(2.0, 2.5)]


def test_vad_keeps_finding_bursts_between_digital_silence() -> None:
    burst = concat(silence(0.5), tone(2.0), silence(0.5))
    segments = EnergyVad(16000).segments(concat(*([burst] * 20)))
    assert len(segments) == 20
    assert segments[-1] == (57.5, 59.5)


def test_vad_is_deterministic_and_frame_based() -> None:
    vad = EnergyVad(8000)
    assert vad.frame_samples == 80
    assert vad.frame_seconds == pytest.approx(0.01)
    events = []
    audio = concat(silence(0.1, 8000), tone(0.3, 8000), silence(0.3, 8000))
    for offset in range(0, len(audio), 80):
        _, event = vad.process(audio[offset : offset + 80])
        if event is not None:
            events.append(event)
    assert [(e.kind, e.frame) for e in events] == [("start", 10), ("end", 40)]
