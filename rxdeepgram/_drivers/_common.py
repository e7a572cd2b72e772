"""What the driver and the transports share: limits and the mapping of handshake failures to the
error tree. The choice of transport, which imports the transports, is one layer up in
:mod:`._choice`."""

from __future__ import annotations

import logging

from .._secrets import masker, redact, safe_url, scrub
from ..errors import (
    ConfigurationError,
    ConnectError,
    DeepgramError,
    DeepgramTimeoutError,
    HandshakeError,
)

__all__ = [
    "CLOSE",
    "ERROR_BODY_LIMIT",
    "MAX_AUDIO_FRAME",
    "MAX_MESSAGE_BYTES",
    "WIRE_LOG",
    "map_open_error",
    "parse_refusal",
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


ERROR_BODY_LIMIT = 2048
"""The most of a refused handshake's body kept in ``HandshakeError.body`` (bytes, before
decoding). Deepgram's error bodies are a few hundred bytes of JSON; both transports keep the part
of the body that arrived with the response's head, so the limit is what they can agree on."""


def parse_refusal(head: bytes, tail: bytes, secrets: tuple[str, ...]) -> HandshakeError | None:
    """The :class:`HandshakeError` of an HTTP response to the upgrade that is not ``101``:
    ``head`` is the status line and header lines (up to the blank line), ``tail`` what followed.
    ``None`` when ``head`` is not an HTTP response or its status is ``101``. Both transports build
    their refusals here, so the same answer gives the same error with the same fields."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        return None
    status = int(parts[1])
    if status == 101 or not 100 <= status <= 599:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip():
            key = name.strip().decode("latin-1").lower()
            headers.setdefault(key, value.strip().decode("utf-8", "replace"))
    body = tail
    length = headers.get("content-length")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(tail)
    elif length is not None and length.isdigit():
        body = tail[: int(length)]
    body = body[:ERROR_BODY_LIMIT]
    mask = masker(secrets).mask

    def field(name: str) -> str | None:
        value = headers.get(name)
        return None if value is None else mask(value)

    return HandshakeError.for_status(
        status,
        field("dg-error"),
        field("dg-request-id"),
        mask(body.decode("utf-8", "replace")),
        headers.get("retry-after"),
    )


def _dechunk(data: bytes) -> bytes:
    """The payload of a chunked body, as far as ``data`` goes."""
    out = bytearray()
    while len(out) < ERROR_BODY_LIMIT:
        line, sep, rest = data.partition(b"\r\n")
        if not sep:
            break
        try:
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


def not_http(url: str) -> ConnectError:
    """The error of an answer to the upgrade that is not an HTTP response at all."""
    return ConnectError(
        f"WebSocket handshake with {url} failed: the answer is not an HTTP response"
    )


def closed_in_handshake(url: str) -> ConnectError:
    """The error of a connection closed (or reset) before the upgrade was answered."""
    return ConnectError(
        f"WebSocket handshake with {url} failed: the connection closed before an answer"
    )


def map_open_error(exc: BaseException, url: str, secrets: tuple[str, ...]) -> DeepgramError:
    """Turn whatever opening the socket raised into the library's error tree (websockets'
    exceptions are only looked at if websockets raised them). Secrets are masked in the result
    and its chain cut where a linked exception would show one (``_secrets.scrub``)."""
    error = _map_open_error(exc, url, secrets)
    if error is not exc:  # keep the original as the cause only if it shows no secret
        error.__cause__ = exc
    scrub(error, secrets)
    return error


def _map_open_error(exc: BaseException, url: str, secrets: tuple[str, ...]) -> DeepgramError:
    if isinstance(exc, DeepgramError):
        return exc
    from websockets.exceptions import InvalidHandshake, InvalidMessage, InvalidStatus, InvalidURI

    if isinstance(exc, InvalidStatus):
        # (the websockets transport parses the raw answer itself: this is a fallback)
        response = exc.response
        head = f"HTTP/1.1 {response.status_code} {response.reason_phrase}".encode()
        for name, value in response.headers.raw_items():
            if name.lower() not in ("content-length", "transfer-encoding"):  # body decoded
                head += f"\r\n{name}: {value}".encode()
        refusal = parse_refusal(head, bytes(response.body or b""), secrets)
        if refusal is not None:
            return refusal
    if isinstance(exc, InvalidURI):
        return ConfigurationError(f"invalid URL {safe_url(url)!r}: {redact(str(exc), secrets)}")
    if isinstance(exc, TimeoutError):
        return DeepgramTimeoutError(f"opening {url} timed out")
    if isinstance(exc, InvalidMessage):
        cause = exc.__cause__
        if isinstance(cause, EOFError | ConnectionError):
            return closed_in_handshake(url)
        return not_http(url)
    if isinstance(exc, InvalidHandshake):
        return ConnectError(f"WebSocket handshake with {url} failed: {redact(str(exc), secrets)}")
    if isinstance(exc, OSError):
        return ConnectError(f"could not connect to {url}: {redact(str(exc), secrets)}")
    return ConnectError(
        f"could not connect to {url}: {type(exc).__name__}: {redact(str(exc), secrets)}"
    )
