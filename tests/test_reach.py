"""Nothing Deepgram accepts is out of reach: ``send_raw``, ``with_extra``, ``request_options``,
the newest agent messages and deepgram-sdk 7's calls, against the local server.

Every connection test runs with the sync and the async client on both transports (the ``h``
fixture of ``conftest.py``). The SDK 7 tests are SDK 7 usage (its type names, ``recv()``,
iteration, ``send_*`` with and without a message) with only the imports changed.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import reactivex
from audio_util import chunks, concat, pcm16, silence, tone
from harness import Frames, Recorder

from rxdeepgram import (
    BadRequestError,
    ConnectionClosed,
    DeepgramError,
    InvalidInputError,
    InvalidMessageError,
    InvalidOptionError,
)
from rxdeepgram import compat as dg
from rxdeepgram.messages import RawFrame, agent_v1, listen_v1
from rxdeepgram.server import DeepgramServer, ScriptedEngine
from rxdeepgram.server.agent_v1 import DYNAMIC_LINE, AgentV1Handler

pytestmark = pytest.mark.timeout(40)

RAW = {"encoding": "linear16", "sample_rate": 16000}
SPEECH = pcm16(concat(tone(0.8), silence(1.2)))
AGENT_PATH = "/v1/agent/converse"


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(["hello world"])) as srv:
        yield srv


@pytest.fixture
def frames() -> Frames:
    return Frames()


@pytest.fixture
def agent_server(frames: Frames) -> Iterator[DeepgramServer]:
    handler = AgentV1Handler(realtime=False, on_client_frame=frames.record)
    with DeepgramServer(
        engine=ScriptedEngine(["hello world"]), routes={AGENT_PATH: handler}
    ) as srv:
        yield srv


def settings(**agent: Any) -> agent_v1.Settings:
    return agent_v1.Settings(
        audio=agent_v1.Audio(input=agent_v1.AudioInput(encoding="linear16", sample_rate=16000)),
        agent=agent_v1.Agent(
            listen=agent_v1.ListenSettings(provider=agent_v1.ListenProviderV1(model="nova-3")),
            think=agent_v1.ThinkSettings(
                provider=agent_v1.OpenAiThinkProvider(model="gpt-4o-mini")
            ),
            speak=agent_v1.SpeakSettings(
                provider=agent_v1.DeepgramSpeakProvider(model="aura-2-thalia-en")
            ),
            **agent,
        ),
    )


def first_of(rec: Recorder, cls: type[Any]) -> Any:
    return next(m for m in rec.items if isinstance(m, cls))


class Until(Recorder):
    """A Recorder whose ``wait_for(cls)`` returns once a message of ``cls`` arrived."""

    def __init__(self) -> None:
        super().__init__()
        import threading

        self._cond = threading.Condition()

    def on_next(self, item: Any) -> None:
        with self._cond:
            super().on_next(item)
            self._cond.notify_all()

    def on_error(self, error: Exception) -> None:
        with self._cond:
            super().on_error(error)
            self._cond.notify_all()

    def wait_for(
        self, cls: type[Any], count: int = 1, timeout: float = 15.0, *, fatal: bool = False
    ) -> list[Any]:
        with self._cond:
            ok = self._cond.wait_for(
                lambda: (
                    self.error is not None or sum(isinstance(m, cls) for m in self.items) >= count
                ),
                timeout,
            )
        assert ok and (fatal or self.error is None), (self.types(), self.error)
        return [m for m in self.items if isinstance(m, cls)]


# --- send_raw --------------------------------------------------------------------------------


def test_send_raw_sends_json_objects_and_binary_frames_as_given(
    h: Any, server: DeepgramServer
) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
        conn.messages.subscribe(rec)
        conn.send_raw({"type": "KeepAlive"})
        for chunk in chunks(SPEECH, 3200):
            conn.send_raw(chunk)  # a binary frame: audio
        conn.send_raw('{"type": "Finalize"}')  # a str holding a JSON object
        conn.send_raw({"type": "CloseStream"})  # closes like the struct would
        with pytest.raises(ConnectionClosed):
            conn.send_media(b"\x00\x00")
    rec.wait()
    assert rec.completed and rec.error is None
    finals = [m for m in rec.items if isinstance(m, listen_v1.Results) and m.is_final]
    assert finals[0].channel.alternatives[0].transcript == "hello world"
    assert isinstance(rec.items[-1], listen_v1.Metadata)


def test_send_raw_checks_its_input_at_the_caller(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
        with pytest.raises(InvalidInputError, match="not JSON"):
            conn.send_raw("{not json")
        with pytest.raises(InvalidInputError, match="JSON object"):
            conn.send_raw("[1, 2]")
        with pytest.raises(InvalidInputError, match="not JSON-encodable"):
            conn.send_raw({"type": "X", "when": object()})
        with pytest.raises(InvalidInputError, match="takes a dict"):
            conn.send_raw(42)
        conn.input.on_next(RawFrame({"type": "KeepAlive"}))  # the same through input


def test_send_raw_on_a_resumable_connection(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v1", model="nova-3", reconnect=True, **RAW) as conn:
        conn.messages.subscribe(rec)
        conn.send_raw({"type": "KeepAlive"})
        for chunk in chunks(SPEECH, 3200):
            conn.send_raw(chunk)
        conn.send_raw({"type": "CloseStream"})
    rec.wait()
    assert rec.completed and rec.error is None
    assert any(
        isinstance(m, listen_v1.Results) and m.channel.alternatives[0].transcript == "hello world"
        for m in rec.items
    )
    assert isinstance(rec.items[-1], listen_v1.Metadata)


# --- the agent's newest messages, and with_extra -----------------------------------------------


def test_think_live_custom_messages_and_dynamic_injection(
    h: Any, agent_server: DeepgramServer, frames: Frames
) -> None:
    client = h.client(base_url=agent_server.url)
    rec = Until()
    with h.connect(client, "agent.v1") as conn:
        conn.messages.subscribe(rec)
        conn.input.on_next(settings())
        rec.wait_for(agent_v1.SettingsApplied)
        # dynamic injection needs think_live: refused until it is set
        conn.input.on_next(agent_v1.InjectAgentMessage(is_dynamic=True))
        rec.wait_for(agent_v1.InjectionRefused)
        live = agent_v1.ThinkLiveSettings(
            provider=agent_v1.ThinkLiveProvider(frustration_max_count=2)
        )
        conn.input.on_next(agent_v1.UpdateThinkLive(think_live=live))
        rec.wait_for(agent_v1.ThinkLiveUpdated)
        conn.input.on_next(agent_v1.CustomToThinkProvider(content={"mood": ["calm", 1]}))
        conn.send_raw({"type": "__customToThinkProvider", "content": "raw"})
        custom = rec.wait_for(agent_v1.CustomFromThinkProvider, 2)
        assert [m.content for m in custom] == [{"mood": ["calm", 1]}, "raw"]
        conn.input.on_next(agent_v1.InjectAgentMessage(is_dynamic=True, behavior="queue"))
        said = rec.wait_for(agent_v1.AgentAudioDone)
        assert said
        conn.input.on_next(agent_v1.InjectUserMessage(content="this is ridiculous"))
        conn.input.on_next(agent_v1.InjectUserMessage(content="I am so frustrated"))
        frustrations = rec.wait_for(agent_v1.FrustrationDetected, 2)
    texts = [m for m in rec.items if isinstance(m, agent_v1.ConversationText)]
    filler = [m for m in texts if m.content == DYNAMIC_LINE]
    assert [m.conversational_behavior for m in filler] == ["filler"]
    assert {m.conversational_behavior for m in texts if m is not filler[0]} == {"default"}
    assert [(m.count, m.escalated) for m in frustrations] == [(1, False), (2, True)]
    sent = [json.loads(f) for f in frames.text]
    assert {"type": "UpdateThink_Live", "think_live": {"provider": {
        "type": "deepgram", "version": "v1", "frustration_max_count": 2}}} in sent  # fmt: skip
    assert {"type": "InjectAgentMessage", "is_dynamic": True} in sent


def test_update_listen_with_a_v1_provider(h: Any, agent_server: DeepgramServer) -> None:
    client = h.client(base_url=agent_server.url)
    rec = Until()
    with h.connect(client, "agent.v1") as conn:
        conn.messages.subscribe(rec)
        conn.send_settings(settings())
        rec.wait_for(agent_v1.SettingsApplied)
        provider = agent_v1.ListenProviderV1(model="nova-3", keyterms=["Deepgram"])
        conn.send_update_listen(
            agent_v1.UpdateListen(listen=agent_v1.ListenUpdateSettings(provider=provider))
        )
        rec.wait_for(agent_v1.ListenUpdated)
        other = agent_v1.ListenProviderV1(model="nova-2")  # not the session's model: refused
        conn.send_update_listen(
            agent_v1.UpdateListen(listen=agent_v1.ListenUpdateSettings(provider=other))
        )
        rec.wait_for(agent_v1.Error, fatal=True)
    assert first_of(rec, agent_v1.Error).code == "INVALID_SETTINGS"


def test_with_extra_fields_reach_the_wire_beside_the_modelled_ones(
    h: Any, agent_server: DeepgramServer, frames: Frames
) -> None:
    client = h.client(base_url=agent_server.url)
    rec = Until()
    extended = settings().with_extra(
        {"agent": {"think": {"provider": {"new_knob": 0.5}}}, "new_flag": True}
    )
    assert isinstance(extended, agent_v1.Settings)  # still the typed message
    with h.connect(client, "agent.v1") as conn:
        conn.messages.subscribe(rec)
        conn.input.on_next(extended)
        rec.wait_for(
            agent_v1.Error, fatal=True
        )  # the local server, like Deepgram's, refuses unknown fields
    sent = json.loads(frames.text[0])
    assert sent["new_flag"] is True
    assert sent["agent"]["think"]["provider"] == {
        "type": "open_ai",
        "model": "gpt-4o-mini",
        "new_knob": 0.5,
    }
    assert "new_knob" in first_of(rec, agent_v1.Error).description


# --- request_options -------------------------------------------------------------------------


def test_additional_query_parameters_reach_the_url(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    options = {"additional_query_parameters": {"interim_results": True, "language_hint": "en"}}
    with h.connect(client, "listen.v1", model="nova-3", request_options=options, **RAW) as conn:
        assert "interim_results=true" in conn.url and "language_hint=en" in conn.url
    unknown = {"additional_query_parameters": {"brand_new_option": "x y"}}
    with (
        pytest.raises(BadRequestError, match="brand_new_option"),
        h.connect(client, "listen.v1", model="nova-3", request_options=unknown, **RAW),
    ):
        pass  # the local server refuses what it does not know: the parameter was in the URL


@pytest.mark.parametrize(
    "key", ["timeout", "max_retries", "additional_body_parameters", "chunk_size", "typo"]
)
def test_request_options_it_cannot_honour_are_refused(h: Any, key: str) -> None:
    client = h.client(api_key="k", base_url="ws://127.0.0.1:9")
    with pytest.raises(InvalidOptionError, match=key) as info:
        client.listen.v1.connect(model="nova-3", request_options={key: 1})
    assert info.value.option == f"request_options[{key!r}]"


# --- deepgram-sdk 7 ports ----------------------------------------------------------------------


def test_sdk7_speak_port(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    voice = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 24000}
    if h.kind == "sync":
        with client.speak.v1.connect(**voice) as connection:
            connection.send_text(dg.SpeakV1Text(type="Speak", text="Hello there."))
            connection.send_flush(dg.SpeakV1Flush(type="Flush"))
            audio, first = b"", connection.recv()
            for message in connection:
                if isinstance(message, bytes):
                    audio += message
                elif isinstance(message, dg.SpeakV1Flushed):
                    break
            connection.send_close()
            rest = list(connection)
    else:

        async def main() -> tuple[Any, bytes, list[Any]]:
            async with client.speak.v1.connect(**voice) as connection:
                await connection.send_text(dg.SpeakV1Text(text="Hello there."))
                await connection.send_flush()
                audio, first = b"", await connection.recv()
                async for message in connection:
                    if isinstance(message, bytes):
                        audio += message
                    elif isinstance(message, dg.SpeakV1Flushed):
                        break
                await connection.send_close(dg.SpeakV1Close(type="Close"))
                rest = [m async for m in connection]
            return first, audio, rest

        first, audio, rest = h.run(main())
    assert isinstance(first, dg.SpeakV1Metadata)
    assert len(audio) > 0
    assert not any(isinstance(m, bytes) for m in rest)  # everything came before Flushed


@pytest.mark.parametrize("reconnect", [False, True], ids=["plain", "resumable"])
def test_sdk7_listen_port(h: Any, server: DeepgramServer, reconnect: bool) -> None:
    client = h.client(base_url=server.url)
    audio = pcm16(tone(0.9))  # speech without a pause: nothing final until Finalize
    options = {"model": "nova-3", "reconnect": reconnect, **RAW}
    if h.kind == "sync":
        with client.listen.v1.connect(**options) as connection:
            for chunk in chunks(audio, 3200):
                connection.send_media(chunk)
            connection.send_finalize(dg.ListenV1Finalize(type="Finalize"))
            for message in connection:
                if isinstance(message, dg.ListenV1Results) and message.from_finalize:
                    final = message
                    break
            connection.send_keep_alive()
            connection.send_close_stream(dg.ListenV1CloseStream(type="CloseStream"))
            rest = list(connection)
            with pytest.raises(ConnectionClosed):
                connection.recv()
    else:

        async def main() -> tuple[Any, list[Any]]:
            async with client.listen.v1.connect(**options) as connection:
                for chunk in chunks(audio, 3200):
                    await connection.send_media(chunk)
                await connection.send_finalize()
                async for message in connection:
                    if isinstance(message, dg.ListenV1Results) and message.from_finalize:
                        final = message
                        break
                await connection.send_keep_alive(dg.ListenV1KeepAlive(type="KeepAlive"))
                await connection.send_close_stream()
                rest = [m async for m in connection]
                with pytest.raises(ConnectionClosed):
                    await connection.recv()
            return final, rest

        final, rest = h.run(main())
    assert final.channel.alternatives[0].transcript == "hello world"
    assert isinstance(rest[-1], dg.ListenV1Metadata)


def test_sdk7_listen_v2_port_with_a_plain_dict(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    options = {"model": "flux-general-en", **RAW}
    configure = {"type": "Configure", "thresholds": {"eot_threshold": 0.8}}
    if h.kind == "sync":
        with client.listen.v2.connect(**options) as connection:
            connection.send_configure(configure)
            seen = [connection.recv(), connection.recv()]
            connection.send_close_stream()
    else:

        async def main() -> list[Any]:
            async with client.listen.v2.connect(**options) as connection:
                await connection.send_configure(configure)
                seen = [await connection.recv(), await connection.recv()]
                await connection.send_close_stream(dg.ListenV2CloseStream(type="CloseStream"))
            return seen

        seen = h.run(main())
    assert isinstance(seen[0], dg.ListenV2Connected)
    assert isinstance(seen[1], dg.ListenV2ConfigureSuccess)
    assert seen[1].thresholds.eot_threshold == 0.8


def sdk7_settings() -> Any:
    # deepgram-sdk 7's README agent example, imports changed (audio at 16 kHz for the server)
    return dg.AgentV1Settings(
        audio=dg.AgentV1SettingsAudio(
            input=dg.AgentV1SettingsAudioInput(encoding="linear16", sample_rate=16000)
        ),
        agent=dg.AgentV1SettingsAgent(
            listen=dg.AgentV1SettingsAgentListen(
                provider=dg.AgentV1SettingsAgentListenProvider_V1(type="deepgram", model="nova-3")
            ),
            think=dg.ThinkSettingsV1(
                provider=dg.ThinkSettingsV1Provider_OpenAi(type="open_ai", model="gpt-4o-mini"),
                prompt="You are a helpful AI assistant.",
            ),
            speak=dg.SpeakSettingsV1(
                provider=dg.SpeakSettingsV1Provider_Deepgram(
                    type="deepgram", model="aura-2-asteria-en"
                )
            ),
        ),
    )


def test_sdk7_agent_port(h: Any, agent_server: DeepgramServer, frames: Frames) -> None:
    client = h.client(base_url=agent_server.url)
    think_live = dg.AgentV1UpdateThinkLive(
        think_live=dg.ThinkLiveSettingsV1(
            provider=dg.DeepgramThinkLiveProviderV1(type="deepgram", version="v1")
        )
    )
    custom = dg.AgentV1CustomToThinkProvider(content={"k": 1})
    if h.kind == "sync":
        with client.agent.v1.connect() as agent:
            agent.send_settings(sdk7_settings())
            seen = [agent.recv(), agent.recv()]
            agent.send_update_think_live(think_live)
            agent.send_keep_alive(dg.AgentV1KeepAlive(type="KeepAlive"))
            agent.send_custom_to_think_provider(custom)
            seen += [agent.recv(), agent.recv()]
            agent.send_inject_dynamic_agent_message(dg.AgentV1InjectDynamicAgentMessage())
            for message in agent:
                seen.append(message)
                if isinstance(message, dg.AgentV1AgentAudioDone):
                    break
    else:

        async def main() -> list[Any]:
            async with client.agent.v1.connect() as agent:
                await agent.send_settings(sdk7_settings())
                seen = [await agent.recv(), await agent.recv()]
                await agent.send_update_think_live(think_live)
                await agent.send_keep_alive()
                await agent.send_custom_to_think_provider(custom)
                seen += [await agent.recv(), await agent.recv()]
                await agent.send_inject_dynamic_agent_message(
                    dg.AgentV1InjectDynamicAgentMessage(type="InjectAgentMessage")
                )
                async for message in agent:
                    seen.append(message)
                    if isinstance(message, dg.AgentV1AgentAudioDone):
                        break
            return seen

        seen = h.run(main())
    assert isinstance(seen[0], dg.AgentV1Welcome)
    assert isinstance(seen[1], dg.AgentV1SettingsApplied)
    assert isinstance(seen[2], dg.AgentV1ThinkLiveUpdated)
    assert isinstance(seen[3], dg.AgentV1CustomFromThinkProvider) and seen[3].content == {"k": 1}
    said = [m for m in seen if isinstance(m, dg.AgentV1ConversationText)]
    assert [(m.content, m.conversational_behavior) for m in said] == [(DYNAMIC_LINE, "filler")]
    sent = json.loads(frames.text[0])
    assert sent["agent"]["listen"]["provider"] == {
        "type": "deepgram",
        "version": "v1",
        "model": "nova-3",
    }


# --- function calls: Think Live filler, FunctionCallCancelled ----------------------------------


def weather(**flags: Any) -> agent_v1.Function:
    return agent_v1.Function(
        name="get_weather",
        description="Current weather for a place.",
        parameters={"type": "object", "properties": {"location": {"type": "string"}}},
        **flags,
    )


def with_functions(*functions: agent_v1.Function, live: bool = True) -> agent_v1.Settings:
    base = settings(think_live=agent_v1.ThinkLiveSettings() if live else None)
    assert isinstance(base.agent, agent_v1.Agent) and isinstance(
        base.agent.think, agent_v1.ThinkSettings
    )
    think = msgspec.structs.replace(base.agent.think, functions=list(functions))
    return msgspec.structs.replace(base, agent=msgspec.structs.replace(base.agent, think=think))


def fillers(rec: Recorder) -> list[agent_v1.ConversationText]:
    return [
        m
        for m in rec.items
        if isinstance(m, agent_v1.ConversationText) and m.conversational_behavior == "filler"
    ]


def test_filler_lines_while_a_function_call_is_outstanding(
    h: Any, agent_server: DeepgramServer
) -> None:
    client = h.client(base_url=agent_server.url)
    rec = Until()
    function = weather(
        initial_agent_filler=True, agent_filler_max_count=1, agent_filler_interval_ms=1000
    )
    with h.connect(client, "agent.v1") as conn:
        conn.messages.subscribe(rec)
        conn.send_settings(with_functions(function))
        rec.wait_for(agent_v1.SettingsApplied)
        conn.send_inject_user_message(
            agent_v1.InjectUserMessage(content="what is the weather in Paris")
        )
        (request,) = rec.wait_for(agent_v1.FunctionCallRequest)
        rec.wait_for(agent_v1.AgentAudioDone, 2)  # the first filler line, then one more
        (call,) = request.functions
        conn.send_function_call_response(
            agent_v1.FunctionCallResponse(id=call.id, name=call.name, content='{"temp": 21}')
        )
        rec.wait_for(agent_v1.AgentAudioDone, 3)
    said = [m for m in rec.items if isinstance(m, agent_v1.ConversationText)]
    assert [(m.role, m.content, m.conversational_behavior) for m in said] == [
        ("user", "what is the weather in Paris", "default"),
        ("assistant", "Let me check on that.", "filler"),
        ("assistant", "Let me check on that.", "filler"),
        ("assistant", "Weather: temp 21.", "default"),
    ]


def test_no_filler_unless_asked_for_and_filler_fields_need_think_live(
    h: Any, agent_server: DeepgramServer
) -> None:
    client = h.client(base_url=agent_server.url)
    rec = Until()
    with h.connect(client, "agent.v1") as conn:
        conn.messages.subscribe(rec)
        # Think Live on, but the function asks for no filler line
        conn.input.on_next(with_functions(weather(agent_filler_max_count=0), live=True))
        rec.wait_for(agent_v1.SettingsApplied)
        conn.send_inject_user_message(agent_v1.InjectUserMessage(content="weather in Oslo"))
        (request,) = rec.wait_for(agent_v1.FunctionCallRequest)
        (call,) = request.functions
        conn.send_function_call_response(
            agent_v1.FunctionCallResponse(id=call.id, name=call.name, content='{"temp": 3}')
        )
        rec.wait_for(agent_v1.AgentAudioDone)
    assert fillers(rec) == []
    with pytest.raises(InvalidMessageError, match="think_live"):
        agent_v1.validate_settings(with_functions(weather(initial_agent_filler=True), live=False))


@pytest.mark.parametrize("deferred", [False, True], ids=["speculative", "defer_until_eot"])
def test_speaking_again_cancels_an_unanswered_call(
    h: Any, agent_server: DeepgramServer, deferred: bool
) -> None:
    client = h.client(base_url=agent_server.url)
    rec = Until()
    function = weather(defer_until_eot=True) if deferred else weather()
    with h.connect(client, "agent.v1") as conn:
        conn.messages.subscribe(rec)
        conn.send_settings(with_functions(function, live=False))
        rec.wait_for(agent_v1.SettingsApplied)
        conn.send_inject_user_message(agent_v1.InjectUserMessage(content="weather in Rome"))
        (request,) = rec.wait_for(agent_v1.FunctionCallRequest)
        (call,) = request.functions
        for chunk in chunks(pcm16(concat(tone(0.6), silence(0.8))), 3200):
            conn.send_media(chunk)  # the user speaks again before the answer
        rec.wait_for(agent_v1.UserStartedSpeaking)
        if deferred:  # kept: its answer still makes the reply
            conn.send_function_call_response(
                agent_v1.FunctionCallResponse(id=call.id, name=call.name, content='{"temp": 9}')
            )
            rec.wait_for(agent_v1.AgentAudioDone)
        else:
            (cancelled,) = rec.wait_for(agent_v1.FunctionCallCancelled)
            assert cancelled.functions == [agent_v1.CancelledFunction(id=call.id, name=call.name)]
            rec.wait_for(agent_v1.AgentAudioDone)  # the next turn ("hello world") is answered
    said = [m.content for m in rec.items if isinstance(m, agent_v1.ConversationText)]
    cancels = [m for m in rec.items if isinstance(m, agent_v1.FunctionCallCancelled)]
    if deferred:
        assert cancels == [] and "Weather: temp 9." in said
    else:
        assert len(cancels) == 1 and not any(s.startswith("Weather") for s in said)


# --- Listen V1: languages_hinted ---------------------------------------------------------------


def test_languages_hinted_with_language_multi(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    for options, hinted in (
        ({"language": "multi", "language_hint": ["ES", "zh-hk"]}, ["es", "zh-HK"]),
        ({"language": "multi"}, []),
        ({}, None),
    ):
        rec = Recorder()
        with h.connect(client, "listen.v1", model="nova-3", **options, **RAW) as conn:
            conn.messages.subscribe(rec)
            for chunk in chunks(SPEECH, 3200):
                conn.send_media(chunk)
        rec.wait()
        results = [m for m in rec.items if isinstance(m, listen_v1.Results)]
        assert results
        seen = [a.languages_hinted for m in results for a in m.channel.alternatives]
        assert seen == [hinted] * len(seen)


async def _listen(conn: Any) -> None:
    await conn.start_listening()


def test_no_recv_queue_is_kept_for_handler_users(h: Any, server: DeepgramServer) -> None:
    """A connection read through on(MESSAGE) handlers keeps no recv() queue; a recv() then
    says so instead of returning a message from the middle of the stream."""
    client = h.client(base_url=server.url)
    voice = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 24000}
    rec = Until()
    with h.connect(client, "speak.v1", **voice) as conn:
        conn.on(dg.EventType.MESSAGE, rec.on_next)
        if h.kind == "sync":  # the seed's way: start_listening() in a thread of its own
            threading.Thread(target=conn.start_listening, daemon=True).start()
        else:
            asyncio.run_coroutine_threadsafe(_listen(conn), h.loop)
        conn.send_text("Hello there.")
        conn.send_flush()
        rec.wait_for(dg.SpeakV1Flushed)
        with pytest.raises(DeepgramError, match="not kept"):
            if h.kind == "sync":
                conn.recv()
            else:
                h.run(conn.recv())
    assert isinstance(rec.items[0], dg.SpeakV1Metadata)


def test_no_recv_queue_is_kept_for_rx_readers(h: Any, server: DeepgramServer) -> None:
    """A connection read through ``conn.messages`` keeps no recv() queue either, even when a
    seed-style send_* (which starts one while nothing reads the stream) came first: the queue
    lets go once a subscriber reads, and a recv() then says so."""
    client = h.client(base_url=server.url)
    voice = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 24000}
    rec = Until()
    with h.connect(client, "speak.v1", **voice) as conn:
        conn.send_text("Hello there.")  # nothing reads the stream yet: recv() may come
        conn.messages.subscribe(rec.on_next)  # now Rx reads it
        conn.send_flush()
        rec.wait_for(dg.SpeakV1Flushed)
        with pytest.raises(DeepgramError, match="not kept"):
            if h.kind == "sync":
                conn.recv()
            else:
                h.run(conn.recv())
    assert any(isinstance(m, bytes) for m in rec.items)


# --- the deepgram think provider ----------------------------------------------------------------


def deepgram_think(model: str, **flags: Any) -> agent_v1.Settings:
    base = settings()
    assert isinstance(base.agent, agent_v1.Agent)
    think = agent_v1.ThinkSettings(provider=agent_v1.DeepgramThinkProvider(model=model, **flags))
    agent = msgspec.structs.replace(base.agent, think=think)
    return msgspec.structs.replace(base, agent=agent)


@pytest.mark.parametrize(
    ("model", "flags", "warned"),
    [
        ("think-fast", {}, True),
        ("think-fast", {"voice_prompt_opt_out": True}, False),
        ("phonellm-mini-alpha-2-fp8", {}, False),
    ],
)
def test_deepgram_think_provider_voice_prompt(
    h: Any, agent_server: DeepgramServer, model: str, flags: dict[str, Any], warned: bool
) -> None:
    client = h.client(base_url=agent_server.url)
    rec = Until()
    with h.connect(client, "agent.v1") as conn:
        conn.messages.subscribe(rec)
        conn.send_settings(deepgram_think(model, **flags))
        rec.wait_for(agent_v1.SettingsApplied)
        conn.send_inject_user_message(agent_v1.InjectUserMessage(content="good morning"))
        rec.wait_for(agent_v1.AgentAudioDone)
    warnings = [m.code for m in rec.items if isinstance(m, agent_v1.Warning)]
    assert warnings == (["VOICE_PROMPT_ADDED"] if warned else [])
    said = [m.content for m in rec.items if isinstance(m, agent_v1.ConversationText)]
    assert said[-1] == "You said: good morning"


def test_think_fast_needs_the_model_improvement_program(
    h: Any, agent_server: DeepgramServer
) -> None:
    client = h.client(base_url=agent_server.url)
    rec = Until()
    opted_out = msgspec.structs.replace(deepgram_think("think-fast"), mip_opt_out=True)
    with h.connect(client, "agent.v1") as conn:
        conn.messages.subscribe(rec)
        conn.send_settings(opted_out)
        (error,) = rec.wait_for(agent_v1.Error, fatal=True)
    assert error.code == "INVALID_SETTINGS" and "think-fast" in error.description


def test_the_cold_operators_take_request_options_too(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    with pytest.raises(InvalidOptionError, match="max_retries"):
        client.listen.v1.transcribe(model="nova-3", request_options={"max_retries": 2}, **RAW)
    operator = client.listen.v1.transcribe(
        model="nova-3",
        request_options={"additional_query_parameters": {"brand_new_option": "1"}},
        **RAW,
    )
    rec = Recorder()
    if h.kind == "sync":
        reactivex.of(SPEECH).pipe(operator).subscribe(rec)
    else:

        async def subscribe() -> None:  # the async client's operators run on its loop
            reactivex.of(SPEECH).pipe(operator).subscribe(rec)

        h.run(subscribe())
    rec.wait()
    assert isinstance(rec.error, BadRequestError)  # the local server refused the new option
    assert "brand_new_option" in str(rec.error)
