"""Temporary access tokens: ``POST /v1/auth/grant`` and the store that checks ``Bearer`` tokens.

Deepgram lets a holder of an API key mint a short-lived token (``POST /v1/auth/grant`` with
``Authorization: Token <key>``, answer ``{"access_token": "<JWT>", "expires_in": 30}``) that
browsers and other untrusted clients then use as ``Authorization: Bearer <token>`` (or the
``bearer, <token>`` subprotocols). The token only has to be valid during the WebSocket handshake.

The local server does the same:

* **Where**: on the WebSocket port itself. ``websockets`` refuses a request body (and before
  17.0 any method but ``GET``), so :class:`~._app.DeepgramServer`'s connection class holds back
  the body of a non-``GET`` request, and its method, before ``websockets`` sees it (see
  :mod:`._websockets_internals`); the request then reaches :func:`handle_rest`, which answers
  it like Deepgram's REST API. Clients and SDKs therefore use one base URL
  (``http://127.0.0.1:PORT`` = ``server.http_url``) for both REST and WebSocket, as they do
  with ``api.deepgram.com``.
* **Grant**: the request needs ``Authorization: Token <key>``: the server's ``api_key`` when it
  has one, any key otherwise (a ``Bearer`` token cannot mint tokens: 401). The JSON body is
  optional; ``{"ttl_seconds": N}`` (1 to 3600, as in Deepgram's current API) overrides the
  server's ``token_ttl`` (30 s by default). Errors use the handshake's format: ``dg-error``
  header and ``{"err_code", "err_msg", "request_id"}`` body (400 bad body, 401 bad key, 404
  unknown path, 405 wrong method).
* **Tokens** are JWT-shaped (``header.payload.signature``, HS256 with a random per-server
  secret; the payload has ``iat``, ``exp``, ``jti``, ``scopes``) so that code which decodes a
  Deepgram token keeps working. :class:`TokenStore` remembers each token's expiry on its own
  ``clock`` (monotonic by default; tests may replace it) and accepts a token only if it issued it,
  the signature holds and it has not expired.
* **Upgrades**: :class:`TokenAuth` wraps the api-key hook: with an ``api_key`` configured,
  ``Bearer`` credentials are checked against the store (401 ``dg-error: Token expired.`` or
  ``Invalid credentials.``); ``Token`` credentials go to the api-key check as before. With no
  ``api_key`` the server stays open and accepts any credential, tokens included. A custom
  ``DeepgramServer(auth=...)`` hook replaces all of this (``server.tokens.check`` is at hand).

Neither the key nor a token ever appears in a log record, a ``repr`` or an error message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ._auth import ApiKeyAuth, AuthFailure, AuthRequest, extract_credential

__all__ = [
    "DEFAULT_TOKEN_TTL",
    "GRANT_PATH",
    "MAX_TOKEN_TTL",
    "TokenAuth",
    "TokenStore",
    "handle_rest",
]

log = logging.getLogger("rxdeepgram.server")

DEFAULT_TOKEN_TTL = 30.0
"""Seconds a granted token stays valid (Deepgram's default)."""
MAX_TOKEN_TTL = 3600.0
"""Largest ``ttl_seconds`` a grant request may ask for."""
GRANT_PATH = "/v1/auth/grant"
"""Path of the grant endpoint."""
MAX_BODY = 64 * 1024
"""Largest REST request body the server reads, in bytes."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_HEADER = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


class TokenStore:
    """Issues temporary tokens and checks them.

    ``ttl`` is the default lifetime in seconds; ``clock`` (a monotonic clock by default) measures
    it and may be replaced, e.g. by a test that moves time forward. Thread-safe.
    """

    def __init__(self, ttl: float = DEFAULT_TOKEN_TTL, *, clock: Callable[[], float] | None = None):
        if not ttl > 0:
            raise ValueError("token ttl must be positive")
        self.ttl = float(ttl)
        self.clock: Callable[[], float] = clock or time.monotonic
        self._secret = secrets.token_bytes(32)
        self._expiry: dict[str, float] = {}  # jti -> expiry on self.clock
        self._lock = threading.Lock()

    def issue(self, ttl: float | None = None) -> tuple[str, float]:
        """A new token and its lifetime in seconds (``ttl`` or the store's default)."""
        lifetime = self.ttl if ttl is None else float(ttl)
        if not lifetime > 0:
            raise ValueError("token ttl must be positive")
        jti = secrets.token_hex(16)
        issued = int(time.time())
        payload = {
            "iss": "rxdeepgram-local",
            "iat": issued,
            "exp": issued + math.ceil(lifetime),
            "jti": jti,
            "scopes": ["usage:write"],
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signing_input = f"{_HEADER}.{body}"
        signature = _b64(hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest())
        now = self.clock()
        with self._lock:
            for old in [k for k, v in self._expiry.items() if v <= now]:
                del self._expiry[old]
            self._expiry[jti] = now + lifetime
        return f"{signing_input}.{signature}", lifetime

    def check(self, token: str) -> str | None:
        """``None`` if ``token`` is a valid token of this store, else why not: ``"expired"`` or
        ``"unknown"``."""
        parts = token.split(".")
        if len(parts) != 3:
            return "unknown"
        signing_input = f"{parts[0]}.{parts[1]}".encode()
        expected = _b64(hmac.new(self._secret, signing_input, hashlib.sha256).digest())
        if not hmac.compare_digest(expected.encode(), parts[2].encode("ascii", "replace")):
            return "unknown"
        try:
            jti = json.loads(_unb64(parts[1]))["jti"]
        except (ValueError, KeyError, TypeError):
            return "unknown"
        with self._lock:
            expiry = self._expiry.get(jti) if isinstance(jti, str) else None
        if expiry is None:
            return "expired"  # signed by this store, so it was issued and has been pruned
        if self.clock() >= expiry:
            return "expired"
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def __repr__(self) -> str:
        return f"<TokenStore ttl={self.ttl:g}s issued={len(self)}>"


class TokenAuth:
    """The upgrade's auth hook when tokens are in play: ``Bearer`` credentials are checked
    against ``store`` when ``keys`` requires a key; everything else goes to ``keys``."""

    def __init__(self, keys: ApiKeyAuth, store: TokenStore) -> None:
        self.keys = keys
        self.store = store

    def __call__(self, request: AuthRequest) -> AuthFailure | None:
        cred = request.credential
        if cred is None or cred.scheme != "bearer" or not self.keys.required:
            return self.keys(request)
        problem = self.store.check(cred.secret)
        if problem == "expired":
            return AuthFailure(401, "Token expired.")
        if problem is not None:
            return AuthFailure(401, "Invalid credentials.")
        return None

    def __repr__(self) -> str:
        return f"TokenAuth({self.keys!r}, {self.store!r})"


# --- the REST endpoint -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    payload: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


def _error(status: int, err_code: str, message: str) -> _Reply:
    return _Reply(status, {"err_code": err_code, "err_msg": message})


def _grant(store: TokenStore, keys: ApiKeyAuth, request: Request, body: bytes, rid: str) -> _Reply:
    cred = extract_credential(request.headers)
    if cred is None:
        return _error(
            401, "INVALID_AUTH", "Missing credentials: send 'Authorization: Token <key>'."
        )
    if cred.scheme != "token":
        return _error(401, "INVALID_AUTH", "Temporary tokens cannot grant tokens; use an API key.")
    refused = keys(AuthRequest(cred, GRANT_PATH, rid))
    if refused is not None:
        return _error(refused.status, refused.err_code, refused.message)
    ttl: float | None = None
    if body.strip():
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # deeply nested JSON is refused as invalid too
            return _error(400, "INVALID_REQUEST", "The request body is not valid JSON.")
        if not isinstance(data, dict):
            return _error(400, "INVALID_REQUEST", "The request body must be a JSON object.")
        value = data.get("ttl_seconds")
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return _error(400, "INVALID_REQUEST", "ttl_seconds must be a number.")
            if not 1 <= value <= MAX_TOKEN_TTL:
                return _error(
                    400, "INVALID_REQUEST", f"ttl_seconds must be between 1 and {MAX_TOKEN_TTL:g}."
                )
            ttl = float(value)
    token, lifetime = store.issue(ttl)
    log.info("request %s: granted a token valid for %g s", rid, lifetime)
    expires: float | int = int(lifetime) if lifetime.is_integer() else lifetime
    return _Reply(
        200, {"access_token": token, "expires_in": expires}, (("Cache-Control", "no-store"),)
    )


def handle_rest(
    store: TokenStore,
    keys: ApiKeyAuth,
    method: str,
    request: Request,
    body: bytes,
    request_id: str,
) -> Response:
    """Answer a non-``GET`` HTTP request (the WebSocket port's REST side): ``POST
    /v1/auth/grant``, else 404 / 405."""
    path = request.path.split("?", 1)[0]
    if path != GRANT_PATH:
        reply = _error(404, "NOT_FOUND", f"Unknown endpoint: {method} {path}")
    elif method != "POST":
        reply = _error(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here; use POST.")
        reply = _Reply(reply.status, reply.payload, (("Allow", "POST"),))
    elif len(body) > MAX_BODY:
        reply = _error(413, "PAYLOAD_TOO_LARGE", "The request body is too large.")
    else:
        reply = _grant(store, keys, request, body, request_id)
    if reply.status >= 400:
        log.info("request %s: %s %s -> %d", request_id, method, path[:200], reply.status)
        reply.payload["request_id"] = request_id
    data = json.dumps(reply.payload).encode()
    headers = Headers(
        [
            ("Date", formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *reply.headers,
        ]
    )
    if reply.status >= 400:
        headers["dg-error"] = str(reply.payload["err_msg"])
    return Response(reply.status, http.HTTPStatus(reply.status).phrase, headers, data)
