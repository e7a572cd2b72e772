"""Output-side PCM helpers of the local server, in pure Python (no numpy, no ``audioop``).

The Listen channels *decode* audio (``_audio.py``); the Speak and Agent channels *produce* it.
This module holds what producing needs:

* :func:`resample_pcm16` — one-shot, band-limited sample-rate conversion of a whole utterance:
  a polyphase windowed-sinc filter (Kaiser window, ``beta`` 8.6, 16 zero crossings at the
  narrower of the two Nyquist frequencies, cut-off at 90 % of it). Stop-band rejection is about
  80 dB, so a TTS engine's 22.05 kHz output can be brought to 8/16/24/48 kHz without audible
  aliasing or imaging. The filter is built once per rate pair and cached; each output sample
  is one ``sum(map(mul, window, taps))``, which keeps the inner loop in C.
* :func:`mulaw_encode` / :func:`alaw_encode` — the ITU-T G.711 encoders of
  :mod:`rxdeepgram.audio`, re-exported: the server and the client share one codec.
* :func:`encode_pcm16` — 16-bit PCM to a Speak output ``encoding`` (``linear16``, ``mulaw``,
  ``alaw``) and :func:`bytes_per_second` for sizing chunks.

All PCM is 16-bit little-endian mono, as ``bytes``.
"""

from __future__ import annotations

import functools
import math
import operator
from array import array

from ..audio._pcm import alaw_encode, mulaw_encode
from ._audio import pcm16_from_bytes, pcm16_to_bytes

__all__ = [
    "OUTPUT_ENCODINGS",
    "alaw_encode",
    "bytes_per_second",
    "encode_pcm16",
    "mulaw_encode",
    "resample_pcm16",
]

OUTPUT_ENCODINGS: dict[str, int] = {"linear16": 2, "mulaw": 1, "alaw": 1}
"""The raw output encodings the server produces, with their bytes per sample."""

_ZERO_CROSSINGS = 16
_CUTOFF = 0.90
_KAISER_BETA = 8.6


# --- resampling ----------------------------------------------------------------------------


def _bessel_i0(x: float) -> float:
    """The modified Bessel function of the first kind, order 0 (power series)."""
    total = term = 1.0
    half = x / 2.0
    k = 1
    while term > 1e-12 * total:
        term *= (half / k) ** 2
        total += term
        k += 1
    return total


@functools.lru_cache(maxsize=32)
def _polyphase(src_rate: int, dst_rate: int) -> tuple[int, int, int, tuple[tuple[float, ...], ...]]:
    """``(up, down, half_width, phases)``: the filter for ``src_rate -> dst_rate``.

    ``phases[p]`` holds the taps applied to input samples ``i - half_width + 1 ... i +
    half_width`` for an output sample whose position in the input is ``i + p / up``.
    """
    g = math.gcd(src_rate, dst_rate)
    up, down = dst_rate // g, src_rate // g
    # The cut-off, as a fraction of the input's Nyquist frequency.
    scale = min(1.0, up / down)
    cutoff = _CUTOFF * scale
    half_width = math.ceil(_ZERO_CROSSINGS / scale)
    i0_beta = _bessel_i0(_KAISER_BETA)
    phases: list[tuple[float, ...]] = []
    for p in range(up):
        frac = p / up
        taps: list[float] = []
        for j in range(-half_width + 1, half_width + 1):
            t = j - frac  # distance from the output position, in input samples
            x = t / half_width
            if abs(x) >= 1.0:
                taps.append(0.0)
                continue
            window = _bessel_i0(_KAISER_BETA * math.sqrt(1.0 - x * x)) / i0_beta
            arg = math.pi * cutoff * t
            sinc = 1.0 if arg == 0 else math.sin(arg) / arg
            taps.append(cutoff * sinc * window)
        # Normalise each phase to unity DC gain so a constant stays constant.
        total = sum(taps)
        phases.append(tuple(tap / total for tap in taps))
    return up, down, half_width, tuple(phases)


def resample_pcm16(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """``pcm`` (16-bit little-endian mono at ``src_rate``) at ``dst_rate``.

    The output has ``ceil(len(samples) * dst_rate / src_rate)`` samples; the signal is treated
    as silent outside ``pcm`` (fine for a whole utterance, which starts and ends quietly).
    Equal rates return ``pcm`` unchanged.
    """
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError("sample rates must be positive")
    if src_rate == dst_rate or not pcm:
        return pcm
    samples = pcm16_from_bytes(pcm)
    up, down, half, phases = _polyphase(src_rate, dst_rate)
    n_in = len(samples)
    n_out = -(-n_in * up // down)
    # Pad so every window is in range: index k of ``padded`` is input sample k - half.
    padded = [0.0] * half + [float(s) for s in samples] + [0.0] * (half + 1)
    out = array("h", bytes(2 * n_out))
    mul = operator.mul
    for n in range(n_out):
        pos = n * down
        i, p = divmod(pos, up)
        # taps cover input samples i - half + 1 .. i + half -> padded[i + 1 : i + 2 * half + 1]
        value = sum(map(mul, padded[i + 1 : i + 2 * half + 1], phases[p]))
        if value >= 32767.0:
            out[n] = 32767
        elif value <= -32768.0:
            out[n] = -32768
        else:
            out[n] = round(value)
    return pcm16_to_bytes(out)


# --- G.711 encoding: the library's codecs (rxdeepgram.audio) ---------------------------------


def encode_pcm16(pcm: bytes, encoding: str) -> bytes:
    """16-bit PCM in the Speak output ``encoding`` (``linear16`` returns ``pcm`` itself)."""
    if encoding == "linear16":
        return pcm
    if encoding == "mulaw":
        return mulaw_encode(pcm)
    if encoding == "alaw":
        return alaw_encode(pcm)
    raise ValueError(f"unsupported output encoding {encoding!r} (linear16, mulaw, alaw)")


def bytes_per_second(encoding: str, sample_rate: int) -> int:
    """Bytes of one second of mono audio in ``encoding`` at ``sample_rate``."""
    try:
        width = OUTPUT_ENCODINGS[encoding]
    except KeyError:
        raise ValueError(f"unsupported output encoding {encoding!r}") from None
    return width * sample_rate
