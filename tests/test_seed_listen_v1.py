"""The seed SDK's Listen V1 snippets, run against the local server with rxdeepgram.

The snippets of ``client.listen.v1.connect`` in the seed reference
(``shared/seed/websocket-reference.md``, "Usage" and "Async Usage") are embedded below with only
the changes a user would make to port them:

* ``from deepgram ... import X`` becomes ``from rxdeepgram import X`` /
  ``from rxdeepgram.compat import X``;
* the client gets ``base_url=srv.url`` (the local server);

and they run with ``audio_bytes``, ``threading`` and ``srv`` defined beforehand. Their handlers
``print``; the tests capture what they print and check that the session happened (opened,
messages, closed, no error). When the seed reference is beside the repository, a test checks
that the embedded text is exactly the seed's after those changes.

The async snippet sleeps 3 s (its own ``await asyncio.sleep(3)``), so each async test takes that.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from audio_util import concat, silence, tone, wav_pcm16
from seed_util import port, run_snippet, seed_snippet

from rxdeepgram.server import DeepgramServer, ScriptedEngine

pytestmark = pytest.mark.timeout(30)

SYNC_SNIPPET = """\
from rxdeepgram import DeepgramClient
from rxdeepgram.compat import EventType
from rxdeepgram.compat import ListenV1SocketClientResponse

client = DeepgramClient(
    api_key="YOUR_API_KEY",
    base_url=srv.url,
)

with client.listen.v1.connect(model="nova-3") as connection:
    def on_message(message: ListenV1SocketClientResponse) -> None:
        msg_type = getattr(message, "type", "Unknown")
        print(f"Received {msg_type} event")

    connection.on(EventType.OPEN, lambda _: print("Connection opened"))
    connection.on(EventType.MESSAGE, on_message)
    connection.on(EventType.CLOSE, lambda _: print("Connection closed"))
    connection.on(EventType.ERROR, lambda error: print(f"Caught: {error}"))

    # Start listening in a background thread
    threading.Thread(target=connection.start_listening, daemon=True).start()

    # Send audio data
    from rxdeepgram.compat import ListenV1MediaMessage
    connection.send_media(ListenV1MediaMessage(data=audio_bytes))

    # Send control messages
    from rxdeepgram.compat import ListenV1ControlMessage
    connection.send_control(ListenV1ControlMessage(type="KeepAlive"))

"""

ASYNC_SNIPPET = """\
import asyncio
from rxdeepgram import AsyncDeepgramClient
from rxdeepgram.compat import EventType
from rxdeepgram.compat import ListenV1SocketClientResponse

client = AsyncDeepgramClient(
    api_key="YOUR_API_KEY",
    base_url=srv.url,
)

async def main():
    async with client.listen.v1.connect(model="nova-3") as connection:
        def on_message(message: ListenV1SocketClientResponse) -> None:
            msg_type = getattr(message, "type", "Unknown")
            print(f"Received {msg_type} event")

        connection.on(EventType.OPEN, lambda _: print("Connection opened"))
        connection.on(EventType.MESSAGE, on_message)
        connection.on(EventType.CLOSE, lambda _: print("Connection closed"))
        connection.on(EventType.ERROR, lambda error: print(f"Caught: {error}"))

        # Start listening
        listen_task = asyncio.create_task(connection.start_listening())

        # Send audio data
        from rxdeepgram.compat import ListenV1MediaMessage
        await connection.send_media(ListenV1MediaMessage(data=audio_bytes))

        # Send control messages
        from rxdeepgram.compat import ListenV1ControlMessage
        await connection.send_control(ListenV1ControlMessage(type="KeepAlive"))

        # Wait and cleanup
        await asyncio.sleep(3)
        listen_task.cancel()

asyncio.run(main())

"""


# --- the tests -----------------------------------------------------------------------------

SPEECH_WAV = wav_pcm16(concat(tone(0.8), silence(0.6), tone(0.8), silence(0.6)))


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(["hello world", "how are you"])) as srv:
        yield srv


def check_session(lines: list[str]) -> None:
    assert "Connection opened" in lines
    assert lines.count("Connection closed") == 1
    assert not [line for line in lines if line.startswith("Caught")], lines
    received = [line for line in lines if line.startswith("Received ")]
    # The snippet never sends CloseStream: leaving the ``with`` block does (graceful close),
    # so both final results and the Metadata arrive before "Connection closed".
    assert received.count("Received Results event") == 2
    assert received[-1] == "Received Metadata event"
    assert lines.index("Connection closed") > lines.index("Received Metadata event")


def test_sync_snippet(server: DeepgramServer) -> None:
    check_session(run_snippet(SYNC_SNIPPET, server, SPEECH_WAV))


def test_async_snippet(server: DeepgramServer) -> None:
    check_session(run_snippet(ASYNC_SNIPPET, server, SPEECH_WAV))


@pytest.mark.shared
@pytest.mark.parametrize(
    ("heading", "embedded"), [("Usage", SYNC_SNIPPET), ("Async Usage", ASYNC_SNIPPET)]
)
def test_the_embedded_snippets_are_the_seed_s(heading: str, embedded: str) -> None:
    assert embedded == port(seed_snippet("Listen V1 Connect", heading))
