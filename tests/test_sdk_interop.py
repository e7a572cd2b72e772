"""Deepgram's own Python SDK (``deepgram-sdk``) against rxdeepgram's local server.

The SDK is pointed at the server through its environment override
(``DeepgramClientEnvironment(production="ws://127.0.0.1:PORT", ...)``) and used exactly as its
documentation shows: ``client.listen.v1.connect(...)``, ``send_media`` / ``send_keep_alive``
/ ``send_finalize`` / ``send_close_stream``, ``start_listening()`` with
``on(EventType.MESSAGE, ...)``.
Audio is a WAV file made here (no ``encoding`` option: the server reads the header). Every
scenario runs with the sync ``DeepgramClient`` (``websockets.sync``, a listener thread) and the
``AsyncDeepgramClient`` (the SDK still uses ``websockets.legacy`` there) in the test's loop.

What the SDK receives is its own pydantic models (``ListenV1Results``, ``ListenV1Metadata``), so
these tests check that the server's frames parse as the SDK expects them, not only as rxdeepgram
does. The SDK is a test-only peer: the library never imports it.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from audio_util import chunks, concat, silence, tone, wav_pcm16

from rxdeepgram.server import DeepgramServer, ScriptedEngine

with warnings.catch_warnings():
    # deepgram-sdk 7 imports websockets.legacy and InvalidStatusCode, both deprecated since
    # websockets 14: not our warnings to show.
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        from deepgram import AsyncDeepgramClient, DeepgramClient
        from deepgram.core.api_error import ApiError
        from deepgram.core.events import EventType
        from deepgram.environment import DeepgramClientEnvironment
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(
            f"deepgram-sdk (>= 5, with DeepgramClientEnvironment) is not importable: {exc}",
            allow_module_level=True,
        )
    from websockets.exceptions import InvalidStatus

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

KEY = "dg-sdk-interop-key-0042"
SCRIPT = ["hello world", "how are you"]
SAMPLES = concat(tone(0.8), silence(0.6), tone(0.8), silence(1.2))
WAV = wav_pcm16(SAMPLES)
AUDIO_SECONDS = len(SAMPLES) / 16000
OPTIONS: dict[str, Any] = {"model": "nova-3", "interim_results": "true", "punctuate": "true"}
WAIT = 5.0
"""Seconds to wait for any event; the whole exchange takes well under one."""


def environment(url: str) -> Any:
    """The SDK's environment with every host (REST, streaming, agent) at the local server."""
    http = "http" + url.removeprefix("ws")
    return DeepgramClientEnvironment(base=http, production=url, agent=url, agent_rest=http)


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(SCRIPT), api_key=KEY) as srv:
        yield srv


