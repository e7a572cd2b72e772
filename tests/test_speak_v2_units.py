"""Speak V2 without sockets: options, messages, the session's turn rule and the SDK 7 names."""

from __future__ import annotations

import json
from typing import Any, get_args

import msgspec
import pytest
from conftest import SPEC

from rxdeepgram import InvalidInputError, InvalidOptionError
from rxdeepgram._channels import channel
from rxdeepgram._session import Frame, Session, State
from rxdeepgram.compat import SpeakV2InterruptPlaybackOffset, SpeakV2SocketClientResponse
from rxdeepgram.messages import Unknown, encode, speak_v1, speak_v2
from rxdeepgram.options import (
    SPEAK_V2_MODELS,
    SPEAK_V2_SAMPLE_RATES,
    SpeakV2Encoding,
    SpeakV2Options,
    SpeakV2SampleRate,
)

# --- options -----------------------------------------------------------------------------------


def test_the_table() -> None:
    fields = SpeakV2Options.FIELDS
    assert list(fields) == [
        "model",
        "encoding",
        "sample_rate",
        "speed",
        "expressivity",
        "mip_opt_out",
        "tag",
    ]
    assert [name for name, p in fields.items() if p.required] == ["model"]
    assert fields["tag"].repeatable
    assert fields["sample_rate"].choices == SPEAK_V2_SAMPLE_RATES
    assert fields["expressivity"].choices == (-2, -1, 0, 1, 2)
    assert len(SPEAK_V2_MODELS) == 12 and "flux-haley-en" in SPEAK_V2_MODELS


@pytest.mark.shared
def test_the_spec_s_parameters_and_enums() -> None:
    yaml = pytest.importorskip("yaml")
    with SPEC.open(encoding="utf-8") as fh:
        spec: dict[str, Any] = yaml.safe_load(fh)
    props = spec["channels"]["/v2/speak"]["bindings"]["ws"]["query"]["properties"]
    # The spec's five, plus speed and expressivity from Deepgram's SDK 7.
    assert set(SpeakV2Options.FIELDS) == set(props) | {"speed", "expressivity"}
    schemas = spec["components"]["schemas"]
    assert list(get_args(SpeakV2Encoding)) == schemas["SpeakV2Encoding"]["enum"]
    assert [str(r) for r in get_args(SpeakV2SampleRate)] == schemas["SpeakV2SampleRate"]["enum"]


def test_the_query_string() -> None:
    opts = SpeakV2Options.from_kwargs(
        model="flux-haley-en",
        encoding="mulaw",
        sample_rate="8000",
        speed=0.95,
        expressivity=-1,
        mip_opt_out=True,
        tag=["a b", "c"],
    )
    assert opts.query_string() == (
        "model=flux-haley-en&encoding=mulaw&sample_rate=8000&speed=0.95&expressivity=-1"
        "&mip_opt_out=true&tag=a+b&tag=c"
    )
    assert SpeakV2Options.from_query_string(opts.query_string()) == opts


@pytest.mark.parametrize(
    ("kwargs", "option", "needle"),
    [
        ({}, "model", "is required"),
        ({"model": "aura-2-thalia-en"}, "model", "Speak V1"),
        ({"model": "flux-general-en"}, "model", "listen.v2"),
        ({"model": "flux-haly-en2"}, "model", "did you mean 'flux-haley-en'"),
        ({"model": "flux-haley-en", "speed": 1.55}, "speed", "between 0.5 and 1.5"),
        ({"model": "flux-haley-en", "speed": 1.03}, "speed", "multiple of 0.05"),
        ({"model": "flux-haley-en", "expressivity": 1.5}, "expressivity", "integer"),
        ({"model": "flux-haley-en", "expressivity": 3}, "expressivity", "allowed"),
        ({"model": "flux-haley-en", "sample_rate": 22050}, "sample_rate", "allowed"),
        (
            {"model": "flux-haley-en", "encoding": "alaw", "sample_rate": 24000},
            "sample_rate",
            "8000 or 16000",
        ),
        ({"model": "flux-haley-en", "bit_rate": 1}, "bit_rate", "extra_query"),
    ],
)
def test_bad_options_name_the_problem(kwargs: dict[str, Any], option: str, needle: str) -> None:
    with pytest.raises(InvalidOptionError, match=needle) as info:
        SpeakV2Options.from_kwargs(**kwargs)
    assert info.value.option == option


