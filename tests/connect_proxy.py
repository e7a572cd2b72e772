"""An HTTP CONNECT proxy for the tests (on 127.0.0.1, its own loop and thread), and
``through(monkeypatch, url)``, which names it in the environment as ``HTTP_PROXY`` and
``HTTPS_PROXY``."""

from __future__ import annotations

import asyncio
import base64
import threading

import pytest


class ConnectProxy:
    """An HTTP CONNECT proxy on its own loop and thread; records the tunnels asked for."""

    def __init__(self, *, refuse: int | None = None, credentials: str | None = None) -> None:
        self.refuse = refuse
        self.credentials = credentials
        self.requests: list[bytes] = []
        self.writers: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self.loop
        ).result(5)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head)
        if self.refuse is not None:
            writer.write(f"HTTP/1.1 {self.refuse} No\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            writer.close()
            return
        if self.credentials is not None:
            expected = (
                "Proxy-Authorization: Basic " + base64.b64encode(self.credentials.encode()).decode()
            )
            if expected.encode() not in head:
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                await writer.drain()
                writer.close()
                return
        target = head.split(b" ", 2)[1].decode()
        host, _, port = target.rpartition(":")
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        self.writers.add(up_writer)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def close(self) -> None:
        """Stop, closing every connection still open (both sides of each tunnel)."""

        async def shut() -> None:
            self.server.close()
            for writer in self.writers:
                writer.close()

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def through(monkeypatch: pytest.MonkeyPatch, proxy_url: str) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("HTTPS_PROXY", proxy_url)
