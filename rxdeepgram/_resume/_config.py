"""``Reconnect`` (the user's configuration), which failures are retried, and what users observe
(``ConnectionState``, ``ResumeStats``). Pure data and pure functions: no I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from ..errors import (
    ConfigurationError,
    ConnectError,
    ConnectionClosedError,
    DeepgramTimeoutError,
    HandshakeError,
    RateLimitError,
    ServiceUnavailableError,
)

__all__ = [
    "ConnectionState",
    "Reconnect",
    "ResumeStats",
    "is_retryable",
    "retry_delay",
]

RETRYABLE_CLOSE_CODES = frozenset({1006, 1011, 1012, 1013, 1014})
"""Abnormal closure, internal error, service restart, try again later, bad gateway."""


@dataclass(frozen=True, slots=True)
class Reconnect:
    """How a resumable connection reconnects (``connect(..., reconnect=Reconnect(...))``;
    ``reconnect=True`` takes these defaults).

    ``max_attempts``: failed attempts in a row before the stream errors with the last cause. An
    attempt fails when the connection cannot be opened, or when it opens and then drops before
    any *progress* (a message other than the channel's opening ones: Listen V2 ``Connected``,
    Speak ``Metadata``, Agent ``Welcome`` / ``SettingsApplied``); the count starts again once a
    connection makes progress. All numbers must be finite and not negative.

    ``backoff``: the first delay in seconds, doubled at each failed attempt up to
    ``max_backoff``, with up to ``jitter`` (a fraction) added at random; a ``Retry-After``
    header (HTTP 429 / 503) is honoured when longer.
    ``max_buffer_s``: the most audio, in seconds, kept for replay (Listen). Past it,
    ``on_overflow="drop_oldest"`` forgets the oldest audio (counted in
    ``ResumeStats.dropped_audio_s``); ``"error"`` makes ``input.on_next`` raise
    :class:`~rxdeepgram.errors.BufferOverflowError` while reconnecting (while connected the
    server has the audio, so the oldest is always dropped).
    """

    max_attempts: int = 8
    backoff: float = 0.25
    max_backoff: float = 8.0
    jitter: float = 0.25
    max_buffer_s: float = 60.0
    on_overflow: Literal["drop_oldest", "error"] = "drop_oldest"

    def __post_init__(self) -> None:
        from .._checks import check_count, check_seconds

        check_count("Reconnect max_attempts", self.max_attempts)
        check_seconds("Reconnect backoff", self.backoff, zero=True)
        check_seconds("Reconnect max_backoff", self.max_backoff, zero=True)
        check_seconds("Reconnect max_buffer_s", self.max_buffer_s, zero=True)
        jitter = self.jitter
        if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not 0 <= jitter <= 1:
            raise ConfigurationError(f"Reconnect jitter must be between 0 and 1, got {jitter!r}")
        if self.on_overflow not in ("drop_oldest", "error"):
            raise ConfigurationError(
                f"on_overflow must be 'drop_oldest' or 'error', got {self.on_overflow!r}"
            )

    @staticmethod
    def coerce(value: object) -> Reconnect | None:
        """``connect(reconnect=...)``: ``True`` -> defaults, ``False``/``None`` -> off."""
        if value is None or value is False:
            return None
        if value is True:
            return Reconnect()
        if isinstance(value, Reconnect):
            return value
        raise ConfigurationError(
            f"reconnect must be True, False or a Reconnect(...), got {type(value).__name__}"
        )


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """One state of a resumable connection, as ``conn.state`` emits it.

    ``kind`` is ``"open"`` (a connection is up), ``"reconnecting"`` (the previous one dropped
    with ``cause``; ``attempt`` counts from 1), or ``"closed"`` (``cause`` is the stream's error,
    or ``None`` for a clean end)."""

    kind: Literal["open", "reconnecting", "closed"]
    attempt: int = 0
    cause: BaseException | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ResumeStats:
    """Counters of a resumable connection (``conn.stats``)."""

    connections: int = 1
    """Connections opened, the first included."""
    reconnects: int = 0
    """Successful reconnects."""
    failed_attempts: int = 0
    """Reconnect attempts that failed (all of them, not only the current run)."""
    replayed_audio_s: float = 0.0
    """Seconds of audio sent again after reconnects."""
    dropped_audio_s: float = 0.0
    """Seconds of audio forgotten because the replay buffer was full."""
    replayed_messages: int = 0
    """Client messages (text, controls, settings) sent again after reconnects."""
    suppressed: int = 0
    """Server messages not delivered because the application already had them."""
    buffered_audio_s: float = 0.0
    """Seconds of audio held to be sent again if the connection drops: what no final result
    covered when audio was last sent (at most ``max_buffer_s``; for the agent, the user's
    statement in progress). Audio refused at the caller is never held."""


def is_retryable(error: BaseException | None, *, opening: bool) -> bool:
    """Whether to reconnect after ``error``: how an open stream ended (``opening=False``:
    abnormal closes only; a close timeout is not retried) or why a reconnect attempt failed
    (``opening=True``: also refused / timed-out connects, HTTP 429 and 5xx)."""
    if isinstance(error, ConnectionClosedError):
        if error.code is None or error.code in RETRYABLE_CLOSE_CODES:
            return True
        dg = error.dg_code
        return dg is not None and dg.startswith("NET-")
    if not opening:
        return False
    if isinstance(error, HandshakeError):  # a ConnectError too: only 429 and 5xx are retried
        return isinstance(error, (RateLimitError, ServiceUnavailableError))
    return isinstance(error, (ConnectError, DeepgramTimeoutError))


def retry_delay(config: Reconnect, attempt: int, error: BaseException | None) -> float:
    """Seconds to wait before reconnect ``attempt`` (1-based) after ``error``."""
    base = min(float(config.max_backoff), config.backoff * 2.0 ** (attempt - 1))
    delay: float = base * (1.0 + config.jitter * random.random())
    after = getattr(error, "retry_after", None)
    if isinstance(after, (int, float)) and after > delay:
        delay = float(after)
    return delay
