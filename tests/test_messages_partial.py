"""What the live service leaves out: server frames with missing fields still decode to their own
struct (issue 11).

Deepgram's live service omits fields its AsyncAPI spec marks required. For every server fixture
of every channel (``tests/data/protocol/<channel>/server/``): dropping any one field other
than ``type``, at the top level or in any nested object, and dropping all of them at once, still
decodes to the fixture's own struct, with the dropped field at its default (``None`` or its
type's empty value) and every other field as in the full frame. A field that is present with the
wrong type still becomes ``Unknown`` whose ``error`` names the field. ``decode_client`` stays
strict: a client message missing a required field is refused. And a struct built with the empty
defaults still encodes every field, so the local server keeps sending complete shapes.
"""

from __future__ import annotations

import copy
import json
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest
from conftest import EXAMPLES

from rxdeepgram.messages import Unknown, agent_v1, encode, listen_v1, listen_v2, speak_v1

MODULES = {
    "listen-v1": listen_v1,
    "listen-v2": listen_v2,
    "speak-v1": speak_v1,
    "agent-v1": agent_v1,
}


def server_fixtures() -> list[Any]:
    return [
        pytest.param(channel, path, id=f"{channel}/{path.stem}")
        for channel in MODULES
        for path in sorted((EXAMPLES / channel / "server").glob("*.json"))
    ]


def client_fixtures() -> list[Any]:
    return [
        pytest.param(channel, path, id=f"{channel}/{path.stem}")
        for channel in MODULES
        for path in sorted((EXAMPLES / channel / "client").glob("*.json"))
    ]


def tag_of(path: Path) -> str:
    return path.name.split(".", 1)[0]


Step = tuple[str, str | int]
"""One step into a decoded message: ``("field", name)``, ``("key", dict key)`` or
``("index", list index)``."""


