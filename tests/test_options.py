"""Typed connect options: table, encoding, parsing, validation errors and round trips."""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, get_args
from urllib.parse import parse_qsl

import pytest
from conftest import SPEC, shared
from hypothesis import given, settings
from hypothesis import strategies as st

from rxdeepgram.errors import InvalidOptionError
from rxdeepgram.options import (
    LISTEN_V1_MODELS,
    LISTEN_V2_MODELS,
    SPEAK_V1_MODELS,
    SPEAK_V1_SAMPLE_RATES,
    ListenV1CallbackMethod,
    ListenV1DiarizeModel,
    ListenV1Encoding,
    ListenV1Options,
    ListenV1Redact,
    ListenV2Encoding,
    ListenV2Model,
    ListenV2Options,
    ListenV2Redact,
    OptionsBase,
    Param,
    SpeakV1Encoding,
    SpeakV1Options,
    SpeakV1SampleRate,
    format_number,
)

V2_BASE: dict[str, Any] = {
    "model": "flux-general-en",
    "encoding": "linear16",
    "sample_rate": 16000,
}

# --- the tables ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "count"), [(ListenV1Options, 29), (ListenV2Options, 13), (SpeakV1Options, 5)]
)
def test_parameter_count_matches_docs(cls: type[OptionsBase], count: int) -> None:
    assert len(cls.FIELDS) == count
    assert "extra_query" not in cls.FIELDS
    field_names = {f.name for f in dataclasses.fields(cls)}
    assert field_names == {*cls.FIELDS, "extra_query"}


def test_table_derived_from_annotations() -> None:
    f = ListenV1Options.FIELDS
    assert f["model"].required and f["model"].kind == "str" and f["model"].choices is None
    assert f["interim_results"].kind == "bool" and not f["interim_results"].repeatable
    assert f["keyterm"].repeatable and f["keyterm"].kind == "str"
    assert f["redact"].repeatable and f["redact"].choices == get_args(ListenV1Redact)
    assert f["endpointing"].kind == "endpointing" and f["endpointing"].ge == 0
    assert f["channels"].kind == "int" and f["channels"].ge == 1
    assert [n for n, p in ListenV2Options.FIELDS.items() if p.required] == [
        "model",
        "encoding",
        "sample_rate",
    ]
    assert not any(p.required for p in SpeakV1Options.FIELDS.values())
    assert SpeakV1Options.FIELDS["sample_rate"].choices == SPEAK_V1_SAMPLE_RATES
    assert SpeakV1Options.FIELDS["speed"].kind == "float"


@functools.cache
def _spec() -> dict[str, Any]:
    import yaml

    with SPEC.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def _spec_enum(spec: dict[str, Any], channel: str, name: str) -> list[Any]:
    ref = spec["channels"][channel]["bindings"]["ws"]["query"]["properties"][name]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    values: list[Any] = schema["enum"]
    return values


@shared
@pytest.mark.parametrize(
    ("cls", "channel"),
    [
        (ListenV1Options, "/v1/listen"),
        (ListenV2Options, "/v2/listen"),
        (SpeakV1Options, "/v1/speak"),
    ],
)
def test_names_match_spec(cls: type[OptionsBase], channel: str) -> None:
    props = _spec()["channels"][channel]["bindings"]["ws"]["query"]["properties"]
    assert set(cls.FIELDS) == set(props)


@shared
def test_enums_match_spec() -> None:
    spec = _spec()
    pairs: list[tuple[tuple[Any, ...], str, str]] = [
        (get_args(ListenV1Encoding), "/v1/listen", "encoding"),
        (get_args(ListenV1Redact), "/v1/listen", "redact"),
        (get_args(ListenV1CallbackMethod), "/v1/listen", "callback_method"),
        (get_args(ListenV1DiarizeModel), "/v1/listen", "diarize_model"),
        (LISTEN_V1_MODELS, "/v1/listen", "model"),
        (get_args(ListenV2Model), "/v2/listen", "model"),
        (LISTEN_V2_MODELS, "/v2/listen", "model"),
        (get_args(ListenV2Encoding), "/v2/listen", "encoding"),
        (get_args(ListenV2Redact), "/v2/listen", "redact"),
        (get_args(SpeakV1Encoding), "/v1/speak", "encoding"),
        (SPEAK_V1_MODELS, "/v1/speak", "model"),
    ]
    for ours, channel, name in pairs:
        assert list(ours) == _spec_enum(spec, channel, name), (channel, name)
    rates = _spec_enum(spec, "/v1/speak", "sample_rate")
    assert [str(r) for r in get_args(SpeakV1SampleRate)] == rates


