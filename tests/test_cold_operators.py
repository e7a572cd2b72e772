"""The cold operator forms: connect on subscribe, close on dispose, retry = reconnect."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import reactivex
from audio_util import chunks, concat, pcm16, silence, tone
from reactivex import operators as ops

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
