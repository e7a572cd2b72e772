"""What an engine can honour, checked at the upgrade.

A request the server's engines cannot honour is refused before the upgrade with Deepgram's own
error shape (``400``, ``dg-error`` and the JSON body; see :mod:`._app`), never accepted and then
answered with silence or a wrong transcript. The engines say what they can do with optional
attributes (read with ``getattr``, so engines written before them keep working):

* ``languages``: the primary language subtags an engine recognises or speaks (``("en",)`` for
  pocketsphinx's bundled model and espeak-ng's ``en-us`` voice); ``None`` or absent: any
  (``scripted`` and ``tone`` are language-blind by design).
* ``supports_speed`` (TTS): whether ``synthesize`` takes ``speed``.

The checks themselves live with each channel (``check_request`` on the handler), as only the
channel knows which option carries the language.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import InvalidOptionError

__all__ = ["check_languages", "engine_languages", "primary_language", "voice_language"]


def engine_languages(engine: object) -> tuple[str, ...] | None:
    """The primary subtags ``engine`` declares (lower case), or ``None`` for any."""
    declared: Iterable[str] | None = getattr(engine, "languages", None)
    if declared is None:
        return None
    return tuple(code.lower() for code in declared)


def primary_language(tag: str) -> str:
    """``"en"`` for ``"en-US"``, ``"EN"`` or ``"en_gb"``."""
    return tag.replace("_", "-").split("-", 1)[0].lower()


def check_languages(
    option: str,
    tags: Iterable[str],
    engine: object,
    kind: str = "speech-to-text",
    value: object = None,
) -> None:
    """Raise :class:`InvalidOptionError` (naming ``option`` and ``value``, by default the tag)
    for the first of ``tags`` that ``engine`` cannot handle (``multi`` included: an engine
    with a language list is not multilingual)."""
    known = engine_languages(engine)
    if known is None:
        return
    name = getattr(engine, "name", type(engine).__name__)
    for tag in tags:
        if primary_language(tag) not in known:
            raise InvalidOptionError(
                option,
                tag if value is None else value,
                f"the local server's {kind} engine ({name}) handles only "
                + ", ".join(known)
                + "; start it with another engine (--engine / --tts) for other languages",
            )


def voice_language(model: str) -> str | None:
    """The language of an Aura voice from its name's last part (``aura-2-celeste-es`` ->
    ``"es"``, ``aura-asteria-en`` -> ``"en"``), or ``None`` when the name has no such part."""
    last = model.rsplit("-", 1)[-1]
    if "-" in model and 2 <= len(last) <= 3 and last.isalpha():
        return last.lower()
    return None
