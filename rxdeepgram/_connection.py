"""The connection users hold: ``messages`` (Observable), ``input`` (Observer), ``raw``, close.

:class:`ConnectionBase` is I/O-agnostic: it wires a :class:`~rxdeepgram._session.Session` (the
protocol rules) to two :class:`~rxdeepgram._hub.Hub` multicasts and to a driver that only moves
frames. :class:`Connection` (sync) and :class:`AsyncConnection` add the few methods whose shape
depends on the I/O model: waiting for the end. Both run on the same driver
(``_drivers/_asyncio.py``): the async client's on the caller's loop, the sync client's on the
one I/O thread shared by every sync connection (``_ioloop.py``). The seed SDK's methods
(``on``, ``start_listening``, ``send_*``) are mixed in from ``_seed_api.py``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import reactivex
from reactivex import abc

from ._seed import SeedListener
from ._seed_api import AsyncSeedAPI, EventType, SeedAPI, Sent, SyncSeedAPI
from ._session import Frame, Session, State
from .errors import CallbackError, ConnectionClosed

if TYPE_CHECKING:
    from ._inner import InnerConnection

__all__ = ["AsyncConnection", "Connection", "ConnectionBase", "EventType", "Sent"]

log = logging.getLogger("rxdeepgram")

S = TypeVar("S")  # what the server sends (the channel's ServerMessage | Unknown | bytes)
C = TypeVar("C")  # what the client may send (bytes | the channel's ClientMessage)


class Driver(Protocol):
    """What a connection needs from its I/O driver. Every method is thread-safe and returns at
    once."""

    def put(self, frame: Frame) -> None:
        """Queue a frame for sending (order preserved)."""

    def close_socket(self) -> None:
        """Close the socket with 1000 after the frames already queued are sent."""

    def abort_socket(self) -> None:
        """Close the socket now, dropping what is queued."""

    def start_close_timer(self, seconds: float) -> None:
        """Abort with ``DeepgramTimeoutError`` if the socket is not closed within ``seconds``."""

    def give_up(self) -> None:
        """The next abort drops the TCP connection at once (no closing handshake to wait for)."""

    def check_room(self, size: int, promised: int = 0) -> None:
        """Raise ``BufferOverflowError`` if ``size`` more bytes of audio do not fit in the send
        queue now, besides ``promised`` bytes on their way to it."""

    def pause_reading(self, paused: bool) -> None:
        """Stop (``True``) or resume reading the socket (back-pressure for the seed API)."""


class _Input(abc.ObserverBase[Any]):
    """``conn.input``: ``on_next`` sends, ``on_completed`` closes gracefully, ``on_error`` aborts.

    Thread-safe and non-blocking: audio callbacks may call ``on_next`` from their own threads.
    Bad input raises at the caller, before anything reaches the wire.
    """

    __slots__ = ("_conn",)

    def __init__(self, conn: ConnectionBase[Any, Any]) -> None:
        self._conn = conn

    def on_next(self, value: Any) -> None:
        conn = self._conn
        if type(value) is bytes and value and conn._media:
            conn._send_media(value)
        else:
            conn._send(value)

    def on_error(self, error: Exception) -> None:
        self._conn._abort(error)

    def on_completed(self) -> None:
        self._conn._close_gracefully()

    def __repr__(self) -> str:
        return f"<input of {self._conn!r}>"


_ATTRIBUTES = """

    Attributes:
        messages: Hot ``reactivex.Observable`` of the decoded server messages: msgspec structs,
            ``bytes`` for audio (Speak, Agent) and :class:`~rxdeepgram.Unknown` for a frame
            that did not decode (never dropped). Completes after a clean close; errors with a
            typed :class:`~rxdeepgram.DeepgramError` otherwise. Nothing is emitted before the
            first subscriber or the first send, so a subscriber attached right after opening
            sees every message.
        input: ``reactivex`` Observer, thread-safe and never blocking. ``on_next(item)`` sends
            audio (``bytes``) or one of the channel's client messages (checked at once: bad
            input raises :class:`~rxdeepgram.InvalidInputError` /
            :class:`~rxdeepgram.InvalidMessageError` at the caller); ``on_completed()`` closes
            gracefully (the channel's CloseStream / Flush + Close, then every remaining message,
            then ``messages`` completes); ``on_error(e)`` aborts.
        raw: Hot Observable of the frames as received (``str`` for text, ``bytes`` for binary).
        url: The URL connected to (query included; credentials are never in it).
        request_id: Deepgram's ``dg-request-id`` of this connection (``None`` if not sent).
        response_headers: The handshake response's headers (``dict``).
        closed: ``True`` once the connection has ended (property).
        end: How it ended: ``None`` while open or after a clean close, else the error
            (property).
        state: Only on a resumable connection (``connect(..., reconnect=True)``): Observable of
            :class:`~rxdeepgram.ConnectionState` (the current one first, then ``reconnecting``
            / ``open`` changes; completes after ``closed``).
        stats: Only on a resumable connection: a :class:`~rxdeepgram.ResumeStats` snapshot of
            the reconnect counters (property).