def structs_in(value: Any, path: tuple[Step, ...] = ()) -> Iterator[tuple[tuple[Step, ...], Any]]:
    """``(path, struct)`` for the message itself and every struct nested in it."""
    if isinstance(value, msgspec.Struct):
        yield path, value
        for name in value.__struct_fields__:
            yield from structs_in(getattr(value, name), (*path, ("field", name)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from structs_in(item, (*path, ("index", index)))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from structs_in(item, (*path, ("key", key)))


def encode_name(struct: msgspec.Struct, name: str) -> str:
    return next(f.encode_name for f in msgspec.structs.fields(struct) if f.name == name)


def json_steps(message: msgspec.Struct, path: tuple[Step, ...]) -> list[str | int]:
    """The JSON keys / indexes of ``path`` (field names turned into their wire names)."""
    steps: list[str | int] = []
    value: Any = message
    for kind, step in path:
        if kind == "field":
            assert isinstance(step, str)
            steps.append(encode_name(value, step))
            value = getattr(value, step)
        else:
            steps.append(step)
            value = value[step]
    return steps


def msgspec_location(path: tuple[Step, ...], wire_steps: list[str | int]) -> str:
    """How msgspec's errors write a location: ``$.channel.alternatives[0].words[0].start``;
    a value inside a ``dict`` field is ``[...]``."""
    text = "$"
    for (kind, _), step in zip(path, wire_steps, strict=True):
        if kind == "field":
            text += f".{step}"
        elif kind == "index":
            text += f"[{step}]"
        else:
            text += "[...]"
    return text


def object_at(data: Any, steps: list[str | int]) -> Any:
    for step in steps:
        data = data[step]
    return data


def default_of(field: msgspec.structs.FieldInfo) -> Any:
    if field.default_factory is not msgspec.NODEFAULT:
        return field.default_factory()
    assert field.default is not msgspec.NODEFAULT, f"{field.name} has no default"
    return field.default


def get(value: Any, path: tuple[Step, ...]) -> Any:
    for kind, step in path:
        value = getattr(value, step) if kind == "field" else value[step]  # type: ignore[arg-type]
    return value


def decode_fixture(channel: str, path: Path) -> tuple[ModuleType, msgspec.Struct, dict[str, Any]]:
    module = MODULES[channel]
    text = path.read_text(encoding="utf-8")
    message = module.decode(text)
    assert not isinstance(message, Unknown), message.error
    return module, message, json.loads(text)


# --- every field may be absent -------------------------------------------------------------


@pytest.mark.parametrize(("channel", "path"), server_fixtures())
def test_each_field_dropped_in_turn_decodes_to_its_own_struct(channel: str, path: Path) -> None:
    """At the top level and inside every nested struct: drop one field -> the same class, that
    field at its default, all else unchanged."""
    module, message, data = decode_fixture(channel, path)
    dropped = 0
    for spath, struct in structs_in(message):
        steps = json_steps(message, spath)
        for field in msgspec.structs.fields(struct):
            if field.encode_name not in object_at(data, steps):
                continue
            partial = copy.deepcopy(data)
            del object_at(partial, steps)[field.encode_name]
            result = module.decode(json.dumps(partial))
            where = f"{msgspec_location(spath, steps)}.{field.encode_name}"
            assert type(result) is type(message), f"without {where}: {result!r}"
            expected = msgspec.structs.replace(struct, **{field.name: default_of(field)})
            assert get(result, spath) == expected, where
            if spath:  # the rest of the message is untouched
                rebuilt = json.loads(encode(result))
                object_at(rebuilt, steps)[field.encode_name] = object_at(data, steps)[
                    field.encode_name
                ]
                assert module.decode(json.dumps(rebuilt)) == message, where
            dropped += 1
    assert dropped > 0 or set(data) == {"type"}


@pytest.mark.parametrize(("channel", "path"), server_fixtures())
def test_all_fields_dropped_decodes_to_its_own_struct(channel: str, path: Path) -> None:
    module, message, _ = decode_fixture(channel, path)
    bare = module.decode(json.dumps({"type": tag_of(path)}))
    assert type(bare) is type(message)
    assert bare == type(message)()
    assert bare.type == tag_of(path)


@pytest.mark.parametrize(("channel", "path"), server_fixtures())
def test_every_nested_object_emptied_decodes(channel: str, path: Path) -> None:
    """Each nested object reduced to ``{}`` (all its fields dropped at once)."""
    module, message, data = decode_fixture(channel, path)
    for spath, _ in structs_in(message):
        if not spath:
            continue
        steps = json_steps(message, spath)
        partial = copy.deepcopy(data)
        object_at(partial, steps[:-1])[steps[-1]] = {}
        result = module.decode(json.dumps(partial))
        assert type(result) is type(message), f"{msgspec_location(spath, steps)} = {{}}"
        assert get(result, spath) == type(get(message, spath))()


def test_absent_fields_read_as_empty_values_of_their_type() -> None:
    bare = listen_v1.decode('{"type": "Results"}')
    assert isinstance(bare, listen_v1.Results)
    assert (bare.start, bare.duration, bare.channel_index, bare.is_final) == (0.0, 0.0, [], None)
    assert bare.metadata == listen_v1.ResultsMetadata(
        request_id="", model_uuid="", model_info=listen_v1.ModelInfo(name="", version="", arch="")
    )
    turn = listen_v2.decode('{"type": "TurnInfo", "event": "Update"}')
    assert isinstance(turn, listen_v2.TurnInfo)
    assert (turn.event, turn.transcript, turn.words, turn.turn_index) == ("Update", "", [], 0)
    calls = agent_v1.decode('{"type": "FunctionCallRequest", "functions": [{"name": "f"}]}')
    assert isinstance(calls, agent_v1.FunctionCallRequest)
    assert calls.functions == [agent_v1.FunctionCall(id="", name="f", arguments="")]
    assert calls.functions[0].client_side is False  # unknown side: the client does not run it
    assert speak_v1.decode('{"type": "Flushed"}') == speak_v1.Flushed(sequence_id=0)


def test_results_without_channel_reads_as_one_empty_alternative() -> None:
    """``m.channel.alternatives[0].transcript`` is ``""`` (as for silence), not an IndexError;
    an ``alternatives`` list that was sent empty stays empty."""
    for frame in ['{"type": "Results"}', '{"type": "Results", "channel": {}}']:
        results = listen_v1.decode(frame)
        assert isinstance(results, listen_v1.Results)
        assert results.channel.alternatives[0].transcript == ""
        assert results.channel.alternatives[0].words == []
        assert len(results.channel.alternatives) == 1
    sent_empty = listen_v1.decode('{"type": "Results", "channel": {"alternatives": []}}')
    assert isinstance(sent_empty, listen_v1.Results)
    assert sent_empty.channel.alternatives == []


# --- the frames recorded from the live service ---------------------------------------------


def test_recorded_agent_error_without_code() -> None:
    frame = (
        '{"type": "Error", "description": "Failed to process the agent settings.",'
        ' "message": "think provider rejected the request"}'
    )
    messages = [agent_v1.decode(frame)]
    errors = [m for m in messages if isinstance(m, agent_v1.Error)]
    assert errors == [
        agent_v1.Error(
            description="Failed to process the agent settings.",
            code="",
            message="think provider rejected the request",
        )
    ]


def test_recorded_flux_configure_failure_without_request_id() -> None:
    frame = '{"type": "ConfigureFailure", "sequence_id": 4}'
    failure = listen_v2.decode(frame)
    assert type(failure) is listen_v2.ConfigureFailure
    assert (failure.request_id, failure.sequence_id, failure.code) == ("", 4, None)


# --- wrong types are still refused ---------------------------------------------------------

_WRONG_CANDIDATES: tuple[Any, ...] = ({"wrong": [1]}, "wrong", [{"wrong": 1}], True, 1.5)


def wrong_value(tp: Any) -> Any:
    """A JSON value that does not fit ``tp`` (``None`` stands for "nothing fits", an ``Any``)."""
    for candidate in _WRONG_CANDIDATES:
        try:
            msgspec.convert(candidate, tp)
        except msgspec.ValidationError:
            return candidate
    return None


def field_type(struct: msgspec.Struct, name: str) -> Any:
    return typing.get_type_hints(type(struct))[name]


@pytest.mark.parametrize(("channel", "path"), server_fixtures())
def test_a_field_with_the_wrong_type_is_unknown_naming_it(channel: str, path: Path) -> None:
    module, message, data = decode_fixture(channel, path)
    checked = 0
    for spath, struct in structs_in(message):
        steps = json_steps(message, spath)
        for field in msgspec.structs.fields(struct):
            if field.encode_name not in object_at(data, steps):
                continue
            wrong = wrong_value(field_type(struct, field.name))
            if wrong is None:
                continue
            bad = copy.deepcopy(data)
            object_at(bad, steps)[field.encode_name] = wrong
            frame = json.dumps(bad)
            result = module.decode(frame)
            where = f"{msgspec_location(spath, steps)}.{field.encode_name}"
            assert isinstance(result, Unknown), f"{where} = {wrong!r} gave {result!r}"
            assert result.type == tag_of(path)
            assert result.raw is frame
            assert where in result.error, result.error
            checked += 1
    assert checked > 0 or set(data) == {"type"}


def test_null_is_the_wrong_type_for_a_field_that_is_not_optional() -> None:
    result = agent_v1.decode('{"type": "Error", "description": "d", "code": null}')
    assert isinstance(result, Unknown)
    assert "$.code" in result.error


# --- the other direction stays strict ------------------------------------------------------


@pytest.mark.parametrize(("channel", "path"), client_fixtures())
def test_decode_client_refuses_a_missing_required_field(channel: str, path: Path) -> None:
    module = MODULES[channel]
    text = path.read_text(encoding="utf-8")
    message = module.decode_client(text)
    data = json.loads(text)
    required = [
        f.encode_name
        for f in msgspec.structs.fields(message)
        if f.required and f.encode_name in data
    ]
    for name in required:
        partial = {k: v for k, v in data.items() if k != name}
        with pytest.raises(msgspec.ValidationError, match=f"missing required field `{name}`"):
            module.decode_client(json.dumps(partial))
    if not required:
        assert module.decode_client(json.dumps({"type": tag_of(path)})) == type(message)()


def test_client_side_function_call_response_keeps_its_required_fields() -> None:
    """The server's ``FunctionCallResponse`` is lenient, the client's is not."""
    received = agent_v1.decode('{"type": "FunctionCallResponse", "id": "x"}')
    assert type(received) is agent_v1.ReceivedFunctionCallResponse
    assert (received.id, received.name, received.content) == ("x", "", "")
    with pytest.raises(msgspec.ValidationError, match="name"):
        agent_v1.decode_client('{"type": "FunctionCallResponse", "id": "x"}')


# --- what is sent stays complete -----------------------------------------------------------


def server_struct_classes() -> list[type[msgspec.Struct]]:
    seen: dict[type[msgspec.Struct], None] = {}

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            if tp in seen:
                return
            seen[tp] = None
            for hint in typing.get_type_hints(tp).values():
                visit(hint)
        for arg in typing.get_args(tp):
            visit(arg)

    for module in MODULES.values():
        for cls in module.SERVER_MESSAGES:
            visit(cls)
    return list(seen)


@pytest.mark.parametrize(
    "cls", server_struct_classes(), ids=lambda c: f"{c.__module__}.{c.__name__}"
)
def test_empty_defaults_are_still_encoded(cls: type[msgspec.Struct]) -> None:
    """A server struct built without its spec-required fields still encodes every one of them
    (their defaults are factories, which ``omit_defaults`` keeps), and decodes back equal."""
    built = cls()
    encoded = json.loads(encode(built)) if hasattr(built, "type") else msgspec.to_builtins(built)
    kept = {f.encode_name for f in msgspec.structs.fields(cls) if f.default is not None}
    assert kept <= set(encoded), kept - set(encoded)
    optional = {f.encode_name for f in msgspec.structs.fields(cls) if f.default is None}
    assert not optional & set(encoded)
    assert msgspec.convert(encoded, cls) == built


def test_every_server_field_has_a_default() -> None:
    missing = [
        f"{cls.__module__}.{cls.__name__}.{f.name}"
        for cls in server_struct_classes()
        for f in msgspec.structs.fields(cls)
        if f.required
    ]
    assert missing == []
