"""The cold operator forms: connect on subscribe, close on dispose, retry = reconnect."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import reactivex
from audio_util import chunks, concat, pcm16, silence, tone
from reactivex import operators as ops
from reactivex.scheduler.eventloop import AsyncIOScheduler, AsyncIOThreadSafeScheduler

from rxdeepgram import (
    AsyncDeepgramClient,
    ConnectionClosedError,
    DeepgramClient,
    InvalidOptionError,
)
from rxdeepgram.messages import listen_v1
from rxdeepgram.server import DeepgramServer, ScriptedEngine

RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
AUDIO = pcm16(concat(tone(0.8), silence(0.6), tone(0.8), silence(0.6)))


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(["hello world", "how are you"])) as srv:
        yield srv


def final_texts(messages: list[Any]) -> list[str]:
    return [
        m.channel.alternatives[0].transcript
        for m in messages
        if isinstance(m, listen_v1.Results) and m.is_final
    ]


def test_sync_transcribe_streams_a_source_and_completes(server: DeepgramServer) -> None:
    client = DeepgramClient(base_url=server.url)
    messages = (
        reactivex.from_iterable(list(chunks(AUDIO)))
        .pipe(client.listen.v1.transcribe(**RAW), ops.to_list())
        .run()
    )
    assert final_texts(messages) == ["hello world", "how are you"]
    assert isinstance(messages[-1], listen_v1.Metadata)


async def test_async_transcribe_is_awaitable(server: DeepgramServer) -> None:
    client = AsyncDeepgramClient(base_url=server.url)
    source = reactivex.from_iterable(list(chunks(AUDIO)))
    messages = await source.pipe(client.listen.v1.transcribe(**RAW), ops.to_list())
    assert final_texts(messages) == ["hello world", "how are you"]


def test_each_subscription_is_its_own_connection(server: DeepgramServer) -> None:
    client = DeepgramClient(base_url=server.url)
    stream = reactivex.from_iterable(list(chunks(AUDIO))).pipe(client.listen.v1.transcribe(**RAW))
    first = stream.pipe(ops.to_list()).run()
    second = stream.pipe(ops.to_list()).run()
    assert final_texts(first) == final_texts(second) == ["hello world", "how are you"]
    assert first[-1].request_id != second[-1].request_id


def test_options_are_validated_when_the_operator_is_built() -> None:
    client = DeepgramClient(base_url="ws://127.0.0.1:9")
    with pytest.raises(InvalidOptionError, match="sample_rate"):
        client.listen.v1.transcribe(model="nova-3", encoding="linear16")


def test_retry_reconnects(server: DeepgramServer) -> None:
    opened = 0
    lock = threading.Lock()

    def silent_source() -> reactivex.Observable[bytes]:
        nonlocal opened
        with lock:
            opened += 1
        return reactivex.never()

    with DeepgramServer(idle_timeout=0.2) as idle:
        client = DeepgramClient(base_url=idle.url)
        stream = reactivex.defer(lambda _: silent_source()).pipe(
            client.listen.v1.transcribe(keepalive=False, **RAW), ops.retry(3)
        )
        with pytest.raises(ConnectionClosedError, match="NET-0001"):
            stream.run()
    assert opened == 3


def test_dispose_closes_the_connection(server: DeepgramServer) -> None:
    client = DeepgramClient(base_url=server.url)
    seen: list[Any] = []
    got_first = threading.Event()

    def on_next(m: Any) -> None:
        seen.append(m)
        got_first.set()

    feeding = reactivex.interval(0.02).pipe(ops.map(lambda _: pcm16(tone(0.02))))
    sub = feeding.pipe(client.listen.v1.transcribe(interim_results=True, **RAW)).subscribe(on_next)
    assert got_first.wait(10)
    sub.dispose()
    count = len(seen)
    assert not threading.Event().wait(0.3)
    assert len(seen) == count  # nothing more after dispose


# -- the async client's operators on a given AsyncIOScheduler -------------------------------------


class _Collected:
    """An Rx observer that keeps what it gets and says when the stream ended."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.error: Exception | None = None
        self.done = threading.Event()
        self.threads: set[int] = set()

    def on_next(self, item: Any) -> None:
        self.threads.add(threading.get_ident())
        self.items.append(item)

    def on_error(self, error: Exception) -> None:
        self.error = error
        self.done.set()

    def on_completed(self) -> None:
        self.done.set()


async def test_async_operator_runs_on_the_loop_of_an_asyncio_scheduler(
    server: DeepgramServer,
) -> None:
    """Subscribed on the loop's own thread with ``AsyncIOScheduler(loop)``: the connection is
    opened on that loop (its messages come from the loop's thread)."""
    loop = asyncio.get_running_loop()
    client = AsyncDeepgramClient(base_url=server.url)
    seen = _Collected()
    reactivex.from_iterable(list(chunks(AUDIO))).pipe(client.listen.v1.transcribe(**RAW)).subscribe(
        seen, scheduler=AsyncIOScheduler(loop)
    )
    assert await asyncio.to_thread(seen.done.wait, 20)
    assert seen.error is None
    assert final_texts(seen.items) == ["hello world", "how are you"]
    assert seen.threads == {threading.get_ident()}


def test_async_operator_subscribed_from_another_thread_with_a_thread_safe_scheduler(
    server: DeepgramServer,
) -> None:
    """A plain thread (no running loop) subscribes with ``AsyncIOThreadSafeScheduler(loop)``:
    the open runs on that loop, in its thread; disposing from the plain thread cancels it."""
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    try:
        client = AsyncDeepgramClient(base_url=server.url)
        scheduler = AsyncIOThreadSafeScheduler(loop)
        seen = _Collected()
        source = reactivex.from_iterable(list(chunks(AUDIO)))
        source.pipe(client.listen.v1.transcribe(**RAW)).subscribe(seen, scheduler=scheduler)
        assert seen.done.wait(20)
        assert seen.error is None
        assert final_texts(seen.items) == ["hello world", "how are you"]
        assert seen.threads == {runner.ident}

        endless = _Collected()
        feeding = reactivex.never()
        sub = feeding.pipe(client.listen.v1.transcribe(**RAW)).subscribe(
            endless, scheduler=scheduler
        )
        sub.dispose()  # before or during the open: no connection is left behind
        assert asyncio.run_coroutine_threadsafe(_no_tasks_left(), loop).result(10)
        assert endless.items == [] and not endless.done.is_set()
        # An abort of an open connection is a closing handshake, run by callbacks (no task):
        # stop the server while this loop still runs it, so that it ends on both sides (a
        # loop closed first would leave the socket to the server's close timeout).
        server.stop()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(5)
        loop.close()


async def _no_tasks_left() -> bool:
    """Whether every other task of the running loop ends (the disposed open included)."""
    current = asyncio.current_task()
    for _ in range(1000):
        if not [t for t in asyncio.all_tasks() if t is not current and not t.done()]:
            return True
        await asyncio.sleep(0.01)
    return False


def test_async_operator_without_a_loop_or_scheduler_says_so() -> None:
    client = AsyncDeepgramClient(base_url="ws://127.0.0.1:9")
    seen = _Collected()
    reactivex.never().pipe(client.listen.v1.transcribe(**RAW)).subscribe(seen)
    assert seen.done.is_set()
    assert isinstance(seen.error, RuntimeError)
    assert "AsyncIOScheduler" in str(seen.error)
