"""Plumbing shared by the speech-to-text channels (``/v1/listen`` and ``/v2/listen``).

* :class:`Segmenter` runs :class:`~._audio.EnergyVad` over one channel's 10 ms frames and keeps
  the audio of the speech segment being spoken (from the first frame of speech, found by looking
  back over the frames that confirmed it), ending it after the detector's minimum silence.
  :meth:`Segmenter.cut` ends a segment early (``Finalize``, ``ForceEndTurn``); speech that goes on
  afterwards opens a new segment at the next voiced frame.
* :class:`FrameSplitter` resamples one channel to the engine's rate and cuts it into frames.
* :func:`call_engine` runs an engine call in a worker thread when the engine is ``blocking``;
  :class:`Margins` and :func:`transcribe_segment` give an engine a segment with the lead-in and
  tail it asks for (every channel that recognises speech: listen v1/v2 and the agent).
* :func:`receive` (waits for the next client frame with the idle timeout) and
  :func:`close_reason` are :mod:`._stream`'s, re-exported here.
* :class:`DataError`, :func:`close_reason`, :func:`raw_sample_format`, :func:`normalise_word`,
  :func:`round_time`: small helpers both channels word the same way.
"""

from __future__ import annotations

import asyncio
import math
import re
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, NamedTuple, ParamSpec, TypeVar

from ..audio._convert import LinearRateConverter, RateConverter
from ..audio._pcm import from_pcm16
from ._audio import AudioFormatError, EnergyVad, SampleFormat, VadConfig
from ._stream import MAX_REASON_BYTES, close_reason, receive

if TYPE_CHECKING:
    from .engines import RecognizedWord, SttEngine, SttStream

__all__ = [
    "MAX_REASON_BYTES",
    "DataError",
    "FrameSplitter",
    "FrameStep",
    "Margins",
    "Segment",
    "Segmenter",
    "call_engine",
    "close_reason",
    "normalise_word",
    "raw_sample_format",
    "receive",
    "round_time",
    "transcribe_segment",
]

P = ParamSpec("P")
R = TypeVar("R")


class DataError(Exception):
    """What the client sent cannot be used (undecodable audio, an unknown message).

    Listen V1 closes with 1008 ``DATA-0000`` and this text as the reason; Listen V2 sends a fatal
    ``Error`` first.
    """


def raw_sample_format(encoding: str, sample_rate: int, channels: int = 1) -> SampleFormat:
    """The sample format of headerless audio declared by ``encoding`` / ``sample_rate``; raises
    :class:`DataError` for encodings the local server cannot decode (opus, flac...)."""
    try:
        return SampleFormat.for_encoding(encoding, sample_rate, channels)
    except AudioFormatError as exc:
        raise DataError(str(exc)) from None


_EDGE_PUNCT = re.compile(r"^[^\w']+|[^\w']+$")


def normalise_word(token: str) -> str:
    """An engine token as a bare word: lower case, without surrounding punctuation (``""`` when
    nothing is left)."""
    return _EDGE_PUNCT.sub("", token).strip("'").lower()


def round_time(value: float) -> float:
    """Seconds as sent on the wire (millisecond precision)."""
    return round(value, 3)


