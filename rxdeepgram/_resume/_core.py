"""The state every part of a resumable connection shares, and what an application observes.

A resumable connection is one class built in layers, one module each, every layer using only
what the ones below it define (and ``ConnectionBase``'s methods, which a layer above may
override: ``_abort`` is ``_closing``'s)::

    _core.ResumableCore          shared state, the loop, conn.state / stats   (this module)
    _sending.ResumableSending    the application's sends: the lock-free path and its hand-over
    _runner.ResumableRunner      the inner connections: adopt, read, drop, retry on the loop
    _closing.ResumableClosing    graceful close, close timeout, abort
    _connection.ResumableBase    the whole; its sync and async fronts

:class:`ResumableCore` is a :class:`~rxdeepgram._connection.ConnectionBase` with no driver of its
own: its :class:`~rxdeepgram._session.Session` validates what the application sends (so bad
input raises at the caller, before anything is kept), the channel's
:class:`~._policy.Policy` keeps and rewrites, and the current inner connection (an
:class:`~rxdeepgram._inner.InnerConnection`) does the I/O. Here: the state the layers share
(initialised here; changed under :attr:`_lock`), the loop the inner connections run on, and
``conn.state`` / ``conn.stats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import reactivex

from .._connection import ConnectionBase
from .._hub import Hub
from .._inner import InnerConnection
from .._session import ChannelSpec, Frame, Session
from ..errors import CallbackError
from ._config import ConnectionState, Reconnect, ResumeStats
from ._policy import Policy

__all__ = ["OpenInner", "ResumableCore", "discard"]

S = TypeVar("S")
C = TypeVar("C")

OpenInner = Callable[[], Awaitable[InnerConnection]]
"""Opens one inner connection (the client's open, injected: this layer sits below the clients)."""


def discard(frame: Frame) -> None:
    """The ``put`` of the resumable connection's session: the session validates what is sent
    and tracks the close; the inner connection encodes and sends."""


class ResumableCore(ConnectionBase[S, C]):
    """Shared state, the loop, and what the application observes (``state``, ``stats``)."""

    _loop: asyncio.AbstractEventLoop
    """The loop the inner connections run on (set by the front before ``__init__``)."""
    _owner: int | None = None
    """The thread that may send lock-free (the async client's loop thread; see ``_sending``)."""

    def __init__(
        self,
        first: InnerConnection,
        *,
        open_inner: OpenInner,
        spec: ChannelSpec,
        close_timeout: float,
        on_callback_error: Callable[[CallbackError], None] | None,
        policy: Policy,
        reconnect: Reconnect,
    ) -> None:
        session = Session(spec, keepalive_interval=None, clock=time.monotonic)
        super().__init__(
            session,
            url=first.url,
            request_id=first.request_id,
            response_headers=first.response_headers,
            close_timeout=close_timeout,
            on_callback_error=on_callback_error,
        )
        self._open_inner = open_inner
        self._spec = spec
        self._policy = policy
        self._reconnect = reconnect
        self._lock = threading.RLock()
        # the current inner connection (None while reconnecting) and its number: what an older
        # one still says is ignored
        self._inner: InnerConnection | None = None
        self._generation = 0
        # where the stream is: the application closed it (graceful), aborted it, or its end is
        # decided (``_runner._end_with``)
        self._closing = False
        self._aborted = False
        self._finishing = False
        # the counters of ``stats`` (the runner's)
        self._connections = 0
        self._reconnects = 0
        self._failed_attempts = 0
        self._close_handle: asyncio.TimerHandle | None = None  # the close timeout (_closing)
        self._state_now = ConnectionState("open", request_id=first.request_id)
        self._state_hub = Hub[ConnectionState](self._report_state_error, latest=True)
        self._state_hub.emit(self._state_now)
        self.state: reactivex.Observable[ConnectionState] = self._state_hub.observable
        """Observable of :class:`~rxdeepgram.ConnectionState`: the current state at once, then
        ``reconnecting`` (attempt, cause) / ``open`` changes; completes after ``closed``."""

    # -- observing ----------------------------------------------------------------------------

    @property
    def stats(self) -> ResumeStats:
        """A snapshot of the reconnect counters."""
        p = self._policy
        return ResumeStats(
            connections=self._connections,
            reconnects=self._reconnects,
            failed_attempts=self._failed_attempts,
            replayed_audio_s=round(p.replayed_audio_s, 6),
            dropped_audio_s=round(p.dropped_audio_s, 6),
            replayed_messages=p.replayed_messages,
            suppressed=p.suppressed,
            buffered_audio_s=round(p.buffered_audio_s, 6),
        )

    @property
    def current_state(self) -> ConnectionState:
        """The latest :class:`~rxdeepgram.ConnectionState`."""
        return self._state_now

    def _set_state(self, state: ConnectionState) -> None:
        """Tell ``state`` to its subscribers (call it outside the lock: they run here);
        ``closed`` is the last state, and completes them."""
        with self._lock:
            if self._state_now.kind == "closed":
                return
            self._state_now = state
        if state.kind == "closed":
            self._state_hub.end(None, state)
        else:
            self._state_hub.emit(state)

    def _report_state_error(self, error: CallbackError) -> None:
        """A ``state`` subscriber raised: reported (never propagated) as one."""
        self._report(CallbackError("state subscriber", error.error))

    def _session_end(self) -> BaseException | None:
        """The end the application decided (``input.on_error``, a timeout), if any."""
        return self._session.end

    # -- the loop -----------------------------------------------------------------------------

    def _on_loop(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the loop: now if this is the loop's thread, else soon."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            fn()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nothing left to run
                self._loop.call_soon_threadsafe(fn)

    def __repr__(self) -> str:
        state = "ended" if self._ended else self._state_now.kind
        name = self._session.spec.name
        return f"<{type(self).__name__} {name} {state} request_id={self.request_id}>"
