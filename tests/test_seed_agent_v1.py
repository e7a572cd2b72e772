"""The seed SDK reference's two Agent V1 snippets (sync and async), run against the local server.

The snippets of ``client.agent.v1.connect`` in the seed reference (``websocket-reference.md``,
"Usage" and "Async Usage") are embedded below, changed only as porting requires
(``seed_util.port``: the imports and a ``base_url`` next to the ``api_key``); they run with
``threading`` and the ``audio_bytes`` they send defined. The server records what it received.
With ``pytest --shared``, a test checks that the embedded text is exactly the seed's after those
changes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from audio_util import concat, pcm16, silence, tone
from harness import Frames
from seed_util import port, run_snippet, seed_snippet

from rxdeepgram.server import DeepgramServer, ScriptedEngine
from rxdeepgram.server.agent_v1 import AgentV1Handler

SYNC_SNIPPET = """\
from rxdeepgram import DeepgramClient
from rxdeepgram.compat import EventType
from rxdeepgram.compat import (
    AgentV1Agent,
    AgentV1AudioConfig,
    AgentV1AudioInput,
    AgentV1DeepgramSpeakProvider,
    AgentV1Listen,
    AgentV1ListenProvider,
    AgentV1OpenAiThinkProvider,
    AgentV1SettingsMessage,
    AgentV1SocketClientResponse,
    AgentV1SpeakProviderConfig,
    AgentV1Think,
)

client = DeepgramClient(
    api_key="YOUR_API_KEY",
    base_url=srv.url,
)

with client.agent.v1.connect() as agent:
    # Configure the agent
    settings = AgentV1SettingsMessage(
        audio=AgentV1AudioConfig(
            input=AgentV1AudioInput(
                encoding="linear16",
                sample_rate=44100,
            )
        ),
        agent=AgentV1Agent(
            listen=AgentV1Listen(
                provider=AgentV1ListenProvider(
                    type="deepgram",
                    model="nova-3",
                    smart_format=True,
                )
            ),
            think=AgentV1Think(
                provider=AgentV1OpenAiThinkProvider(
                    type="open_ai",
                    model="gpt-4o-mini",
                    temperature=0.7,
                ),
                prompt='Reply only and explicitly with "OK".',
            ),
            speak=AgentV1SpeakProviderConfig(
                provider=AgentV1DeepgramSpeakProvider(
                    type="deepgram",
                    model="aura-2-asteria-en",
                )
            ),
        ),
    )

    agent.send_settings(settings)

    def on_message(message: AgentV1SocketClientResponse) -> None:
        if isinstance(message, bytes):
            print("Received audio event")
        else:
            msg_type = getattr(message, "type", "Unknown")
            print(f"Received {msg_type} event")

    agent.on(EventType.OPEN, lambda _: print("Connection opened"))
    agent.on(EventType.MESSAGE, on_message)
    agent.on(EventType.CLOSE, lambda _: print("Connection closed"))
    agent.on(EventType.ERROR, lambda error: print(f"Caught: {error}"))

    # Start listening in a background thread
    threading.Thread(target=agent.start_listening, daemon=True).start()

    # Send audio data
    from rxdeepgram.compat import AgentV1MediaMessage
    agent.send_media(AgentV1MediaMessage(data=audio_bytes))

    # Send control messages
    from rxdeepgram.compat import AgentV1ControlMessage
    agent.send_control(AgentV1ControlMessage(type="KeepAlive"))

"""

ASYNC_SNIPPET = """\
import asyncio
from rxdeepgram import AsyncDeepgramClient
from rxdeepgram.compat import EventType
from rxdeepgram.compat import (
    AgentV1Agent,
    AgentV1AudioConfig,
    AgentV1AudioInput,
    AgentV1DeepgramSpeakProvider,
    AgentV1Listen,
    AgentV1ListenProvider,
    AgentV1OpenAiThinkProvider,
    AgentV1SettingsMessage,
    AgentV1SocketClientResponse,
    AgentV1SpeakProviderConfig,
    AgentV1Think,
)

client = AsyncDeepgramClient(
    api_key="YOUR_API_KEY",
    base_url=srv.url,
)

