"""Deepgram's own Python SDK (``deepgram-sdk``) runs Flux sessions against rxdeepgram's server.

The SDK is pointed at the local server through its environment override, as in
``test_sdk_interop.py``, and used as its documentation shows: ``client.listen.v2.connect(...)``,
``send_media`` / ``send_configure`` / ``send_force_end_turn`` / ``send_close_stream``,
``start_listening()`` with ``on(EventType.MESSAGE, ...)``. It parses what it receives into its
own pydantic models (``ListenV2Connected``, ``ListenV2TurnInfo``...), so these tests check that
the server's frames are what the SDK expects, including the close without a status code after
``CloseStream`` (which the SDK must treat as a normal end, not an error).

Every scenario runs with the sync ``DeepgramClient`` (a listener thread) and the
``AsyncDeepgramClient`` in the test's loop. The SDK is a test-only peer.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from audio_util import chunks, concat, pcm16, silence, tone

from rxdeepgram.server import DeepgramServer, ScriptedEngine

with warnings.catch_warnings():
    # deepgram-sdk 7 imports websockets.legacy and InvalidStatusCode, both deprecated.
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        from deepgram import AsyncDeepgramClient, DeepgramClient
        from deepgram.core.events import EventType
        from deepgram.environment import DeepgramClientEnvironment
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(
            f"deepgram-sdk (>= 5, with DeepgramClientEnvironment) is not importable: {exc}",
            allow_module_level=True,
        )

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

KEY = "dg-sdk-interop-v2-key-0042"
SCRIPT = ["Hello there.", "How are you?", "Fine thanks."]
# Speech, a pause long enough for EagerEndOfTurn but not EndOfTurn, more speech, the end of the
# turn, then speech still going on at CloseStream.
AUDIO = pcm16(concat(tone(1.0), silence(0.6), tone(0.8), silence(1.2), tone(0.5)))
OPTIONS: dict[str, Any] = {
    "model": "flux-general-en",
    "encoding": "linear16",
    "sample_rate": 16000,
    "eager_eot_threshold": 0.5,
    "eot_timeout_ms": 1000,
}
CONFIGURE = {"type": "Configure", "thresholds": {"eot_threshold": 0.8}, "keyterms": ["Flux"]}
WAIT = 5.0


def environment(url: str) -> Any:
    """The SDK's environment with every host at the local server."""
    http = "http" + url.removeprefix("ws")
    return DeepgramClientEnvironment(base=http, production=url, agent=url, agent_rest=http)


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(SCRIPT), api_key=KEY) as srv:
        yield srv


class Events:
    """What the SDK's event emitter reports."""

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

    def names(self) -> list[str]:
        return [type(m).__name__ for m in self.messages]

    def turn_events(self) -> list[tuple[str, int, str]]:
        return [
            (str(m.event), m.turn_index, m.transcript)
            for m in self.messages
            if type(m).__name__ == "ListenV2TurnInfo" and m.event != "Update"
        ]


def check_session(events: Events) -> None:
    """The SDK saw a whole Flux session, parsed into its own models, and no error."""
    assert events.errors == []
    assert events.opened == 1
    names = events.names()
    assert names[0] == "ListenV2Connected"
    assert set(names) == {"ListenV2Connected", "ListenV2TurnInfo", "ListenV2ConfigureSuccess"}
    assert [m.sequence_id for m in events.messages] == list(range(len(names)))
    (success,) = [m for m in events.messages if type(m).__name__ == "ListenV2ConfigureSuccess"]
    assert success.thresholds.eot_threshold == 0.8
    assert list(success.keyterms) == ["Flux"]
    assert events.turn_events() == [
        ("StartOfTurn", 0, ""),
        ("EagerEndOfTurn", 0, "Hello there."),
        ("TurnResumed", 0, "Hello there."),
        ("EagerEndOfTurn", 0, "Hello there. How are you?"),
        ("EndOfTurn", 0, "Hello there. How are you?"),
        ("StartOfTurn", 1, ""),
    ]
    end = next(m for m in events.messages if getattr(m, "event", None) == "EndOfTurn")
    assert end.trigger == "model"
    assert end.end_of_turn_confidence == 0.8  # the Configure'd threshold
    assert [w.word for w in end.words] == ["Hello", "there.", "How", "are", "you?"]
    assert all(w.start is not None and w.end is not None for w in end.words)
    last = events.messages[-1]  # the trailing Update after CloseStream; no EndOfTurn
    assert (last.event, last.turn_index, last.transcript) == ("Update", 1, "Fine thanks.")


# -- sync client ---------------------------------------------------------------------------------


def test_sync_sdk_runs_a_flux_session(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, environment=environment(server.url))
    events = Events()
    with client.listen.v2.connect(**OPTIONS) as socket:
        events.attach(socket)
        listener = threading.Thread(target=socket.start_listening, daemon=True)
        listener.start()
        socket.send_configure(CONFIGURE)
        for chunk in chunks(AUDIO, 2560):
            socket.send_media(chunk)
        socket.send_close_stream()
        assert events.closed.wait(WAIT), "the server did not close after CloseStream"
        listener.join(WAIT)
        assert not listener.is_alive()
    check_session(events)


def test_sync_sdk_force_end_turn_and_fatal_error(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, environment=environment(server.url))
    with client.listen.v2.connect(
        model="flux-general-en", encoding="linear16", sample_rate=16000
    ) as socket:
        connected = socket.recv()
        for chunk in chunks(pcm16(tone(0.6)), 3200):
            socket.send_media(chunk)
        socket.send_force_end_turn()
        received = []
        while not received or getattr(received[-1], "event", None) != "EndOfTurn":
            received.append(socket.recv())
        socket.send_configure({"type": "KeepAlive"})  # not a Flux message: fatal
        fatal = socket.recv()
    assert type(connected).__name__ == "ListenV2Connected"
    assert received[-1].trigger == "manual"
    assert received[-1].transcript == "Hello there."
    assert type(fatal).__name__ == "ListenV2FatalError"
    assert fatal.code == "UNPARSABLE_CLIENT_MESSAGE"


# -- async client --------------------------------------------------------------------------------


async def test_async_sdk_runs_a_flux_session() -> None:
    async with DeepgramServer(engine=ScriptedEngine(SCRIPT), api_key=KEY) as srv:
        client = AsyncDeepgramClient(api_key=KEY, environment=environment(srv.url))
        events = Events()
        async with client.listen.v2.connect(**OPTIONS) as socket:
            events.attach(socket)
            listener = asyncio.create_task(socket.start_listening())
            await socket.send_configure(CONFIGURE)
            for chunk in chunks(AUDIO, 2560):
                await socket.send_media(chunk)
            await socket.send_close_stream()
            await asyncio.wait_for(listener, WAIT)
        assert events.closed.is_set()
    check_session(events)


async def test_async_sdk_sees_the_fatal_error_of_undecodable_audio() -> None:
    async with DeepgramServer(api_key=KEY) as srv:
        client = AsyncDeepgramClient(api_key=KEY, environment=environment(srv.url))
        events = Events()
        async with client.listen.v2.connect(
            model="flux-general-en", encoding="opus", sample_rate=48000
        ) as socket:
            events.attach(socket)
            listener = asyncio.create_task(socket.start_listening())
            await socket.send_media(b"OggS" + bytes(100))
            await asyncio.wait_for(listener, WAIT)
    assert events.names() == ["ListenV2Connected", "ListenV2FatalError"]
    fatal = events.messages[1]
    assert (fatal.code, fatal.sequence_id) == ("UNSUPPORTED_AUDIO_FORMAT", 1)
    assert events.closed.is_set()
