"""The local server's /v1/agent/converse channel against a raw ``websockets`` client.

The scripted engine supplies what the user "says" (tone bursts stand in for speech), a tiny
text-to-speech engine makes audio whose length follows the text, and agent audio is sent as fast
as it is made (``realtime=False``) except where pacing is the point (barge-in), so every message
sequence is exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from array import array
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from audio_util import chunks, concat, pcm16, silence, tone
from conftest import EXAMPLES
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from rxdeepgram.server import DeepgramServer, ScriptedEngine
from rxdeepgram.server.__main__ import build_parser
from rxdeepgram.server.agent_v1 import MAX_PROMPT_CHARS, AgentV1Handler
from rxdeepgram.server.think import (
    Call,
    CallResult,
    FunctionSpec,
    Message,
    ThinkReply,
    ThinkRequest,
    echo,
    extract_arguments,
    get_think,
    rules,
    run_think,
    simulate_server_function,
    think_names,
)

PATH = "/v1/agent/converse"
WAIT = 5.0


class CharTts:
    """Deterministic speech: ``seconds_per_char`` of a square wave per character."""

    name = "chars"
    blocking = False

    def __init__(self, seconds_per_char: float = 0.005) -> None:
        self.seconds_per_char = seconds_per_char

    def samples(self, text: str, rate: int) -> int:
        return len(text) * round(rate * self.seconds_per_char)

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        n = self.samples(text, sample_rate)
        return array("h", [3000 if (i // 8) % 2 else -3000 for i in range(n)]).tobytes()


TTS = CharTts()
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a place.",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
}
HOURS = {
    "name": "get_store_hours",
    "description": "Opening hours of the store on a day.",
    "parameters": {
        "type": "object",
        "properties": {"day": {"type": "string", "enum": ["monday", "saturday"]}},
    },
    "endpoint": {"url": "https://api.example.com/hours", "method": "post"},
}
SUNNY = json.dumps({"temperature": 21, "condition": "sunny"})


def settings(
    *,
    functions: list[dict[str, Any]] | None = None,
    greeting: str | None = None,
    output: dict[str, Any] | None = None,
    listen: dict[str, Any] | None = None,
    prompt: str | None = "You are a test agent.",
    **extra: Any,
) -> dict[str, Any]:
    think: dict[str, Any] = {"provider": {"type": "open_ai", "model": "gpt-4o-mini"}}
    if prompt is not None:
        think["prompt"] = prompt
    if functions:
        think["functions"] = functions
    agent: dict[str, Any] = {
        "listen": {"provider": listen or {"type": "deepgram", "version": "v1", "model": "nova-3"}},
        "think": think,
        "speak": {"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}},
    }
    if greeting:
        agent["greeting"] = greeting
    return {
        "type": "Settings",
        "audio": {
            "input": {"encoding": "linear16", "sample_rate": 16000},
            "output": output or {"encoding": "linear16", "sample_rate": 16000},
        },
        "agent": agent,
        **extra,
    }


def answer(call: dict[str, Any], content: str) -> dict[str, Any]:
    """The client's FunctionCallResponse to a FunctionCallRequest item."""
    return {
        "type": "FunctionCallResponse",
        "id": call["id"],
        "name": call["name"],
        "content": content,
    }


def speech(seconds: float = 0.6) -> bytes:
    """One utterance: a tone burst followed by enough silence to end the turn."""
    return pcm16(concat(silence(0.1), tone(seconds), silence(0.7)))


def label(message: dict[str, Any]) -> str:
    kind = str(message["type"])
    if kind in ("ConversationText", "History") and "role" in message:
        return f"{kind}({message['role']})"
    if kind == "History":
        return "History(function_calls)"
    return kind


REPLY = [
    "ConversationText(assistant)",
    "History(assistant)",
    "AgentStartedSpeaking",
    "audio",
    "AgentAudioDone",
    "LatencyReport",
]
USER = ["ConversationText(user)", "History(user)"]


