"""The small interface between the local server's channels and its recognition engines.

The Listen channels do everything protocol-shaped themselves (energy-based speech detection,
endpointing, interim / final results, timing, turn state); an engine only turns one speech
segment of audio into words. ``scripted`` takes its words from a script the test gives and its
timing from the audio; ``local`` (pocketsphinx) recognises the audio for real.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["RecognizedWord", "SttEngine", "SttStream", "TtsEngine"]


@dataclass(frozen=True, slots=True)
class RecognizedWord:
    """A word with its timing in seconds from the start of the stream."""

    word: str
    start: float
    end: float
    confidence: float


class SttStream(Protocol):
    """Recognition state for one audio channel of one connection."""

    def transcribe(self, pcm: bytes, start: float, final: bool) -> list[RecognizedWord]:
        """Words in ``pcm`` (16-bit little-endian mono at the engine's ``sample_rate``), one
        speech segment that began ``start`` seconds into the stream.

        Called repeatedly with the growing segment while it is open (``final=False``, for
        interim results) and once with the whole segment when it closes (``final=True``).
        Word times are absolute (``start`` + offset in the segment).
        """
        ...

    def close(self) -> None:
        """Release whatever the stream holds."""
        ...


class SttEngine(Protocol):
    """A speech-to-text engine. ``blocking`` engines are run off the event loop.

    An engine may also set ``lead_in_s`` (seconds, at most 0.1): the server then starts each
    segment's audio that much before the detected onset (quiet that helps a recogniser catch
    a soft first word; the ``start`` given to :meth:`SttStream.transcribe` says where), and
    ``tail_s`` (at most 0.15): the final call of a segment then also gets that much of the
    silence after the speech. ``fine_resampling = True`` asks for audio at other rates to be
    brought to ``sample_rate`` with a windowed-sinc filter rather than the cheap box / linear
    one (several times the CPU; what a recogniser that reads the spectrum needs).

    ``languages`` (optional): the primary language subtags the engine recognises (``("en",)``);
    absent or ``None``: any. The server refuses other ``language`` values at the upgrade with
    ``400`` (see :mod:`.._capabilities`)."""

    name: str
    sample_rate: int
    blocking: bool

    def new_stream(self) -> SttStream:
        """State for one channel of one new connection."""
        ...


class TtsEngine(Protocol):
    """A text-to-speech engine for the Speak and Agent channels. ``blocking`` engines are run
    off the event loop.

    ``tone`` makes deterministic audio whose length follows the text (tests); ``local``
    (espeak-ng) speaks for real. Optional attributes: ``supports_speed`` (``synthesize`` takes
    ``speed=``; without it ``speed`` other than 1 is refused with ``400``) and ``languages``
    (as for :class:`SttEngine`: voices in other languages are refused with ``400``).
    """

    name: str
    blocking: bool

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        """``text`` as 16-bit little-endian mono PCM at ``sample_rate`` Hz. Empty text gives
        ``b""``. The channel encodes (mulaw / alaw) and chunks it."""
        ...
