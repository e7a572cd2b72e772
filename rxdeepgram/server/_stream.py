"""The skeleton every WebSocket channel of the local server shares.

:class:`ServerStream` runs one connection: an optional opening message, then a receive loop
that waits for the next client frame with the idle timeout, hands binary frames to
:meth:`~ServerStream.on_binary` and decoded text frames to :meth:`~ServerStream.on_message`,
until a handler says the stream is closing; then :meth:`~ServerStream.finish` (for channels with
a worker still sending) and :meth:`~ServerStream.shutdown`, always.

Ending a stream on a problem is one exception, :class:`StreamFatal`: the channel's optional
error message (:meth:`~ServerStream.error_message`), then a close frame with the code and a
``"<reason code> <description>"`` reason cut to fit. The channels differ only in the hooks they
override: the decode function, what an undecodable text frame does, the idle error, whether
an unexpected exception becomes a fatal error of the channel's own (or reaches the app, which
closes 1011).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import msgspec
from websockets.exceptions import ConnectionClosed

from ..messages import MessageBase, encode

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

__all__ = [
    "DECODE_ERRORS",
    "MAX_REASON_BYTES",
    "ServerStream",
    "StreamFatal",
    "close_reason",
    "receive",
]

log = logging.getLogger("rxdeepgram.server")

DECODE_ERRORS = (msgspec.ValidationError, msgspec.DecodeError, RecursionError)
"""What decoding a client text frame may raise (``RecursionError``: deeply nested JSON)."""
MAX_REASON_BYTES = 123
"""Longest reason a WebSocket close frame can carry, in UTF-8 bytes."""


def close_reason(code: str, text: str) -> str:
    """``"<code> <text>"``, cut to fit a close frame."""
    reason = f"{code} {text}"
    raw = reason.encode()
    if len(raw) <= MAX_REASON_BYTES:
        return reason
    return raw[: MAX_REASON_BYTES - 3].decode("utf-8", "ignore") + "..."


async def receive(ws: ServerConnection, idle_timeout: float) -> str | bytes | None:
    """The next frame from the client, or ``None`` when none came within ``idle_timeout`` s."""
    try:
        async with asyncio.timeout(idle_timeout):
            return await ws.recv()
    except TimeoutError:
        return None


class StreamFatal(Exception):
    """End the stream: the channel's error message (if it has one), then close ``close_code``
    with the reason ``"<reason_code> <description>"``.

    ``error_code`` is the code of the error message (``Error {code, description}``); it
    defaults to ``reason_code``.
    """

    def __init__(
        self,
        close_code: int,
        reason_code: str,
        description: str,
        *,
        error_code: str | None = None,
    ) -> None:
        super().__init__(description)
        self.close_code = close_code
        self.reason_code = reason_code
        self.description = description
        self.error_code = error_code if error_code is not None else reason_code

    @property
    def reason(self) -> str:
        """The close frame's reason (cut to fit a close frame)."""
        return close_reason(self.reason_code, self.description)


