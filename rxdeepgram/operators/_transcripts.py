"""Transcript operators: ``transcripts``, ``final_transcripts``, ``interim_transcripts``,
``words`` and ``utterances``.

The finality rule shared by the first four: a Listen V1 ``Results`` is final when ``is_final``
is true (absent counts as false); a Listen V2 (Flux) ``TurnInfo`` is final when its ``event``
is ``EndOfTurn``, and every other ``TurnInfo`` is interim. The text of a ``Results`` is the
transcript of its first alternative. Everything else on the stream (other messages,
``Unknown``, audio ``bytes``) is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reactivex import Observable, abc

from ..messages import listen_v1, listen_v2
from ._types import Utterance, UtteranceEndReason
from ._util import expand

__all__ = [
    "final_transcripts_",
    "interim_transcripts_",
    "transcripts_",
    "utterances_",
    "words_",
]

_Final = bool | None  # None: any finality


def _text_of(message: object, final: _Final) -> tuple[str, ...]:
    if isinstance(message, listen_v1.Results):
        if final is not None and bool(message.is_final) is not final:
            return ()
        alternatives = message.channel.alternatives
        text = alternatives[0].transcript if alternatives else ""
    elif isinstance(message, listen_v2.TurnInfo):
        if final is not None and (message.event == "EndOfTurn") is not final:
            return ()
        text = message.transcript
    else:
        return ()
    return (text,) if text.strip() else ()


def transcripts_() -> Callable[[Observable[object]], Observable[str]]:
    return expand(lambda m: _text_of(m, None))


def final_transcripts_() -> Callable[[Observable[object]], Observable[str]]:
    return expand(lambda m: _text_of(m, True))


def interim_transcripts_() -> Callable[[Observable[object]], Observable[str]]:
    return expand(lambda m: _text_of(m, False))


def _final_words(message: object) -> list[listen_v1.Word] | list[listen_v2.Word]:
    if isinstance(message, listen_v1.Results):
        alternatives = message.channel.alternatives
        return alternatives[0].words if message.is_final and alternatives else []
    if isinstance(message, listen_v2.TurnInfo) and message.event == "EndOfTurn":
        return message.words
    return []


def words_() -> Callable[[Observable[object]], Observable[listen_v1.Word | listen_v2.Word]]:
    return expand(_final_words)


# --- utterances ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Segment:
    """The part of an utterance one final ``Results`` contributed."""

    text: str
    words: list[listen_v1.Word]
    start: float  # the result's window
    end: float

    @property
    def speech_start(self) -> float:
        return self.words[0].start if self.words else self.start


@dataclass(slots=True)
class _Channels:
    """Per-subscription state of ``utterances()``: buffered final segments per channel."""

    buffers: dict[int, list[_Segment]] = field(default_factory=dict)

    def add(self, channel: int, segment: _Segment) -> None:
        self.buffers.setdefault(channel, []).append(segment)

    def take(self, channel: int, before: float | None = None) -> list[_Segment]:
        """Remove and return the channel's segments (only those whose speech starts before
        ``before``, when given)."""
        buffered = self.buffers.get(channel, [])
        if before is None:
            taken, kept = buffered, []
        else:
            taken = [s for s in buffered if s.speech_start < before]
            kept = [s for s in buffered if s.speech_start >= before]
        self.buffers[channel] = kept
        return taken


def _utterance(channel: int, segments: list[_Segment], reason: UtteranceEndReason) -> Utterance:
    words = [w for s in segments for w in s.words]
    if words:
        start, end = words[0].start, words[-1].end
    else:
        start, end = segments[0].start, segments[-1].end
    return Utterance(
        text=" ".join(s.text for s in segments),
        words=words,
        start=start,
        end=end,
        channel=channel,
        ended_by=reason,
    )


def utterances_() -> Callable[[Observable[object]], Observable[Utterance]]:
    def operator(source: Observable[object]) -> Observable[Utterance]:
        def subscribe(
            observer: abc.ObserverBase[Utterance], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            state = _Channels()

            def emit(channel: int, segments: list[_Segment], reason: UtteranceEndReason) -> None:
                if segments:
                    observer.on_next(_utterance(channel, segments, reason))

            def on_results(message: listen_v1.Results) -> None:
                if not message.is_final:
                    return
                channel = message.channel_index[0] if message.channel_index else 0
                alternatives = message.channel.alternatives
                text = alternatives[0].transcript.strip() if alternatives else ""
                if text:
                    segment = _Segment(
                        text=text,
                        words=list(alternatives[0].words),
                        start=message.start,
                        end=message.start + message.duration,
                    )
                    state.add(channel, segment)
                if message.speech_final:
                    emit(channel, state.take(channel), "speech_final")
                elif message.from_finalize:
                    emit(channel, state.take(channel), "finalize")

            def on_next(message: object) -> None:
                if isinstance(message, listen_v1.Results):
                    on_results(message)
                elif isinstance(message, listen_v1.UtteranceEnd):
                    channel = message.channel[0] if message.channel else 0
                    # Only what was said before the gap: an UtteranceEnd that trails a
                    # speech_final already acted on finds nothing (or only the next
                    # utterance's words, which start after last_word_end) and is ignored.
                    taken = state.take(channel, before=message.last_word_end)
                    emit(channel, taken, "utterance_end")

            def on_completed() -> None:
                for channel in sorted(state.buffers):
                    emit(channel, state.take(channel), "stream_end")
                observer.on_completed()

            return source.subscribe(on_next, observer.on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return operator
