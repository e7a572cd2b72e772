"""Speak V2 (Flux TTS) end to end: rxdeepgram's clients against the local server over real
sockets, with the sync and the async client on both transports (``h``, see ``harness.py``), and
the cold ``synthesize`` operator. The ``tone`` engine's audio follows from the text alone."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from reactivex import operators as ops
from test_connection_speak_v1 import Watcher

from rxdeepgram import (
    AsyncDeepgramClient,
    ConnectionClosed,
    DeepgramClient,
    InvalidInputError,
    InvalidOptionError,
    ServerError,
)
from rxdeepgram.messages import speak_v1
from rxdeepgram.messages.speak_v2 import (
    Close,
    Configure,
    ConfigureFailure,
    ConfigureSuccess,
    Connected,
    Flush,
    Flushed,
    Interrupt,
    SessionMetadata,
    Speak,
    SpeechInterrupted,
    SpeechMetadata,
    SpeechStarted,
    Warning,
)
from rxdeepgram.server import DeepgramServer
from rxdeepgram.server.engines.tone import ToneTtsEngine
from rxdeepgram.server.speak_v1 import split_sentences

pytestmark = pytest.mark.timeout(30)

KEY = "dg-speak-v2-test-key-0011"
VOICE: dict[str, Any] = {"model": "flux-haley-en", "encoding": "linear16", "sample_rate": 24000}
TONE = ToneTtsEngine()


def expected(text: str, rate: int = 24000) -> bytes:
    sentences, tail = split_sentences(text)
    return b"".join(TONE.synthesize(part, rate) for part in [*sentences, tail] if part)


@pytest.fixture
def server() -> Any:
    with DeepgramServer(api_key=KEY) as srv:
        yield srv


def test_a_turn_then_the_graceful_close(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    rec = Watcher()
    with h.connect(client, "speak.v2", **VOICE) as conn:
        conn.messages.subscribe(rec)
        conn.input.on_next("Hello there. ")  # a plain str is sent as Speak
        conn.input.on_next(Speak(text="How are you"))
        conn.input.on_next(Flush())
        rec.wait_count(SpeechMetadata)
        assert not rec.done.is_set()  # a turn's end is not the connection's
    rec.wait()
    assert rec.completed and rec.error is None and conn.end is None
    # Every turn was flushed: the close is Close alone (no second Flush, so no Warning).
    assert rec.squeezed() == [
        "Connected",
        "SpeechStarted",
        "audio",
        "Flushed",
        "audio",
        "SpeechMetadata",
        "SessionMetadata",
    ]
    connected = rec.items[0]
    assert isinstance(connected, Connected)
    assert connected.request_id == conn.request_id
    assert connected.model_name == "flux-haley-en"
    started, meta = rec.items[1], rec.items[-2]
    assert isinstance(started, SpeechStarted) and isinstance(meta, SpeechMetadata)
    assert meta.speech_id == started.speech_id
    assert meta.input_character_count == len("Hello there. How are you")
    assert rec.audio == expected("Hello there. How are you")
    session = rec.items[-1]
    assert isinstance(session, SessionMetadata)
    assert session.total_audio_duration_ms == meta.audio_duration_ms


def test_completion_flushes_an_open_turn_first(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    conn = h.open(client, "speak.v2", **VOICE)
    rec = Watcher()
    conn.messages.subscribe(rec)
    conn.input.on_next("The last words")  # no sentence end and no Flush: nothing spoken yet
    conn.input.on_completed()  # Flush (a turn is open), then Close
    h.wait(conn)
    rec.wait()
    assert rec.completed and rec.error is None
    assert rec.squeezed() == [
        "Connected",
        "SpeechStarted",
        "Flushed",
        "audio",
        "SpeechMetadata",
        "SessionMetadata",
    ]
    assert rec.audio == expected("The last words")
    with pytest.raises(ConnectionClosed):
        conn.input.on_next("too late")


def test_interrupt_configure_and_warnings_decode(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    rec = Watcher()
    with h.connect(client, "speak.v2", **VOICE) as conn:
        conn.messages.subscribe(rec)
        conn.input.on_next(Interrupt())  # nothing generated yet
        rec.wait_count(Warning)
        conn.input.on_next(Configure(speed=0.3))
        conn.input.on_next(Configure(speed=0.9))
        rec.wait_count(ConfigureSuccess)
        conn.input.on_next("One two three. Four five six. Seven")
        rec.wait_for(lambda items: len(rec.audio) >= len(expected("One two three. ")) * 10 // 9)
        conn.input.on_next(Interrupt.at(300))  # "One " lasts 255 ms at speed 0.9
        rec.wait_count(SpeechInterrupted)
    rec.wait()
    assert rec.error is None
    warning = next(m for m in rec.items if isinstance(m, Warning))
    assert warning.code == "NO_AUDIO_GENERATED"
    failure = next(m for m in rec.items if isinstance(m, ConfigureFailure))
    assert (failure.code, failure.field, failure.value) == ("SPEED_OUT_OF_RANGE", "speed", 0.3)
    success = next(m for m in rec.items if isinstance(m, ConfigureSuccess))
    assert success.applied.speed == 0.9
    interrupted = next(m for m in rec.items if isinstance(m, SpeechInterrupted))
    assert interrupted.audio_played_ms == 300
    assert interrupted.text_spoken == "One "
    assert interrupted.text_remaining == "two three. Four five six. Seven"
    # The interrupted turn was the only one: the close sends no Flush (it is not open).
    assert rec.squeezed()[-2:] == ["SpeechInterrupted", "SessionMetadata"]
    assert isinstance(rec.items[-1], SessionMetadata)
    assert rec.items[-1].total_audio_duration_ms == 300


def test_wrong_input_is_refused_at_the_caller(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    with h.connect(client, "speak.v2", **VOICE) as conn:
        with pytest.raises(InvalidInputError, match="Speak V2"):
            conn.input.on_next(b"audio")
        with pytest.raises(InvalidInputError, match="speak_v1"):
            conn.input.on_next(speak_v1.Clear())
        with pytest.raises(InvalidOptionError, match="model"):
            h.open(client, "speak.v2", model="aura-2-thalia-en")


def test_a_server_error_errors_the_stream(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    rec = Watcher()
    conn = h.open(client, "speak.v2", **VOICE)
    conn.messages.subscribe(rec)
    conn.input.on_next("Wait {pause:500ms} for it")  # inline pauses are batch-only
    rec.wait()
    assert isinstance(rec.error, ServerError)
    assert rec.error.code == "DATA-0002"
    assert rec.types()[-1] == "Error"
    h.wait(conn)
    assert conn.end is rec.error


def test_the_user_may_send_close_itself(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    rec = Watcher()
    with h.connect(client, "speak.v2", **VOICE) as conn:
        conn.messages.subscribe(rec)
        conn.input.on_next("Closing words")
        conn.input.on_next(Close())  # no Flush: the server finishes the open turn anyway
        rec.wait()
    assert rec.completed
    assert rec.squeezed() == [
        "Connected",
        "SpeechStarted",
        "audio",
        "SpeechMetadata",
        "SessionMetadata",
    ]
    assert Flushed not in {type(m) for m in rec.items}


# --- the cold operator ---------------------------------------------------------------------------


def test_sync_synthesize_one_turn_per_flush(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, base_url=server.url)
    source = reactivex.from_iterable(["First reply.", Flush(), "Second ", "reply"])
    messages = source.pipe(client.speak.v2.synthesize(**VOICE), ops.to_list()).run()
    kinds = [type(m).__name__ for m in messages if not isinstance(m, bytes)]
    assert kinds == [
        "Connected",
        "SpeechStarted",
        "Flushed",
        "SpeechMetadata",
        "SpeechStarted",
        "Flushed",
        "SpeechMetadata",
        "SessionMetadata",
    ]
    audio = b"".join(m for m in messages if isinstance(m, bytes))
    assert audio == expected("First reply.") + expected("Second reply")


async def test_async_synthesize_is_awaitable(server: DeepgramServer) -> None:
    client = AsyncDeepgramClient(api_key=KEY, base_url=server.url)
    messages = await reactivex.of("Async words").pipe(
        client.speak.v2.synthesize(model="flux-cole-en"), ops.to_list()
    )
    assert isinstance(messages[0], Connected) and messages[0].model_name == "flux-cole-en"
    assert isinstance(messages[-1], SessionMetadata)
    assert b"".join(m for m in messages if isinstance(m, bytes)) == expected("Async words")


def test_synthesize_validates_options_when_built(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, base_url=server.url)
    with pytest.raises(InvalidOptionError, match="speed"):
        client.speak.v2.synthesize(model="flux-haley-en", speed=1.07)
