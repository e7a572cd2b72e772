"""The seed-style API on Speak V2, as code written for deepgram-sdk 7's ``speak.v2`` socket runs:
``on(EventType...)``, ``start_listening()`` and the SDK's ``send_speak`` / ``send_flush`` /
``send_configure`` / ``send_interrupt`` / ``send_close``, with the SDK 7 type names from
:mod:`rxdeepgram.compat`. The seed SDK had no Speak V2, so the snippets follow SDK 7's socket
client; porting changes only the imports and the client's ``base_url``. They run against the
local server with only ``srv`` defined and ``print`` captured.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from seed_util import run_snippet

from rxdeepgram.server import DeepgramServer

pytestmark = pytest.mark.timeout(30)

SYNC_SNIPPET = """\
import threading
from rxdeepgram import DeepgramClient
from rxdeepgram.compat import EventType, SpeakV2SocketClientResponse
from rxdeepgram.compat import SpeakV2Configure, SpeakV2Speak

client = DeepgramClient(api_key="YOUR_API_KEY", base_url=srv.url)

with client.speak.v2.connect(model="flux-haley-en", encoding="linear16") as connection:
    closed = threading.Event()

    def on_message(message: SpeakV2SocketClientResponse) -> None:
        if isinstance(message, bytes):
            print("Received audio event")
        else:
            print(f"Received {message.type} event")

    connection.on(EventType.OPEN, lambda _: print("Connection opened"))
    connection.on(EventType.MESSAGE, on_message)
    connection.on(EventType.CLOSE, lambda _: (print("Connection closed"), closed.set()))
    connection.on(EventType.ERROR, lambda error: print(f"Caught: {error}"))

    threading.Thread(target=connection.start_listening, daemon=True).start()

    connection.send_configure(SpeakV2Configure(speed=1.2))
    connection.send_speak(SpeakV2Speak(text="Hello, world!"))
    connection.send_flush()
    connection.send_close()
    closed.wait(10)
"""

ASYNC_SNIPPET = """\
import asyncio
from rxdeepgram import AsyncDeepgramClient
from rxdeepgram.compat import EventType, SpeakV2Interrupt, SpeakV2InterruptPlaybackOffset
from rxdeepgram.compat import SpeakV2Speak

client = AsyncDeepgramClient(api_key="YOUR_API_KEY", base_url=srv.url)

async def main():
    async with client.speak.v2.connect(model="flux-haley-en") as connection:
        started = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_message(message) -> None:
            if isinstance(message, bytes):
                print("Received audio event")
                loop.call_soon_threadsafe(started.set)
            else:
                print(f"Received {message.type} event")

        connection.on(EventType.OPEN, lambda _: print("Connection opened"))
        connection.on(EventType.MESSAGE, on_message)
        connection.on(EventType.CLOSE, lambda _: print("Connection closed"))
        connection.on(EventType.ERROR, lambda error: print(f"Caught: {error}"))

        listen_task = asyncio.create_task(connection.start_listening())

        await connection.send_speak(SpeakV2Speak(text="A long reply. That goes on"))
        await started.wait()  # audio is playing: the user barges in
        offset = SpeakV2InterruptPlaybackOffset(type="time_ms", value=100)
        await connection.send_interrupt(SpeakV2Interrupt(playback_offset=offset))
        await connection.send_close()
        await listen_task

asyncio.run(main())
"""


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer() as srv:
        yield srv


def received(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        kind = line.removeprefix("Received ").removesuffix(" event")
        if line.startswith("Received ") and not (kind == "audio" and out and out[-1] == kind):
            out.append(kind)
    return out


def test_sync_snippet(server: DeepgramServer) -> None:
    lines = run_snippet(SYNC_SNIPPET, server)
    assert not [line for line in lines if line.startswith("Caught")], lines
    assert "Connection opened" in lines
    assert received(lines) == [
        "Connected",
        "ConfigureSuccess",
        "SpeechStarted",
        "Flushed",
        "audio",
        "SpeechMetadata",
        "SessionMetadata",
    ]
    assert lines[-1] == "Connection closed"


def test_async_snippet(server: DeepgramServer) -> None:
    lines = run_snippet(ASYNC_SNIPPET, server)
    assert not [line for line in lines if line.startswith("Caught")], lines
    assert "Connection opened" in lines
    assert received(lines) == [
        "Connected",
        "SpeechStarted",
        "audio",
        "SpeechInterrupted",
        "SessionMetadata",
    ]
    assert lines[-1] == "Connection closed"
