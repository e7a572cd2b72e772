"""Deepgram's own Python SDK (``deepgram-sdk``) as an agent client of rxdeepgram's local server.

The SDK is pointed at the server through its environment override (as in
``test_sdk_interop.py``) and used as its documentation shows: ``client.agent.v1.connect()``,
``send_settings(AgentV1Settings)``, ``send_media``, ``send_function_call_response``, ``recv()`` /
``start_listening()``. A conversation turn runs end to end, including a client-side function
call answered by the SDK. What the SDK receives is parsed into its own pydantic models, so this
checks that the server's frames are what Deepgram's client expects. The SDK is a test-only
peer: the library never imports it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import warnings
from array import array
from collections.abc import Iterator
from typing import Any

import pytest
from audio_util import chunks, concat, pcm16, silence, tone

from rxdeepgram.server import DeepgramServer, ScriptedEngine
from rxdeepgram.server.agent_v1 import AgentV1Handler

with warnings.catch_warnings():
    # deepgram-sdk 7 imports websockets.legacy and InvalidStatusCode, both deprecated since
    # websockets 14: not our warnings to show.
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        from deepgram import AsyncDeepgramClient, DeepgramClient
        from deepgram.agent.v1.types import AgentV1SendFunctionCallResponse, AgentV1Settings
        from deepgram.core.api_error import ApiError
        from deepgram.core.events import EventType
        from deepgram.environment import DeepgramClientEnvironment
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(
            f"deepgram-sdk (>= 7, agent v1) is not importable: {exc}", allow_module_level=True
        )
    from websockets.exceptions import InvalidStatus

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

KEY = "dg-sdk-agent-interop-key-7"
WAIT = 5.0
SETTINGS: dict[str, Any] = {
    "type": "Settings",
    "audio": {
        "input": {"encoding": "linear16", "sample_rate": 16000},
        "output": {"encoding": "linear16", "sample_rate": 16000},
    },
    "agent": {
        "listen": {"provider": {"type": "deepgram", "version": "v1", "model": "nova-3"}},
        "think": {
            "provider": {"type": "open_ai", "model": "gpt-4o-mini"},
            "prompt": "You are a weather bot.",
            "functions": [
                {
                    "name": "get_weather",
                    "description": "Current weather for a place.",
                    "parameters": {
                        "type": "object",
                        "properties": {"location": {"type": "string"}},
                        "required": ["location"],
                    },
                }
            ],
        },
        "speak": {"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}},
    },
}
SPEECH = pcm16(concat(silence(0.1), tone(0.6), silence(0.7)))
FORECAST = json.dumps({"temperature": 18, "condition": "cloudy"})
ANSWER = "Weather: temperature 18, condition cloudy."
# The SDK parses the two History shapes into models of their own.
TURN = [
    "AgentV1UserStartedSpeaking",
    "AgentV1ConversationText",
    "ConversationHistoryMessage",
    "AgentV1AgentThinking",
    "AgentV1FunctionCallRequest",
    "FunctionCallHistoryMessage",
    "AgentV1ConversationText",
    "ConversationHistoryMessage",
    "AgentV1AgentStartedSpeaking",
    "audio",
    "AgentV1AgentAudioDone",
    "AgentV1LatencyReport",
]


class CharTts:
    """5 ms of a square wave per character."""

    name = "chars"
    blocking = False

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        n = len(text) * round(sample_rate * 0.005)
        return array("h", [2000 if (i // 8) % 2 else -2000 for i in range(n)]).tobytes()


def environment(url: str) -> Any:
    """The SDK's environment with every host (REST, streaming, agent) at the local server."""
    http = "http" + url.removeprefix("ws")
    return DeepgramClientEnvironment(base=http, production=url, agent=url, agent_rest=http)


def make_server() -> DeepgramServer:
    return DeepgramServer(
        engine=ScriptedEngine(["what is the weather in Berlin"]),
        tts=CharTts(),
        api_key=KEY,
        routes={"/v1/agent/converse": AgentV1Handler(realtime=False)},
    )


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with make_server() as srv:
        yield srv


def settings() -> Any:
    return AgentV1Settings.model_validate(SETTINGS)


def names(messages: list[Any]) -> list[str]:
    """SDK model class names, a run of audio frames as one ``"audio"``."""
    out: list[str] = []
    for m in messages:
        name = "audio" if isinstance(m, bytes) else type(m).__name__
        if not (name == "audio" and out and out[-1] == "audio"):
            out.append(name)
    return out


