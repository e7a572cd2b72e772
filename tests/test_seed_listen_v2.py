"""The seed SDK's Listen V2 (Flux) snippets, run against the local server with rxdeepgram.

As in ``test_seed_listen_v1.py``: the "Usage" and "Async Usage" snippets of
``client.listen.v2.connect`` from ``shared/seed/websocket-reference.md`` are embedded with only
their imports changed to ``rxdeepgram`` / ``rxdeepgram.compat`` and ``base_url=srv.url`` added to
the client; they run with ``audio_bytes`` (raw 16 kHz linear16, as the snippets' options say),
``threading`` and ``srv`` defined, and what their handlers print is checked.

The snippets send ``CloseStream`` themselves; Flux then closes without a status code (1005),
which rxdeepgram treats as a clean end: "Connection closed" and no "Caught".
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from audio_util import concat, pcm16, silence, tone
from seed_util import port, run_snippet, seed_snippet

from rxdeepgram.server import DeepgramServer, ScriptedEngine

pytestmark = pytest.mark.timeout(30)

SYNC_SNIPPET = """\
from rxdeepgram import DeepgramClient
from rxdeepgram.compat import EventType
from rxdeepgram.compat import ListenV2SocketClientResponse

client = DeepgramClient(
    api_key="YOUR_API_KEY",
    base_url=srv.url,
)

with client.listen.v2.connect(
    model="flux-general-en",
    encoding="linear16",
    sample_rate="16000"
) as connection:
    def on_message(message: ListenV2SocketClientResponse) -> None:
        msg_type = getattr(message, "type", "Unknown")
        print(f"Received {msg_type} event")

    connection.on(EventType.OPEN, lambda _: print("Connection opened"))
    connection.on(EventType.MESSAGE, on_message)
    connection.on(EventType.CLOSE, lambda _: print("Connection closed"))
    connection.on(EventType.ERROR, lambda error: print(f"Caught: {error}"))

    # Start listening in a background thread
    threading.Thread(target=connection.start_listening, daemon=True).start()

    # Send audio data
    from rxdeepgram.compat import ListenV2MediaMessage
    connection.send_media(ListenV2MediaMessage(data=audio_bytes))

    # Send control messages
    from rxdeepgram.compat import ListenV2ControlMessage
    connection.send_control(ListenV2ControlMessage(type="CloseStream"))

"""

ASYNC_SNIPPET = """\
import asyncio
from rxdeepgram import AsyncDeepgramClient
from rxdeepgram.compat import EventType
from rxdeepgram.compat import ListenV2SocketClientResponse

client = AsyncDeepgramClient(
    api_key="YOUR_API_KEY",
    base_url=srv.url,
)

async def main():
    async with client.listen.v2.connect(
        model="flux-general-en",
        encoding="linear16",
        sample_rate="16000"
    ) as connection:
        def on_message(message: ListenV2SocketClientResponse) -> None:
            msg_type = getattr(message, "type", "Unknown")
            print(f"Received {msg_type} event")

        connection.on(EventType.OPEN, lambda _: print("Connection opened"))
        connection.on(EventType.MESSAGE, on_message)
        connection.on(EventType.CLOSE, lambda _: print("Connection closed"))
        connection.on(EventType.ERROR, lambda error: print(f"Caught: {error}"))

        # Start listening
        listen_task = asyncio.create_task(connection.start_listening())

        # Send audio data
        from rxdeepgram.compat import ListenV2MediaMessage
        await connection.send_media(ListenV2MediaMessage(data=audio_bytes))

        # Send control messages
        from rxdeepgram.compat import ListenV2ControlMessage
        await connection.send_control(ListenV2ControlMessage(type="CloseStream"))

        # Wait and cleanup
        await asyncio.sleep(3)
        listen_task.cancel()

asyncio.run(main())

"""

# One full turn (speech, then 4 s of silence: EndOfTurn at 3.5 s with Flux's defaults), then
# speech still going on when CloseStream arrives (a trailing Update).
AUDIO = pcm16(concat(tone(0.8), silence(4.0), tone(0.6)))


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(["Hello there.", "How are you?"])) as srv:
        yield srv


def check_session(lines: list[str]) -> None:
    assert "Connection opened" in lines
    assert lines.count("Connection closed") == 1
    assert not [line for line in lines if line.startswith("Caught")], lines
    received = [line for line in lines if line.startswith("Received ")]
    assert received[0] == "Received Connected event"
    # StartOfTurn, Updates, EndOfTurn, StartOfTurn, the trailing Update...
    assert received.count("Received TurnInfo event") >= 5
    assert set(received) == {"Received Connected event", "Received TurnInfo event"}
    assert lines.index("Connection closed") > max(
        i for i, line in enumerate(lines) if line.startswith("Received ")
    )


def test_sync_snippet(server: DeepgramServer) -> None:
    check_session(run_snippet(SYNC_SNIPPET, server, AUDIO))


def test_async_snippet(server: DeepgramServer) -> None:
    check_session(run_snippet(ASYNC_SNIPPET, server, AUDIO))


@pytest.mark.shared
@pytest.mark.parametrize(
    ("heading", "embedded"), [("Usage", SYNC_SNIPPET), ("Async Usage", ASYNC_SNIPPET)]
)
def test_the_embedded_snippets_are_the_seed_s(heading: str, embedded: str) -> None:
    assert embedded == port(seed_snippet("Listen V2 Connect", heading))
