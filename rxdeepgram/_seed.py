"""The seed SDK's event API (``conn.on(...)``, ``start_listening()``) over a connection's stream.

Deepgram's SDK reads its socket only inside ``start_listening()``; until then the socket holds
every frame, so handlers always see the whole conversation, ``OPEN`` first, however late they
are registered. :class:`SeedListener` gives rxdeepgram's connections the same guarantee without
a reader of their own: it is subscribed to the connection's ``messages`` hub from the moment the
connection exists and *holds* what arrives (messages, callback errors, the end) until
``start_listening()`` is called. That call fires the ``OPEN`` handlers, hands the held events to
the handlers in order (on the caller's thread) and then goes live (handlers run as messages
arrive, on the thread that receives them). So seed handlers get ``OPEN``, every message since the
connection opened, ``CLOSE`` (``None`` or the error), then ``ERROR`` if the stream failed.

Bounds and who pays:

* While a handler is registered (or ``start_listening()`` was called) and ``start_listening()``
  has not delivered yet, at most :data:`HOLD_LIMIT` messages are held; then the connection
  stops reading its socket (back-pressure, as the SDK's socket does) until ``start_listening()``
  has caught up; the transports do not count a pong left unread meanwhile as a ping timeout.
  Once the application closes (graceful close, ``CloseStream`` / ``Close``), the socket is read
  again and what remains is held unbounded: the server's rest is finite, and a close must never
  stall.
* A connection with no seed handler is read through Rx (or not at all) and must not pay: the
  hold ends — the listener unsubscribes and drops what it held — at the first of a subscription
  to ``messages`` or ``raw``, a send through ``conn.input`` (the moment ``messages``' replay
  window closes too), or :data:`HOLD_LIMIT` messages held. It never stops the socket. A
  handler registered after that starts a new hold with what a new ``messages`` subscriber would
  get at that moment (the replay window, if still open), ``OPEN`` still first.

Handlers never run concurrently: until the held events are delivered, the receiving thread only
appends (under a lock); the switch to live happens under the same lock once nothing is left.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from reactivex import abc

from .errors import CallbackError

__all__ = ["HOLD_LIMIT", "EventType", "SeedListener"]

log = logging.getLogger("rxdeepgram")

HOLD_LIMIT = 1024
"""Messages held for ``start_listening()`` before the connection stops reading its socket."""


class SeedHost(Protocol):
    """What the listener needs of its connection (``ConnectionBase`` is one; it imports this
    module, so this module names what it uses instead of importing it back)."""

    def _pause_reading(self, paused: bool) -> None: ...

    def _report_callback_error(self, error: CallbackError) -> None: ...


class EventType(enum.StrEnum):
    """The seed SDK's event names for ``conn.on(...)``."""

    OPEN = "open"
    MESSAGE = "message"
    CLOSE = "close"
    ERROR = "error"


# What the hold records, in arrival order: (kind, value).
_MESSAGE = 0
_ERROR = 1  # a callback error: ERROR handlers
_END = 2  # the stream's end (None or the error): CLOSE handlers, then ERROR handlers


