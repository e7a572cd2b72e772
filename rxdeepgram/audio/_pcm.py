"""Sample-level conversions in pure Python (no numpy, no ``audioop``).

* ITU-T G.711 mu-law and A-law, both ways, bit-exact with the reference algorithm (Sun's
  ``g711.c``, which CPython's former ``audioop`` also used). Decoding maps each byte through two
  256-entry tables with ``bytes.translate`` (C speed); encoding looks each 16-bit sample up in a
  65536-entry table built on first use.
* 16-bit little-endian PCM bytes <-> ``array('h')`` (byte-swapped on big-endian hosts).
* Other PCM widths (unsigned 8-bit, 24-bit, 32-bit, float) to 16-bit, for WAV files.
* Channel conversion of interleaved samples: downmix to mono by averaging, mono to many by
  duplication, and anything else through mono.
"""

from __future__ import annotations

import functools
import sys
from array import array
from collections.abc import Callable

__all__ = [
    "alaw_decode",
    "alaw_encode",
    "convert_channels",
    "float_to_pcm16",
    "from_pcm16",
    "mulaw_decode",
    "mulaw_encode",
    "pcm_to_pcm16",
    "to_pcm16",
]

_BIG_ENDIAN = sys.byteorder == "big"

# --- G.711 ---------------------------------------------------------------------------------

_SEG_ULAW = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_SEG_ALAW = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for index, end in enumerate(ends):
        if value <= end:
            return index
    return len(ends)


def _linear_to_ulaw(sample: int) -> int:
    """Encode one 16-bit sample to mu-law (14-bit magnitude, bias 33, clip 8159)."""
    value = sample >> 2
    if value < 0:
        value = -value
        mask = 0x7F
    else:
        mask = 0xFF
    value = min(value, 8159) + 0x21
    seg = _segment(value, _SEG_ULAW)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (seg + 1)) & 0x0F)) ^ mask


def _linear_to_alaw(sample: int) -> int:
    """Encode one 16-bit sample to A-law (13-bit magnitude)."""
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    seg = _segment(value, _SEG_ALAW)
    if seg >= 8:
        return 0x7F ^ mask
    code = seg << 4
    code |= (value >> 1) & 0x0F if seg < 2 else (value >> seg) & 0x0F
    return code ^ mask


def _ulaw_to_linear(code: int) -> int:
    code = ~code & 0xFF
    value = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - value if code & 0x80 else value - 0x84


def _alaw_to_linear(code: int) -> int:
    code ^= 0x55
    value = (code & 0x0F) << 4
    seg = (code & 0x70) >> 4
    if seg == 0:
        value += 8
    elif seg == 1:
        value += 0x108
    else:
        value = (value + 0x108) << (seg - 1)
    return value if code & 0x80 else -value


def _decode_tables(decode: Callable[[int], int]) -> tuple[bytes, bytes]:
    values = [decode(code) for code in range(256)]
    return bytes(v & 0xFF for v in values), bytes((v >> 8) & 0xFF for v in values)


_ULAW_LO, _ULAW_HI = _decode_tables(_ulaw_to_linear)
_ALAW_LO, _ALAW_HI = _decode_tables(_alaw_to_linear)


def _expand(data: bytes, lo: bytes, hi: bytes) -> bytes:
    out = bytearray(2 * len(data))
    out[0::2] = data.translate(lo)
    out[1::2] = data.translate(hi)
    return bytes(out)


@functools.cache
def _encode_table(encoding: str) -> bytes:
    """The code of every 16-bit sample, indexed by the sample as an unsigned 16-bit value."""
    encode = _linear_to_ulaw if encoding == "mulaw" else _linear_to_alaw
    return bytes(encode(i - 65536 if i >= 32768 else i) for i in range(65536))


def _compress(data: bytes, encoding: str) -> bytes:
    samples = array("H")
    samples.frombytes(data[: len(data) - len(data) % 2])
    if _BIG_ENDIAN:
        samples.byteswap()
    return bytes(map(_encode_table(encoding).__getitem__, samples))


