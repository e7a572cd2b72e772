"""The ``local`` text-to-speech engine: offline speech with espeak-ng.

Behind the ``local`` extra (``pip install "rxdeepgram[local]"``): the ``espeakng-loader`` wheel
bundles ``libespeak-ng`` and its data, which this module drives through :mod:`ctypes`
(``espeak_Initialize`` in ``AUDIO_OUTPUT_SYNCHRONOUS`` mode, ``espeak_SetSynthCallback``,
``espeak_Synth``). Importing this module imports neither; building an
:class:`EspeakTtsEngine` loads the library, and says how to install it when it is missing.

* espeak-ng is a process-wide singleton (one voice, one set of parameters, one callback), so
  every synthesis holds a module-level lock; the engine is ``blocking`` and the server runs it
  in a worker thread. Several engines with different voices may coexist: each call sets its
  own voice and parameters when they differ from the library's current ones.
* espeak speaks at 22,050 Hz; the audio is brought to the requested rate with
  :func:`~rxdeepgram.server._pcm.resample_pcm16` (a windowed-sinc polyphase filter).
* The default voice is ``en-us+f2`` at 150 words per minute (until 0.1: ``f5``). It was chosen
  by measuring word
  error rates with the ``local`` speech-to-text engine (pocketsphinx, whose bundled model is
  trained on natural US-English speech), one utterance per sentence: espeak's default male
  voice ``en-us`` and the other variants tried (``m1``-``m7``, ``f1``, ``f3``, ``f4``, ``klatt``
  and others) scored 50-95 % WER on 8 plain sentences at 130-190 wpm; ``f2`` and ``f5`` about
  15-25 % on 16 sentences, ``f5`` being the steadiest at 150-165 wpm with the default pitch
  (higher pitches were worse). On the 60 everyday sentences of
  ``tests/data/everyday_sentences.txt`` (``benchmarks/local_roundtrip.py``, chosen before
  tuning) ``f2`` scored 26.9 % against ``f5``'s 31.9 %, 130 wpm was worse than 150 (36.2 %),
  and the figures there are the ones to trust (``docs/accuracy.md``). espeak's output varies
  slightly from call to call (internal state carries over), so the rates move by a few points
  from sentence to sentence.
* espeak-ng seeds the noise of its breathy voices from the clock, so the same text sounded
  different from run to run: rarely, enough for pocketsphinx to mishear it (the demo's agent
  question once came back as "what is the weather like you your"). The engine seeds it with a
  constant when the library is loaded (``espeak_ng_SetRandSeed``, espeak-ng >= 1.52): a
  process that synthesises the same texts in the same order gets the same audio every run.
* Each call ends with espeak's sentence pause (``espeakENDPAUSE``, about 0.4 s): the Speak
  channel synthesises sentence by sentence, and without it consecutive sentences would run
  into one another, so a Listen channel fed the audio would not see where they end. With it,
  text -> Speak (``local``) -> Listen (``local``) gave 0-11 % word error rate over six plain
  sentences in repeated runs (``tests/test_roundtrip_local.py``).
* ``speed`` (the Speak channel's query option) multiplies the speaking rate, clamped to
  espeak's 80-450 wpm.
"""

from __future__ import annotations

import ctypes
import importlib
import threading
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigurationError
from .._pcm import resample_pcm16

__all__ = ["DEFAULT_VOICE", "DEFAULT_WPM", "ESPEAK_SAMPLE_RATE", "EspeakTtsEngine"]

DEFAULT_VOICE = "en-us+f2"
"""The voice (language + variant) pocketsphinx recognises best among espeak's (see above)."""
DEFAULT_WPM = 150
"""Speaking rate in words per minute (espeak's own default is 175)."""
ESPEAK_SAMPLE_RATE = 22050
"""The rate espeak-ng synthesises at."""

_RAND_SEED = 0
"""espeak-ng seeds its noise generator (breath, aspiration) from the clock; a fixed seed makes
a process's syntheses repeat from run to run."""
_MAX_VOICE_NAME = 39  # espeak copies the name into a 40-byte buffer (longer names crash it)
_MIN_WPM, _MAX_WPM = 80, 450

# espeak-ng's C API constants (speak_lib.h).
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_ENDPAUSE = 0x1000
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_EE_OK = 0

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


@dataclass
class _Library:
    """The loaded, initialised library and what it is currently set to."""

    lib: Any
    sample_rate: int
    callback: Any  # the ctypes callback object, kept alive here
    voice: str | None = None
    params: tuple[int, int, int] | None = None


_lock = threading.Lock()
_library: _Library | None = None
_sink: bytearray | None = None  # where the callback writes, under _lock


def _on_audio(wav: Any, count: int, _events: Any) -> int:
    sink = _sink
    if sink is not None and wav and count > 0:
        sink += ctypes.string_at(wav, 2 * count)
    return 0


