"""The message modules of the four channels against the protocol fixtures.

Every fixture in ``tests/data/protocol/<channel>/{server,client}/`` decodes to the struct
named after its ``type`` and re-encodes to the same JSON; what the server may add (unknown
fields, unknown types, broken frames) never raises in ``decode``; what clients send is decoded
strictly by ``decode_client``; the recorded sessions replay through the right decoder. What the
server may leave out (missing fields) is in ``test_messages_partial.py``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest
from conftest import EXAMPLES

from rxdeepgram.messages import ClientMessageBase, MessageBase, ServerMessageBase, Unknown, encode

CHANNELS = {
    "listen-v1": "listen_v1",
    "listen-v2": "listen_v2",
    "speak-v1": "speak_v1",
    "agent-v1": "agent_v1",
}


def channel_module(channel: str) -> ModuleType:
    """Import the message module of ``channel``; skip while it is not written yet."""
    name = f"rxdeepgram.messages.{CHANNELS[channel]}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        pytest.skip(f"{name.replace('.', '/')}.py does not exist yet")


def fixtures(direction: str) -> list[Any]:
    """``(channel, path)`` params for every fixture of ``direction``, ids like
    ``listen-v2/TurnInfo.multi``."""
    return [
        pytest.param(channel, path, id=f"{channel}/{path.stem}")
        for channel in CHANNELS
        for path in sorted((EXAMPLES / channel / direction).glob("*.json"))
    ]


def tag_of(path: Path) -> str:
    """The wire tag a fixture carries: its file name up to the first dot."""
    return path.name.split(".", 1)[0]


def tags(classes: tuple[type[MessageBase], ...]) -> set[str]:
    return {str(cls.__struct_config__.tag) for cls in classes}


def check_class(module: ModuleType, message: object, tag: str, direction: str) -> None:
    """``message`` is the struct of ``module`` for ``tag`` in ``direction``."""
    own, other = (
        (module.SERVER_MESSAGES, module.CLIENT_MESSAGES)
        if direction == "server"
        else (module.CLIENT_MESSAGES, module.SERVER_MESSAGES)
    )
    assert type(message) in own, f"{message!r} is not a {direction} message of {module.__name__}"
    assert isinstance(message, MessageBase)
    assert message.type == tag
    if tag not in tags(other):  # a tag used in both directions cannot name both classes
        assert type(message).__name__ == tag
        assert getattr(module, tag) is type(message)


def struct_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths (keys / list indexes) of every struct nested in a decoded message."""
    if isinstance(value, msgspec.Struct):
        if path:
            yield path
        for name in value.__struct_fields__:
            yield from struct_paths(getattr(value, name), (*path, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from struct_paths(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from struct_paths(item, (*path, key))


def encode_names(cls: type[msgspec.Struct]) -> dict[str, str]:
    return {f.name: f.encode_name for f in msgspec.structs.fields(cls)}


def add_field_at(message: msgspec.Struct, data: Any, path: tuple[Any, ...], key: str) -> None:
    """Add ``key`` to the JSON object in ``data`` that holds the struct at ``path``."""
    value: Any = message
    for step in path:
        if isinstance(step, str) and isinstance(value, msgspec.Struct):
            step_json = encode_names(type(value))[step]
            value, data = getattr(value, step), data[step_json]
        else:
            value, data = value[step], data[step]
    assert isinstance(data, dict)
    data[key] = {"nested": [1, 2.5, None, "x"]}


# --- module shape --------------------------------------------------------------------------


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_module_exports(channel: str) -> None:
    module = channel_module(channel)
    exported = list(module.__all__)
    assert exported == sorted(exported), "__all__ is not sorted"
    assert len(exported) == len(set(exported))
    for name in exported:
        assert hasattr(module, name), name
    for name in ("ServerMessage", "ClientMessage", "SERVER_MESSAGES", "CLIENT_MESSAGES"):
        assert name in exported
    assert {"decode", "decode_client"} <= set(exported)
    for cls in module.SERVER_MESSAGES + module.CLIENT_MESSAGES:
        assert cls.__name__ in exported, f"{cls.__name__} missing from __all__"


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_message_tuples_are_tagged_and_unique(channel: str) -> None:
    module = channel_module(channel)
    assert module.SERVER_MESSAGES and module.CLIENT_MESSAGES
    assert all(issubclass(c, ServerMessageBase) for c in module.SERVER_MESSAGES)
    assert all(issubclass(c, ClientMessageBase) for c in module.CLIENT_MESSAGES)
    for classes in (module.SERVER_MESSAGES, module.CLIENT_MESSAGES):
        assert len(tags(classes)) == len(classes), "two structs share a tag"
        for cls in classes:
            assert cls.__struct_config__.tag_field == "type"
            assert cls.__struct_config__.frozen


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_type_property_of_constructed_messages(channel: str) -> None:
    """``.type`` is the wire tag on a struct the caller builds (not only on decoded ones)."""
    module = channel_module(channel)
    built = 0
    for cls in module.CLIENT_MESSAGES + module.SERVER_MESSAGES:
        if any(f.required for f in msgspec.structs.fields(cls)):
            continue
        message = cls()
        assert message.type == cls.__struct_config__.tag
        assert getattr(message, "type") == json.loads(encode(message))["type"]  # noqa: B009
        built += 1
    assert built > 0


def test_post_spec_messages_and_fields() -> None:
    from rxdeepgram.messages import listen_v1, listen_v2, speak_v1

    assert listen_v2.ForceEndTurn().type == "ForceEndTurn"
    assert json.loads(encode(listen_v2.ForceEndTurn())) == {"type": "ForceEndTurn"}
    assert listen_v2.decode_client('{"type": "ForceEndTurn"}') == listen_v2.ForceEndTurn()
    turn = listen_v2.decode(
        '{"type": "TurnInfo", "request_id": "r", "sequence_id": 7, "event": "EndOfTurn",'
        ' "turn_index": 2, "audio_window_start": 0.0, "audio_window_end": 1.5,'
        ' "transcript": "hi", "words": [{"word": "hi", "confidence": 0.9}],'
        ' "end_of_turn_confidence": 0.91, "trigger": "manual"}'
    )
    assert isinstance(turn, listen_v2.TurnInfo)
    assert (turn.trigger, turn.sequence_id, turn.turn_index) == ("manual", 7, 2)
    assert turn.words == [listen_v2.Word(word="hi", confidence=0.9)]
    success = listen_v2.decode(
        '{"type": "ConfigureSuccess", "request_id": "r", "sequence_id": 3, "keyterms": [],'
        ' "thresholds": {"eot_threshold": 1.0, "eot_timeout_ms": 9000},'
        ' "profanity_filter": true, "numerals": false}'
    )
    assert isinstance(success, listen_v2.ConfigureSuccess)
    assert success.profanity_filter is True
    assert success.numerals is False
    assert success.thresholds == listen_v2.AppliedThresholds(eot_threshold=1.0, eot_timeout_ms=9000)
    configure = listen_v2.Configure(thresholds=listen_v2.Thresholds(eot_threshold=1.0))
    assert json.loads(encode(configure)) == {
        "type": "Configure",
        "thresholds": {"eot_threshold": 1.0},
    }
    warning = listen_v2.decode(
        '{"type": "Warning", "request_id": "r", "sequence_id": 9,'
        ' "code": "FORCE_END_TURN_NO_ACTIVE_TURN", "description": "no active turn"}'
    )
    assert isinstance(warning, listen_v2.Warning)
    assert warning.code == "FORCE_END_TURN_NO_ACTIVE_TURN"
    assert listen_v1.decode_client('{"type": "Finalize", "channel": 1}') == listen_v1.Finalize(
        channel=1
    )
    configure_v1 = listen_v1.Configure(keyterms=["Deepgram"], features={"numerals": True})
    assert json.loads(encode(configure_v1)) == {
        "type": "Configure",
        "keyterms": ["Deepgram"],
        "features": {"numerals": True},
    }
    failure = listen_v1.decode(
        '{"type": "ConfigureFailure", "request_id": "r",'
        ' "code": "CONFIGURE_KEYTERMS_NOT_SUPPORTED", "description": "Nova-3 only"}'
    )
    assert isinstance(failure, listen_v1.ConfigureFailure)
    assert failure.code == "CONFIGURE_KEYTERMS_NOT_SUPPORTED"
    error = listen_v1.decode(
        '{"type": "Error", "variant": "SchemaError", "description": "bad message",'
        ' "message": "{oops"}'
    )
    assert error == listen_v1.Error(
        variant="SchemaError", description="bad message", message="{oops"
    )
    assert speak_v1.Speak(text="Hello").type == "Speak"


def test_integer_fields_stay_integers() -> None:
    """Spec integers are ``int``: a float there is not silently accepted (strict decoding)."""
    from rxdeepgram.messages import listen_v2, speak_v1

    flushed = speak_v1.decode('{"type": "Flushed", "sequence_id": 4}')
    assert isinstance(flushed, speak_v1.Flushed)
    assert type(flushed.sequence_id) is int
    assert isinstance(speak_v1.decode('{"type": "Flushed", "sequence_id": 4.5}'), Unknown)
    with pytest.raises(msgspec.ValidationError):
        listen_v2.decode_client('{"type": "Configure", "thresholds": {"eot_timeout_ms": 700.5}}')
    assert encode(listen_v2.Configure(thresholds=listen_v2.Thresholds(eot_timeout_ms=7000))) == (
        b'{"type":"Configure","thresholds":{"eot_timeout_ms":7000}}'
    )


def test_speak_warning_and_cleared_are_their_own_classes() -> None:
    from rxdeepgram.messages import speak_v1

    cleared = speak_v1.decode('{"type": "Cleared", "sequence_id": 1}')
    flushed = speak_v1.decode('{"type": "Flushed", "sequence_id": 1}')
    warning = speak_v1.decode('{"type": "Warning", "description": "d", "code": "c"}')
    assert type(cleared) is speak_v1.Cleared
    assert type(flushed) is speak_v1.Flushed
    assert type(warning) is speak_v1.Warning
    assert cleared != flushed


# --- fixtures --------------------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "path"), fixtures("server"))
def test_server_fixture_decodes_and_round_trips(channel: str, path: Path) -> None:
    module = channel_module(channel)
    text = path.read_text(encoding="utf-8")
    message = module.decode(text)
    assert not isinstance(message, Unknown), message.error
    check_class(module, message, tag_of(path), "server")
    assert json.loads(encode(message)) == json.loads(text), "a field was dropped or changed"
    assert module.decode(encode(message).decode()) == message


@pytest.mark.parametrize(("channel", "path"), fixtures("client"))
def test_client_fixture_decodes_and_round_trips(channel: str, path: Path) -> None:
    module = channel_module(channel)
    text = path.read_text(encoding="utf-8")
    message = module.decode_client(text)
    check_class(module, message, tag_of(path), "client")
    assert json.loads(encode(message)) == json.loads(text)
    assert module.decode_client(encode(message).decode()) == message


@pytest.mark.parametrize(("channel", "path"), fixtures("server"))
def test_server_messages_ignore_unknown_fields(channel: str, path: Path) -> None:
    """A field the server adds tomorrow, at the top or inside any nested object, is ignored."""
    module = channel_module(channel)
    text = path.read_text(encoding="utf-8")
    expected = module.decode(text)
    data = json.loads(text)
    data["zz_future_field"] = {"a": [1, 2]}
    assert module.decode(json.dumps(data)) == expected
    for nested in struct_paths(expected):
        data = json.loads(text)
        add_field_at(expected, data, nested, "zz_future_field")
        assert module.decode(json.dumps(data)) == expected, nested


@pytest.mark.parametrize(("channel", "path"), fixtures("client"))
def test_client_messages_refuse_unknown_fields(channel: str, path: Path) -> None:
    """``decode_client`` is strict at every level, so a typo in a client message fails loudly."""
    module = channel_module(channel)
    text = path.read_text(encoding="utf-8")
    message = module.decode_client(text)
    data = json.loads(text)
    data["zz_typo"] = 1
    with pytest.raises(msgspec.ValidationError, match="zz_typo"):
        module.decode_client(json.dumps(data))
    for nested in struct_paths(message):
        data = json.loads(text)
        add_field_at(message, data, nested, "zz_typo")
        with pytest.raises(msgspec.ValidationError, match="zz_typo"):
            module.decode_client(json.dumps(data))


# --- unknown, invalid and binary frames ----------------------------------------------------


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_unknown_type_decodes_to_unknown(channel: str) -> None:
    module = channel_module(channel)
    frame = '{"type": "SomethingNew", "value": 1}'
    result = module.decode(frame)
    assert isinstance(result, Unknown)
    assert result.type == "SomethingNew"
    assert result.raw == frame
    assert "SomethingNew" in result.error


@pytest.mark.parametrize("channel", list(CHANNELS))
@pytest.mark.parametrize(
    "frame",
    ["", "not json", "[1, 2]", '{"no_type": 1}', '{"type": 3}', "null", '{"type": "'],
)
def test_malformed_text_decodes_to_unknown(channel: str, frame: str) -> None:
    module = channel_module(channel)
    result = module.decode(frame)
    assert isinstance(result, Unknown)
    assert result.type == ""
    assert result.raw is frame
    assert result.error


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_decode_client_rejects_unknown_types(channel: str) -> None:
    module = channel_module(channel)
    with pytest.raises(msgspec.ValidationError, match="SomethingNew"):
        module.decode_client('{"type": "SomethingNew"}')
    with pytest.raises(msgspec.DecodeError):
        module.decode_client("not json")


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_decode_client_rejects_server_messages(channel: str) -> None:
    """A server-only tag is not a client message (the unions are per direction)."""
    module = channel_module(channel)
    only_server = tags(module.SERVER_MESSAGES) - tags(module.CLIENT_MESSAGES)
    for tag in sorted(only_server):
        with pytest.raises(msgspec.ValidationError):
            module.decode_client(json.dumps({"type": tag}))


@pytest.mark.parametrize("channel", list(CHANNELS))
@pytest.mark.parametrize("payload", [b"", b"\x00\x01" * 800, b'{"type": "Results"}'])
def test_binary_frames_are_the_same_bytes(channel: str, payload: bytes) -> None:
    module = channel_module(channel)
    frame = bytes(payload)
    assert module.decode(frame) is frame
    received = module.decode_client(frame)
    assert type(received) is bytes
    assert received == frame


# --- agent specifics ---------------------------------------------------------------------------


def test_agent_history_has_two_shapes() -> None:
    module = channel_module("agent-v1")
    chat = module.decode((EXAMPLES / "agent-v1/server/History.json").read_text(encoding="utf-8"))
    calls = module.decode(
        (EXAMPLES / "agent-v1/server/History.function_calls.json").read_text(encoding="utf-8")
    )
    assert type(chat) is type(calls)
    assert chat.type == calls.type == "History"
    assert isinstance(chat.role, str)
    assert isinstance(chat.content, str)
    assert getattr(chat, "function_calls", None) is None
    assert calls.function_calls
    assert getattr(calls, "role", None) is None
    assert getattr(calls, "content", None) is None


def test_agent_function_call_response_in_both_directions() -> None:
    module = channel_module("agent-v1")
    text = (EXAMPLES / "agent-v1/client/FunctionCallResponse.json").read_text(encoding="utf-8")
    sent = module.decode_client(text)
    received = module.decode(text)
    assert sent.type == received.type == "FunctionCallResponse"
    assert type(sent) in module.CLIENT_MESSAGES
    assert type(received) in module.SERVER_MESSAGES


# --- sessions ------------------------------------------------------------------------------


def sessions() -> list[Any]:
    return [
        pytest.param(path, id=path.stem) for path in sorted((EXAMPLES / "sessions").glob("*.jsonl"))
    ]


@pytest.mark.parametrize("path", sessions())
def test_session_replays_through_the_decoders(path: Path) -> None:
    module = channel_module(path.name.split(".", 1)[0])
    decoded: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        frame = json.loads(line)
        if frame["frame"] == "binary":
            data = bytes(frame["bytes"])
            if frame["dir"] == "s2c":
                assert module.decode(data) is data
            else:
                assert module.decode_client(data) == data
            continue
        if frame["frame"] != "text":
            continue
        if "fixture" in frame:
            text = (EXAMPLES / frame["fixture"]).read_text(encoding="utf-8")
            tag = tag_of(Path(frame["fixture"]))
        else:
            text, tag = frame["raw"], json.loads(frame["raw"])["type"]
        if frame["dir"] == "s2c":
            message = module.decode(text)
            assert not isinstance(message, Unknown), message
            check_class(module, message, tag, "server")
        elif "invalid" in frame.get("note", ""):
            with pytest.raises(msgspec.ValidationError):
                module.decode_client(text)
            continue
        else:
            message = module.decode_client(text)
            check_class(module, message, tag, "client")
        decoded.append(f"{frame['dir']} {message.type}")
    texts = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    expected = [f for f in texts if f["frame"] == "text" and "invalid" not in f.get("note", "")]
    assert len(decoded) == len(expected)
