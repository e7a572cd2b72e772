"""The reconnect runner: the inner connections of a resumable connection, one after another.

:class:`ResumableRunner` *adopts* each inner connection (the first, then each one an attempt
opens): it sends the policy's replay first, reads the connection's messages through the policy
(time shift, suppression) into the resumable connection's ``messages``, forwards ``raw`` and the
seed API's back-pressure. When it drops with a retryable cause the stream stays open: the state
says ``reconnecting``, and after a backoff (``retry_delay``) an attempt opens the next one. A run
of failed attempts (a connection that cannot be opened, or that drops before any *progress*)
longer than ``Reconnect.max_attempts`` ends the stream with the last cause.

Both clients run it the same way, with no thread of its own: the backoff is a ``call_later`` and
each attempt a task on the loop the inner connections run on (the async client's loop, or the
sync client's one I/O thread); the client injects how an inner connection is opened
(``open_inner``), so this layer never imports the client.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeVar

import reactivex
from reactivex import abc

from .._inner import InnerConnection
from ..errors import ConnectionClosed, ConnectionClosedError, DeepgramError, DeepgramTimeoutError
from ._config import ConnectionState, is_retryable, retry_delay
from ._sending import ResumableSending

__all__ = ["ResumableRunner"]

log = logging.getLogger("rxdeepgram")

S = TypeVar("S")
C = TypeVar("C")


class _InnerObserver(abc.ObserverBase[Any]):
    """Subscribed to one inner connection's messages: hands them to the resumable connection
    with the inner connection's generation (what a stale connection says is ignored)."""

    __slots__ = ("_generation", "_outer")

    def __init__(self, outer: ResumableRunner[Any, Any], generation: int) -> None:
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

    def __init__(self, outer: ResumableRunner[Any, Any], generation: int) -> None:
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

    def __init__(self, outer: ResumableRunner[Any, Any], generation: int) -> None:
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


class ResumableRunner(ResumableSending[S, C]):
    """Adopts, reads and replaces the inner connections; decides retry or end."""

    _handle: asyncio.TimerHandle | None = None  # the backoff before the next attempt
    _task: asyncio.Task[None] | None = None  # the attempt under way
    _reading_paused = False  # the seed API's back-pressure, for the next connections too

    def __init__(self, first: InnerConnection, **options: Any) -> None:
        super().__init__(first, **options)
        self._attempt = 0  # failed attempts in a row (the number of the current one)
        self._progress = True  # the current connection made progress (see _ProgressWatch)
        self._raw_wanted = False
        self.raw = reactivex.create(self._subscribe_raw)
        """Hot Observable of the frames as received, from every inner connection in turn
        (unshifted: what the server sent)."""
        self._adopt(first, first=True)

    # -- one inner connection -----------------------------------------------------------------

    def _adopt(self, conn: InnerConnection, *, first: bool = False) -> None:
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
                watch.subscription = conn._subscribe_messages(watch)
                if watch.done:  # progress already among the messages it was replayed
                    watch.subscription.dispose()
            replay = policy.begin(first)
            self.url = conn.url
            self.request_id = conn.request_id
            self.response_headers = dict(conn.response_headers)
            observer = (_InnerObserver if policy.locked_messages else _LockFreeInnerObserver)(
                self, generation
            )
            conn._subscribe_messages(observer)
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
            self._set_state(ConnectionState("open", request_id=conn.request_id))

    def _progressed(self, generation: int) -> None:
        """The current connection made progress: the attempts in a row start again."""
        with self._lock:
            if generation == self._generation:
                self._progress = True
                self._attempt = 0

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

    def _forward_raw(self, conn: InnerConnection, generation: int) -> None:
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

    # -- its end: retry, or the end of the stream ----------------------------------------------

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

    def _end_with(self, end: BaseException | None) -> None:
        """The end of the stream (once): no more attempts, ``state`` closed, ``messages`` ends."""
        with self._lock:
            if self._finishing:
                return
            self._finishing = True
            self._cancel_timer()
        self._input._owner = None
        self._session.abort(end)
        # The state first: whoever wakes up on the end of ``messages`` sees it closed.
        self._set_state(ConnectionState("closed", cause=end))
        self._finish(end)

    # -- attempts: a ``call_later`` backoff and a task each, on the loop ------------------------

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
        self._set_state(ConnectionState("reconnecting", attempt=attempt, cause=error))

        def arm() -> None:
            self._handle = self._loop.call_later(delay, self._start_attempt)

        self._on_loop(arm)

    def _start_attempt(self) -> None:
        self._task = self._loop.create_task(self._attempt_open())

    async def _attempt_open(self) -> None:
        if self._aborted or self._finishing:
            return
        try:
            conn = await self._open_inner()
        except DeepgramError as exc:
            self._open_failed(exc)
            return
        self._adopt(conn)

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

    def _cancel_timer(self) -> None:
        """Stop what is pending on the loop: the backoff, the attempt, the close timeout."""

        def cancel() -> None:
            if self._close_handle is not None:
                self._close_handle.cancel()
            if self._handle is not None:
                self._handle.cancel()
            if self._task is not None and not self._task.done():
                self._task.cancel()

        self._on_loop(cancel)