class ServerStream(ABC):
    """One connection of a channel. Subclasses implement :meth:`decode` and
    :meth:`on_message`, and override the other hooks where the channel differs."""

    name = "stream"
    """The channel, as logs name it."""
    max_text_bytes: int | None = None
    """Largest text frame accepted (``BIG-0000``, close 1009), or ``None`` for no limit."""

    def __init__(self, websocket: ServerConnection, request_id: str) -> None:
        self.ws = websocket
        self.request_id = request_id

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self, idle_timeout: float) -> None:
        """Serve the connection until it ends, however it ends."""
        try:
            await self.open()
            await self.serve_frames(idle_timeout)
        except StreamFatal as fatal:
            await self.fail(fatal)
        except ConnectionClosed:
            await self.disconnected()
        except Exception:
            internal = self.internal_error()
            if internal is None:
                raise
            log.exception("request %s: the %s failed", self.request_id, self.name)
            await self.fail(internal)
        finally:
            await self.shutdown()

    async def serve_frames(self, idle_timeout: float) -> None:
        """The receive loop, then :meth:`finish` once a handler said the stream is closing."""
        if await self.receive_loop(idle_timeout):
            await self.finish()

    async def open(self) -> None:
        """Before the first frame is read (the channel's opening message)."""
        return None  # optional hook: nothing by default

    async def finish(self) -> None:
        """After the client's close message (a handler returned ``True``): finish what is
        still being sent."""
        return None  # optional hook: nothing by default

    async def disconnected(self) -> None:
        """The client's socket closed."""
        return None  # optional hook: nothing by default

    async def shutdown(self) -> None:
        """Release what the stream holds (runs last, always)."""
        return None  # optional hook: nothing by default

    def internal_error(self) -> StreamFatal | None:
        """The fatal error an unexpected exception becomes, or ``None`` to let it reach the
        app (which logs it and closes 1011 ``NET-0000``)."""
        return None

    async def fail(self, fatal: StreamFatal) -> None:
        """Send the channel's error message (if any), then close with the fatal's code."""
        log.info(
            "request %s: %s closing %d: %s %s",
            self.request_id,
            self.name,
            fatal.close_code,
            fatal.error_code,
            fatal.description,
        )
        try:
            message = self.error_message(fatal)
            if message is not None:
                await self.send(message)
            await self.ws.close(fatal.close_code, fatal.reason)
        except ConnectionClosed:
            pass

    def error_message(self, fatal: StreamFatal) -> MessageBase | None:
        """The message sent before the close frame of ``fatal`` (``None``: none)."""
        return None

    # -- sending --------------------------------------------------------------------------------

    async def send(self, message: MessageBase) -> None:
        """Send one server message as a text frame."""
        await self.ws.send(encode(message), text=True)

    async def send_audio(self, data: bytes) -> None:
        """Send one binary frame."""
        await self.ws.send(data, text=False)

    # -- receiving ------------------------------------------------------------------------------

    async def receive_loop(self, idle_timeout: float) -> bool:
        """Dispatch client frames until a handler returns ``True`` (the stream is closing:
        returns ``True``) or the socket closes (:class:`ConnectionClosed`)."""
        limit = self.max_text_bytes
        while True:
            frame = await self.next_frame(idle_timeout)
            self.received(frame)
            if isinstance(frame, bytes):
                if await self.on_binary(frame):
                    return True
                continue
            if limit is not None and (len(frame) > limit or len(frame.encode()) > limit):
                raise self.oversize_fatal(limit)
            try:
                message = self.decode(frame)
            except DECODE_ERRORS as exc:
                if await self.on_decode_error(frame, exc):
                    continue
                raise self.decode_fatal(exc) from None
            if await self.on_message(message):
                return True

    async def next_frame(self, idle_timeout: float) -> str | bytes:
        """The next client frame; while none comes for ``idle_timeout`` seconds and the stream
        is not :meth:`is_busy`, raises :meth:`idle_fatal`."""
        while True:
            frame = await receive(self.ws, idle_timeout)
            if frame is not None:
                return frame
            if not self.is_busy():
                raise self.idle_fatal(idle_timeout)

    def is_busy(self) -> bool:
        """Whether the server is still working for the client (then silence is not idleness)."""
        return False

    def idle_fatal(self, idle_timeout: float) -> StreamFatal:
        """The error for no client frame within ``idle_timeout`` seconds."""
        return StreamFatal(
            1011,
            "NET-0001",
            "Deepgram did not receive audio data or a text message within the timeout window "
            f"({idle_timeout:g} s).",
        )

    def oversize_fatal(self, limit: int) -> StreamFatal:
        """The error for a text frame above :attr:`max_text_bytes`."""
        return StreamFatal(1009, "BIG-0000", f"message larger than {limit} bytes")

    def received(self, frame: str | bytes) -> None:
        """Every client frame, before it is handled (for observers)."""
        return None  # optional hook: nothing by default

    @abstractmethod
    def decode(self, frame: str) -> object:
        """The client message of a text frame (raises one of :data:`DECODE_ERRORS`)."""

    async def on_decode_error(self, frame: str, exc: Exception) -> bool:
        """A text frame did not decode: ``True`` if handled (the loop goes on), else the stream
        ends with :meth:`decode_fatal`."""
        return False

    def decode_fatal(self, exc: Exception) -> StreamFatal:
        """The error for a text frame that is not a client message of the channel."""
        return StreamFatal(1008, "DATA-0000", f"invalid control message: {exc}")

    async def on_binary(self, data: bytes) -> bool:
        """A binary frame (default: refused, close 1003 ``MESSAGE-0000``); ``True`` ends the
        loop."""
        raise StreamFatal(1003, "MESSAGE-0000", "binary frames are not supported; send JSON")

    @abstractmethod
    async def on_message(self, message: object) -> bool:
        """A decoded client message; ``True`` ends the loop (the stream is closing)."""
