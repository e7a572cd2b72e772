"""Connect options of Speak V2 (``/v2/speak``, Flux turn-based text-to-speech): 7 parameters.

The spec has ``model``, ``encoding``, ``sample_rate``, ``mip_opt_out`` and ``tag``; Deepgram's
SDK 7.x adds ``speed`` and ``expressivity``. Rules:

* ``model`` is required, a Flux voice ``flux-{voice}-{language}`` (:data:`SPEAK_V2_MODELS` lists
  the launch catalog; other names of that shape are accepted, as Deepgram adds voices more often
  than libraries are released). Aura voices (``aura-...``) belong to Speak V1 and the Flux
  speech-to-text models (``flux-general-en``, ``flux-general-multi``) to Listen V2: both are
  refused with a message saying so.
* ``sample_rate``: 8000, 16000, 24000, 32000, 44100 or 48000 with ``linear16``; only 8000 or
  16000 with ``mulaw`` / ``alaw``.
* ``speed``: 0.5 to 1.5 in steps of 0.05 (the server default is 1.0); it can also be changed
  mid-session with ``Configure``.
* ``expressivity``: a whole number from -2 (calm) to 2 (animated); fixed for the connection.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from ..errors import InvalidOptionError
from ._base import OptionsBase, finalize, meta

__all__ = [
    "FLUX_VOICE_PATTERN",
    "SPEAK_V2_MODELS",
    "SPEAK_V2_SAMPLE_RATES",
    "SPEED_RANGE",
    "SpeakV2Encoding",
    "SpeakV2Expressivity",
    "SpeakV2Options",
    "SpeakV2SampleRate",
    "check_speed",
]

SpeakV2Encoding = Literal["linear16", "mulaw", "alaw"]
SpeakV2SampleRate = Literal[8000, 16000, 24000, 32000, 44100, 48000]
SpeakV2Expressivity = Literal[-2, -1, 0, 1, 2]
SPEAK_V2_SAMPLE_RATES: tuple[int, ...] = (8000, 16000, 24000, 32000, 44100, 48000)
_COMPANDED_RATES = (8000, 16000)

_VOICES = "haley heather cole alexis priya jack bruce rufus drew renee marcus sharon"
SPEAK_V2_MODELS: tuple[str, ...] = tuple(f"flux-{name}-en" for name in _VOICES.split())
"""The Flux TTS launch catalog (English). Other ``flux-<voice>-<language>`` names are accepted."""

FLUX_VOICE_PATTERN = r"flux-[a-z]+-(?:[a-z]{2}|multi)"
"""Shape of a Flux voice outside :data:`SPEAK_V2_MODELS` that is still accepted."""

SPEED_RANGE = (0.5, 1.5)
"""Inclusive bounds of ``speed`` (query option and ``Configure``); steps of 0.05."""

_STT_MODELS = frozenset({"flux-general-en", "flux-general-multi"})


def check_speed(value: float) -> str | None:
    """The problem with a Flux ``speed`` (``None`` when it is valid): outside
    :data:`SPEED_RANGE`, or not a multiple of 0.05."""
    low, high = SPEED_RANGE
    if not low <= value <= high:
        return "must be between 0.5 and 1.5"
    if abs(value * 20 - round(value * 20)) > 1e-6:
        return "must be a multiple of 0.05 (e.g. 0.95, 1.1)"
    return None


_VOICE = re.compile(FLUX_VOICE_PATTERN)


def _check_model(value: str) -> str | None:
    if value.startswith("aura-"):
        return "is an Aura voice: Aura voices are served by Speak V1 (client.speak.v1)"
    if value in _STT_MODELS:
        return "is a Flux speech-to-text model (client.listen.v2), not a Flux voice"
    if value in SPEAK_V2_MODELS or _VOICE.fullmatch(value):
        return None
    close = difflib.get_close_matches(value.lower(), SPEAK_V2_MODELS, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"not a Flux voice (flux-<voice>-<language>, e.g. 'flux-haley-en'){hint}"


@finalize
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class SpeakV2Options(OptionsBase):
    """Query options of a Speak V2 (Flux TTS) connection. Unset (``None``) options are not sent.

    Attributes:
        model: the Flux voice (required), see :data:`SPEAK_V2_MODELS`.
        encoding: output encoding (server default ``linear16``).
        sample_rate: output sample rate in Hz (server default: the voice's native rate).
        speed: speaking-rate multiplier, 0.5-1.5 in steps of 0.05 (server default 1.0).
        expressivity: -2 (calm) to 2 (animated); server default 0. Beta.
        mip_opt_out: opt out of the Model Improvement Program.
        tag: usage-reporting labels.
        extra_query: parameters the library does not know yet.
    """

    CHANNEL: ClassVar[str] = "Speak V2"

    model: str = field(metadata=meta(check=_check_model))
    encoding: SpeakV2Encoding | None = None
    sample_rate: SpeakV2SampleRate | None = None
    speed: float | None = field(default=None, metadata=meta(check=check_speed))
    expressivity: SpeakV2Expressivity | None = None
    mip_opt_out: bool | None = None
    tag: list[str] | None = None

    def _check(self) -> None:
        if (
            self.encoding in ("mulaw", "alaw")
            and self.sample_rate is not None
            and self.sample_rate not in _COMPANDED_RATES
        ):
            raise InvalidOptionError(
                "sample_rate",
                self.sample_rate,
                f"with encoding={self.encoding!r} the sample rate must be 8000 or 16000",
                _COMPANDED_RATES,
            )
