"""Streaming format conversion: encoding, channel count and sample rate, in pure Python.

:class:`AudioConverter` chains three steps, each carrying its state across chunks so that the
way a stream is cut into chunks never changes the result (the output of many small chunks is
*identical* to the output of one big chunk):

1. decode the source encoding to 16-bit samples (G.711 through lookup tables), holding back an
   incomplete sample frame until its remaining bytes arrive;
2. convert the channel count (see :func:`~._pcm.convert_channels`): before the rate change when
   it reduces the channels, after it otherwise, so that the filter runs on the fewest channels;
3. convert the sample rate with :class:`RateConverter`, then encode to the target encoding.

:class:`LinearRateConverter` is the cheap alternative (block averaging for integer decimation,
linear interpolation otherwise), which the local server uses unless an engine asks for fine
resampling.

Rate conversion is band-limited interpolation (a polyphase windowed-sinc FIR filter) rather
than plain linear interpolation: it costs a few microseconds per output sample in pure Python
and keeps aliasing (when downsampling) and imaging (when upsampling) down by about 70 dB. The
filter's cut-off is 90 % of the lower of the two Nyquist frequencies, so it is also the
anti-alias low-pass when downsampling. Each output sample is one dot product over the filter
taps (``math.sumprod`` from Python 3.12, ``sum(map(mul, ...))`` before), which keeps the inner
loop in C. Every phase of the filter is normalised to a gain of exactly 1, so DC passes
unchanged.
"""

from __future__ import annotations

import functools
import math
import operator
from array import array
from collections.abc import Callable, Sequence

from ._format import AudioFormat
from ._pcm import (
    alaw_decode,
    alaw_encode,
    convert_channels,
    from_pcm16,
    mulaw_decode,
    mulaw_encode,
    to_pcm16,
)

__all__ = ["AudioConverter", "LinearRateConverter", "RateConverter"]

_ZERO_CROSSINGS = 12
"""Zero crossings of the sinc on each side of the centre tap."""
_CUTOFF = 0.90
"""Cut-off as a fraction of the lower Nyquist frequency."""
_KAISER_BETA = 7.5
"""Kaiser window shape: about 70 dB of stop-band rejection."""
_MAX_PHASES = 1024
"""Rate ratios needing more filter phases than this use the nearest of 1024 phases."""


def _sum_of_products(values: Sequence[float], taps: Sequence[float]) -> float:
    total: float = sum(map(operator.mul, values, taps))
    return total


_dot: Callable[[Sequence[float], Sequence[float]], float] = getattr(
    math, "sumprod", _sum_of_products
)
"""The dot product: ``math.sumprod`` (Python 3.12+, several times faster) when available."""


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


@functools.cache
def _filter(up: int, down: int) -> tuple[int, int, tuple[tuple[float, ...], ...]]:
    """The polyphase filter bank for a rate ratio ``up / down``.

    Returns ``(reach, phases, taps)``: output sample ``k`` sits at input position
    ``p = k * down / up``; with ``i = floor(p)`` and phase index ``round(frac(p) * phases)``,
    it is ``sum(x[i - reach + 1 + j] * taps[phase][j] for j in range(2 * reach))``.
    """
    ratio = min(1.0, up / down)
    zero_spacing = 1.0 / (_CUTOFF * ratio)  # input samples between zeros of the sinc
    half_len = _ZERO_CROSSINGS * zero_spacing
    reach = math.ceil(half_len)
    phases = up if up <= _MAX_PHASES else _MAX_PHASES
    norm = _bessel_i0(_KAISER_BETA)
    bank: list[tuple[float, ...]] = []
    for phase in range(phases + 1):
        frac = phase / phases
        taps: list[float] = []
        for j in range(-reach + 1, reach + 1):
            t = frac - j  # distance from the output position to input sample i + j
            x = t / half_len
            if abs(x) >= 1.0:
                taps.append(0.0)
                continue
            arg = math.pi * t / zero_spacing
            sinc = math.sin(arg) / arg if arg else 1.0
            window = _bessel_i0(_KAISER_BETA * math.sqrt(1.0 - x * x)) / norm
            taps.append(sinc * window)
        gain = sum(taps)
        bank.append(tuple(tap / gain for tap in taps))
    return reach, phases, tuple(bank)


