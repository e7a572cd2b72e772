"""Terminal output shared by the commands: status lines, live lines, JSON, errors."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, TextIO

__all__ = ["Console", "fail"]


def fail(message: str, status: int = 2) -> int:
    """Print ``rxdeepgram: error: message`` on standard error; return ``status``."""
    sys.stderr.write(f"rxdeepgram: error: {message}\n")
    sys.stderr.flush()
    return status


class Console:
    """Where a command's human output goes.

    With ``json_mode`` the human report is silent (stdout carries only JSON, written by
    :meth:`emit_json`) and progress goes to standard error only when it is a terminal. On a
    terminal, :meth:`live` overwrites one line in place (interim transcripts, progress); elsewhere
    it writes nothing, so logs and pipes get whole lines only. Thread-safe: messages arrive on
    the connection's reader thread.
    """

    def __init__(
        self, *, json_mode: bool = False, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.json_mode = json_mode
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._lock = threading.Lock()
        self._live_width = 0
        report = self.err if json_mode else self.out
        self._live_stream = report if report.isatty() else None

    @property
    def interactive(self) -> bool:
        """Whether :meth:`live` shows anything (the report goes to a terminal)."""
        return self._live_stream is not None

    def line(self, text: str = "") -> None:
        """A line of the human report (nothing in JSON mode); clears a live line first."""
        if self.json_mode:
            return
        with self._lock:
            self._clear_live()
            self.out.write(text + "\n")
            self.out.flush()

    def live(self, text: str) -> None:
        """Show ``text`` on the live line (terminals only), replacing what was there."""
        stream = self._live_stream
        if stream is None:
            return
        with self._lock:
            text = text[-120:]
            pad = max(0, self._live_width - len(text))
            stream.write("\r" + text + " " * pad)
            stream.flush()
            self._live_width = len(text)

    def end_live(self) -> None:
        """Clear the live line."""
        with self._lock:
            self._clear_live()

    def _clear_live(self) -> None:
        stream = self._live_stream
        if stream is not None and self._live_width:
            stream.write("\r" + " " * self._live_width + "\r")
            stream.flush()
            self._live_width = 0

    def emit_json(self, value: Any) -> None:
        """One JSON document on standard output."""
        with self._lock:
            self._clear_live()
            self.out.write(json.dumps(value, ensure_ascii=False) + "\n")
            self.out.flush()
