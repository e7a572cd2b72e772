"""Agent V1 end to end: rxdeepgram's clients against the local server over real sockets.

Every test runs with the sync client (threads) and the async client (asyncio) through
``harness.py``. The server records every frame a client sends (``on_client_frame``), so the
tests check the exact JSON that went over the wire.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import reactivex
from audio_util import chunks, concat, pcm16, silence, tone
from harness import Frames
from reactivex import operators as ops

from rxdeepgram import InvalidInputError, InvalidMessageError, ServerError
from rxdeepgram.compat import (
    AgentV1Agent,
    AgentV1AudioConfig,
    AgentV1AudioInput,
    AgentV1ControlMessage,
    AgentV1DeepgramSpeakProvider,
    AgentV1FunctionCallResponseMessage,
    AgentV1InjectAgentMessageMessage,
    AgentV1InjectUserMessageMessage,
    AgentV1Listen,
    AgentV1ListenProvider,
    AgentV1MediaMessage,
    AgentV1OpenAiThinkProvider,
    AgentV1SettingsMessage,
    AgentV1SpeakProviderConfig,
    AgentV1Think,
    AgentV1UpdatePromptMessage,
    AgentV1UpdateSpeakMessage,
)
from rxdeepgram.messages import agent_v1 as a
from rxdeepgram.messages import encode
from rxdeepgram.server import DeepgramServer, ScriptedEngine
from rxdeepgram.server.agent_v1 import AgentV1Handler

PATH = "/v1/agent/converse"
WAIT = 10.0


class CharTts:
    """Deterministic speech: 5 ms of a square wave per character."""

    name = "chars"
    blocking = False

    @staticmethod
    def samples(text: str, rate: int) -> int:
        return len(text) * round(rate * 0.005)

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        n = self.samples(text, sample_rate)
        return array("h", [2000 if (i // 8) % 2 else -2000 for i in range(n)]).tobytes()


class Inbox:
    """A subscriber that lets the test thread wait for messages of a type."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.error: BaseException | None = None
        self.completed = False
        self._cond = threading.Condition()

    def on_next(self, item: Any) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def on_error(self, error: Exception) -> None:
        with self._cond:
            self.error = error
            self._cond.notify_all()

    def on_completed(self) -> None:
        with self._cond:
            self.completed = True
            self._cond.notify_all()

    def of(self, cls: type[Any]) -> list[Any]:
        with self._cond:
            return [m for m in self.items if isinstance(m, cls)]

    def wait_for(self, cls: type[Any], count: int = 1, timeout: float = WAIT) -> list[Any]:
        with self._cond:
            ok = self._cond.wait_for(
                lambda: (
                    len([m for m in self.items if isinstance(m, cls)]) >= count
                    or self.error is not None
                    or self.completed
                ),
                timeout,
            )
        found = self.of(cls)
        assert ok and len(found) >= count, (
            f"waited for {count} {cls.__name__}; saw {self.types()} (error: {self.error!r})"
        )
        return found

    def wait_end(self, timeout: float = WAIT) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.error is not None or self.completed, timeout), (
                f"the stream did not end; saw {self.types()}"
            )

    def types(self) -> list[str]:
        return [getattr(m, "type", type(m).__name__) for m in self.items]

    def audio(self) -> bytes:
        return b"".join(m for m in self.items if isinstance(m, bytes))


@pytest.fixture
def frames() -> Frames:
    return Frames()


def make_server(frames: Frames, script: list[str] | None = None, **kwargs: Any) -> DeepgramServer:
    handler = AgentV1Handler(realtime=False, on_client_frame=frames.record)
    return DeepgramServer(
        engine=ScriptedEngine(script or ["hello world"], cycle=False),
        tts=CharTts(),
        routes={PATH: handler},
        **kwargs,
    )


@pytest.fixture
def server(frames: Frames) -> Iterator[DeepgramServer]:
    with make_server(frames, ["what is the weather in Paris"]) as srv:
        yield srv


WEATHER = a.Function(
    name="get_weather",
    description="Current weather for a place.",
    parameters={"type": "object", "properties": {"location": {"type": "string"}}},
)


def native_settings(
    listen: a.ListenProvider | None = None, functions: list[a.Function] | None = None
) -> a.Settings:
    return a.Settings(
        audio=a.Audio(
            input=a.AudioInput(encoding="linear16", sample_rate=16000),
            output=a.AudioOutput(encoding="linear16", sample_rate=16000),
        ),
        agent=a.Agent(
            listen=a.ListenSettings(provider=listen or a.ListenProviderV1(model="nova-3")),
            think=a.ThinkSettings(
                provider=a.OpenAiThinkProvider(model="gpt-4o-mini"),
                prompt="You are a test agent.",
                functions=functions,
            ),
            speak=a.SpeakSettings(provider=a.DeepgramSpeakProvider(model="aura-2-thalia-en")),
        ),
    )


