"""Connect options of Listen V1 (``/v1/listen``, Nova streaming speech-to-text): 29 parameters.

Rules beyond the spec's (which marks nothing required): ``model`` is required, as in Deepgram's
SDK, and may be any non-empty string because custom-trained models have their own names;
``sample_rate`` is required when ``encoding`` is given (raw audio needs both; containerised
audio such as WAV needs neither).

Two names outside the current spec are still accepted as keywords and sent through
``extra_query`` after validation: ``filler_words`` (a bool; listed by the seed SDK and still
documented by Deepgram) and ``language_hint`` (one or more language codes; sent by Deepgram's
SDK 7.x).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Literal

from ..errors import InvalidOptionError
from ._base import OptionsBase, Param, finalize, meta

__all__ = [
    "LISTEN_V1_MODELS",
    "ListenV1CallbackMethod",
    "ListenV1DiarizeModel",
    "ListenV1Encoding",
    "ListenV1Options",
    "ListenV1Redact",
]

ListenV1Encoding = Literal[
    "linear16",
    "linear32",
    "flac",
    "alaw",
    "mulaw",
    "amr-nb",
    "amr-wb",
    "opus",
    "ogg-opus",
    "speex",
    "g729",
]
"""Encodings of raw audio Listen V1 accepts."""

ListenV1Redact = Literal["true", "false", "pci", "numbers", "aggressive_numbers", "ssn"]
"""Values of ``redact`` (repeatable); ``True`` / ``False`` stand for ``"true"`` / ``"false"``."""

ListenV1CallbackMethod = Literal["POST", "GET", "PUT", "DELETE"]
ListenV1DiarizeModel = Literal["latest", "v1"]

LISTEN_V1_MODELS: tuple[str, ...] = (
    "nova-3",
    "nova-3-general",
    "nova-3-medical",
    "nova-2",
    "nova-2-general",
    "nova-2-meeting",
    "nova-2-finance",
    "nova-2-conversationalai",
    "nova-2-voicemail",
    "nova-2-video",
    "nova-2-medical",
    "nova-2-drivethru",
    "nova-2-automotive",
    "nova",
    "nova-general",
    "nova-phonecall",
    "nova-medical",
    "enhanced",
    "enhanced-general",
    "enhanced-meeting",
    "enhanced-phonecall",
    "enhanced-finance",
    "base",
    "meeting",
    "phonecall",
    "finance",
    "conversationalai",
    "voicemail",
    "video",
    "custom",
)
"""The documented model names. Others (custom-trained models) are accepted too."""

_EXTRA_MAX = 2048
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _check_extra(item: str) -> str | None:
    key, sep, _ = item.partition(":")
    if not sep or not key:
        return "each entry must be 'key:value' (or pass a mapping)"
    if len(item) > _EXTRA_MAX:
        return f"each 'key:value' pair is limited to {_EXTRA_MAX} characters"
    return None


def _check_keyword(item: str) -> str | None:
    term, sep, boost = item.rpartition(":")
    if sep and (not term or not _NUMBER.fullmatch(boost)):
        return "expected 'term' or 'term:intensifier' with a numeric intensifier"
    return None


@finalize
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class ListenV1Options(OptionsBase):
    """Query options of a Listen V1 connection. Unset (``None``) options are not sent.

    Build it with :meth:`from_kwargs` (what ``client.listen.v1.connect(...)`` does), which also
    takes the seed SDK's strings, or construct it directly; both validate. Repeatable options
    are lists and are sent as repeated keys.

    Attributes:
        model: STT model (required); any non-empty name, see :data:`LISTEN_V1_MODELS`.
        language: BCP-47 tag of the spoken language, or ``"multi"`` (server default ``en``).
        version: model version to pin (server default ``latest``).
        encoding: encoding of raw audio; requires ``sample_rate``.
        sample_rate: sample rate of raw audio in Hz (> 0).
        channels: number of audio channels (>= 1).
        multichannel: transcribe each channel independently.
        interim_results: send preliminary (``is_final: false``) results.
        utterance_end_ms: gap in ms (> 0) after which ``UtteranceEnd`` is sent; needs
            ``interim_results``.
        vad_events: send ``SpeechStarted`` messages.
        endpointing: silence in ms (>= 0) that ends an utterance, or ``False`` to disable.
        punctuate: punctuation and capitalisation.
        smart_format: readability formatting.
        numerals: numbers as digits.
        profanity_filter: mask profanity.
        dictation: spoken punctuation commands (with ``punctuate``).
        diarize: speaker labels (deprecated; use ``diarize_model``).
        diarize_model: diarization model (enables diarization).
        detect_entities: entity detection.
        keyterm: keyterm prompting (Nova-3), one phrase per entry.
        keywords: legacy keyword boosting, ``"term"`` or ``"term:intensifier"`` (or a mapping
            term -> intensifier).
        search: acoustic search terms.
        replace: ``"find:replacement"`` entries (or a mapping find -> replacement).
        redact: what to redact, see :data:`ListenV1Redact`.
        extra: ``"key:value"`` pairs echoed in results metadata (or a mapping).
        tag: usage-reporting labels.
        callback: URL that also receives results.
        callback_method: HTTP method of the callback.
        mip_opt_out: opt out of the Model Improvement Program.
        extra_query: parameters the library does not know yet.
    """

    CHANNEL: ClassVar[str] = "Listen V1"
    PASSTHROUGH: ClassVar[Mapping[str, Param]] = MappingProxyType(
        {
            "filler_words": Param("filler_words", "bool"),
            "language_hint": Param("language_hint", "str", repeatable=True),
        }
    )

    model: str = field(metadata=meta(known=LISTEN_V1_MODELS))
    language: str | None = None
    version: str | None = None
    encoding: ListenV1Encoding | None = None
    sample_rate: int | None = field(default=None, metadata=meta(gt=0))
    channels: int | None = field(default=None, metadata=meta(ge=1))
    multichannel: bool | None = None
    interim_results: bool | None = None
    utterance_end_ms: int | None = field(default=None, metadata=meta(gt=0))
    vad_events: bool | None = None
    endpointing: int | Literal[False] | None = field(default=None, metadata=meta(ge=0))
    punctuate: bool | None = None
    smart_format: bool | None = None
    numerals: bool | None = None
    profanity_filter: bool | None = None
    dictation: bool | None = None
    diarize: bool | None = None
    diarize_model: ListenV1DiarizeModel | None = None
    detect_entities: bool | None = None
    keyterm: list[str] | None = None
    keywords: list[str] | None = field(
        default=None, metadata=meta(pairs=True, check=_check_keyword)
    )
    search: list[str] | None = None
    replace: list[str] | None = field(default=None, metadata=meta(pairs=True))
    redact: list[ListenV1Redact] | None = None
    extra: list[str] | None = field(default=None, metadata=meta(pairs=True, check=_check_extra))
    tag: list[str] | None = None
    callback: str | None = None
    callback_method: ListenV1CallbackMethod | None = None
    mip_opt_out: bool | None = None

    def _check(self) -> None:
        if self.encoding is not None and self.sample_rate is None:
            raise InvalidOptionError(
                "sample_rate",
                None,
                f"is required when encoding is given (encoding={self.encoding!r}); "
                "omit both for containerised audio such as WAV",
            )
