"""What the commands share: the :class:`Console` (report lines, live lines, JSON), the
:class:`CommandError` a command raises to stop with a message, and :func:`fail`.

Output rules, the same for every command:

* standard output carries the report, or with ``--json`` only JSON (one object, or one per line);
* live lines (interim transcripts, progress) are overwritten in place, and only on a terminal:
  on the report's stream without ``--json``, on standard error with it; a pipe or a log never
  sees a carriage return;
* errors are one line on standard error, ``rxdeepgram: error: ...``, never a traceback.

:func:`drain` is how a command waits for a stream: it always disposes what it subscribed.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

from reactivex import Observable

__all__ = ["CommandError", "Console", "drain", "fail"]


class CommandError(Exception):
    """A command failed in a way that needs no traceback: ``message`` is printed on standard
    error and the process exits with ``status`` (1 unless given)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def fail(message: str, status: int = 2) -> int:
    """Print ``rxdeepgram: error: <message>`` on standard error; return ``status``."""
    sys.stderr.write(f"rxdeepgram: error: {message}\n")
    sys.stderr.flush()
    return status


class Console:
    """Where a command's output goes (see the module docstring).

    Thread-safe: transcripts and audio arrive on the connection's reader thread while the main
    thread prints headings.

    Args:
        json_mode: stdout carries only what :meth:`emit_json` writes; :meth:`line` is silent.
        out: the report's stream (standard output).
        err: where live lines go in ``json_mode`` (standard error).
        min_interval: live lines closer together than this many seconds are skipped (the last
            one is always shown by the next :meth:`line` or :meth:`live` that passes), so a
            fast stream does not flood a slow terminal.
    """

    def __init__(
        self,
        *,
        json_mode: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
        min_interval: float = 0.0,
    ) -> None:
        self.json_mode = json_mode
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._live_width = 0
        self._live_at = float("-inf")
        stream = self.err if json_mode else self.out
        self._live_stream = stream if _isatty(stream) else None

    @property
    def interactive(self) -> bool:
        """Whether :meth:`live` shows anything (its stream is a terminal)."""
        return self._live_stream is not None

    def line(self, text: str = "") -> None:
        """A line of the human report (nothing in JSON mode); clears the live line first."""
        if self.json_mode:
            return
        with self._lock:
            self._clear_live()
            self.out.write(text + "\n")
            self.out.flush()

    def heading(self, text: str) -> None:
        """A heading of the report: a :meth:`line`, or in JSON mode a live line (so that a
        terminal watching standard error sees which step runs)."""
        if self.json_mode:
            self.live(text, force=True)
        else:
            self.line(text)

    def live(self, text: str, *, force: bool = False) -> None:
        """Show ``text`` on the live line, replacing what was there (terminals only).

        Skipped when the previous live line is younger than ``min_interval``, unless ``force``.
        Long text keeps its end (the newest words of a transcript)."""
        stream = self._live_stream
        if stream is None:
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._live_at < self.min_interval:
                return
            self._live_at = now
            if len(text) > 100:
                text = "..." + text[-97:]
            pad = max(0, self._live_width - len(text))
            stream.write("\r" + text + " " * pad + "\b" * pad)
            stream.flush()
            self._live_width = len(text)

    def end_live(self) -> None:
        """Clear the live line, if any."""
        with self._lock:
            self._clear_live()

    def _clear_live(self) -> None:
        stream = self._live_stream
        if stream is not None and self._live_width:
            stream.write("\r" + " " * self._live_width + "\r")
            stream.flush()
            self._live_width = 0

    def emit_json(self, value: Any) -> None:
        """One JSON document, on one line of standard output."""
        with self._lock:
            self._clear_live()
            self.out.write(json.dumps(value, ensure_ascii=False) + "\n")
            self.out.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or exotic stream
        return False


def drain(
    source: Observable[Any],
    *,
    timeout: float | None = None,
    what: str = "the stream",
) -> None:
    """Subscribe to ``source`` and block until it completes; re-raise its error.

    Unlike ``Observable.run()``, the subscription is disposed when the wait ends for any reason
    (Ctrl-C included), so a connection is never left behind, and ``timeout`` (seconds) raises
    :class:`CommandError` naming ``what``."""
    done = threading.Event()
    errors: list[Exception] = []

    def on_error(error: Exception) -> None:
        errors.append(error)
        done.set()

    subscription = source.subscribe(on_error=on_error, on_completed=done.set)
    try:
        if not done.wait(timeout):
            raise CommandError(f"{what} did not finish within {timeout:.0f} s")
    finally:
        subscription.dispose()
    if errors:
        raise errors[0]
