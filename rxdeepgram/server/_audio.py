"""Audio plumbing of the local server, in pure Python (no numpy, no ``audioop``).

* G.711 decoding (mu-law, A-law) through 256-entry lookup tables applied with ``bytes.translate``
  and slice assignment, so a whole frame decodes at C speed.
* Raw PCM decoding (linear16 / linear32 / 8-, 24-bit, float) to 16-bit samples in an
  ``array('h')``, keeping a partial sample frame across network frames.
* WAV (RIFF / RF64) header parsing for audio sent without an ``encoding``, and detection of the
  containers the server recognises but cannot decode (Ogg, FLAC, WebM, MP3...).
* Channel split and downmix, and a streaming resampler (block averaging for integer decimation,
  linear interpolation otherwise) to bring audio to the engine's rate.
* :class:`EnergyVad`: energy-based speech detection with hysteresis: frame RMS against an
  adaptive noise floor, separate start / continue thresholds, a minimum speech run before a
  segment starts and a minimum silence run before it ends.

Everything works on 16-bit little-endian PCM (``bytes``) or ``array('h')`` of native ints; the
helpers byte-swap on big-endian hosts.
"""

from __future__ import annotations

import math
import operator
import struct
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from ..audio._container import detect_container
from ..audio._pcm import alaw_decode, mulaw_decode

__all__ = [
    "ALAW_TABLE",
    "ULAW_TABLE",
    "AudioFormatError",
    "EnergyVad",
    "PcmDecoder",
    "Resampler",
    "SampleFormat",
    "VadConfig",
    "VadEvent",
    "WavHeader",
    "alaw_decode",
    "detect_container",
    "downmix",
    "mulaw_decode",
    "parse_wav_header",
    "pcm16_from_bytes",
    "pcm16_to_bytes",
    "split_channels",
]

_BIG_ENDIAN = sys.byteorder == "big"


class AudioFormatError(ValueError):
    """The audio cannot be decoded: unsupported encoding or container, or corrupt data.

    The Listen channel turns it into a close with code 1008 and reason ``DATA-0000 ...``.
    """


# --- G.711: the library's codecs (rxdeepgram.audio) ------------------------------------------

ULAW_TABLE: tuple[int, ...] = struct.unpack("<256h", mulaw_decode(bytes(range(256))))
"""The 16-bit sample of each mu-law byte (ITU-T G.711; ``0xFF`` and ``0x7F`` are 0)."""
ALAW_TABLE: tuple[int, ...] = struct.unpack("<256h", alaw_decode(bytes(range(256))))
"""The 16-bit sample of each A-law byte (ITU-T G.711; ``0xD5`` is +8, ``0x55`` is -8)."""

_U8_LO = bytes(256)
_U8_HI = bytes(i ^ 0x80 for i in range(256))


def _expand8(data: bytes, lo: bytes, hi: bytes) -> bytes:
    """Map each byte through two tables to a little-endian 16-bit sample (C speed)."""
    out = bytearray(2 * len(data))
    out[0::2] = data.translate(lo)
    out[1::2] = data.translate(hi)
    return bytes(out)


def pcm16_from_bytes(data: bytes) -> array[int]:
    """16-bit little-endian PCM bytes (even length) as an ``array('h')``."""
    samples = array("h")
    samples.frombytes(data)
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples


def pcm16_to_bytes(samples: array[int]) -> bytes:
    """An ``array('h')`` as 16-bit little-endian PCM bytes."""
    if _BIG_ENDIAN:
        swapped = array("h", samples)
        swapped.byteswap()
        return swapped.tobytes()
    return samples.tobytes()


# --- sample formats and the streaming decoder ---------------------------------------------

SampleKind = Literal[
    "pcm_s16", "pcm_s32", "pcm_s24", "pcm_u8", "float32", "float64", "mulaw", "alaw"
]


