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

With ``latest=True`` the window holds only the latest item and never closes: each subscriber
gets the current value first, then every change (``conn.state`` of a resumable connection).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import reactivex
from reactivex import abc
from reactivex.disposable import Disposable
from reactivex.observer import AutoDetachObserver

from .errors import CallbackError

__all__ = ["Hub"]

T = TypeVar("T")
log = logging.getLogger("rxdeepgram")

_COMPLETED = object()


class _Live:
    """The stop flag of a subscriber that has none of its own (always live)."""

    __slots__ = ()
    is_stopped = False


_LIVE = _Live()


class Hub(Generic[T]):
    """Multicast of one connection's incoming stream. Only the connection emits into it.

    The hot path is :meth:`emit` with the window closed: one loop over a tuple of
    ``(stop flag, on_next)`` pairs, each call in a ``try`` (free in CPython 3.11+ unless it
    raises). A subscriber that came through ``observable.subscribe`` is reactivex's
    ``AutoDetachObserver`` around the user's callback; its ``on_next`` is no more than
    ``if not self.is_stopped: self._on_next(value)``, so the hub does exactly that itself and
    calls the user's callback directly: one Python call less per message and subscriber (the
    fallback, for any other observer or a reactivex whose observer lacks ``_on_next``, is the
    observer's own ``on_next``)."""

    __slots__ = (
        "_end",
        "_latest",
        "_lock",
        "_observers",
        "_report",
        "_targets",
        "_watch",
        "_window",
        "_window_limit",
        "active",
        "observable",
    )

    def __init__(
        self,
        report: Callable[[CallbackError], None],
        window_limit: int = 4096,
        *,
        latest: bool = False,
    ) -> None:
        self._lock = threading.RLock()
        self._observers: tuple[abc.ObserverBase[T], ...] = ()
        self._targets: tuple[tuple[Any, Callable[[T], None]], ...] = ()
        self._window: list[T] | None = []
        self._window_limit = window_limit
        self._latest = latest  # the window keeps the latest item only, and stays open
        self._end: object = None  # None while live, _COMPLETED, or the error
        self._report = report
        self._watch: Callable[[], None] | None = None
        self.active = True
        """Whether :meth:`emit` has anywhere to put an item (a subscriber, or the window
        open): a plain attribute, read per frame by the connection."""
        self.observable: reactivex.Observable[T] = reactivex.create(self._subscribe)

    # -- subscribers ------------------------------------------------------------------------

    def _subscribe(
        self, observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        watch = self._watch
        if watch is not None:
            self._watch = None
            watch()
        return self.subscribe_quiet(observer)

    def subscribe(self, observer: abc.ObserverBase[T]) -> abc.DisposableBase:
        """Subscribe ``observer`` itself, with no reactivex wrapper around it (each item is one
        call of its ``on_next``); counts as reading the stream, as :attr:`observable` does."""
        return self._subscribe(observer)

    def subscribe_quiet(self, observer: abc.ObserverBase[T]) -> abc.DisposableBase:
        """Subscribe without counting as the stream being read through Rx (no :meth:`watch`
        callback): ``recv()``'s queue, which must not end the seed API's hold."""
        with self._lock:
            window = self._window
            if window:
                for item in window:
                    self._deliver(observer, item)
            end = self._end
            if end is None:
                self._observers = (*self._observers, observer)
                self._targets = (*self._targets, _target(observer))
                self.active = True
            else:
                self._finish(observer, end)
                return Disposable()

        def dispose() -> None:
            with self._lock:
                kept = [
                    (o, t)
                    for o, t in zip(self._observers, self._targets, strict=True)
                    if o is not observer
                ]
                self._observers = tuple(o for o, _ in kept)
                self._targets = tuple(t for _, t in kept)
                self._update_active()

        return Disposable(dispose)

    def watch(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` (once, on the subscriber's thread, before it is subscribed) at the
        next subscription; ``None`` stops watching. The connection's seed listener uses it to
        end its hold when the stream is read through Rx."""
        self._watch = callback

    def _update_active(self) -> None:
        self.active = bool(self._observers) or self._window is not None

    @property
    def has_observers(self) -> bool:
        return self.active

    # -- emitting (the connection only) ----------------------------------------------------------

    def emit(self, item: T) -> None:
        if self._window is not None:
            with self._lock:
                window = self._window
                if window is not None and self._end is None:  # nothing kept after the end
                    if self._latest:
                        window.clear()
                    window.append(item)
                    if len(window) >= self._window_limit and not self._latest:
                        self._window = None
                        self._update_active()
                # Taken with the item in the window: a subscriber arriving now gets it once.
                targets = self._targets
        else:
            targets = self._targets
        for stop, on_next in targets:
            if stop.is_stopped:
                continue
            try:
                on_next(item)
            except Exception as exc:  # a user's callback: report, never propagate
                self._report(CallbackError("on_next", exc).with_traceback(exc.__traceback__))

    def close_window(self) -> None:
        if self._window is not None:
            with self._lock:
                self._window = None
                self._update_active()

    def end(self, error: BaseException | None, last: T | None = None) -> None:
        """Complete (``None``) or error every subscriber, once. ``last`` (unless ``None``) is
        emitted just before, in the same step: a later subscriber gets it last, whatever another
        thread emits meanwhile (``closed``, the last state of a resumable connection)."""
        with self._lock:
            if self._end is not None:
                return
            if last is not None and self._window is not None:
                if self._latest:
                    self._window.clear()
                self._window.append(last)
            self._end = _COMPLETED if error is None else error
            observers, self._observers = self._observers, ()
            self._targets = ()
            self._update_active()
            end = self._end
        for observer in observers:
            if last is not None:
                self._deliver(observer, last)
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


def _target(observer: abc.ObserverBase[Any]) -> tuple[Any, Callable[[Any], None]]:
    """What :meth:`Hub.emit` calls for ``observer``: its stop flag and its callback."""
    if type(observer) is AutoDetachObserver:
        on_next = getattr(observer, "_on_next", None)
        if callable(on_next) and hasattr(observer, "is_stopped"):
            return observer, on_next
    return _LIVE, observer.on_next
