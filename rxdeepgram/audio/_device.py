"""The lazy import of ``sounddevice`` (the ``mic`` extra) behind the microphone and speaker."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["import_sounddevice", "log"]

log = logging.getLogger("rxdeepgram.audio")


def import_sounddevice(feature: str) -> Any:
    """Import ``sounddevice``, or explain what to install for ``feature``."""
    try:
        import sounddevice
    except ImportError as exc:
        raise ImportError(
            f'{feature} needs the "mic" extra (sounddevice): pip install "rxdeepgram[mic]"'
        ) from exc
    except OSError as exc:  # sounddevice is there, the PortAudio library it loads is not
        raise ImportError(
            f"{feature} needs the PortAudio library, which sounddevice could not load ({exc}): "
            "install it (e.g. apt install libportaudio2, brew install portaudio)"
        ) from exc
    return sounddevice
