"""``decode`` never raises, whatever arrives: property tests with hypothesis.

For every channel: arbitrary text, arbitrary bytes, and real fixture frames truncated or
mutated (characters flipped, deleted, inserted; bytes flipped; JSON values replaced) decode to
one of the channel's server structs or :class:`Unknown` (text), or come back as the very same
``bytes`` object (binary). ``decode_client`` may refuse a frame, but only with msgspec's own
``DecodeError`` / ``ValidationError``.

Text frames are drawn from valid Unicode scalar values, which is all a WebSocket text frame
(UTF-8 by RFC 6455) can carry; a ``str`` holding a lone surrogate is covered separately.

Volume: over 10,000 fuzzed server frames per run (truncated, mutated, byte-flipped, values of
the wrong type, fields dropped, known types with garbage fields, huge and deeply nested frames,
random bytes and text, valid JSON of other shapes) each go through all four channels' ``decode``.
Over the wire: the same kinds of frames, sent by a raw websockets server, reach ``messages`` of
a real connection of each client, one struct / ``Unknown`` / ``bytes`` per frame, and the stream
ends cleanly.
"""

from __future__ import annotations

import functools
import importlib
import json
import random
import threading
from types import ModuleType
from typing import Any

import msgspec
import pytest
from conftest import EXAMPLES
from harness import Recorder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.server import ServerConnection, serve

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


def check_decoded(module: ModuleType, frame: str | bytes) -> object:
    """The one property: ``decode`` returns a struct, ``Unknown`` or the same bytes."""
    result = module.decode(frame)
    if isinstance(frame, bytes):
        assert result is frame
        return result
    assert isinstance(result, (Unknown, *module.SERVER_MESSAGES)), repr(result)
    if isinstance(result, Unknown):
        assert result.raw is frame
        assert isinstance(result.type, str)
        assert result.error
    else:
        assert result.type == _tag_of(frame)
    return result


class _Tagged(msgspec.Struct):
    type: str


_tag_decoder = msgspec.json.Decoder(_Tagged)


def _tag_of(frame: str) -> str:
    """The ``type`` of a frame that decoded (``json.loads`` refuses some valid JSON: integers
    of more than 4,300 digits)."""
    return _tag_decoder.decode(frame).type


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


@channels
@FUZZ
@given(data=st.data())
def test_truncated_fixture_frames(channel: str, data: st.DataObject) -> None:
    module = channel_module(channel)
    frame = data.draw(st.sampled_from(fixture_frames(channel)))
    cut = data.draw(st.integers(min_value=0, max_value=len(frame)))
    check_decoded(module, frame[:cut])
    check_decoded_client(module, frame[:cut])


@channels
@FUZZ
@given(data=st.data())
def test_character_mutations_of_fixture_frames(channel: str, data: st.DataObject) -> None:
    module = channel_module(channel)
    frame = data.draw(st.sampled_from(fixture_frames(channel)).flatmap(char_mutations))
    check_decoded(module, frame)
    check_decoded_client(module, frame)


@channels
@FUZZ
@given(data=st.data())
def test_byte_flips_of_fixture_frames(channel: str, data: st.DataObject) -> None:
    module = channel_module(channel)
    flipped = data.draw(st.sampled_from(fixture_frames(channel)).flatmap(byte_flips))
    check_decoded(module, flipped)  # as a binary frame: handed on untouched
    check_decoded(module, flipped.decode("utf-8", errors="replace"))  # as text


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


# --- 10,000 fuzzed server frames per run ---------------------------------------------------
#
# Hypothesis draws, per example, a seed and the kinds of a batch of frames; a seeded
# ``random.Random`` then builds the frames. Drawing every character through hypothesis costs
# about a millisecond a frame; this way 10,000 frames take a couple of seconds, and a failure
# still shrinks to (and replays from) one seed and a short list of kinds.

MODULES = {
    channel: importlib.import_module(f"rxdeepgram.messages.{name}")
    for channel, name in CHANNELS.items()
}


