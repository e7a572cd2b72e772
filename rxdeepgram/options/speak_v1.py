"""Connect options of Speak V1 (``/v1/speak``, Aura streaming text-to-speech): 5 parameters.

None is required (the server defaults to ``aura-asteria-en``, ``linear16``, 24000 Hz, speed 1).

Voices: ``model`` accepts the 103 voices of the spec (:data:`SPEAK_V1_MODELS`) **and** any
other name shaped like an Aura voice, ``aura-[<generation>-]<name>-<language>`` (for example
``aura-2-newvoice-pt``). Deepgram adds voices more often than libraries are released, and a
model cannot be smuggled through ``extra_query`` (it is a known name), so refusing unknown
voices would lock users out of new ones; the server still rejects a voice that does not exist.
Anything else (``"nova-3"``, ``"thalia"``, ``"aura-2-thalia"``) is refused with the closest
known voice suggested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from ._base import OptionsBase, finalize, meta

__all__ = [
    "AURA_VOICE_PATTERN",
    "SPEAK_V1_MODELS",
    "SPEAK_V1_SAMPLE_RATES",
    "SpeakV1Encoding",
    "SpeakV1Options",
    "SpeakV1SampleRate",
]

SpeakV1Encoding = Literal["linear16", "mulaw", "alaw"]
SpeakV1SampleRate = Literal[8000, 16000, 24000, 32000, 48000]
SPEAK_V1_SAMPLE_RATES: tuple[int, ...] = (8000, 16000, 24000, 32000, 48000)

# Voice names per model generation and language, in the spec's order.
_VOICES: tuple[tuple[str, str, str], ...] = (
    (
        "aura",
        "en",
        "angus arcas asteria athena helios hera luna orion orpheus perseus stella zeus",
    ),
    (
        "aura-2",
        "en",
        "amalthea andromeda apollo arcas aries asteria athena atlas aurora callista cora "
        "cordelia delia draco electra harmonia helena hera hermes hyperion iris janus juno "
        "jupiter luna mars minerva neptune odysseus ophelia orion orpheus pandora phoebe pluto "
        "saturn selene thalia theia vesta zeus",
    ),
    (
        "aura-2",
        "es",
        "agustina alvaro antonia aquila carina celeste diana estrella gloria javier luciano "
        "nestor olivia selena silvia sirio valerio",
    ),
    ("aura-2", "de", "aurelia elara fabian julius kara lara viktoria"),
    ("aura-2", "nl", "beatrix cornelia daphne hestia lars leda rhea roman sander"),
    ("aura-2", "fr", "agathe hector"),
    ("aura-2", "it", "cesare cinzia demetra dionisio elio flavio livia maia melia perseo"),
    ("aura-2", "ja", "ama ebisu fujin izanami uzume"),
)

SPEAK_V1_MODELS: tuple[str, ...] = tuple(
    f"{prefix}-{name}-{language}" for prefix, language, names in _VOICES for name in names.split()
)
"""The 103 Aura voices of the spec. Other ``aura-...-xx`` names are accepted too."""

AURA_VOICE_PATTERN = r"aura-(?:[0-9]+-)?[a-z]+-[a-z]{2}"
"""Shape of an Aura voice name outside :data:`SPEAK_V1_MODELS` that is still accepted."""


@finalize
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class SpeakV1Options(OptionsBase):
    """Query options of a Speak V1 connection. Unset (``None``) options are not sent.

    Attributes:
        model: the voice, see :data:`SPEAK_V1_MODELS` (server default ``aura-asteria-en``).
        encoding: output encoding (server default ``linear16``).
        sample_rate: output sample rate in Hz, one of :data:`SPEAK_V1_SAMPLE_RATES`.
        speed: speaking-rate multiplier (> 0; server default 1).
        mip_opt_out: opt out of the Model Improvement Program.
        extra_query: parameters the library does not know yet.
    """

    CHANNEL: ClassVar[str] = "Speak V1"

    model: str | None = field(
        default=None, metadata=meta(known=SPEAK_V1_MODELS, pattern=AURA_VOICE_PATTERN)
    )
    encoding: SpeakV1Encoding | None = None
    sample_rate: SpeakV1SampleRate | None = None
    speed: float | None = field(default=None, metadata=meta(gt=0))
    mip_opt_out: bool | None = None
