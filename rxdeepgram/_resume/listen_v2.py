"""Resuming Listen V2 (Flux): replay the audio since the last ``EndOfTurn``, continue the turns.

* Kept: the audio sent since the ``audio_window_end`` of the last ``EndOfTurn`` (where the next
  turn's window starts), bounded by ``max_buffer_s``, with the ``ForceEndTurn`` messages sent in
  between at their place. The last ``Configure`` is kept and sent first.
* On a new connection that audio is sent again from exactly that point, so the turn the drop
  cut is heard whole again and resumed: its ``TurnInfo`` messages carry the application's
  ``turn_index`` (the new connection counts from 0), shifted ``audio_window_start`` /
  ``audio_window_end`` and word times, and a ``sequence_id`` going on by one from the last one
  delivered.
* Suppressed: the new connection's ``Connected``; a ``StartOfTurn`` of a turn the application
  already saw start; events of the resumed turn the application already had (an ``Update``,
  ``EagerEndOfTurn`` or ``TurnResumed`` no later than the last event delivered); the
  acknowledgement of the re-sent ``Configure``. An ``EndOfTurn`` is never a duplicate: once one
  arrives, the replay starts after it.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from ..messages import listen_v2 as m
from ._config import Reconnect
from ._policy import ListenPolicy
from .listen_v1 import audio_rate, shift_words

__all__ = ["ListenV2Policy"]

_TOLERANCE = 0.02  # seconds: the same audio framed from another start point


def _r(x: float) -> float:
    return round(x, 6)


class ListenV2Policy(ListenPolicy):
    opening_types = frozenset({"Connected"})

    def __init__(self, config: Reconnect, options: dict[str, Any]) -> None:
        super().__init__(config, *audio_rate(options, "Listen V2"))
        self._turn_base = 0  # the application's index of the new connection's turn 0
        self._next_turn = 0  # the application's index of the turn after the last EndOfTurn
        self._started = -1  # the application's index of the last turn seen to start
        self._seen_until = -1.0  # audio_window_end of the last TurnInfo delivered
        self._last_seq = 0  # the last sequence_id delivered

    def on_send(self, item: Any, connected: bool) -> Any:
        if type(item) is bytes:
            self.log.add_audio(item, connected)
        elif type(item) is m.ForceEndTurn:
            self.log.add_control(item)
        elif type(item) is m.Configure:
            self._configure = item
        return item

    def begin(self, first: bool) -> list[Any]:
        if first:
            return []
        self._turn_base = self._next_turn
        return self._replay()

    def _suppress(self) -> None:
        self.suppressed += 1

    def on_message(self, message: Any) -> Any:
        cls = type(message)
        if cls is m.TurnInfo:
            return self._turn_info(message)
        if not self.resumed:
            seq = getattr(message, "sequence_id", None)
            if seq is not None:
                self._last_seq = seq
            return message
        if cls is m.Connected:
            self._suppress()
            return None
        if (cls is m.ConfigureSuccess or cls is m.ConfigureFailure) and self._acks_to_skip:
            self._acks_to_skip -= 1
            self._suppress()
            return None
        if isinstance(getattr(message, "sequence_id", None), int):
            self._last_seq += 1
            return replace(message, sequence_id=self._last_seq)
        return message

    def _turn_info(self, message: m.TurnInfo) -> m.TurnInfo | None:
        shift = self.shift
        event = message.event
        turn = message.turn_index + self._turn_base
        end = _r(message.audio_window_end + shift)
        if event == "EndOfTurn":
            self.log.confirm(self.log.position(end))
            self._next_turn = turn + 1
        elif self.resumed and (
            (event == "StartOfTurn" and turn <= self._started)
            or (event != "StartOfTurn" and end <= self._seen_until + _TOLERANCE)
        ):
            self._suppress()
            return None
        if event == "StartOfTurn":
            self._started = turn
        self._seen_until = end
        if not self.resumed:
            self._last_seq = message.sequence_id
            return message
        self._last_seq += 1
        return replace(
            message,
            turn_index=turn,
            sequence_id=self._last_seq,
            audio_window_start=_r(message.audio_window_start + shift),
            audio_window_end=end,
            words=shift_words(message.words, shift),
        )