"""
"""The public attributes of every connection, for ``help()`` and the API reference: written
once, appended to the docstring of each connection class (``__doc__``). Most are set in
``__init__``, where ``help()`` would not see them."""


class ConnectionBase(SeedAPI, ABC, Generic[S, C]):
    __doc__ = "State and behaviour shared by the sync and async connections." + _ATTRIBUTES

    def __init__(
        self,
        session: Session,
        *,
        url: str,
        request_id: str | None,
        response_headers: Mapping[str, str],
        close_timeout: float,
        on_callback_error: Callable[[CallbackError], None] | None,
    ) -> None:
        self._session = session
        self._driver: Driver | None = None
        self.url = url
        """The URL connected to (query included; no credentials are ever in it)."""
        self.request_id = request_id
        """Deepgram's ``dg-request-id`` for this connection."""
        self.response_headers = dict(response_headers)
        """Headers of the handshake response."""
        self._close_timeout = close_timeout
        self._on_callback_error = on_callback_error
        self._messages_hub: Any = _hub_factory(self._report)
        self._raw_hub: Any = _hub_factory(self._report)
        self.messages: reactivex.Observable[S] = self._messages_hub.observable
        """Hot Observable of decoded server messages: structs, ``bytes`` for audio and
        ``Unknown`` for frames that did not decode. Completes on a clean close; errors with a
        typed ``DeepgramError`` otherwise."""
        self.raw: reactivex.Observable[str | bytes] = self._raw_hub.observable
        """Hot Observable of the frames as received (``str`` text, ``bytes`` binary)."""
        self.input: abc.ObserverBase[C] = _Input(self)
        """Observer: ``on_next(bytes | client message)`` sends, ``on_completed()`` closes
        gracefully (the channel's CloseStream, then every remaining message, then completion),
        ``on_error(e)`` aborts."""
        self._end: BaseException | None = None
        self._ended = False
        self._media = session.spec.accepts_media
        self._windows_open = True
        self._receiver: Any = None  # recv() / iteration (deepgram-sdk 7 style): _receive.py
        self._receive = session.receive
        self._may_be_fatal = bool(session.spec.fatal_types)
        # The seed API's handlers and hold, from the first message on (see ``_seed.py``); its
        # hold ends at once when the stream is read through Rx and it has no handler.
        self._seed = SeedListener(self, self._messages_hub)
        self._rx_reading = False  # a subscriber or an ``input`` send reads the stream via Rx
        self._messages_hub.watch(self._rx_used)
        self._raw_hub.watch(self._rx_used)

    # -- wiring used by drivers ---------------------------------------------------------------

    def _attach(self, driver: Driver) -> None:
        self._driver = driver

    def _on_frame(self, frame: str | bytes) -> None:
        """One incoming message, on the I/O thread: the driver hands this method to the
        transport, which calls it per message. The hot path of every connection: a few
        attribute reads, the decoder, the hub. It never raises (a bug here must not stop the
        transport from reading)."""
        try:
            if self._raw_hub.active:
                self._raw_hub.emit(frame)
            self._messages_hub.emit(self._receive(frame))
            # Listen V2 / Agent ``Error`` is fatal: stop sending and close our side.
            if self._may_be_fatal:
                session = self._session
                driver = self._driver
                if session.fatal is not None and driver is not None and session.mark_closing():
                    driver.close_socket()
        except Exception:  # a bug of ours: keep reading, never break the transport
            log.exception("rxdeepgram: handling an incoming message failed")

    def _on_closed(self, code: int | None, reason: str) -> BaseException | None:
        end = self._session.closed(code, reason)
        self._finish(end)
        return end

    def _finish(self, end: BaseException | None) -> None:
        if self._ended:
            return
        self._ended = True
        self._end = end
        self._messages_hub.end(end)  # the seed listener's CLOSE / ERROR, in order
        self._raw_hub.end(end)
        self._set_done()

    @abstractmethod
    def _set_done(self) -> None:
        """Wake whoever waits for the end (sync: an event; async: a future on the loop)."""

    # -- sending ------------------------------------------------------------------------------

    def _send(self, item: object) -> None:
        driver = self._driver
        if driver is None:
            raise ConnectionClosed(None, message="connection is not open yet")
        closing = self._session.send(item, driver.put)
        if self._windows_open:
            self._close_windows()
        if closing:  # the user sent CloseStream / Close themselves
            self._seed.closing()
            driver.start_close_timer(self._close_timeout)

    def _send_media(self, data: bytes) -> None:
        """Non-empty audio on a channel that takes it: the hot path (no encoding, no checks
        beyond the session's state)."""
        driver = self._driver
        if driver is None:
            raise ConnectionClosed(None, message="connection is not open yet")
        self._session.send_audio(data, driver.put)
        if self._windows_open:
            self._close_windows()

    def _close_windows(self) -> None:
        """The first send: subscribers from now on see what arrives from now on. A send through
        ``input`` (not a seed ``send_*``, not a close) also ends the seed API's hold if it has
        no handler."""
        self._windows_open = False
        self._messages_hub.close_window()
        self._raw_hub.close_window()
        if not self._seed_send and self._session.state is State.OPEN:  # not at a close
            self._rx_used()

    def _pause_reading(self, paused: bool) -> None:
        """Back-pressure for the seed API's hold (see ``_seed.py``)."""
        driver = self._driver
        if driver is not None:
            driver.pause_reading(paused)

    def _close_gracefully(self) -> None:
        driver = self._driver
        if driver is None:
            return
        session = self._session
        if session.close_gracefully(driver.put):
            self._seed.closing()
            self._close_windows()
            if not session.spec.close_messages:
                driver.close_socket()
            driver.start_close_timer(self._close_timeout)

    def _abort(self, error: BaseException | None, hard: bool = False) -> None:
        """End the stream with ``error`` (``None``: completion) and close the socket: with a
        closing handshake, or (``hard``: a peer given up on) by dropping it at once."""
        driver = self._driver
        if self._session.abort(error) and driver is not None:
            if hard:
                driver.give_up()
            driver.abort_socket()

    def _subscribe_messages(self, observer: abc.ObserverBase[S]) -> abc.DisposableBase:
        """Subscribe ``observer`` to :attr:`messages` on the hub itself, with no reactivex
        wrapper per message (the reconnect layer reads its inner connections so)."""
        subscription: abc.DisposableBase = self._messages_hub.subscribe(observer)
        return subscription

    def _check_room(self, size: int, promised: int = 0) -> None:
        """Raise ``BufferOverflowError`` now if ``size`` bytes of audio would not fit in the send
        queue (the resumable layer asks before it keeps audio for replay)."""
        driver = self._driver
        if driver is not None:
            driver.check_room(size, promised)

    def _close_timeout_error(self, what: str = "") -> BaseException:
        """The end of a stream whose close did not finish in time: never a clean completion."""
        from .errors import DeepgramTimeoutError

        return DeepgramTimeoutError(
            f"{self._session.spec.name}: the graceful close did not finish within "
            f"{self._close_timeout:g} s: {what or 'the last messages of the server'} never arrived "
            "(the stream is incomplete)"
        )

    # -- callbacks ------------------------------------------------------------------------------

    def _report(self, error: CallbackError) -> None:
        self._report_callback_error(error)
        self._seed.error(error)  # ERROR handlers, in order with what they were given before

    def _report_callback_error(self, error: CallbackError) -> None:
        log.error("%s", error, exc_info=error.error)
        hook = self._on_callback_error
        if hook is not None:
            try:
                hook(error)
            except Exception:
                log.exception("the on_callback_error hook itself raised")

    @abstractmethod
    def _start_receiver(self) -> None:
        """Set up the ``recv()`` / iteration queue (sync or async waiting)."""

    def _pushed(self) -> bool:
        """Whether the messages are read elsewhere: by seed-style handlers or through Rx
        (then no recv() queue is kept unless recv() or iteration has started)."""
        return self._rx_reading or self._seed.has_message_handlers()

    def _rx_used(self) -> None:
        """The stream is read through Rx: a subscription to ``messages`` or ``raw``, or a send
        through ``input``. The seed API's hold ends if it has no handler, and a ``recv()``
        queue that nobody reads yet lets go (see ``_seed.py`` and ``_receive.py``)."""
        self._rx_reading = True
        self._seed.rx_used()

    # -- state ----------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the stream has ended."""
        return self._ended

    @property
    def end(self) -> BaseException | None:
        """How the stream ended: ``None`` (clean, or not yet) or the error."""
        return self._end

    def __repr__(self) -> str:
        state = "ended" if self._ended else self._session.state.value
        name = self._session.spec.name
        return f"<{type(self).__name__} {name} {state} request_id={self.request_id}>"