def test_speak_voice_list() -> None:
    assert len(SPEAK_V1_MODELS) == 103
    assert len(set(SPEAK_V1_MODELS)) == 103
    assert SPEAK_V1_MODELS[0] == "aura-angus-en"
    assert "aura-2-thalia-en" in SPEAK_V1_MODELS
    assert SPEAK_V1_MODELS[-1] == "aura-2-uzume-ja"


# --- encoding -----------------------------------------------------------------------------

WORKED_EXAMPLE = (
    "model=nova-3&encoding=linear16&sample_rate=16000&channels=1"
    "&interim_results=true&utterance_end_ms=1000&vad_events=true&endpointing=300"
    "&smart_format=true&keyterm=Deepgram&keyterm=order+number"
    "&redact=pci&redact=numbers&extra=team%3Asupport&tag=pilot"
)


def test_worked_example_from_python_values() -> None:
    opts = ListenV1Options.from_kwargs(
        model="nova-3",
        encoding="linear16",
        sample_rate=16000,
        channels=1,
        interim_results=True,
        utterance_end_ms=1000,
        vad_events=True,
        endpointing=300,
        smart_format=True,
        keyterm=["Deepgram", "order number"],
        redact=["pci", "numbers"],
        extra={"team": "support"},
        tag="pilot",
    )
    assert opts.query_string() == WORKED_EXAMPLE
    assert opts.to_query()[:3] == [
        ("model", "nova-3"),
        ("encoding", "linear16"),
        ("sample_rate", "16000"),
    ]
    assert ListenV1Options.from_query_string("?" + WORKED_EXAMPLE) == opts


def test_worked_example_from_seed_strings_in_any_order() -> None:
    opts = ListenV1Options.from_kwargs(
        tag="pilot",
        extra="team:support",
        redact=["pci", "numbers"],
        keyterm=["Deepgram", "order number"],
        smart_format="true",
        endpointing="300",
        vad_events="true",
        utterance_end_ms="1000",
        interim_results="true",
        channels="1",
        sample_rate="16000",
        encoding="linear16",
        model="nova-3",
    )
    assert opts.query_string() == WORKED_EXAMPLE


def test_unset_options_are_omitted_and_false_is_sent() -> None:
    opts = ListenV1Options.from_kwargs(model="nova-3", punctuate=False, language=None)
    assert opts.to_query() == [("model", "nova-3"), ("punctuate", "false")]
    assert opts.punctuate is False
    assert opts.language is None


def test_endpointing_false_and_zero_differ() -> None:
    off = ListenV1Options.from_kwargs(model="nova-3", endpointing=False)
    zero = ListenV1Options.from_kwargs(model="nova-3", endpointing=0)
    assert off.to_query()[-1] == ("endpointing", "false")
    assert zero.to_query()[-1] == ("endpointing", "0")
    assert off != zero
    assert off.endpointing is False
    assert ListenV1Options.from_kwargs(model="nova-3", endpointing="false") == off
    assert (
        ListenV1Options.from_query([("model", "x"), ("endpointing", "false")]).endpointing is False
    )


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (16000, "16000"),
        (16000.0, "16000"),
        (0.7, "0.7"),
        (1.0, "1"),
        (1.25, "1.25"),
        (1e-7, "0.0000001"),
        (-2.5, "-2.5"),
        (0.30000000000000004, "0.30000000000000004"),
        (1e16, "10000000000000000"),
    ],
)
def test_format_number_plain_decimal(number: float, text: str) -> None:
    assert format_number(number) == text
    assert "e" not in text.lower()
    assert float(text) == number


def test_float_options_written_plainly() -> None:
    opts = ListenV2Options.from_kwargs(**V2_BASE, eot_threshold=0.7, eager_eot_threshold=0.5)
    assert ("eot_threshold", "0.7") in opts.to_query()
    assert ("eager_eot_threshold", "0.5") in opts.to_query()
    speak = SpeakV1Options.from_kwargs(speed=1)
    assert speak.speed == 1.0 and isinstance(speak.speed, float)
    assert speak.to_query() == [("speed", "1")]


def test_spaces_plus_and_reserved_characters_are_escaped() -> None:
    opts = ListenV1Options.from_kwargs(model="nova-3", keyterm=["a&b=c", "50% off", "x+y"])
    qs = opts.query_string()
    assert qs == "model=nova-3&keyterm=a%26b%3Dc&keyterm=50%25+off&keyterm=x%2By"
    assert ListenV1Options.from_query_string(qs).keyterm == ["a&b=c", "50% off", "x+y"]