async def main():
    async with client.agent.v1.connect() as agent:
        # Configure the agent
        settings = AgentV1SettingsMessage(
            audio=AgentV1AudioConfig(
                input=AgentV1AudioInput(
                    encoding="linear16",
                    sample_rate=16000,
                )
            ),
            agent=AgentV1Agent(
                listen=AgentV1Listen(
                    provider=AgentV1ListenProvider(
                        type="deepgram",
                        model="nova-3",
                        smart_format=True,
                    )
                ),
                think=AgentV1Think(
                    provider=AgentV1OpenAiThinkProvider(
                        type="open_ai",
                        model="gpt-4o-mini",
                        temperature=0.7,
                    )
                ),
                speak=AgentV1SpeakProviderConfig(
                    provider=AgentV1DeepgramSpeakProvider(
                        type="deepgram",
                        model="aura-2-asteria-en",
                    )
                ),
            ),
        )

        await agent.send_settings(settings)

        def on_message(message: AgentV1SocketClientResponse) -> None:
            if isinstance(message, bytes):
                print("Received audio event")
            else:
                msg_type = getattr(message, "type", "Unknown")
                print(f"Received {msg_type} event")

        agent.on(EventType.OPEN, lambda _: print("Connection opened"))
        agent.on(EventType.MESSAGE, on_message)
        agent.on(EventType.CLOSE, lambda _: print("Connection closed"))
        agent.on(EventType.ERROR, lambda error: print(f"Caught: {error}"))

        # Start listening
        listen_task = asyncio.create_task(agent.start_listening())

        # Send audio data
        from rxdeepgram.compat import AgentV1MediaMessage
        await agent.send_media(AgentV1MediaMessage(data=audio_bytes))

        # Send control messages
        from rxdeepgram.compat import AgentV1ControlMessage
        await agent.send_control(AgentV1ControlMessage(type="KeepAlive"))

        # Wait and cleanup
        await asyncio.sleep(3)
        listen_task.cancel()

asyncio.run(main())

"""


AUDIO = pcm16(concat(silence(0.1), tone(0.5), silence(0.7)))


def run(snippet: str, received: Frames) -> list[str]:
    """Run a (ported) seed agent snippet against a recording server; return what it printed."""
    handler = AgentV1Handler(realtime=False, on_client_frame=received.record)
    with DeepgramServer(
        engine=ScriptedEngine(["are you there"]),
        think=lambda request: "OK",
        routes={"/v1/agent/converse": handler},
    ) as srv:
        return run_snippet(snippet, srv, AUDIO)


def sent_settings(received: Frames) -> dict[str, Any]:
    first = received.all[0]
    assert isinstance(first, str)
    return dict(json.loads(first))


def expected_settings(sample_rate: int, prompt: str | None) -> dict[str, Any]:
    think: dict[str, Any] = {
        "provider": {"type": "open_ai", "model": "gpt-4o-mini", "temperature": 0.7}
    }
    if prompt is not None:
        think["prompt"] = prompt
    return {
        "type": "Settings",
        "audio": {"input": {"encoding": "linear16", "sample_rate": sample_rate}},
        "agent": {
            "listen": {
                "provider": {
                    "version": "v1",
                    "type": "deepgram",
                    "model": "nova-3",
                    "smart_format": True,
                }
            },
            "think": think,
            "speak": {"provider": {"type": "deepgram", "model": "aura-2-asteria-en"}},
        },
    }


def test_the_sync_agent_snippet() -> None:
    received = Frames()
    out = run(SYNC_SNIPPET, received)
    assert sent_settings(received) == expected_settings(
        44100, 'Reply only and explicitly with "OK".'
    )
    assert received.all[1:] == [AUDIO, '{"type":"KeepAlive"}']
    # The with block closes the socket right after KeepAlive: the CLOSE handler has run, and
    # nothing went wrong.
    assert "Connection closed" in out
    assert not [line for line in out if line.startswith("Caught:")], out


def test_the_async_agent_snippet() -> None:
    received = Frames()
    out = run(ASYNC_SNIPPET, received)
    assert sent_settings(received) == expected_settings(16000, None)
    assert received.all[1:] == [AUDIO, '{"type":"KeepAlive"}']
    # The snippet listens for 3 s: the whole turn arrives through its handlers.
    assert "Connection opened" in out
    for kind in ("SettingsApplied", "UserStartedSpeaking", "ConversationText", "AgentAudioDone"):
        assert f"Received {kind} event" in out
    assert "Received audio event" in out
    assert not [line for line in out if line.startswith("Caught:")]


@pytest.mark.shared
@pytest.mark.parametrize(
    ("heading", "embedded"), [("Usage", SYNC_SNIPPET), ("Async Usage", ASYNC_SNIPPET)]
)
def test_the_embedded_snippets_are_the_seed_s(heading: str, embedded: str) -> None:
    assert embedded == port(seed_snippet("Agent V1 Connect", heading))