@dataclass(frozen=True, slots=True)
class SampleFormat:
    """How the samples of a stream are stored: ``kind``, ``channels`` and ``sample_rate``."""

    kind: SampleKind
    channels: int
    sample_rate: int

    @property
    def sample_width(self) -> int:
        """Bytes per sample of one channel."""
        return _WIDTH[self.kind]

    @property
    def frame_width(self) -> int:
        """Bytes per sample frame (all channels)."""
        return _WIDTH[self.kind] * self.channels

    @staticmethod
    def for_encoding(encoding: str, sample_rate: int, channels: int) -> SampleFormat:
        """The format of raw audio declared with the ``encoding`` query option.

        Raises :class:`AudioFormatError` for encodings the server cannot decode (compressed
        codecs such as ``opus`` or ``flac``).
        """
        kind = _RAW_ENCODINGS.get(encoding)
        if kind is None:
            supported = ", ".join(sorted(_RAW_ENCODINGS))
            raise AudioFormatError(
                f"encoding {encoding!r} is not supported by the local server (supported: "
                f"{supported}, or WAV without encoding)"
            )
        return SampleFormat(kind, channels, sample_rate)


_WIDTH: dict[str, int] = {
    "pcm_s16": 2,
    "pcm_s32": 4,
    "pcm_s24": 3,
    "pcm_u8": 1,
    "float32": 4,
    "float64": 8,
    "mulaw": 1,
    "alaw": 1,
}
_RAW_ENCODINGS: dict[str, SampleKind] = {
    "linear16": "pcm_s16",
    "linear32": "pcm_s32",
    "mulaw": "mulaw",
    "alaw": "alaw",
}


def _take_high16(data: bytes, width: int) -> bytes:
    """The two most significant bytes of each little-endian ``width``-byte integer sample."""
    count = len(data) // width
    out = bytearray(2 * count)
    out[0::2] = data[width - 2 :: width]
    out[1::2] = data[width - 1 :: width]
    return bytes(out)


def _floats_to_pcm16(values: array[float]) -> bytes:
    clipped = array("h", [int(max(-1.0, min(1.0, v)) * 32767.0) if v == v else 0 for v in values])
    return pcm16_to_bytes(clipped)


class PcmDecoder:
    """Decode a stream of byte chunks in one :class:`SampleFormat` to interleaved 16-bit samples.

    Chunks may split a sample frame anywhere; the remainder waits for the next chunk.
    """

    def __init__(self, fmt: SampleFormat) -> None:
        self.format = fmt
        self._frame_width = fmt.frame_width
        self._rest = b""

    def decode(self, chunk: bytes) -> array[int]:
        """The whole sample frames in ``self``'s remainder plus ``chunk``, as ``array('h')``
        (interleaved when there are several channels)."""
        data = self._rest + chunk if self._rest else chunk
        usable = len(data) - len(data) % self._frame_width
        self._rest = data[usable:]
        if usable == 0:
            return array("h")
        return pcm16_from_bytes(self._to_pcm16(data[:usable] if usable < len(data) else data))

    def _to_pcm16(self, data: bytes) -> bytes:
        kind = self.format.kind
        if kind == "pcm_s16":
            return data
        if kind == "mulaw":
            return mulaw_decode(data)
        if kind == "alaw":
            return alaw_decode(data)
        if kind == "pcm_u8":
            return _expand8(data, _U8_LO, _U8_HI)
        if kind == "pcm_s24":
            return _take_high16(data, 3)
        if kind == "pcm_s32":
            return _take_high16(data, 4)
        floats = array("f" if kind == "float32" else "d")
        floats.frombytes(data)
        if _BIG_ENDIAN:
            floats.byteswap()
        return _floats_to_pcm16(floats)

    @property
    def pending(self) -> int:
        """Bytes of an incomplete sample frame held back."""
        return len(self._rest)


# --- containers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WavHeader:
    """What a WAV header says: the sample format and where the sample data starts."""

    format: SampleFormat
    data_offset: int
    bits_per_sample: int
    format_tag: int


_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_IEEE_FLOAT = 0x0003
_WAVE_FORMAT_ALAW = 0x0006
_WAVE_FORMAT_MULAW = 0x0007
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_MAX_HEADER = 1 << 20