def test_pairs_accept_mappings() -> None:
    opts = ListenV1Options.from_kwargs(
        model="nova-3",
        keywords={"Twilio": 2, "snuffleupagus": -1.5},
        replace={"monika": "Monica"},
        extra={"team": "support", "n": 3},
    )
    assert opts.keywords == ["Twilio:2", "snuffleupagus:-1.5"]
    assert opts.replace == ["monika:Monica"]
    assert opts.extra == ["team:support", "n:3"]


# --- round trips and seed strings ---------------------------------------------------------

FULL_V1: dict[str, Any] = {
    "model": "nova-3",
    "language": "en-US",
    "version": "latest",
    "encoding": "mulaw",
    "sample_rate": 8000,
    "channels": 2,
    "multichannel": True,
    "interim_results": True,
    "utterance_end_ms": 1000,
    "vad_events": True,
    "endpointing": False,
    "punctuate": True,
    "smart_format": False,
    "numerals": True,
    "profanity_filter": False,
    "dictation": True,
    "diarize": False,
    "diarize_model": "latest",
    "detect_entities": True,
    "keyterm": ["order number", "Deepgram"],
    "keywords": ["Twilio:2", "plain"],
    "search": ["refund"],
    "replace": ["monika:Monica"],
    "redact": [True, "ssn"],
    "extra": ["team:support", "call:42"],
    "tag": ["pilot", "a b"],
    "callback": "https://example.com/cb?x=1",
    "callback_method": "PUT",
    "mip_opt_out": True,
}
FULL_V2: dict[str, Any] = {
    "model": "flux-general-multi",
    "encoding": "opus",
    "sample_rate": 48000,
    "eager_eot_threshold": 0.4,
    "eot_threshold": 0.8,
    "eot_timeout_ms": 3000,
    "keyterm": ["order number"],
    "language_hint": ["en", "es"],
    "profanity_filter": True,
    "numerals": False,
    "redact": "aggressive_numbers",
    "mip_opt_out": False,
    "tag": "pilot",
}
FULL_SPEAK: dict[str, Any] = {
    "model": "aura-2-thalia-en",
    "encoding": "mulaw",
    "sample_rate": 8000,
    "speed": 1.2,
    "mip_opt_out": True,
}
FULL = [(ListenV1Options, FULL_V1), (ListenV2Options, FULL_V2), (SpeakV1Options, FULL_SPEAK)]


@pytest.mark.parametrize(("cls", "kwargs"), FULL)
def test_full_round_trip(cls: type[OptionsBase], kwargs: dict[str, Any]) -> None:
    assert set(kwargs) == set(cls.FIELDS)  # every parameter exercised
    opts = cls.from_kwargs(**kwargs)
    pairs = opts.to_query()
    assert [k for k, _ in pairs if k in cls.FIELDS] == [
        k for k, _ in pairs
    ]  # nothing but known names
    back = cls.from_query(pairs)
    assert back == opts
    assert back.to_dict() == opts.to_dict()
    assert cls.from_query_string(opts.query_string()) == opts
    assert hash(back) == hash(opts)
    assert parse_qsl(opts.query_string()) == pairs


@pytest.mark.parametrize(("cls", "kwargs"), FULL)
def test_seed_strings_equal_python_values(cls: type[OptionsBase], kwargs: dict[str, Any]) -> None:
    opts = cls.from_kwargs(**kwargs)
    wire: dict[str, Any] = {}
    for name, text in opts.to_query():
        wire.setdefault(name, []).append(text)
    seed = {n: (v if cls.FIELDS[n].repeatable else v[0]) for n, v in wire.items()}
    assert all(isinstance(v, (str, list)) for v in seed.values())
    assert cls.from_kwargs(**seed) == opts


def test_seed_reference_kwargs() -> None:
    v2 = ListenV2Options.from_kwargs(
        model="flux-general-en", encoding="linear16", sample_rate="16000"
    )
    assert v2.sample_rate == 16000
    speak = SpeakV1Options.from_kwargs(
        model="aura-2-asteria-en", encoding="linear16", sample_rate=24000
    )
    assert speak.sample_rate == 24000
    assert SpeakV1Options.from_kwargs(sample_rate="24000") == SpeakV1Options(sample_rate=24000)
    v1 = ListenV1Options.from_kwargs(
        model="nova-3", interim_results="true", endpointing="false", utterance_end_ms="1000"
    )
    assert (v1.interim_results, v1.endpointing, v1.utterance_end_ms) == (True, False, 1000)