class Peer:
    """A raw client: sends JSON and audio, reads until a message type, keeps everything."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.labels: list[str] = []
        self.audio: list[bytes] = []  # one entry per agent reply

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def send_audio(self, data: bytes, size: int = 3200) -> None:
        for chunk in chunks(data, size):
            await self.ws.send(chunk)

    async def until(self, kind: str, timeout: float = WAIT) -> list[str]:
        """Read until a message of type ``kind``; returns the labels read (audio frames of one
        reply collapse to one ``"audio"``)."""
        seen: list[str] = []
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.ws.recv()
                if isinstance(frame, bytes):
                    if not seen or seen[-1] != "audio":
                        seen.append("audio")
                        self.audio.append(b"")
                    self.audio[-1] += frame
                    continue
                message = json.loads(frame)
                self.messages.append(message)
                seen.append(label(message))
                if message["type"] == kind:
                    self.labels.extend(seen)
                    return seen

    def last(self, kind: str) -> dict[str, Any]:
        return next(m for m in reversed(self.messages) if m["type"] == kind)

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    async def ended(self) -> tuple[list[str], int | None, str]:
        """Read to the end: labels, close code and reason."""
        seen: list[str] = []
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(WAIT):
                async for frame in self.ws:
                    if isinstance(frame, str):
                        message = json.loads(frame)
                        self.messages.append(message)
                        seen.append(label(message))
        return seen, self.ws.close_code, self.ws.close_reason or ""


@contextlib.asynccontextmanager
async def agent(
    script: list[str] | None = None,
    *,
    think: Any = "rules",
    tts: Any = TTS,
    idle_timeout: float = 10.0,
    handler: AgentV1Handler | None = None,
    setup: dict[str, Any] | None = None,
    **server: Any,
) -> AsyncIterator[Peer]:
    """A server plus a connected peer that has sent ``setup`` (default :func:`settings`) and
    read ``Welcome`` and ``SettingsApplied``; ``setup={}`` sends nothing."""
    route = handler or AgentV1Handler(realtime=False)
    async with (
        DeepgramServer(
            engine=ScriptedEngine(script or ["hello world"], cycle=False),
            tts=tts,
            think=think,
            idle_timeout=idle_timeout,
            routes={PATH: route},
            **server,
        ) as srv,
        connect(srv.url + PATH) as ws,
    ):
        peer = Peer(ws)
        assert await peer.until("Welcome") == ["Welcome"]
        if setup != {}:
            await peer.send(setup or settings())
            assert await peer.until("SettingsApplied") == ["SettingsApplied"]
        yield peer


# --- the session -----------------------------------------------------------------------------


async def test_welcome_carries_the_request_id_of_the_handshake() -> None:
    async with DeepgramServer() as srv, connect(srv.url + PATH) as ws:
        welcome = json.loads(await ws.recv())
        assert ws.response is not None
        assert welcome == {"type": "Welcome", "request_id": ws.response.headers["dg-request-id"]}


async def test_the_session_fixture_settings_are_applied() -> None:
    example = json.loads((EXAMPLES / "agent-v1" / "client" / "Settings.json").read_text())
    async with agent(setup=example) as peer:
        # The fixture's greeting is spoken first, with audio at its 24 kHz output rate.
        greeting = example["agent"]["greeting"]
        assert await peer.until("LatencyReport") == REPLY
        assert peer.all("ConversationText")[0]["content"] == greeting
        assert len(peer.audio[0]) == 2 * TTS.samples(greeting, 24000)


async def test_the_greeting_is_spoken_first() -> None:
    async with agent(setup=settings(greeting="Hi! How can I help?")) as peer:
        assert await peer.until("LatencyReport") == REPLY
        said = peer.last("ConversationText")
        assert said == {
            "type": "ConversationText",
            "role": "assistant",
            "content": "Hi! How can I help?",
            "conversational_behavior": "default",  # always sent, as Deepgram does
        }
        assert peer.last("History") == {
            "type": "History",
            "role": "assistant",
            "content": said["content"],
        }
        assert len(peer.audio) == 1
        assert len(peer.audio[0]) == 2 * TTS.samples(said["content"], 16000)
        started = peer.last("AgentStartedSpeaking")
        assert started["ttt_latency"] == 0.0
        assert started["total_latency"] >= started["tts_latency"] >= 0.0
        report = peer.last("LatencyReport")
        assert set(report) <= {"type", "ttt_text_latency", "tts_latency", "total_latency"}


async def test_a_spoken_turn_with_echo() -> None:
    async with agent(["hello world"], think="echo") as peer:
        await peer.send_audio(speech())
        assert await peer.until("LatencyReport") == ["UserStartedSpeaking", *USER, *REPLY]
        texts = [(m["role"], m["content"]) for m in peer.all("ConversationText")]
        assert texts == [("user", "hello world"), ("assistant", "You said: hello world")]
        assert len(peer.audio[0]) == 2 * TTS.samples("You said: hello world", 16000)


async def test_noise_without_words_starts_no_turn() -> None:
    async with agent([""], think="echo") as peer:
        await peer.send_audio(speech())
        assert await peer.until("UserStartedSpeaking") == ["UserStartedSpeaking"]
        await peer.send({"type": "InjectUserMessage", "content": "ping"})
        assert await peer.until("LatencyReport") == [*USER, *REPLY]
        assert peer.all("ConversationText")[0]["content"] == "ping"


async def test_turns_are_answered_in_order() -> None:
    async with agent(["first thing", "second thing"], think="echo") as peer:
        await peer.send_audio(speech() + speech())
        await peer.until("LatencyReport")
        await peer.until("LatencyReport")
        said = [m["content"] for m in peer.all("ConversationText")]
        # The replies come in turn order; each utterance's transcript comes when it ends,
        # before the next one starts (whether the first reply is out by then is timing).
        assert [t for t in said if not t.startswith("You said")] == ["first thing", "second thing"]
        assert [t for t in said if t.startswith("You said")] == [
            "You said: first thing",
            "You said: second thing",
        ]
        assert said.index("first thing") < said.index("You said: first thing")
        assert said.index("second thing") < said.index("You said: second thing")
        starts_and_texts = [
            label
            for label in peer.labels
            if label in ("UserStartedSpeaking", "ConversationText(user)")
        ]
        assert starts_and_texts == ["UserStartedSpeaking", "ConversationText(user)"] * 2


@pytest.mark.parametrize("run", range(5))
async def test_each_utterance_is_one_start_then_its_transcript(run: int) -> None:
    """Several utterances arriving faster than real time (a recording sent at once), the agent
    busy answering the first: every ``UserStartedSpeaking`` is followed by its utterance's
    ``ConversationText`` before the next one starts. (The transcripts used to wait for the
    agent's worker, so a client saw two starts, then one transcript.)"""
    script = ["one", "two", "three"]
    async with agent(script, think="echo") as peer:
        await peer.send_audio(speech() + speech() + speech(), size=32000 * (run + 1))
        for _ in script:
            await peer.until("LatencyReport")
        user = [
            label
            for label in peer.labels
            if label in ("UserStartedSpeaking", "ConversationText(user)")
        ]
        assert user == ["UserStartedSpeaking", "ConversationText(user)"] * 3
        texts = [m["content"] for m in peer.all("ConversationText")]
        assert [t for t in texts if not t.startswith("You said")] == script


# --- function calls --------------------------------------------------------------------------


async def test_a_client_side_function_call() -> None:
    async with agent(["what is the weather in Paris"], setup=settings(functions=[WEATHER])) as peer:
        await peer.send_audio(speech())
        assert await peer.until("FunctionCallRequest") == [
            "UserStartedSpeaking",
            *USER,
            "AgentThinking",
            "FunctionCallRequest",
        ]
        (call,) = peer.last("FunctionCallRequest")["functions"]
        assert call["name"] == "get_weather"
        assert json.loads(call["arguments"]) == {"location": "Paris"}
        assert call["client_side"] is True
        assert call["id"].startswith("fc_")
        assert "get_weather" in peer.last("AgentThinking")["content"]
        await peer.send(answer(call, SUNNY))
        assert await peer.until("LatencyReport") == ["History(function_calls)", *REPLY]
        (record,) = peer.all("History")[-2]["function_calls"]
        assert record == {
            "id": call["id"],
            "name": "get_weather",
            "client_side": True,
            "arguments": call["arguments"],
            "response": SUNNY,
        }
        said = peer.last("ConversationText")["content"]
        assert said == "Weather: temperature 21, condition sunny."
        assert "ttt_tool_latency" in peer.last("LatencyReport")


async def test_a_server_side_function_call_is_simulated() -> None:
    async with agent(["store hours on saturday"], setup=settings(functions=[HOURS])) as peer:
        await peer.send_audio(speech())
        assert await peer.until("LatencyReport") == [
            "UserStartedSpeaking",
            *USER,
            "AgentThinking",
            "FunctionCallRequest",
            "FunctionCallResponse",
            "History(function_calls)",
            *REPLY,
        ]
        (call,) = peer.last("FunctionCallRequest")["functions"]
        assert call["client_side"] is False
        assert json.loads(call["arguments"]) == {"day": "saturday"}
        response = peer.last("FunctionCallResponse")
        assert response["id"] == call["id"]
        assert json.loads(response["content"]) == {"day": "saturday", "result": "ok"}
        assert peer.last("ConversationText")["content"] == "Store hours: day saturday, result ok."


async def test_a_custom_server_function_result() -> None:
    handler = AgentV1Handler(realtime=False, server_function=lambda name, args: '{"open": "9-5"}')
    async with agent(
        ["store hours on monday"], handler=handler, setup=settings(functions=[HOURS])
    ) as peer:
        await peer.send_audio(speech())
        await peer.until("LatencyReport")
        assert peer.last("FunctionCallResponse")["content"] == '{"open": "9-5"}'
        assert peer.last("ConversationText")["content"] == "Store hours: open 9-5."


async def test_a_response_without_id_is_matched_by_name_and_unknown_ids_are_ignored() -> None:
    async with agent(setup=settings(functions=[WEATHER])) as peer:
        await peer.send({"type": "InjectUserMessage", "content": "weather in Oslo please"})
        await peer.until("FunctionCallRequest")
        stray = {"type": "FunctionCallResponse", "id": "fc_nope", "name": "get_weather"}
        await peer.send({**stray, "content": "{}"})
        await peer.send({"type": "FunctionCallResponse", "name": "get_weather", "content": SUNNY})
        await peer.until("LatencyReport")
        (record,) = peer.all("History")[-2]["function_calls"]
        assert record["response"] == SUNNY
        assert json.loads(record["arguments"]) == {"location": "Oslo"}


async def test_a_think_step_may_call_several_functions_and_say_something_first() -> None:
    def think(request: ThinkRequest) -> ThinkReply:
        if not request.results:
            return ThinkReply(
                text="One moment.",
                calls=(Call("get_weather", {"location": "Rome"}), Call("get_store_hours", {})),
            )
        return ThinkReply(text=" / ".join(r.content for r in request.results))

    async with agent(think=think, setup=settings(functions=[WEATHER, HOURS])) as peer:
        await peer.send({"type": "InjectUserMessage", "content": "go"})
        assert await peer.until("FunctionCallRequest") == [*USER, *REPLY, "FunctionCallRequest"]
        calls = peer.last("FunctionCallRequest")["functions"]
        assert [(c["name"], c["client_side"]) for c in calls] == [
            ("get_weather", True),
            ("get_store_hours", False),
        ]
        assert await peer.until("FunctionCallResponse") == ["FunctionCallResponse"]
        await peer.send(answer(calls[0], "rain"))
        assert await peer.until("LatencyReport") == ["History(function_calls)", *REPLY]
        assert peer.last("ConversationText")["content"] == 'rain / {"result": "ok"}'
        assert len(peer.all("History")[-2]["function_calls"]) == 2


# --- history, think requests ---------------------------------------------------------------------


async def test_history_messages_can_be_turned_off() -> None:
    async with agent(think="echo", setup=settings(flags={"history": False})) as peer:
        await peer.send({"type": "InjectUserMessage", "content": "hi"})
        assert await peer.until("LatencyReport") == [
            "ConversationText(user)",
            "ConversationText(assistant)",
            "AgentStartedSpeaking",
            "audio",
            "AgentAudioDone",
            "LatencyReport",
        ]


async def test_the_think_step_sees_prompt_context_functions_and_provider() -> None:
    seen: list[ThinkRequest] = []

    async def think(request: ThinkRequest) -> str:
        seen.append(request)
        return "noted"

    setup = settings(functions=[WEATHER, HOURS])
    setup["agent"]["context"] = {
        "messages": [
            {"type": "History", "role": "user", "content": "earlier question"},
            {"type": "History", "role": "assistant", "content": "earlier answer"},
        ]
    }
    async with agent(think=think, setup=setup) as peer:
        await peer.send({"type": "InjectUserMessage", "content": "now"})
        await peer.until("LatencyReport")
    (request,) = seen
    assert [(m.role, m.content) for m in request.messages] == [
        ("user", "earlier question"),
        ("assistant", "earlier answer"),
        ("user", "now"),
    ]
    assert request.prompt == "You are a test agent."
    assert [(f.name, f.client_side) for f in request.functions] == [
        ("get_weather", True),
        ("get_store_hours", False),
    ]
    assert (request.provider, request.model) == ("open_ai", "gpt-4o-mini")
    assert request.user_text == "now"


async def test_a_failing_think_step_is_a_warning() -> None:
    def think(request: ThinkRequest) -> str:
        raise RuntimeError("llm down")

    async with agent(think=think) as peer:
        await peer.send({"type": "InjectUserMessage", "content": "hello"})
        assert await peer.until("Warning") == [*USER, "Warning"]
        warning = peer.last("Warning")
        assert warning["code"] == "THINK_REQUEST_FAILED"
        assert "llm down" in warning["description"]
        await peer.send({"type": "UpdatePrompt", "prompt": "still alive?"})
        assert await peer.until("PromptUpdated") == ["PromptUpdated"]


# --- injections ------------------------------------------------------------------------------


async def test_inject_agent_message_when_idle_is_spoken() -> None:
    async with agent() as peer:
        await peer.send({"type": "InjectAgentMessage", "message": "Are you still there?"})
        assert await peer.until("LatencyReport") == REPLY
        assert peer.last("ConversationText")["content"] == "Are you still there?"


async def test_inject_agent_message_while_the_agent_is_mid_turn() -> None:
    async with agent(setup=settings(functions=[WEATHER])) as peer:
        await peer.send({"type": "InjectUserMessage", "content": "weather in Paris"})
        await peer.until("FunctionCallRequest")  # the agent's turn waits for the client
        await peer.send({"type": "InjectAgentMessage", "message": "Nope", "behavior": "default"})
        assert await peer.until("InjectionRefused") == ["InjectionRefused"]
        assert "agent" in peer.last("InjectionRefused")["message"]
        await peer.send({"type": "InjectAgentMessage", "message": "Queued.", "behavior": "queue"})
        (call,) = peer.last("FunctionCallRequest")["functions"]
        await peer.send(answer(call, SUNNY))
        assert await peer.until("LatencyReport") == ["History(function_calls)", *REPLY]
        assert await peer.until("LatencyReport") == REPLY
        said = [m["content"] for m in peer.all("ConversationText")]
        assert said[-2:] == ["Weather: temperature 21, condition sunny.", "Queued."]


async def test_inject_agent_message_while_the_user_speaks_is_refused() -> None:
    async with agent(["sorry go on"], think="echo") as peer:
        await peer.send_audio(pcm16(concat(silence(0.1), tone(0.4))))
        assert await peer.until("UserStartedSpeaking") == ["UserStartedSpeaking"]
        for behavior in ("default", "queue"):
            await peer.send({"type": "InjectAgentMessage", "message": "x", "behavior": behavior})
            assert await peer.until("InjectionRefused") == ["InjectionRefused"]
            assert "user" in peer.last("InjectionRefused")["message"]
        await peer.send_audio(pcm16(concat(tone(0.2), silence(0.7))))
        assert await peer.until("LatencyReport") == [*USER, *REPLY]
        assert peer.last("ConversationText")["content"] == "You said: sorry go on"


# --- barge-in and interruption (paced audio) ---------------------------------------------------


SLOW = CharTts(0.05)  # 21 characters -> 1.05 s of agent audio


def paced() -> AgentV1Handler:
    return AgentV1Handler(realtime=True, lead=0.1, chunk_ms=50)


async def test_barge_in_drops_the_rest_of_the_agent_audio() -> None:
    async with agent(["hold on"], think="echo", tts=SLOW, handler=paced()) as peer:
        await peer.send({"type": "InjectUserMessage", "content": "hello world"})
        await peer.until("AgentStartedSpeaking")
        first = await peer.ws.recv()
        assert isinstance(first, bytes)
        await peer.send_audio(pcm16(tone(0.3)))
        seen = await peer.until("UserStartedSpeaking")
        assert seen in (["UserStartedSpeaking"], ["audio", "UserStartedSpeaking"])
        # No agent audio after UserStartedSpeaking: the reply ends at once.
        assert await peer.until("LatencyReport") == ["AgentAudioDone", "LatencyReport"]
        await peer.send_audio(pcm16(silence(0.7)))  # the end of the user's utterance
        full = 2 * SLOW.samples("You said: hello world", 16000)
        received = len(first) + sum(len(a) for a in peer.audio)
        assert 0 < received < full / 2
        # The interruption is a new user turn.
        assert await peer.until("LatencyReport") == [*USER, *REPLY]
        assert peer.last("ConversationText")["content"] == "You said: hold on"


async def test_inject_agent_message_interrupt_replaces_current_speech() -> None:
    async with agent(think="echo", tts=SLOW, handler=paced()) as peer:
        await peer.send({"type": "InjectUserMessage", "content": "hello world"})
        await peer.until("AgentStartedSpeaking")
        await peer.send(
            {"type": "InjectAgentMessage", "message": "Sorry!", "behavior": "interrupt"}
        )
        seen = await peer.until("LatencyReport")
        assert seen in (
            ["AgentAudioDone", "LatencyReport"],
            ["audio", "AgentAudioDone", "LatencyReport"],
        )
        assert (
            sum(len(a) for a in peer.audio) < 2 * SLOW.samples("You said: hello world", 16000) / 2
        )
        assert await peer.until("LatencyReport") == REPLY
        assert peer.last("ConversationText")["content"] == "Sorry!"
        assert len(peer.audio[-1]) == 2 * SLOW.samples("Sorry!", 16000)


async def test_realtime_audio_is_paced() -> None:
    async with agent(think="echo", tts=CharTts(0.02), handler=paced()) as peer:
        loop = asyncio.get_running_loop()
        await peer.send({"type": "InjectUserMessage", "content": "hello world"})
        await peer.until("AgentStartedSpeaking")
        began = loop.time()
        await peer.until("AgentAudioDone")
        # 21 characters of 20 ms: 0.42 s of audio, of which 0.1 s is sent ahead.
        assert loop.time() - began >= 0.25


# --- updates ---------------------------------------------------------------------------------


async def test_update_prompt_and_think_reach_the_think_step() -> None:
    seen: list[ThinkRequest] = []

    def think(request: ThinkRequest) -> str:
        seen.append(request)
        return "ok"

    async with agent(think=think) as peer:
        await peer.send({"type": "UpdatePrompt", "prompt": "Be brief."})
        assert await peer.until("PromptUpdated") == ["PromptUpdated"]
        await peer.send({"type": "InjectUserMessage", "content": "one"})
        await peer.until("LatencyReport")
        await peer.send(
            {
                "type": "UpdateThink",
                "think": {
                    "provider": {"type": "anthropic", "model": "claude-3-5-haiku-latest"},
                    "prompt": "New persona.",
                    "functions": [WEATHER],
                },
            }
        )
        assert await peer.until("ThinkUpdated") == ["ThinkUpdated"]
        await peer.send({"type": "InjectUserMessage", "content": "two"})
        await peer.until("LatencyReport")
    assert [r.prompt for r in seen] == ["Be brief.", "New persona."]
    assert [r.provider for r in seen] == ["open_ai", "anthropic"]
    assert [[f.name for f in r.functions] for r in seen] == [[], ["get_weather"]]


async def test_update_speak_and_keepalive() -> None:
    async with agent() as peer:
        await peer.send({"type": "KeepAlive"})
        await peer.send(
            {
                "type": "UpdateSpeak",
                "speak": {"provider": {"type": "deepgram", "model": "aura-2-orion-en"}},
            }
        )
        assert await peer.until("SpeakUpdated") == ["SpeakUpdated"]  # KeepAlive: no reply


FLUX = {"type": "deepgram", "version": "v2", "model": "flux-general-en"}


async def test_update_listen_on_a_flux_session() -> None:
    async with agent(setup=settings(listen=FLUX)) as peer:
        await peer.send(
            {"type": "UpdateListen", "listen": {"provider": {**FLUX, "eot_threshold": 0.8}}}
        )
        assert await peer.until("ListenUpdated") == ["ListenUpdated"]


async def test_update_listen_must_name_the_sessions_flux_provider() -> None:
    async with agent() as peer:
        await peer.send({"type": "UpdateListen", "listen": {"provider": FLUX}})
        seen, code, _ = await peer.ended()
    assert seen == ["Error"]
    assert peer.last("Error")["code"] == "INVALID_SETTINGS"
    assert "nova-3" in peer.last("Error")["description"]
    assert code == 1008


async def test_a_long_prompt_is_truncated_with_a_warning() -> None:
    seen: list[ThinkRequest] = []

    def think(request: ThinkRequest) -> str:
        seen.append(request)
        return "ok"

    async with agent(think=think, setup={}) as peer:
        await peer.send(settings(prompt="p" * (MAX_PROMPT_CHARS + 10)))
        assert await peer.until("Warning") == ["SettingsApplied", "Warning"]
        assert peer.last("Warning")["code"] == "PROMPT_TOO_LONG"
        await peer.send({"type": "UpdatePrompt", "prompt": "q" * (MAX_PROMPT_CHARS + 1)})
        assert await peer.until("Warning") == ["PromptUpdated", "Warning"]
        await peer.send({"type": "InjectUserMessage", "content": "hi"})
        await peer.until("LatencyReport")
    assert seen[0].prompt == "q" * MAX_PROMPT_CHARS


async def test_force_end_turn_needs_flux() -> None:
    async with agent(["cut short"], think="echo") as peer:
        await peer.send({"type": "ForceEndTurn"})
        assert await peer.until("Warning") == ["Warning"]
        assert peer.last("Warning")["code"] == "FORCE_END_TURN_UNSUPPORTED"


async def test_force_end_turn_with_flux_ends_the_utterance_now() -> None:
    async with agent(["cut short"], think="echo", setup=settings(listen=FLUX)) as peer:
        await peer.send_audio(pcm16(concat(silence(0.1), tone(0.5))))  # no trailing silence
        assert await peer.until("UserStartedSpeaking") == ["UserStartedSpeaking"]
        await peer.send({"type": "ForceEndTurn"})
        assert await peer.until("LatencyReport") == [*USER, *REPLY]
        assert peer.last("ConversationText")["content"] == "You said: cut short"


# --- audio formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "width"),
    [
        ({"encoding": "mulaw", "sample_rate": 8000}, 1),
        ({"encoding": "alaw", "sample_rate": 8000}, 1),
    ],
)
async def test_g711_output(output: dict[str, Any], width: int) -> None:
    async with agent(setup=settings(output=output, greeting="Hello")) as peer:
        await peer.until("LatencyReport")
        assert len(peer.audio[0]) == width * TTS.samples("Hello", 8000)


