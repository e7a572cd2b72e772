"""A misbehaving WebSocket server for the fail-safe tests, on 127.0.0.1 port 0.

It runs its own asyncio loop on a thread and answers every connection in one of these ways
(``then``, a list of modes for the next connections in order, else ``mode``):

* ``"close"``: accept the handshake (101), then send a close frame with ``code`` / ``reason``
  (1011 by default) and drop the connection: a server that opens and never delivers anything;
* ``"stall"``: accept the handshake, then read nothing more, answer nothing (no pong, no close
  frame) and never close: a stalled or dead peer. Its receive buffer is small, so a client
  writing to it fills its own send queue quickly;
* ``"mute"``: accept the TCP connection and never answer the handshake.

``connections`` counts accepted TCP connections (``wait_connections(n)`` waits for them),
``handshakes`` the 101 answers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
import struct
import threading

__all__ = ["BadServer"]

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()


class BadServer:
    def __init__(self, mode: str = "close", code: int = 1011, reason: str = "NET-0000") -> None:
        self.mode = mode
        self.code = code
        self.reason = reason
        self.connections = 0
        self.handshakes = 0
        self._counted = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._stopped: asyncio.Event | None = None
        self.then: list[str] = []
        """Modes of the next connections, in order (``mode`` once it is empty)."""
        self.port = 0

    def wait_connections(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` connections were accepted."""
        with self._counted:
            return self._counted.wait_for(lambda: self.connections >= count, timeout)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def __enter__(self) -> BadServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            for writer in list(self._writers):
                writer.transport.abort()
            if self._server is not None:
                self._server.close()
            if self._stopped is not None:
                self._stopped.set()
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _start(self) -> None:
        self._stopped = asyncio.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited by connections
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self._server = await asyncio.start_server(self._accept, sock=sock)
        self.port = sock.getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._counted:
            self.connections += 1
            self._counted.notify_all()
        self._writers.add(writer)
        mode = self.then.pop(0) if self.then else self.mode
        stopped = self._stopped
        assert stopped is not None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if mode == "mute":
                await stopped.wait()  # until the client gives up (or the end)
            key = ""
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-key":
                    key = value.strip()
            writer.write(
                (
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\n"
                    f"Sec-WebSocket-Accept: {_accept_key(key)}\r\n"
                    "dg-request-id: bad-server\r\n\r\n"
                ).encode()
            )
            self.handshakes += 1
            if mode == "close":
                payload = struct.pack("!H", self.code) + self.reason.encode()[:120]
                writer.write(bytes([0x88, len(payload)]) + payload)
                await writer.drain()
                writer.transport.abort()
                return
            # stall: read nothing more, answer nothing, never close
            writer.transport.pause_reading()
            await stopped.wait()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.transport.abort()
        finally:
            self._writers.discard(writer)