def test_typed_values_after_coercion() -> None:
    opts = ListenV1Options.from_kwargs(
        model="nova-3", channels="2", interim_results="false", keyterm="solo", redact="pci"
    )
    assert opts.channels == 2
    assert opts.interim_results is False
    assert opts.keyterm == ["solo"]
    assert opts.redact == ["pci"]
    v2 = ListenV2Options.from_kwargs(**V2_BASE, eot_threshold="0.85", keyterm=("a", "b"))
    assert v2.eot_threshold == 0.85
    assert v2.keyterm == ["a", "b"]


def test_direct_construction_validates_and_is_frozen() -> None:
    opts = ListenV1Options(model="nova-3", interim_results=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(opts, "model", "nova-2")  # noqa: B010
    with pytest.raises(InvalidOptionError, match="channels"):
        ListenV1Options(model="nova-3", channels=0)
    changed = dataclasses.replace(opts, channels=2)
    assert changed.channels == 2 and changed.interim_results is True
    with pytest.raises(InvalidOptionError, match="channels"):
        dataclasses.replace(opts, channels=-1)


def test_repr_shows_only_set_options() -> None:
    opts = ListenV1Options.from_kwargs(model="nova-3", interim_results=True)
    assert repr(opts) == "ListenV1Options(model='nova-3', interim_results=True)"


def test_empty_list_means_unset() -> None:
    opts = ListenV1Options.from_kwargs(model="nova-3", keyterm=[], tag=())
    assert opts.keyterm is None and opts.tag is None
    assert opts.to_query() == [("model", "nova-3")]


def test_python_enum_values_are_accepted() -> None:
    import enum

    class Enc(enum.Enum):
        MULAW = "mulaw"

    opts = SpeakV1Options.from_kwargs(encoding=Enc.MULAW)
    assert opts.encoding == "mulaw"
    assert opts.to_query() == [("encoding", "mulaw")]


# --- validation errors --------------------------------------------------------------------


def _error(cls: type[OptionsBase], **kwargs: Any) -> InvalidOptionError:
    with pytest.raises(InvalidOptionError) as info:
        cls.from_kwargs(**kwargs)
    return info.value


ERROR_CASES: list[tuple[type[OptionsBase], dict[str, Any], str, str, tuple[Any, ...] | None]] = [
    # enum values: errors list what is allowed
    (
        ListenV1Options,
        {"model": "nova-3", "encoding": "lin16"},
        "encoding",
        "did you mean 'linear16'",
        get_args(ListenV1Encoding),
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "redact": ["pci", "phone"]},
        "redact",
        "not an allowed value",
        get_args(ListenV1Redact),
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "callback_method": "post"},
        "callback_method",
        "did you mean 'POST'",
        get_args(ListenV1CallbackMethod),
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "diarize_model": "v2"},
        "diarize_model",
        "not an allowed value",
        ("latest", "v1"),
    ),
    (
        ListenV2Options,
        {**V2_BASE, "model": "nova-3"},
        "model",
        "not an allowed value",
        LISTEN_V2_MODELS,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "redact": "pci"},
        "redact",
        "not an allowed value",
        ("numbers", "aggressive_numbers"),
    ),
    (
        ListenV2Options,
        {**V2_BASE, "encoding": "flac"},
        "encoding",
        "not an allowed value",
        get_args(ListenV2Encoding),
    ),
    (
        SpeakV1Options,
        {"encoding": "mp3"},
        "encoding",
        "not an allowed value",
        ("linear16", "mulaw", "alaw"),
    ),
    (
        SpeakV1Options,
        {"sample_rate": 44100},
        "sample_rate",
        "not an allowed value",
        SPEAK_V1_SAMPLE_RATES,
    ),
    (
        SpeakV1Options,
        {"sample_rate": "22050"},
        "sample_rate",
        "not an allowed value",
        SPEAK_V1_SAMPLE_RATES,
    ),
    (
        SpeakV1Options,
        {"model": "aura-2-thalia"},
        "model",
        "did you mean 'aura-2-thalia-en'",
        SPEAK_V1_MODELS,
    ),
    (SpeakV1Options, {"model": "nova-3"}, "model", "not a known value", SPEAK_V1_MODELS),
    # booleans: only True/False and "true"/"false"
    (
        ListenV1Options,
        {"model": "nova-3", "interim_results": 1},
        "interim_results",
        "expected a bool",
        (True, False),
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "punctuate": "True"},
        "punctuate",
        "expected a bool",
        (True, False),
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "vad_events": "yes"},
        "vad_events",
        "expected a bool",
        (True, False),
    ),
    (SpeakV1Options, {"mip_opt_out": 0}, "mip_opt_out", "expected a bool", (True, False)),
    # numeric types and ranges
    (ListenV1Options, {"model": "nova-3", "channels": 0}, "channels", "must be >= 1", None),
    (
        ListenV1Options,
        {"model": "nova-3", "channels": 1.5},
        "channels",
        "expected an integer",
        None,
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "channels": True},
        "channels",
        "expected an integer",
        None,
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "sample_rate": "16k", "encoding": "linear16"},
        "sample_rate",
        "expected an integer > 0",
        None,
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "sample_rate": 0, "encoding": "linear16"},
        "sample_rate",
        "must be > 0",
        None,
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "utterance_end_ms": 0},
        "utterance_end_ms",
        "must be > 0",
        None,
    ),
    (ListenV1Options, {"model": "nova-3", "endpointing": -1}, "endpointing", "must be >= 0", None),
    (
        ListenV1Options,
        {"model": "nova-3", "endpointing": True},
        "endpointing",
        "False to disable",
        None,
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "endpointing": "300ms"},
        "endpointing",
        "expected an integer",
        None,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "eager_eot_threshold": 0.2},
        "eager_eot_threshold",
        "between 0.3 and 0.9",
        None,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "eager_eot_threshold": "0.95"},
        "eager_eot_threshold",
        "between 0.3 and 0.9",
        None,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "eot_threshold": 0.4},
        "eot_threshold",
        "between 0.5 and 0.9, or 1.0",
        None,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "eot_threshold": 0.95},
        "eot_threshold",
        "between 0.5 and 0.9, or 1.0",
        None,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "eot_threshold": "nan"},
        "eot_threshold",
        "expected a number",
        None,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "eot_threshold": float("inf")},
        "eot_threshold",
        "expected a number",
        None,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "eot_timeout_ms": 499},
        "eot_timeout_ms",
        "between 500 and 10000",
        None,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "eot_timeout_ms": 10001},
        "eot_timeout_ms",
        "between 500 and 10000",
        None,
    ),
    (ListenV2Options, {**V2_BASE, "sample_rate": -8000}, "sample_rate", "must be > 0", None),
    (SpeakV1Options, {"speed": 0}, "speed", "must be > 0", None),
    (SpeakV1Options, {"speed": "fast"}, "speed", "expected a number > 0", None),
    # required options and cross-field rules
    (ListenV1Options, {"interim_results": True}, "model", "is required", None),
    (ListenV1Options, {"model": ""}, "model", "must not be empty", None),
    (
        ListenV1Options,
        {"model": "nova-3", "encoding": "linear16"},
        "sample_rate",
        "required when encoding",
        None,
    ),
    (
        ListenV2Options,
        {"model": "flux-general-en", "sample_rate": 16000},
        "encoding",
        "is required",
        get_args(ListenV2Encoding),
    ),
    (
        ListenV2Options,
        {"model": "flux-general-en", "encoding": "linear16"},
        "sample_rate",
        "is required",
        None,
    ),
    (
        ListenV2Options,
        {"encoding": "linear16", "sample_rate": 16000},
        "model",
        "is required",
        LISTEN_V2_MODELS,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "language_hint": "en"},
        "language_hint",
        "only valid with model='flux-general-multi'",
        None,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "eager_eot_threshold": 0.8, "eot_threshold": 0.6},
        "eager_eot_threshold",
        "must not exceed eot_threshold",
        None,
    ),
    (
        ListenV2Options,
        {**V2_BASE, "model": "flux-general-multi", "language_hint": ["en", ""]},
        "language_hint",
        "must not be empty",
        None,
    ),
    # per-entry formats
    (
        ListenV2Options,
        {**V2_BASE, "keyterm": ["ok", "term:0.15"]},
        "keyterm",
        "take no weight",
        None,
    ),
    (ListenV1Options, {"model": "nova-3", "extra": "nocolon"}, "extra", "'key:value'", None),
    (ListenV1Options, {"model": "nova-3", "extra": ":value"}, "extra", "'key:value'", None),
    (
        ListenV1Options,
        {"model": "nova-3", "extra": "k:" + "v" * 2048},
        "extra",
        "2048 characters",
        None,
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "keywords": "Twilio:high"},
        "keywords",
        "numeric intensifier",
        None,
    ),
    (
        ListenV1Options,
        {"model": "nova-3", "keyterm": ["ok", 5]},
        "keyterm",
        "expected a string",
        None,
    ),
    (ListenV1Options, {"model": "nova-3", "tag": {"a": "b"}}, "tag", "not a mapping", None),
    (
        ListenV1Options,
        {"model": "nova-3", "language": ["en", "de"]},
        "language",
        "expected a string",
        None,
    ),
    (ListenV1Options, {"model": "nova-3", "extra": {"": "x"}}, "extra", "non-empty strings", None),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "option", "fragment", "allowed"),
    ERROR_CASES,
    ids=[f"{c[0].__name__}-{c[2]}-{i}" for i, c in enumerate(ERROR_CASES)],
)
def test_validation_errors(
    cls: type[OptionsBase],
    kwargs: dict[str, Any],
    option: str,
    fragment: str,
    allowed: tuple[Any, ...] | None,
) -> None:
    err = _error(cls, **kwargs)
    message = str(err)
    assert err.option == option
    assert message.startswith(f"invalid option {option}=")
    assert fragment in message
    assert issubclass(type(err), ValueError)
    if allowed is not None:
        assert err.allowed == tuple(allowed)
        assert "allowed: " in message
        for value in list(allowed)[:40]:
            assert repr(value) in message
        if len(allowed) > 40:
            assert f"({len(allowed)} in all)" in message


