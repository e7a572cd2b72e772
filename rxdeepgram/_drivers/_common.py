"""What both drivers share: connect arguments and the mapping of handshake failures."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.http11 import Response

from .._config import USER_AGENT, RedactingLogger, redact
from .._connection import ConnectionBase
from .._session import Session
from ..errors import (
    ConfigurationError,
    ConnectError,
    DeepgramError,
    DeepgramTimeoutError,
    HandshakeError,
)

__all__ = ["CLOSE", "MAX_MESSAGE_BYTES", "connect_kwargs", "connection_for", "map_open_error"]

_wire_log = logging.getLogger("rxdeepgram.websockets")

MAX_MESSAGE_BYTES = 2**24
"""The largest message the client accepts (websockets' ``max_size``; the frame reader's limit)."""

CLOSE = object()
"""Queued after the last frame when the socket itself must be closed (channels without a
closing message, and fatal errors)."""


def connect_kwargs(
    headers: dict[str, str], open_timeout: float, close_timeout: float, secrets: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "additional_headers": headers,
        "user_agent_header": USER_AGENT,
        "open_timeout": open_timeout,
        "close_timeout": close_timeout,
        "compression": None,
        "max_size": MAX_MESSAGE_BYTES,
        "logger": RedactingLogger(_wire_log, secrets),
    }


C = TypeVar("C", bound=ConnectionBase[Any, Any])


def connection_for(
    cls: type[C],
    session: Session,
    url: str,
    response: Response | None,
    close_timeout: float,
    connection_kwargs: dict[str, Any],
) -> C:
    """Build the user-facing connection for a socket that just opened."""
    assert response is not None
    return cls(
        session,
        url=url,
        request_id=response.headers.get("dg-request-id"),
        response_headers=dict(response.headers.raw_items()),
        close_timeout=close_timeout,
        **connection_kwargs,
    )


def map_open_error(exc: BaseException, url: str, secrets: tuple[str, ...]) -> DeepgramError:
    """Turn whatever opening the socket raised into the library's error tree."""
    if isinstance(exc, DeepgramError):
        return exc
    if isinstance(exc, InvalidStatus):
        response = exc.response
        headers = response.headers
        body = response.body.decode("utf-8", "replace") if response.body else ""
        return HandshakeError.for_status(
            response.status_code,
            headers.get("dg-error"),
            headers.get("dg-request-id"),
            redact(body, secrets),
        )
    if isinstance(exc, InvalidURI):
        return ConfigurationError(f"invalid URL {url!r}: {exc}")
    if isinstance(exc, TimeoutError):
        return DeepgramTimeoutError(f"opening {url} timed out")
    if isinstance(exc, InvalidHandshake):
        return ConnectError(f"WebSocket handshake with {url} failed: {redact(str(exc), secrets)}")
    if isinstance(exc, OSError):
        return ConnectError(f"could not connect to {url}: {exc}")
    return ConnectError(f"could not connect to {url}: {type(exc).__name__}: {exc}")
