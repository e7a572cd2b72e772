"""Typed, validated query options of the Listen V1, Listen V2, Speak V1 and Speak V2 connections.

Each channel has one frozen dataclass whose fields are its query parameters
(:class:`ListenV1Options`: 29, :class:`ListenV2Options`: 13, :class:`SpeakV1Options`: 5,
:class:`SpeakV2Options`: 7) plus
``extra_query`` for parameters the library does not know yet. The agent has no query options.

* ``XOptions.from_kwargs(**kwargs)`` validates what a user gives ``connect(...)``: Python values
  or the seed SDK's strings (``"true"``, ``"16000"``), one value or a list for repeatables.
* ``opts.to_query()`` / ``opts.query_string()`` write the query (omit unset, ``true``/``false``,
  repeated keys, plain decimals).
* ``XOptions.from_query(pairs, strict=True)`` parses what the local server receives with the
  same rules; strict mode rejects unknown parameters.

Every failure is an :class:`~rxdeepgram.errors.InvalidOptionError` naming the option and, where
there is a closed set, the allowed values.
"""

from __future__ import annotations

from ._base import ExtraQuery, OptionsBase, Param, QueryScalar, format_number, query_pairs
from .listen_v1 import (
    LISTEN_V1_MODELS,
    ListenV1CallbackMethod,
    ListenV1DiarizeModel,
    ListenV1Encoding,
    ListenV1Options,
    ListenV1Redact,
)
from .listen_v2 import (
    LISTEN_V2_MODELS,
    ListenV2Encoding,
    ListenV2Model,
    ListenV2Options,
    ListenV2Redact,
)
from .speak_v1 import (
    SPEAK_V1_MODELS,
    SPEAK_V1_SAMPLE_RATES,
    SpeakV1Encoding,
    SpeakV1Options,
    SpeakV1SampleRate,
)
from .speak_v2 import (
    SPEAK_V2_MODELS,
    SPEAK_V2_SAMPLE_RATES,
    SpeakV2Encoding,
    SpeakV2Expressivity,
    SpeakV2Options,
    SpeakV2SampleRate,
)

__all__ = [
    "ExtraQuery",
    "LISTEN_V1_MODELS",
    "LISTEN_V2_MODELS",
    "ListenV1CallbackMethod",
    "ListenV1DiarizeModel",
    "ListenV1Encoding",
    "ListenV1Options",
    "ListenV1Redact",
    "ListenV2Encoding",
    "ListenV2Model",
    "ListenV2Options",
    "ListenV2Redact",
    "OptionsBase",
    "Param",
    "QueryScalar",
    "SPEAK_V1_MODELS",
    "SPEAK_V1_SAMPLE_RATES",
    "SPEAK_V2_MODELS",
    "SPEAK_V2_SAMPLE_RATES",
    "SpeakV1Encoding",
    "SpeakV1Options",
    "SpeakV1SampleRate",
    "SpeakV2Encoding",
    "SpeakV2Expressivity",
    "SpeakV2Options",
    "SpeakV2SampleRate",
    "format_number",
    "query_pairs",
]