def test_errors_are_raised_by_from_query_too() -> None:
    with pytest.raises(InvalidOptionError, match="interim_results") as info:
        ListenV1Options.from_query([("model", "nova-3"), ("interim_results", "True")])
    assert info.value.allowed == (True, False)
    with pytest.raises(InvalidOptionError, match="given 2 times"):
        ListenV1Options.from_query([("model", "nova-3"), ("model", "nova-2")])
    with pytest.raises(InvalidOptionError, match="is required"):
        ListenV2Options.from_query([("model", "flux-general-en"), ("encoding", "linear16")])
    with pytest.raises(InvalidOptionError, match="must not be empty"):
        ListenV1Options.from_query_string("model=")


def test_eot_threshold_one_is_allowed() -> None:
    opts = ListenV2Options.from_kwargs(**V2_BASE, eot_threshold=1.0, eager_eot_threshold=0.9)
    assert opts.eot_threshold == 1.0
    assert ("eot_threshold", "1") in opts.to_query()


def test_eager_alone_is_not_compared_with_a_default() -> None:
    opts = ListenV2Options.from_kwargs(**V2_BASE, eager_eot_threshold=0.8)
    assert opts.eager_eot_threshold == 0.8 and opts.eot_threshold is None


def test_listen_v1_model_is_open() -> None:
    assert ListenV1Options.from_kwargs(model="my-custom-model-42").model == "my-custom-model-42"
    assert ListenV1Options.FIELDS["model"].known == LISTEN_V1_MODELS


