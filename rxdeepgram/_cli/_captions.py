"""What ``rxdeepgram transcribe --out DIR`` writes per input: text, JSON, SRT or WebVTT.

The input to every format is the list of final results of one file (:class:`Segment`: its
time span, transcript and words). Formats:

* ``txt``: one line per final result (as the command prints them), ending with a newline;
  an input without speech gives an empty file.
* ``json``: ``{"file", "duration", "request_id", "transcript", "results": [...]}``, each result
  as ``--json`` prints it (start, end, transcript, confidence, words with times).
* ``srt`` / ``vtt``: captions cut from the word times: a cue holds at most :data:`MAX_CUE_CHARS`
  characters (on up to two lines of :data:`MAX_LINE_CHARS`) and lasts at most
  :data:`MAX_CUE_SECONDS`; a pause of :data:`PAUSE_SECONDS` or the end of a result starts a
  new cue. Each cue runs from its first word's start to its last word's end.

Files are written atomically by :func:`write_atomic` (a temporary file in the same directory,
then ``os.replace``), so an output that exists is complete: that is what lets an interrupted
run resume by skipping inputs whose outputs exist.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FORMATS",
    "FileTranscript",
    "Segment",
    "TimedWord",
    "cues",
    "render",
    "write_atomic",
]

FORMATS = ("txt", "json", "srt", "vtt")
MAX_LINE_CHARS = 42
MAX_CUE_CHARS = 2 * MAX_LINE_CHARS
MAX_CUE_SECONDS = 6.0
PAUSE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class TimedWord:
    """A word as captions show it (punctuated when the service punctuated it)."""

    text: str
    start: float
    end: float
    confidence: float = 0.0


@dataclass(frozen=True, slots=True)
class Segment:
    """One final result."""

    start: float
    end: float
    transcript: str
    confidence: float
    words: tuple[TimedWord, ...]
    channel: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "transcript": self.transcript,
            "confidence": round(self.confidence, 4),
            "words": [
                {
                    "word": w.text,
                    "start": round(w.start, 3),
                    "end": round(w.end, 3),
                    "confidence": round(w.confidence, 4),
                }
                for w in self.words
            ],
        }


@dataclass
class FileTranscript:
    """The final results of one input, and what the service said about it."""

    file: str
    segments: list[Segment] = field(default_factory=list)
    duration: float | None = None
    request_id: str | None = None

    @property
    def transcript(self) -> str:
        return " ".join(s.transcript for s in self.segments if s.transcript)


def cues(segments: Sequence[Segment]) -> list[tuple[float, float, str]]:
    """Caption cues ``(start, end, text)`` from the words of ``segments`` (see the module
    docstring for the rules). Results without word times give one cue each."""
    out: list[tuple[float, float, str]] = []
    for segment in segments:
        if not segment.words:
            if segment.transcript:
                out.append((segment.start, segment.end, _wrap(segment.transcript)))
            continue
        current: list[TimedWord] = []
        for word in segment.words:
            if current:
                text = " ".join(w.text for w in current) + " " + word.text
                if (
                    len(text) > MAX_CUE_CHARS
                    or word.end - current[0].start > MAX_CUE_SECONDS
                    or word.start - current[-1].end >= PAUSE_SECONDS
                ):
                    out.append(_cue(current))
                    current = []
            current.append(word)
        if current:
            out.append(_cue(current))
    return out


def _cue(words: list[TimedWord]) -> tuple[float, float, str]:
    return (
        words[0].start,
        max(words[-1].end, words[0].start),
        _wrap(" ".join(w.text for w in words)),
    )


def _wrap(text: str) -> str:
    """Two balanced lines when ``text`` is longer than one line allows."""
    if len(text) <= MAX_LINE_CHARS:
        return text
    middle = len(text) // 2
    left, right = text.rfind(" ", 0, middle + 1), text.find(" ", middle)
    candidates = [i for i in (left, right) if i > 0]
    if not candidates:
        return text
    cut = min(candidates, key=lambda i: abs(i - middle))
    return text[:cut] + "\n" + text[cut + 1 :]


def _timestamp(seconds: float, separator: str) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _srt(result: FileTranscript) -> str:
    blocks = [
        f"{n}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{text}\n"
        for n, (start, end, text) in enumerate(cues(result.segments), 1)
    ]
    return "\n".join(blocks)


def _vtt(result: FileTranscript) -> str:
    blocks = [
        f"{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n{text}\n"
        for start, end, text in cues(result.segments)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def _txt(result: FileTranscript) -> str:
    return "".join(s.transcript + "\n" for s in result.segments if s.transcript)


def _json(result: FileTranscript) -> str:
    document = {
        "file": result.file,
        "duration": None if result.duration is None else round(result.duration, 3),
        "request_id": result.request_id,
        "transcript": result.transcript,
        "results": [s.as_json() for s in result.segments],
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


_RENDERERS: dict[str, Callable[[FileTranscript], str]] = {
    "txt": _txt,
    "json": _json,
    "srt": _srt,
    "vtt": _vtt,
}


def render(result: FileTranscript, fmt: str) -> str:
    """``result`` in ``fmt`` (one of :data:`FORMATS`)."""
    return _RENDERERS[fmt](result)


def _create_beside(directory: str, name: str) -> tuple[int, str]:
    """Create a new, uniquely named temporary file in ``directory`` with mode ``0o666`` less
    the umask, as any output file gets (``tempfile.mkstemp`` would make it ``0o600``, which
    the rename would keep: outputs that others sharing the folder could not read)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name for {name} in {directory}")


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that ``path`` is either absent or complete: a
    temporary file beside it, flushed and synced, then renamed over it. The file's mode is
    ``0o666`` less the umask, like any file a tool creates."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, temporary = _create_beside(directory, os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _remove_stale_parts(directory, os.path.basename(path))


def _remove_stale_parts(directory: str, name: str) -> None:
    """Temporary files of ``name`` left by a writer that died mid-write (a killed process, a
    lost Ray worker): once ``name`` is written whole they are garbage."""
    prefix = "." + name + "."
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(prefix) and entry.name.endswith(".part"):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
