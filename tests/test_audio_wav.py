"""WAV reading and writing: read_wav, wav_format, to_wav (round trips, the stdlib as referee)."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import pytest
import reactivex

from rxdeepgram.audio import AudioFormat, read_wav, to_wav, wav_format


def sine_pcm(n: int, channels: int = 1, amp: int = 12000) -> bytes:
    values = [round(amp * math.sin(i / 7)) for i in range(n * channels)]
    return struct.pack(f"<{len(values)}h", *values)


def write_with_wave(path: Path, data: bytes, rate: int, channels: int, width: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)


def riff(
    fmt_body: bytes, data: bytes, *, data_size: int | None = None, extra: bytes = b""
) -> bytes:
    """A hand-made WAV file: fmt chunk, optional extra chunks, data chunk."""
    size = len(data) if data_size is None else data_size
    chunks = b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body + extra
    chunks += b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def fmt_body(tag: int, channels: int, rate: int, bits: int, extension: bytes = b"") -> bytes:
    block = channels * bits // 8
    body = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    return body + (struct.pack("<H", len(extension)) + extension if extension else b"")


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt",
    [
        AudioFormat("linear16", 16000),
        AudioFormat("linear16", 44100, 2),
        AudioFormat("mulaw", 8000),
        AudioFormat("alaw", 8000, 2),
    ],
    ids=str,
)
def test_to_wav_then_read_wav_gives_the_same_bytes(tmp_path: Path, fmt: AudioFormat) -> None:
    path = tmp_path / "out.wav"
    data = sine_pcm(4000, fmt.channels)[: 4000 * fmt.frame_bytes]
    chunks = [data[i : i + 333] for i in range(0, len(data), 333)]  # splits frames
    sink = to_wav(path, fmt)
    reactivex.from_iterable(chunks).subscribe(sink)
    assert sink.closed and sink.error is None
    assert sink.bytes_written == len(data)
    assert read_wav(path) == (fmt, data)
    assert wav_format(path) == fmt


def test_a_written_pcm_file_is_valid_for_the_stdlib(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    data = sine_pcm(1600, 2)
    with to_wav(path, AudioFormat("linear16", 16000, 2)) as sink:
        sink.on_next(data[:1000])
        sink.on_next(data[1000:])
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 16000)
        assert w.getnframes() == 1600
        assert w.readframes(1600) == data
    assert path.stat().st_size == 44 + len(data)


def test_a_written_g711_file_has_its_fact_chunk_and_pad_byte(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    sink = to_wav(path, AudioFormat("mulaw", 8000))
    sink.on_next(b"\x01\x02\x03")
    sink.on_completed()
    raw = path.read_bytes()
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE"
    assert struct.unpack_from("<I", raw, 4)[0] == len(raw) - 8
    tag, channels, rate, byte_rate, block, bits, cb = struct.unpack_from("<HHIIHHH", raw, 20)
    assert (tag, channels, rate, byte_rate, block, bits, cb) == (7, 1, 8000, 8000, 1, 8, 0)
    assert raw[38:50] == b"fact" + struct.pack("<II", 4, 3)
    assert raw[50:58] == b"data" + struct.pack("<I", 3)
    assert raw[58:] == b"\x01\x02\x03\x00"  # odd data: RIFF pad byte
    assert read_wav(path) == (AudioFormat("mulaw", 8000), b"\x01\x02\x03")


def test_the_file_is_a_valid_empty_wav_until_audio_arrives(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    sink = to_wav(path, AudioFormat("linear16", 16000))
    assert read_wav(path) == (AudioFormat("linear16", 16000), b"")
    sink.on_next(sine_pcm(160))
    assert len(read_wav(path)[1]) == 320  # a data size of 0 reads to the end of the file
    sink.close()
    assert read_wav(path)[1] == sine_pcm(160)


def test_an_error_finalises_the_file_with_what_arrived(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    fmt = AudioFormat("linear16", 16000)
    boom = RuntimeError("connection lost")
    source = reactivex.concat(reactivex.of(sine_pcm(100)), reactivex.throw(boom))
    sink = to_wav(path, fmt)
    source.subscribe(sink)
    assert sink.closed and sink.error is boom
    assert read_wav(path) == (fmt, sine_pcm(100))
    sink.on_next(b"\x00\x00")  # after the end: ignored
    assert read_wav(path)[1] == sine_pcm(100)
    assert "closed" in repr(sink)


def test_a_trailing_partial_frame_is_cut_at_close(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    with to_wav(path, AudioFormat("linear16", 8000, 2)) as sink:
        sink.on_next(sine_pcm(10, 2) + b"\x01\x02\x03")
    assert read_wav(path)[1] == sine_pcm(10, 2)
    assert sink.bytes_written == 40
    assert sink.duration == 10 / 8000


def test_an_unwritable_path_raises_at_the_call(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        to_wav(tmp_path / "missing-dir" / "out.wav", AudioFormat("linear16", 16000))


# --- reading -------------------------------------------------------------------------------


def test_reads_16_bit_pcm_written_by_the_stdlib(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    data = sine_pcm(2000, 2)
    write_with_wave(path, data, 22050, 2, 2)
    assert read_wav(path) == (AudioFormat("linear16", 22050, 2), data)


@pytest.mark.parametrize("width", [1, 3, 4])
def test_other_pcm_widths_are_converted_to_16_bit(tmp_path: Path, width: int) -> None:
    path = tmp_path / "in.wav"
    samples = [-32768, -12345, -1, 0, 1, 12345, 32767]
    if width == 1:
        raw = bytes((s >> 8) + 128 for s in samples)
        expected = [(s >> 8) << 8 for s in samples]
    else:
        shift = 8 * (width - 2)
        raw = b"".join(
            ((s << shift) | 0x5A).to_bytes(width, "little", signed=True) for s in samples
        )
        expected = samples
    write_with_wave(path, raw, 8000, 1, width)
    fmt, data = read_wav(path)
    assert fmt == AudioFormat("linear16", 8000, 1)
    assert list(struct.unpack(f"<{len(samples)}h", data)) == expected


def test_reads_float_and_extensible_files(tmp_path: Path) -> None:
    floats = tmp_path / "float.wav"
    floats.write_bytes(riff(fmt_body(3, 1, 16000, 32), struct.pack("<3f", 0.5, -0.5, 1.5)))
    assert read_wav(floats) == (
        AudioFormat("linear16", 16000),
        struct.pack("<3h", 16384, -16384, 32767),
    )
    guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    extension = struct.pack("<HIH", 16, 4, 1) + guid_tail  # valid bits, channel mask, PCM
    ext = tmp_path / "ext.wav"
    ext.write_bytes(riff(fmt_body(0xFFFE, 2, 48000, 16, extension), sine_pcm(10, 2)))
    assert read_wav(ext) == (AudioFormat("linear16", 48000, 2), sine_pcm(10, 2))


def test_reads_g711_files_as_they_are(tmp_path: Path) -> None:
    for tag, encoding in ((7, "mulaw"), (6, "alaw")):
        path = tmp_path / f"{encoding}.wav"
        path.write_bytes(riff(fmt_body(tag, 1, 8000, 8, b""), bytes(range(50))))
        assert read_wav(path) == (AudioFormat(encoding, 8000), bytes(range(50)))  # type: ignore[arg-type]


def test_skips_unknown_chunks_and_reads_streamed_sizes(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    extra = b"LIST" + struct.pack("<I", 5) + b"hello\x00"  # odd size: padded
    data = sine_pcm(20)
    for size in (0, 0xFFFFFFFF, 10_000):  # streamed (unknown) or larger than the file
        path.write_bytes(riff(fmt_body(1, 1, 16000, 16), data, data_size=size, extra=extra))
        assert read_wav(path) == (AudioFormat("linear16", 16000), data)


def test_a_data_chunk_with_a_partial_frame_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    path.write_bytes(riff(fmt_body(1, 2, 16000, 16), sine_pcm(5, 2) + b"\x01\x02"))
    assert read_wav(path)[1] == sine_pcm(5, 2)


# --- errors --------------------------------------------------------------------------------


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_wav(tmp_path / "nope.wav")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"OggS" + bytes(40), "not a WAV file: no RIFF/WAVE header"),
        (b"RF64" + bytes(4) + b"WAVE", "RF64"),
        (b"RIFF\x00\x00\x00\x00WAVE", "no 'fmt ' chunk"),
        (riff(fmt_body(2, 1, 8000, 4), b"\x00" * 10), "unsupported WAV format: Microsoft ADPCM"),
        (riff(fmt_body(0x55, 1, 8000, 0), b"\x00" * 10), "MPEG layer 3 (format tag 0x0055)"),
        (riff(fmt_body(1, 1, 8000, 12), b"\x00" * 10), "PCM (format tag 0x0001) with 12 bits"),
        (riff(fmt_body(0x1234, 1, 8000, 16), b""), "unknown (format tag 0x1234)"),
        (riff(fmt_body(1, 0, 8000, 16), b""), "0 channels at 8000 Hz"),
        (riff(b"\x01\x00", b""), "'fmt ' chunk too short"),
        (b"RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00", "'data' chunk before 'fmt '"),
    ],
)
def test_bad_or_unsupported_files_raise_a_value_error_naming_the_problem(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"bad\.wav") as info:
        read_wav(path)
    assert message in str(info.value)


def test_the_unsupported_message_lists_what_is_supported(tmp_path: Path) -> None:
    path = tmp_path / "adpcm.wav"
    path.write_bytes(riff(fmt_body(0x11, 1, 8000, 4), b""))
    with pytest.raises(ValueError, match="supported: PCM 8/16/24/32-bit, IEEE float"):
        wav_format(path)