def test_speak_accepts_unknown_aura_shaped_voices() -> None:
    assert SpeakV1Options.from_kwargs(model="aura-2-newvoice-pt").model == "aura-2-newvoice-pt"
    assert SpeakV1Options.from_kwargs(model="aura-3-nova-en").model == "aura-3-nova-en"
    for bad in ("aura-2-Thalia-en", "aura-2-thalia-english", "thalia"):
        assert _error(SpeakV1Options, model=bad).option == "model"


def test_listen_v2_redact_single_value() -> None:
    opts = ListenV2Options.from_kwargs(**V2_BASE, redact="numbers")
    assert opts.redact == "numbers"
    with pytest.raises(InvalidOptionError, match="given 2 times"):
        ListenV2Options.from_query(
            [*ListenV2Options.from_kwargs(**V2_BASE).to_query(), ("redact", "a"), ("redact", "b")]
        )


# --- unknown names and extra_query --------------------------------------------------------


def test_unknown_kwarg_suggests_close_match_and_extra_query() -> None:
    err = _error(ListenV1Options, model="nova-3", interm_results=True)
    message = str(err)
    assert err.option == "interm_results"
    assert "did you mean 'interim_results'?" in message
    assert "extra_query" in message
    assert err.allowed is not None and "interim_results" in err.allowed
    err2 = _error(SpeakV1Options, voice="aura-2-thalia-en")
    assert "unknown Speak V1 option" in str(err2)
    err3 = _error(ListenV2Options, **V2_BASE, eot_treshold=0.7)
    assert "did you mean 'eot_threshold'?" in str(err3)