async def test_wav_container_output_starts_each_reply_with_a_header() -> None:
    output = {"encoding": "linear16", "sample_rate": 16000, "container": "wav"}
    async with agent(setup=settings(output=output, greeting="Hello")) as peer:
        await peer.until("LatencyReport")
        audio = peer.audio[0]
        assert audio[:4] == b"RIFF" and audio[8:16] == b"WAVEfmt "
        assert len(audio) == 44 + 2 * TTS.samples("Hello", 16000)


async def test_default_audio_is_linear16_at_24khz() -> None:
    setup = settings(greeting="Hey")
    setup["audio"] = {}
    async with agent(setup=setup) as peer:
        await peer.until("LatencyReport")
        assert len(peer.audio[0]) == 2 * TTS.samples("Hey", 24000)


# --- errors ----------------------------------------------------------------------------------


async def _error_session(first: list[Any]) -> tuple[Peer, list[str], int | None, str]:
    """Send ``first`` (raw frames or JSON objects) on a fresh connection; read to the end."""
    async with agent(setup={}) as peer:
        for item in first:
            if isinstance(item, (bytes, str)):
                await peer.ws.send(item)
            else:
                await peer.send(item)
        seen, code, reason = await peer.ended()
    return peer, seen, code, reason


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        (["{not json"], "UNPARSABLE_CLIENT_MESSAGE"),
        (
            [{"type": "Settings", "audio": {"input": {"encoding": "linear16"}}}],
            "UNPARSABLE_CLIENT_MESSAGE",
        ),
        ([{**settings(), "colour": "blue"}], "UNPARSABLE_CLIENT_MESSAGE"),
        ([{"type": "Hello"}], "UNPARSABLE_CLIENT_MESSAGE"),
        ([b"\x00\x01" * 160], "NON_SETTINGS_MESSAGE_BEFORE_SETTINGS"),
        ([{"type": "KeepAlive"}], "NON_SETTINGS_MESSAGE_BEFORE_SETTINGS"),
        ([{"type": "InjectUserMessage", "content": "hi"}], "NON_SETTINGS_MESSAGE_BEFORE_SETTINGS"),
        ([settings(), settings()], "SETTINGS_ALREADY_APPLIED"),
    ],
)
async def test_fatal_errors_before_and_around_settings(frames: list[Any], code: str) -> None:
    peer, seen, close, reason = await _error_session(frames)
    assert seen[-1] == "Error"
    assert peer.last("Error")["code"] == code
    assert close == 1008 and reason.startswith("DATA-0000")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s["agent"]["think"]["provider"].update(temperature=5), "temperature"),
        (lambda s: s["audio"]["input"].update(encoding="opus"), "opus"),
        (lambda s: s["audio"].update(output={"encoding": "mp3"}), "mp3"),
        (lambda s: s["audio"].update(output={"container": "ogg"}), "ogg"),
    ],
)
async def test_invalid_settings_name_the_problem(
    change: Callable[[dict[str, Any]], None], field: str
) -> None:
    bad = settings()
    change(bad)
    peer, seen, close, _ = await _error_session([bad])
    assert seen == ["Error"]
    error = peer.last("Error")
    assert error["code"] == "INVALID_SETTINGS"
    assert field in error["description"]
    assert close == 1008


