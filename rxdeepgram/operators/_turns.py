"""``turns()``: Listen V2 (Flux) ``TurnInfo`` messages as :class:`~._types.Turn` values.

Flux already runs the turn state machine on the server (listen-v2 §3.2)::

    Initial --StartOfTurn--> Ongoing --EagerEndOfTurn--> AwaitingEnd --EndOfTurn--> Initial
                              ^   |                          |
                              |   +-------EndOfTurn----------+--> Initial (no eager mode)
                              +-------TurnResumed------------+

so each event maps to one ``Turn.state`` and is reported as it comes, in order, rather than
re-deriving (and second-guessing) the server's state: ``StartOfTurn`` -> ``"started"``,
``Update`` -> ``"updated"`` (only with ``updates=True``), ``EagerEndOfTurn`` -> ``"eager"``,
``TurnResumed`` -> ``"resumed"``, ``EndOfTurn`` -> ``"ended"``. Events this version does not
know are skipped (logged at debug). The operator tracks one thing: the latest ``TurnInfo`` of a
turn that has not ended, because after ``CloseStream`` Flux closes without an ``EndOfTurn``; when
the stream then completes, that turn is reported as ``"ended"`` with ``trigger="stream_end"``
(if it said anything), as the protocol advises ("treat the last Update as the final
transcript"). An errored stream reports nothing more.
"""

from __future__ import annotations

from collections.abc import Callable

from reactivex import Observable, abc

from ..messages import listen_v2
from ._types import Turn, TurnState
from ._util import log

__all__ = ["turns_"]

_STATES: dict[str, TurnState] = {
    "StartOfTurn": "started",
    "Update": "updated",
    "EagerEndOfTurn": "eager",
    "TurnResumed": "resumed",
    "EndOfTurn": "ended",
}


def _turn(info: listen_v2.TurnInfo, state: TurnState, trigger: str | None) -> Turn:
    return Turn(
        index=info.turn_index,
        state=state,
        transcript=info.transcript,
        words=info.words,
        confidence=info.end_of_turn_confidence,
        start=info.audio_window_start,
        end=info.audio_window_end,
        trigger=trigger,
        languages=info.languages,
    )


def turns_(updates: bool = False) -> Callable[[Observable[object]], Observable[Turn]]:
    def operator(source: Observable[object]) -> Observable[Turn]:
        def subscribe(
            observer: abc.ObserverBase[Turn], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            open_turn: listen_v2.TurnInfo | None = None

            def on_next(message: object) -> None:
                nonlocal open_turn
                if not isinstance(message, listen_v2.TurnInfo):
                    return
                state = _STATES.get(message.event)
                if state is None:
                    log.debug("turns(): skipping unknown TurnInfo event %r", message.event)
                    return
                open_turn = None if state == "ended" else message
                if state == "updated" and not updates:
                    return
                observer.on_next(_turn(message, state, message.trigger))

            def on_completed() -> None:
                if open_turn is not None and open_turn.transcript.strip():
                    observer.on_next(_turn(open_turn, "ended", "stream_end"))
                observer.on_completed()

            return source.subscribe(on_next, observer.on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return operator
