"""Agent V1 specifics: the Settings tree, provider unions, validation, History, function calls.

The generic per-fixture decode tests of every channel live in test_messages.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest
import yaml
from conftest import EXAMPLES, SPEC, shared

from rxdeepgram.errors import InvalidMessageError
from rxdeepgram.messages import MessageBase, Unknown, encode
from rxdeepgram.messages import agent_v1 as a

AGENT = EXAMPLES / "agent-v1"
CLIENT_FIXTURES = sorted((AGENT / "client").glob("*.json"))


def _fixture(path: str) -> str:
    return (AGENT / path).read_text()


def _as_json(value: object) -> Any:
    """The wire JSON of a message (the library's encoder) or of a nested struct, parsed."""
    data = encode(value) if isinstance(value, MessageBase) else msgspec.json.encode(value)
    return json.loads(data)


# --- fixtures: strict decode, identical re-encode, valid -------------------------------------


@pytest.mark.parametrize("path", CLIENT_FIXTURES, ids=lambda p: p.name)
def test_client_fixture_decodes_strictly_round_trips_and_validates(path: Path) -> None:
    text = path.read_text()
    message = a.decode_client(text)
    assert isinstance(message, a.CLIENT_MESSAGES)
    assert message.type == path.name.split(".")[0]
    assert _as_json(message) == json.loads(text)
    a.validate_message(message)  # raises InvalidMessageError if any rule fails
    if isinstance(message, a.Settings):
        a.validate_settings(message)


def test_client_fixtures_cover_every_json_client_message_but_force_end_turn() -> None:
    # ForceEndTurn and the SDK 7.17 additions (UpdateThink_Live, __customToThinkProvider) are
    # post-spec: the shared fixtures predate them (tests/test_sdk_coverage.py covers them).
    tags = {p.name.split(".")[0] for p in CLIENT_FIXTURES}
    post_spec = {"ForceEndTurn", "UpdateThink_Live", "__customToThinkProvider"}
    expected = {cls.__struct_config__.tag for cls in a.CLIENT_MESSAGES} - post_spec
    assert tags == expected


def test_settings_fixture_decodes_to_typed_tree() -> None:
    settings = a.decode_client(_fixture("client/Settings.json"))
    assert isinstance(settings, a.Settings)
    assert settings.flags == a.Flags(history=True)
    assert settings.audio.input == a.AudioInput(encoding="linear16", sample_rate=16000)
    agent = settings.agent
    assert isinstance(agent, a.Agent)
    assert agent.listen is not None
    assert isinstance(agent.listen.provider, a.ListenProviderV1)
    assert agent.listen.provider.smart_format is True
    assert isinstance(agent.think, a.ThinkSettings)
    assert isinstance(agent.think.provider, a.OpenAiThinkProvider)
    assert agent.think.provider.temperature == 0.7
    functions = agent.think.functions
    assert functions is not None and [f.name for f in functions] == [
        "check_order_status",
        "get_store_hours",
    ]
    assert functions[0].endpoint is None  # client-side function
    assert functions[1].endpoint == a.FunctionEndpoint(
        url="https://api.example.com/store/hours",
        method="post",
        headers={"authorization": "Bearer EXAMPLE_TOKEN"},
    )
    assert isinstance(agent.speak, a.SpeakSettings)
    assert agent.speak.provider == a.DeepgramSpeakProvider(
        model="aura-2-thalia-en", version="v1", speed=1.0
    )
    assert agent.context is not None and agent.context.messages is not None
    conversation, reply, calls = agent.context.messages
    assert (conversation.role, conversation.function_calls) == ("user", None)
    assert reply.role == "assistant"
    assert calls.role is None and calls.function_calls is not None
    assert calls.function_calls[0].client_side is True


def test_providers_fixture_decodes_every_provider_variant() -> None:
    settings = a.decode_client(_fixture("client/Settings.providers.json"))
    assert isinstance(settings, a.Settings) and isinstance(settings.agent, a.Agent)
    think, speak = settings.agent.think, settings.agent.speak
    assert isinstance(think, list) and isinstance(speak, list)
    assert [type(t.provider) for t in think] == [
        a.GoogleThinkProvider,
        a.GroqThinkProvider,
        a.AwsBedrockThinkProvider,
    ]
    assert think[0].context_length == "max"
    assert think[1].context_length == 15000 and isinstance(think[1].context_length, int)
    assert [type(s.provider) for s in speak] == [
        a.ElevenLabsSpeakProvider,
        a.CartesiaSpeakProvider,
        a.OpenAiSpeakProvider,
        a.AwsPollySpeakProvider,
    ]
    polly = speak[3].provider
    assert isinstance(polly, a.AwsPollySpeakProvider)
    assert polly.credentials.type == "sts" and polly.credentials.session_token is not None


def test_flux_fixture_speak_versions_share_one_struct() -> None:
    settings = a.decode_client(_fixture("client/Settings.flux.json"))
    assert isinstance(settings, a.Settings) and isinstance(settings.agent, a.Agent)
    assert settings.agent.listen is not None
    assert isinstance(settings.agent.listen.provider, a.ListenProviderV2)
    speak = settings.agent.speak
    assert isinstance(speak, list)
    assert speak[0].provider == a.DeepgramSpeakProvider(model="flux-alexis-en", version="v2")
    assert speak[1].provider == a.DeepgramSpeakProvider(model="aura-2-thalia-en")
    # version absent on the wire stays absent
    assert "version" not in _as_json(settings)["agent"]["speak"][1]["provider"]


# --- building settings from the classes ------------------------------------------------------


def test_seed_snippet_settings_give_the_expected_json() -> None:
    settings = a.Settings(
        audio=a.Audio(input=a.AudioInput(encoding="linear16", sample_rate=44100)),
        agent=a.Agent(
            listen=a.ListenSettings(
                provider=a.ListenProviderV1(type="deepgram", model="nova-3", smart_format=True)
            ),
            think=a.ThinkSettings(
                provider=a.OpenAiThinkProvider(model="gpt-4o-mini", temperature=0.7),
                prompt='Reply only and explicitly with "OK".',
            ),
            speak=a.SpeakSettings(provider=a.DeepgramSpeakProvider(model="aura-2-asteria-en")),
        ),
    )
    assert _as_json(settings) == {
        "type": "Settings",
        "audio": {"input": {"encoding": "linear16", "sample_rate": 44100}},
        "agent": {
            "listen": {
                "provider": {
                    "type": "deepgram",
                    "version": "v1",
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
    a.validate_settings(settings)


def test_listen_provider_always_carries_type_and_version() -> None:
    v1 = a.ListenProviderV1()
    v2 = a.ListenProviderV2(model="flux-general-en")
    assert _as_json(a.ListenSettings(provider=v1)) == {
        "provider": {"type": "deepgram", "version": "v1"}
    }
    assert _as_json(a.ListenSettings(provider=v2)) == {
        "provider": {"type": "deepgram", "version": "v2", "model": "flux-general-en"}
    }


def test_flux_settings_built_from_classes_equal_the_fixture() -> None:
    prompt = "You are a concise phone assistant."
    settings = a.Settings(
        audio=a.Audio(
            input=a.AudioInput(encoding="mulaw", sample_rate=8000),
            output=a.AudioOutput(encoding="mulaw", sample_rate=8000, container="none"),
        ),
        agent=a.Agent(
            listen=a.ListenSettings(
                provider=a.ListenProviderV2(
                    model="flux-general-en",
                    eot_threshold=0.7,
                    eager_eot_threshold=0.5,
                    eot_timeout_ms=5000,
                    keyterms=["Deepgram"],
                )
            ),
            think=[
                a.ThinkSettings(
                    provider=a.AnthropicThinkProvider(
                        version="v1", model="claude-sonnet-4-20250514", temperature=0.5
                    ),
                    prompt=prompt,
                ),
                a.ThinkSettings(
                    provider=a.OpenAiThinkProvider(model="gpt-4.1-mini"), prompt=prompt
                ),
            ],
            speak=[
                a.SpeakSettings(
                    provider=a.DeepgramSpeakProvider(version="v2", model="flux-alexis-en")
                ),
                a.SpeakSettings(provider=a.DeepgramSpeakProvider(model="aura-2-thalia-en")),
            ],
            greeting="Hello, how can I help?",
        ),
    )
    assert _as_json(settings) == json.loads(_fixture("client/Settings.flux.json"))


def test_agent_may_be_a_stored_config_uuid() -> None:
    settings = a.Settings(audio=a.Audio(), agent="5dc3e44d-aa0b-4d3c-ac37-5353f234e19e")
    assert _as_json(settings) == {
        "type": "Settings",
        "audio": {},
        "agent": "5dc3e44d-aa0b-4d3c-ac37-5353f234e19e",
    }
    a.validate_settings(settings)
    with pytest.raises(InvalidMessageError) as info:
        a.validate_settings(a.Settings(audio=a.Audio(), agent="my-agent"))
    assert info.value.field == "agent"


def test_context_message_from_history_keeps_both_shapes() -> None:
    said = a.History(role="user", content="Hi")
    calls = a.History(
        function_calls=[
            a.HistoryFunctionCall(
                id="fc_1",
                name="lookup",
                client_side=False,
                arguments="{}",
                response='{"ok": true}',
                thought_signature="sig",
            )
        ]
    )
    context = a.Context(messages=[a.ContextMessage.from_history(h) for h in (said, calls)])
    assert _as_json(context) == {
        "messages": [
            {"type": "History", "role": "user", "content": "Hi"},
            {
                "type": "History",
                "function_calls": [
                    {
                        "id": "fc_1",
                        "name": "lookup",
                        "client_side": False,
                        "arguments": "{}",
                        "response": '{"ok": true}',
                        "thought_signature": "sig",
                    }
                ],
            },
        ]
    }


def test_force_end_turn_and_keep_alive_encode_as_bare_tags() -> None:
    assert _as_json(a.ForceEndTurn()) == {"type": "ForceEndTurn"}
    assert _as_json(a.KeepAlive()) == {"type": "KeepAlive"}
    assert a.decode_client('{"type": "ForceEndTurn"}') == a.ForceEndTurn()


# --- decode_client strictness and the version-less listen provider ----------------------------


def _settings_frame(provider: dict[str, Any]) -> str:
    return json.dumps(
        {"type": "Settings", "audio": {}, "agent": {"listen": {"provider": provider}}}
    )


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ({"type": "deepgram", "model": "nova-3", "smart_format": True}, a.ListenProviderV1),
        ({"type": "deepgram"}, a.ListenProviderV1),
        (
            {"type": "deepgram", "model": "flux-general-en", "eot_threshold": 0.8},
            a.ListenProviderV2,
        ),
    ],
)
def test_versionless_listen_provider_is_accepted_and_made_explicit(
    provider: dict[str, Any], expected: type
) -> None:
    message = a.decode_client(_settings_frame(provider))
    assert isinstance(message, a.Settings) and isinstance(message.agent, a.Agent)
    assert message.agent.listen is not None
    assert type(message.agent.listen.provider) is expected
    encoded = _as_json(message)["agent"]["listen"]["provider"]
    version = "v2" if expected is a.ListenProviderV2 else "v1"
    assert encoded == {**provider, "version": version}


@pytest.mark.parametrize(
    "frame",
    [
        _settings_frame({"type": "deepgram", "model": "nova-3", "eot_threshold": 0.7}),
        _settings_frame({"type": "deepgram", "version": "v3", "model": "nova-3"}),
        '{"type": "Settings", "audio": {}, "agent": {"think": {"provider": '
        '{"type": "mystery_llm", "model": "x"}}}}',
        '{"type": "Settings", "audio": {"input": {"encoding": "linear16", "sample_rate": 16000,'
        ' "channels": 1}}, "agent": {}}',
        '{"type": "Settings", "audio": {"input": {"encoding": "linear16", "sample_rate": 16000.0}},'
        ' "agent": {}}',
        '{"type": "InjectAgentMessage", "message": "hi", "behavior": "shout"}',
        '{"type": "Settings", "audio": {"input": {"encoding": "linear16"}}}',
        '{"type": "EndOfThought"}',
    ],
)
def test_decode_client_rejects_what_the_api_rejects(frame: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        a.decode_client(frame)


def test_decode_client_returns_audio_bytes() -> None:
    assert a.decode_client(b"\x00\x01") == b"\x00\x01"


# --- server messages --------------------------------------------------------------------------


def test_history_both_shapes() -> None:
    said = a.decode(_fixture("server/History.json"))
    assert isinstance(said, a.History)
    assert (said.role, said.function_calls) == ("assistant", None)
    assert said.content is not None and said.content.startswith("Your order 4572")
    calls = a.decode(_fixture("server/History.function_calls.json"))
    assert isinstance(calls, a.History)
    assert calls.role is None and calls.content is None
    assert calls.function_calls is not None
    assert calls.function_calls[0].name == "check_order_status"
    assert calls.function_calls[0].client_side is True


def test_function_call_request_client_side_and_server_side() -> None:
    client = a.decode(_fixture("server/FunctionCallRequest.json"))
    server = a.decode(_fixture("server/FunctionCallRequest.server_side.json"))
    assert isinstance(client, a.FunctionCallRequest) and isinstance(server, a.FunctionCallRequest)
    (to_run,) = client.functions
    assert to_run.client_side is True and to_run.thought_signature is None
    assert json.loads(to_run.arguments) == {"order_id": "4572"}
    (reported,) = server.functions
    assert reported.client_side is False
    assert reported.thought_signature == "CiQBVKhc7xN3bHyS0sLkq2mEXAMPLE"
    # the client answers a client-side call with the same id and name
    answer = a.FunctionCallResponse(id=to_run.id, name=to_run.name, content='{"status": "ok"}')
    a.validate_message(answer)
    assert _as_json(answer) == {
        "type": "FunctionCallResponse",
        "id": to_run.id,
        "name": "check_order_status",
        "content": '{"status": "ok"}',
    }


def test_function_call_response_directions_share_the_schema() -> None:
    assert a.FunctionCallResponse in a.CLIENT_MESSAGES
    assert a.ReceivedFunctionCallResponse in a.SERVER_MESSAGES
    received = a.decode(_fixture("server/FunctionCallResponse.no_id.json"))
    assert type(received) is a.ReceivedFunctionCallResponse
    assert isinstance(received, a.FunctionCallResponse) and received.id is None
    assert received.type == "FunctionCallResponse"
    # the server's may grow fields; the client's must not carry unknown ones
    frame = '{"type": "FunctionCallResponse", "id": "1", "name": "f", "content": "", "extra": 1}'
    assert a.decode(frame) == a.ReceivedFunctionCallResponse(id="1", name="f", content="")
    with pytest.raises(msgspec.ValidationError, match="extra"):
        a.decode_client(frame)
    sent = a.decode_client(_fixture("client/FunctionCallResponse.json"))
    assert type(sent) is a.FunctionCallResponse
    assert _as_json(sent) == _as_json(a.decode(_fixture("client/FunctionCallResponse.json")))
    with pytest.raises(InvalidMessageError) as info:
        a.validate_message(a.FunctionCallResponse(name="f", content="x"))
    assert info.value.field == "id"


def test_latency_report_accepts_legacy_stt_latency_and_end_of_thought() -> None:
    report = a.decode('{"type": "LatencyReport", "stt_latency": 0.2, "total_latency": 1}')
    assert report == a.LatencyReport(stt_latency=0.2, total_latency=1.0)
    assert a.decode('{"type": "EndOfThought"}') == a.EndOfThought()


def test_decode_is_total() -> None:
    audio = b"\x01\x02\x03"
    assert a.decode(audio) is audio
    for frame in [
        '{"type": "Settings", "audio": {}, "agent": {"think": {"provider": {"type": "x"}}}}',
        '{"type": "Welcome", "request_id": 7}',
        '{"type": "SomethingNew", "x": 1}',
        "not json",
    ]:
        result = a.decode(frame)
        assert isinstance(result, Unknown) and result.raw == frame
    assert a.decode('{"type": "Welcome"}') == a.Welcome(request_id="")  # lenient: see messages
    assert a.decode('{"type": "SomethingNew"}').type == "SomethingNew"  # type: ignore[union-attr]


def test_server_messages_ignore_unknown_fields() -> None:
    message = a.decode('{"type": "ConversationText", "role": "user", "content": "hi", "new": 1}')
    assert message == a.ConversationText(role="user", content="hi")


# --- validation rules -------------------------------------------------------------------------

_ENDPOINT = a.Endpoint(url="https://llm.example.com/v1", headers={"authorization": "Bearer X"})
_SPEAK_ENDPOINT = a.Endpoint(url="https://tts.example.com/speak", headers={})
_IAM = a.AwsCredentials(
    type="iam", region="us-east-1", access_key_id="AKIDEXAMPLE", secret_access_key="SECRETEXAMPLE"
)


def _with_agent(**agent: Any) -> a.Settings:
    return a.Settings(audio=a.Audio(), agent=a.Agent(**agent))


def _think(provider: a.ThinkProvider, **more: Any) -> a.Settings:
    return _with_agent(think=a.ThinkSettings(provider=provider, **more))


def _speak(provider: a.SpeakProvider, endpoint: a.Endpoint | None = _SPEAK_ENDPOINT) -> a.Settings:
    return _with_agent(speak=a.SpeakSettings(provider=provider, endpoint=endpoint))


def _flux(**fields: Any) -> a.Settings:
    fields.setdefault("model", "flux-general-en")
    return _with_agent(listen=a.ListenSettings(provider=a.ListenProviderV2(**fields)))


_OPENAI = a.OpenAiThinkProvider(model="gpt-4o-mini")

INVALID: list[tuple[str, Callable[[], a.ClientMessage], str]] = [
    # types and enum values on hand-built structs
    (
        "input encoding",
        lambda: a.Settings(
            audio=a.Audio(input=a.AudioInput(encoding="mp4", sample_rate=16000)),  # type: ignore[arg-type]
            agent=a.Agent(),
        ),
        "audio.input.encoding",
    ),
    (
        "float sample rate",
        lambda: a.Settings(
            audio=a.Audio(input=a.AudioInput(encoding="linear16", sample_rate=16000.0)),  # type: ignore[arg-type]
            agent=a.Agent(),
        ),
        "audio.input.sample_rate",
    ),
    (
        "output encoding",
        lambda: a.Settings(audio=a.Audio(output=a.AudioOutput(encoding="wav")), agent=a.Agent()),  # type: ignore[arg-type]
        "audio.output.encoding",
    ),
    (
        "container",
        lambda: a.Settings(audio=a.Audio(output=a.AudioOutput(container="mp4")), agent=a.Agent()),  # type: ignore[arg-type]
        "audio.output.container",
    ),
    (
        "negative sample rate",
        lambda: a.Settings(
            audio=a.Audio(input=a.AudioInput(encoding="linear16", sample_rate=-1)), agent=a.Agent()
        ),
        "audio.input.sample_rate",
    ),
    (
        "zero bitrate",
        lambda: a.Settings(audio=a.Audio(output=a.AudioOutput(bitrate=0)), agent=a.Agent()),
        "audio.output.bitrate",
    ),
    (
        "reasoning mode",
        lambda: _think(a.OpenAiThinkProvider(model="gpt-5", reasoning_mode="max")),  # type: ignore[arg-type]
        "agent.think.provider.reasoning_mode",
    ),
    # think providers
    (
        "openai temperature",
        lambda: _think(a.OpenAiThinkProvider(model="gpt-4o", temperature=2.5)),
        "agent.think.provider.temperature",
    ),
    (
        "anthropic temperature",
        lambda: _think(a.AnthropicThinkProvider(model="claude-3-5-haiku-latest", temperature=1.5)),
        "agent.think.provider.temperature",
    ),
    (
        "negative google temperature",
        lambda: _think(a.GoogleThinkProvider(model="gemini-2.0-flash", temperature=-0.1)),
        "agent.think.provider.temperature",
    ),
    (
        "fallback item temperature",
        lambda: _with_agent(
            think=[
                a.ThinkSettings(provider=_OPENAI),
                a.ThinkSettings(
                    provider=a.GroqThinkProvider(model="openai/gpt-oss-20b", temperature=3.0)
                ),
            ]
        ),
        "agent.think[1].provider.temperature",
    ),
    (
        "model of another provider",
        lambda: _think(a.AnthropicThinkProvider(model="gpt-4o-mini")),
        "agent.think.provider.model",
    ),
    (
        "managed model typo",
        lambda: _think(a.OpenAiThinkProvider(model="gpt4o")),
        "agent.think.provider.model",
    ),
    (
        "empty model",
        lambda: _think(a.AwsBedrockThinkProvider(model="")),
        "agent.think.provider.model",
    ),
    (
        "endpoint without url",
        lambda: _think(_OPENAI, endpoint=a.Endpoint(headers={"a": "b"})),
        "agent.think.endpoint.url",
    ),
    (
        "relative endpoint url",
        lambda: _think(_OPENAI, endpoint=a.Endpoint(url="/llm")),
        "agent.think.endpoint.url",
    ),
    (
        "context_length word",
        lambda: _think(_OPENAI, endpoint=_ENDPOINT, context_length="all"),
        "agent.think.context_length",
    ),
    (
        "context_length zero",
        lambda: _think(_OPENAI, endpoint=_ENDPOINT, context_length=0),
        "agent.think.context_length",
    ),
    (
        "context_length bool",
        lambda: _think(_OPENAI, endpoint=_ENDPOINT, context_length=True),
        "agent.think.context_length",
    ),
    (
        "context_length managed",
        lambda: _think(_OPENAI, context_length="max"),
        "agent.think.context_length",
    ),
    (
        "function without name",
        lambda: _think(_OPENAI, functions=[a.Function(description="d")]),
        "agent.think.functions[0].name",
    ),
    (
        "function endpoint without url",
        lambda: _think(
            _OPENAI,
            functions=[a.Function(name="f"), a.Function(name="g", endpoint=a.FunctionEndpoint())],
        ),
        "agent.think.functions[1].endpoint.url",
    ),
    (
        "function endpoint method",
        lambda: _think(
            _OPENAI,
            functions=[
                a.Function(name="f", endpoint=a.FunctionEndpoint(url="https://x.io", method="SEND"))
            ],
        ),
        "agent.think.functions[0].endpoint.method",
    ),
    ("empty think list", lambda: _with_agent(think=[]), "agent.think"),
    # AWS credentials
    (
        "bedrock credentials without type",
        lambda: _think(
            a.AwsBedrockThinkProvider(
                model="anthropic/claude-3-5-haiku-20240307-v1:0",
                credentials=a.AwsCredentials(region="us-east-1"),
            )
        ),
        "agent.think.provider.credentials.type",
    ),
    (
        "bedrock iam with session token",
        lambda: _think(
            a.AwsBedrockThinkProvider(
                model="anthropic/claude-3-5-haiku-20240307-v1:0",
                credentials=msgspec.structs.replace(_IAM, session_token="TOKEN"),
            )
        ),
        "agent.think.provider.credentials.session_token",
    ),
    (
        "polly sts without session token",
        lambda: _speak(
            a.AwsPollySpeakProvider(
                voice="Joanna",
                language="en-US",
                engine="neural",
                credentials=msgspec.structs.replace(_IAM, type="sts"),
            )
        ),
        "agent.speak.provider.credentials.session_token",
    ),
    (
        "polly credentials without secret",
        lambda: _speak(
            a.AwsPollySpeakProvider(
                voice="Joanna",
                language="en-US",
                engine="neural",
                credentials=msgspec.structs.replace(_IAM, secret_access_key=None),
            )
        ),
        "agent.speak.provider.credentials.secret_access_key",
    ),
    (
        "credentials type",
        lambda: _speak(
            a.AwsPollySpeakProvider(
                voice="Joanna",
                language="en-US",
                engine="neural",
                credentials=msgspec.structs.replace(_IAM, type="STS"),
            )
        ),
        "agent.speak.provider.credentials.type",
    ),
    (
        "polly engine",
        lambda: _speak(
            a.AwsPollySpeakProvider(
                voice="Joanna",
                language="en-US",
                engine="turbo",  # type: ignore[arg-type]
                credentials=_IAM,
            )
        ),
        "agent.speak.provider.engine",
    ),
    # listen
    (
        "flux without model",
        lambda: _flux(model=""),
        "agent.listen.provider.model",
    ),
    ("v2 with a nova model", lambda: _flux(model="nova-3"), "agent.listen.provider.model"),
    (
        "eot_threshold high",
        lambda: _flux(eot_threshold=0.95),
        "agent.listen.provider.eot_threshold",
    ),
    ("eot_threshold low", lambda: _flux(eot_threshold=0.4), "agent.listen.provider.eot_threshold"),
    (
        "eager_eot_threshold low",
        lambda: _flux(eager_eot_threshold=0.2),
        "agent.listen.provider.eager_eot_threshold",
    ),
    (
        "eot_timeout_ms zero",
        lambda: _flux(eot_timeout_ms=0),
        "agent.listen.provider.eot_timeout_ms",
    ),
    (
        "eot_timeout_ms float",
        lambda: _flux(eot_timeout_ms=5000.0),
        "agent.listen.provider.eot_timeout_ms",
    ),
    (
        "language_hints on english flux",
        lambda: _flux(language_hints=["en", "es"]),
        "agent.listen.provider.language_hints",
    ),
    # speak providers
    (
        "flux voice without v2",
        lambda: _speak(a.DeepgramSpeakProvider(model="flux-alexis-en"), endpoint=None),
        "agent.speak.provider.version",
    ),
    (
        "v2 with an aura voice",
        lambda: _speak(a.DeepgramSpeakProvider(model="aura-2-thalia-en", version="v2"), None),
        "agent.speak.provider.model",
    ),
    (
        "speed on flux tts",
        lambda: _speak(
            a.DeepgramSpeakProvider(model="flux-alexis-en", version="v2", speed=1.1), None
        ),
        "agent.speak.provider.speed",
    ),
    (
        "unknown deepgram voice family",
        lambda: _speak(a.DeepgramSpeakProvider(model="thalia"), None),
        "agent.speak.provider.model",
    ),
    (
        "cartesia volume",
        lambda: _speak(
            a.CartesiaSpeakProvider(
                model_id="sonic-2", voice=a.CartesiaVoice(mode="id", id="abc"), volume=2.5
            )
        ),
        "agent.speak.provider.volume",
    ),
    (
        "cartesia voice id",
        lambda: _speak(
            a.CartesiaSpeakProvider(model_id="sonic-2", voice=a.CartesiaVoice(mode="id", id=""))
        ),
        "agent.speak.provider.voice.id",
    ),
    (
        "third-party speak without endpoint",
        lambda: _speak(a.OpenAiSpeakProvider(model="tts-1", voice="alloy"), endpoint=None),
        "agent.speak.endpoint",
    ),
    (
        "wss endpoint for openai",
        lambda: _speak(
            a.OpenAiSpeakProvider(model="tts-1", voice="alloy"),
            endpoint=a.Endpoint(url="wss://tts.example.com/x"),
        ),
        "agent.speak.endpoint.url",
    ),
    (
        "eleven labs url with model_id",
        lambda: _speak(
            a.ElevenLabsSpeakProvider(model_id="eleven_turbo_v2_5"),
            endpoint=a.Endpoint(url="wss://tts.example.com/x?model_id=eleven_turbo_v2_5"),
        ),
        "agent.speak.endpoint.url",
    ),
    (
        "speak fallback item",
        lambda: _with_agent(
            speak=[
                a.SpeakSettings(provider=a.DeepgramSpeakProvider(model="aura-2-thalia-en")),
                a.SpeakSettings(provider=a.ElevenLabsSpeakProvider(model_id="eleven_turbo_v2_5")),
            ]
        ),
        "agent.speak[1].endpoint",
    ),
    # context
    (
        "context item with both shapes",
        lambda: _with_agent(
            context=a.Context(
                messages=[a.ContextMessage(role="user", content="hi", function_calls=[])]
            )
        ),
        "agent.context.messages[0]",
    ),
    (
        "context item without content",
        lambda: _with_agent(context=a.Context(messages=[a.ContextMessage(role="user")])),
        "agent.context.messages[0].content",
    ),
    (
        "context item role",
        lambda: _with_agent(
            context=a.Context(messages=[a.ContextMessage(role="system", content="x")])  # type: ignore[arg-type]
        ),
        "agent.context.messages[0].role",
    ),
    # other client messages
    (
        "inject behavior",
        lambda: a.InjectAgentMessage(message="hi", behavior="now"),  # type: ignore[arg-type]
        "behavior",
    ),
    (
        "update think temperature",
        lambda: a.UpdateThink(
            think=a.ThinkSettings(
                provider=a.AnthropicThinkProvider(model="claude-x", temperature=2)
            )
        ),
        "think.provider.temperature",
    ),
    (
        "update think list",
        lambda: a.UpdateThink(think=[a.ThinkSettings(provider=a.GoogleThinkProvider(model="x"))]),
        "think[0].provider.model",
    ),
    (
        "update speak",
        lambda: a.UpdateSpeak(
            speak=a.SpeakSettings(provider=a.DeepgramSpeakProvider(model="flux-cole-en"))
        ),
        "speak.provider.version",
    ),
    (
        "update listen threshold",
        lambda: a.UpdateListen(
            listen=a.ListenUpdateSettings(
                provider=a.ListenProviderV2(model="flux-general-en", eager_eot_threshold=0.95)
            )
        ),
        "listen.provider.eager_eot_threshold",
    ),
    (
        "update listen hints",
        lambda: a.UpdateListen(
            listen=a.ListenUpdateSettings(
                provider=a.ListenProviderV2(model="flux-general-en", language_hints=["de"])
            )
        ),
        "listen.provider.language_hints",
    ),
]


@pytest.mark.parametrize(("build", "path"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_validation_rule_names_the_field(build: Callable[[], a.ClientMessage], path: str) -> None:
    message = build()
    with pytest.raises(InvalidMessageError) as info:
        a.validate_message(message)
    assert info.value.field == path
    assert info.value.problem
    assert path in str(info.value)
    if isinstance(message, a.Settings):
        with pytest.raises(InvalidMessageError) as again:
            a.validate_settings(message)
        assert again.value.field == path


VALID: list[tuple[str, Callable[[], a.ClientMessage]]] = [
    ("newer managed openai model", lambda: _think(a.OpenAiThinkProvider(model="gpt-5.2"))),
    (
        "any model with a custom endpoint",
        lambda: _think(a.AnthropicThinkProvider(model="my-finetune"), endpoint=_ENDPOINT),
    ),
    (
        "context_length with endpoint",
        lambda: _think(_OPENAI, endpoint=_ENDPOINT, context_length=15000.5),
    ),
    ("bedrock without credentials", lambda: _think(a.AwsBedrockThinkProvider(model="meta/llama"))),
    (
        "nova v1 listen, any model",
        lambda: _with_agent(
            listen=a.ListenSettings(
                provider=a.ListenProviderV1(model="custom-model-uuid", language="multi")
            )
        ),
    ),
    ("flux multi with hints", lambda: _flux(model="flux-general-multi", language_hints=["en"])),
    ("eot_threshold 1.0 disables eot", lambda: _flux(eot_threshold=1.0)),
    ("threshold bounds", lambda: _flux(eot_threshold=0.5, eager_eot_threshold=0.9)),
    ("newer aura voice", lambda: _speak(a.DeepgramSpeakProvider(model="aura-2-julius-de"), None)),
    (
        "deepgram speak with https endpoint",
        lambda: _speak(a.DeepgramSpeakProvider(model="aura-2-thalia-en", speed=0.9)),
    ),
    (
        "custom third-party voices",
        lambda: _speak(a.OpenAiSpeakProvider(model="gpt-4o-mini-tts", voice="coral")),
    ),
    ("empty listen", lambda: _with_agent(listen=a.ListenSettings())),
    ("inject interrupt", lambda: a.InjectAgentMessage(message="x", behavior="interrupt")),
    ("prompt", lambda: a.UpdatePrompt(prompt="Be brief.")),
    ("force end turn", lambda: a.ForceEndTurn()),
]


@pytest.mark.parametrize("build", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_open_ended_values_are_not_rejected(build: Callable[[], a.ClientMessage]) -> None:
    message = build()
    a.validate_message(message)
    assert a.decode_client(encode(message).decode()) == message


def test_validate_rejects_non_messages() -> None:
    with pytest.raises(TypeError):
        a.validate_settings(a.KeepAlive())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        a.validate_message(a.Welcome(request_id="x"))  # type: ignore[arg-type]


# --- secrets ----------------------------------------------------------------------------------


def test_reprs_and_errors_never_show_secrets() -> None:
    creds = a.AwsCredentials(
        type="sts",
        region="us-west-2",
        access_key_id="AKIDSECRET1",
        secret_access_key="SECRET2",
        session_token="SECRET3",
    )
    endpoint = a.Endpoint(url="https://x.example.com", headers={"authorization": "Bearer SECRET4"})
    function_endpoint = a.FunctionEndpoint(url="https://f.example.com", headers={"k": "SECRET5"})
    settings = _think(
        a.AwsBedrockThinkProvider(model="anthropic/x", credentials=creds, temperature=9.0),
        endpoint=endpoint,
        functions=[a.Function(name="f", endpoint=function_endpoint)],
    )
    shown = repr(settings) + str(list(creds.__rich_repr__())) + str(endpoint.__rich_repr__())
    shown += str(function_endpoint.__rich_repr__())
    with pytest.raises(InvalidMessageError) as info:
        a.validate_settings(settings)
    shown += str(info.value)
    for secret in ("AKIDSECRET1", "SECRET2", "SECRET3", "SECRET4", "SECRET5"):
        assert secret not in shown
    assert "us-west-2" in repr(creds) and "authorization" in repr(endpoint)
    # the wire form is untouched
    assert _as_json(endpoint)["headers"] == {"authorization": "Bearer SECRET4"}


# --- module surface and spec drift ------------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    assert a.__all__ == sorted(a.__all__)
    for name in a.__all__:
        assert hasattr(a, name), name
    tags = {cls.__struct_config__.tag for cls in a.SERVER_MESSAGES}
    assert len(tags) == len(a.SERVER_MESSAGES) == 23
    assert len({cls.__struct_config__.tag for cls in a.CLIENT_MESSAGES}) == 12


@pytest.fixture(scope="module")
def spec_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = yaml.safe_load(SPEC.read_text())["components"]["schemas"]
    return schemas


def _enum(schemas: dict[str, Any], name: str) -> set[str]:
    return set(schemas[name]["enum"])


@shared
def test_closed_value_sets_match_the_spec(spec_schemas: dict[str, Any]) -> None:
    prefix = "ChannelsAgentV1MessagesAgentV1"
    assert set(get_args(a.InputEncoding)) == _enum(
        spec_schemas, f"{prefix}SettingsAudioInputEncoding"
    )
    assert set(get_args(a.OutputEncoding)) == _enum(
        spec_schemas, f"{prefix}SettingsAudioOutputEncoding"
    )
    assert set(get_args(a.Container)) == _enum(
        spec_schemas, f"{prefix}SettingsAudioOutputContainer"
    )
    assert set(get_args(a.Behavior)) == _enum(spec_schemas, f"{prefix}InjectAgentMessageBehavior")
    assert set(get_args(a.ReasoningMode)) == _enum(spec_schemas, "OpenAiThinkProviderReasoningMode")
    assert set(get_args(a.PollyEngine)) == _enum(spec_schemas, "AwsPollySpeakProviderEngine")


@shared
def test_every_spec_model_passes_validation(spec_schemas: dict[str, Any]) -> None:
    think = {
        "OpenAiThinkProviderModel": a.OpenAiThinkProvider,
        "AnthropicThinkProviderModel": a.AnthropicThinkProvider,
        "GoogleThinkProviderModel": a.GoogleThinkProvider,
        "GroqThinkProviderModel": a.GroqThinkProvider,
        "AwsBedrockThinkProviderModel": a.AwsBedrockThinkProvider,
    }
    for schema, cls in think.items():
        for model in _enum(spec_schemas, schema):
            a.validate_settings(_think(cls(model=model)))
    for model in _enum(spec_schemas, "DeepgramSpeakProviderModel"):
        a.validate_settings(_speak(a.DeepgramSpeakProvider(model=model), None))
    for model in _enum(spec_schemas, "SpeakSettingsV1ProviderOneOf1Model"):
        a.validate_settings(_speak(a.DeepgramSpeakProvider(model=model, version="v2"), None))
    assert len(_enum(spec_schemas, "DeepgramSpeakProviderModel")) == 63


@pytest.mark.parametrize(
    ("think", "where", "what"),
    [
        (a.ThinkSettings(provider={"type": "open_ai", "model": "gpt-4o-mini"}), "provider", "dict"),  # type: ignore[arg-type]
        (
            {"provider": {"type": "open_ai"}},
            "agent.think.provider",
            "missing required field `model`",
        ),
        ([a.ThinkSettings(provider="open_ai")], "agent.think[0].provider", "str"),  # type: ignore[arg-type]
    ],
)
def test_a_think_setting_of_the_wrong_type_is_a_clear_error(
    think: Any, where: str, what: str
) -> None:
    settings = a.Settings(
        audio=a.Audio(input=a.AudioInput(encoding="linear16", sample_rate=16000)),
        agent=a.Agent(think=think),
    )
    with pytest.raises(InvalidMessageError, match=rf"{re.escape(where)}.*(got `?)?{what}"):
        a.validate_settings(settings)
