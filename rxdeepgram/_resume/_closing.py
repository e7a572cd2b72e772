"""How a resumable connection ends on the application's word: graceful close and abort.

* **Graceful close** (``input.on_completed()``, ``close()``): the session enters CLOSING (sends
  raise from now on), the policy is told, and the current inner connection closes gracefully
  once the policy holds nothing back (the agent's held messages go first). Whatever the state
  (open, reconnecting, opening, stalled), the close ends within ``close_timeout``: then the
  stream errors with what was not delivered (the policy says what).
* **Abort** (``input.on_error(e)``, a timeout): the stream's end is decided at once; the current
  inner connection is aborted and its end, coming back through the runner, ends the stream
  (with none up, it ends now).
"""

from __future__ import annotations

from threading import get_ident
from typing import TypeVar

from ._core import discard
from ._runner import ResumableRunner

__all__ = ["ResumableClosing"]

S = TypeVar("S")
C = TypeVar("C")


class ResumableClosing(ResumableRunner[S, C]):
    """Graceful close, its timeout, and abort."""

    def _close_gracefully(self) -> None:
        with self._lock:
            if not self._session.close_gracefully(discard):
                return
            self._input._owner = None
            if self._lockfree and get_ident() != self._owner:
                self._hand(self._close_policy)
            else:
                self._close_policy()
        self._close_windows()
        self._start_close_timer()

    def _close_policy(self) -> None:
        """The policy learns of the close; the inner connection closes unless it holds."""
        self._closing = True
        self._seed.closing()
        self._policy.on_close()
        inner = self._inner
        if inner is not None and not self._policy.holding:
            inner._close_gracefully()

    def _start_close_timer(self) -> None:
        """The close, whatever the state (open, reconnecting, opening, stalled), ends within
        ``close_timeout``: then the stream errors with what was not delivered."""

        def arm() -> None:
            if self._close_handle is None and not self._finishing:
                self._close_handle = self._loop.call_later(
                    self._close_timeout, self._close_timed_out
                )

        self._on_loop(arm)

    def _close_timed_out(self) -> None:
        with self._lock:
            missing = self._policy.undelivered()
        state = self._state_now
        if state.kind == "reconnecting":
            missing += f" (reconnecting: attempt {state.attempt} after {state.cause})"
        self._abort(self._close_timeout_error(missing), hard=True)

    def _abort(self, error: BaseException | None, hard: bool = False) -> None:
        self._input._owner = None
        if not self._session.abort(error):
            return
        with self._lock:
            self._aborted = True
            inner = self._inner
        if inner is not None:
            inner._abort(error, hard)  # its end comes back through _on_inner_end
        else:
            self._end_with(self._session_end())