def _hub_factory(report: Callable[[CallbackError], None]) -> Any:
    from ._hub import Hub

    return Hub[Any](report)


class Connection(SyncSeedAPI, ConnectionBase[S, C]):
    __doc__ = (
        """A connection of the sync client (``with client.listen.v1.connect(...) as conn``).

    Its frames move on rxdeepgram's one I/O thread (shared by every sync connection), where
    subscribers are called: keep them short. ``close()`` and ``wait()`` block the caller."""
        + _ATTRIBUTES
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        import threading

        self._done = threading.Event()

    def _set_done(self) -> None:
        self._done.set()

    def _start_receiver(self) -> Any:
        from ._receive import SyncReceiver

        receiver = self._receiver
        if receiver is None:
            receiver = self._receiver = SyncReceiver(self._messages_hub, self._pushed)
        return receiver

    def recv(self, timeout: float | None = None) -> S:
        """deepgram-sdk 7 style: block until the next message and return it (a struct,
        ``bytes`` for audio or ``Unknown``). Raises the stream's error, or
        ``ConnectionClosedOK`` once it ended cleanly; ``TimeoutError`` after ``timeout``.

        Messages are kept for it from the first ``recv()``, iteration or seed-style
        ``send_*`` call (before the first send: from the open). Not on the I/O thread."""
        from ._ioloop import refuse_on_io_thread

        refuse_on_io_thread("conn.recv()")
        result: S = self._start_receiver().recv(timeout)
        return result

    def __iter__(self) -> Iterator[S]:
        """``for message in conn``: every message until the connection ends (then the loop
        stops, or raises the stream's error), as deepgram-sdk 7's socket iterates."""
        from ._ioloop import refuse_on_io_thread
        from ._receive import _End

        refuse_on_io_thread("iterating a connection")
        receiver = self._start_receiver()
        while True:
            item = receiver.next()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the stream ends; ``False`` on timeout.

        Raises ``DeepgramError`` when called, before the end, from a subscriber or callback
        (they run on the I/O thread, which this would block forever)."""
        if self._done.is_set():
            return True
        from ._ioloop import refuse_on_io_thread

        refuse_on_io_thread("conn.wait()")
        return self._done.wait(timeout)

    def close(self) -> None:
        """Close gracefully and block until every remaining message has arrived (at most
        ``close_timeout``: then the stream ends with ``DeepgramTimeoutError``).

        Called from a subscriber or callback (on the I/O thread), it only starts the graceful
        close and returns: waiting there would block the thread the messages arrive on."""
        self._close_gracefully()
        from ._ioloop import on_io_thread

        # the close timer ends the stream within close_timeout; this bound is a safety net
        if not on_io_thread() and not self._done.wait(self._close_timeout + 1.0):
            self._abort(self._close_timeout_error(), hard=True)
            self._done.wait(1.0)


class AsyncConnection(AsyncSeedAPI, ConnectionBase[S, C]):
    __doc__ = (
        """A connection of the async client (``async with client.listen.v1.connect(...) as conn``).

    Runs on the event loop that opened it, where subscribers are called; ``await conn.close()``
    and ``await conn.wait()`` never block the loop."""
        + _ATTRIBUTES
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        import asyncio

        self._done = asyncio.Event()

    def _set_done(self) -> None:
        self._done.set()

    def _start_receiver(self) -> Any:
        from ._receive import AsyncReceiver

        receiver = self._receiver
        if receiver is None:
            receiver = self._receiver = AsyncReceiver(self._messages_hub, self._pushed)
        return receiver

    async def recv(self) -> S:
        """deepgram-sdk 7 style: wait for the next message and return it (a struct, ``bytes``
        for audio or ``Unknown``). Raises the stream's error, or ``ConnectionClosedOK`` once
        it ended cleanly. Messages are kept for it from the first ``recv()``, iteration or
        seed-style ``send_*`` call (before the first send: from the open)."""
        result: S = await self._start_receiver().recv()
        return result

    async def __aiter__(self) -> AsyncIterator[S]:
        """``async for message in conn``: every message until the connection ends (then the
        loop stops, or raises the stream's error), as deepgram-sdk 7's socket iterates."""
        from ._receive import _End

        receiver = self._start_receiver()
        while True:
            item = await receiver.next()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    async def wait(self) -> None:
        """Wait until the stream ends."""
        await self._done.wait()

    async def close(self) -> None:
        """Close gracefully and wait until every remaining message has arrived (at most
        ``close_timeout``: then the stream ends with ``DeepgramTimeoutError``)."""
        import asyncio

        self._close_gracefully()
        try:
            await asyncio.wait_for(self._done.wait(), self._close_timeout + 1.0)
        except TimeoutError:  # the close timer's safety net
            self._abort(self._close_timeout_error(), hard=True)
            await asyncio.wait_for(self._done.wait(), 1.0)


if TYPE_CHECKING:  # both connections are what the reconnect layer runs over (``_inner.py``)
    _SYNC_INNER: type[InnerConnection] = Connection
    _ASYNC_INNER: type[InnerConnection] = AsyncConnection