class Events:
    """What the SDK's event emitter reports, with a thread-safe 'closed' flag."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.errors: list[Any] = []
        self.opened = 0
        self.closed = threading.Event()

    def attach(self, socket: Any) -> None:
        socket.on(EventType.OPEN, self._on_open)
        socket.on(EventType.MESSAGE, self.messages.append)
        socket.on(EventType.ERROR, self.errors.append)
        socket.on(EventType.CLOSE, lambda _: self.closed.set())

    def _on_open(self, _: object) -> None:
        self.opened += 1

    def of_type(self, name: str) -> list[Any]:
        return [m for m in self.messages if type(m).__name__ == name]


def transcripts(results: list[Any]) -> list[str]:
    return [r.channel.alternatives[0].transcript for r in results]


def check_conversation(events: Events) -> None:
    """The SDK saw the whole conversation, parsed into its own models."""
    assert events.errors == []
    assert events.opened == 1
    names = [type(m).__name__ for m in events.messages]
    assert set(names) == {"ListenV1Results", "ListenV1Metadata"}, names
    assert names[-1] == "ListenV1Metadata"
    results = events.of_type("ListenV1Results")
    finals = [r for r in results if r.is_final]
    assert transcripts(finals) == ["Hello world.", "How are you."]
    assert [r.speech_final for r in finals] == [True, True]
    assert [w.word for w in finals[0].channel.alternatives[0].words] == ["hello", "world"]
    assert [w.punctuated_word for w in finals[1].channel.alternatives[0].words] == [
        "How",
        "are",
        "you.",
    ]
    interim = [r for r in results if not r.is_final]
    assert interim, "interim_results=true was asked for"
    assert all(r.channel_index == [0, 1] for r in results)
    assert finals[0].start + finals[0].duration <= finals[1].start + 1e-6
    (meta,) = events.of_type("ListenV1Metadata")
    assert meta.request_id == results[0].metadata.request_id
    assert meta.duration == pytest.approx(AUDIO_SECONDS, abs=0.01)
    assert meta.channels == 1
    assert results[0].metadata.model_info.name == "nova-3"


# -- sync client ---------------------------------------------------------------------------------


def test_sync_sdk_streams_a_wav_and_gets_results_and_metadata(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, environment=environment(server.url))
    events = Events()
    with client.listen.v1.connect(**OPTIONS) as socket:
        events.attach(socket)
        listener = threading.Thread(target=socket.start_listening, daemon=True)
        listener.start()
        for index, chunk in enumerate(chunks(WAV, 3200)):
            socket.send_media(chunk)
            if index == 10:
                socket.send_keep_alive()
        socket.send_close_stream()
        assert events.closed.wait(WAIT), "the server did not close after CloseStream"
        listener.join(WAIT)
        assert not listener.is_alive()
    check_conversation(events)


def test_sync_sdk_finalize_flushes_the_open_segment(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, environment=environment(server.url))
    with client.listen.v1.connect(model="nova-3") as socket:
        for chunk in chunks(wav_pcm16(tone(0.9)), 3200):
            socket.send_media(chunk)
        socket.send_finalize()
        flushed = socket.recv()
        socket.send_close_stream()
        rest = list(socket)
    assert type(flushed).__name__ == "ListenV1Results"
    assert flushed.from_finalize is True
    assert flushed.is_final is True
    assert flushed.speech_final is False
    assert flushed.channel.alternatives[0].transcript == "hello world"
    assert [type(m).__name__ for m in rest] == ["ListenV1Metadata"]


def test_sync_sdk_sees_the_servers_401(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key="not-the-key", environment=environment(server.url))
    with pytest.raises((ApiError, InvalidStatus)) as info, client.listen.v1.connect(model="nova-3"):
        pytest.fail("the upgrade was accepted with a wrong key")
    err = info.value
    # deepgram-sdk 7.17 means to raise ApiError(status_code=401), but its websocket_compat
    # catches websockets' deprecated InvalidStatusCode, which the websockets.sync client (>= 14)
    # never raises: websockets' own InvalidStatus reaches the caller. Either carries the 401.
    if isinstance(err, ApiError):
        assert err.status_code == 401
    else:
        assert isinstance(err, InvalidStatus)
        assert err.response.status_code == 401
        assert err.response.headers["dg-error"] == "Invalid credentials."
        assert err.response.headers["dg-request-id"]


# -- async client --------------------------------------------------------------------------------


async def test_async_sdk_streams_a_wav_and_gets_results_and_metadata() -> None:
    async with DeepgramServer(engine=ScriptedEngine(SCRIPT), api_key=KEY) as srv:
        client = AsyncDeepgramClient(api_key=KEY, environment=environment(srv.url))
        events = Events()
        async with client.listen.v1.connect(**OPTIONS) as socket:
            events.attach(socket)
            listener = asyncio.create_task(socket.start_listening())
            for index, chunk in enumerate(chunks(WAV, 3200)):
                await socket.send_media(chunk)
                if index == 10:
                    await socket.send_keep_alive()
            await socket.send_close_stream()
            await asyncio.wait_for(listener, WAIT)
        assert events.closed.is_set()
    check_conversation(events)


async def test_async_sdk_finalize_flushes_the_open_segment() -> None:
    async with DeepgramServer(engine=ScriptedEngine(SCRIPT), api_key=KEY) as srv:
        client = AsyncDeepgramClient(api_key=KEY, environment=environment(srv.url))
        async with client.listen.v1.connect(model="nova-3") as socket:
            for chunk in chunks(wav_pcm16(tone(0.9)), 3200):
                await socket.send_media(chunk)
            await socket.send_finalize()
            flushed = await asyncio.wait_for(socket.recv(), WAIT)
            await socket.send_close_stream()
            rest = [m async for m in socket]
    assert type(flushed).__name__ == "ListenV1Results"
    assert flushed.from_finalize is True
    assert flushed.channel.alternatives[0].transcript == "hello world"
    assert [type(m).__name__ for m in rest] == ["ListenV1Metadata"]


async def test_async_sdk_sees_the_servers_401_as_api_error() -> None:
    async with DeepgramServer(api_key=KEY) as srv:
        client = AsyncDeepgramClient(api_key="not-the-key", environment=environment(srv.url))
        with pytest.raises(ApiError) as info:
            async with client.listen.v1.connect(model="nova-3"):
                pytest.fail("the upgrade was accepted with a wrong key")
    assert info.value.status_code == 401