def seed_settings() -> AgentV1SettingsMessage:
    """The seed README's construction, output format added."""
    return AgentV1SettingsMessage(
        audio=AgentV1AudioConfig(
            input=AgentV1AudioInput(encoding="linear16", sample_rate=16000),
            output=a.AudioOutput(encoding="linear16", sample_rate=16000),
        ),
        agent=AgentV1Agent(
            listen=AgentV1Listen(
                provider=AgentV1ListenProvider(type="deepgram", model="nova-3", smart_format=True)
            ),
            think=AgentV1Think(
                provider=AgentV1OpenAiThinkProvider(
                    type="open_ai", model="gpt-4o-mini", temperature=0.7
                ),
                prompt='Reply only and explicitly with "OK".',
            ),
            speak=AgentV1SpeakProviderConfig(
                provider=AgentV1DeepgramSpeakProvider(type="deepgram", model="aura-2-asteria-en")
            ),
        ),
    )


def wire(message: Any) -> str:
    return encode(message).decode()


def open_agent(h: Any, srv: DeepgramServer, **options: Any) -> tuple[Any, Inbox]:
    client = h.client(base_url=srv.url)
    conn = h.open(client, "agent.v1", **options)
    inbox = Inbox()
    conn.messages.subscribe(inbox)
    return conn, inbox


# --- Settings ----------------------------------------------------------------------------------


def test_send_settings_sends_exactly_the_settings(
    h: Any, server: DeepgramServer, frames: Frames
) -> None:
    conn, inbox = open_agent(h, server)
    settings = native_settings()
    conn.send_settings(settings)
    inbox.wait_for(a.SettingsApplied)
    (welcome,) = inbox.of(a.Welcome)
    assert welcome.request_id == conn.request_id
    assert inbox.types()[:2] == ["Welcome", "SettingsApplied"]
    assert frames.text == [wire(settings)]
    h.close(conn)
    inbox.wait_end()
    assert inbox.completed and inbox.error is None


def test_seed_settings_send_version_v1_and_the_seed_spelling(
    h: Any, server: DeepgramServer, frames: Frames
) -> None:
    conn, inbox = open_agent(h, server)
    conn.send_settings(seed_settings())
    inbox.wait_for(a.SettingsApplied)
    (sent,) = frames.text
    assert json.loads(sent) == {
        "type": "Settings",
        "audio": {
            "input": {"encoding": "linear16", "sample_rate": 16000},
            "output": {"encoding": "linear16", "sample_rate": 16000},
        },
        "agent": {
            "listen": {
                "provider": {
                    "version": "v1",
                    "type": "deepgram",
                    "model": "nova-3",
                    "smart_format": True,
                }
            },
            "think": {
                "provider": {"type": "open_ai", "model": "gpt-4o-mini", "temperature": 0.7},
                "prompt": 'Reply only and explicitly with "OK".',
            },
            "speak": {"provider": {"type": "deepgram", "model": "aura-2-asteria-en"}},
        },
    }
    h.close(conn)


def test_invalid_settings_raise_before_anything_is_sent(
    h: Any, server: DeepgramServer, frames: Frames
) -> None:
    conn, inbox = open_agent(h, server)
    think = a.ThinkSettings(provider=a.OpenAiThinkProvider(model="gpt-4o-mini", temperature=5.0))
    bad_agent = a.Agent(think=think)
    with pytest.raises(InvalidMessageError) as info:
        conn.send_settings(a.Settings(audio=a.Audio(), agent=bad_agent))
    assert info.value.field == "agent.think.provider.temperature"
    with pytest.raises(InvalidMessageError) as info:
        conn.send_settings(
            AgentV1SettingsMessage(
                audio=AgentV1AudioConfig(
                    input=AgentV1AudioInput(encoding="linear16", sample_rate=0)
                ),
                agent=AgentV1Agent(),
            )
        )
    assert info.value.field == "audio.input.sample_rate"
    with pytest.raises(InvalidInputError):
        conn.send_control(AgentV1ControlMessage(type="Finalize"))  # type: ignore[arg-type]
    good = native_settings()
    conn.send_settings(good)
    inbox.wait_for(a.SettingsApplied)
    assert frames.text == [wire(good)]  # nothing of the refused messages reached the server
    h.close(conn)


