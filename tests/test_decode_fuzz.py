"""``decode`` never raises, whatever arrives: property tests with hypothesis.

For every channel: arbitrary text, arbitrary bytes, and real fixture frames truncated or
mutated (characters flipped, deleted, inserted; bytes flipped; JSON values replaced) decode to
one of the channel's server structs or :class:`Unknown` (text), or come back as the very same
``bytes`` object (binary). ``decode_client`` may refuse a frame, but only with msgspec's own
``DecodeError`` / ``ValidationError``.

Text frames are drawn from valid Unicode scalar values, which is all a WebSocket text frame
(UTF-8 by RFC 6455) can carry; a ``str`` holding a lone surrogate is covered separately.
"""

from __future__ import annotations

import functools
import importlib
import json
from types import ModuleType
from typing import Any

import msgspec
import pytest
from conftest import EXAMPLES, requires_shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rxdeepgram.messages import Unknown

CHANNELS = {
    "listen-v1": "listen_v1",
    "listen-v2": "listen_v2",
    "speak-v1": "speak_v1",
    "agent-v1": "agent_v1",
}

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def channel_module(channel: str) -> ModuleType:
    name = f"rxdeepgram.messages.{CHANNELS[channel]}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        pytest.skip(f"{name.replace('.', '/')}.py does not exist yet")


@functools.cache
def fixture_frames(channel: str) -> list[str]:
    """Every fixture of ``channel`` (both directions: the server may send anything)."""
    return [
        path.read_text(encoding="utf-8")
        for direction in ("server", "client")
        for path in sorted((EXAMPLES / channel / direction).glob("*.json"))
    ]


def check_decoded(module: ModuleType, frame: str | bytes) -> None:
    """The one property: ``decode`` returns a struct, ``Unknown`` or the same bytes."""
    result = module.decode(frame)
    if isinstance(frame, bytes):
        assert result is frame
        return
    assert isinstance(result, (Unknown, *module.SERVER_MESSAGES)), repr(result)
    if isinstance(result, Unknown):
        assert result.raw is frame
        assert isinstance(result.type, str)
        assert result.error
    else:
        assert result.type == json.loads(frame)["type"]


def check_decoded_client(module: ModuleType, frame: str) -> None:
    try:
        result = module.decode_client(frame)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return
    assert isinstance(result, module.CLIENT_MESSAGES), repr(result)


# --- strategies ----------------------------------------------------------------------------

SCALAR_TEXT = st.characters(exclude_categories=("Cs",))  # what UTF-8 can carry
JSON_CHARS = st.sampled_from(list('{}[]",:-+.0123456789eEtrufalsn \\'))
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(SCALAR_TEXT, max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(SCALAR_TEXT, max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def char_mutations(draw: st.DrawFn, text: str) -> str:
    """``text`` with a few characters flipped, deleted or inserted."""
    chars = list(text)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        op = draw(st.sampled_from(["flip", "delete", "insert"]))
        if not chars:
            op = "insert"
        index = draw(st.integers(min_value=0, max_value=max(len(chars) - 1, 0)))
        char = draw(JSON_CHARS | SCALAR_TEXT)
        if op == "flip":
            chars[index] = char
        elif op == "delete":
            del chars[index]
        else:
            chars.insert(index, char)
    return "".join(chars)


@st.composite
def byte_flips(draw: st.DrawFn, text: str) -> bytes:
    """The UTF-8 of ``text`` with a few bits flipped."""
    data = bytearray(text.encode("utf-8"))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        index = draw(st.integers(min_value=0, max_value=len(data) - 1))
        data[index] ^= draw(st.integers(min_value=1, max_value=255))
    return bytes(data)


def json_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += json_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += json_paths(item, (*path, index))
    return paths


@st.composite
def value_replacements(draw: st.DrawFn, text: str) -> str:
    """``text`` (a JSON object) with one value, anywhere in it, replaced by another."""
    data = json.loads(text)
    path = draw(st.sampled_from(json_paths(data)[1:]))
    new = draw(JSON_VALUES)
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return json.dumps(data)


# --- properties ----------------------------------------------------------------------------

channels = pytest.mark.parametrize("channel", list(CHANNELS))


@channels
@FUZZ
@given(text=st.text(SCALAR_TEXT, max_size=200))
def test_arbitrary_text(channel: str, text: str) -> None:
    module = channel_module(channel)
    check_decoded(module, text)
    check_decoded_client(module, text)


@channels
@FUZZ
@given(text=st.text(JSON_CHARS, max_size=60).map(lambda t: '{"type": "' + t))
def test_json_looking_text(channel: str, text: str) -> None:
    check_decoded(channel_module(channel), text)


@channels
@FUZZ
@given(data=st.binary(max_size=256))
def test_arbitrary_bytes(channel: str, data: bytes) -> None:
    module = channel_module(channel)
    check_decoded(module, data)
    received = module.decode_client(data)
    assert type(received) is bytes
    assert received == data


@requires_shared
@channels
@FUZZ
@given(data=st.data())
def test_truncated_fixture_frames(channel: str, data: st.DataObject) -> None:
    module = channel_module(channel)
    frame = data.draw(st.sampled_from(fixture_frames(channel)))
    cut = data.draw(st.integers(min_value=0, max_value=len(frame)))
    check_decoded(module, frame[:cut])
    check_decoded_client(module, frame[:cut])


@requires_shared
@channels
@FUZZ
@given(data=st.data())
def test_character_mutations_of_fixture_frames(channel: str, data: st.DataObject) -> None:
    module = channel_module(channel)
    frame = data.draw(st.sampled_from(fixture_frames(channel)).flatmap(char_mutations))
    check_decoded(module, frame)
    check_decoded_client(module, frame)


@requires_shared
@channels
@FUZZ
@given(data=st.data())
def test_byte_flips_of_fixture_frames(channel: str, data: st.DataObject) -> None:
    module = channel_module(channel)
    flipped = data.draw(st.sampled_from(fixture_frames(channel)).flatmap(byte_flips))
    check_decoded(module, flipped)  # as a binary frame: handed on untouched
    check_decoded(module, flipped.decode("utf-8", errors="replace"))  # as text


@requires_shared
@channels
@FUZZ
@given(data=st.data())
def test_value_replacements_in_fixture_frames(channel: str, data: st.DataObject) -> None:
    module = channel_module(channel)
    frame = data.draw(st.sampled_from(fixture_frames(channel)).flatmap(value_replacements))
    check_decoded(module, frame)
    check_decoded_client(module, frame)


@channels
def test_lone_surrogate_text(channel: str) -> None:
    """A ``str`` that is not valid Unicode cannot come from a WebSocket text frame, but a
    caller may still pass one to ``decode``."""
    check_decoded(channel_module(channel), '{"type": "\ud800"}')
