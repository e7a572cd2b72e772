"""The connect options of each channel as ``TypedDict`` s, for ``**options`` in signatures.

``client.listen.v1.connect(**options: Unpack[ListenV1ConnectOptions])``: editors complete the
option names and mypy / pyright check their types, while the runtime validation stays in the
options dataclasses (:class:`ListenV1Options`...), which also take the seed SDK's strings.
``tests/test_options_typed.py`` checks that each ``TypedDict`` has exactly the fields, types
and required keys of its dataclass (plus its pass-through names and ``extra_query``), save
the two loosenings that let ``connect(**fmt.options())`` type-check (``AudioFormat.options()``
may carry ``channels``, and its ``sample_rate`` is an ``int``).
"""

from typing import Literal, Required, TypedDict

from ._base import ExtraQuery
from .listen_v1 import (
    ListenV1CallbackMethod,
    ListenV1DiarizeModel,
    ListenV1Encoding,
    ListenV1Redact,
)
from .listen_v2 import ListenV2Encoding, ListenV2Model, ListenV2Redact
from .speak_v1 import SpeakV1Encoding, SpeakV1SampleRate
from .speak_v2 import SpeakV2Encoding, SpeakV2Expressivity, SpeakV2SampleRate

__all__ = [
    "AgentV1ConnectOptions",
    "ListenV1ConnectOptions",
    "ListenV2ConnectOptions",
    "SpeakV1ConnectOptions",
    "SpeakV2ConnectOptions",
]


class ListenV1ConnectOptions(TypedDict, total=False):
    """``client.listen.v1.connect(...)`` / ``transcribe(...)`` options (see
    :class:`~rxdeepgram.options.ListenV1Options` for what each does)."""

    model: Required[str]
    language: str | None
    version: str | None
    encoding: ListenV1Encoding | None
    sample_rate: int | None
    channels: int | None
    multichannel: bool | None
    interim_results: bool | None
    utterance_end_ms: int | None
    vad_events: bool | None
    endpointing: int | Literal[False] | None
    punctuate: bool | None
    smart_format: bool | None
    numerals: bool | None
    profanity_filter: bool | None
    dictation: bool | None
    diarize: bool | None
    diarize_model: ListenV1DiarizeModel | None
    detect_entities: bool | None
    keyterm: list[str] | None
    keywords: list[str] | None
    search: list[str] | None
    replace: list[str] | None
    redact: list[ListenV1Redact] | None
    extra: list[str] | None
    tag: list[str] | None
    callback: str | None
    callback_method: ListenV1CallbackMethod | None
    mip_opt_out: bool | None
    filler_words: bool | None
    language_hint: list[str] | None
    extra_query: ExtraQuery | None


class ListenV2ConnectOptions(TypedDict, total=False):
    """``client.listen.v2.connect(...)`` / ``transcribe(...)`` options (see
    :class:`~rxdeepgram.options.ListenV2Options`)."""

    model: Required[ListenV2Model]
    encoding: Required[ListenV2Encoding]
    sample_rate: Required[int]
    eager_eot_threshold: float | None
    eot_threshold: float | None
    eot_timeout_ms: int | None
    keyterm: list[str] | None
    language_hint: list[str] | None
    profanity_filter: bool | None
    numerals: bool | None
    redact: ListenV2Redact | None
    mip_opt_out: bool | None
    tag: list[str] | None
    extra_query: ExtraQuery | None
    channels: int
    """Typed only so that ``**AudioFormat.options()`` type-checks: that dict has ``channels``
    only for multi-channel audio, which Listen V2 refuses (at run time, naming the option)."""


class SpeakV1ConnectOptions(TypedDict, total=False):
    """``client.speak.v1.connect(...)`` / ``synthesize(...)`` options (see
    :class:`~rxdeepgram.options.SpeakV1Options`)."""

    model: str | None
    encoding: SpeakV1Encoding | None
    sample_rate: SpeakV1SampleRate | int | None
    """One of :data:`SpeakV1SampleRate` (checked at run time); ``int`` so that
    ``**AudioFormat.options()`` type-checks."""
    speed: float | None
    mip_opt_out: bool | None
    extra_query: ExtraQuery | None
    channels: int
    """Typed only so that ``**AudioFormat.options()`` type-checks: that dict has ``channels``
    only for multi-channel audio, which Speak refuses (at run time, naming the option)."""


class SpeakV2ConnectOptions(TypedDict, total=False):
    """``client.speak.v2.connect(...)`` / ``synthesize(...)`` options (see
    :class:`~rxdeepgram.options.SpeakV2Options`)."""

    model: Required[str]
    encoding: SpeakV2Encoding | None
    sample_rate: SpeakV2SampleRate | int | None
    """One of :data:`SpeakV2SampleRate` (checked at run time); ``int`` so that
    ``**AudioFormat.options()`` type-checks."""
    speed: float | None
    expressivity: SpeakV2Expressivity | None
    mip_opt_out: bool | None
    tag: list[str] | None
    extra_query: ExtraQuery | None
    channels: int
    """Typed only so that ``**AudioFormat.options()`` type-checks (refused at run time)."""


class AgentV1ConnectOptions(TypedDict, total=False):
    """``client.agent.v1.connect()``: the agent takes no query options (everything goes in
    ``Settings``)."""
