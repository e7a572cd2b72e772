"""Connect options of Listen V2 (``/v2/listen``, Flux speech-to-text with turns): 13 parameters.

Rules beyond the spec's (which marks nothing required): ``model``, ``encoding`` and
``sample_rate`` are required, as in Deepgram's SDK and API reference; ``language_hint`` is only
valid with ``flux-general-multi``; ``keyterm`` entries are plain phrases (no ``term:weight``);
``eager_eot_threshold`` (0.3-0.9) must not exceed ``eot_threshold`` (0.5-0.9, or 1.0, which
newer docs allow to turn native end-of-turn off) when both are given;
``eot_timeout_ms`` is 500-10000.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from ..errors import InvalidOptionError
from ._base import OptionsBase, finalize, format_number, meta

__all__ = [
    "EAGER_EOT_THRESHOLD_RANGE",
    "EOT_THRESHOLD_RANGE",
    "EOT_TIMEOUT_MS_RANGE",
    "LISTEN_V2_MODELS",
    "ListenV2Encoding",
    "ListenV2Model",
    "ListenV2Options",
    "ListenV2Redact",
]

ListenV2Model = Literal["flux-general-en", "flux-general-multi"]
ListenV2Encoding = Literal["linear16", "linear32", "mulaw", "alaw", "opus", "ogg-opus"]
ListenV2Redact = Literal["numbers", "aggressive_numbers"]

LISTEN_V2_MODELS: tuple[str, ...] = ("flux-general-en", "flux-general-multi")

EAGER_EOT_THRESHOLD_RANGE = (0.3, 0.9)
"""Inclusive bounds of ``eager_eot_threshold``."""
EOT_THRESHOLD_RANGE = (0.5, 0.9)
"""Inclusive bounds of ``eot_threshold``; ``1.0`` is also accepted (disables native end-of-turn)."""
EOT_TIMEOUT_MS_RANGE = (500, 10000)
"""Inclusive bounds of ``eot_timeout_ms``."""

_MULTI = "flux-general-multi"
_WEIGHTED = re.compile(r".*:\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _check_eot(value: float) -> str | None:
    low, high = EOT_THRESHOLD_RANGE
    if low <= value <= high or value == 1.0:
        return None
    return (
        f"must be between {format_number(low)} and {format_number(high)}, "
        "or 1.0 to turn native end-of-turn detection off"
    )


def _check_keyterm(item: str) -> str | None:
    if _WEIGHTED.fullmatch(item):
        return (
            "Flux keyterms take no weight ('term:0.15' is invalid); give the plain phrase, "
            "and one keyterm entry per phrase"
        )
    return None


@finalize
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class ListenV2Options(OptionsBase):
    """Query options of a Listen V2 (Flux) connection. Unset (``None``) options are not sent.

    Attributes:
        model: Flux model (required), see :data:`ListenV2Model`.
        encoding: encoding of the raw audio (required).
        sample_rate: sample rate of the raw audio in Hz (required, > 0).
        eager_eot_threshold: confidence (0.3-0.9) at which ``EagerEndOfTurn`` fires; enables
            eager mode and ``TurnResumed``.
        eot_threshold: confidence (0.5-0.9, or 1.0) at which ``EndOfTurn`` fires
            (server default 0.7).
        eot_timeout_ms: ms (500-10000) after speech at which the turn ends regardless
            (server default 5000).
        keyterm: keyterm prompting, one plain phrase per entry.
        language_hint: language codes to bias detection; ``flux-general-multi`` only.
        profanity_filter: mask profanity.
        numerals: numbers as digits.
        redact: ``"numbers"`` or ``"aggressive_numbers"``.
        mip_opt_out: opt out of the Model Improvement Program.
        tag: usage-reporting labels.
        extra_query: parameters the library does not know yet.
    """

    CHANNEL: ClassVar[str] = "Listen V2"

    model: ListenV2Model
    encoding: ListenV2Encoding
    sample_rate: int = field(metadata=meta(gt=0))
    eager_eot_threshold: float | None = field(
        default=None,
        metadata=meta(ge=EAGER_EOT_THRESHOLD_RANGE[0], le=EAGER_EOT_THRESHOLD_RANGE[1]),
    )
    eot_threshold: float | None = field(default=None, metadata=meta(check=_check_eot))
    eot_timeout_ms: int | None = field(
        default=None, metadata=meta(ge=EOT_TIMEOUT_MS_RANGE[0], le=EOT_TIMEOUT_MS_RANGE[1])
    )
    keyterm: list[str] | None = field(default=None, metadata=meta(check=_check_keyterm))
    language_hint: list[str] | None = None
    profanity_filter: bool | None = None
    numerals: bool | None = None
    redact: ListenV2Redact | None = None
    mip_opt_out: bool | None = None
    tag: list[str] | None = None

    def _check(self) -> None:
        if self.language_hint is not None and self.model != _MULTI:
            raise InvalidOptionError(
                "language_hint",
                self.language_hint,
                f"is only valid with model={_MULTI!r} (model is {self.model!r})",
            )
        eager, eot = self.eager_eot_threshold, self.eot_threshold
        if eager is not None and eot is not None and eager > eot:
            raise InvalidOptionError(
                "eager_eot_threshold",
                eager,
                f"must not exceed eot_threshold ({format_number(eot)})",
            )