def _load(library_path: str | None, data_path: str | None) -> _Library:
    """Load and initialise libespeak-ng once per process (call with ``_lock`` held)."""
    global _library
    if _library is not None:
        return _library
    if library_path is None or data_path is None:
        try:
            loader = importlib.import_module("espeakng_loader")
        except ImportError as exc:
            raise ConfigurationError(
                'the "local" text-to-speech engine needs espeak-ng, which is not installed: '
                'pip install "rxdeepgram[local]" (it brings the espeakng-loader wheel)'
            ) from exc
        library_path = library_path or str(loader.get_library_path())
        data_path = data_path or str(loader.get_data_path())
    try:
        lib = ctypes.CDLL(library_path)
    except OSError as exc:
        raise ConfigurationError(f"could not load libespeak-ng from {library_path}: {exc}") from exc
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint),
        ctypes.c_void_p,
    ]
    lib.espeak_Synchronize.restype = ctypes.c_int
    lib.espeak_Synchronize.argtypes = []
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), 0)
    if rate <= 0:
        raise ConfigurationError(f"espeak-ng failed to initialise with its data at {data_path}")
    seed = getattr(lib, "espeak_ng_SetRandSeed", None)  # espeak-ng >= 1.52
    if seed is not None:
        seed.restype = None
        seed.argtypes = [ctypes.c_long]
        seed(_RAND_SEED)
    callback = _SynthCallback(_on_audio)
    lib.espeak_SetSynthCallback(callback)
    _library = _Library(lib, int(rate), callback)
    return _library


def _select_voice(library: _Library, voice: str) -> None:
    if library.voice == voice:
        return
    status = library.lib.espeak_SetVoiceByName(voice.encode("ascii"))
    if status != _EE_OK:
        library.voice = None
        raise ValueError(f"espeak-ng has no voice {voice!r}")
    library.voice = voice
    library.params = None  # a voice change resets the parameters


def _set_params(library: _Library, wpm: int, pitch: int, volume: int) -> None:
    params = (wpm, pitch, volume)
    if library.params == params:
        return
    lib = library.lib
    lib.espeak_SetParameter(_PARAM_RATE, wpm, 0)
    lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
    lib.espeak_SetParameter(_PARAM_VOLUME, volume, 0)
    library.params = params


class EspeakTtsEngine:
    """Speech from espeak-ng (see the module docstring).

    Args:
        voice: an espeak voice name, optionally with a variant (``"en-us+f5"``, ``"en"``,
            ``"de"``, ``"en-gb+m3"``).
        words_per_minute: speaking rate at ``speed`` 1 (80-450).
        pitch: base pitch, 0-100 (espeak's default 50).
        volume: amplitude, 0-200 (espeak's default 100).
        library_path, data_path: use this libespeak-ng and data directory instead of the ones
            bundled by ``espeakng-loader`` (only honoured by the first engine of a process).

    Raises :class:`~rxdeepgram.errors.ConfigurationError` when espeak-ng is not available and
    ``ValueError`` for an unknown voice or a setting out of range.
    """

    name = "local"
    blocking = True
    supports_speed = True

    def __init__(
        self,
        voice: str = DEFAULT_VOICE,
        *,
        words_per_minute: int = DEFAULT_WPM,
        pitch: int = 50,
        volume: int = 100,
        library_path: str | None = None,
        data_path: str | None = None,
    ) -> None:
        if not voice or len(voice) > _MAX_VOICE_NAME or not voice.isascii():
            raise ValueError(f"voice must be 1-{_MAX_VOICE_NAME} ASCII characters, got {voice!r}")
        if not _MIN_WPM <= words_per_minute <= _MAX_WPM:
            raise ValueError(f"words_per_minute must be in {_MIN_WPM}..{_MAX_WPM}")
        if not 0 <= pitch <= 100:
            raise ValueError("pitch must be in 0..100")
        if not 0 <= volume <= 200:
            raise ValueError("volume must be in 0..200")
        self.voice = voice
        self.words_per_minute = int(words_per_minute)
        self.pitch = int(pitch)
        self.volume = int(volume)
        with _lock:
            library = _load(library_path, data_path)
            _select_voice(library, voice)  # fails early for an unknown voice
        self.native_rate = library.sample_rate

    @property
    def languages(self) -> tuple[str, ...]:
        """The language of the voice (``("en",)`` for ``en-us+f5``): the server refuses (400)
        a voice model in another language rather than reading its text with English sounds."""
        return (self.voice.split("+", 1)[0].split("-", 1)[0].lower(),)

    def __repr__(self) -> str:
        return f"EspeakTtsEngine(voice={self.voice!r}, words_per_minute={self.words_per_minute})"

    def synthesize_native(self, text: str, speed: float = 1.0) -> bytes:
        """``text`` as 16-bit little-endian mono PCM at espeak's own rate
        (:attr:`native_rate`, 22,050 Hz)."""
        global _sink
        if speed <= 0:
            raise ValueError("speed must be positive")
        if not text.strip():
            return b""
        wpm = min(_MAX_WPM, max(_MIN_WPM, round(self.words_per_minute * speed)))
        data = text.encode("utf-8", "replace") + b"\0"
        buffer = ctypes.create_string_buffer(data, len(data))
        out = bytearray()
        with _lock:
            library = _load(None, None)
            _select_voice(library, self.voice)
            _set_params(library, wpm, self.pitch, self.volume)
            _sink = out
            try:
                status = library.lib.espeak_Synth(
                    buffer, len(data), 0, 0, 0, _ESPEAK_CHARS_UTF8 | _ESPEAK_ENDPAUSE, None, None
                )
                library.lib.espeak_Synchronize()
            finally:
                _sink = None
        if status != _EE_OK:
            raise RuntimeError(f"espeak_Synth failed with status {status}")
        return bytes(out)

    def synthesize(self, text: str, sample_rate: int, speed: float = 1.0) -> bytes:
        """``text`` as 16-bit little-endian mono PCM at ``sample_rate``; ``speed`` multiplies
        the speaking rate. Empty text gives ``b""``."""
        if sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        pcm = self.synthesize_native(text, speed)
        return resample_pcm16(pcm, self.native_rate, sample_rate)
