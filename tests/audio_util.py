"""Synthetic audio for tests: tone bursts and noise stand in for speech, zeros for silence.

Everything is 16-bit PCM as ``array('h')`` (native ints) or little-endian ``bytes``; the G.711
encoders and the WAV writer are independent of the server's decoders so that tests check one
against the other.
"""

from __future__ import annotations

import io
import math
import random
import struct
import sys
import wave
from array import array
from collections.abc import Iterable, Iterator, Sequence

RATE = 16000


def tone(seconds: float, rate: int = RATE, amp: int = 8000, freq: float = 440.0) -> array[int]:
    """A sine burst (``amp`` peak) standing in for speech."""
    n = round(seconds * rate)
    step = 2 * math.pi * freq / rate
    return array("h", [int(amp * math.sin(step * i)) for i in range(n)])


def silence(seconds: float, rate: int = RATE) -> array[int]:
    """Digital silence."""
    return array("h", bytes(2 * round(seconds * rate)))


def noise(seconds: float, rate: int = RATE, amp: int = 8000, seed: int = 1) -> array[int]:
    """Uniform white noise in ``[-amp, amp]`` (deterministic for a seed)."""
    rng = random.Random(seed)
    return array("h", [rng.randint(-amp, amp) for _ in range(round(seconds * rate))])


def concat(*parts: Sequence[int]) -> array[int]:
    """Join sample sequences."""
    out = array("h")
    for part in parts:
        out.extend(part)
    return out


def pcm16(samples: Sequence[int]) -> bytes:
    """Little-endian 16-bit PCM bytes."""
    data = array("h", samples)
    if sys.byteorder == "big":
        data.byteswap()
    return data.tobytes()


def interleave(*channels: Sequence[int]) -> array[int]:
    """Interleave equal-length channels into one sample array."""
    lengths = {len(c) for c in channels}
    assert len(lengths) == 1, "channels must have the same length"
    out = array("h", bytes(2 * len(channels[0]) * len(channels)))
    for index, channel in enumerate(channels):
        out[index :: len(channels)] = array("h", channel)
    return out


def chunks(data: bytes, size: int = 3200) -> Iterator[bytes]:
    """Split ``data`` in frames of ``size`` bytes (100 ms of 16 kHz linear16 by default)."""
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


def lin2ulaw(sample: int) -> int:
    """G.711 mu-law encoding of one 16-bit sample (the classic Sun reference algorithm)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, 32635) + 0x84
    exponent = min(max(magnitude.bit_length() - 8, 0), 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def lin2alaw(sample: int) -> int:
    """G.711 A-law encoding of one 16-bit sample."""
    if sample >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        sample = -sample - 1
    sample = min(sample, 32767)
    if sample < 256:
        code = sample >> 4
    else:
        exponent = min(sample.bit_length() - 8, 7)
        code = (exponent << 4) | ((sample >> (exponent + 3)) & 0x0F)
    return code ^ mask


def mulaw(samples: Iterable[int]) -> bytes:
    """Encode samples to mu-law bytes."""
    return bytes(lin2ulaw(s) for s in samples)


def alaw(samples: Iterable[int]) -> bytes:
    """Encode samples to A-law bytes."""
    return bytes(lin2alaw(s) for s in samples)


def wav_pcm16(samples: Sequence[int], rate: int = RATE, channels: int = 1) -> bytes:
    """A 16-bit PCM WAV file (via the standard library's ``wave``)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm16(samples))
    return buf.getvalue()


def wav_header(
    *,
    format_tag: int,
    channels: int,
    rate: int,
    bits: int,
    data_size: int = 0xFFFFFFFF,
    extensible: bool = False,
    extra_chunks: bytes = b"",
) -> bytes:
    """A hand-written WAV header (any format tag, optional WAVE_FORMAT_EXTENSIBLE, optional
    chunks before ``data``), for formats ``wave`` cannot write."""
    block = channels * bits // 8
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = (
            struct.pack(
                "<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0
            )
            + struct.pack("<H", format_tag)
            + guid_tail
        )
    else:
        fmt = struct.pack("<HHIIHH", format_tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
    body += b"data" + struct.pack("<I", data_size)
    return b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + body
