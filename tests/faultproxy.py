"""A fault-injecting TCP proxy for the reconnect tests: client <-> proxy <-> local server.

Runs its own asyncio loop on a thread, listens on 127.0.0.1 port 0 and forwards every accepted
connection to the target. Faults, all thread-safe:

* ``cut()``: abort every live connection now (both sides, no close frame: the client sees 1006);
* ``stall()``: forward nothing more on the live connections and never close them;
* ``mute()``: on the live connections, forward what the client sends but drop what the server
  sends (its answers are lost when a ``cut()`` follows: a deterministic "late answer");
* ``down()``: cut every live connection and stop listening (the server is down);
* ``close(code, reason)``: send the client a WebSocket close frame (at a frame boundary of what
  the server sends), drop the server side, and close the client's TCP connection once the
  client answered with its own close frame (deterministic: no grace period to race);
* ``arm(fault, after_bytes=..., after_s=...)``: do one of those to the *next* connection once
  that many bytes went through it (either way) or that many seconds passed;
* ``refuse(status, count, headers)``: answer the next ``count`` handshakes with an HTTP
  ``status`` instead of forwarding them (e.g. 429 with ``Retry-After: 1``);
* ``delay_s``: latency added to everything the server sends.

``connections`` counts accepted connections (refused ones included), ``refused`` the refusals.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FaultProxy"]

_REASONS = {400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests", 503: "Unavailable"}


def close_frame(code: int, reason: str = "") -> bytes:
    """A server -> client (unmasked) WebSocket close frame."""
    payload = struct.pack("!H", code) + reason.encode()[:120]
    return bytes([0x88, len(payload)]) + payload


class _FrameBoundary:
    """Follows one direction's byte stream (HTTP head, then WebSocket frames, masked or not) to
    know where a frame ends, so a close frame is never written into the middle of another frame;
    ``saw_close`` once a close frame's header went by."""

    def __init__(self) -> None:
        self.saw_close = False
        self.text_frames = 0  # text frames whose header went by (JSON messages)
        self.in_handshake = True
        self.head = bytearray()
        self.remaining = 0  # payload bytes of the current frame still to come

    def advance(self, data: bytes, stop: bool = False) -> int:
        """Follow ``data``; with ``stop``, only up to the first frame boundary and return its
        offset in ``data`` (``-1``: none in it). Without ``stop`` returns ``len(data)``."""
        if stop and self.at_boundary():
            return 0
        i = 0
        n = len(data)
        while i < n:
            if self.in_handshake:
                end = (bytes(self.head[-3:]) + data[i:]).find(b"\r\n\r\n")
                if end < 0:
                    self.head += data[i:]
                    return -1 if stop else n
                i += end + 4 - min(3, len(self.head))
                self.in_handshake = False
                self.head.clear()
            elif self.remaining:
                take = min(self.remaining, n - i)
                self.remaining -= take
                i += take
            else:
                self.head += data[i : i + 1]
                i += 1
                need = self._header_length()
                if need is None or len(self.head) < need:
                    continue
                self.remaining = self._payload_length() + (4 if self.head[1] & 0x80 else 0)
                self.saw_close = self.saw_close or self.head[0] & 0x0F == 0x8
                self.text_frames += self.head[0] & 0x0F == 0x1
                self.head.clear()
            if stop and self.at_boundary():
                return i
        return -1 if stop else n

    def at_boundary(self) -> bool:
        return not self.in_handshake and not self.remaining and not self.head

    def _header_length(self) -> int | None:
        if len(self.head) < 2:
            return None
        size = self.head[1] & 0x7F
        return 2 + (2 if size == 126 else 8 if size == 127 else 0)

    def _payload_length(self) -> int:
        size = self.head[1] & 0x7F
        if size == 126:
            return int(struct.unpack("!H", self.head[2:4])[0])
        if size == 127:
            return int(struct.unpack("!Q", self.head[2:10])[0])
        return size