# --- every send method, exact JSON ---------------------------------------------------------------


def test_control_and_update_messages_exact_json(
    h: Any, server: DeepgramServer, frames: Frames
) -> None:
    flux = a.ListenProviderV2(model="flux-general-en")
    conn, inbox = open_agent(h, server)
    conn.send_settings(native_settings(listen=flux))
    inbox.wait_for(a.SettingsApplied)
    update_think = a.UpdateThink(
        think=a.ThinkSettings(
            provider=a.AnthropicThinkProvider(model="claude-3-5-haiku-latest"), prompt="New."
        )
    )
    update_listen = a.UpdateListen(
        listen=a.ListenUpdateSettings(
            provider=a.ListenProviderV2(model="flux-general-en", eot_threshold=0.8)
        )
    )
    conn.send_control(AgentV1ControlMessage(type="KeepAlive"))
    conn.send_update_speak(
        AgentV1UpdateSpeakMessage(
            speak=AgentV1SpeakProviderConfig(
                provider=AgentV1DeepgramSpeakProvider(type="deepgram", model="aura-2-orion-en")
            )
        )
    )
    conn.send_update_prompt(AgentV1UpdatePromptMessage(prompt="Be brief."))
    conn.send_update_think(update_think)
    conn.send_update_listen(update_listen)
    conn.send_keep_alive()
    conn.send_update_prompt(a.UpdatePrompt(prompt="Last."))
    inbox.wait_for(a.PromptUpdated, 2)
    assert frames.text[1:] == [
        '{"type":"KeepAlive"}',
        '{"type":"UpdateSpeak","speak":{"provider":{"type":"deepgram","model":"aura-2-orion-en"}}}',
        '{"type":"UpdatePrompt","prompt":"Be brief."}',
        wire(update_think),
        '{"type":"UpdateListen","listen":{"provider":{"version":"v2","type":"deepgram",'
        '"model":"flux-general-en","eot_threshold":0.8}}}',
        '{"type":"KeepAlive"}',
        '{"type":"UpdatePrompt","prompt":"Last."}',
    ]
    acks = [t for t in inbox.types() if t.endswith("Updated")]
    assert acks == [
        "SpeakUpdated",
        "PromptUpdated",
        "ThinkUpdated",
        "ListenUpdated",
        "PromptUpdated",
    ]
    h.close(conn)


def test_injections_exact_json_and_replies(h: Any, server: DeepgramServer, frames: Frames) -> None:
    conn, inbox = open_agent(h, server)
    conn.send_settings(native_settings())
    inbox.wait_for(a.SettingsApplied)
    conn.send_inject_agent_message(AgentV1InjectAgentMessageMessage(message="Hello there."))
    inbox.wait_for(a.LatencyReport)
    conn.send_inject_user_message(AgentV1InjectUserMessageMessage(content="good morning"))
    inbox.wait_for(a.LatencyReport, 2)
    conn.send_inject_agent_message(a.InjectAgentMessage(message="Bye.", behavior="queue"))
    inbox.wait_for(a.LatencyReport, 3)
    assert frames.text[1:] == [
        '{"type":"InjectAgentMessage","message":"Hello there."}',
        '{"type":"InjectUserMessage","content":"good morning"}',
        '{"type":"InjectAgentMessage","message":"Bye.","behavior":"queue"}',
    ]
    said = [(m.role, m.content) for m in inbox.of(a.ConversationText)]
    assert said == [
        ("assistant", "Hello there."),
        ("user", "good morning"),
        ("assistant", "You said: good morning"),
        ("assistant", "Bye."),
    ]
    h.close(conn)


def test_media_and_function_call_response_exact_frames(
    h: Any, server: DeepgramServer, frames: Frames
) -> None:
    conn, inbox = open_agent(h, server)
    conn.send_settings(native_settings(functions=[WEATHER]))
    inbox.wait_for(a.SettingsApplied)
    audio = pcm16(concat(silence(0.1), tone(0.6), silence(0.7)))
    pieces = list(chunks(audio, 3200))
    for index, piece in enumerate(pieces):
        conn.send_media(AgentV1MediaMessage(data=piece) if index % 2 else piece)
    (request,) = inbox.wait_for(a.FunctionCallRequest)
    (call,) = request.functions
    conn.send_function_call_response(
        AgentV1FunctionCallResponseMessage(id=call.id, name=call.name, content='{"temp": 21}')
    )
    inbox.wait_for(a.LatencyReport)
    assert frames.binary == pieces
    assert frames.text[1:] == [
        f'{{"type":"FunctionCallResponse","name":"get_weather","content":"{{\\"temp\\": 21}}",'
        f'"id":"{call.id}"}}'
    ]
    assert inbox.of(a.ConversationText)[-1].content == "Weather: temp 21."
    h.close(conn)