def test_new_voices_and_the_edges_of_speed_are_accepted() -> None:
    for model in ("flux-newvoice-de", "flux-haley-multi"):
        assert SpeakV2Options.from_kwargs(model=model).model == model
    for speed in (0.5, 1.5, 1.15, "0.85"):
        assert SpeakV2Options.from_kwargs(model="flux-haley-en", speed=speed).speed is not None


# --- messages -----------------------------------------------------------------------------------

SERVER_FRAMES: list[dict[str, Any]] = [
    {
        "type": "Connected",
        "request_id": "550e8400-e29b-41d4-a716-446655440000",
        "model_name": "flux-haley-en",
        "model_version": "2026.06.01",
        "model_uuids": ["b3e47c20-9f81-4a2e-bd15-8d7c6e2a1f09"],
    },
    {"type": "SpeechStarted", "speech_id": "dg_sp_a1b2c3d4e5f6"},
    {
        "type": "SpeechMetadata",
        "speech_id": "dg_sp_a1b2c3d4e5f6",
        "audio_duration_ms": 3200,
        "input_character_count": 47,
        "billable_character_count": 47,
        "controls_applied": {
            "pronunciations_applied": 0,
            "pronunciation_warnings": 0,
            "breaks_applied": 0,
        },
    },
    {
        "type": "SpeechInterrupted",
        "audio_played_ms": 2340,
        "text_spoken": "Sure, I can help you cancel your subscription.",
        "text_remaining": " Let me pull up your account.",
        "metadata": {
            "speech_id": "dg_sp_a1b2c3d4e5f6",
            "audio_duration_ms": 2340,
            "input_character_count": 75,
            "billable_character_count": 75,
            "controls_applied": {
                "pronunciations_applied": 0,
                "pronunciation_warnings": 0,
                "breaks_applied": 0,
            },
        },
    },
    {"type": "Flushed", "speech_id": "dg_sp_a1b2c3d4e5f6"},
    {
        "type": "SessionMetadata",
        "total_audio_duration_ms": 184500,
        "total_input_character_count": 4280,
        "total_billable_character_count": 4280,
    },
    {"type": "ConfigureSuccess", "applied": {"speed": 1.15}},
    {
        "type": "ConfigureFailure",
        "code": "SPEED_INCREMENT_INVALID",
        "field": "speed",
        "value": 1.07,
        "description": "'speed' must be provided in increments of 0.05",
    },
    {"type": "Warning", "code": "NO_ACTIVE_SPEECH", "description": "There is no active turn."},
    {"type": "Error", "code": "MESSAGE-0000", "description": "The message could not be parsed."},
]


@pytest.mark.parametrize("frame", SERVER_FRAMES, ids=lambda f: str(f["type"]))
def test_every_server_message_decodes_to_its_class_and_back(frame: dict[str, Any]) -> None:
    text = json.dumps(frame)
    message = speak_v2.decode(text)
    assert type(message) in speak_v2.SERVER_MESSAGES
    assert not isinstance(message, (bytes, Unknown))
    assert type(message).__name__ == frame["type"] == message.type
    assert json.loads(encode(message)) == frame


def test_decode_is_lenient_and_forward_compatible() -> None:
    meta = speak_v2.decode('{"type": "SpeechMetadata", "speech_id": "x", "new_field": 1}')
    assert isinstance(meta, speak_v2.SpeechMetadata)
    assert meta.controls_applied == speak_v2.ControlsApplied()
    interrupted = speak_v2.decode('{"type": "SpeechInterrupted", "audio_played_ms": 5}')
    assert isinstance(interrupted, speak_v2.SpeechInterrupted)
    assert interrupted.text_spoken is None and interrupted.metadata.speech_id == ""
    unknown = speak_v2.decode('{"type": "Brand-new", "x": 1}')
    assert isinstance(unknown, Unknown) and unknown.type == "Brand-new"
    wrong = speak_v2.decode('{"type": "SpeechStarted", "speech_id": 5}')
    assert isinstance(wrong, Unknown) and "speech_id" in wrong.error
    audio = b"\x01\x02"
    assert speak_v2.decode(audio) is audio


