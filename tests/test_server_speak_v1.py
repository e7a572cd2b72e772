"""The local server's /v1/speak channel against a real ``websockets`` client on loopback.

The default ``tone`` engine makes audio whose bytes follow from the text alone, so every test
knows exactly how much audio it must receive (``expected(text)``). A gated engine (synthesis
waits until the test opens the gate) makes the timing-dependent cases (Clear while
synthesising, idle while synthesising) deterministic.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from rxdeepgram.server import DeepgramServer
from rxdeepgram.server._audio import alaw_decode, mulaw_decode, pcm16_from_bytes
from rxdeepgram.server._pcm import encode_pcm16
from rxdeepgram.server.engines.tone import ToneTtsEngine
from rxdeepgram.server.speak_v1 import FLUSH_LIMIT_CODE, SpeakV1Handler, split_sentences

pytestmark = pytest.mark.timeout(30)

TONE = ToneTtsEngine()
WAIT = 5.0


def expected(text: str, rate: int = 24000, encoding: str = "linear16", speed: float = 1.0) -> bytes:
    """The audio the server sends for ``text`` (synthesised sentence by sentence)."""
    sentences, tail = split_sentences(text)
    pcm = b"".join(TONE.synthesize(part, rate, speed) for part in [*sentences, tail] if part)
    return encode_pcm16(pcm, encoding)


def speak(text: str) -> str:
    return json.dumps({"type": "Speak", "text": text})


FLUSH = json.dumps({"type": "Flush"})
CLEAR = json.dumps({"type": "Clear"})
CLOSE = json.dumps({"type": "Close"})


@dataclass
class Seen:
    """Frames one client received: audio and JSON, in order."""

    frames: list[bytes | dict[str, Any]] = field(default_factory=list)

    @property
    def audio(self) -> bytes:
        return b"".join(f for f in self.frames if isinstance(f, bytes))

    @property
    def chunks(self) -> list[bytes]:
        return [f for f in self.frames if isinstance(f, bytes)]

    @property
    def types(self) -> list[str]:
        return ["audio" if isinstance(f, bytes) else str(f["type"]) for f in self.frames]

    def squeezed(self) -> list[str]:
        """Types with runs of audio frames folded into one ``audio``."""
        out: list[str] = []
        for kind in self.types:
            if not (kind == "audio" and out and out[-1] == "audio"):
                out.append(kind)
        return out


async def receive(ws: ClientConnection, seen: Seen) -> bytes | dict[str, Any]:
    frame = await asyncio.wait_for(ws.recv(), WAIT)
    item: bytes | dict[str, Any] = frame if isinstance(frame, bytes) else json.loads(frame)
    seen.frames.append(item)
    return item


async def until(ws: ClientConnection, kind: str) -> Seen:
    """Frames up to and including the first JSON message of type ``kind``."""
    seen = Seen()
    while True:
        item = await receive(ws, seen)
        if isinstance(item, dict) and item["type"] == kind:
            return seen


async def until_closed(ws: ClientConnection) -> Seen:
    """Frames until the server closes; the close code is ``ws.close_code``."""
    seen = Seen()
    with pytest.raises(ConnectionClosed):
        while True:
            await receive(ws, seen)
    return seen


@asynccontextmanager
async def opened(
    url: str, query: str = "model=aura-2-thalia-en"
) -> AsyncIterator[ClientConnection]:
    """A socket on /v1/speak whose Metadata was read and checked to come first."""
    async with connect(f"{url}/v1/speak?{query}", open_timeout=WAIT) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert first["type"] == "Metadata"
        yield ws


@pytest.fixture
async def server() -> AsyncIterator[DeepgramServer]:
    async with DeepgramServer() as srv:
        yield srv


class GatedEngine:
    """Tone audio, but every synthesis waits until ``gate`` is set (5 s at most)."""

    name = "gated"
    blocking = True

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.calls: list[str] = []

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        self.calls.append(text)
        self.started.set()
        self.gate.wait(WAIT)
        return TONE.synthesize(text, sample_rate)


class FailingEngine:
    name = "failing"
    blocking = False

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        raise RuntimeError("the engine broke")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- Metadata and the handshake --------------------------------------------------------------


async def test_metadata_comes_first_with_the_request_id(server: DeepgramServer) -> None:
    async with connect(f"{server.url}/v1/speak?model=aura-2-thalia-en") as ws:
        assert ws.response is not None
        request_id = ws.response.headers["dg-request-id"]
        meta = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    assert meta["type"] == "Metadata"
    assert meta["request_id"] == request_id
    assert meta["model_name"] == "aura-2-thalia-en"
    assert meta["model_version"]
    assert uuid.UUID(meta["model_uuid"])
    assert "additional_model_uuids" not in meta


async def test_model_uuid_is_stable_per_model(server: DeepgramServer) -> None:
    metas = []
    for query in ("model=aura-2-thalia-en", "model=aura-2-thalia-en", "model=aura-2-zeus-en", ""):
        async with connect(f"{server.url}/v1/speak?{query}") as ws:
            metas.append(json.loads(await asyncio.wait_for(ws.recv(), WAIT)))
    uuids = [m["model_uuid"] for m in metas]
    assert uuids[0] == uuids[1]
    assert len({uuids[0], uuids[2], uuids[3]}) == 3
    assert metas[3]["model_name"] == "aura-asteria-en"  # Deepgram's default voice
    assert metas[0]["request_id"] != metas[1]["request_id"]


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("encoding=mp3", "encoding"),
        ("sample_rate=44100", "sample_rate"),
        ("speed=0", "speed"),
        ("model=nova-3", "model"),
        ("container=wav", "container"),
    ],
)
async def test_bad_options_are_refused_with_400(
    server: DeepgramServer, query: str, option: str
) -> None:
    with pytest.raises(InvalidStatus) as caught:
        async with connect(f"{server.url}/v1/speak?{query}"):
            pass  # pragma: no cover - the handshake fails
    response = caught.value.response
    assert response.status_code == 400
    assert option in response.headers["dg-error"]
    assert response.headers["dg-request-id"]


# --- Speak, Flush, audio ----------------------------------------------------------------------


async def test_speak_and_flush_give_audio_then_flushed(server: DeepgramServer) -> None:
    text = "Hello there, how are you"
    async with opened(server.url) as ws:
        await ws.send(speak(text))
        await ws.send(FLUSH)
        seen = await until(ws, "Flushed")
    assert seen.squeezed() == ["audio", "Flushed"]
    assert seen.frames[-1] == {"type": "Flushed", "sequence_id": 0}
    assert seen.audio == expected(text)
    # 100 ms frames: 4800 bytes of linear16 at 24 kHz, the last one possibly shorter.
    sizes = [len(c) for c in seen.chunks]
    assert all(size == 4800 for size in sizes[:-1])
    assert 0 < sizes[-1] <= 4800


async def test_each_flush_is_acknowledged_in_sequence(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak("First turn"))
        await ws.send(FLUSH)
        first = await until(ws, "Flushed")
        await ws.send(speak("Second"))
        await ws.send(FLUSH)
        second = await until(ws, "Flushed")
        await ws.send(FLUSH)  # nothing buffered: acknowledged without audio
        third = await until(ws, "Flushed")
    assert first.audio == expected("First turn")
    assert second.audio == expected("Second")
    assert second.frames[-1] == {"type": "Flushed", "sequence_id": 1}
    assert third.frames == [{"type": "Flushed", "sequence_id": 2}]


async def test_complete_sentences_are_spoken_before_the_flush(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak("Hello there. How are"))
        early = Seen()
        while len(early.audio) < len(expected("Hello there. ")):
            item = await receive(ws, early)
            assert isinstance(item, bytes), "only audio may come before the Flush"
        assert early.audio == expected("Hello there. ")
        await ws.send(speak(" you?"))
        await ws.send(FLUSH)
        rest = await until(ws, "Flushed")
    assert rest.squeezed() == ["audio", "Flushed"]
    assert rest.audio == TONE.synthesize("How are you?", 24000)


async def test_speed_changes_the_duration(server: DeepgramServer) -> None:
    async with opened(server.url, "speed=2") as ws:
        await ws.send(speak("Twice as fast"))
        await ws.send(FLUSH)
        seen = await until(ws, "Flushed")
    assert seen.audio == expected("Twice as fast", speed=2.0)
    assert len(seen.audio) == pytest.approx(len(expected("Twice as fast")) / 2, abs=8)


@pytest.mark.parametrize(
    ("query", "encoding", "rate", "frame_bytes"),
    [
        ("encoding=linear16", "linear16", 24000, 4800),
        ("encoding=mulaw", "mulaw", 8000, 800),
        ("encoding=alaw", "alaw", 8000, 800),
        ("encoding=mulaw&sample_rate=16000", "mulaw", 16000, 1600),
        ("encoding=alaw&sample_rate=24000", "alaw", 24000, 2400),
        ("encoding=linear16&sample_rate=8000", "linear16", 8000, 1600),
        ("encoding=linear16&sample_rate=48000", "linear16", 48000, 9600),
        ("sample_rate=32000", "linear16", 32000, 6400),
    ],
)
async def test_encodings_and_sample_rates(
    server: DeepgramServer, query: str, encoding: str, rate: int, frame_bytes: int
) -> None:
    text = "Testing one two three"
    async with opened(server.url, query) as ws:
        await ws.send(speak(text))
        await ws.send(FLUSH)
        seen = await until(ws, "Flushed")
    width = 2 if encoding == "linear16" else 1
    seconds = TONE.duration(text)
    # bytes per second = width x rate
    assert len(seen.audio) == pytest.approx(seconds * rate * width, abs=width * len(text))
    assert seen.audio == expected(text, rate, encoding)
    assert [len(c) for c in seen.chunks[:-1]] == [frame_bytes] * (len(seen.chunks) - 1)
    if encoding != "linear16":
        decode = mulaw_decode if encoding == "mulaw" else alaw_decode
        decoded = pcm16_from_bytes(decode(seen.audio))
        original = pcm16_from_bytes(TONE.synthesize(text, rate))
        assert len(decoded) == len(original)
        worst = max(abs(a - b) for a, b in zip(decoded, original, strict=True))
        assert worst <= 256, "G.711 keeps every sample within its quantisation step"


# --- Clear ---------------------------------------------------------------------------------------


async def test_clear_drops_buffered_text(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak("This will never be heard"))
        await ws.send(CLEAR)
        cleared = await until(ws, "Cleared")
        await ws.send(FLUSH)
        flushed = await until(ws, "Flushed")
        await ws.send(speak("Again"))
        await ws.send(CLEAR)
        second = await until(ws, "Cleared")
    assert cleared.frames == [{"type": "Cleared", "sequence_id": 0}]
    assert flushed.frames == [{"type": "Flushed", "sequence_id": 0}]
    assert second.frames == [{"type": "Cleared", "sequence_id": 1}]


async def test_clear_drops_audio_not_yet_sent() -> None:
    engine = GatedEngine()
    async with DeepgramServer(tts=engine) as srv, opened(srv.url) as ws:
        await ws.send(speak("First sentence. Second sentence. Third"))
        await ws.send(FLUSH)
        assert await asyncio.to_thread(engine.started.wait, WAIT)  # synthesising sentence 1
        await ws.send(CLEAR)
        cleared = await until(ws, "Cleared")
        engine.gate.set()  # the cleared synthesis finishes now; its audio must not be sent
        await ws.send(speak("Next."))
        await ws.send(FLUSH)
        after = await until(ws, "Flushed")
    # The Flush whose audio was cleared is still acknowledged, before Cleared.
    assert cleared.frames == [
        {"type": "Flushed", "sequence_id": 0},
        {"type": "Cleared", "sequence_id": 0},
    ]
    assert after.squeezed() == ["audio", "Flushed"]
    assert after.audio == TONE.synthesize("Next.", 24000)
    assert after.frames[-1] == {"type": "Flushed", "sequence_id": 1}
    assert engine.calls == ["First sentence. ", "Next."]  # sentences 2 and 3 were dropped


# --- Close ---------------------------------------------------------------------------------------


async def test_close_drains_then_closes_1000(server: DeepgramServer) -> None:
    text = "Goodbye. See you soon"
    async with opened(server.url) as ws:
        await ws.send(speak(text))
        await ws.send(CLOSE)
        await ws.send(speak("ignored after Close"))
        seen = await until_closed(ws)
        assert ws.close_code == 1000
    assert set(seen.types) == {"audio"}
    assert seen.audio == expected(text)


async def test_flush_then_close_ends_with_flushed_then_1000(server: DeepgramServer) -> None:
    async with opened(server.url, "encoding=mulaw") as ws:
        await ws.send(speak("The end"))
        await ws.send(FLUSH)
        await ws.send(CLOSE)
        seen = await until_closed(ws)
        assert ws.close_code == 1000
    assert seen.squeezed() == ["audio", "Flushed"]
    assert seen.audio == expected("The end", 8000, "mulaw")


# --- limits and errors ---------------------------------------------------------------------------


async def closed_after(url: str, *frames: str | bytes, query: str = "") -> tuple[int, str]:
    async with opened(url, query) as ws:
        for frame in frames:
            await ws.send(frame)
        await until_closed(ws)
        assert ws.close_code is not None
        return ws.close_code, ws.close_reason


def spaced(count: int) -> str:
    """``count`` characters that make little audio (whitespace runs are one short gap)."""
    return "a" + " " * (count - 2) + "b"


async def test_2000_characters_are_accepted(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak(spaced(2000)))
        await ws.send(FLUSH)
        seen = await until(ws, "Flushed")
    assert seen.audio == expected(spaced(2000))


async def test_2001_characters_close_1009_big_0001(server: DeepgramServer) -> None:
    code, reason = await closed_after(server.url, speak(spaced(2001)))
    assert code == 1009
    assert reason.startswith("BIG-0001")


async def test_a_huge_frame_closes_1009_big_0000(server: DeepgramServer) -> None:
    code, reason = await closed_after(server.url, "x" * 70_000)
    assert code == 1009
    assert reason.startswith("BIG-0000")


async def test_too_many_characters_per_minute_close_1008_data_0001(
    server: DeepgramServer,
) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak(spaced(2000)))
        await ws.send(speak(spaced(400)))  # exactly 2,400: still fine
        await ws.send(FLUSH)
        await until(ws, "Flushed")
        await ws.send(speak("x"))  # the 2,401st
        await until_closed(ws)
        assert ws.close_code == 1008
        assert ws.close_reason.startswith("DATA-0001")


async def test_the_character_window_slides() -> None:
    clock = FakeClock()
    handler = SpeakV1Handler(clock=clock)
    async with DeepgramServer(routes={"/v1/speak": handler}) as srv, opened(srv.url) as ws:
        await ws.send(speak(spaced(2000)))
        await ws.send(FLUSH)
        await until(ws, "Flushed")
        clock.now += 60.0  # the first Speak has left the window
        await ws.send(speak(spaced(2000)))
        await ws.send(FLUSH)
        seen = await until(ws, "Flushed")
    assert seen.frames[-1] == {"type": "Flushed", "sequence_id": 1}


async def test_the_21st_flush_in_a_minute_gets_a_warning_and_is_ignored() -> None:
    clock = FakeClock()
    handler = SpeakV1Handler(clock=clock)
    async with DeepgramServer(routes={"/v1/speak": handler}) as srv, opened(srv.url) as ws:
        for _ in range(20):
            await ws.send(FLUSH)
        acks = [(await until(ws, "Flushed")).frames[-1]["sequence_id"] for _ in range(20)]
        assert acks == list(range(20))
        await ws.send(speak("Kept for later"))
        await ws.send(FLUSH)  # the 21st
        warned = await until(ws, "Warning")
        assert warned.squeezed() == ["Warning"]  # no audio: the Flush was ignored
        warning = warned.frames[-1]
        assert isinstance(warning, dict)
        assert warning["code"] == FLUSH_LIMIT_CODE
        assert warning["description"]
        clock.now += 59.0
        await ws.send(FLUSH)  # still within the window
        assert (await until(ws, "Warning")).squeezed() == ["Warning"]
        clock.now += 1.5  # the window has passed
        await ws.send(FLUSH)
        later = await until(ws, "Flushed")
    assert later.squeezed() == ["audio", "Flushed"]
    assert later.audio == expected("Kept for later")
    assert later.frames[-1] == {"type": "Flushed", "sequence_id": 20}


async def test_a_binary_frame_closes_1003_message_0000(server: DeepgramServer) -> None:
    code, reason = await closed_after(server.url, b"\x00\x01" * 160)
    assert (code, reason.split()[0]) == (1003, "MESSAGE-0000")


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"type": "Shout", "text": "hi"}',
        '{"type": "Speak"}',
        '{"type": "Speak", "text": "hi", "voice": "x"}',
        '{"type": "Speak", "text": 42}',
        '["Speak"]',
    ],
)
async def test_invalid_messages_close_1008_data_0000(server: DeepgramServer, frame: str) -> None:
    code, reason = await closed_after(server.url, frame)
    assert (code, reason.split()[0]) == (1008, "DATA-0000")


async def test_an_idle_client_is_closed_1011_net_0001() -> None:
    async with DeepgramServer(idle_timeout=0.3) as srv, opened(srv.url) as ws:
        seen = await until_closed(ws)
        assert (ws.close_code, ws.close_reason.split()[0]) == (1011, "NET-0001")
    assert seen.frames == []


async def test_synthesis_in_progress_is_not_idleness() -> None:
    engine = GatedEngine()
    async with DeepgramServer(tts=engine, idle_timeout=0.2) as srv, opened(srv.url) as ws:
        await ws.send(speak("Slow to say"))
        await ws.send(FLUSH)
        # Three idle timeouts pass while the engine is busy: the socket stays open.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.6)
        engine.gate.set()
        seen = await until(ws, "Flushed")
        assert seen.audio == TONE.synthesize("Slow to say", 24000)
        await until_closed(ws)  # now idle for real
        assert ws.close_code == 1011


async def test_an_engine_failure_closes_1011_net_0000() -> None:
    async with DeepgramServer(tts=FailingEngine()) as srv:
        code, reason = await closed_after(srv.url, speak("boom"), FLUSH)
    assert (code, reason.split()[0]) == (1011, "NET-0000")


def test_split_sentences() -> None:
    assert split_sentences("Hi. How are") == (["Hi. "], "How are")
    assert split_sentences('He said "stop." Then\nleft') == (['He said "stop." ', "Then\n"], "left")
    assert split_sentences("3.5 apples") == ([], "3.5 apples")
    assert split_sentences("Done!") == ([], "Done!")