async def test_query_parameters_are_refused() -> None:
    async with DeepgramServer() as srv:
        with pytest.raises(InvalidStatus) as info:
            async with connect(srv.url + PATH + "?model=nova-3"):
                pass  # pragma: no cover
    assert info.value.response.status_code == 400
    assert "model" in info.value.response.headers["dg-error"]


async def test_idle_session_ends_with_client_message_timeout() -> None:
    async with agent(idle_timeout=0.3) as peer:
        seen, code, reason = await peer.ended()
    assert seen == ["Error"]
    assert peer.last("Error")["code"] == "CLIENT_MESSAGE_TIMEOUT"
    assert code == 1011 and reason.startswith("NET-0001")


async def test_keepalive_keeps_an_idle_session_open() -> None:
    async with agent(idle_timeout=0.3) as peer:
        for _ in range(5):  # 0.75 s in all, more than twice the timeout
            await asyncio.sleep(0.15)
            await peer.send({"type": "KeepAlive"})
        await peer.send({"type": "InjectAgentMessage", "message": "Still here."})
        assert await peer.until("LatencyReport") == REPLY
        seen, _, _ = await peer.ended()
        assert seen == ["Error"]  # and then, with nothing more sent, the timeout
        assert peer.last("Error")["code"] == "CLIENT_MESSAGE_TIMEOUT"


