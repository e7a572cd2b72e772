"""What the library models now (deepgram-sdk 7.17), the escape hatches for what it does not,
and how they are checked: no socket here (``test_reach.py`` runs them over the wire)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from rxdeepgram import InvalidInputError, InvalidMessageError
from rxdeepgram import compat as dg
from rxdeepgram.messages import RawFrame, agent_v1, encode, listen_v1, listen_v2, unmodelled


def agent(**fields: Any) -> agent_v1.Settings:
    return agent_v1.Settings(audio=agent_v1.Audio(), agent=agent_v1.Agent(**fields))


def think(*functions: agent_v1.Function) -> agent_v1.ThinkSettings:
    return agent_v1.ThinkSettings(
        provider=agent_v1.OpenAiThinkProvider(model="gpt-4o-mini"), functions=list(functions)
    )


# --- received: the new messages and fields ------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('{"type": "ThinkLiveUpdated"}', agent_v1.ThinkLiveUpdated()),
        (
            '{"type": "FrustrationDetected", "count": 3, "escalated": true}',
            agent_v1.FrustrationDetected(count=3, escalated=True),
        ),
        (
            '{"type": "FunctionCallCancelled", "functions": [{"id": "f1", "name": "refund"}]}',
            agent_v1.FunctionCallCancelled(
                functions=[agent_v1.CancelledFunction(id="f1", name="refund")]
            ),
        ),
        (
            '{"type": "__customFromThinkProvider", "content": {"a": [1, null]}}',
            agent_v1.CustomFromThinkProvider(content={"a": [1, None]}),
        ),
        (
            '{"type": "ConversationText", "role": "assistant", "content": "mhm",'
            ' "conversational_behavior": "backchannel"}',
            agent_v1.ConversationText(
                role="assistant", content="mhm", conversational_behavior="backchannel"
            ),
        ),
    ],
)
def test_new_agent_server_messages_decode(frame: str, expected: Any) -> None:
    message = agent_v1.decode(frame)
    assert message == expected
    assert json.loads(encode(message)) == json.loads(frame)


def test_conversational_behavior_is_none_when_an_older_server_omits_it() -> None:
    message = agent_v1.decode('{"type": "ConversationText", "role": "user", "content": "hi"}')
    assert isinstance(message, agent_v1.ConversationText)
    assert message.conversational_behavior is None


def test_languages_hinted_on_listen_v1_alternatives() -> None:
    frame = (
        '{"type": "Results", "channel": {"alternatives": [{"transcript": "hola", '
        '"confidence": 0.9, "words": [], "languages": ["es"], "languages_hinted": ["es", "en"]}]}}'
    )
    message = listen_v1.decode(frame)
    assert isinstance(message, listen_v1.Results)
    assert message.channel.alternatives[0].languages_hinted == ["es", "en"]


@pytest.mark.parametrize("value", ['"0.7"', "0.7", "null", "{}", "[0.5]", "true"])
def test_flux_thresholds_take_any_json_value(value: str) -> None:
    frame = (
        '{"type": "ConfigureSuccess", "request_id": "r", "keyterms": [], "sequence_id": 3,'
        f' "thresholds": {{"eot_threshold": {value}, "eot_timeout_ms": "5000"}}}}'
    )
    message = listen_v2.decode(frame)
    assert isinstance(message, listen_v2.ConfigureSuccess), message
    assert message.thresholds.eot_threshold == json.loads(value)
    assert message.thresholds.eot_timeout_ms == "5000"


# --- sent: the new messages and fields, and their checks ---------------------------------------


def test_new_client_messages_encode_to_the_sdk7_wire_shape() -> None:
    live = agent_v1.UpdateThinkLive(think_live=agent_v1.ThinkLiveSettings())
    assert json.loads(encode(live)) == {
        "type": "UpdateThink_Live",
        "think_live": {"provider": {"type": "deepgram", "version": "v1"}},
    }
    custom = agent_v1.CustomToThinkProvider(content=[1, "two"])
    assert json.loads(encode(custom)) == {"type": "__customToThinkProvider", "content": [1, "two"]}
    dynamic = agent_v1.InjectAgentMessage(is_dynamic=True)
    assert json.loads(encode(dynamic)) == {"type": "InjectAgentMessage", "is_dynamic": True}
    for message in (live, custom, dynamic):
        assert agent_v1.decode_client(encode(message).decode()) == message
        agent_v1.validate_message(message)


def test_deepgram_think_provider_and_filler_settings() -> None:
    provider = agent_v1.DeepgramThinkProvider(model="think-fast", voice_prompt_opt_out=True)
    function = agent_v1.Function(
        name="refund",
        defer_until_eot=True,
        initial_agent_filler=True,
        agent_filler_max_count=2,
        agent_filler_interval_ms=3000,
    )
    settings = agent(
        think=agent_v1.ThinkSettings(provider=provider, functions=[function]),
        think_live=agent_v1.ThinkLiveSettings(
            provider=agent_v1.ThinkLiveProvider(restricted_terms=["refund guaranteed"])
        ),
    )
    agent_v1.validate_settings(settings)
    wire = json.loads(encode(settings))["agent"]
    assert wire["think"]["provider"] == {
        "type": "deepgram",
        "model": "think-fast",
        "voice_prompt_opt_out": True,
    }
    assert wire["think"]["functions"][0]["agent_filler_interval_ms"] == 3000
    assert agent_v1.decode_client(encode(settings).decode()) == settings


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        (agent(think=think(agent_v1.Function(name="f", initial_agent_filler=True))), "functions"),
        (
            agent(
                think=think(
                    agent_v1.Function(
                        name="f", agent_filler_max_count=1, agent_filler_interval_ms=10
                    )
                ),
                think_live=agent_v1.ThinkLiveSettings(),
            ),
            "agent_filler_interval_ms",
        ),
        (
            agent(
                think_live=agent_v1.ThinkLiveSettings(
                    provider=agent_v1.ThinkLiveProvider(agent_backchannel_sensitivity=1.5)
                )
            ),
            "agent_backchannel_sensitivity",
        ),
        (
            agent(
                speak=agent_v1.SpeakSettings(
                    provider=agent_v1.DeepgramSpeakProvider(
                        model="flux-tts-en", version="v2", expressivity=3
                    )
                )
            ),
            "expressivity",
        ),
        (
            agent(
                speak=agent_v1.SpeakSettings(
                    provider=agent_v1.DeepgramSpeakProvider(
                        model="aura-2-thalia-en", expressivity=1
                    )
                )
            ),
            "expressivity",
        ),
        (
            agent(
                think=agent_v1.ThinkSettings(
                    provider=agent_v1.DeepgramThinkProvider(model="gpt-4o")
                )
            ),
            "provider.model",
        ),
    ],
)
def test_new_fields_are_checked(settings: agent_v1.Settings, path: str) -> None:
    with pytest.raises(InvalidMessageError, match=path):
        agent_v1.validate_settings(settings)


def test_a_dynamic_injection_carries_no_message() -> None:
    with pytest.raises(InvalidMessageError, match="message"):
        agent_v1.validate_message(agent_v1.InjectAgentMessage(message="hi", is_dynamic=True))
    with pytest.raises(InvalidMessageError, match="message"):
        agent_v1.validate_message(agent_v1.InjectAgentMessage())


def test_update_listen_takes_a_v1_provider() -> None:
    message = agent_v1.UpdateListen(
        listen=agent_v1.ListenUpdateSettings(
            provider=agent_v1.ListenProviderV1(model="nova-3", smart_format=True)
        )
    )
    agent_v1.validate_message(message)
    assert json.loads(encode(message))["listen"]["provider"] == {
        "type": "deepgram",
        "version": "v1",
        "model": "nova-3",
        "smart_format": True,
    }
    assert agent_v1.decode_client(encode(message).decode()) == message


# --- with_extra ------------------------------------------------------------------------------


def test_with_extra_merges_at_encode_time_and_keeps_the_type() -> None:
    base = listen_v1.Finalize(channel=0)
    extended = base.with_extra({"new": [1, 2]}).with_extra({"more": {"deep": True}})
    assert type(extended) is listen_v1.Finalize and extended == base
    assert json.loads(encode(extended)) == {
        "type": "Finalize",
        "channel": 0,
        "new": [1, 2],
        "more": {"deep": True},
    }
    assert encode(base) == b'{"type":"Finalize","channel":0}'  # the original is untouched


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"type": "Other"}, "type"),
        ({"channel": 1}, "already sent"),
        ({"x": object()}, "JSON-encodable"),
    ],
)
def test_with_extra_refuses_what_it_cannot_send_as_given(extra: Any, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        listen_v1.Finalize(channel=0).with_extra(extra)


def test_with_extra_reaches_into_nested_objects_only_where_they_are_objects() -> None:
    settings = agent(think=think())
    extended = settings.with_extra({"agent": {"think": {"provider": {"knob": 1}}}})
    assert json.loads(encode(extended))["agent"]["think"]["provider"]["knob"] == 1
    with pytest.raises(InvalidInputError, match=r"agent\.think\.provider\.model"):
        settings.with_extra({"agent": {"think": {"provider": {"model": "x"}}}})


# --- RawFrame and unmodelled -------------------------------------------------------------------


def test_raw_frames() -> None:
    frame = RawFrame({"type": "CloseStream", "n": 1})
    assert (frame.text, frame.type, json.loads(frame.data)) == (
        True,
        "CloseStream",
        {"type": "CloseStream", "n": 1},
    )
    assert (RawFrame(b"\x01").text, RawFrame(bytearray(b"\x01")).data) == (False, b"\x01")
    assert RawFrame('{"a": 1}').type == ""
    for bad in ("[]", '{"a": "\ud800"}', {"a": "\ud800"}):
        with pytest.raises(InvalidInputError, match="send_raw"):
            RawFrame(bad)


def test_unmodelled_returns_what_the_struct_dropped() -> None:
    frame = json.dumps(
        {
            "type": "Results",
            "brand_new": {"x": 1},
            "is_final": True,
            "channel": {
                "alternatives": [
                    {"transcript": "a", "confidence": 1, "words": [], "score": 0.3},
                    {"transcript": "b", "confidence": 1, "words": []},
                ]
            },
            "metadata": {"request_id": "r", "extra": {"k": "v"}},
        }
    )
    message = listen_v1.decode(frame)
    assert isinstance(message, listen_v1.Results)
    assert unmodelled(message, frame) == {
        "brand_new": {"x": 1},
        "channel": {"alternatives": [{"score": 0.3}, {}]},
    }
    assert (
        unmodelled(listen_v1.decode('{"type": "SpeechStarted"}'), '{"type": "SpeechStarted"}') == {}
    )


# --- dicts and SDK 7 names ---------------------------------------------------------------------


def test_sdk7_constructors_check_the_tag_keyword() -> None:
    assert dg.ListenV1KeepAlive(type="KeepAlive") == listen_v1.KeepAlive()
    assert dg.AgentV1InjectDynamicAgentMessage() == agent_v1.InjectAgentMessage(is_dynamic=True)
    provider = dg.AgentV1SettingsAgentListenProvider_V1(type="deepgram", version="v1", model="m")
    assert provider == agent_v1.ListenProviderV1(model="m")
    with pytest.raises(InvalidInputError, match="Finalize"):
        dg.ListenV1KeepAlive(type="Finalize")
    assert dg.ListenV1Results is listen_v1.Results


def test_a_dict_becomes_the_channel_message_strictly() -> None:
    from rxdeepgram._channels import channel

    spec = channel("listen.v2")
    assert spec.from_dict({"type": "Configure", "numerals": True}) == listen_v2.Configure(
        numerals=True
    )
    with pytest.raises(InvalidInputError, match="numeralz"):
        spec.from_dict({"type": "Configure", "numeralz": True})
    with pytest.raises(InvalidInputError, match="send_raw"):
        spec.from_dict({"type": "Nope"})


def test_encode_of_a_message_without_extra_is_unchanged() -> None:
    message = listen_v1.KeepAlive()
    assert encode(message) == msgspec.json.encode(message)
