"""Speech-to-text engines of the local server, by name.

* ``scripted`` — :class:`~.scripted.ScriptedEngine`: transcripts from a script, timing from the
  audio. Deterministic; the default.
* ``local`` (alias ``pocketsphinx``) — the offline pocketsphinx recogniser, imported only when
  asked for (it needs the ``local`` extra: ``pip install rxdeepgram[local]``).

:func:`get_engine` builds one by name; :func:`register_engine` adds a factory under a new name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ._base import RecognizedWord, SttEngine, SttStream, TtsEngine
from .scripted import DEFAULT_SCRIPT, ScriptedEngine, ScriptedStream

__all__ = [
    "DEFAULT_SCRIPT",
    "RecognizedWord",
    "ScriptedEngine",
    "ScriptedStream",
    "SttEngine",
    "SttStream",
    "TtsEngine",
    "best_stt_engine",
    "best_tts_engine",
    "engine_names",
    "get_engine",
    "get_tts_engine",
    "register_engine",
    "tts_engine_names",
]

EngineFactory = Callable[..., SttEngine]


def _scripted(**options: Any) -> SttEngine:
    return ScriptedEngine(**options)


def _local(**options: Any) -> SttEngine:
    try:
        module = importlib.import_module(".pocketsphinx", __name__)
    except ImportError as exc:  # pocketsphinx missing, or the module itself
        raise ImportError(
            f"the 'local' engine needs pocketsphinx: pip install 'rxdeepgram[local]' ({exc})"
        ) from exc
    engine: SttEngine = module.PocketsphinxEngine(**options)
    return engine


_FACTORIES: dict[str, EngineFactory] = {
    "scripted": _scripted,
    "local": _local,
    "pocketsphinx": _local,
}


def engine_names() -> tuple[str, ...]:
    """The names :func:`get_engine` knows, sorted."""
    return tuple(sorted(_FACTORIES))


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make ``get_engine(name, **options)`` call ``factory(**options)``."""
    if not name:
        raise ValueError("engine name must not be empty")
    _FACTORIES[name] = factory


def get_engine(name: str, **options: Any) -> SttEngine:
    """Build the engine registered as ``name`` with ``options`` (e.g. ``script=[...]`` for
    ``scripted``). Raises ``ValueError`` for an unknown name; an engine whose optional
    dependency is missing raises when built (``local``:
    :class:`~rxdeepgram.errors.ConfigurationError` naming the extra to install)."""
    factory = _FACTORIES.get(name)
    if factory is None:
        known = ", ".join(engine_names())
        raise ValueError(f"unknown engine {name!r} (known: {known})")
    return factory(**options)


# -- text-to-speech engines --------------------------------------------------------------------

TtsFactory = Callable[..., TtsEngine]


def _tone(**options: Any) -> TtsEngine:
    module = importlib.import_module(".tone", __name__)
    engine: TtsEngine = module.ToneTtsEngine(**options)
    return engine


def _espeak(**options: Any) -> TtsEngine:
    try:
        module = importlib.import_module(".espeak", __name__)
    except ImportError as exc:
        raise ImportError(
            f"the 'local' TTS engine needs espeak-ng: pip install 'rxdeepgram[local]' ({exc})"
        ) from exc
    engine: TtsEngine = module.EspeakTtsEngine(**options)
    return engine


_TTS_FACTORIES: dict[str, TtsFactory] = {"tone": _tone, "local": _espeak, "espeak": _espeak}


def tts_engine_names() -> tuple[str, ...]:
    """The names :func:`get_tts_engine` knows, sorted."""
    return tuple(sorted(_TTS_FACTORIES))


def get_tts_engine(name: str, **options: Any) -> TtsEngine:
    """Build the text-to-speech engine registered as ``name`` (``tone``, ``local``)."""
    factory = _TTS_FACTORIES.get(name)
    if factory is None:
        known = ", ".join(sorted(_TTS_FACTORIES))
        raise ValueError(f"unknown TTS engine {name!r} (known: {known})")
    return factory(**options)


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def best_stt_engine() -> str:
    """``"local"`` (pocketsphinx, real recognition) when it imports, else ``"scripted"``."""
    return "local" if _importable("pocketsphinx") else "scripted"


def best_tts_engine() -> str:
    """``"local"`` (espeak-ng, real speech) when it imports, else ``"tone"``."""
    return "local" if _importable("espeakng_loader") else "tone"