def parse_wav_header(data: bytes) -> WavHeader | None:
    """Parse a RIFF/RF64 WAVE header at the start of ``data``.

    Returns ``None`` while ``data`` is too short to hold the whole header (up to the start of
    the ``data`` chunk); raises :class:`AudioFormatError` when it is not a WAV stream or its
    sample format is not supported. The ``data`` chunk's size is ignored (streamed WAV often
    writes 0 or 0xFFFFFFFF there): everything after the header is taken as samples.
    """
    if len(data) < 12:
        return None
    if data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise AudioFormatError("not a WAV (RIFF/WAVE) stream")
    pos = 12
    fmt: tuple[int, int, int, int, int] | None = None
    while True:
        if pos + 8 > len(data):
            if len(data) > _MAX_HEADER:
                raise AudioFormatError("WAV header too long: no 'data' chunk in the first 1 MiB")
            return None
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if chunk_id == b"data":
            if fmt is None:
                raise AudioFormatError("WAV 'data' chunk before its 'fmt ' chunk")
            return _wav_result(fmt, body)
        if body + size > len(data):
            if len(data) > _MAX_HEADER:
                raise AudioFormatError("WAV header too long: no 'data' chunk in the first 1 MiB")
            return None
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(data[body : body + size])
        pos = body + size + (size & 1)


def _parse_fmt(body: bytes) -> tuple[int, int, int, int, int]:
    if len(body) < 16:
        raise AudioFormatError("WAV 'fmt ' chunk too short")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body, 0)
    if tag == _WAVE_FORMAT_EXTENSIBLE:
        if len(body) < 26:
            raise AudioFormatError("WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk too short")
        (tag,) = struct.unpack_from("<H", body, 24)  # first two bytes of the sub-format GUID
    return tag, channels, rate, block_align, bits


def _wav_result(fmt: tuple[int, int, int, int, int], data_offset: int) -> WavHeader:
    tag, channels, rate, block_align, bits = fmt
    if channels < 1 or rate < 1:
        raise AudioFormatError(f"WAV header has {channels} channels at {rate} Hz")
    kind: SampleKind
    if tag == _WAVE_FORMAT_PCM and bits in (8, 16, 24, 32):
        kind = {8: "pcm_u8", 16: "pcm_s16", 24: "pcm_s24", 32: "pcm_s32"}[bits]  # type: ignore[assignment]
    elif tag == _WAVE_FORMAT_IEEE_FLOAT and bits in (32, 64):
        kind = "float32" if bits == 32 else "float64"
    elif tag == _WAVE_FORMAT_MULAW and bits == 8:
        kind = "mulaw"
    elif tag == _WAVE_FORMAT_ALAW and bits == 8:
        kind = "alaw"
    else:
        raise AudioFormatError(
            f"WAV sample format 0x{tag:04x} with {bits} bits per sample is not supported "
            "(supported: PCM 8/16/24/32-bit, float 32/64-bit, mu-law, A-law)"
        )
    sample_format = SampleFormat(kind, channels, rate)
    if block_align and block_align != sample_format.frame_width:
        raise AudioFormatError(
            f"WAV block align {block_align} does not match {channels} x {bits}-bit samples"
        )
    return WavHeader(sample_format, data_offset, bits, tag)


# --- channels ------------------------------------------------------------------------------


def split_channels(samples: array[int], channels: int) -> list[array[int]]:
    """De-interleave ``samples`` into one array per channel."""
    if channels == 1:
        return [samples]
    return [samples[i::channels] for i in range(channels)]


def downmix(samples: array[int], channels: int) -> array[int]:
    """Average interleaved ``samples`` of ``channels`` channels to mono."""
    if channels == 1:
        return samples
    parts = split_channels(samples, channels)
    if channels == 2:
        return array("h", [(a + b) >> 1 for a, b in zip(parts[0], parts[1], strict=True)])
    return array("h", [int(sum(group) / channels) for group in zip(*parts, strict=True)])


# --- resampling ----------------------------------------------------------------------------


