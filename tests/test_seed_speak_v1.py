"""The seed SDK's Speak V1 snippets, run against the local server with rxdeepgram.

The "Usage" and "Async Usage" snippets of ``client.speak.v1.connect`` in the seed reference
(``shared/seed/websocket-reference.md``) are embedded below with only the changes a user makes
to port them: ``from deepgram ... import X`` becomes ``from rxdeepgram import X`` /
``from rxdeepgram.compat import X``, the client gets ``base_url=srv.url``, and the sync snippet
gets the ``import threading`` it uses but lacks. They run with only ``srv`` defined (and
``print`` captured); the tests check that the handlers saw ``Metadata``, audio and ``Flushed``
before the connection closed, with no error. When the seed reference is beside the repository,
a test checks that the embedded text is exactly the seed's after those changes.

The async snippet sleeps 3 s (its own ``await asyncio.sleep(3)``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from seed_util import port, run_snippet, seed_snippet

from rxdeepgram.server import DeepgramServer

pytestmark = pytest.mark.timeout(30)

SYNC_SNIPPET = """\
import threading
from rxdeepgram import DeepgramClient
from rxdeepgram.compat import EventType
from rxdeepgram.compat import SpeakV1SocketClientResponse

client = DeepgramClient(
    api_key="YOUR_API_KEY",
    base_url=srv.url,
)

with client.speak.v1.connect(
    model="aura-2-asteria-en",
    encoding="linear16",
    sample_rate=24000
) as connection:
    def on_message(message: SpeakV1SocketClientResponse) -> None:
        if isinstance(message, bytes):
            print("Received audio event")
        else:
            msg_type = getattr(message, "type", "Unknown")
            print(f"Received {msg_type} event")

    connection.on(EventType.OPEN, lambda _: print("Connection opened"))
    connection.on(EventType.MESSAGE, on_message)
    connection.on(EventType.CLOSE, lambda _: print("Connection closed"))
    connection.on(EventType.ERROR, lambda error: print(f"Caught: {error}"))

    # Start listening in a background thread
    threading.Thread(target=connection.start_listening, daemon=True).start()

    # Send text to be converted to speech
    from rxdeepgram.compat import SpeakV1TextMessage
    connection.send_text(SpeakV1TextMessage(text="Hello, world!"))

    # Send control messages
    from rxdeepgram.compat import SpeakV1ControlMessage
    connection.send_control(SpeakV1ControlMessage(type="Flush"))
    connection.send_control(SpeakV1ControlMessage(type="Close"))

"""

ASYNC_SNIPPET = """\
import asyncio
from rxdeepgram import AsyncDeepgramClient
from rxdeepgram.compat import EventType
from rxdeepgram.compat import SpeakV1SocketClientResponse

client = AsyncDeepgramClient(
    api_key="YOUR_API_KEY",
    base_url=srv.url,
)

async def main():
    async with client.speak.v1.connect(
        model="aura-2-asteria-en",
        encoding="linear16",
        sample_rate=24000
    ) as connection:
        def on_message(message: SpeakV1SocketClientResponse) -> None:
            if isinstance(message, bytes):
                print("Received audio event")
            else:
                msg_type = getattr(message, "type", "Unknown")
                print(f"Received {msg_type} event")

        connection.on(EventType.OPEN, lambda _: print("Connection opened"))
        connection.on(EventType.MESSAGE, on_message)
        connection.on(EventType.CLOSE, lambda _: print("Connection closed"))
        connection.on(EventType.ERROR, lambda error: print(f"Caught: {error}"))

        # Start listening
        listen_task = asyncio.create_task(connection.start_listening())

        # Send text to be converted to speech
        from rxdeepgram.compat import SpeakV1TextMessage
        await connection.send_text(SpeakV1TextMessage(text="Hello, world!"))

        # Send control messages
        from rxdeepgram.compat import SpeakV1ControlMessage
        await connection.send_control(SpeakV1ControlMessage(type="Flush"))
        await connection.send_control(SpeakV1ControlMessage(type="Close"))

        # Wait and cleanup
        await asyncio.sleep(3)
        listen_task.cancel()

asyncio.run(main())

"""


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer() as srv:
        yield srv


def check_session(lines: list[str]) -> None:
    assert not [line for line in lines if line.startswith("Caught")], lines
    assert lines.count("Connection closed") == 1
    received = [line for line in lines if line.startswith("Received ")]
    assert received[0] == "Received Metadata event"
    assert received.count("Received audio event") >= 2  # "Hello, world!" is 0.8 s: 8 frames
    # Flush -> the audio, then Flushed; Close -> drain and close 1000.
    assert received[-1] == "Received Flushed event"
    assert set(received) == {
        "Received Metadata event",
        "Received audio event",
        "Received Flushed event",
    }
    assert lines.index("Connection closed") > lines.index("Received Flushed event")


def test_sync_snippet(server: DeepgramServer) -> None:
    lines = run_snippet(SYNC_SNIPPET, server)
    check_session(lines)


def test_async_snippet(server: DeepgramServer) -> None:
    lines = run_snippet(ASYNC_SNIPPET, server)
    check_session(lines)
    assert "Connection opened" in lines


@pytest.mark.shared
@pytest.mark.parametrize(
    ("heading", "embedded", "added"),
    [("Usage", SYNC_SNIPPET, "import threading\n"), ("Async Usage", ASYNC_SNIPPET, "")],
)
def test_the_embedded_snippets_are_the_seed_s(heading: str, embedded: str, added: str) -> None:
    assert embedded == added + port(seed_snippet("Speak V1 Connect", heading))
