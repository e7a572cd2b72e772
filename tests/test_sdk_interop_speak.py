"""Deepgram's own Python SDK (``deepgram-sdk``) against the local server's Speak V1 channel.

As in ``test_sdk_interop.py``, the SDK is pointed at the server through its environment override
(``DeepgramClientEnvironment(production="ws://127.0.0.1:PORT", ...)``) and used as its
documentation shows: ``client.speak.v1.connect(...)``, ``send_text(SpeakV1Text(...))``,
``send_flush()`` / ``send_clear()`` / ``send_close()``, ``start_listening()`` with
``on(EventType.MESSAGE, ...)`` or iteration. What arrives is the SDK's own pydantic models
(``SpeakV1Metadata``, ``SpeakV1Flushed``...) and ``bytes`` for audio, so these tests check
that the server's frames parse as the SDK expects them. The SDK is a test-only peer.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from rxdeepgram.server import DeepgramServer
from rxdeepgram.server.engines.tone import ToneTtsEngine

with warnings.catch_warnings():
    # deepgram-sdk 7 imports websockets.legacy, deprecated since websockets 14.
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        from deepgram import AsyncDeepgramClient, DeepgramClient
        from deepgram.core.events import EventType
        from deepgram.environment import DeepgramClientEnvironment
        from deepgram.speak.v1.types import SpeakV1Text
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(
            f"deepgram-sdk (>= 6, with speak.v1 socket types) is not importable: {exc}",
            allow_module_level=True,
        )

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

KEY = "dg-sdk-speak-key-0042"
WAIT = 5.0
TEXT = "Hello from the local server. This is a test"
TONE = ToneTtsEngine()


def environment(url: str) -> Any:
    http = "http" + url.removeprefix("ws")
    return DeepgramClientEnvironment(base=http, production=url, agent=url, agent_rest=http)


def expected_audio(text: str, rate: int = 24000) -> int:
    """Bytes of linear16 audio the tone engine makes for ``text`` (sentence by sentence)."""
    first, rest = text.split(". ", 1)
    return len(TONE.synthesize(first + ". ", rate)) + len(TONE.synthesize(rest, rate))


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(api_key=KEY) as srv:
        yield srv


class Events:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.errors: list[Any] = []
        self.closed = threading.Event()

    def attach(self, socket: Any) -> None:
        socket.on(EventType.MESSAGE, self.messages.append)
        socket.on(EventType.ERROR, self.errors.append)
        socket.on(EventType.CLOSE, lambda _: self.closed.set())

    def names(self) -> list[str]:
        out: list[str] = []
        for m in self.messages:
            name = "audio" if isinstance(m, bytes) else type(m).__name__
            if not (name == "audio" and out and out[-1] == "audio"):
                out.append(name)
        return out

    @property
    def audio(self) -> int:
        return sum(len(m) for m in self.messages if isinstance(m, bytes))


def check_turn(events: Events, request_id: str | None = None) -> None:
    assert events.errors == []
    assert events.names() == ["SpeakV1Metadata", "audio", "SpeakV1Flushed"]
    meta = events.messages[0]
    assert meta.model_name == "aura-2-thalia-en"
    if request_id is not None:
        assert meta.request_id == request_id
    assert events.messages[-1].sequence_id == 0
    assert events.audio == expected_audio(TEXT)


def test_sync_sdk_gets_audio_and_flushed(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, environment=environment(server.url))
    events = Events()
    with client.speak.v1.connect(
        model="aura-2-thalia-en", encoding="linear16", sample_rate=24000
    ) as socket:
        events.attach(socket)
        listener = threading.Thread(target=socket.start_listening, daemon=True)
        listener.start()
        socket.send_text(SpeakV1Text(type="Speak", text=TEXT))
        socket.send_flush()
        socket.send_close()
        assert events.closed.wait(WAIT), "the server did not close after Close"
        listener.join(WAIT)
        assert not listener.is_alive()
    check_turn(events)


def test_sync_sdk_clear_and_recv(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, environment=environment(server.url))
    with client.speak.v1.connect(model="aura-2-thalia-en", encoding="mulaw") as socket:
        meta = socket.recv()
        socket.send_text(SpeakV1Text(type="Speak", text="never spoken"))
        socket.send_clear()
        cleared = socket.recv()
        socket.send_text(SpeakV1Text(type="Speak", text="Spoken"))
        socket.send_flush()
        socket.send_close()
        rest = list(socket)
    assert type(meta).__name__ == "SpeakV1Metadata"
    # The SDK's union shares one ``type`` enum between Flushed and Cleared; whatever class it
    # picks, the frame says Cleared.
    assert cleared.type == "Cleared" and cleared.sequence_id == 0
    audio = [m for m in rest if isinstance(m, bytes)]
    assert sum(map(len, audio)) == len(TONE.synthesize("Spoken", 8000)) // 2  # mu-law, 8 kHz
    assert type(rest[-1]).__name__ == "SpeakV1Flushed"
    assert rest[-1].type == "Flushed"


async def test_async_sdk_gets_audio_and_flushed() -> None:
    async with DeepgramServer(api_key=KEY) as srv:
        client = AsyncDeepgramClient(api_key=KEY, environment=environment(srv.url))
        events = Events()
        async with client.speak.v1.connect(
            model="aura-2-thalia-en", encoding="linear16", sample_rate=24000
        ) as socket:
            events.attach(socket)
            listener = asyncio.create_task(socket.start_listening())
            await socket.send_text(SpeakV1Text(type="Speak", text=TEXT))
            await socket.send_flush()
            await socket.send_close()
            await asyncio.wait_for(listener, WAIT)
        assert events.closed.is_set()
    check_turn(events)
