"""rxdeepgram.audio with a real connection: a WAV file streamed at real time into
``conn.input`` of the local server, from sync code (a thread of its own) and from asyncio
code (the loop), the second through ``resample`` to mu-law at 8 kHz."""

from __future__ import annotations

import asyncio
import math
import struct
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from rxdeepgram import AsyncDeepgramClient, DeepgramClient
from rxdeepgram.audio import AudioFormat, from_wav, resample
from rxdeepgram.messages import listen_v1
from rxdeepgram.server import DeepgramServer, ScriptedEngine


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(["hello world"])) as srv:
        yield srv


@pytest.fixture
def speech(tmp_path: Path) -> Path:
    """0.4 s of tone (speech for the scripted engine), then 0.2 s of silence."""
    rate = 16000
    samples = [round(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(rate * 4 // 10)]
    samples += [0] * (rate // 5)
    path = tmp_path / "speech.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return path


def transcripts(messages: list[object]) -> list[str]:
    return [
        m.channel.alternatives[0].transcript
        for m in messages
        if isinstance(m, listen_v1.Results) and m.channel.alternatives[0].transcript
    ]


def test_sync_from_wav_into_a_connection(server: DeepgramServer, speech: Path) -> None:
    client = DeepgramClient(api_key="test", base_url=server.url)
    source = from_wav(speech)
    assert source.format.options() == {"encoding": "linear16", "sample_rate": 16000}
    messages: list[object] = []
    start = time.monotonic()
    with client.listen.v1.connect(model="nova-3", **source.format.options()) as conn:
        conn.messages.subscribe(messages.append)
        source.subscribe(conn.input)  # returns at once; completion sends CloseStream
        conn.messages.run()
    assert time.monotonic() - start >= 0.55  # streamed at real time (0.6 s)
    assert transcripts(messages) == ["hello world"]
    metadata = messages[-1]
    assert isinstance(metadata, listen_v1.Metadata)
    assert metadata.duration == pytest.approx(0.6)


async def test_async_from_wav_resampled_to_mulaw(server: DeepgramServer, speech: Path) -> None:
    client = AsyncDeepgramClient(api_key="test", base_url=server.url)
    source = from_wav(speech)
    telephone = AudioFormat("mulaw", 8000)
    messages: list[object] = []
    async with client.listen.v1.connect(model="nova-3", **telephone.options()) as conn:
        conn.messages.subscribe(messages.append)
        source.pipe(resample(source.format, telephone)).subscribe(conn.input)
        await asyncio.wait_for(conn.messages, 10)
    assert transcripts(messages) == ["hello world"]
    metadata = messages[-1]
    assert isinstance(metadata, listen_v1.Metadata)
    assert metadata.duration == pytest.approx(0.6)
