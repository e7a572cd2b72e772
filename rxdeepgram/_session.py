"""The Sans-I/O session: every protocol rule of a connection, written once.

A :class:`Session` knows nothing of sockets, threads or event loops. Drivers feed it what
happens on the wire and do what it says:

* :meth:`Session.send` turns what the user sends (``bytes``, a client message struct, a
  seed-compat object, ``str`` on Speak) into a :class:`Frame`, or raises at the caller
  (``InvalidInputError`` for a wrong type, ``ConnectionClosed`` after close) — nothing bad
  reaches the wire. Empty audio is dropped (Deepgram closes on zero-length frames).
  A :class:`~rxdeepgram.messages.RawFrame` (``send_raw``) is sent as given, on any channel;
  a raw JSON object whose ``type`` is the channel's closing message closes like it.
* :attr:`Session.receive` decodes an incoming frame to the channel's message struct
  (``Unknown`` when it does not decode, ``bytes`` for audio) and reports fatal in-band errors.
* :meth:`Session.keepalive` applies the keepalive rule: if nothing was sent for ``interval``
  seconds, the channel's ``KeepAlive`` is due.
* :meth:`Session.close_gracefully` sends the channel's closing messages and enters CLOSING.
* :meth:`Session.closed` maps how the socket closed to the stream's end: ``None`` (complete) or
  a typed :class:`~rxdeepgram.errors.DeepgramError`.

Close state machine::

    OPEN --graceful close (CloseStream, Flush+Close, socket close)--> CLOSING
    CLOSING --socket closed--> CLOSED
    OPEN | CLOSING --abort, server close, fatal error--> CLOSED
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union

from .errors import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidInputError,
    ServerError,
)
from .messages import MessageBase, RawFrame, _encode_plain, encode

__all__ = ["DEFAULT_SEND_QUEUE_BYTES", "MAX_TEXT_FRAME", "ChannelSpec", "Frame", "Session", "State"]

DEFAULT_SEND_QUEUE_BYTES = 16 * 2**20
"""The default bound on the audio queued and not yet written (``send_queue_bytes``): past it the
driver refuses a send with ``BufferOverflowError``. Here, below both the driver and the
clients' configuration, so neither imports the other for it."""

MAX_TEXT_FRAME = 2**20
"""The largest text (JSON) frame sent: a bigger message raises ``InvalidInputError`` at the
caller. Deepgram's docs state no frame limit (Speak's 2,000 characters per ``Speak`` is checked
by the channel); a WebSocket server closes with 1009 past its own."""


class Frame(NamedTuple):
    """One WebSocket frame to send: ``text`` frames carry UTF-8 JSON, others are binary audio."""

    data: bytes
    text: bool