def mulaw_decode(data: bytes) -> bytes:
    """G.711 mu-law bytes to 16-bit little-endian PCM (two bytes out per byte in)."""
    return _expand(data, _ULAW_LO, _ULAW_HI)


def alaw_decode(data: bytes) -> bytes:
    """G.711 A-law bytes to 16-bit little-endian PCM (two bytes out per byte in)."""
    return _expand(data, _ALAW_LO, _ALAW_HI)


def mulaw_encode(data: bytes) -> bytes:
    """16-bit little-endian PCM to G.711 mu-law (one byte out per sample in).

    A trailing odd byte is ignored. ``mulaw_decode(mulaw_encode(x))`` is the nearest mu-law
    level of each sample; ``mulaw_encode(mulaw_decode(c)) == c`` for every code except the
    negative zero ``0x7F``, which encodes back as ``0xFF``.
    """
    return _compress(data, "mulaw")


def alaw_encode(data: bytes) -> bytes:
    """16-bit little-endian PCM to G.711 A-law (one byte out per sample in).

    A trailing odd byte is ignored; ``alaw_encode(alaw_decode(c)) == c`` for every code.
    """
    return _compress(data, "alaw")


# --- 16-bit PCM ----------------------------------------------------------------------------


def to_pcm16(data: bytes) -> array[int]:
    """16-bit little-endian PCM bytes (even length) as an ``array('h')`` of native ints."""
    samples = array("h")
    samples.frombytes(data)
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples


def from_pcm16(samples: array[int]) -> bytes:
    """An ``array('h')`` as 16-bit little-endian PCM bytes."""
    if _BIG_ENDIAN:
        swapped = array("h", samples)
        swapped.byteswap()
        return swapped.tobytes()
    return samples.tobytes()


_U8_LO = bytes(256)
_U8_HI = bytes(i ^ 0x80 for i in range(256))


def pcm_to_pcm16(data: bytes, width: int) -> bytes:
    """Little-endian integer PCM of ``width`` bytes per sample (1 = unsigned 8-bit as WAV
    stores it, 2, 3 or 4 = signed) to 16-bit little-endian PCM, keeping the top 16 bits."""
    if width == 2:
        return data
    if width == 1:
        return _expand(data, _U8_LO, _U8_HI)
    if width not in (3, 4):
        raise ValueError(f"unsupported PCM sample width: {width} bytes")
    count = len(data) // width
    out = bytearray(2 * count)
    out[0::2] = data[width - 2 :: width][:count]
    out[1::2] = data[width - 1 :: width][:count]
    return bytes(out)


def float_to_pcm16(data: bytes, width: int) -> bytes:
    """Little-endian IEEE float PCM (``width`` 4 or 8) in [-1, 1] to 16-bit little-endian PCM,
    clipping out-of-range values (NaN becomes 0)."""
    values = array("f" if width == 4 else "d")
    values.frombytes(data[: len(data) - len(data) % width])
    if _BIG_ENDIAN:
        values.byteswap()
    out = array(
        "h",
        [round(max(-1.0, min(1.0, v)) * 32767.0) if v == v else 0 for v in values],
    )
    return from_pcm16(out)


# --- channels ------------------------------------------------------------------------------


def convert_channels(samples: array[int], src: int, dst: int) -> array[int]:
    """Convert interleaved ``samples`` from ``src`` to ``dst`` channels.

    Many -> one averages the channels; one -> many copies the channel to each; any other change
    goes through mono (average, then copy).
    """
    if src == dst:
        return samples
    if src != 1:
        parts = [samples[c::src] for c in range(src)]
        if src == 2:
            mono = array("h", [(a + b) >> 1 for a, b in zip(parts[0], parts[1], strict=True)])
        else:
            mono = array("h", [s // src for s in map(sum, zip(*parts, strict=True))])
        if dst == 1:
            return mono
        samples = mono
    out = array("h", bytes(2 * len(samples) * dst))
    for c in range(dst):
        out[c::dst] = samples
    return out
