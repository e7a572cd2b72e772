"""A misbehaving peer for the tests: a raw TCP server on 127.0.0.1 port 0 (its own loop and
thread, so sync and async tests alike can use it) that reads each request's head and answers
what the test's ``answer(head)`` returns, byte for byte.

``answer`` returns an :class:`Answer`: the bytes to write, then what to do: ``"close"`` (FIN),
``"reset"`` (RST: SO_LINGER 0), ``"websocket"`` (the bytes are WebSocket frames sent after a
correct ``101`` answer; the connection is closed once the client sends anything, e.g. its
answer to a close frame, or after ``linger`` s) or ``"hold"`` (keep
the connection open until the server stops). It serves HTTP upgrades, REST requests (the body
is read per ``Content-Length`` first) and HTTP proxies' ``CONNECT`` alike.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Answer", "MisbehavingServer", "close_frame", "header", "http"]

_MAGIC = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass(frozen=True)
class Answer:
    data: bytes
    then: str = "close"  # "close", "reset", "websocket", "hold"
    linger: float = 0.5


def http(
    status: int, reason: str = "Error", headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """An HTTP/1.1 response with ``Content-Length`` (``headers`` given as they should go out)."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def close_frame(code: int, reason: str = "") -> bytes:
    """A server -> client (unmasked) close frame."""
    payload = struct.pack("!H", code) + reason.encode()[:123]
    return bytes([0x88, len(payload)]) + payload


def header(head: bytes, name: str) -> str | None:
    """The value of header ``name`` in a request ``head``."""
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name.lower().encode():
            return value.strip().decode("latin-1")
    return None


class MisbehavingServer:
    def __init__(self, answer: Callable[[bytes], Answer]) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port: int = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _call(self, coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = header(head, "content-length")
            if length is not None and length.isdigit():
                head += await reader.readexactly(int(length))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.transport.abort()
            return
        self.requests.append(head)
        answer = self.answer(head)
        data = answer.data
        if answer.then == "websocket":
            key = (header(head, "sec-websocket-key") or "").encode()
            accept = base64.b64encode(hashlib.sha1(key + _MAGIC).digest()).decode()
            data = (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode() + data
        writer.write(data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        if answer.then == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif answer.then == "websocket":  # close (FIN) once the client answers, or after linger
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(reader.read(65536), answer.linger)
            writer.close()
        elif answer.then == "close":
            writer.close()

    def stop(self) -> None:
        async def shut() -> None:
            self._server.close()
            for writer in self._writers:
                writer.transport.abort()

        self._call(shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> MisbehavingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
