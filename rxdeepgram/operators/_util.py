"""Small building blocks shared by the operator modules (not part of the public API)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from reactivex import Observable, abc
from reactivex.scheduler import TimeoutScheduler

__all__ = ["choose_scheduler", "expand", "log", "seconds_between"]

_B = TypeVar("_B")

log = logging.getLogger("rxdeepgram.operators")


def expand(
    mapper: Callable[[object], Sequence[_B]],
) -> Callable[[Observable[object]], Observable[_B]]:
    """An operator emitting, for each source item, the items of ``mapper(item)`` (none, one or
    several), and passing errors and completion on. ``mapper`` is stateless; if it raises, the
    error goes to the subscriber."""

    def operator(source: Observable[object]) -> Observable[_B]:
        def subscribe(
            observer: abc.ObserverBase[_B], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            def on_next(value: object) -> None:
                try:
                    items = mapper(value)
                except Exception as exc:
                    observer.on_error(exc)
                    return
                for item in items:
                    observer.on_next(item)

            return source.subscribe(
                on_next, observer.on_error, observer.on_completed, scheduler=scheduler
            )

        return Observable(subscribe)

    return operator


def choose_scheduler(
    given: abc.SchedulerBase | None, subscribed: abc.SchedulerBase | None
) -> abc.SchedulerBase:
    """The operator's ``scheduler=`` argument, else the one passed to ``subscribe``, else the
    timeout scheduler (wall clock, timers on threads), as reactivex's own time operators do."""
    return given or subscribed or TimeoutScheduler.singleton()


def seconds_between(start: datetime, end: datetime) -> float:
    """``end - start`` in seconds, as a float."""
    return (end - start).total_seconds()
