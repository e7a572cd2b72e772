"""The seed SDK reference's two Agent V1 snippets (sync and async), run against the local server.

The snippets are read from ``shared/seed/websocket-reference.md`` and changed only as porting
requires (``seed_util.port``: the imports and a ``base_url`` next to the ``api_key``); they run
with ``threading`` and the ``audio_bytes`` they send defined. The server records what it received.
"""

from __future__ import annotations

import json
from typing import Any

from audio_util import concat, pcm16, silence, tone
from harness import Frames
from seed_util import needs_seed, port, run_snippet, seed_snippet

from rxdeepgram.server import DeepgramServer, ScriptedEngine
from rxdeepgram.server.agent_v1 import AgentV1Handler

pytestmark = needs_seed


AUDIO = pcm16(concat(silence(0.1), tone(0.5), silence(0.7)))


def run(heading: str, received: Frames) -> list[str]:
    """Run the seed's agent snippet under ``heading`` (ported) against a recording server;
    return what it printed."""
    handler = AgentV1Handler(realtime=False, on_client_frame=received.record)
    with DeepgramServer(
        engine=ScriptedEngine(["are you there"]),
        think=lambda request: "OK",
        routes={"/v1/agent/converse": handler},
    ) as srv:
        return run_snippet(port(seed_snippet("Agent V1 Connect", heading)), srv, AUDIO)


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
    out = run("Usage", received)
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
    out = run("Async Usage", received)
    assert sent_settings(received) == expected_settings(16000, None)
    assert received.all[1:] == [AUDIO, '{"type":"KeepAlive"}']
    # The snippet listens for 3 s: the whole turn arrives through its handlers.
    assert "Connection opened" in out
    for kind in ("SettingsApplied", "UserStartedSpeaking", "ConversationText", "AgentAudioDone"):
        assert f"Received {kind} event" in out
    assert "Received audio event" in out
    assert not [line for line in out if line.startswith("Caught:")]