async def test_an_engine_failure_is_an_internal_error() -> None:
    class BrokenTts(CharTts):
        def synthesize(self, text: str, sample_rate: int) -> bytes:
            raise RuntimeError("boom")

    async with agent(tts=BrokenTts()) as peer:
        await peer.send({"type": "InjectAgentMessage", "message": "Hi"})
        seen, code, reason = await peer.ended()
    assert seen == ["ConversationText(assistant)", "History(assistant)", "Error"]
    assert peer.last("Error")["code"] == "INTERNAL_SERVER_ERROR"
    assert code == 1011 and reason.startswith("NET-0000")


def test_the_client_frames_hook_sees_every_frame() -> None:
    frames: list[tuple[str, str | bytes]] = []
    handler = AgentV1Handler(realtime=False, on_client_frame=lambda rid, f: frames.append((rid, f)))

    async def go() -> str:
        async with agent(handler=handler) as peer:
            await peer.send({"type": "KeepAlive"})
            await peer.ws.send(b"\x00\x00" * 160)
            await peer.send({"type": "UpdatePrompt", "prompt": "x"})
            await peer.until("PromptUpdated")
            return str(peer.all("Welcome")[0]["request_id"])

    request_id = asyncio.run(go())
    assert [rid for rid, _ in frames] == [request_id] * 4
    assert json.loads(frames[0][1])["type"] == "Settings"
    assert frames[1][1] == '{"type": "KeepAlive"}'
    assert frames[2][1] == b"\x00\x00" * 160