def test_connect_level_seed_kwargs_are_not_options() -> None:
    # authorization / request_options belong to connect(); the client must take them out.
    assert _error(ListenV1Options, model="nova-3", authorization="x").option == "authorization"


def test_extra_query_pass_through() -> None:
    opts = ListenV1Options.from_kwargs(
        model="nova-3",
        extra_query={
            "new_flag": True,
            "threshold": 0.25,
            "count": 3,
            "words": ["a b", "c"],
            "single": ["only"],
            "dropped": None,
            "empty": [],
        },
    )
    assert opts.extra_query == {
        "new_flag": "true",
        "threshold": "0.25",
        "count": "3",
        "words": ["a b", "c"],
        "single": "only",
    }
    assert opts.query_string() == (
        "model=nova-3&new_flag=true&threshold=0.25&count=3&words=a+b&words=c&single=only"
    )
    assert ListenV1Options.from_query(opts.to_query(), strict=False) == opts
    assert ListenV1Options.from_query(opts.to_query(), strict=False).extra_query == opts.extra_query


def test_extra_query_collision_with_known_name() -> None:
    err = _error(ListenV1Options, model="nova-3", extra_query={"interim_results": "true"})
    assert err.option == "extra_query"
    assert "'interim_results' is a known Listen V1 option" in str(err)
    with pytest.raises(InvalidOptionError, match="extra_query"):
        SpeakV1Options(extra_query={"model": "aura-2-thalia-en"})


def test_extra_query_bad_values() -> None:
    assert _error(SpeakV1Options, extra_query=["a=b"]).option == "extra_query"
    assert _error(SpeakV1Options, extra_query={"x": {"nested": 1}}).option == "extra_query"
    assert _error(SpeakV1Options, extra_query={"x": float("nan")}).option == "extra_query"
    assert _error(SpeakV1Options, extra_query={"": "x"}).option == "extra_query"
    assert SpeakV1Options(extra_query={}).extra_query is None


def test_from_query_strict_and_lenient() -> None:
    pairs = [("model", "aura-2-thalia-en"), ("future", "1"), ("future", "2")]
    with pytest.raises(InvalidOptionError, match="unknown Speak V1 query parameter") as info:
        SpeakV1Options.from_query(pairs)
    assert info.value.option == "future"
    lenient = SpeakV1Options.from_query(pairs, strict=False)
    assert lenient.model == "aura-2-thalia-en"
    assert lenient.extra_query == {"future": ["1", "2"]}
    assert lenient.to_query() == pairs


def test_seed_filler_words_and_sdk_language_hint_pass_through() -> None:
    opts = ListenV1Options.from_kwargs(
        model="nova-3", filler_words="true", language_hint=["en", "de"]
    )
    assert "filler_words" not in ListenV1Options.FIELDS
    assert opts.extra_query == {"filler_words": "true", "language_hint": ["en", "de"]}
    assert opts.query_string() == "model=nova-3&filler_words=true&language_hint=en&language_hint=de"
    # accepted even by a strict server
    assert ListenV1Options.from_query(opts.to_query()) == opts
    assert _error(ListenV1Options, model="nova-3", filler_words=1).option == "filler_words"
    err = _error(
        ListenV1Options, model="nova-3", filler_words=True, extra_query={"filler_words": 1}
    )
    assert "both" in str(err)


# --- property: any valid option set survives the wire -------------------------------------

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12)
_NO_COLON = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters=":"),
    min_size=1,
    max_size=8,
)


def _number_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-5, 5).map(str),
        st.floats(-5, 5, allow_nan=False).map(format_number),
    )


def _scalar(param: Param) -> st.SearchStrategy[Any]:
    if param.kind == "bool":
        return st.booleans()
    if param.kind == "endpointing":
        return st.one_of(st.just(False), st.integers(0, 100_000))
    if param.choices is not None:
        return st.sampled_from(param.choices)
    if param.kind == "int":
        low = param.ge if param.ge is not None else (param.gt or 0) + 1
        high = param.le if param.le is not None else 1_000_000
        return st.integers(int(low), int(high))
    if param.kind == "float":
        if param.name == "eot_threshold":
            return st.one_of(st.floats(0.5, 0.9), st.just(1.0))
        return st.floats(
            min_value=param.ge if param.ge is not None else param.gt,
            max_value=param.le if param.le is not None else 4.0,
            exclude_min=param.gt is not None,
        )
    if param.pattern is not None and param.known is not None:
        return st.one_of(st.sampled_from(param.known), st.from_regex(param.pattern, fullmatch=True))
    if param.name == "extra":
        return st.builds(lambda k, v: f"{k}:{v}", _NO_COLON, st.text(max_size=8))
    if param.name == "keywords":
        return st.one_of(_NO_COLON, st.builds(lambda t, n: f"{t}:{n}", _NO_COLON, _number_text()))
    text = _TEXT
    check = param.check
    if check is not None:
        text = text.filter(lambda s: check(s) is None)
    return text


