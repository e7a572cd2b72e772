"""The seed SDK reference's two Agent V1 snippets (sync and async), run against the local server.

The snippets are read from ``shared/seed/websocket-reference.md`` and changed only as porting
requires: the imports (``deepgram...`` -> ``rxdeepgram`` / ``rxdeepgram.compat``), a
``base_url`` next to the ``api_key``, ``import threading`` (the sync snippet uses it without
importing it) and the ``audio_bytes`` they send. The server records what it received.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import pytest
from audio_util import concat, pcm16, silence, tone
from conftest import SHARED

from rxdeepgram.server import DeepgramServer, ScriptedEngine
from rxdeepgram.server.agent_v1 import AgentV1Handler

REFERENCE = SHARED / "seed" / "websocket-reference.md"

pytestmark = pytest.mark.skipif(
    not REFERENCE.is_file(), reason="shared/seed/websocket-reference.md is not beside the repo"
)


def agent_snippets() -> list[str]:
    """The sync and async usage examples of the reference's "Agent V1 Connect" section."""
    text = REFERENCE.read_text()
    section = text[text.index("## Agent V1 Connect") :]
    section = section[: section.index("## Common WebSocket Methods")]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 2, "expected a sync and an async snippet"
    return blocks


def port(code: str) -> str:
    """The porting edits, and nothing else."""
    code = code.replace(
        "from deepgram.extensions.types.sockets import", "from rxdeepgram.compat import"
    )
    code = code.replace("from deepgram.core.events import", "from rxdeepgram.compat import")
    code = code.replace("from deepgram import", "from rxdeepgram import")
    assert code.count('api_key="YOUR_API_KEY",') == 1
    code = code.replace(
        'api_key="YOUR_API_KEY",', 'api_key="YOUR_API_KEY",\n    base_url=BASE_URL,'
    )
    assert not re.search(r"\bfrom deepgram\b|\bimport deepgram\b", code)
    return "import threading\n" + code


class Received:
    """Frames the server received (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames: list[str | bytes] = []

    def __call__(self, request_id: str, frame: str | bytes) -> None:
        with self.lock:
            self.frames.append(frame)


AUDIO = pcm16(concat(silence(0.1), tone(0.5), silence(0.7)))


def run_snippet(code: str, received: Received, **server: Any) -> None:
    handler = AgentV1Handler(realtime=False, on_client_frame=received)
    with DeepgramServer(
        engine=ScriptedEngine(["are you there"]),
        think=lambda request: "OK",
        routes={"/v1/agent/converse": handler},
        **server,
    ) as srv:
        namespace: dict[str, Any] = {"BASE_URL": srv.url, "audio_bytes": AUDIO}
        exec(compile(port(code), "<seed agent snippet>", "exec"), namespace)


def sent_settings(received: Received) -> dict[str, Any]:
    first = received.frames[0]
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


def test_the_sync_agent_snippet(capsys: pytest.CaptureFixture[str]) -> None:
    received = Received()
    run_snippet(agent_snippets()[0], received)
    out = capsys.readouterr().out
    assert sent_settings(received) == expected_settings(
        44100, 'Reply only and explicitly with "OK".'
    )
    assert received.frames[1:] == [AUDIO, '{"type":"KeepAlive"}']
    # The with block closes the socket right after KeepAlive: the CLOSE handler has run, and
    # nothing went wrong.
    assert "Connection closed" in out
    assert "Caught:" not in out


def test_the_async_agent_snippet(capsys: pytest.CaptureFixture[str]) -> None:
    received = Received()
    run_snippet(agent_snippets()[1], received)
    out = capsys.readouterr().out.splitlines()
    assert sent_settings(received) == expected_settings(16000, None)
    assert received.frames[1:] == [AUDIO, '{"type":"KeepAlive"}']
    # The snippet listens for 3 s: the whole turn arrives through its handlers.
    assert "Connection opened" in out
    for kind in ("SettingsApplied", "UserStartedSpeaking", "ConversationText", "AgentAudioDone"):
        assert f"Received {kind} event" in out
    assert "Received audio event" in out
    assert not [line for line in out if line.startswith("Caught:")]
