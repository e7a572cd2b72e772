"""What the driver and the transports share: limits, the choice of transport and the mapping of
handshake failures to the error tree."""

from __future__ import annotations

import importlib.util
import logging

from .._config import redact
from ..errors import (
    ConfigurationError,
    ConnectError,
    DeepgramError,
    DeepgramTimeoutError,
    HandshakeError,
)
from ._transport import Opener

__all__ = [
    "CLOSE",
    "MAX_AUDIO_FRAME",
    "MAX_MESSAGE_BYTES",
    "WIRE_LOG",
    "map_open_error",
    "opener_for",
]

WIRE_LOG = logging.getLogger("rxdeepgram.websockets")
"""The transports' own debug output (always through a ``RedactingLogger``)."""

MAX_MESSAGE_BYTES = 2**24
"""The largest message the client accepts; a larger one fails the connection with 1009."""
MAX_AUDIO_FRAME = 2**20
"""The largest audio frame the client sends: a bigger chunk goes out as several frames (audio is
a byte stream: Deepgram's docs leave the chunk size to the client and state no limit, while a
WebSocket server closes with 1009 past its own, which is 16 MiB on the local server)."""

CLOSE = object()
"""Queued after the last frame when the socket itself must be closed (channels without a
closing message, and fatal errors)."""


def picows_available() -> bool:
    """Whether picows and our transport for it are installed (nothing is imported)."""
    return (
        importlib.util.find_spec("picows") is not None
        and importlib.util.find_spec(f"{__package__}._picows") is not None
    )


_openers: dict[str | None, Opener] = {}


def opener_for(transport: str | None) -> Opener:
    """The ``Opener`` of ``ClientConfig.transport``: ``None`` is picows when it is installed,
    else websockets. Imports the chosen transport (and only it) on first use."""
    opener = _openers.get(transport)
    if opener is None:
        opener = _openers[transport] = _load(transport)
    return opener


def _load(transport: str | None) -> Opener:
    if transport is None:
        transport = "picows" if picows_available() else "websockets"
    if transport == "picows":
        if importlib.util.find_spec("picows") is None:
            raise ConfigurationError(
                "transport='picows' needs picows: pip install 'rxdeepgram[fast]'"
            )
        from ._picows import open_picows

        return open_picows
    if transport == "websockets":
        from ._websockets import open_websockets

        return open_websockets
    raise ConfigurationError(
        f"transport must be 'websockets', 'picows' or None (automatic), got {transport!r}"
    )


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url``, as websockets' ``connect`` and urllib read
    it: ``HTTPS_PROXY`` for ``wss://``, ``HTTP_PROXY`` for ``ws://``, none for a host in
    ``NO_PROXY``."""
    import urllib.request
    from urllib.parse import urlsplit

    proxies = urllib.request.getproxies()
    if not proxies:
        return None
    parts = urlsplit(url)
    proxy = proxies.get("https" if parts.scheme == "wss" else "http")
    if proxy is None or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy


def map_open_error(exc: BaseException, url: str, secrets: tuple[str, ...]) -> DeepgramError:
    """Turn whatever opening the socket raised into the library's error tree (websockets'
    exceptions are only looked at if websockets raised them)."""
    if isinstance(exc, DeepgramError):
        return exc
    from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

    if isinstance(exc, InvalidStatus):
        response = exc.response
        headers = response.headers
        body = response.body.decode("utf-8", "replace") if response.body else ""
        return HandshakeError.for_status(
            response.status_code,
            headers.get("dg-error"),
            headers.get("dg-request-id"),
            redact(body, secrets),
            headers.get("retry-after"),
        )
    if isinstance(exc, InvalidURI):
        return ConfigurationError(f"invalid URL {url!r}: {exc}")
    if isinstance(exc, TimeoutError):
        return DeepgramTimeoutError(f"opening {url} timed out")
    if isinstance(exc, InvalidHandshake):
        return ConnectError(f"WebSocket handshake with {url} failed: {redact(str(exc), secrets)}")
    if isinstance(exc, OSError):
        return ConnectError(f"could not connect to {url}: {redact(str(exc), secrets)}")
    return ConnectError(f"could not connect to {url}: {type(exc).__name__}: {exc}")
