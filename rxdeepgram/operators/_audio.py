"""Playback-side operators: ``audio()`` (keep the audio frames), ``clear_on_barge_in()`` (a
Speak V1 ``Clear`` each time the user starts talking) and ``interrupt_on_barge_in()`` (a Speak
V2 ``Interrupt`` then)."""

from __future__ import annotations

from collections.abc import Callable

from reactivex import Observable

from ..messages import agent_v1, listen_v1, listen_v2, speak_v1, speak_v2
from ._util import expand

__all__ = ["audio_", "clear_on_barge_in_", "interrupt_on_barge_in_"]


def _audio(message: object) -> tuple[bytes, ...]:
    return (message,) if isinstance(message, bytes) else ()


def audio_() -> Callable[[Observable[object]], Observable[bytes]]:
    return expand(_audio)


_BARGE_IN_EVENTS = frozenset({"StartOfTurn", "TurnResumed"})


def _is_barge_in(message: object) -> bool:
    return isinstance(message, agent_v1.UserStartedSpeaking | listen_v1.SpeechStarted) or (
        isinstance(message, listen_v2.TurnInfo) and message.event in _BARGE_IN_EVENTS
    )


def _barge_in(message: object) -> tuple[speak_v1.Clear, ...]:
    return (speak_v1.Clear(),) if _is_barge_in(message) else ()


def clear_on_barge_in_() -> Callable[[Observable[object]], Observable[speak_v1.Clear]]:
    return expand(_barge_in)


def interrupt_on_barge_in_(
    played_ms: Callable[[], float] | None,
) -> Callable[[Observable[object]], Observable[speak_v2.Interrupt]]:
    if played_ms is not None and not callable(played_ms):
        raise TypeError(
            "played_ms must be a function returning the milliseconds of session audio played"
        )

    def interrupt(message: object) -> tuple[speak_v2.Interrupt, ...]:
        if not _is_barge_in(message):
            return ()
        if played_ms is None:
            return (speak_v2.Interrupt(),)
        return (speak_v2.Interrupt.at(round(played_ms())),)

    return expand(interrupt)
