"""Agent V1 resumable connections through the fault-injecting proxy, both clients: after a drop
the agent still knows the conversation, and a client-side function call in flight is asked and
answered once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from audio_util import concat, pcm16, silence, tone
from faultproxy import FaultProxy
from harness import Frames
from test_connection_agent_v1 import CharTts, Inbox
from test_reconnect_listen_v1 import FAST, cut, wait_until, when_open

from rxdeepgram import Reconnect
from rxdeepgram.messages import agent_v1 as a
from rxdeepgram.server import DeepgramServer, ScriptedEngine
from rxdeepgram.server.agent_v1 import AgentV1Handler
from rxdeepgram.server.think import Call, ThinkReply, ThinkRequest

PATH = "/v1/agent/converse"


def remembering(request: ThinkRequest) -> ThinkReply:
    """Answers with everything the user said in the conversation it was given; "look up"
    calls the client-side ``lookup`` function first."""
    heard = " | ".join(m.content for m in request.messages if m.role == "user")
    if "look up" in request.user_text and not request.results:
        return ThinkReply(calls=(Call("lookup", {"what": request.user_text}),))
    found = f"found {request.results[0].content}; " if request.results else ""
    return ThinkReply(text=f"{found}heard: {heard}")


remembering.blocking = False  # type: ignore[attr-defined]


class Sessions(Frames):
    """What clients sent, also grouped by connection (request id), in order of arrival."""

    def __init__(self) -> None:
        super().__init__()
        self.by_session: dict[str, list[str | bytes]] = {}

    def record(self, request_id: str, frame: str | bytes) -> None:
        super().record(request_id, frame)
        with self._lock:
            self.by_session.setdefault(request_id, []).append(frame)

    def session(self, index: int) -> list[str | bytes]:
        with self._lock:
            return list(list(self.by_session.values())[index])


@pytest.fixture
def frames() -> Sessions:
    return Sessions()


@pytest.fixture
def server(frames: Sessions) -> Iterator[DeepgramServer]:
    handler = AgentV1Handler(realtime=False, on_client_frame=frames.record)
    with DeepgramServer(
        engine=ScriptedEngine(["what is my name"]),
        tts=CharTts(),
        think=remembering,
        routes={PATH: handler},
    ) as srv:
        yield srv


@pytest.fixture
def proxy(server: DeepgramServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", server.port) as px:
        yield px


SETTINGS = a.Settings(
    audio=a.Audio(
        input=a.AudioInput(encoding="linear16", sample_rate=16000),
        output=a.AudioOutput(encoding="linear16", sample_rate=16000),
    ),
    agent=a.Agent(
        listen=a.ListenSettings(provider=a.ListenProviderV1(model="nova-3")),
        think=a.ThinkSettings(
            provider=a.OpenAiThinkProvider(model="gpt-4o-mini"),
            functions=[a.Function(name="lookup", description="Look something up.")],
        ),
        speak=a.SpeakSettings(provider=a.DeepgramSpeakProvider(model="aura-2-thalia-en")),
        greeting="Hello there.",
    ),
)


def answers(inbox: Inbox) -> list[str]:
    return [m.content for m in inbox.of(a.ConversationText) if m.role == "assistant"]


def test_after_a_drop_the_next_answer_knows_the_earlier_turns(
    h: Any, proxy: FaultProxy, frames: Frames
) -> None:
    client = h.client(base_url=proxy.url)
    inbox = Inbox()
    conn = h.open(client, "agent.v1", reconnect=FAST)
    conn.messages.subscribe(inbox)
    conn.input.on_next(SETTINGS)
    inbox.wait_for(a.SettingsApplied)
    conn.input.on_next(a.InjectUserMessage(content="my name is Ada"))
    inbox.wait_for(a.AgentAudioDone, 2)  # the greeting, then the answer
    when_open(conn, cut(proxy))()
    conn.input.on_next(a.InjectUserMessage(content="what is my name"))
    inbox.wait_for(a.AgentAudioDone, 3)
    assert answers(inbox) == [
        "Hello there.",
        "heard: my name is Ada",
        "heard: my name is Ada | what is my name",
    ]
    assert conn.stats.reconnects == 1
    types = inbox.types()
    assert types.count("Welcome") == types.count("SettingsApplied") == 1
    # the new session got the conversation as context, and no second greeting
    sent = [json.loads(f) for f in frames.text if '"Settings"' in f]
    assert len(sent) == 2
    context = sent[1]["agent"]["context"]["messages"]
    assert [(c["role"], c["content"]) for c in context] == [
        ("assistant", "Hello there."),
        ("user", "my name is Ada"),
        ("assistant", "heard: my name is Ada"),
    ]
    assert "greeting" not in sent[1]["agent"]
    h.close(conn)
    assert conn.end is None


@pytest.mark.parametrize("answer_after_drop", [True, False])
def test_a_function_call_in_flight_is_asked_and_answered_once(
    h: Any, proxy: FaultProxy, frames: Frames, answer_after_drop: bool
) -> None:
    client = h.client(base_url=proxy.url)
    inbox = Inbox()
    conn = h.open(client, "agent.v1", reconnect=FAST)
    conn.messages.subscribe(inbox)
    conn.input.on_next(SETTINGS)
    inbox.wait_for(a.AgentAudioDone)  # the greeting
    proxy.delay_s = 0.0
    conn.input.on_next(a.InjectUserMessage(content="please look up the weather"))
    [request] = inbox.wait_for(a.FunctionCallRequest)
    [call] = request.functions
    response = a.FunctionCallResponse(id=call.id, name=call.name, content="sunny")
    if answer_after_drop:
        when_open(conn, cut(proxy))()
        conn.input.on_next(response)
    else:
        # the server gets the answer, its reply is lost: the drop comes first
        proxy.mute()
        conn.input.on_next(response)
        wait_until(lambda: any(call.id in f for f in frames.text if "FunctionCallResponse" in f))
        when_open(conn, cut(proxy))()
    inbox.wait_for(a.AgentAudioDone, 2)
    assert answers(inbox)[-1] == "found sunny; heard: please look up the weather"
    assert len(inbox.of(a.FunctionCallRequest)) == 1  # asked once
    users = [m.content for m in inbox.of(a.ConversationText) if m.role == "user"]
    assert users == ["please look up the weather"]
    responses = [json.loads(f) for f in frames.text if '"FunctionCallResponse"' in f]
    new_session = [r for r in responses if r["id"] != call.id]
    assert len(new_session) == 1  # the new session got exactly one answer, under its own id
    assert new_session[0]["content"] == "sunny"
    assert conn.stats.reconnects == 1
    h.close(conn)


def test_a_close_asked_for_during_the_reconnect_waits_for_settings_applied(
    h: Any, proxy: FaultProxy
) -> None:
    client = h.client(base_url=proxy.url)
    inbox = Inbox()
    conn = h.open(client, "agent.v1", reconnect=Reconnect(backoff=0.2, max_backoff=0.2))
    conn.messages.subscribe(inbox)
    conn.input.on_next(SETTINGS)
    inbox.wait_for(a.AgentAudioDone)  # the greeting
    cut(proxy)()
    conn.input.on_completed()  # while reconnecting: sent once the new session is ready
    inbox.wait_end()
    assert inbox.completed and inbox.error is None
    assert conn.stats.reconnects == 1
    assert conn.end is None


def test_an_utterance_cut_by_the_drop_is_heard_whole_once(
    h: Any, proxy: FaultProxy, frames: Sessions
) -> None:
    client = h.client(base_url=proxy.url)
    inbox = Inbox()
    conn = h.open(client, "agent.v1", reconnect=FAST)
    conn.messages.subscribe(inbox)
    conn.input.on_next(SETTINGS)
    inbox.wait_for(a.AgentAudioDone)  # the greeting
    speech = pcm16(concat(silence(0.1), tone(0.6), silence(0.8)))
    half = 640 * 20  # 0.4 s: into the tone
    for i in range(0, half, 640):
        conn.input.on_next(speech[i : i + 640])
    inbox.wait_for(a.UserStartedSpeaking)
    when_open(conn, cut(proxy))()  # mid-utterance
    for i in range(half, len(speech), 640):
        conn.input.on_next(speech[i : i + 640])
    inbox.wait_for(a.AgentAudioDone, 2)
    users = [m.content for m in inbox.of(a.ConversationText) if m.role == "user"]
    assert users == ["what is my name"]  # heard whole, once
    assert len(inbox.of(a.UserStartedSpeaking)) == 1
    assert answers(inbox)[-1] == "heard: what is my name"
    assert conn.stats.reconnects == 1
    assert conn.stats.replayed_audio_s > 0.4
    h.close(conn)  # the server has read everything once the stream has ended
    new_session_audio = b"".join(f for f in frames.session(1) if isinstance(f, bytes))
    assert len(new_session_audio) == len(speech)
    assert new_session_audio == speech  # the whole utterance, from its start
