"""The sync client's one I/O thread: every sync connection runs on it, nothing blocks it.

50 open sync connections cost one thread besides the caller's; the cold operators schedule
their opens on it instead of starting a thread each; a subscriber (which runs on that thread)
that calls something blocking gets the non-blocking part done or a clear error, never a
deadlock; the thread ends once the last connection has closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import reactivex
from audio_util import chunks, concat, pcm16, silence, tone
from conftest import HAVE_PICOWS, TRANSPORTS
from harness import Recorder
from reactivex import operators as ops

from rxdeepgram import CallbackError, DeepgramClient, DeepgramError
from rxdeepgram._ioloop import io_loop
from rxdeepgram.messages import listen_v1
from rxdeepgram.server import DeepgramServer, ScriptedEngine

RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
AUDIO = pcm16(concat(tone(0.8), silence(0.6)))


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(["hello world"])) as srv:
        yield srv


@pytest.fixture(params=TRANSPORTS)
def client(request: pytest.FixtureRequest, server: DeepgramServer) -> DeepgramClient:
    if request.param == "picows" and not HAVE_PICOWS:
        pytest.skip("picows is not installed")
    return DeepgramClient(base_url=server.url, transport=request.param)


def io_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "rxdeepgram-io"]


def test_fifty_open_sync_connections_cost_one_thread(client: DeepgramClient) -> None:
    before = set(threading.enumerate())
    conns = [client.listen.v1.connect(**RAW).open() for _ in range(50)]
    try:
        assert all(not c.closed for c in conns)
        new = set(threading.enumerate()) - before
        # the caller's thread + the one I/O thread, whatever the number of connections
        assert {t.name for t in new} <= {"rxdeepgram-io"}
        assert len(io_threads()) == 1
    finally:
        for conn in conns:
            conn.input.on_completed()
        for conn in conns:
            assert conn.wait(10)
    assert all(c.end is None for c in conns)


def settle(users: int) -> None:
    """Wait until the I/O loop has ``users`` users again; if none, its thread has ended."""
    thread = io_loop.thread
    for _ in range(500):
        if io_loop.users == users:
            break
        time.sleep(0.02)
    assert io_loop.users == users
    if users == 0 and thread is not None:
        thread.join(10)
        assert not thread.is_alive() and io_loop.thread is None


def test_the_io_thread_ends_with_the_last_connection(client: DeepgramClient) -> None:
    users = io_loop.users  # another test's connection may still be closing
    conn = client.listen.v1.connect(**RAW).open()
    thread = io_loop.thread
    assert thread is not None and thread.is_alive()
    assert io_loop.users == users + 1
    conn.close()
    settle(users)
    if users == 0:  # and a new one starts on demand
        again = client.listen.v1.connect(**RAW).open()
        assert io_loop.thread is not None and io_loop.thread is not thread
        again.close()
        assert again.end is None


def test_cold_operators_start_no_thread_per_subscription(client: DeepgramClient) -> None:
    before = set(threading.enumerate())
    seen: list[set[str]] = []
    done = threading.Semaphore(0)
    results: list[list[Any]] = []
    for _ in range(5):
        reactivex.from_iterable(list(chunks(AUDIO))).pipe(
            client.listen.v1.transcribe(**RAW), ops.to_list()
        ).subscribe(
            lambda items: (results.append(items), seen.append(_new_names(before))),
            lambda e: done.release(),
            done.release,
        )
    for _ in range(5):
        assert done.acquire(timeout=20)
    assert len(results) == 5
    assert all(isinstance(r[-1], listen_v1.Metadata) for r in results)
    assert all(names <= {"rxdeepgram-io"} for names in seen)


def _new_names(before: set[threading.Thread]) -> set[str]:
    return {t.name for t in set(threading.enumerate()) - before}


def test_wait_in_a_subscriber_is_refused_not_a_deadlock(server: DeepgramServer) -> None:
    errors_hook: list[BaseException] = []
    got = threading.Event()

    def hook(error: CallbackError) -> None:
        errors_hook.append(error.error)
        got.set()

    client = DeepgramClient(base_url=server.url, transport="websockets", on_callback_error=hook)
    with client.listen.v1.connect(**RAW) as conn:
        rec = Recorder()
        conn.messages.pipe(ops.take(1)).subscribe(lambda _: conn.wait())
        conn.messages.subscribe(rec)
        for chunk in chunks(AUDIO):
            conn.input.on_next(chunk)
        assert got.wait(10)
    rec.wait()
    assert rec.completed
    assert len(errors_hook) == 1 and isinstance(errors_hook[0], DeepgramError)
    assert "I/O thread" in str(errors_hook[0]) and "conn.wait()" in str(errors_hook[0])


def test_opening_a_sync_connection_in_a_subscriber_is_refused(server: DeepgramServer) -> None:
    refused: list[BaseException] = []
    got = threading.Event()

    def hook(error: CallbackError) -> None:
        refused.append(error.error)
        got.set()

    client = DeepgramClient(base_url=server.url, transport="websockets", on_callback_error=hook)
    with client.listen.v1.connect(**RAW) as conn:
        conn.messages.pipe(ops.take(1)).subscribe(lambda _: client.listen.v1.connect(**RAW).open())
        for chunk in chunks(AUDIO):
            conn.input.on_next(chunk)
        assert got.wait(10)
    assert len(refused) == 1 and isinstance(refused[0], DeepgramError)
    assert "opening a sync connection" in str(refused[0])


def test_close_and_context_exit_in_a_subscriber_start_the_close(
    server: DeepgramServer,
) -> None:
    # Both run on the I/O thread: they start the graceful close and return instead of
    # waiting for the messages that thread has yet to deliver.
    client = DeepgramClient(base_url=server.url, transport="websockets")
    for how in ("close", "exit"):
        ctx = client.listen.v1.connect(**RAW)
        conn = ctx.open()
        rec = Recorder()
        returned = threading.Event()

        def stop(
            _: Any, how: str = how, ctx: Any = ctx, conn: Any = conn, returned: Any = returned
        ) -> None:
            if how == "close":
                conn.close()
            else:
                ctx.__exit__(None, None, None)
            returned.set()

        conn.messages.pipe(ops.filter(lambda m: isinstance(m, listen_v1.Results))).pipe(
            ops.take(1)
        ).subscribe(stop)
        conn.messages.subscribe(rec)
        for chunk in chunks(AUDIO):
            conn.input.on_next(chunk)
        rec.wait()
        assert returned.is_set()
        assert rec.completed and isinstance(rec.items[-1], listen_v1.Metadata)


def test_disposing_cold_subscriptions_at_once_leaves_nothing_running(
    client: DeepgramClient,
) -> None:
    # Disposed before, during or after its open: every subscription lets go of the I/O loop,
    # which stops with the last one.
    users = io_loop.users
    source = reactivex.never()
    subs = []
    for n in range(20):
        sub = source.pipe(client.listen.v1.transcribe(**RAW)).subscribe(lambda _: None)
        if n % 2:
            sub.dispose()
        else:
            subs.append(sub)
    time.sleep(0.3)  # let some opens finish, so that both cases are disposed
    for sub in subs:
        sub.dispose()
    settle(users)