@dataclass(eq=False)
class _Pipe:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    stalled: bool = False
    muted: bool = False
    closing: tuple[int, str] | None = None
    moved: int = 0
    boundary: _FrameBoundary = field(default_factory=_FrameBoundary)
    upstream: _FrameBoundary = field(default_factory=_FrameBoundary)  # what the client sends
    armed: tuple[str, tuple[Any, ...], int | None] | None = None
    dead: bool = False

    def abort(self) -> None:
        self.dead = True
        for writer in (self.client, self.server):
            if writer is not None:
                writer.transport.abort()


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.delay_s = 0.0
        self.connections = 0
        self.refused = 0
        self._refusals: deque[tuple[int, dict[str, str]]] = deque()
        self._armed: deque[tuple[str, tuple[Any, ...], int | None, float | None]] = deque()
        self._pipes: set[_Pipe] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    # -- life ------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        self._server = self._call(self._start())
        return self

    async def _start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    def stop(self) -> None:
        async def stop() -> None:
            for pipe in list(self._pipes):
                pipe.abort()
            if self._server is not None:
                self._server.close()
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            if tasks:  # the pipes are aborted: their tasks end by themselves
                _, pending = await asyncio.wait(tasks, timeout=2)
                for task in pending:
                    task.cancel()

        self._call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # -- faults ----------------------------------------------------------------------------

    def cut(self) -> int:
        """Abort every live connection; returns how many there were."""

        async def cut() -> int:
            pipes = [p for p in self._pipes if not p.dead]
            for pipe in pipes:
                pipe.abort()
            return len(pipes)

        return int(self._call(cut()))

    def text_frames_sent(self) -> int:
        """Text frames the clients of the live connections have sent so far, forwarded or not
        (a stalled connection still reads them)."""

        async def count() -> int:
            return sum(p.upstream.text_frames for p in self._pipes if not p.dead)

        return int(self._call(count()))

    def stall(self) -> None:
        async def stall() -> None:
            for pipe in self._pipes:
                pipe.stalled = True

        self._call(stall())

    def mute(self) -> None:
        async def mute() -> None:
            for pipe in self._pipes:
                pipe.muted = True

        self._call(mute())

    def close(self, code: int, reason: str = "") -> None:
        async def close() -> None:
            for pipe in list(self._pipes):
                self._start_close(pipe, code, reason)

        self._call(close())

    def down(self) -> None:
        """The server goes down: every live connection is cut and new ones are refused (the
        port no longer listens)."""

        async def down() -> None:
            if self._server is not None:
                self._server.close()
            for pipe in list(self._pipes):
                pipe.abort()

        self._call(down())

    def arm(
        self,
        fault: str,
        *args: Any,
        after_bytes: int | None = None,
        after_s: float | None = None,
    ) -> None:
        """``fault`` (``"cut"``, ``"stall"``, ``"close"`` with ``code, reason``) on the next
        connection, after ``after_bytes`` forwarded bytes or ``after_s`` seconds."""
        self._armed.append((fault, args, after_bytes, after_s))

    def refuse(self, status: int, count: int = 1, headers: dict[str, str] | None = None) -> None:
        for _ in range(count):
            self._refusals.append((status, dict(headers or {})))

    # -- plumbing ----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._refusals:
            status, headers = self._refusals.popleft()
            await self._refuse(reader, writer, status, headers)
            return
        pipe = _Pipe(client=writer)
        if self._armed:
            fault, args, after_bytes, after_s = self._armed.popleft()
            if after_s is not None:
                self._loop.call_later(after_s, self._fault, pipe, fault, args)
            else:
                pipe.armed = (fault, args, after_bytes or 0)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        pipe.server = up_writer
        self._pipes.add(pipe)
        try:
            await asyncio.gather(
                self._pump(pipe, reader, up_writer, downstream=False),
                self._pump(pipe, up_reader, writer, downstream=True),
            )
        finally:
            self._pipes.discard(pipe)
            pipe.abort()

    async def _refuse(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        status: int,
        headers: dict[str, str],
    ) -> None:
        self.refused += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.transport.abort()
            return
        body = b'{"err_code":"INJECTED","err_msg":"refused by the fault proxy"}'
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines += [
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    def _fault(self, pipe: _Pipe, fault: str, args: tuple[Any, ...]) -> None:
        if fault == "cut":
            pipe.abort()
        elif fault == "stall":
            pipe.stalled = True
        elif fault == "close":
            self._start_close(pipe, int(args[0]), str(args[1]) if len(args) > 1 else "")
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def _start_close(self, pipe: _Pipe, code: int, reason: str) -> None:
        pipe.closing = (code, reason)
        if pipe.boundary.at_boundary():
            self._send_close(pipe)

    def _send_close(self, pipe: _Pipe) -> None:
        assert pipe.closing is not None
        code, reason = pipe.closing
        pipe.stalled = True
        pipe.client.write(close_frame(code, reason))
        if pipe.upstream.saw_close:  # the client had closed already: nothing to wait for
            pipe.client.close()
        if pipe.server is not None:
            pipe.server.transport.abort()
        # Like a server, end the TCP connection once the client answered the close frame (see
        # _pump), however late that is; the abort only bounds a client that never answers.
        self._loop.call_later(30, pipe.client.transport.abort)

    async def _pump(
        self,
        pipe: _Pipe,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        downstream: bool,
    ) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if not downstream:
                    pipe.upstream.advance(data)
                    if pipe.closing is not None and pipe.upstream.saw_close:
                        pipe.client.close()  # the closing handshake is done: FIN, not RST
                        continue
                if pipe.stalled or (downstream and pipe.muted):
                    continue
                if downstream and self.delay_s:
                    await asyncio.sleep(self.delay_s)
                if downstream and pipe.closing is not None:
                    cut = pipe.boundary.advance(data, stop=True)
                    if cut >= 0:
                        writer.write(data[:cut])
                        self._send_close(pipe)
                        continue
                    writer.write(data)
                    continue
                if downstream:
                    pipe.boundary.advance(data)
                writer.write(data)
                pipe.moved += len(data)
                armed = pipe.armed
                if armed is not None and pipe.moved >= armed[2]:
                    pipe.armed = None
                    self._fault(pipe, armed[0], armed[1])
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not pipe.stalled:
                pipe.abort()