# --- agent audio, keepalive, errors ------------------------------------------------------------


def test_agent_audio_arrives_as_bytes_between_started_and_done(
    h: Any, server: DeepgramServer
) -> None:
    conn, inbox = open_agent(h, server)
    conn.send_settings(
        a.Settings(
            audio=a.Audio(output=a.AudioOutput(encoding="mulaw", sample_rate=8000)),
            agent=a.Agent(greeting="Welcome aboard."),
        )
    )
    inbox.wait_for(a.AgentAudioDone)
    types = inbox.types()
    start, done = types.index("AgentStartedSpeaking"), types.index("AgentAudioDone")
    between = inbox.items[start + 1 : done]
    assert between and all(type(m) is bytes for m in between)
    assert len(inbox.audio()) == CharTts.samples("Welcome aboard.", 8000)  # mu-law: 1 byte each
    h.close(conn)


def test_automatic_keepalive_keeps_an_idle_session_open(h: Any, frames: Frames) -> None:
    with make_server(frames, idle_timeout=0.5) as srv:
        conn, inbox = open_agent(h, srv, keepalive=0.15)
        conn.send_settings(native_settings())
        inbox.wait_for(a.SettingsApplied)
        ended = threading.Event()
        conn.messages.subscribe(on_error=lambda e: ended.set(), on_completed=ended.set)
        assert not ended.wait(1.2), "the idle session was closed despite KeepAlive"
        keepalives = [f for f in frames.text if f == '{"type":"KeepAlive"}']
        assert len(keepalives) >= 4
        conn.send_inject_agent_message(a.InjectAgentMessage(message="Still here."))
        inbox.wait_for(a.LatencyReport)
        h.close(conn)
        inbox.wait_end()
    assert inbox.completed and inbox.error is None


def test_no_keepalive_goes_out_before_settings(h: Any, frames: Frames) -> None:
    with make_server(frames, idle_timeout=5.0) as srv:
        conn, inbox = open_agent(h, srv, keepalive=0.1)
        inbox.wait_for(a.Welcome)
        ended = threading.Event()
        conn.messages.subscribe(on_error=lambda e: ended.set(), on_completed=ended.set)
        assert not ended.wait(0.6)  # six keepalive intervals without Settings
        assert frames.text == []  # not one KeepAlive: Settings must be the first message
        conn.send_settings(native_settings())
        inbox.wait_for(a.SettingsApplied)
        deadline = time.monotonic() + 5
        while frames.text.count('{"type":"KeepAlive"}') < 2 and time.monotonic() < deadline:
            ended.wait(0.05)
        assert frames.text[0].startswith('{"type":"Settings"')
        assert frames.text.count('{"type":"KeepAlive"}') >= 2  # and then KeepAlive when idle
        h.close(conn)
        inbox.wait_end()
    assert inbox.completed and inbox.error is None
    assert not any(type(m) is a.Error for m in inbox.items)


def test_without_keepalive_the_idle_session_ends_with_a_server_error(
    h: Any, frames: Frames
) -> None:
    with make_server(frames, idle_timeout=0.3) as srv:
        conn, inbox = open_agent(h, srv, keepalive=False)
        conn.send_settings(native_settings())
        inbox.wait_end()
        h.wait(conn)
    assert isinstance(inbox.error, ServerError)
    assert inbox.error.code == "CLIENT_MESSAGE_TIMEOUT"
    assert inbox.types()[-1] == "Error"


def test_a_fatal_error_ends_the_stream_with_server_error(h: Any, server: DeepgramServer) -> None:
    conn, inbox = open_agent(h, server)
    conn.send_settings(native_settings())
    conn.send_update_listen(
        a.UpdateListen(
            listen=a.ListenUpdateSettings(provider=a.ListenProviderV2(model="flux-general-en"))
        )
    )
    inbox.wait_end()
    assert isinstance(inbox.error, ServerError)
    assert inbox.error.code == "INVALID_SETTINGS"
    h.wait(conn)


# --- THE agent pipeline -------------------------------------------------------------------------


def weather(arguments: str) -> str:
    """The client-side function: a made-up forecast for the requested place."""
    place = json.loads(arguments).get("location", "nowhere")
    return json.dumps({"location": place, "temperature": 21, "condition": "sunny"})


