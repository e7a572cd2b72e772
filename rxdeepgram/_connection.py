"""The connection users hold: ``messages`` (Observable), ``input`` (Observer), ``raw``, seed API.

:class:`ConnectionBase` is I/O-agnostic: it wires a :class:`~rxdeepgram._session.Session` (the
protocol rules) to two :class:`~rxdeepgram._hub.Hub` multicasts and to a driver that only moves
frames. :class:`Connection` (sync) and :class:`AsyncConnection` add the few methods whose shape
depends on the I/O model: waiting for the end. Both run on the same driver
(``_drivers/_asyncio.py``): the async client's on the caller's loop, the sync client's on the
one I/O thread shared by every sync connection (``_drivers/_loop.py``).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, Protocol, TypeVar

import reactivex
from reactivex import abc

from ._session import Frame, Session
from .errors import CallbackError, ConnectionClosed

__all__ = ["AsyncConnection", "Connection", "ConnectionBase", "EventType", "Sent"]

log = logging.getLogger("rxdeepgram")

S = TypeVar("S")  # what the server sends (the channel's ServerMessage | Unknown | bytes)
C = TypeVar("C")  # what the client may send (bytes | the channel's ClientMessage)


class EventType(enum.StrEnum):
    """The seed SDK's event names for ``conn.on(...)``."""

    OPEN = "open"
    MESSAGE = "message"
    CLOSE = "close"
    ERROR = "error"


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


class Sent:
    """What the seed-style ``send_*`` methods return: the frame is already queued. Awaitable
    (a no-op) so that async code written for Deepgram's SDK (``await conn.send_media(...)``)
    runs unchanged."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # pragma: no cover - makes this a generator

    def __repr__(self) -> str:
        return "Sent()"


_SENT = Sent()


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


class ConnectionBase(Generic[S, C]):
    """State and behaviour shared by the sync and async connections.

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
        self._handlers: dict[EventType, list[Callable[[Any], Any]]] = {e: [] for e in EventType}
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

    # -- wiring used by drivers ---------------------------------------------------------------

    def _attach(self, driver: Driver) -> None:
        self._driver = driver

    def _on_frame(self, frame: str | bytes) -> None:
        raw = self._raw_hub
        if raw.has_observers:
            raw.emit(frame)
        session = self._session
        message = session.receive(frame)
        self._messages_hub.emit(message)
        # Listen V2 / Agent ``Error`` is fatal: stop sending and close our side.
        if session.fatal is not None and self._driver is not None and session.mark_closing():
            self._driver.close_socket()

    def _on_closed(self, code: int | None, reason: str) -> BaseException | None:
        end = self._session.closed(code, reason)
        self._finish(end)
        return end

    def _finish(self, end: BaseException | None) -> None:
        if self._ended:
            return
        self._ended = True
        self._end = end
        self._messages_hub.end(end)
        self._raw_hub.end(end)
        for handler in self._handlers[EventType.CLOSE]:
            self._call(handler, end, "CLOSE handler")
        if end is not None:
            for handler in self._handlers[EventType.ERROR]:
                self._call(handler, end, "ERROR handler")
        self._set_done()

    def _set_done(self) -> None:
        raise NotImplementedError

    # -- sending ------------------------------------------------------------------------------

    def _send(self, item: object) -> None:
        driver = self._driver
        if driver is None:
            raise ConnectionClosed(None, message="connection is not open yet")
        closing = self._session.send(item, driver.put)
        if self._windows_open:
            self._close_windows()
        if closing:  # the user sent CloseStream / Close themselves
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
        """The first send: subscribers from now on see what arrives from now on."""
        self._windows_open = False
        self._messages_hub.close_window()
        self._raw_hub.close_window()

    def _close_gracefully(self) -> None:
        driver = self._driver
        if driver is None:
            return
        session = self._session
        if session.close_gracefully(driver.put):
            self._close_windows()
            if not session.spec.close_messages:
                driver.close_socket()
            driver.start_close_timer(self._close_timeout)

    def _abort(self, error: BaseException | None) -> None:
        if self._session.abort(error) and self._driver is not None:
            self._driver.abort_socket()

    # -- callbacks ------------------------------------------------------------------------------

    def _report(self, error: CallbackError) -> None:
        log.error("%s", error, exc_info=error.error)
        hook = self._on_callback_error
        if hook is not None:
            try:
                hook(error)
            except Exception:
                log.exception("the on_callback_error hook itself raised")
        for handler in self._handlers[EventType.ERROR]:
            try:
                handler(error)
            except Exception:
                log.exception("an ERROR handler raised")

    def _call(self, handler: Callable[[Any], Any], arg: Any, where: str) -> None:
        try:
            handler(arg)
        except Exception as exc:
            self._report(CallbackError(where, exc))

    # -- the seed SDK's API -----------------------------------------------------------------------

    def on(self, event: EventType | str, handler: Callable[[Any], Any]) -> None:
        """Register a seed-style handler. ``MESSAGE`` handlers see every message (they subscribe
        to ``messages`` at once); ``OPEN`` handlers run when ``start_listening()`` starts;
        ``CLOSE`` handlers get the end (``None`` or the error); ``ERROR`` handlers get errors,
        callback errors included."""
        kind = EventType(event)
        if kind is EventType.MESSAGE:
            self.messages.subscribe(handler)
        self._handlers[kind].append(handler)

    def _fire_open(self) -> None:
        for handler in self._handlers[EventType.OPEN]:
            self._call(handler, self, "OPEN handler")

    def send_media(self, message: Any) -> Sent:
        """Send audio: ``bytes`` or a seed ``*MediaMessage(data=...)``."""
        self._send(message)
        return _SENT

    def send_control(self, message: Any) -> Sent:
        """Send a control message: a struct or a seed ``*ControlMessage(type=...)``."""
        self._send(message)
        return _SENT

    def send_text(self, message: Any) -> Sent:
        """Speak: send text to synthesise (``str``, ``Speak`` or seed ``SpeakV1TextMessage``)."""
        self._send(message)
        return _SENT

    def send_message(self, message: Any) -> Sent:
        """Send any client message of the channel."""
        self._send(message)
        return _SENT

    send_settings = send_update_speak = send_update_prompt = send_update_think = send_message
    send_update_listen = send_inject_user_message = send_inject_agent_message = send_message
    send_function_call_response = send_configure = send_message

    def send_keep_alive(self) -> Sent:
        return self.send_message(self._control("KeepAlive"))

    def send_finalize(self) -> Sent:
        return self.send_message(self._control("Finalize"))

    def send_close_stream(self) -> Sent:
        return self.send_message(self._control("CloseStream"))

    def send_flush(self) -> Sent:
        return self.send_message(self._control("Flush"))

    def send_clear(self) -> Sent:
        return self.send_message(self._control("Clear"))

    def send_force_end_turn(self) -> Sent:
        return self.send_message(self._control("ForceEndTurn"))

    def _control(self, tag: str) -> object:
        for cls in self._session.spec.client_messages:
            if cls.__name__ == tag:
                return cls()
        from .errors import InvalidInputError

        raise InvalidInputError(f"{self._session.spec.name} has no {tag} message")

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


