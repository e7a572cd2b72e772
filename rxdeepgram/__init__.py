"""rxdeepgram: Deepgram's real-time WebSocket APIs as Rx streams.

``DeepgramClient().listen.v1.connect(model="nova-3")`` returns a context manager that opens a
connection: ``with client.listen.v1.connect(model="nova-3") as conn:`` (or ``.open()``, then
``conn.close()``; ``async with`` / ``await`` on ``AsyncDeepgramClient``). The connection's
``messages`` is an Observable of msgspec-decoded structs and its ``input`` an Observer that
takes audio (``bytes``) and control messages. ``client.listen.v1.transcribe(...)`` and the other
cold operators open one per subscription. See the documentation (``docs/``) and
``help(rxdeepgram.Connection)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._auth import GrantedToken
from ._client import AsyncDeepgramClient, DeepgramClient
from ._connection import AsyncConnection, Connection, EventType
from ._version import __version__
from .errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    BufferOverflowError,
    CallbackError,
    ConfigurationError,
    ConnectError,
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    DeepgramError,
    DeepgramTimeoutError,
    HandshakeError,
    InvalidInputError,
    InvalidMessageError,
    InvalidOptionError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
)
from .messages import Unknown

if TYPE_CHECKING:
    from ._resume import ConnectionState, Reconnect, ResumeStats

_LAZY = {"ConnectionState", "Reconnect", "ResumeStats"}
"""Loaded on first use: most programs never reconnect, and ``import rxdeepgram`` stays cheap."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import _resume

        value = getattr(_resume, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rxdeepgram' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)


__all__ = [
    "ApiError",
    "AsyncConnection",
    "AsyncDeepgramClient",
    "AuthenticationError",
    "BadRequestError",
    "BufferOverflowError",
    "CallbackError",
    "ConfigurationError",
    "ConnectError",
    "Connection",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "ConnectionState",
    "DeepgramClient",
    "DeepgramError",
    "DeepgramTimeoutError",
    "EventType",
    "GrantedToken",
    "HandshakeError",
    "InvalidInputError",
    "InvalidMessageError",
    "InvalidOptionError",
    "RateLimitError",
    "Reconnect",
    "ResumeStats",
    "ServerError",
    "ServiceUnavailableError",
    "Unknown",
    "__version__",
]