@functools.cache
def server_fields() -> list[tuple[str, list[str]]]:
    """``(tag, field names)`` of every server message of every channel."""
    return [
        (str(cls.__struct_config__.tag), [f.encode_name for f in msgspec.structs.fields(cls)])
        for module in MODULES.values()
        for cls in module.SERVER_MESSAGES
    ]


@functools.cache
def all_fixture_frames() -> tuple[str, ...]:
    """Every fixture of every channel, pretty-printed as stored and compact as sent."""
    frames = [frame for channel in CHANNELS for frame in fixture_frames(channel)]
    return tuple(frames + [json.dumps(json.loads(f), separators=(",", ":")) for f in frames])


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    """The value at ``path`` in ``data``, or None when a step no longer exists."""
    for step in path:
        in_dict = isinstance(data, dict) and step in data
        if in_dict or (isinstance(data, list) and isinstance(step, int) and step < len(data)):
            data = data[step]
        else:
            return None
    return data


_JSON_PUNCTUATION = '{}[]",:-+.0123456789eE \\'
_UNICODE_RANGES = ((0x00, 0x20), (0x80, 0xD800), (0xE000, 0x110000))  # no surrogates


class Fuzzer:
    """Builds fuzzed server frames of each kind from a seeded ``random.Random``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def char(self) -> str:
        """A JSON punctuation character, printable ASCII, or any Unicode scalar value."""
        rng = self.rng
        pick = rng.randrange(6)
        if pick < 2:
            return _JSON_PUNCTUATION[rng.randrange(len(_JSON_PUNCTUATION))]
        if pick < 4:
            return chr(rng.randrange(0x20, 0x7F))
        low, high = _UNICODE_RANGES[rng.randrange(len(_UNICODE_RANGES))]
        return chr(rng.randrange(low, high))

    def text(self, size: int) -> str:
        return "".join(self.char() for _ in range(self.rng.randrange(size + 1)))

    def value(self, depth: int = 0) -> Any:
        """A random JSON value: scalars of every type (huge integers too), lists, objects."""
        rng = self.rng
        pick = rng.randrange(9 if depth < 3 else 7)
        if pick == 0:
            return None
        if pick == 1:
            return rng.random() < 0.5
        if pick == 2:
            return rng.randrange(-(2**70), 2**70)
        if pick == 3:
            return rng.choice([0, -1, 1, 2**63, -(2**63) - 1, 2**64])
        if pick == 4:
            return rng.uniform(-1e9, 1e9)
        if pick in (5, 6):
            return self.text(10)
        if pick == 7:
            return [self.value(depth + 1) for _ in range(rng.randrange(4))]
        return {self.text(6): self.value(depth + 1) for _ in range(rng.randrange(4))}

    def fixture(self) -> str:
        return self.rng.choice(all_fixture_frames())

    # -- the kinds --

    def truncated(self) -> str:
        frame = self.fixture()
        return frame[: self.rng.randrange(len(frame) + 1)]

    def mutated(self) -> str:
        chars = list(self.fixture())
        for _ in range(self.rng.randrange(1, 6)):
            index = self.rng.randrange(len(chars))
            op = self.rng.randrange(3)
            if op == 0:
                chars[index] = self.char()
            elif op == 1:
                del chars[index]
            else:
                chars.insert(index, self.char())
        return "".join(chars)

    def byte_flipped(self) -> str | bytes:
        data = bytearray(self.fixture().encode())
        for _ in range(self.rng.randrange(1, 6)):
            data[self.rng.randrange(len(data))] ^= self.rng.randrange(1, 256)
        return bytes(data) if self.rng.random() < 0.5 else data.decode("utf-8", errors="replace")

    def wrong_value(self) -> str:
        """A fixture with values anywhere replaced by random ones (mostly the wrong type)."""
        data = json.loads(self.fixture())
        paths = json_paths(data)[1:]
        for _ in range(self.rng.randrange(1, 4)):
            path = self.rng.choice(paths)
            parent, step = _at(data, path[:-1]), path[-1]
            in_list = isinstance(parent, list) and isinstance(step, int) and step < len(parent)
            if in_list or (isinstance(parent, dict) and isinstance(step, str)):
                parent[step] = self.value()
        return json.dumps(data)

    def dropped_fields(self) -> str:
        """A fixture with keys removed at any depth (``type`` too, now and then)."""
        data = json.loads(self.fixture())
        paths = [p for p in json_paths(data) if isinstance(_at(data, p), dict)]
        for _ in range(self.rng.randrange(1, 5)):
            target = _at(data, self.rng.choice(paths))
            if isinstance(target, dict) and target:
                del target[self.rng.choice(sorted(target))]
        return json.dumps(data)

    def garbage_fields(self) -> str:
        """A known ``type`` (any channel's) whose own field names carry random values."""
        tag, names = self.rng.choice(server_fields())
        data: dict[str, Any] = {"type": tag}
        for name in self.rng.sample(names, self.rng.randrange(len(names) + 1)):
            data[name] = self.value()
        return json.dumps(data)

    def huge(self) -> str:
        """Big frames: long strings, long word lists, deep nesting, very long numbers."""
        rng = self.rng
        n = rng.randrange(1, 2_000)
        kind = rng.randrange(4)
        if kind == 0:
            data = json.loads(self.fixture())
            data[rng.choice(["zz_pad", "transcript", "description", "content"])] = "x" * (n * 100)
            return json.dumps(data)
        if kind == 1:
            word = {"word": "w", "start": 0.5, "end": 0.75, "confidence": 0.9}
            if rng.random() < 0.5:
                return json.dumps({"type": "TurnInfo", "transcript": "w " * n, "words": [word] * n})
            alternative = {"transcript": "w " * n, "confidence": 0.9, "words": [word] * n}
            return json.dumps({"type": "Results", "channel": {"alternatives": [alternative]}})
        if kind == 2:
            depth = n * 3  # past the interpreter's recursion limit from about 1,000
            opening, closing = rng.choice([("[", "]"), ('{"a":', "}")])
            tag = rng.choice(["Results", "TurnInfo", "History", "Metadata", "Error"])
            field = rng.choice(["channel", "zz", "words", "metadata", "code"])
            return f'{{"type": "{tag}", "{field}": {opening * depth}1{closing * depth}}}'
        tag = rng.choice(["Results", "Metadata", "Flushed", "Connected"])
        field = rng.choice(["start", "sequence_id", "duration", "channels"])
        return f'{{"type": "{tag}", "{field}": {"9" * (n * 10)}}}'

    def random_bytes(self) -> bytes:
        return self.rng.randbytes(self.rng.randrange(600))

    def random_text(self) -> str:
        return self.text(300)

    def other_json(self) -> str:
        """Valid JSON of other shapes: scalars, arrays, objects without a string ``type``."""
        value = self.value()
        if isinstance(value, dict) and self.rng.random() < 0.5:
            value["type"] = self.value()
        return json.dumps(value)


FUZZ_KINDS = (
    "byte_flipped",
    "dropped_fields",
    "garbage_fields",
    "huge",
    "mutated",
    "other_json",
    "random_bytes",
    "random_text",
    "truncated",
    "wrong_value",
)
BATCH = 25
FUZZ_EXAMPLES = 410
"""410 examples of 25 frames: 10,250 frames per run."""


def fuzzed_frames(seed: int, kinds: list[str]) -> list[tuple[str, str | bytes]]:
    fuzzer = Fuzzer(seed)
    return [(kind, getattr(fuzzer, kind)()) for kind in kinds]


FUZZ_BATCH = st.tuples(
    st.integers(min_value=0, max_value=2**32 - 1),
    st.lists(st.sampled_from(FUZZ_KINDS), min_size=BATCH, max_size=BATCH),
)


def test_ten_thousand_fuzzed_server_frames_through_every_channel() -> None:
    """10,000+ fuzzed frames of every kind, each through all four ``decode``s: no exception, and
    each result is a struct of that channel, ``Unknown`` or the very same ``bytes``. (A hang would
    trip pytest-timeout.)"""
    seen: dict[str, int] = dict.fromkeys(FUZZ_KINDS, 0)
    outcomes = {"struct": 0, "unknown": 0, "bytes": 0}

    @settings(
        max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(batch=FUZZ_BATCH)
    def run(batch: tuple[int, list[str]]) -> None:
        for kind, frame in fuzzed_frames(*batch):
            seen[kind] += 1
            for module in MODULES.values():
                result = check_decoded(module, frame)
                if isinstance(frame, bytes):
                    outcomes["bytes"] += 1
                else:
                    outcomes["unknown" if isinstance(result, Unknown) else "struct"] += 1

    run()
    assert sum(seen.values()) >= 10_000, seen
    assert min(seen.values()) >= 200, seen  # every kind well represented
    assert min(outcomes.values()) > 0, outcomes  # structs, Unknown and bytes all came out


# --- over the wire: a raw server sends fuzzed frames to a real connection ------------------

CONNECT_OPTIONS: dict[str, dict[str, Any]] = {
    "listen.v1": {"model": "nova-3", "keepalive": False},
    "listen.v2": {"model": "flux-general-en", "encoding": "linear16", "sample_rate": 16000},
    "speak.v1": {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 24000},
    "agent.v1": {},
}
WIRE_BATCH = 150
WIRE_EXAMPLES = 2
"""Two connections of 150 frames per channel and client."""


class FrameServer:
    """A plain websockets server on 127.0.0.1:0 that sends ``frames`` on every connection, then
    closes with 1000."""

    def __init__(self, frames: list[str | bytes]) -> None:
        self.frames = frames
        self.server = serve(self._handle, "127.0.0.1", 0, compression=None, max_size=None)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}"

    def _handle(self, ws: ServerConnection) -> None:
        for frame in self.frames:
            ws.send(frame)
        ws.close(1000)

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


def fatal_types(channel: str) -> tuple[type, ...]:
    """Messages that end a session on purpose (Listen V2 / Agent ``Error``): left out here."""
    module = MODULES[channel.replace(".", "-")]
    return (module.Error,) if channel in ("listen.v2", "agent.v1") else ()


@pytest.mark.parametrize("channel", list(CONNECT_OPTIONS))
def test_fuzzed_frames_over_a_real_connection(h: Any, channel: str) -> None:
    """Every frame reaches ``messages`` as its decoded struct, ``Unknown`` or ``bytes``, in
    order, and the stream completes at the server's close: no frame kills it."""
    module = MODULES[channel.replace(".", "-")]
    fatal = fatal_types(channel)
    sent = 0

    @settings(
        max_examples=WIRE_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(seed=st.integers(min_value=0, max_value=2**32 - 1))
    def run(seed: int) -> None:
        nonlocal sent
        rng = random.Random(seed)
        kinds = [rng.choice(FUZZ_KINDS) for _ in range(WIRE_BATCH * 2)]
        frames = [
            frame
            for _, frame in fuzzed_frames(seed, kinds)
            if not isinstance(module.decode(frame), fatal)
        ][:WIRE_BATCH]
        server = FrameServer(frames)
        try:
            client = h.client(api_key="k", base_url=server.url)
            messages, raw = Recorder(), Recorder()
            with h.connect(client, channel, **CONNECT_OPTIONS[channel]) as conn:
                conn.messages.subscribe(messages)
                conn.raw.subscribe(raw)
                messages.wait(30)
                raw.wait(30)
        finally:
            server.stop()
        assert messages.error is None, messages.error
        assert messages.completed
        assert raw.items == frames
        assert messages.items == [module.decode(frame) for frame in frames]
        for frame, item in zip(frames, messages.items, strict=True):
            if isinstance(frame, bytes):
                assert type(item) is bytes
            else:
                assert isinstance(item, (Unknown, *module.SERVER_MESSAGES)), repr(item)
        sent += len(frames)

    run()
    assert sent == WIRE_BATCH * WIRE_EXAMPLES
