"""A hot, thread-safe multicast behind ``conn.messages`` and ``conn.raw``.

Unlike a bare ``Subject`` it cannot be pushed into from outside, it isolates subscribers from
each other (an exception in one subscriber's callback is reported, never propagated to the
socket or to the other subscribers) and it keeps a *replay window*: messages received before
the client first sends anything are kept and replayed to every subscriber that arrives while
the window is open. So a subscriber attached right after ``connect()`` sees every message —
``Connected``, ``Metadata`` or ``Welcome`` that the server sends at once included — even with
the sync client, whose reader thread runs from the start. The window closes at the client's
first send (after that, subscribers see what arrives from then on) or when it holds
``window_limit`` messages. A subscriber arriving after the end gets the window (if still open)
and the terminal notification.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import reactivex
from reactivex import abc
from reactivex.disposable import Disposable

from .errors import CallbackError

__all__ = ["Hub"]

T = TypeVar("T")
log = logging.getLogger("rxdeepgram")

_COMPLETED = object()


class Hub(Generic[T]):
    """Multicast of one connection's incoming stream. Only the connection emits into it."""

    __slots__ = (
        "_end",
        "_lock",
        "_observers",
        "_report",
        "_watch",
        "_window",
        "_window_limit",
        "observable",
    )

    def __init__(self, report: Callable[[CallbackError], None], window_limit: int = 4096) -> None:
        self._lock = threading.RLock()
        self._observers: tuple[abc.ObserverBase[T], ...] = ()
        self._window: list[T] | None = []
        self._window_limit = window_limit
        self._end: object = None  # None while live, _COMPLETED, or the error
        self._report = report
        self._watch: Callable[[], None] | None = None
        self.observable: reactivex.Observable[T] = reactivex.create(self._subscribe)

    # -- subscribers ------------------------------------------------------------------------

    def _subscribe(
        self, observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        watch = self._watch
        if watch is not None:
            self._watch = None
            watch()
        with self._lock:
            window = self._window
            if window:
                for item in window:
                    self._deliver(observer, item)
            end = self._end
            if end is None:
                self._observers = (*self._observers, observer)
            else:
                self._finish(observer, end)
                return Disposable()

        def dispose() -> None:
            with self._lock:
                self._observers = tuple(o for o in self._observers if o is not observer)

        return Disposable(dispose)

    def watch(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` (once, on the subscriber's thread, before it is subscribed) at the
        next subscription; ``None`` stops watching. The connection's seed listener uses it to
        end its hold when the stream is read through Rx."""
        self._watch = callback

    @property
    def has_observers(self) -> bool:
        return bool(self._observers) or self._window is not None

    # -- emitting (the connection only) ----------------------------------------------------------

    def emit(self, item: T) -> None:
        if self._window is not None:
            with self._lock:
                window = self._window
                if window is not None:
                    window.append(item)
                    if len(window) >= self._window_limit:
                        self._window = None
                observers = self._observers
        else:
            observers = self._observers
        for observer in observers:
            self._deliver(observer, item)

    def close_window(self) -> None:
        if self._window is not None:
            with self._lock:
                self._window = None

    def end(self, error: BaseException | None) -> None:
        """Complete (``None``) or error every subscriber, once."""
        with self._lock:
            if self._end is not None:
                return
            self._end = _COMPLETED if error is None else error
            observers, self._observers = self._observers, ()
            end = self._end
        for observer in observers:
            self._finish(observer, end)

    @property
    def ended(self) -> bool:
        return self._end is not None

    # -- isolation ------------------------------------------------------------------------------

    def _deliver(self, observer: abc.ObserverBase[T], item: T) -> None:
        try:
            observer.on_next(item)
        except Exception as exc:  # a user's callback: report, never propagate
            self._report(CallbackError("on_next", exc).with_traceback(exc.__traceback__))

    def _finish(self, observer: abc.ObserverBase[Any], end: object) -> None:
        try:
            if end is _COMPLETED:
                observer.on_completed()
            else:
                assert isinstance(end, Exception)
                observer.on_error(end)
        except Exception as exc:
            if exc is end:
                # reactivex's default on_error re-raises: the subscriber had no error handler.
                log.debug("stream ended with %r and a subscriber had no on_error", exc)
            else:
                self._report(CallbackError("on_completed/on_error", exc))
