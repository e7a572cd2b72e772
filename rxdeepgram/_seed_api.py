"""The seed SDK's methods on a connection: ``on(EventType...)``, ``start_listening()``, ``send_*``.

Deepgram's SDK drives a socket with handlers and one ``send_*`` method per client message;
rxdeepgram's connections offer the same methods so that code written for it runs unchanged.
They are a thin layer: :class:`SeedAPI` (mixed into ``ConnectionBase``) turns each call into the
connection's own send, and :class:`SyncSeedAPI` / :class:`AsyncSeedAPI` add the blocking and the
awaitable ``start_listening()``. The handlers and the hold of what arrives before
``start_listening()`` are :class:`~rxdeepgram._seed.SeedListener`'s (``_seed.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ._seed import EventType, SeedListener

if TYPE_CHECKING:
    import asyncio
    import threading

    from ._session import Session

__all__ = ["AsyncSeedAPI", "EventType", "SeedAPI", "Sent", "SyncSeedAPI"]


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


class SeedAPI:
    """The seed SDK's ``on`` and ``send_*`` methods of every connection (sync and async).

    Each ``send_*`` sends as ``conn.input.on_next`` does (the same checks, at the caller) and
    returns :class:`Sent`. Unlike a send through ``input``, a ``send_*`` before anything else
    keeps what arrives for ``recv()`` and for the seed handlers (see ``_seed.py``).
    """

    # What the connection provides (``ConnectionBase``).
    _seed: SeedListener
    _session: Session
    _receiver: Any
    _rx_reading: bool
    _windows_open: bool
    _seed_send = False  # a seed ``send_*`` is under way (see ``ConnectionBase._close_windows``)

    if TYPE_CHECKING:

        def _send(self, item: object) -> None: ...

        def _start_receiver(self) -> Any: ...

    def on(self, event: EventType | str, handler: Callable[[Any], Any]) -> None:
        """Register a seed-style handler. Once ``start_listening()`` is called, handlers get
        ``OPEN`` (the connection), then every message since the connection opened, in order
        (whenever ``on`` was called: the connection holds them for ``start_listening()``), then
        ``CLOSE`` (``None`` or the error), then ``ERROR`` with the error if the stream failed;
        ``ERROR`` handlers also get callback errors. README "Connections" has the rules."""
        self._seed.on(EventType(event), handler)

    def send_message(self, message: Any) -> Sent:
        """Send any client message of the channel: a struct, a seed / SDK 7 compat object, or
        a plain ``dict`` of the message's JSON (checked strictly: typos raise).

        The seed SDK's per-message names are this method too: ``send_settings``,
        ``send_update_speak``, ``send_update_prompt``, ``send_update_think``,
        ``send_update_listen``, ``send_update_think_live``, ``send_inject_user_message``,
        ``send_inject_agent_message``, ``send_inject_dynamic_agent_message``,
        ``send_function_call_response``, ``send_custom_to_think_provider``, ``send_configure``
        (and ``send_speak`` is :meth:`send_text`)."""
        if self._receiver is None and not self._rx_reading:
            self._start_receiver()
        if self._windows_open:  # the first send: it does not end the seed API's hold (the
            self._seed_send = True  # seed's agent example sends Settings before its handlers)
            try:
                self._send(message)
            finally:
                self._seed_send = False
        else:
            self._send(message)
        return _SENT

    def send_media(self, message: Any) -> Sent:
        """Send audio: ``bytes`` or a seed ``*MediaMessage(data=...)``."""
        return self.send_message(message)

    def send_control(self, message: Any) -> Sent:
        """Send a control message: a struct or a seed ``*ControlMessage(type=...)``."""
        return self.send_message(message)

    def send_text(self, message: Any) -> Sent:
        """Speak: send text to synthesise (``str``, ``Speak`` or seed ``SpeakV1TextMessage``)."""
        return self.send_message(message)

    send_settings = send_update_speak = send_update_prompt = send_update_think = send_message
    send_update_listen = send_inject_user_message = send_inject_agent_message = send_message
    send_function_call_response = send_configure = send_update_think_live = send_message
    send_inject_dynamic_agent_message = send_custom_to_think_provider = send_message
    send_speak = send_text

    def send_raw(self, message: Any) -> Sent:
        """Send a frame exactly as given, for what rxdeepgram does not model (yet): a JSON
        object (``dict``, or ``str`` holding one) as a text frame, ``bytes`` as a binary frame.

        Checked at the caller (JSON-encodable, a JSON object); otherwise sent as is, on any
        channel. A raw ``{"type": "CloseStream"}`` (Speak: ``Close``) closes like the struct.
        On a resumable connection a raw frame goes to the current connection only: it is not
        sent again after a reconnect. ``conn.input.on_next(RawFrame(...))`` does the same.
        """
        from .messages import RawFrame

        return self.send_message(RawFrame(message))

    def send_keep_alive(self, message: Any = None) -> Sent:
        """Listen V1, Agent: ``KeepAlive`` (sent for you as well, while ``keepalive`` is on)."""
        return self.send_message(self._control("KeepAlive") if message is None else message)

    def send_finalize(self, message: Any = None) -> Sent:
        """Listen V1: ``Finalize``, the audio sent so far is transcribed now."""
        return self.send_message(self._control("Finalize") if message is None else message)

    def send_close_stream(self, message: Any = None) -> Sent:
        """Listen: ``CloseStream`` yourself; the remaining messages still arrive, then the end."""
        return self.send_message(self._control("CloseStream") if message is None else message)

    def send_flush(self, message: Any = None) -> Sent:
        """Speak: ``Flush``, synthesise the text sent so far (answered by ``Flushed``)."""
        return self.send_message(self._control("Flush") if message is None else message)

    def send_clear(self, message: Any = None) -> Sent:
        """Speak V1: ``Clear``, drop the buffered text (answered by ``Cleared``)."""
        return self.send_message(self._control("Clear") if message is None else message)

    def send_close(self, message: Any = None) -> Sent:
        """Speak: send ``Close`` yourself (SDK 7's ``send_close``): the server finishes the
        buffered text, sends its audio, then closes; the remaining messages still arrive and the
        stream ends as after ``input.on_completed()`` (on Speak V2 without its final ``Flush``)."""
        return self.send_message(self._control("Close") if message is None else message)

    def send_force_end_turn(self, message: Any = None) -> Sent:
        """Listen V2, Agent: ``ForceEndTurn``, end the current turn now."""
        return self.send_message(self._control("ForceEndTurn") if message is None else message)

    def send_interrupt(self, message: Any = None) -> Sent:
        """Speak V2: barge-in, ``Interrupt`` (``message``: one with a playback offset, e.g.
        ``Interrupt.at(2340)``)."""
        return self.send_message(self._control("Interrupt") if message is None else message)

    def _control(self, tag: str) -> object:
        for cls in self._session.spec.client_messages:
            if cls.__name__ == tag:
                return cls()
        from .errors import InvalidInputError

        raise InvalidInputError(f"{self._session.spec.name} has no {tag} message")


class SyncSeedAPI(SeedAPI):
    """``start_listening()`` of the sync connection: it blocks."""

    _done: threading.Event

    if TYPE_CHECKING:

        def wait(self, timeout: float | None = None) -> bool: ...

    def start_listening(self) -> None:
        """Seed API: fire ``OPEN`` handlers, deliver what the connection held for the handlers
        (on this thread), then block until the connection ends (and its ``CLOSE`` / ``ERROR``
        handlers have run)."""
        from ._ioloop import refuse_on_io_thread

        if not self._done.is_set():
            refuse_on_io_thread("conn.start_listening()")
        self._seed.start()
        self.wait()


class AsyncSeedAPI(SeedAPI):
    """``start_listening()`` of the async connection: a coroutine."""

    _done: asyncio.Event

    async def start_listening(self) -> None:
        """Seed API: fire ``OPEN`` handlers, deliver what the connection held for the handlers,
        then wait until the connection ends (and its ``CLOSE`` / ``ERROR`` handlers have run).
        Cancelling it stops the waiting only: the handlers go on getting what arrives."""
        self._seed.start()
        await self._done.wait()