async def call_engine(
    engine: SttEngine, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """``fn(*args)``, in a worker thread when ``engine.blocking`` (one call at a time per
    connection, since callers await it, so results keep their order)."""
    if engine.blocking:
        return await asyncio.to_thread(fn, *args, **kwargs)
    return fn(*args, **kwargs)


# --- frames ----------------------------------------------------------------------------------


class FrameSplitter:
    """One channel's samples, resampled to the engine's rate and cut into VAD frames.

    The resampler is the cheap streaming one (box filter / linear interpolation, ~4 ms of CPU
    per audio second) unless the engine sets ``fine_resampling``: then it is the windowed-sinc
    converter of :mod:`rxdeepgram.audio` (~25-35 ms per audio second at 24-48 kHz). Linear
    interpolation from 24 kHz cost pocketsphinx 29 % word error rate on the test clips, which
    it recognises perfectly at 16 kHz, and at 24 kHz through the sinc converter."""

    def __init__(self, source_rate: int, engine: SttEngine, frame_samples: int) -> None:
        rate = engine.sample_rate
        fine = bool(getattr(engine, "fine_resampling", False)) and source_rate != rate
        self.resampler: LinearRateConverter | RateConverter = (
            RateConverter(source_rate, rate) if fine else LinearRateConverter(source_rate, rate)
        )
        self.frame_samples = frame_samples
        self.pending: array[int] = array("h")

    def push(self, samples: array[int]) -> None:
        """Add the next samples (at the source rate)."""
        self.pending.extend(self.resampler.process(samples))

    @property
    def ready(self) -> bool:
        """Whether a whole frame is waiting."""
        return len(self.pending) >= self.frame_samples

    def pop(self) -> array[int]:
        """Take the next whole frame (check :attr:`ready` first)."""
        size = self.frame_samples
        frame = self.pending[:size]
        del self.pending[:size]
        return frame


# --- speech segments -------------------------------------------------------------------------

FINAL_TAIL_S = 0.15
"""The most silence after speech given to an engine with a segment's final result."""

LEAD_S = 0.1
"""Seconds of audio before a segment's onset kept in :attr:`Segment.lead` (the most given to
an engine)."""


@dataclass(slots=True)
class Segment:
    """One speech segment of one channel: its audio from the first frame of speech on."""

    start_frame: int
    pcm: bytearray
    voiced_end: int
    """Bytes of ``pcm`` up to the end of the last voiced frame."""
    lead: bytes = b""
    """Audio just before ``start_frame`` (at most :data:`LEAD_S`), for engines that recognise
    a word's onset better with some of the quiet before it (see :func:`engine_pcm`)."""

    @property
    def voiced_pcm(self) -> bytes:
        """The segment's audio without its trailing silence."""
        return bytes(self.pcm[: self.voiced_end])

    def engine_pcm(self, final: bool, lead: int, tail: int) -> bytes:
        """What to give a recogniser: up to ``lead`` bytes of :attr:`lead`, the voiced audio,
        and for a final result up to ``tail`` bytes of the silence after it. Interim calls get
        the same start, so an incremental decoder sees one growing segment."""
        head = self.lead[len(self.lead) - lead :] if lead else b""
        return head + (self.final_pcm(tail) if final else self.voiced_pcm)

    def final_pcm(self, tail: int) -> bytes:
        """The audio to recognise for the segment's final result: the voiced part plus up to
        ``tail`` bytes of the silence after it (as much as there is). A recogniser needs some
        silence after the last word to end it well: pocketsphinx heard "book a flight to" as
        "because like to" when the audio stopped at the last voiced frame."""
        return bytes(self.pcm[: self.voiced_end + tail])


SegT = TypeVar("SegT", bound=Segment)


@dataclass(frozen=True, slots=True)
class Margins:
    """How much audio around a segment's speech an engine is given, in bytes of 16-bit mono
    audio at its rate: ``lead`` before the onset (the engine's ``lead_in_s``, at most
    :data:`LEAD_S`) and ``tail`` of the silence after it with the final result (``tail_s``, at
    most :data:`FINAL_TAIL_S`)."""

    lead: int = 0
    tail: int = 0

    @classmethod
    def of(cls, engine: SttEngine) -> Margins:
        lead_s = min(LEAD_S, float(getattr(engine, "lead_in_s", 0.0)))
        tail_s = min(FINAL_TAIL_S, float(getattr(engine, "tail_s", 0.0)))
        return cls(2 * round(engine.sample_rate * lead_s), 2 * round(engine.sample_rate * tail_s))


async def transcribe_segment(
    engine: SttEngine,
    stream: SttStream,
    segment: Segment,
    onset: float,
    final: bool,
    margins: Margins,
) -> list[RecognizedWord]:
    """The words of ``segment`` (whose first frame of speech is at ``onset`` seconds) from
    ``stream``, with the margins the engine asks for; word times stay on the channel's clock."""
    pcm = segment.engine_pcm(final, margins.lead, margins.tail)
    lead = min(margins.lead, len(segment.lead))
    start = round_time(onset - lead / 2 / engine.sample_rate)
    return list(await call_engine(engine, stream.transcribe, pcm, start, final))


class FrameStep(NamedTuple, Generic[SegT]):
    """What one frame did to the segmentation of a channel."""

    frame: int
    """The frame's index (from 0)."""
    voiced: bool
    """Whether the frame is speech (or within a segment's voiced run)."""
    started: bool
    """The detector confirmed speech onset: a new segment opened at its first frame of speech."""
    reopened: bool
    """Speech that went on after :meth:`Segmenter.cut` opened a new segment at this frame."""
    ended: SegT | None
    """The segment the detector closed at this frame (after its minimum silence)."""


class Segmenter(Generic[SegT]):
    """Energy-based speech segmentation of one channel, fed 10 ms frames at the engine's rate.

    ``new_segment(start_frame, pcm, voiced_end)`` builds the segment object (a :class:`Segment`
    subclass may carry the channel's own state). Timing depends only on the samples.
    """

    def __init__(
        self,
        sample_rate: int,
        config: VadConfig,
        new_segment: Callable[[int, bytearray, int], SegT],
    ) -> None:
        self.vad = EnergyVad(sample_rate, config)
        self.frame_samples = self.vad.frame_samples
        self.frame_s = self.vad.frame_seconds
        self._new = new_segment
        lookback = max(1, math.ceil(config.min_speech_ms / config.frame_ms)) + 2
        self._lead_frames = math.ceil(LEAD_S * 1000 / config.frame_ms)
        self._recent: deque[bytes] = deque(maxlen=lookback + self._lead_frames)
        self._free_from = 0  # the first frame no segment has used yet
        self.segment: SegT | None = None
        """The open segment, if any."""
        self._reopen = False

    @property
    def frame_index(self) -> int:
        """Index of the next frame (= frames processed so far)."""
        return self.vad.frame_index

    def seconds(self, frame: int) -> float:
        """Start time of ``frame`` in seconds."""
        return frame * self.frame_s

    def push(self, frame: array[int]) -> FrameStep[SegT]:
        """Feed the next frame."""
        index = self.vad.frame_index
        data = from_pcm16(frame)
        voiced, event = self.vad.process(frame)
        self._recent.append(data)
        segment = self.segment
        started = reopened = False
        if event is not None and event.kind == "start":
            back = index - event.frame + 1
            recent = list(self._recent)
            pcm = bytearray(b"".join(recent[-back:]))
            segment = self._new(event.frame, pcm, len(pcm))
            # Up to LEAD_S of what came before the onset, never reaching into an earlier segment.
            lead = min(self._lead_frames, len(recent) - back, event.frame - self._free_from)
            if lead > 0:
                segment.lead = b"".join(recent[-back - lead : -back])
            self.segment = segment
            self._reopen = False
            started = True
        elif segment is not None:
            segment.pcm += data
            if voiced:
                segment.voiced_end = len(segment.pcm)
        elif self._reopen and voiced:
            segment = self._new(index, bytearray(data), len(data))
            self.segment = segment
            self._reopen = False
            reopened = True
        if self.segment is not None:
            self._free_from = index + 1  # this frame is in a segment's audio
        ended: SegT | None = None
        if event is not None and event.kind == "end":
            self._reopen = False
            ended, self.segment = self.segment, None
        return FrameStep(index, voiced, started, reopened, ended)

    def cut(self) -> SegT | None:
        """End the open segment now (returns it, or ``None``). If the speaker is still speaking,
        the next voiced frame opens a new segment (without a new onset)."""
        segment, self.segment = self.segment, None
        if segment is not None:
            self._reopen = self.vad.in_speech
        return segment