class Connection(ConnectionBase[S, C]):
    """A connection of the sync client (``with client.listen.v1.connect(...) as conn``).

    Its frames move on rxdeepgram's one I/O thread (shared by every sync connection), where
    subscribers are called: keep them short. ``close()`` and ``wait()`` block the caller.

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        import threading

        self._done = threading.Event()

    def _set_done(self) -> None:
        self._done.set()

    def start_listening(self) -> None:
        """Seed API: fire ``OPEN`` handlers, then block until the connection ends."""
        self._fire_open()
        self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the stream ends; ``False`` on timeout.

        Raises ``DeepgramError`` when called, before the end, from a subscriber or callback
        (they run on the I/O thread, which this would block forever)."""
        if self._done.is_set():
            return True
        from ._drivers._loop import refuse_on_io_thread

        refuse_on_io_thread("conn.wait()")
        return self._done.wait(timeout)

    def close(self) -> None:
        """Close gracefully and block until every remaining message has arrived.

        Called from a subscriber or callback (on the I/O thread), it only starts the graceful
        close and returns: waiting there would block the thread the messages arrive on."""
        self._close_gracefully()
        from ._drivers._loop import on_io_thread

        if not on_io_thread():
            self._done.wait()


class AsyncConnection(ConnectionBase[S, C]):
    """A connection of the async client (``async with client.listen.v1.connect(...) as conn``).

    Runs on the event loop that opened it, where subscribers are called; ``await conn.close()``
    and ``await conn.wait()`` never block the loop.

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        import asyncio

        self._done = asyncio.Event()

    def _set_done(self) -> None:
        self._done.set()

    async def start_listening(self) -> None:
        """Seed API: fire ``OPEN`` handlers, then wait until the connection ends."""
        self._fire_open()
        await self._done.wait()

    async def wait(self) -> None:
        """Wait until the stream ends."""
        await self._done.wait()

    async def close(self) -> None:
        """Close gracefully and wait until every remaining message has arrived."""
        self._close_gracefully()
        await self._done.wait()
