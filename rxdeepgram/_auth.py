"""``client.auth.v1.tokens.grant()``: temporary access tokens from ``POST /v1/auth/grant``.

A holder of an API key asks Deepgram (or the local server) for a short-lived token and hands it to
a less trusted party, which connects with ``DeepgramClient(access_token=...)`` (sent as
``Authorization: Bearer <token>``). The token only has to be valid during the WebSocket
handshake; the socket then stays open::

    token = DeepgramClient(api_key=KEY).auth.v1.tokens.grant()
    client = DeepgramClient(access_token=token.access_token)

    token = await AsyncDeepgramClient(api_key=KEY).auth.v1.tokens.grant(ttl_seconds=60)

The request goes to the client's REST host: ``base_url`` with ``ws``/``wss`` turned into
``http``/``https`` (Deepgram's ``https://api.deepgram.com`` by default), through the standard
library's ``http.client``; the async client runs that blocking call in a worker thread. Failures
are typed: :class:`~rxdeepgram.errors.ApiError` for an HTTP error status (``status``,
``dg_error``, ``request_id``, ``body``), :class:`~rxdeepgram.errors.ConnectError`,
:class:`~rxdeepgram.errors.DeepgramTimeoutError`, and, before any I/O,
:class:`~rxdeepgram.errors.ConfigurationError` (no API key: a token cannot mint tokens) or
:class:`~rxdeepgram.errors.InvalidOptionError` (``ttl_seconds`` outside 1-3600).

Neither the key nor the token is ever logged; :class:`GrantedToken`'s ``repr`` masks the token.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit

from .errors import (
    ApiError,
    ConfigurationError,
    ConnectError,
    DeepgramError,
    DeepgramTimeoutError,
    InvalidOptionError,
)

if TYPE_CHECKING:
    from ._config import ClientConfig

__all__ = [
    "GRANT_PATH",
    "AsyncTokensClient",
    "AuthClient",
    "GrantedToken",
    "TokensClient",
]

GRANT_PATH = "/v1/auth/grant"
"""The REST path of the token grant."""
_MAX_TTL = 3600


@dataclass(frozen=True, slots=True)
class GrantedToken:
    """A temporary token: pass ``access_token`` as ``DeepgramClient(access_token=...)``.
    ``expires_in`` is its lifetime in seconds (30 by default). ``repr`` masks the token."""

    access_token: str = field(repr=False)
    expires_in: float

    def __repr__(self) -> str:
        return f"GrantedToken(access_token='***', expires_in={self.expires_in!r})"

    __str__ = __repr__


def _check_ttl(ttl_seconds: float | None) -> None:
    if ttl_seconds is None:
        return
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, (int, float)):
        raise InvalidOptionError("ttl_seconds", ttl_seconds, "must be a number of seconds")
    if not 1 <= ttl_seconds <= _MAX_TTL:
        raise InvalidOptionError(
            "ttl_seconds", ttl_seconds, f"must be between 1 and {_MAX_TTL} seconds"
        )


def _grant(config: ClientConfig, ttl_seconds: float | None) -> GrantedToken:
    """The blocking grant request (see the module docstring). Whatever it raises is masked
    (``_secrets.scrub``): a server may echo the key in its ``dg-error`` header or body."""
    from ._secrets import scrub

    try:
        return _request_grant(config, ttl_seconds)
    except DeepgramError as exc:
        error = scrub(exc, config.secrets())
    raise error  # outside the except block: no __context__ that could show the key


def _request_grant(config: ClientConfig, ttl_seconds: float | None) -> GrantedToken:
    import http.client

    from ._secrets import redact
    from ._version import USER_AGENT

    _check_ttl(ttl_seconds)
    if config.api_key is None:
        raise ConfigurationError(
            "tokens.grant() needs an API key (api_key= or DEEPGRAM_API_KEY): "
            "an access token cannot grant tokens"
        )
    url = config.http_url(GRANT_PATH)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"cannot derive a REST URL from base_url {config.base_url!r}")
    key = config.api_key.reveal()
    secrets = config.secrets()
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=config.open_timeout)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=config.open_timeout)
    body = json.dumps({} if ttl_seconds is None else {"ttl_seconds": ttl_seconds}).encode()
    headers = {
        **config.headers,
        "Authorization": f"Token {key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", target, body, headers)
        response = conn.getresponse()
        data = response.read()
    except TimeoutError:
        raise DeepgramTimeoutError(f"POST {url} timed out") from None
    except (OSError, http.client.HTTPException) as exc:
        detail = redact(f"{type(exc).__name__}: {exc}", secrets)
        raise ConnectError(f"could not reach {url}: {detail}") from None
    finally:
        conn.close()
    text = redact(data.decode("utf-8", "replace"), secrets)
    status = response.status
    request_id = response.getheader("dg-request-id")
    if not 200 <= status < 300:
        dg_error = response.getheader("dg-error")
        raise ApiError(
            status,
            None if dg_error is None else redact(dg_error, secrets),
            None if request_id is None else redact(request_id, secrets),
            text[:2048],
        )
    try:
        payload: Any = json.loads(data)
        token = payload["access_token"]
        expires = payload.get("expires_in", 30)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ApiError(status, "the grant response is not the expected JSON", request_id) from None
    if not isinstance(token, str) or not token or isinstance(expires, bool):
        raise ApiError(status, "the grant response has no usable access_token", request_id)
    if not isinstance(expires, (int, float)):
        raise ApiError(status, "the grant response has no numeric expires_in", request_id)
    return GrantedToken(token, expires)


class TokensClient:
    """``client.auth.v1.tokens`` of :class:`~rxdeepgram.DeepgramClient`."""

    def __init__(self, config: ClientConfig) -> None:
        self._config = config

    def grant(self, *, ttl_seconds: float | None = None) -> GrantedToken:
        """Mint a temporary token with the client's API key (blocks until answered).
        ``ttl_seconds`` (1-3600) asks for a lifetime other than the server's default (30 s)."""
        return _grant(self._config, ttl_seconds)

    def __repr__(self) -> str:
        return "<TokensClient>"


class AsyncTokensClient:
    """``client.auth.v1.tokens`` of :class:`~rxdeepgram.AsyncDeepgramClient`."""

    def __init__(self, config: ClientConfig) -> None:
        self._config = config

    async def grant(self, *, ttl_seconds: float | None = None) -> GrantedToken:
        """As :meth:`TokensClient.grant`, without blocking the event loop."""
        _check_ttl(ttl_seconds)
        return await asyncio.to_thread(_grant, self._config, ttl_seconds)

    def __repr__(self) -> str:
        return "<AsyncTokensClient>"


T = TypeVar("T", TokensClient, AsyncTokensClient)


class _AuthV1(Generic[T]):
    """``client.auth.v1``."""

    def __init__(self, tokens: T) -> None:
        self.tokens: T = tokens


class AuthClient(Generic[T]):
    """``client.auth``: ``.v1.tokens.grant()``."""

    def __init__(self, tokens: T) -> None:
        self.v1: _AuthV1[T] = _AuthV1(tokens)

    def __repr__(self) -> str:
        return f"<AuthClient {type(self.v1.tokens).__name__}>"