@dataclass(frozen=True, eq=False)
class ChannelSpec:
    """What distinguishes one channel from another; everything else is shared."""

    name: str
    """Human name used in messages, e.g. ``"Listen V1"``."""
    path: str
    """URL path, e.g. ``/v1/listen``."""
    decode: Callable[[str | bytes], Any]
    """The channel's forgiving server-message decoder."""
    client_messages: tuple[type[MessageBase], ...]
    """Client message structs accepted by ``input``."""
    accepts_media: bool = True
    """Whether ``bytes`` (audio) may be sent."""
    text_message: Callable[[str], MessageBase] | None = None
    """How a plain ``str`` is sent (Speak: ``Speak(text=...)``); ``None``: str is refused."""
    close_messages: tuple[MessageBase, ...] = ()
    """Sent, in order, for a graceful close; empty: close the socket itself."""
    keepalive_message: MessageBase | None = None
    keepalive_interval: float = 5.0
    keepalive_after_first_send: bool = False
    """No KeepAlive before the user's first message (Agent: ``Settings`` must come first)."""
    fatal_types: tuple[type[Any], ...] = ()
    """Server messages that end the session with a ServerError (Listen V2 / Agent ``Error``)."""
    clean_close_codes: frozenset[int] = frozenset({1000})
    agent_host: bool = False
    validate: Callable[[Any], None] | None = None
    """Extra validation of client messages before they are sent (agent Settings)."""
    turn_messages: Mapping[type[Any], bool] = field(default_factory=dict)
    """Client messages that open (``True``) or end (``False``) a turn (Speak V2: ``Speak`` /
    ``Flush``, ``Interrupt``); see ``close_turn_message``."""
    close_turn_message: MessageBase | None = None
    """Sent before ``close_messages`` by a graceful close while a turn is open (Speak V2's
    ``Flush``: the last reply is finished, and no ``NO_ACTIVE_SPEECH`` warning is earned when
    every turn was already flushed)."""
    _allowed: frozenset[type[Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allowed", frozenset(self.client_messages))

    def from_dict(self, obj: Mapping[str, Any]) -> MessageBase:
        """A plain ``dict`` (as deepgram-sdk 7 takes) as the channel's client message struct,
        strictly: an unknown ``type`` or field raises :class:`InvalidInputError` naming it."""
        import msgspec

        union: Any = Union.__getitem__(self.client_messages)  # a runtime union of the classes
        try:
            message: MessageBase = msgspec.convert(dict(obj), union)
        except msgspec.ValidationError as exc:
            raise InvalidInputError(
                f"cannot send on {self.name}: the dict is not a {self.name} client message "
                f"({exc}); conn.send_raw(...) sends a frame as given"
            ) from None
        return message

    def to_native(self, item: object) -> object:
        """``item`` in the form the channel takes: a buffer (``bytearray``, ``memoryview``) as
        ``bytes``, a ``dict``, a seed / compat object or (Speak) a non-empty ``str`` as the
        client message struct; anything else as it is (``bytes``, the channel's structs, a
        ``RawFrame``, what :meth:`Session.send` refuses). Raises ``InvalidInputError`` for a
        ``dict`` that is not one of the channel's messages."""
        cls = type(item)
        if cls is bytes or cls in self._allowed:
            return item
        if isinstance(item, (bytearray, memoryview)):
            return bytes(item)  # copy: the caller may reuse its buffer
        if isinstance(item, Mapping):
            return self.from_dict(item)
        if isinstance(item, str) and self.text_message is not None and item:
            return self.text_message(item)
        native = getattr(item, "_rxdeepgram_native_", None)
        if native is not None and callable(native):
            return self.to_native(native())
        return item

    def expected(self) -> str:
        kinds = [] if not self.accepts_media else ["bytes (audio)"]
        if self.text_message is not None:
            kinds.append("str (text)")
        kinds.extend(cls.__name__ for cls in self.client_messages)
        kinds.append("dict (a client message) or RawFrame (send_raw)")
        return ", ".join(kinds)


class State(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class Session:
    """Protocol state of one connection. Thread-safe: ``prepare`` may be called from any thread."""

    def __init__(
        self,
        spec: ChannelSpec,
        *,
        keepalive_interval: float | None,
        clock: Callable[[], float],
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.spec = spec
        self._secrets = secrets  # masked in a fatal Error's ServerError (a server may echo them)
        self.state = State.OPEN
        self._lock = threading.Lock()
        self._clock = clock
        self._keepalive_frame = (
            Frame(encode(spec.keepalive_message), True)
            if spec.keepalive_message is not None and keepalive_interval
            else None
        )
        self.keepalive_interval = keepalive_interval or 0.0
        self._close_frames = tuple(Frame(encode(m), True) for m in spec.close_messages)
        self._closing_type = type(spec.close_messages[-1]) if spec.close_messages else None
        self._closing_tag = spec.close_messages[-1].type if spec.close_messages else None
        self.last_sent = clock()
        self.sent_anything = False
        self._end: BaseException | None = None
        self._end_decided = False
        self._fatal: ServerError | None = None
        self.receive: Callable[[str | bytes], Any] = (
            self._receive_checked if spec.fatal_types else spec.decode
        )
        """Decode an incoming frame to the channel's message (``Unknown`` when it does not
        decode, the same ``bytes`` for audio); never raises. A fatal in-band error (Listen V2 /
        Agent ``Error``) is remembered for :meth:`closed` and :attr:`fatal`. On a channel with
        no fatal message type this is the channel's decoder itself: no call in between."""
        self._turns = spec.turn_messages
        self.turn_open = False
        """Whether the last turn message sent opened a turn that is not ended yet."""
        self._close_turn_frame = (
            Frame(encode(spec.close_turn_message), True)
            if spec.close_turn_message is not None
            else None
        )

    # -- sending --------------------------------------------------------------------------------

    def send(self, item: object, put: Callable[[Frame], None]) -> bool:
        """Validate and encode what the user sends and hand the frame to ``put`` (the driver's
        thread-safe, non-blocking enqueue), under the session lock so frames keep the callers'
        order. Empty audio is dropped.

        Returns ``True`` when ``item`` was the channel's own closing message (``CloseStream``,
        Speak's ``Close``): the session is then CLOSING, as after :meth:`close_gracefully`.

        Raises :class:`InvalidInputError` for something the channel does not accept and
        :class:`ConnectionClosed` once the connection is closing or closed.
        """
        frame = self._encode(item)
        with self._lock:
            if self.state is not State.OPEN:
                raise self._closed_error()
            if frame is None:
                return False
            self.sent_anything = True
            self.last_sent = self._clock()
            put(frame)
            if type(item) is self._closing_type or (
                type(item) is RawFrame and item.type == self._closing_tag and item.text
            ):
                self.state = State.CLOSING
                return True
            return False

    def send_audio(self, data: bytes, put: Callable[[Frame], None]) -> None:
        """:meth:`send` for non-empty ``bytes`` on a channel that takes audio (the caller has
        checked both): the hot path of a live stream, with nothing to encode or validate."""
        with self._lock:
            if self.state is not State.OPEN:
                raise self._closed_error()
            self.sent_anything = True
            self.last_sent = self._clock()
            put(Frame(data, False))

    def _encode(self, item: object) -> Frame | None:
        spec = self.spec
        cls = type(item)
        if cls is bytes:
            if not spec.accepts_media:
                raise InvalidInputError(self._refusal(item, "audio cannot be sent on this channel"))
            assert isinstance(item, bytes)
            return Frame(item, False) if item else None
        if cls in spec._allowed:
            assert isinstance(item, MessageBase)
            if spec.validate is not None:
                spec.validate(item)
            if self._turns:
                self._note_turn(cls)
            # encode() inlined: the common case (no with_extra fields) is one C call
            try:
                data = _encode_plain(item) if item._extra_ is None else encode(item)
            except UnicodeEncodeError:
                data = encode(item)  # raises InvalidMessageError naming the field
            if len(data) > MAX_TEXT_FRAME:
                raise InvalidInputError(
                    self._refusal(
                        item,
                        f"this {cls.__name__} encodes to {len(data)} bytes of JSON, over the "
                        f"{MAX_TEXT_FRAME} bytes a text frame may carry",
                    )
                )
            return Frame(data, True)
        if cls is RawFrame:
            assert isinstance(item, RawFrame)
            if item.text and len(item.data) > MAX_TEXT_FRAME:
                raise InvalidInputError(
                    self._refusal(
                        item,
                        f"this raw text frame is {len(item.data)} bytes, over the "
                        f"{MAX_TEXT_FRAME} bytes a text frame may carry",
                    )
                )
            return Frame(item.data, item.text) if item.data else None  # sent as given
        if isinstance(item, str) and not item and spec.text_message is not None:
            return None  # no text: nothing to send
        native = spec.to_native(item)
        if native is item:
            raise InvalidInputError(self._refusal(item))
        return self._encode(native)

    def _note_turn(self, cls: type[Any]) -> None:
        # Outside the lock: only concurrent sends of Speak and Flush from several threads could
        # reorder it, and then the order on the wire is the callers' race anyway.
        effect = self._turns.get(cls)
        if effect is not None:
            self.turn_open = effect

    def _refusal(self, item: object, why: str | None = None) -> str:
        spec = self.spec
        if why is None:
            if isinstance(item, MessageBase):
                module = type(item).__module__.rsplit(".", 1)[-1]
                why = (
                    f"{type(item).__name__} is a {module} message, not a {spec.name} client message"
                )
            elif isinstance(item, str):
                why = "str is not audio: send bytes (e.g. text.encode() if you really mean it)"
            elif item is None:
                why = "None is not audio"
            else:
                why = f"{type(item).__name__} is not accepted"
        return f"cannot send on {spec.name}: {why}; expected {spec.expected()}"

    def _closed_error(self) -> ConnectionClosed:
        if self.state is State.CLOSING:
            return ConnectionClosedOK(
                None, message=f"{self.spec.name} connection is closing: nothing more can be sent"
            )
        end = self._end
        if isinstance(end, ConnectionClosedError):
            return type(end)(end.code, end.reason, message=f"{end} — nothing more can be sent")
        return ConnectionClosedOK(
            None, message=f"{self.spec.name} connection is closed: nothing more can be sent"
        )

    def mark_closing(self) -> bool:
        """Enter CLOSING without sending anything (after a fatal error); ``False`` if already
        past OPEN."""
        with self._lock:
            if self.state is not State.OPEN:
                return False
            self.state = State.CLOSING
            return True

    def close_gracefully(self, put: Callable[[Frame], None]) -> bool:
        """Start a graceful close: hand the channel's closing frames (``CloseStream``; Speak's
        ``Flush`` + ``Close``; Speak V2's ``Close``, after a ``Flush`` only while a turn is
        open) to ``put`` and enter CLOSING. ``False`` if already past OPEN.
        Channels with no closing message (Agent) close the socket itself: the driver does that
        after the queue drains."""
        with self._lock:
            if self.state is not State.OPEN:
                return False
            self.state = State.CLOSING
            if self.turn_open and self._close_turn_frame is not None:
                put(self._close_turn_frame)
                self.turn_open = False
            for frame in self._close_frames:
                put(frame)
            return True

    # -- keepalive ------------------------------------------------------------------------------

    def keepalive(self, now: float, put: Callable[[Frame], None]) -> float | None:
        """Send the channel's KeepAlive through ``put`` if nothing was sent for the interval.
        Returns when to look again (``None``: never — keepalive off or no longer open)."""
        frame = self._keepalive_frame
        if frame is None:
            return None
        with self._lock:
            if self.state is not State.OPEN:
                return None
            due = self.last_sent + self.keepalive_interval
            if now < due:
                return due
            if self.spec.keepalive_after_first_send and not self.sent_anything:
                return now + self.keepalive_interval  # look again after the first send
            self.last_sent = now
            put(frame)
            return now + self.keepalive_interval

    # -- receiving ------------------------------------------------------------------------------

    def _receive_checked(self, frame: str | bytes) -> Any:
        """:attr:`receive` on a channel with fatal message types."""
        message = self.spec.decode(frame)
        if type(message) in self.spec.fatal_types:
            code = getattr(message, "code", "") or ""
            description = getattr(message, "description", "") or ""
            attached: object = message
            if self._secrets:
                from ._secrets import masker

                mask = masker(self._secrets).mask
                code, description = mask(code), mask(description)
                if mask(repr(message)) != repr(message):  # the error carries a masked copy
                    import msgspec

                    masked = {
                        name: mask(value)
                        for name in message.__struct_fields__
                        if isinstance(value := getattr(message, name), str)
                    }
                    attached = msgspec.structs.replace(message, **masked)
            self._fatal = ServerError(code, description, attached)
        return message

    @property
    def fatal(self) -> ServerError | None:
        return self._fatal

    @property
    def end(self) -> BaseException | None:
        """How the stream ends, once decided (``None``: completion or not yet)."""
        return self._end

    # -- the end --------------------------------------------------------------------------------

    def abort(self, error: BaseException | None) -> bool:
        """The client ends the connection itself (input ``on_error``, a close timeout, an
        exception in the ``with`` body): ``error`` (``None``: completion) becomes the stream's
        end. ``False`` if the end was already decided."""
        if error is not None and not isinstance(error, Exception):
            # KeyboardInterrupt & co. in a ``with`` body: subscribers get an ordinary error.
            wrapped = ConnectionClosedError(None, f"aborted by {type(error).__name__}")
            wrapped.__cause__ = error
            error = wrapped
        with self._lock:
            self.state = State.CLOSED
            if self._end_decided:
                return False
            self._end_decided = True
            self._end = error
            return True

    def closed(self, code: int | None, reason: str) -> BaseException | None:
        """The socket is closed with ``code``/``reason`` (``None``: no close frame). Returns the
        stream's end: ``None`` to complete, else the error to signal."""
        with self._lock:
            self.state = State.CLOSED
            if not self._end_decided:
                self._end_decided = True
                if self._fatal is not None:
                    self._end = self._fatal
                elif code in self.spec.clean_close_codes:
                    self._end = None
                else:
                    self._end = ConnectionClosedError(code, reason)
            return self._end