def check_turn(messages: list[Any]) -> None:
    """The SDK saw the whole turn, parsed into its own models."""
    turn = messages[messages.index(next(m for m in messages if type(m).__name__ == TURN[0])) :]
    assert names(turn) == TURN
    texts = [m for m in turn if type(m).__name__ == "AgentV1ConversationText"]
    assert [(m.role, m.content) for m in texts] == [
        ("user", "what is the weather in Berlin"),
        ("assistant", ANSWER),
    ]
    (request,) = [m for m in turn if type(m).__name__ == "AgentV1FunctionCallRequest"]
    (call,) = request.functions
    assert (call.name, call.client_side) == ("get_weather", True)
    assert json.loads(call.arguments) == {"location": "Berlin"}
    calls = [m for m in turn if getattr(m, "function_calls", None)]
    assert calls[0].function_calls[0].response == FORECAST
    audio = b"".join(m for m in turn if isinstance(m, bytes))
    assert len(audio) == 2 * len(ANSWER) * 80
    started = next(m for m in turn if type(m).__name__ == "AgentV1AgentStartedSpeaking")
    assert started.total_latency >= started.tts_latency >= 0


def answer(call: Any) -> Any:
    return AgentV1SendFunctionCallResponse(id=call.id, name=call.name, content=FORECAST)


# -- sync ------------------------------------------------------------------------------------------


def test_sync_sdk_agent_turn_with_a_client_side_function_call(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, environment=environment(server.url))
    messages: list[Any] = []
    with client.agent.v1.connect() as socket:
        welcome = socket.recv()
        assert type(welcome).__name__ == "AgentV1Welcome" and welcome.request_id
        socket.send_settings(settings())
        assert type(socket.recv()).__name__ == "AgentV1SettingsApplied"
        for chunk in chunks(SPEECH, 3200):
            socket.send_media(chunk)
        while True:
            message = socket.recv()
            messages.append(message)
            if type(message).__name__ == "AgentV1FunctionCallRequest":
                socket.send_function_call_response(answer(message.functions[0]))
            if type(message).__name__ == "AgentV1LatencyReport":
                break
    check_turn(messages)


def test_sync_sdk_event_handlers_see_the_turn(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key=KEY, environment=environment(server.url))
    messages: list[Any] = []
    errors: list[Any] = []
    done = threading.Event()
    with client.agent.v1.connect() as socket:

        def on_message(message: Any) -> None:
            messages.append(message)
            name = type(message).__name__
            if name == "AgentV1FunctionCallRequest":
                socket.send_function_call_response(answer(message.functions[0]))
            elif name == "AgentV1LatencyReport":
                done.set()

        socket.on(EventType.MESSAGE, on_message)
        socket.on(EventType.ERROR, errors.append)
        listener = threading.Thread(target=socket.start_listening, daemon=True)
        listener.start()
        socket.send_settings(settings())
        for chunk in chunks(SPEECH, 3200):
            socket.send_media(chunk)
        socket.send_keep_alive()
        assert done.wait(WAIT), f"no LatencyReport; saw {names(messages)}"
    listener.join(WAIT)
    assert errors == []
    assert names(messages)[:2] == ["AgentV1Welcome", "AgentV1SettingsApplied"]
    check_turn(messages)


def test_sync_sdk_sees_the_agents_401(server: DeepgramServer) -> None:
    client = DeepgramClient(api_key="not-the-key", environment=environment(server.url))
    with pytest.raises((ApiError, InvalidStatus)) as info, client.agent.v1.connect():
        pytest.fail("the upgrade was accepted with a wrong key")
    err = info.value
    status = err.status_code if isinstance(err, ApiError) else err.response.status_code
    assert status == 401


# -- async -----------------------------------------------------------------------------------------


async def test_async_sdk_agent_turn_with_a_client_side_function_call() -> None:
    async with make_server() as srv:
        client = AsyncDeepgramClient(api_key=KEY, environment=environment(srv.url))
        messages: list[Any] = []
        async with client.agent.v1.connect() as socket:
            assert type(await socket.recv()).__name__ == "AgentV1Welcome"
            await socket.send_settings(settings())
            assert type(await socket.recv()).__name__ == "AgentV1SettingsApplied"
            for chunk in chunks(SPEECH, 3200):
                await socket.send_media(chunk)
            async with asyncio.timeout(WAIT):
                while True:
                    message = await socket.recv()
                    messages.append(message)
                    if type(message).__name__ == "AgentV1FunctionCallRequest":
                        await socket.send_function_call_response(answer(message.functions[0]))
                    if type(message).__name__ == "AgentV1LatencyReport":
                        break
    check_turn(messages)
