"""Progress of ``rxdeepgram transcribe``: a live bar on a terminal, plain lines otherwise.

On a terminal (standard error by default) one line is redrawn in place, at most
:attr:`Progress.min_interval` apart::

    [########------------]  82/200 files  0.68 h audio  143x real time  2 errors  16 streams

Problems and finished files print above it. Anywhere else (a pipe, a log file, CI) there are
no carriage returns and no escape sequences: one plain line per finished, skipped or failed
input, then the summary. :func:`render_bar` is a pure function of the counts and a width, so
it is tested without a terminal.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

__all__ = ["Counts", "Progress", "render_bar", "summary"]


@dataclass
class Counts:
    """What a run has done so far."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    in_flight: int = 0
    audio_seconds: float = 0.0
    elapsed: float = 0.0

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed

    @property
    def speed(self) -> float:
        """Seconds of audio transcribed per second of wall time."""
        return self.audio_seconds / self.elapsed if self.elapsed > 0 else 0.0


def _hours(seconds: float) -> str:
    """Audio time in the unit that suits it: ``42.0 s``, ``12.5 min``, ``3.27 h``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def render_bar(counts: Counts, width: int) -> str:
    """The live line for ``counts``, at most ``width`` characters: the bar shrinks first, then
    the least important fields are dropped."""
    fields = [
        f"{counts.finished}/{counts.total} files",
        f"{_hours(counts.audio_seconds)} audio",
        f"{counts.speed:.0f}x real time"
        if counts.speed >= 10
        else f"{counts.speed:.1f}x real time",
        f"{counts.failed} error{'s' if counts.failed != 1 else ''}",
        f"{counts.in_flight} stream{'s' if counts.in_flight != 1 else ''}",
    ]
    if counts.skipped:
        fields.insert(1, f"{counts.skipped} skipped")
    while fields:
        text = "  ".join(fields)
        room = width - len(text) - 4  # "[" bar "]" and two spaces
        if room >= 10:
            cells = min(room, 30)
            full = cells * counts.finished // counts.total if counts.total else cells
            return f"[{'#' * full}{'-' * (cells - full)}]  {text}"
        if len(text) <= width:
            return text
        fields.pop()
    return ""


def summary(counts: Counts, interrupted: bool = False, stopped: bool = False) -> str:
    """The last line of a run (``interrupted``: by a signal; ``stopped``: by an error that
    every input would hit)."""
    head = "interrupted after" if interrupted else "stopped after" if stopped else "transcribed"
    parts = [f"{head} {counts.done} of {counts.total} inputs"]
    extra = []
    if counts.skipped:
        extra.append(f"{counts.skipped} already done")
    if counts.failed:
        extra.append(f"{counts.failed} failed")
    if extra:
        parts.append(f" ({', '.join(extra)})")
    parts.append(
        f": {_hours(counts.audio_seconds)} of audio in {counts.elapsed:.1f} s"
        f" ({counts.speed:.1f}x real time)"
    )
    return "".join(parts)


class Progress:
    """Reports a run on ``stream``: live (a redrawn bar) when ``interactive`` (default: the
    stream is a terminal), else plain lines. ``width`` defaults to the terminal's."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interactive: bool | None = None,
        width: int | None = None,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        enabled: bool = True,
    ) -> None:
        self.stream = stream
        self.interactive = _isatty(stream) if interactive is None else interactive
        self.width = width
        self.min_interval = min_interval
        self.clock = clock
        self.enabled = enabled
        self.counts = Counts()
        self._started = clock()
        self._drawn_at = float("-inf")
        self._drawn = 0
        self._lock = threading.Lock()

    def restart(self) -> None:
        """Count the elapsed time from now (after a slow start-up that is not the run's)."""
        self._started = self.clock()
        self.counts.elapsed = 0.0

    def _width(self) -> int:
        if self.width is not None:
            return self.width
        return max(20, shutil.get_terminal_size((80, 24)).columns - 1)

    def tick(self, force: bool = False) -> None:
        """Redraw the bar (terminals only), unless the last draw is younger than
        ``min_interval`` and not ``force``."""
        self.counts.elapsed = self.clock() - self._started
        if not (self.enabled and self.interactive):
            return
        now = self.clock()
        with self._lock:
            if not force and now - self._drawn_at < self.min_interval:
                return
            self._drawn_at = now
            text = render_bar(self.counts, self._width())
            pad = max(0, self._drawn - len(text))
            self.stream.write("\r" + text + " " * pad + "\b" * pad)
            self.stream.flush()
            self._drawn = len(text)

    def line(self, text: str) -> None:
        """A line above the bar (or just a line, off a terminal)."""
        if not self.enabled:
            return
        with self._lock:
            self._clear()
            self.stream.write(text + "\n")
            self.stream.flush()
        self.tick(force=True)

    def above(self, write: Callable[[], None]) -> None:
        """Run ``write`` (which prints elsewhere, e.g. a transcript on standard output) with
        the bar cleared first and redrawn after, so that a terminal showing both stays tidy."""
        if not (self.enabled and self.interactive):
            write()
            return
        with self._lock:
            self._clear()
            self.stream.flush()
        write()
        self.tick(force=True)

    def event(self, text: str) -> None:
        """A finished or skipped input: a plain line off a terminal; on one the bar says it."""
        if self.interactive:
            self.tick()
        else:
            self.line(text)

    def close(self, final: str) -> None:
        """Clear the bar and print ``final``."""
        self.counts.elapsed = self.clock() - self._started
        if not self.enabled:
            return
        with self._lock:
            self._clear()
            self.stream.write(final + "\n")
            self.stream.flush()

    def _clear(self) -> None:
        if self.interactive and self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self._drawn = 0


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
