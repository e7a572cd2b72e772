"""Latency metrics as Observables of floats (seconds on the scheduler's clock).

``time_to_first_byte()`` measures from subscription (or from the first item of ``since``) to
the first *response* on a connection's message stream: the first audio ``bytes`` (Speak,
Agent), the first Listen V1 ``Results`` or the first Listen V2 ``TurnInfo``. It emits one value
and completes.

``final_transcript_latency()`` measures, for each utterance, how long after the client *sent*
the audio in which the speaker stopped the final transcript of that speech arrived. It needs
the audio that went to the connection (raw PCM, so that a byte offset is a time) and works
like this: each chunk of ``audio`` is stamped with the clock when it passes (its cumulative
end, in seconds of audio, is ``bytes / (sample_rate * channels * sample_width)``); a final
result's speech end is its last word's ``end`` (seconds from the start of the stream, as
Deepgram reports it); the value emitted is *arrival time of the result - time the chunk holding
that instant was sent*. It therefore includes the endpointing wait (``endpointing`` /
``utterance_end_ms`` / Flux's end-of-turn decision), the network both ways and the server's
processing, which is what a user waiting for an answer experiences; it excludes the time the
audio spent before reaching ``audio`` (microphone buffering). Sending faster than real time
(a file without ``realtime=True``) makes the numbers meaningless, and containers (WAV headers)
or compressed encodings skew the byte-to-time mapping.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable
from datetime import datetime

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SingleAssignmentDisposable

from ..errors import InvalidOptionError
from ..messages import listen_v1, listen_v2
from ._util import choose_scheduler, log, seconds_between

__all__ = ["final_transcript_latency_", "time_to_first_byte_"]

_RESPONSES = (bytes, listen_v1.Results, listen_v2.TurnInfo)


def time_to_first_byte_(
    since: Observable[object] | None = None, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[object]], Observable[float]]:
    def operator(source: Observable[object]) -> Observable[float]:
        def subscribe(
            observer: abc.ObserverBase[float], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            clock = choose_scheduler(scheduler, scheduler_)
            lock = threading.RLock()
            started: datetime | None = None if since is not None else clock.now
            done = False
            source_sub = SingleAssignmentDisposable()
            since_sub = SingleAssignmentDisposable()

            def finish() -> bool:
                nonlocal done
                with lock:
                    if done:
                        return False
                    done = True
                source_sub.dispose()
                since_sub.dispose()
                return True

            def on_start(_: object) -> None:
                nonlocal started
                with lock:
                    if started is None:
                        started = clock.now
                since_sub.dispose()

            def on_next(message: object) -> None:
                with lock:
                    begin = started
                if begin is None or not isinstance(message, _RESPONSES):
                    return
                if finish():
                    observer.on_next(seconds_between(begin, clock.now))
                    observer.on_completed()

            def on_error(error: Exception) -> None:
                if finish():
                    observer.on_error(error)

            def on_completed() -> None:
                if finish():
                    observer.on_completed()

            source_sub.disposable = source.subscribe(
                on_next, on_error, on_completed, scheduler=scheduler_
            )
            if since is not None:
                since_sub.disposable = since.subscribe(on_start, on_error, scheduler=scheduler_)
            return CompositeDisposable(source_sub, since_sub)

        return Observable(subscribe)

    return operator


def _positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidOptionError(name, value, "must be a positive integer")


def _speech_end(message: object, every_final: bool) -> float | None:
    """Where, in seconds of audio, the speech that ``message`` finalises ended (None when the
    message does not finalise speech)."""
    if isinstance(message, listen_v1.Results):
        if not message.is_final:
            return None
        if not (every_final or message.speech_final or message.from_finalize):
            return None
        alternatives = message.channel.alternatives
        words = alternatives[0].words if alternatives else []
        return words[-1].end if words else None
    if isinstance(message, listen_v2.TurnInfo) and message.event == "EndOfTurn":
        ends = [w.end for w in message.words if w.end is not None]
        if ends:
            return ends[-1]
        return message.audio_window_end if message.transcript.strip() else None
    return None


_KEEP_SECONDS = 30.0  # audio stamps kept behind the latest measured instant
_PRUNE_AT = 1024


def final_transcript_latency_(
    audio: Observable[object],
    *,
    sample_rate: int,
    channels: int = 1,
    sample_width: int = 2,
    every_final: bool = False,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[object]], Observable[float]]:
    _positive_int("sample_rate", sample_rate)
    _positive_int("channels", channels)
    _positive_int("sample_width", sample_width)
    bytes_per_second = float(sample_rate * channels * sample_width)

    def operator(source: Observable[object]) -> Observable[float]:
        def subscribe(
            observer: abc.ObserverBase[float], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            clock = choose_scheduler(scheduler, scheduler_)
            lock = threading.RLock()
            ends: list[float] = []  # cumulative seconds of audio at the end of each chunk
            sent: list[datetime] = []  # when each chunk passed
            total = 0

            def on_audio(chunk: object) -> None:
                nonlocal total
                if not isinstance(chunk, bytes | bytearray | memoryview):
                    return  # control messages sent alongside the audio
                size = chunk.nbytes if isinstance(chunk, memoryview) else len(chunk)
                now = clock.now
                with lock:
                    total += size
                    ends.append(total / bytes_per_second)
                    sent.append(now)

            stopped = False
            subscriptions = CompositeDisposable()

            def stop() -> bool:
                nonlocal stopped
                with lock:
                    if stopped:
                        return False
                    stopped = True
                subscriptions.dispose()
                return True

            def on_next(message: object) -> None:
                instant = _speech_end(message, every_final)
                if instant is None:
                    return
                now = clock.now
                with lock:
                    if stopped:
                        return
                    index = bisect_left(ends, instant - 1e-9)
                    if index == len(ends):
                        log.debug(
                            "final_transcript_latency(): %.3f s of audio not seen yet "
                            "(is sample_rate right, is the audio wired?)",
                            instant,
                        )
                        return
                    sent_at = sent[index]
                    if len(ends) > _PRUNE_AT:
                        keep_from = bisect_left(ends, instant - _KEEP_SECONDS)
                        del ends[:keep_from], sent[:keep_from]
                    observer.on_next(seconds_between(sent_at, now))

            def on_error(error: Exception) -> None:
                if stop():
                    observer.on_error(error)

            def on_completed() -> None:
                if stop():
                    observer.on_completed()

            subscriptions.add(audio.subscribe(on_audio, on_error, scheduler=scheduler_))
            subscriptions.add(
                source.subscribe(on_next, on_error, on_completed, scheduler=scheduler_)
            )
            return subscriptions

        return Observable(subscribe)

    return operator