# --- the think step ------------------------------------------------------------------------------


def spec(name: str, **properties: Any) -> FunctionSpec:
    return FunctionSpec(name, parameters={"type": "object", "properties": properties})


@pytest.mark.parametrize(
    ("function", "text", "arguments"),
    [
        (
            spec("get_weather", location={"type": "string"}),
            "weather in New York today",
            {"location": "New York"},
        ),
        (
            spec("get_weather", city={"type": "string"}),
            "what is the weather like in new york today",
            {"city": "new york"},
        ),
        (
            spec("get_weather", city={"type": "string"}),
            "weather in san luis obispo tomorrow",
            {"city": "san luis obispo"},
        ),
        (
            spec("get_weather", city={"type": "string"}),
            "weather in paris please",
            {"city": "paris"},
        ),
        (spec("find_flights", destination={"type": "string"}), "flights to Rome please", {}),
        (
            spec("find_flights", destination={"type": "string"}),
            "flights for Rome please",
            {"destination": "Rome"},
        ),
        (
            spec("check_order_status", order_id={"type": "string"}),
            "where is order 4572",
            {"order_id": "4572"},
        ),
        (spec("refund", amount={"type": "integer"}), "refund 30 dollars", {"amount": 30}),
        (spec("tip", percent={"type": "number"}), "tip 15 percent", {"percent": 15.0}),
        (
            spec("hours", day={"type": "string", "enum": ["monday", "Sunday"]}),
            "hours on sunday",
            {"day": "Sunday"},
        ),
        (spec("play", song={"type": "string"}), "play song yesterday", {"song": "yesterday"}),
        (spec("play", song={"type": "string"}, loud={"type": "boolean"}), "play it", {}),
    ],
)
def test_rules_extract_arguments(
    function: FunctionSpec, text: str, arguments: dict[str, Any]
) -> None:
    assert extract_arguments(function, text) == arguments


