"""Resumable connections: one user-facing connection over a sequence of inner connections.

:class:`ResumableBase` is a :class:`~rxdeepgram._connection.ConnectionBase` (same ``messages``,
``input``, ``raw``, seed API) with no driver of its own: what the application sends is validated
by its own :class:`~rxdeepgram._session.Session` (so bad input raises at the caller, before
anything is kept), recorded by the channel's :class:`~._policy.Policy` and forwarded to the
current inner connection; what an inner connection receives goes through the policy (time shift,
suppression) into this connection's ``messages``. When an inner connection drops with a
retryable cause, the stream stays open, a new inner connection is opened after a backoff, and
the policy's replay is sent on it first.

Both clients share one runner: the backoff is a ``call_later`` and each attempt a task on the
loop the inner connections run on, the async client's loop or the sync client's one I/O thread
(which :class:`ResumableConnection` keeps running until it ends). They differ only in how the
application waits; the client injects how an inner connection is opened (``open_inner``). No
thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from threading import get_ident
from typing import Any, TypeVar

import reactivex
from reactivex import abc
from reactivex.disposable import Disposable

from .._connection import AsyncConnection, Connection, ConnectionBase, _Input
from .._session import ChannelSpec, Frame, Session, State
from ..errors import (
    CallbackError,
    ConnectionClosed,
    ConnectionClosedError,
    DeepgramError,
    DeepgramTimeoutError,
)
from ._config import ConnectionState, Reconnect, ResumeStats, is_retryable, retry_delay
from ._policy import Policy

OpenInner = Callable[[], Awaitable[ConnectionBase[Any, Any]]]
"""Opens one inner connection (the client's open, injected: this layer sits below the clients)."""

__all__ = ["AsyncResumableConnection", "ResumableBase", "ResumableConnection", "resumable"]

log = logging.getLogger("rxdeepgram")

S = TypeVar("S")
C = TypeVar("C")


_OPEN = State.OPEN


_IDENTS: dict[int, int] = {}


def _discard(frame: Frame) -> None:
    pass


class _StateHub:
    """``conn.state``: the current :class:`ConnectionState` to each new subscriber, then every
    change; completes after ``closed``. Subscriber errors are reported, never propagated."""

    def __init__(self, initial: ConnectionState, report: Callable[[CallbackError], None]) -> None:
        self._lock = threading.Lock()
        self._current = initial
        self._observers: tuple[abc.ObserverBase[ConnectionState], ...] = ()
        self._report = report
        self.observable: reactivex.Observable[ConnectionState] = reactivex.create(self._subscribe)

    def _subscribe(
        self, observer: abc.ObserverBase[ConnectionState], scheduler: Any = None
    ) -> abc.DisposableBase:
        with self._lock:
            current = self._current
            live = current.kind != "closed"
            if live:
                self._observers = (*self._observers, observer)
        self._call(observer.on_next, current)
        if not live:
            self._call(observer.on_completed)
            return Disposable()

        def dispose() -> None:
            with self._lock:
                self._observers = tuple(o for o in self._observers if o is not observer)

        return Disposable(dispose)

    @property
    def current(self) -> ConnectionState:
        return self._current

    def set(self, state: ConnectionState) -> None:
        with self._lock:
            if self._current.kind == "closed":
                return
            self._current = state
            observers = self._observers
            if state.kind == "closed":
                self._observers = ()
        for observer in observers:
            self._call(observer.on_next, state)
            if state.kind == "closed":
                self._call(observer.on_completed)

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:
            self._report(CallbackError("state subscriber", exc))


class _InnerObserver(abc.ObserverBase[Any]):
    """Subscribed to one inner connection's messages: hands them to the resumable connection
    with the inner connection's generation (what a stale connection says is ignored)."""

    __slots__ = ("_generation", "_outer")

    def __init__(self, outer: ResumableBase[Any, Any], generation: int) -> None:
        self._outer = outer
        self._generation = generation

    def on_next(self, value: Any) -> None:
        self._outer._on_inner_message(self._generation, value)

    def on_error(self, error: Exception) -> None:
        self._outer._on_inner_end(self._generation, error)

    def on_completed(self) -> None:
        self._outer._on_inner_end(self._generation, None)


class _LockFreeInnerObserver(_InnerObserver):
    """The same for a policy whose ``on_message`` needs no lock: one call per message."""

    __slots__ = ("_emit", "_on_message")

    def __init__(self, outer: ResumableBase[Any, Any], generation: int) -> None:
        super().__init__(outer, generation)
        self._on_message = outer._policy.on_message
        self._emit = outer._messages_hub.emit

    def on_next(self, value: Any) -> None:
        if self._generation == self._outer._generation:
            out = self._on_message(value)
            if out is not None:
                self._emit(out)


class _ProgressWatch(abc.ObserverBase[Any]):
    """Subscribed to a new inner connection until it makes *progress*: the first message that
    is not one of the channel's opening messages (``Policy.opening_types``: Listen V2
    ``Connected``, Speak ``Metadata``, Agent ``Welcome`` / ``SettingsApplied``), i.e. a result,
    an event or audio. Then the run of failed attempts starts again, and it unsubscribes (no
    cost per message after that). A connection that drops before any progress counts as a
    failed attempt."""

    __slots__ = ("_generation", "_opening", "_outer", "done", "subscription")

    def __init__(self, outer: ResumableBase[Any, Any], generation: int) -> None:
        self._outer = outer
        self._generation = generation
        self._opening = outer._policy.opening_types
        self.done = False
        self.subscription: abc.DisposableBase | None = None

    def on_next(self, value: Any) -> None:
        if self.done or (
            type(value) is not bytes and getattr(value, "type", None) in self._opening
        ):
            return
        self.done = True
        self._outer._progressed(self._generation)
        subscription, self.subscription = self.subscription, None
        if subscription is not None:
            subscription.dispose()

    def on_error(self, error: Exception) -> None:
        pass

    def on_completed(self) -> None:
        pass


def _subscribe_fast(conn: ConnectionBase[Any, Any], observer: abc.ObserverBase[Any]) -> None:
    """Subscribe ``observer`` to ``conn.messages`` straight on its hub (no reactivex wrapper
    per message), or through ``messages`` if the connection has no such hub."""
    hub = getattr(conn, "_messages_hub", None)
    subscribe = getattr(hub, "_subscribe", None)
    if callable(subscribe):
        subscribe(observer)
    else:
        conn.messages.subscribe(observer)


class _ResumableInput(_Input):
    """``input`` of a resumable connection. Audio on an open stream sent from the thread that
    owns the connection's state (:attr:`_owner`: the async client's loop thread, set only
    while the lock-free path is on) goes straight to the policy, with no lock and no check
    beyond this one; everything else goes through the connection's ``_send``."""

    __slots__ = ("_outer", "_owner", "_tap")

    def __init__(self, conn: ResumableBase[Any, Any]) -> None:
        super().__init__(conn)
        self._outer = conn
        self._tap = conn._policy.tap
        self._owner: int | None = None

    def on_next(self, value: Any) -> None:
        if type(value) is bytes and value and self._owner == get_ident():
            self._tap.send_audio(value)
        else:
            self._outer._send(value)


class ResumableBase(ConnectionBase[S, C]):
    """What the sync and async resumable connections share (everything but waiting/opening)."""

    def __init__(
        self,
        first: ConnectionBase[Any, Any],
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
        # The lock-free path: while ``_lockfree``, everything that changes the policy's state
        # runs on the ``_owner`` thread (the async client's loop thread), which needs no lock;
        # what another thread sends is checked at once, then handed to the owner, which
        # turns the lock on for good (see ``_send_from_thread``).
        self._lockfree = self._owner is not None
        self._handed: list[Callable[[], None]] = []
        self._handed_audio = 0  # bytes of audio in _handed
        self._inner: ConnectionBase[Any, Any] | None = None
        self._generation = 0
        self._attempt = 0
        self._progress = True  # the current connection made progress (see _ProgressWatch)
        self._close_handle: asyncio.TimerHandle | None = None
        self._closing = False
        self._aborted = False
        self._finishing = False
        self._connections = 0
        self._reconnects = 0
        self._failed_attempts = 0
        self.input = self._input = _ResumableInput(self)
        self._send_audio_now = policy.tap.send_audio
        self._raw_wanted = False
        self.raw = reactivex.create(self._subscribe_raw)
        """Hot Observable of the frames as received, from every inner connection in turn
        (unshifted: what the server sent)."""
        self._state = _StateHub(ConnectionState("open", request_id=first.request_id), self._report)
        self.state: reactivex.Observable[ConnectionState] = self._state.observable
        """Observable of :class:`~rxdeepgram.ConnectionState`: the current state at once, then
        ``reconnecting`` (attempt, cause) / ``open`` changes; completes after ``closed``."""
        self._adopt(first, first=True)

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
        )

    @property
    def current_state(self) -> ConnectionState:
        """The latest :class:`~rxdeepgram.ConnectionState`."""
        return self._state.current

    # -- inner connections --------------------------------------------------------------------

    def _adopt(self, conn: ConnectionBase[Any, Any], *, first: bool = False) -> None:
        policy = self._policy
        with self._lock:
            if self._aborted or self._finishing:
                conn._abort(None)
                return
            self._generation += 1
            generation = self._generation
            self._inner = conn
            policy.set_sink(conn)
            self._connections += 1
            if first:
                self._attempt = 0
                self._progress = True
            else:
                # the run of failed attempts goes on until this connection makes progress
                self._reconnects += 1
                self._progress = False
                watch = _ProgressWatch(self, generation)
                hub = getattr(conn, "_messages_hub", None)
                if hub is not None:
                    watch.subscription = hub._subscribe(watch)
                else:  # pragma: no cover - every connection has a hub
                    watch.subscription = conn.messages.subscribe(watch)
                if watch.done:  # progress already among the messages it was replayed
                    watch.subscription.dispose()
            replay = policy.begin(first)
            self.url = conn.url
            self.request_id = conn.request_id
            self.response_headers = dict(conn.response_headers)
            observer = (_InnerObserver if policy.locked_messages else _LockFreeInnerObserver)(
                self, generation
            )
            _subscribe_fast(conn, observer)
            if self._reading_paused:  # the seed API's back-pressure holds on the new socket
                conn._pause_reading(True)
            if self._raw_wanted:
                self._forward_raw(conn, generation)
            try:
                for item in replay:
                    conn.input.on_next(item)
                if self._closing and not policy.holding:
                    conn._close_gracefully()
            except ConnectionClosed:
                pass  # dropped again at once: its end is on its way
        if not first:
            self._state.set(ConnectionState("open", request_id=conn.request_id))

    def _progressed(self, generation: int) -> None:
        """The current connection made progress: the attempts in a row start again."""
        with self._lock:
            if generation == self._generation:
                self._progress = True
                self._attempt = 0

    _reading_paused = False

    def _pause_reading(self, paused: bool) -> None:
        """The seed API's back-pressure, on the current inner connection and the next ones."""
        with self._lock:
            self._reading_paused = paused
            inner = self._inner
        if inner is not None:
            inner._pause_reading(paused)

    def _subscribe_raw(
        self, observer: abc.ObserverBase[str | bytes], scheduler: Any = None
    ) -> abc.DisposableBase:
        """Frames are forwarded only once someone wants them (no cost per frame otherwise)."""
        with self._lock:
            if not self._raw_wanted:
                self._raw_wanted = True
                if self._inner is not None:
                    self._forward_raw(self._inner, self._generation)
        subscription: abc.DisposableBase = self._raw_hub.observable.subscribe(
            observer, scheduler=scheduler
        )
        return subscription

    def _forward_raw(self, conn: ConnectionBase[Any, Any], generation: int) -> None:
        def forward(frame: str | bytes) -> None:
            if generation == self._generation:
                self._raw_hub.emit(frame)

        conn.raw.subscribe(forward, lambda _: None)

    def _on_inner_message(self, generation: int, message: Any) -> None:
        if generation != self._generation:
            return
        policy = self._policy
        with self._lock:
            holding = policy.holding
            out = policy.on_message(message)
            if policy.outbox or (holding and not policy.holding):
                self._flush_outbox()
        if out is not None:
            self._messages_hub.emit(out)

    def _flush_outbox(self) -> None:
        """Send what the policy released (called under the lock)."""
        policy = self._policy
        items, policy.outbox = policy.outbox, []
        inner = self._inner
        if inner is None:
            return
        try:
            for item in items:
                inner.input.on_next(item)
            if self._closing and not policy.holding:
                inner._close_gracefully()
        except ConnectionClosed:
            pass

    def _on_inner_end(self, generation: int, error: BaseException | None) -> None:
        retry: int | None = None
        cut: list[Any] = []
        with self._lock:
            if generation != self._generation:
                return
            self._inner = None
            self._policy.set_sink(None)
            self._generation += 1
            if self._aborted:
                end = self._session_end()
            elif error is None or not (
                is_retryable(error, opening=False)
                # the close timed out: as stalled as a connection gets
                or (self._closing and isinstance(error, DeepgramTimeoutError))
            ):
                end = error
            else:
                if not self._progress:
                    self._failed_attempts += 1  # it opened, then dropped before any result
                retry = self._next_attempt()
                end = None if retry is not None else self._gave_up(error)
                if retry is not None:
                    cut = self._policy.on_drop()
        for message in cut:
            self._messages_hub.emit(message)
        if retry is not None and error is not None:
            self._retry(retry, error)
        else:
            self._end_with(end)

    def _gave_up(self, error: BaseException) -> BaseException:
        """The stream's end once the attempts have run out after ``error`` (a drop): the same
        error, saying why the stream gives up."""
        if self._progress or not isinstance(error, ConnectionClosedError):
            return error
        tries = self._reconnect.max_attempts
        name = self._spec.name
        opening = "/".join(sorted(self._policy.opening_types)) or "none"
        end = ConnectionClosedError(
            error.code,
            error.reason,
            message=(
                f"{name}: gave up after {tries} failed reconnect attempts in a row: the "
                f"connections opened, then closed before any result (nothing but the opening "
                f"messages: {opening}); last close: {error}"
            ),
        )
        end.__cause__ = error
        return end

    def _next_attempt(self) -> int | None:
        """The number of the next attempt (under the lock); ``None`` when the attempts have run
        out."""
        self._attempt += 1
        return self._attempt if self._attempt <= self._reconnect.max_attempts else None

    def _retry(self, attempt: int, error: BaseException) -> None:
        """Say so, then wait and try (not under the lock: state subscribers run here)."""
        delay = retry_delay(self._reconnect, attempt, error)
        log.info(
            "%s: reconnecting in %.2f s (attempt %d) after %s",
            self._spec.name,
            delay,
            attempt,
            error,
        )
        self._state.set(ConnectionState("reconnecting", attempt=attempt, cause=error))
        self._schedule(delay)

    def _open_failed(self, error: BaseException) -> None:
        retry: int | None = None
        with self._lock:
            if self._aborted or self._finishing:
                end: BaseException | None = self._session_end()
            else:
                self._failed_attempts += 1
                if is_retryable(error, opening=True):
                    retry = self._next_attempt()
                end = error
        if retry is not None:
            self._retry(retry, error)
        else:
            self._end_with(end)

    def _session_end(self) -> BaseException | None:
        return self._session._end

    def _end_with(self, end: BaseException | None) -> None:
        with self._lock:
            if self._finishing:
                return
            self._finishing = True
            self._cancel_timer()
        self._input._owner = None
        self._session.abort(end)
        # The state first: whoever wakes up on the end of ``messages`` sees it closed.
        self._state.set(ConnectionState("closed", cause=end))
        self._finish(end)

    # -- reconnecting: a ``call_later`` backoff and a task per attempt, on the loop the inner
    # connections run on (the async client's loop, or the sync client's one I/O thread) --------

    _loop: asyncio.AbstractEventLoop
    _owner: int | None = None  # the thread that may run lock-free (the async client's loop)
    _handle: asyncio.TimerHandle | None = None
    _task: asyncio.Task[None] | None = None

    def _on_loop(self, fn: Callable[[], Any]) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            fn()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nothing left to run
                self._loop.call_soon_threadsafe(fn)

    def _schedule(self, delay: float) -> None:
        def arm() -> None:
            self._handle = self._loop.call_later(delay, self._start_attempt)

        self._on_loop(arm)

    def _start_attempt(self) -> None:
        self._task = self._loop.create_task(self._attempt_open())

    def _cancel_timer(self) -> None:
        def cancel() -> None:
            if self._close_handle is not None:
                self._close_handle.cancel()
            if self._handle is not None:
                self._handle.cancel()
            if self._task is not None and not self._task.done():
                self._task.cancel()

        self._on_loop(cancel)

    async def _attempt_open(self) -> None:
        if self._aborted or self._finishing:
            return
        try:
            conn = await self._open_inner()
        except DeepgramError as exc:
            self._open_failed(exc)
            return
        self._adopt(conn)

    # -- the application's side -----------------------------------------------------------------

    def _send(self, item: object) -> None:
        if self._lockfree and get_ident() != self._owner:
            self._send_from_thread(item)
            return
        session = self._session
        if type(item) is bytes and item and self._media and session.state is _OPEN:
            with self._lock:
                self._send_audio_now(item)
        else:
            item = _prepared_item(item, session.spec)
            with self._lock:
                closing = session.send(item, _discard)  # validates; raises once closing
                if type(item) is not bytes or item:
                    self._apply(item, closing)
        if self._windows_open:
            self._close_windows()
            self._arm()

    def _apply(self, item: object, closing: bool) -> None:
        """What follows a send the session accepted: the policy, then the current inner
        connection (under the lock, or on the owner thread while lock-free)."""
        policy = self._policy
        inner = self._inner
        if inner is not None and type(item) is bytes:
            inner._check_room(len(item))  # refused before the policy keeps it
        if not closing:
            item = policy.on_send(item, inner is not None)
        else:
            self._input._owner = None  # audio from now on raises at the caller (the session)
            self._closing = True
            self._seed.closing()
            policy.on_close()
        if inner is not None and item is not None:
            # if it dropped, the policy kept what must be replayed
            with contextlib.suppress(ConnectionClosed):
                inner.input.on_next(item)

    def _arm(self) -> None:
        """Turn ``input``'s lock-free audio path on if it applies (owner thread, an open
        stream on a channel that takes audio, the subscription windows closed)."""
        if self._lockfree and self._media and self._session.state is _OPEN:
            self._input._owner = self._owner

    def _send_from_thread(self, item: object) -> None:
        """Another thread sends while the owner runs lock-free: check it now (bad input and
        sends after the close raise here), hand the rest to the owner thread in order, and
        have the owner turn the lock on for good before anything else of it runs."""
        session = self._session
        item = _prepared_item(item, session.spec)
        with self._lock:
            if self._lockfree:
                closing = session.send(item, _discard)  # validates; raises once closing
                if type(item) is bytes and item and not closing:
                    self._policy.check_room(self._handed_audio + len(item))
                    inner = self._inner
                    if inner is not None:  # the send queue too, before anything is handed
                        inner._check_room(len(item), self._handed_audio)
                    self._handed_audio += len(item)
                if type(item) is not bytes or item:
                    self._input._owner = None
                    self._hand(functools.partial(self._apply, item, closing))
                handed = True
            else:
                handed = False
        if not handed:
            self._send(item)
        elif self._windows_open:
            self._close_windows()

    def _hand(self, work: Callable[[], None]) -> None:
        """Queue ``work`` for the owner thread (under the lock, while lock-free)."""
        self._handed.append(work)
        if len(self._handed) == 1:
            try:
                self._loop.call_soon_threadsafe(self._take_lock)
            except RuntimeError:  # the loop is gone: so is the connection
                self._handed.clear()

    def _take_lock(self) -> None:
        """On the owner thread: from now on every send takes the lock; run what was handed."""
        with self._lock:
            self._lockfree = False
            self._input._owner = None
            handed, self._handed = self._handed, []
            self._handed_audio = 0
            try:
                for work in handed:
                    work()
            except DeepgramError as exc:  # the buffer overflowed while reconnecting
                error: DeepgramError | None = exc
            else:
                error = None
        if error is not None:
            self._abort(error)

    def _close_gracefully(self) -> None:
        with self._lock:
            if not self._session.close_gracefully(_discard):
                return
            self._input._owner = None
            if self._lockfree and get_ident() != self._owner:
                self._hand(self._close_policy)
            else:
                self._close_policy()
        self._close_windows()
        self._start_close_timer()

    def _start_close_timer(self) -> None:
        """The close, whatever the state (open, reconnecting, opening, stalled), ends within
        ``close_timeout``: then the stream errors with what was not delivered."""

        def arm() -> None:
            if self._close_handle is None and not self._finishing:
                self._close_handle = self._loop.call_later(
                    self._close_timeout, self._close_timed_out
                )

        self._on_loop(arm)

    def _close_timed_out(self) -> None:
        with self._lock:
            missing = self._policy.undelivered()
        state = self._state.current
        if state.kind == "reconnecting":
            missing += f" (reconnecting: attempt {state.attempt} after {state.cause})"
        self._abort(self._close_timeout_error(missing), hard=True)

    def _close_policy(self) -> None:
        self._closing = True
        self._seed.closing()
        self._policy.on_close()
        inner = self._inner
        if inner is not None and not self._policy.holding:
            inner._close_gracefully()

    def _abort(self, error: BaseException | None, hard: bool = False) -> None:
        self._input._owner = None
        if not self._session.abort(error):
            return
        with self._lock:
            self._aborted = True
            inner = self._inner
        if inner is not None:
            inner._abort(error, hard)  # its end comes back through _on_inner_end
        else:
            self._end_with(self._session_end())

    def __repr__(self) -> str:
        state = "ended" if self._ended else self._state.current.kind
        name = self._session.spec.name
        return f"<{type(self).__name__} {name} {state} request_id={self.request_id}>"


def _prepared_item(item: object, spec: Any) -> object:
    """``item`` as the session and the policy take it (a struct or ``bytes`` as it is)."""
    cls = type(item)
    if cls is not bytes and cls not in spec._allowed:
        return _native(item, spec)
    return item


def _native(item: object, spec: Any) -> object:
    """What the policy sees: ``bytes`` or the channel's struct (the session validates it)."""
    if isinstance(item, (bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, str) and spec.text_message is not None and item:
        return spec.text_message(item)
    if isinstance(item, Mapping):
        return spec.from_dict(item)
    native = getattr(item, "_rxdeepgram_native_", None)
    if native is not None and callable(native):
        return _native(native(), spec)
    return item


class ResumableConnection(ResumableBase[S, C], Connection[S, C]):
    """A resumable connection of the sync client (``connect(..., reconnect=True)``): its
    reconnects run on the client's I/O thread, which it keeps running until it ends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .._ioloop import io_loop

        self._loop = io_loop.acquire()
        self._released = False
        super().__init__(*args, **kwargs)

    def _set_done(self) -> None:
        super()._set_done()
        if not self._released:
            from .._ioloop import io_loop

            self._released = True
            io_loop.release()


class AsyncResumableConnection(ResumableBase[S, C], AsyncConnection[S, C]):
    """A resumable connection of the async client (``connect(..., reconnect=True)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = asyncio.get_running_loop()
        # the loop's thread: audio sent on it needs no lock (one int object per thread, shared
        # by its connections: the check per chunk reads memory that stays in the cache)
        ident = get_ident()
        self._owner = _IDENTS.setdefault(ident, ident)
        super().__init__(*args, **kwargs)

    def _set_done(self) -> None:
        self._on_loop(super()._set_done)


def resumable(
    open_inner: OpenInner,
    spec: ChannelSpec,
    policy: Callable[[], Policy],
    reconnect: Reconnect,
    *,
    is_async: bool,
    close_timeout: float,
    on_callback_error: Callable[[CallbackError], None] | None,
) -> Callable[[ConnectionBase[Any, Any]], ConnectionBase[Any, Any]]:
    """What turns the first inner connection into the resumable one (the connect contexts'
    ``wrap``). The first open is not retried: its failure raises at once; ``open_inner`` opens
    each later one (the client's open, so this layer never imports the client)."""
    cls: Any = AsyncResumableConnection if is_async else ResumableConnection

    def wrap(first: ConnectionBase[Any, Any]) -> ConnectionBase[Any, Any]:
        conn: ConnectionBase[Any, Any] = cls(
            first,
            open_inner=open_inner,
            spec=spec,
            close_timeout=close_timeout,
            on_callback_error=on_callback_error,
            policy=policy(),
            reconnect=reconnect,
        )
        return conn

    return wrap