def answer_function_calls(
    run: Callable[[str], str],
) -> Callable[[reactivex.Observable[Any]], reactivex.Observable[a.FunctionCallResponse]]:
    """messages -> the FunctionCallResponse of every client-side call requested."""
    return reactivex.compose(
        ops.filter(lambda m: isinstance(m, a.FunctionCallRequest)),
        ops.flat_map(lambda m: reactivex.from_iterable(m.functions)),
        ops.filter(lambda f: f.client_side),
        ops.map(lambda f: a.FunctionCallResponse(id=f.id, name=f.name, content=run(f.arguments))),
    )


def test_the_agent_pipeline(h: Any, server: DeepgramServer, frames: Frames) -> None:
    conn, inbox = open_agent(h, server)
    conn.messages.pipe(answer_function_calls(weather)).subscribe(conn.input)
    conn.send_settings(native_settings(functions=[WEATHER]))
    inbox.wait_for(a.SettingsApplied)
    speech = pcm16(concat(silence(0.1), tone(0.6), silence(0.7)))
    reactivex.from_iterable(chunks(speech, 3200)).subscribe(conn.input.on_next)
    inbox.wait_for(a.LatencyReport)
    assert inbox.types()[2:] == [
        "UserStartedSpeaking",
        "ConversationText",
        "History",
        "AgentThinking",
        "FunctionCallRequest",
        "History",
        "ConversationText",
        "History",
        "AgentStartedSpeaking",
        *["bytes"] * len([m for m in inbox.items if isinstance(m, bytes)]),
        "AgentAudioDone",
        "LatencyReport",
    ]
    user, assistant = inbox.of(a.ConversationText)
    assert (user.role, user.content) == ("user", "what is the weather in Paris")
    assert assistant.role == "assistant"
    assert assistant.content == "Weather: location Paris, temperature 21, condition sunny."
    assert len(inbox.audio()) == 2 * CharTts.samples(assistant.content, 16000)
    (request,) = inbox.of(a.FunctionCallRequest)
    (call,) = request.functions
    assert json.loads(call.arguments) == {"location": "Paris"}
    assert frames.text[-1] == wire(
        a.FunctionCallResponse(id=call.id, name="get_weather", content=weather(call.arguments))
    )
    (record,) = inbox.of(a.History)[1].function_calls
    assert record.response == weather(call.arguments)
    h.close(conn)
    inbox.wait_end()
    assert inbox.completed and inbox.error is None


# --- ordering under flow control ------------------------------------------------------------


def tagged(sender: int, index: int, size: int = 32_000) -> bytes:
    """A chunk of near-silence whose first bytes say who sent it and in which order."""
    return bytes((sender, index & 0xFF, 0, index >> 8)) + bytes(size - 4)


async def test_frames_keep_their_order_when_the_transport_pushes_back(frames: Frames) -> None:
    """Sends from the event loop go straight to the transport (no writer hop) only while
    nothing is queued and writing is not paused. A burst of 4.8 MB from the loop pauses the
    transport (the rest queues behind); then the loop and another thread send at once. Every
    frame arrives, each sender's in order."""
    from rxdeepgram import AsyncDeepgramClient

    count = 150
    with make_server(frames) as srv:
        client = AsyncDeepgramClient(api_key="k", base_url=srv.url)
        async with client.agent.v1.connect() as conn:
            conn.input.on_next(native_settings())
            await asyncio.sleep(0.1)  # Settings written: the queue is empty again
            for i in range(count):  # on the loop thread, without yielding
                conn.input.on_next(tagged(1, i))
            other = threading.Thread(
                target=lambda: [conn.input.on_next(tagged(2, i)) for i in range(count)]
            )
            other.start()
            for i in range(count):
                conn.input.on_next(tagged(3, i))
                if i % 10 == 0:
                    await asyncio.sleep(0)  # let the writer drain now and then
            other.join()
            deadline = time.monotonic() + 20
            while len(frames.binary) < 3 * count and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
    received = frames.binary
    assert len(received) == 3 * count
    assert frames.text[0].startswith('{"type":"Settings"')
    for sender in (1, 2, 3):
        mine = [f for f in received if f[0] == sender]
        assert [f[1] | f[3] << 8 for f in mine] == list(range(count)), sender
        assert mine == [tagged(sender, i) for i in range(count)]
    first_of_3 = next(i for i, f in enumerate(received) if f[0] == 3)
    assert all(f[0] == 1 for f in received[:count]) and first_of_3 >= count
