"""Deepgram's own Python SDK (``deepgram-sdk`` 7.x) against the local server's Speak V2 channel.

The SDK is pointed at the server through its environment override and used as its
documentation shows: ``client.speak.v2.connect(model=...)``, ``send_speak(SpeakV2Speak(...))``,
``send_flush()``, ``send_configure(SpeakV2Configure(speed=...))``, ``send_interrupt(...)``,
``send_close()``, ``start_listening()`` with ``on(EventType.MESSAGE, ...)``, ``recv()`` and
iteration. What arrives is the SDK's own pydantic models (``SpeakV2Connected``,
``SpeakV2SpeechMetadata``...) and ``bytes`` for audio: the server's frames must parse as the
SDK expects them, and none may be skipped as unknown. The SDK is a test-only peer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from test_sdk_interop_speak import Events, environment

from rxdeepgram.server import DeepgramServer
from rxdeepgram.server.engines.tone import ToneTtsEngine

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        from deepgram import AsyncDeepgramClient, DeepgramClient
        from deepgram.speak.v2.types import (
            SpeakV2Configure,
            SpeakV2Interrupt,
            SpeakV2InterruptPlaybackOffset,
            SpeakV2Speak,
        )
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(
            f"deepgram-sdk (>= 7, with speak.v2 socket types) is not importable: {exc}",
            allow_module_level=True,
        )

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

KEY = "dg-sdk-speak-v2-key-0042"
WAIT = 5.0
TONE = ToneTtsEngine()


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture(autouse=True)
def no_skipped_messages(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The SDK logs (and drops) a frame it cannot parse: none may be."""
    with caplog.at_level(logging.WARNING):
        yield
    skipped = [r for r in caplog.records if "Skipping unknown" in r.getMessage()]
    assert skipped == []


def test_sync_sdk_session(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, environment=environment(server.url))
    events = Events()
    with client.speak.v2.connect(model="flux-haley-en", encoding="linear16") as socket:
        events.attach(socket)
        listener = threading.Thread(target=socket.start_listening, daemon=True)
        listener.start()
        socket.send_configure(SpeakV2Configure(speed=1.1))
        socket.send_speak(SpeakV2Speak(text="Hello from the local server. "))
        socket.send_speak(SpeakV2Speak(text="This is Flux"))
        socket.send_flush()
        socket.send_flush()  # no active turn: a warning, the session goes on
        socket.send_close()
        assert events.closed.wait(WAIT), "the server did not close after Close"
        listener.join(WAIT)
        assert not listener.is_alive()
    assert events.errors == []
    names = events.names()
    assert names[:2] == ["SpeakV2Connected", "SpeakV2ConfigureSuccess"]
    # The second Flush finds no open turn: its Warning comes whenever the server reads it.
    assert names.count("SpeakV2Warning") == 1
    rest = [n for n in names[2:] if n != "SpeakV2Warning"]
    assert [n for i, n in enumerate(rest) if n != "audio" or rest[i - 1] != "audio"] == [
        "SpeakV2SpeechStarted",
        "audio",
        "SpeakV2Flushed",
        "audio",
        "SpeakV2SpeechMetadata",
        "SpeakV2SessionMetadata",
    ]
    by_name = {type(m).__name__: m for m in events.messages if not isinstance(m, bytes)}
    assert by_name["SpeakV2ConfigureSuccess"].applied.speed == 1.1
    assert by_name["SpeakV2Warning"].code == "NO_ACTIVE_SPEECH"
    meta = by_name["SpeakV2SpeechMetadata"]
    assert meta.speech_id == by_name["SpeakV2SpeechStarted"].speech_id
    assert meta.input_character_count == len("Hello from the local server. This is Flux")
    assert meta.controls_applied.breaks_applied == 0
    expected = len(TONE.synthesize("Hello from the local server. ", 24000, 1.1)) + len(
        TONE.synthesize("This is Flux", 24000, 1.1)
    )
    assert events.audio == expected
    assert by_name["SpeakV2SessionMetadata"].total_audio_duration_ms == meta.audio_duration_ms


def test_sync_sdk_interrupt_recv_and_iteration(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, environment=environment(server.url))
    with client.speak.v2.connect(model="flux-haley-en", sample_rate=16000) as socket:
        connected = socket.recv()
        socket.send_speak(SpeakV2Speak(text="One two three. Four five six. Seven"))
        started = socket.recv()
        audio = 0
        while audio < len(TONE.synthesize("One two three. ", 16000)):
            frame = socket.recv()
            assert isinstance(frame, bytes)
            audio += len(frame)
        offset = SpeakV2InterruptPlaybackOffset(type="time_ms", value=300)
        socket.send_interrupt(SpeakV2Interrupt(playback_offset=offset))
        socket.send_close()
        rest = [m for m in socket if not isinstance(m, bytes)]
    assert type(connected).__name__ == "SpeakV2Connected"
    assert connected.model_name == "flux-haley-en"
    assert type(started).__name__ == "SpeakV2SpeechStarted"
    interrupted, session = rest
    assert type(interrupted).__name__ == "SpeakV2SpeechInterrupted"
    assert interrupted.audio_played_ms == 300
    assert interrupted.text_spoken + interrupted.text_remaining == (
        "One two three. Four five six. Seven"
    )
    assert interrupted.metadata.speech_id == started.speech_id
    assert type(session).__name__ == "SpeakV2SessionMetadata"
    assert session.total_audio_duration_ms == 300


async def test_async_sdk_session() -> None:
    async with DeepgramServer(api_key=KEY) as srv:
        client = AsyncDeepgramClient(api_key=KEY, environment=environment(srv.url))
        events = Events()
        async with client.speak.v2.connect(model="flux-cole-en", encoding="mulaw") as socket:
            events.attach(socket)
            listener = asyncio.create_task(socket.start_listening())
            await socket.send_configure(SpeakV2Configure(speed=2.0))
            await socket.send_speak(SpeakV2Speak(text="Async hello"))
            await socket.send_flush()
            await socket.send_close()
            await asyncio.wait_for(listener, WAIT)
        assert events.closed.is_set()
    assert events.errors == []
    assert events.names() == [
        "SpeakV2Connected",
        "SpeakV2ConfigureFailure",
        "SpeakV2SpeechStarted",
        "SpeakV2Flushed",
        "audio",
        "SpeakV2SpeechMetadata",
        "SpeakV2SessionMetadata",
    ]
    failure: Any = events.messages[1]
    assert (failure.code, failure.field, failure.value) == ("SPEED_OUT_OF_RANGE", "speed", 2.0)
    assert events.audio == len(TONE.synthesize("Async hello", 8000)) // 2