class SeedListener(abc.ObserverBase[Any]):
    """One connection's seed handlers and hold; subscribed to its ``messages`` hub."""

    __slots__ = (
        "_closing",
        "_conn",
        "_handlers",
        "_held",
        "_hub",
        "_limit",
        "_live",
        "_lock",
        "_on_message",
        "_one",
        "_paused",
        "_started",
        "_subscription",
        "_wanted",
    )

    def __init__(self, conn: SeedHost, hub: Any, limit: int = HOLD_LIMIT) -> None:
        self._conn = conn
        self._hub = hub
        self._limit = limit
        self._lock = threading.Lock()
        self._handlers: dict[EventType, tuple[Callable[[Any], Any], ...]] = {
            e: () for e in EventType
        }
        self._on_message: tuple[Callable[[Any], Any], ...] = ()
        self._one: Callable[[Any], Any] | None = None  # the MESSAGE handler, when only one
        self._held: list[tuple[int, Any]] | None = []
        self._wanted = False  # a handler was registered or start_listening() called
        self._started = False  # start_listening() was called
        self._live = False  # the hold is delivered: events go to the handlers as they come
        self._paused = False  # we stopped the socket's reading
        self._closing = False  # the application closed: no bound any more
        self._subscription: abc.DisposableBase | None = hub.subscribe_quiet(self)

    # -- the application's side -----------------------------------------------------------------

    def on(self, kind: EventType, handler: Callable[[Any], Any]) -> None:
        with self._lock:
            handlers = self._handlers
            handlers[kind] = (*handlers[kind], handler)
            if kind is EventType.MESSAGE:
                self._on_message = handlers[kind]
                self._one = handler if len(self._on_message) == 1 else None
        self._want()

    def has_message_handlers(self) -> bool:
        """Whether a ``MESSAGE`` handler is registered (then ``recv()`` keeps no queue)."""
        return bool(self._on_message)

    def start(self) -> bool:
        """``start_listening()``: fire ``OPEN``, deliver the hold, go live. ``False`` if it had
        already been called (nothing is delivered twice)."""
        with self._lock:
            if self._started:
                return False
            self._started = True
        self._want()
        for handler in self._handlers[EventType.OPEN]:
            self._call(handler, self._conn, "OPEN handler")
        while True:
            with self._lock:
                held = self._held
                if not held:
                    self._held = None
                    self._live = True
                    paused, self._paused = self._paused, False
                    break
                self._held = []
            for kind, value in held:
                self._dispatch(kind, value)
        if paused:
            self._conn._pause_reading(False)
        return True

    def _want(self) -> None:
        """The application uses the seed API: hold (again) from now on if the hold had ended."""
        with self._lock:
            if self._wanted:
                return
            self._wanted = True
            attach = self._subscription is None
            if attach and not self._live:
                self._held = []
        if attach:  # what a new ``messages`` subscriber would get now (replay window, end)
            self._subscription = self._hub.subscribe_quiet(self)

    # -- the connection's side ------------------------------------------------------------------

    def rx_used(self) -> None:
        """The stream is read through Rx (a subscription, a send through ``input``): with no
        seed handler, the hold ends now."""
        if not self._wanted:
            self._release()

    def closing(self) -> None:
        """The application closed: from now on nothing stops the socket."""
        with self._lock:
            self._closing = True
            paused, self._paused = self._paused, False
        if paused:
            self._conn._pause_reading(False)

    def error(self, error: CallbackError) -> None:
        """A callback error (a subscriber's or a handler's): ``ERROR`` handlers, in order."""
        if not self._handlers[EventType.ERROR]:
            return
        if not self._live:
            with self._lock:
                if not self._live:
                    if self._held is not None:
                        self._held.append((_ERROR, error))
                    return
        self._dispatch(_ERROR, error)

    # -- Observer of the messages hub (the receiving thread) ---------------------------------

    def on_next(self, value: Any) -> None:
        if self._live:
            one = self._one
            if one is not None:  # the usual case: no loop
                try:
                    one(value)
                except Exception as exc:
                    self._report(CallbackError("MESSAGE handler", exc))
                return
            for handler in self._on_message:
                try:
                    handler(value)
                except Exception as exc:
                    self._report(CallbackError("MESSAGE handler", exc))
            return
        with self._lock:
            if not self._live:
                held = self._held
                if held is None:
                    return
                held.append((_MESSAGE, value))
                if len(held) < self._limit or self._paused or self._closing:
                    return
                wanted = self._wanted
                if wanted:
                    self._paused = True
        if self._live:
            self._dispatch(_MESSAGE, value)
        elif wanted:  # back-pressure until start_listening() catches up
            self._conn._pause_reading(True)
        else:  # nobody asked for a hold
            self._release()

    def on_error(self, error: Exception) -> None:
        self._end(error)

    def on_completed(self) -> None:
        self._end(None)

    def _end(self, end: BaseException | None) -> None:
        if not self._live:
            with self._lock:
                if not self._live:
                    if self._held is not None:
                        self._held.append((_END, end))
                    return
        self._dispatch(_END, end)

    # -- internals --------------------------------------------------------------------------------

    def _release(self) -> None:
        with self._lock:
            if self._wanted:
                return
            self._held = None
            subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.dispose()

    def _dispatch(self, kind: int, value: Any) -> None:
        handlers = self._handlers
        if kind == _MESSAGE:
            for handler in handlers[EventType.MESSAGE]:
                self._call(handler, value, "MESSAGE handler")
        elif kind == _ERROR:
            for handler in handlers[EventType.ERROR]:
                try:
                    handler(value)
                except Exception:
                    log.exception("an ERROR handler raised")
        else:
            for handler in handlers[EventType.CLOSE]:
                self._call(handler, value, "CLOSE handler")
            if value is not None:
                for handler in handlers[EventType.ERROR]:
                    self._call(handler, value, "ERROR handler")

    def _call(self, handler: Callable[[Any], Any], arg: Any, where: str) -> None:
        try:
            handler(arg)
        except Exception as exc:
            self._report(CallbackError(where, exc))

    def _report(self, error: CallbackError) -> None:
        """A handler raised while we deliver: log and hook, then ``ERROR`` handlers at once (we
        are the one delivering, so they are in order)."""
        self._conn._report_callback_error(error)
        self._dispatch(_ERROR, error)
