"""``AudioFormat``: how raw audio on the wire is laid out (encoding, sample rate, channels)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict, get_args

__all__ = ["Encoding", "FormatOptions", "AudioFormat"]

Encoding = Literal["linear16", "mulaw", "alaw"]
"""The raw encodings rxdeepgram's audio helpers read, write and convert: 16-bit signed
little-endian PCM and the two ITU-T G.711 companded 8-bit encodings."""

ENCODINGS: tuple[Encoding, ...] = get_args(Encoding)

_SAMPLE_WIDTH: dict[str, int] = {"linear16": 2, "mulaw": 1, "alaw": 1}


class FormatOptions(TypedDict):
    """The connect options that describe raw audio, as returned by :meth:`AudioFormat.options`.

    ``channels`` is present only for multi-channel audio: Speak and Listen V2 have no
    ``channels`` option, and mono is every channel's default.
    """

    encoding: Encoding
    sample_rate: int
    channels: NotRequired[int]


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """The layout of raw audio: ``encoding``, ``sample_rate`` (Hz) and ``channels``.

    Samples of several channels are interleaved (one *frame* holds one sample per channel).
    ``linear16`` is 16-bit signed little-endian PCM; ``mulaw`` and ``alaw`` are G.711, one byte
    per sample. Instances are immutable and hashable; ``dataclasses.replace`` derives variants::

        fmt = AudioFormat("linear16", 16000)
        fmt.bytes_per_second        # 32000
        fmt.bytes_for(20)           # 640: one 20 ms chunk
        fmt.duration(32000)         # 1.0 (seconds)
        client.listen.v1.connect(model="nova-3", **fmt.options())
    """

    encoding: Encoding
    sample_rate: int
    channels: int = 1

    def __post_init__(self) -> None:
        if self.encoding not in _SAMPLE_WIDTH:
            raise ValueError(
                f"unsupported audio encoding {self.encoding!r} (supported: {', '.join(ENCODINGS)})"
            )
        if isinstance(self.sample_rate, bool) or not isinstance(self.sample_rate, int):
            raise TypeError(f"sample_rate must be an int, not {type(self.sample_rate).__name__}")
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        if isinstance(self.channels, bool) or not isinstance(self.channels, int):
            raise TypeError(f"channels must be an int, not {type(self.channels).__name__}")
        if self.channels < 1:
            raise ValueError(f"channels must be at least 1, got {self.channels}")

    @property
    def sample_width(self) -> int:
        """Bytes per sample of one channel (2 for ``linear16``, 1 for G.711)."""
        return _SAMPLE_WIDTH[self.encoding]

    @property
    def frame_bytes(self) -> int:
        """Bytes per sample frame: one sample of every channel."""
        return _SAMPLE_WIDTH[self.encoding] * self.channels

    @property
    def bytes_per_second(self) -> int:
        """Bytes of one second of audio."""
        return self.frame_bytes * self.sample_rate

    def frames_for(self, ms: float) -> int:
        """Sample frames in ``ms`` milliseconds, rounded to the nearest frame (at least one)."""
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not 0 < ms < math.inf:
            from ..errors import InvalidOptionError

            raise InvalidOptionError(
                "ms", ms, "a duration in milliseconds must be a positive, finite number"
            )
        return max(1, round(ms * self.sample_rate / 1000))

    def bytes_for(self, ms: float) -> int:
        """Bytes of ``ms`` milliseconds of audio: a whole number of frames (at least one), the
        nearest to ``ms``. ``AudioFormat("linear16", 16000).bytes_for(20) == 640``."""
        return self.frames_for(ms) * self.frame_bytes

    def duration(self, nbytes: int) -> float:
        """Seconds of audio in ``nbytes`` bytes (a partial frame counts pro rata)."""
        return nbytes / self.bytes_per_second

    def options(self) -> FormatOptions:
        """The connect options describing this format: ``encoding`` and ``sample_rate``, plus
        ``channels`` when there is more than one, ready for ``connect(**fmt.options())``."""
        opts = FormatOptions(encoding=self.encoding, sample_rate=self.sample_rate)
        if self.channels != 1:
            opts["channels"] = self.channels
        return opts

    def __str__(self) -> str:
        layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
        return f"{self.encoding} {self.sample_rate} Hz {layout}"