class RateConverter:
    """Streaming sample-rate conversion of one channel of 16-bit samples.

    Feed chunks to :meth:`process`, then call :meth:`flush` once at the end of the stream: the
    filter looks ``reach`` input samples ahead, so the last few output samples wait for either
    more input or the flush. In total a stream of ``n`` input samples gives
    ``ceil(n * dst_rate / src_rate)`` output samples, the same however it was chunked.
    """

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        g = math.gcd(src_rate, dst_rate)
        self._up = dst_rate // g
        self._down = src_rate // g
        self._reach, self._phases, self._bank = _filter(self._up, self._down)
        # The input before the stream's start is silence: the first output needs `reach - 1`
        # samples before input sample 0.
        self._buf: list[float] = [0.0] * (self._reach - 1)
        self._base = -(self._reach - 1)  # absolute index of self._buf[0]
        self._k = 0  # index of the next output sample
        self._received = 0
        self._flushed = False

    def process(self, samples: array[int]) -> array[int]:
        """Resample the next chunk of the stream (any length, including 0)."""
        if self._flushed:
            raise ValueError("RateConverter.process() after flush()")
        self._buf.extend(map(float, samples))  # float x float is the fastest product
        self._received += len(samples)
        return self._run(None)

    def flush(self) -> array[int]:
        """The output still owed at the end of the stream (the input after it is silence)."""
        if self._flushed:
            return array("h")
        self._flushed = True
        total = -(-self._received * self._up // self._down)
        self._buf.extend([0.0] * (self._reach + 1))
        return self._run(total)

    def _run(self, limit: int | None) -> array[int]:
        up, down, reach, phases, bank = self._up, self._down, self._reach, self._phases, self._bank
        buf, base, k = self._buf, self._base, self._k
        end = base + len(buf)  # absolute index one past the last buffered sample
        exact = phases == up
        width = 2 * reach
        dot = _dot
        out: list[int] = []
        append = out.append
        while limit is None or k < limit:
            i, rem = divmod(k * down, up)
            if i + reach >= end:
                break
            start = i - reach + 1 - base
            taps = bank[rem if exact else (rem * phases + up // 2) // up]
            append(round(dot(buf[start : start + width], taps)))
            k += 1
        drop = (k * down) // up - reach + 1 - base
        if drop > 0:
            del buf[:drop]
            self._base = base + drop
        self._k = k
        if out and (max(out) > 32767 or min(out) < -32768):
            out = [32767 if v > 32767 else -32768 if v < -32768 else v for v in out]
        return array("h", out)


class LinearRateConverter:
    """Cheap streaming sample-rate conversion of one channel of 16-bit samples (the local
    server's default for bringing audio to a recogniser's rate: ~4 ms of CPU per audio second,
    against 25-35 ms for :class:`RateConverter`).

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


class AudioConverter:
    """Convert a stream of audio bytes from one :class:`AudioFormat` to another.

    ``convert(chunk)`` returns the converted bytes available so far (possibly empty) and
    ``flush()`` the rest at the end of the stream. Chunks may split a sample frame anywhere.
    When only the encoding changes nothing is held back; a sample-rate change holds back about
    half a millisecond of output until more input (or the flush) arrives. Equal formats pass
    bytes through unchanged. See the module docstring for the method and its quality.
    """

    def __init__(self, src: AudioFormat, dst: AudioFormat) -> None:
        self.src = src
        self.dst = dst
        self._passthrough = src == dst
        self._rest = b""
        self._early_mix = dst.channels < src.channels
        rate_channels = dst.channels if self._early_mix else src.channels
        self._rates = (
            [RateConverter(src.sample_rate, dst.sample_rate) for _ in range(rate_channels)]
            if src.sample_rate != dst.sample_rate
            else []
        )
        self._flushed = False

    def convert(self, data: bytes) -> bytes:
        """Convert the next chunk of the stream."""
        if self._flushed:
            raise ValueError("AudioConverter.convert() after flush()")
        if self._passthrough:
            return bytes(data)
        if self._rest:
            data = self._rest + data
        frame = self.src.frame_bytes
        usable = len(data) - len(data) % frame
        self._rest = bytes(data[usable:])
        if usable == 0:
            return b""
        samples = self._decode(data[:usable] if usable < len(data) else data)
        return self._forward(samples, flush=False)

    def flush(self) -> bytes:
        """The converted bytes still held back at the end of the stream. An incomplete trailing
        sample frame is dropped."""
        if self._flushed or self._passthrough:
            self._flushed = True
            return b""
        self._flushed = True
        self._rest = b""
        if not self._rates:
            return b""
        return self._forward(array("h"), flush=True)

    def _decode(self, data: bytes) -> array[int]:
        encoding = self.src.encoding
        if encoding == "mulaw":
            return to_pcm16(mulaw_decode(data))
        if encoding == "alaw":
            return to_pcm16(alaw_decode(data))
        return to_pcm16(bytes(data))

    def _forward(self, samples: array[int], *, flush: bool) -> bytes:
        src_ch, dst_ch = self.src.channels, self.dst.channels
        if self._early_mix:
            samples = convert_channels(samples, src_ch, dst_ch)
        if self._rates:
            samples = self._resample(samples, flush)
        if not self._early_mix:
            samples = convert_channels(samples, src_ch, dst_ch)
        return self._encode(samples)

    def _resample(self, samples: array[int], flush: bool) -> array[int]:
        rates = self._rates
        count = len(rates)
        if count == 1:
            out = rates[0].process(samples)
            if flush:
                out.extend(rates[0].flush())
            return out
        parts: list[array[int]] = []
        for c, rate in enumerate(rates):
            part = rate.process(samples[c::count])
            if flush:
                part.extend(rate.flush())
            parts.append(part)
        frames = min(len(p) for p in parts)
        interleaved = array("h", bytes(2 * frames * count))
        for c, part in enumerate(parts):
            interleaved[c::count] = part[:frames]
        return interleaved

    def _encode(self, samples: array[int]) -> bytes:
        pcm = from_pcm16(samples)
        encoding = self.dst.encoding
        if encoding == "mulaw":
            return mulaw_encode(pcm)
        if encoding == "alaw":
            return alaw_encode(pcm)
        return pcm