def test_client_messages_encode_as_the_sdk_sends_them() -> None:
    assert json.loads(encode(speak_v2.Speak(text="Hi"))) == {"type": "Speak", "text": "Hi"}
    assert json.loads(encode(speak_v2.Flush())) == {"type": "Flush"}
    assert json.loads(encode(speak_v2.Close())) == {"type": "Close"}
    assert json.loads(encode(speak_v2.Interrupt())) == {"type": "Interrupt"}
    assert json.loads(encode(speak_v2.Interrupt.at(2340))) == {
        "type": "Interrupt",
        "playback_offset": {"type": "time_ms", "value": 2340},
    }
    assert json.loads(encode(speak_v2.Configure(speed=1.1))) == {
        "type": "Configure",
        "speed": 1.1,
    }
    for message in (speak_v2.Interrupt.at(5), speak_v2.Configure(speed=0.5)):
        assert speak_v2.decode_client(encode(message).decode()) == message


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "Clear"}',
        '{"type": "Flush", "sequence_id": 1}',
        '{"type": "Interrupt", "playback_offset": {"type": "bytes", "value": 1}}',
        '{"type": "Interrupt", "playback_offset": {"value": 1.5}}',
        '{"type": "Configure", "speed": "fast"}',
    ],
)
def test_decode_client_is_strict(frame: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        speak_v2.decode_client(frame)


def test_sdk_7_names() -> None:
    offset = SpeakV2InterruptPlaybackOffset(type="time_ms", value=7)
    assert offset == speak_v2.PlaybackOffset(value=7) and offset.type == "time_ms"
    with pytest.raises(InvalidInputError, match="time_ms"):
        SpeakV2InterruptPlaybackOffset(type="frames", value=7)  # type: ignore[arg-type]
    members = set(get_args(SpeakV2SocketClientResponse))
    assert set(speak_v2.SERVER_MESSAGES) <= members and bytes in members


# --- the session's turn rule ------------------------------------------------------------------


def session() -> tuple[Session, list[Frame]]:
    frames: list[Frame] = []
    return Session(channel("speak.v2"), keepalive_interval=None, clock=lambda: 0.0), frames


def sent(frames: list[Frame]) -> list[str]:
    return [json.loads(f.data)["type"] for f in frames]


@pytest.mark.parametrize(
    ("items", "close"),
    [
        ([], ["Close"]),
        (["text"], ["Flush", "Close"]),
        ([speak_v2.Speak(text="a")], ["Flush", "Close"]),
        (["a", speak_v2.Flush()], ["Close"]),
        (["a", speak_v2.Flush(), "b"], ["Flush", "Close"]),
        (["a", speak_v2.Interrupt()], ["Close"]),
        (["a", speak_v2.Configure(speed=1.0)], ["Flush", "Close"]),
    ],
)
def test_graceful_close_flushes_only_an_open_turn(items: list[Any], close: list[str]) -> None:
    s, frames = session()
    for item in items:
        s.send(item, frames.append)
    before = len(frames)
    assert s.close_gracefully(frames.append)
    assert sent(frames[before:]) == close
    assert s.state is State.CLOSING
    assert all(f.text for f in frames)


def test_sending_close_itself_starts_closing_and_refusals_name_the_channel() -> None:
    s, frames = session()
    with pytest.raises(InvalidInputError, match="Speak V2"):
        s.send(b"audio", frames.append)
    with pytest.raises(InvalidInputError, match="speak_v1 message"):
        s.send(speak_v1.Speak(text="v1"), frames.append)
    assert s.send(speak_v2.Close(), frames.append) is True
    assert s.state is State.CLOSING
    assert not s.close_gracefully(frames.append)
    assert sent(frames) == ["Close"]