def _value(param: Param) -> st.SearchStrategy[Any]:
    if param.repeatable:
        return st.lists(_scalar(param), min_size=1, max_size=3)
    return _scalar(param)


def _kwargs(cls: type[OptionsBase]) -> st.SearchStrategy[dict[str, Any]]:
    required = {n: _value(p) for n, p in cls.FIELDS.items() if p.required}
    optional = {n: _value(p) for n, p in cls.FIELDS.items() if not p.required}
    return st.fixed_dictionaries(required, optional=optional)


def _fix_v1(kw: dict[str, Any]) -> dict[str, Any]:
    if "encoding" in kw and "sample_rate" not in kw:
        kw["sample_rate"] = 16000
    return kw


def _fix_v2(kw: dict[str, Any]) -> dict[str, Any]:
    if "language_hint" in kw:
        kw["model"] = "flux-general-multi"
    eager, eot = kw.get("eager_eot_threshold"), kw.get("eot_threshold")
    if eager is not None and eot is not None and eager > eot:
        kw["eager_eot_threshold"] = eot
    return kw


_STRATEGIES = {
    ListenV1Options: _kwargs(ListenV1Options).map(_fix_v1),
    ListenV2Options: _kwargs(ListenV2Options).map(_fix_v2),
    SpeakV1Options: _kwargs(SpeakV1Options),
}


def _round_trip(cls: type[OptionsBase], kwargs: dict[str, Any]) -> None:
    opts = cls.from_kwargs(**kwargs)
    pairs = opts.to_query()
    assert cls.from_query(pairs) == opts
    assert cls.from_query_string(opts.query_string()) == opts
    assert opts.to_dict() == cls.from_query(pairs).to_dict()
    # every wire value is what the README says: no exponents, lower-case bools
    for name, text in pairs:
        param = cls.FIELDS[name]
        if param.kind in ("int", "float"):
            assert not re.search(r"[eE]", text), (name, text)
        if param.kind == "bool":
            assert text in ("true", "false")
        if param.kind == "int":
            assert re.fullmatch(r"-?[0-9]+", text), (name, text)
    # the seed SDK's all-strings form gives the same options
    wire: dict[str, list[str]] = {}
    for name, text in pairs:
        wire.setdefault(name, []).append(text)
    seed = {n: (v if cls.FIELDS[n].repeatable else v[0]) for n, v in wire.items()}
    assert cls.from_kwargs(**seed) == opts


@settings(max_examples=150, deadline=None)
@given(_STRATEGIES[ListenV1Options])
def test_hypothesis_round_trip_listen_v1(kwargs: dict[str, Any]) -> None:
    _round_trip(ListenV1Options, kwargs)


@settings(max_examples=150, deadline=None)
@given(_STRATEGIES[ListenV2Options])
def test_hypothesis_round_trip_listen_v2(kwargs: dict[str, Any]) -> None:
    _round_trip(ListenV2Options, kwargs)


@settings(max_examples=100, deadline=None)
@given(_STRATEGIES[SpeakV1Options])
def test_hypothesis_round_trip_speak_v1(kwargs: dict[str, Any]) -> None:
    _round_trip(SpeakV1Options, kwargs)


def test_parameters_sent_as_given_share_the_extra_query_rules() -> None:
    """``query_pairs`` (``additional_query_parameters``, the agent's query) and ``extra_query``
    turn values into query text by one rule: scalars as text, sequences repeat the key, ``None``
    left out; anything else names the option it came from."""
    from rxdeepgram.options._base import query_pairs

    pairs = query_pairs({"a": True, "b": [1, 2.5], "c": None, "d": "x y"}, option="aqp")
    assert pairs == [("a", "true"), ("b", "1"), ("b", "2.5"), ("d", "x y")]
    for bad in ({"x": {"nested": 1}}, {"x": float("nan")}, {"": "v"}):
        with pytest.raises(InvalidOptionError) as raised:
            query_pairs(bad, option="aqp")
        assert raised.value.option == "aqp"
