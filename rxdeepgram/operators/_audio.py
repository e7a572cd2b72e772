"""Playback-side operators: ``audio()`` (keep the audio frames) and ``clear_on_barge_in()``
(a Speak ``Clear`` each time the user starts talking)."""

from __future__ import annotations

from collections.abc import Callable

from reactivex import Observable

from ..messages import agent_v1, listen_v1, listen_v2, speak_v1
from ._util import expand

__all__ = ["audio_", "clear_on_barge_in_"]


def _audio(message: object) -> tuple[bytes, ...]:
    return (message,) if isinstance(message, bytes) else ()


def audio_() -> Callable[[Observable[object]], Observable[bytes]]:
    return expand(_audio)


_BARGE_IN_EVENTS = frozenset({"StartOfTurn", "TurnResumed"})


def _barge_in(message: object) -> tuple[speak_v1.Clear, ...]:
    if isinstance(message, agent_v1.UserStartedSpeaking | listen_v1.SpeechStarted) or (
        isinstance(message, listen_v2.TurnInfo) and message.event in _BARGE_IN_EVENTS
    ):
        return (speak_v1.Clear(),)
    return ()


def clear_on_barge_in_() -> Callable[[Observable[object]], Observable[speak_v1.Clear]]:
    return expand(_barge_in)