class Resampler:
    """Streaming sample-rate conversion of one channel of 16-bit samples.

    Integer decimation (48 kHz -> 16 kHz) averages each block of input samples (a box filter
    that also tames aliasing); any other ratio interpolates linearly. State carries over between
    calls, so chunk boundaries do not matter: the output has ``len(input) * dst / src`` samples
    within one sample overall.
    """

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError("sample rates must be positive")
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        g = math.gcd(src_rate, dst_rate)
        self._up = dst_rate // g
        self._down = src_rate // g
        self._buf: array[int] = array("h")
        self._base = 0  # absolute input index of self._buf[0]
        self._k = 0  # index of the next output sample

    @property
    def passthrough(self) -> bool:
        """True when both rates are equal and samples pass unchanged."""
        return self._up == self._down

    def process(self, samples: array[int]) -> array[int]:
        """Resample the next chunk of the stream."""
        if self._up == self._down:
            return samples
        buf = self._buf + samples if self._buf else samples
        if self._up == 1:
            return self._decimate(buf)
        return self._interpolate(buf)

    def _decimate(self, buf: array[int]) -> array[int]:
        step = self._down
        usable = len(buf) - len(buf) % step
        out = array("h", [sum(buf[i : i + step]) // step for i in range(0, usable, step)])
        self._buf = buf[usable:]
        return out

    def _interpolate(self, buf: array[int]) -> array[int]:
        up, down, base, k = self._up, self._down, self._base, self._k
        n = len(buf)
        out = array("h")
        append = out.append
        while True:
            num = k * down
            i = num // up - base
            if i + 1 >= n:
                break
            a = buf[i]
            append(a + (buf[i + 1] - a) * (num % up) // up)
            k += 1
        keep = min(max((k * down) // up - base, 0), n)
        self._buf = buf[keep:]
        self._base = base + keep
        self._k = k
        return out


# --- speech detection ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VadConfig:
    """Tuning of :class:`EnergyVad`. Levels are RMS of 16-bit samples (32767 = full scale).

    A frame is *loud* when its RMS exceeds both ``start_level`` and ``start_ratio`` times the
    noise floor; speech starts after ``min_speech_ms`` of consecutive loud frames. Once in
    speech a frame stays *voiced* while it exceeds ``continue_level`` and ``continue_ratio``
    times the floor; speech ends after ``min_silence_ms`` of consecutive unvoiced frames.

    The noise floor starts at the level of the first frame that is not digital silence (RMS of
    at least ``silence_level``), capped at ``initial_floor_max`` so that audio opening with
    speech is still detected, while audio opening with steady noise is not. It then follows
    quieter frames quickly (``floor_fall`` per frame) and louder ones slowly (time constant
    ``floor_rise_s``); during speech it rises much more slowly still
    (``floor_rise_in_speech_s``), so that a steady noise mistaken for speech is eventually let
    go while a long steady tone is not cut short (a constant level ends after about
    0.7 x ``floor_rise_in_speech_s``). Digital silence (below ``silence_level``) only brings
    the floor back down to ``initial_floor_max``, never below: it says nothing about the noise
    that real audio after it may carry.
    """

    frame_ms: int = 10
    min_speech_ms: int = 50
    min_silence_ms: int = 200
    start_level: float = 100.0
    continue_level: float = 60.0
    start_ratio: float = 3.0
    continue_ratio: float = 2.0
    silence_level: float = 5.0
    initial_floor_max: float = 200.0
    floor_fall: float = 0.2
    floor_rise_s: float = 1.0
    floor_rise_in_speech_s: float = 20.0

    def frame_samples(self, sample_rate: int) -> int:
        """Samples of one frame at ``sample_rate``."""
        return max(1, sample_rate * self.frame_ms // 1000)


class VadEvent(NamedTuple):
    """A speech boundary: ``kind`` is ``"start"`` (``frame`` = first frame of speech) or
    ``"end"`` (``frame`` = first frame of the silence that ended it)."""

    kind: Literal["start", "end"]
    frame: int


def frame_rms(frame: Sequence[int]) -> float:
    """Root mean square of a frame of samples."""
    if not frame:
        return 0.0
    return math.sqrt(sum(map(operator.mul, frame, frame)) / len(frame))


class EnergyVad:
    """Energy-based speech detector with hysteresis for one channel, fed frame by frame.

    Frames are counted from 0; :meth:`process` returns whether the frame is voiced and the
    boundary event it completed, if any. Detection depends only on the samples, never on
    wall-clock time, so the same audio always gives the same segments.
    """

    def __init__(self, sample_rate: int, config: VadConfig | None = None) -> None:
        self.config = cfg = config or VadConfig()
        self.sample_rate = sample_rate
        self.frame_samples = cfg.frame_samples(sample_rate)
        frame_s = self.frame_samples / sample_rate
        self._min_speech = max(1, math.ceil(cfg.min_speech_ms / 1000 / frame_s - 1e-9))
        self._min_silence = max(1, math.ceil(cfg.min_silence_ms / 1000 / frame_s - 1e-9))
        self._rise = min(1.0, frame_s / cfg.floor_rise_s) if cfg.floor_rise_s > 0 else 1.0
        self._rise_speech = (
            min(1.0, frame_s / cfg.floor_rise_in_speech_s)
            if cfg.floor_rise_in_speech_s > 0
            else 0.0
        )
        self.floor: float | None = None  # set by the first frame that is not digital silence
        self.in_speech = False
        self.frame_index = 0
        self._run_start = -1  # first frame of the current loud run (before speech starts)
        self._silence_start = -1  # first frame of the current unvoiced run (in speech)

    @property
    def frame_seconds(self) -> float:
        """Duration of one frame in seconds."""
        return self.frame_samples / self.sample_rate

    def process(self, frame: Sequence[int]) -> tuple[bool, VadEvent | None]:
        """Feed the next frame; returns ``(voiced, event)``."""
        cfg = self.config
        rms = frame_rms(frame)
        index = self.frame_index
        self.frame_index += 1
        event: VadEvent | None = None
        if self.floor is None and rms >= cfg.silence_level:
            self.floor = min(rms, cfg.initial_floor_max)
        floor = self.floor if self.floor is not None else 0.0
        if not self.in_speech:
            loud = rms > cfg.start_level and rms > cfg.start_ratio * floor
            self._adapt(rms, self._rise)
            if loud:
                if self._run_start < 0:
                    self._run_start = index
                if index - self._run_start + 1 >= self._min_speech:
                    self.in_speech = True
                    self._silence_start = -1
                    event = VadEvent("start", self._run_start)
                    self._run_start = -1
            else:
                self._run_start = -1
            return self.in_speech, event
        voiced = rms > cfg.continue_level and rms > cfg.continue_ratio * floor
        self._adapt(rms, self._rise_speech)
        if voiced:
            self._silence_start = -1
            return True, None
        if self._silence_start < 0:
            self._silence_start = index
        if index - self._silence_start + 1 >= self._min_silence:
            self.in_speech = False
            event = VadEvent("end", self._silence_start)
            self._silence_start = -1
        return False, event

    def _adapt(self, rms: float, rise: float) -> None:
        floor = self.floor
        if floor is None:
            return
        cfg = self.config
        if rms < cfg.silence_level:
            # Digital silence says little about the noise: it only brings a high floor back
            # down to the initial cap.
            if floor > cfg.initial_floor_max:
                self.floor = floor + (cfg.initial_floor_max - floor) * cfg.floor_fall
            return
        if rms < floor:
            floor += (rms - floor) * cfg.floor_fall
        else:
            floor += (rms - floor) * rise
        self.floor = floor

    def segments(self, samples: Sequence[int]) -> list[tuple[float, float | None]]:
        """Run over ``samples`` (continuing this detector's state) and list the speech
        segments found as ``(start_s, end_s)``; ``end_s`` is ``None`` for a segment still
        open at the end. A convenience for tests and offline use."""
        found: list[tuple[float, float | None]] = []
        n = self.frame_samples
        frame_s = self.frame_seconds
        for offset in range(0, len(samples) - n + 1, n):
            _, event = self.process(samples[offset : offset + n])
            if event is None:
                continue
            at = round(event.frame * frame_s, 6)
            if event.kind == "start":
                found.append((at, None))
            elif found:
                found[-1] = (found[-1][0], at)
        return found
