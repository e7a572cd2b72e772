"""The typed ``**options`` of each channel's ``connect()`` / cold operator.

The ``TypedDict`` s of ``rxdeepgram.options._typed`` are what editors complete and type
checkers check; the options dataclasses are what validates at run time. These tests keep the
two the same (names, types, required keys), and run mypy on code that misspells an option or
gives it the wrong type, to see it refused.
"""

from __future__ import annotations

import dataclasses
import inspect
import textwrap
import typing
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from rxdeepgram import AsyncDeepgramClient, DeepgramClient, InvalidOptionError
from rxdeepgram.options import ListenV1Options, ListenV2Options, SpeakV1Options, SpeakV2Options
from rxdeepgram.options import _typed as typed
from rxdeepgram.options._base import OptionsBase

ROOT = Path(__file__).resolve().parent.parent

PAIRS = [
    (typed.ListenV1ConnectOptions, ListenV1Options, set()),
    (typed.ListenV2ConnectOptions, ListenV2Options, {"channels"}),
    (typed.SpeakV1ConnectOptions, SpeakV1Options, {"channels"}),
    (typed.SpeakV2ConnectOptions, SpeakV2Options, {"channels"}),
]
"""(TypedDict, options dataclass, keys typed only for ``**AudioFormat.options()``)."""
IDS = [td.__name__ for td, _, _ in PAIRS]


def _hints(cls: type) -> dict[str, Any]:
    import rxdeepgram.options._base as base
    import rxdeepgram.options.listen_v1 as l1
    import rxdeepgram.options.listen_v2 as l2
    import rxdeepgram.options.speak_v1 as s1
    import rxdeepgram.options.speak_v2 as s2

    namespace = {**vars(base), **vars(l1), **vars(l2), **vars(s1), **vars(s2), **vars(typed)}
    return get_type_hints(cls, globalns=namespace, include_extras=False)


@pytest.mark.parametrize(("td", "options", "loose"), PAIRS, ids=IDS)
def test_the_typed_dict_has_the_dataclass_fields(
    td: type, options: type[OptionsBase], loose: set[str]
) -> None:
    fields = {f.name for f in dataclasses.fields(options)}
    assert fields == {*options.FIELDS, "extra_query"}
    assert set(td.__annotations__) == fields | set(options.PASSTHROUGH) | loose


@pytest.mark.parametrize(("td", "options", "loose"), PAIRS, ids=IDS)
def test_required_keys_are_the_required_options(
    td: Any, options: type[OptionsBase], loose: set[str]
) -> None:
    required = {name for name, param in options.FIELDS.items() if param.required}
    assert set(td.__required_keys__) == required


@pytest.mark.parametrize(("td", "options", "loose"), PAIRS, ids=IDS)
def test_types_are_the_dataclass_types(
    td: type, options: type[OptionsBase], loose: set[str]
) -> None:
    ours = _hints(td)
    theirs = _hints(options)
    for name, hint in theirs.items():
        if name.isupper() or name not in ours:
            continue
        expected = hint
        if td in (typed.SpeakV1ConnectOptions, typed.SpeakV2ConnectOptions) and (
            name == "sample_rate"
        ):
            expected = typing.Union[hint, int, None]  # noqa: UP007 (loosened: int)
        assert ours[name] == expected, name
    for name, param in options.PASSTHROUGH.items():
        assert name in ours, name
        assert param.repeatable == (typing.get_origin(typing.get_args(ours[name])[0]) is list)


def test_the_agent_takes_no_options() -> None:
    assert typed.AgentV1ConnectOptions.__annotations__ == {}


@pytest.mark.parametrize("client_cls", [DeepgramClient, AsyncDeepgramClient])
def test_every_channel_s_connect_is_typed(client_cls: type) -> None:
    client = client_cls(api_key="k", base_url="ws://127.0.0.1:9")
    channels = {
        "listen.v1": (client.listen.v1, "transcribe", "ListenV1ConnectOptions"),
        "listen.v2": (client.listen.v2, "transcribe", "ListenV2ConnectOptions"),
        "speak.v1": (client.speak.v1, "synthesize", "SpeakV1ConnectOptions"),
        "speak.v2": (client.speak.v2, "synthesize", "SpeakV2ConnectOptions"),
        "agent.v1": (client.agent.v1, "converse", "AgentV1ConnectOptions"),
    }
    for name, (channel, cold, td) in channels.items():
        # what the type checker sees: the channel's mixin declares both methods with
        # ``**options: Unpack[<td>]`` (checked for real by the mypy run below)
        assert channel.options_type == td, name
        assert hasattr(typed, td), name
        mixin = next(c for c in type(channel).__mro__ if "options_type" in vars(c))
        source = inspect.getsource(mixin)
        for method in ("connect", cold):
            assert f"def {method}(" in source, (name, method)
        assert source.count(f"**options: Unpack[{td}]") == 2, name
        # at run time the options are still validated before any I/O
        with pytest.raises(InvalidOptionError):
            channel.connect(**{"no_such_option": 1})


MISTAKES = """
from rxdeepgram import AsyncDeepgramClient, DeepgramClient, InvalidOptionError, audio

client = DeepgramClient()
fmt = audio.AudioFormat("linear16", 16000)
client.listen.v1.connect(model="nova-3", interim_results=True, **fmt.options())  # fine
client.listen.v2.connect(model="flux-general-en", **fmt.options())  # fine
client.speak.v1.synthesize(model="aura-2-thalia-en", **fmt.options())  # fine
client.listen.v1.connect(model="nova-3", interim_result=True)  # misspelt
client.listen.v1.connect(model="nova-3", endpointing="300")  # wrong type
client.listen.v1.connect(interim_results=True)  # no model
client.listen.v2.connect(model="flux-general-en", encoding="mp3", sample_rate=16000)
client.speak.v1.connect(model="aura-2-thalia-en", interim_results=True)
client.agent.v1.connect(model="nova-3")
AsyncDeepgramClient().listen.v1.connect(model="nova-3", smart_format="yes")
client.listen.v1.with_raw_response.connect(model="nova-3", interim_result=True)  # misspelt
"""


def test_mypy_checks_the_options(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    source = tmp_path / "mistakes.py"
    source.write_text(textwrap.dedent(MISTAKES))
    out, _err, status = api.run(
        [
            "--strict",
            "--no-incremental",
            "--follow-imports=silent",
            "--python-version=3.11",
            "--config-file=",
            str(source),
        ]
    )
    lines = [line for line in out.splitlines() if ": error:" in line]
    by_line = {int(line.split(":")[1]) for line in lines}
    assert status == 1, out
    expected = {9, 10, 11, 12, 13, 14, 15, 16}
    assert by_line == expected, out
    assert "interim_result" in out