def request(
    text: str, *functions: FunctionSpec, results: tuple[CallResult, ...] = ()
) -> ThinkRequest:
    return ThinkRequest(messages=(Message("user", text),), functions=functions, results=results)


def test_rules_call_the_function_the_words_name() -> None:
    weather, hours = spec("get_weather", location={"type": "string"}), spec("getStoreHours")
    reply = rules(request("store hour please", weather, hours))  # camelCase, singular
    assert reply.calls == (Call("getStoreHours", {}),) and reply.text is None
    assert reply.thinking is not None and "getStoreHours" in reply.thinking
    assert rules(request("what now", weather, hours)) == ThinkReply(text="You said: what now")
    done = CallResult("fc_1", "get_weather", {}, '{"sky": "clear", "wind": [1, 2]}', True)
    answer = rules(request("weather", weather, results=(done,)))
    assert answer == ThinkReply(text="Weather: sky clear, wind [1, 2].")
    plain = CallResult("fc_2", "get_weather", {}, "not json", True)
    assert rules(request("weather", weather, results=(plain,))).text == "Weather: not json."


async def test_run_think_accepts_sync_async_and_str_and_refuses_the_rest() -> None:
    req = request("hi")
    assert await run_think(echo, req) == ThinkReply(text="You said: hi")
    assert await run_think(lambda r: "plain", req) == ThinkReply(text="plain")

    async def later(r: ThinkRequest) -> ThinkReply:
        return ThinkReply(text="async")

    assert await run_think(later, req) == ThinkReply(text="async")
    with pytest.raises(TypeError, match="ThinkReply or str"):
        await run_think(lambda r: 42, req)  # type: ignore[arg-type,return-value]


def test_think_steps_by_name() -> None:
    assert get_think("echo") is echo and get_think("rules") is rules
    assert get_think(echo) is echo
    assert think_names() == ("echo", "rules")
    with pytest.raises(ValueError, match="unknown think step"):
        get_think("gpt")
    with pytest.raises(ValueError):
        DeepgramServer(think="gpt")
    assert json.loads(simulate_server_function("f", {"a": 1})) == {"a": 1, "result": "ok"}
    args = build_parser().parse_args(["--think", "echo", "--token-ttl", "60"])
    assert (args.think, args.token_ttl) == ("echo", 60.0)
