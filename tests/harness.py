"""Run one connection scenario with either client.

Tests written once in plain (sync) style drive :class:`SyncHarness` (``DeepgramClient``, on its
shared I/O thread) or :class:`AsyncHarness` (``AsyncDeepgramClient`` on an event loop in a
background thread, so the connection really runs on the caller's asyncio loop), each with the
transport it is given. ``conn.input`` and ``conn.messages`` are thread-safe, so the test thread
may use them directly; only the waits differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from rxdeepgram import AsyncDeepgramClient, DeepgramClient
from rxdeepgram._connection import ConnectionBase

T = TypeVar("T")


class Recorder:
    """Collects what a subscriber sees."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.error: BaseException | None = None
        self.completed = False
        self.done = threading.Event()

    def on_next(self, item: Any) -> None:
        self.items.append(item)

    def on_error(self, error: Exception) -> None:
        self.error = error
        self.done.set()

    def on_completed(self) -> None:
        self.completed = True
        self.done.set()

    def types(self) -> list[str]:
        return [getattr(x, "type", type(x).__name__) for x in self.items]

    def wait(self, timeout: float = 10.0) -> None:
        assert self.done.wait(timeout), f"stream did not end; saw {self.types()}"


class SyncHarness:
    kind = "sync"

    def __init__(self, transport: str | None = None) -> None:
        self.transport = transport

    def client(self, **kwargs: Any) -> DeepgramClient:
        kwargs.setdefault("transport", self.transport)
        return DeepgramClient(**kwargs)

    @contextlib.contextmanager
    def connect(self, client: Any, channel: str, **options: Any) -> Iterator[Any]:
        group, version = channel.split(".")
        with getattr(getattr(client, group), version).connect(**options) as conn:
            yield conn

    def open(self, client: Any, channel: str, **options: Any) -> Any:
        group, version = channel.split(".")
        return getattr(getattr(client, group), version).connect(**options).open()

    def close(self, conn: Any) -> None:
        conn.close()

    def wait(self, conn: ConnectionBase[Any, Any], timeout: float = 10.0) -> None:
        assert conn.wait(timeout)

    def stop(self) -> None:
        pass


class AsyncHarness:
    kind = "async"

    def __init__(self, transport: str | None = None) -> None:
        self.transport = transport
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def client(self, **kwargs: Any) -> AsyncDeepgramClient:
        kwargs.setdefault("transport", self.transport)
        return AsyncDeepgramClient(**kwargs)

    @contextlib.contextmanager
    def connect(self, client: Any, channel: str, **options: Any) -> Iterator[Any]:
        group, version = channel.split(".")
        ctx = getattr(getattr(client, group), version).connect(**options)
        conn = self.run(ctx.__aenter__())
        try:
            yield conn
        except BaseException as exc:
            self.run(ctx.__aexit__(type(exc), exc, exc.__traceback__))
            raise
        else:
            self.run(ctx.__aexit__(None, None, None))

    def open(self, client: Any, channel: str, **options: Any) -> Any:
        group, version = channel.split(".")

        async def go() -> Any:
            return await getattr(getattr(client, group), version).connect(**options)

        return self.run(go())

    def close(self, conn: Any) -> None:
        self.run(conn.close())

    def wait(self, conn: Any, timeout: float = 10.0) -> None:
        self.run(asyncio.wait_for(conn.wait(), timeout), timeout + 1)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Frames:
    """What clients sent, as the server received it (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: list[str | bytes] = []

    def record(self, request_id: str, frame: str | bytes) -> None:
        with self._lock:
            self._frames.append(frame)

    @property
    def text(self) -> list[str]:
        with self._lock:
            return [f for f in self._frames if isinstance(f, str)]

    @property
    def all(self) -> list[str | bytes]:
        with self._lock:
            return list(self._frames)

    @property
    def binary(self) -> list[bytes]:
        with self._lock:
            return [f for f in self._frames if isinstance(f, bytes)]
