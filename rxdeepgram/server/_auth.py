"""Authentication of the WebSocket upgrade, as Deepgram does it.

A client presents one credential, in the ``Authorization`` header (``Token <api key>`` or
``Bearer <jwt>``, scheme case-insensitive) or, for browsers, as two offered subprotocols
(``token, <api key>`` or ``bearer, <jwt>``). :func:`extract_credential` reads it; the server
then asks its auth hook, a callable taking an :class:`AuthRequest` and returning ``None`` to
accept or an :class:`AuthFailure` (HTTP status and ``dg-error`` message) to refuse.

:class:`ApiKeyAuth` is the default hook: with no key configured it accepts anything (including
no credential); with one, only ``Token <that key>`` passes. Other schemes (temporary tokens) are
for a richer hook to accept.

Secrets never appear in a ``repr``, a log record or an error message.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from websockets.datastructures import Headers

__all__ = [
    "ApiKeyAuth",
    "AuthFailure",
    "AuthHook",
    "AuthRequest",
    "Credential",
    "extract_credential",
    "offered_auth_subprotocol",
]

Scheme = Literal["token", "bearer"]


@dataclass(frozen=True, slots=True)
class Credential:
    """A credential from the upgrade request. ``secret`` is never shown in ``repr``."""

    scheme: Scheme
    secret: str = field(repr=False)
    via: Literal["header", "subprotocol"] = "header"

    def __repr__(self) -> str:
        return f"Credential(scheme={self.scheme!r}, secret=<masked>, via={self.via!r})"


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """What an auth hook sees: the credential (``None`` when the client sent none or one in an
    unknown scheme), the request path (``/v1/listen``...) and the request id."""

    credential: Credential | None
    path: str
    request_id: str


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """A refusal: the handshake is answered with ``status`` and ``dg-error: message``."""

    status: int = 401
    message: str = "Invalid credentials."
    err_code: str = "INVALID_AUTH"


AuthHook = Callable[[AuthRequest], AuthFailure | None]
"""Decides whether an upgrade request may proceed: ``None`` accepts."""


class ApiKeyAuth:
    """The default hook: accept ``Token <api_key>``; with ``api_key=None`` accept everything."""

    def __init__(self, api_key: str | None = None) -> None:
        self._key = api_key

    @property
    def required(self) -> bool:
        """Whether a key is configured."""
        return self._key is not None

    def __call__(self, request: AuthRequest) -> AuthFailure | None:
        if self._key is None:
            return None
        cred = request.credential
        if cred is None:
            return AuthFailure(401, "Missing credentials: send 'Authorization: Token <key>'.")
        if cred.scheme != "token":
            return AuthFailure(401, "Invalid credentials.")
        if not hmac.compare_digest(cred.secret.encode(), self._key.encode()):
            return AuthFailure(401, "Invalid credentials.")
        return None

    def __repr__(self) -> str:
        return f"ApiKeyAuth(api_key={'<masked>' if self._key is not None else None})"


_SCHEMES: dict[str, Scheme] = {"token": "token", "bearer": "bearer"}


def _subprotocols(headers: Headers) -> list[str]:
    items: list[str] = []
    for value in headers.get_all("Sec-WebSocket-Protocol"):
        items.extend(part.strip() for part in value.split(",") if part.strip())
    return items


def extract_credential(headers: Headers) -> Credential | None:
    """The credential of an upgrade request: ``Authorization`` first, then subprotocols."""
    auth = headers.get("Authorization")
    if auth is not None:
        scheme, _, secret = auth.strip().partition(" ")
        kind = _SCHEMES.get(scheme.lower())
        secret = secret.strip()
        if kind is not None and secret:
            return Credential(kind, secret, "header")
        return None
    offered = _subprotocols(headers)
    if len(offered) >= 2:
        kind = _SCHEMES.get(offered[0].lower())
        if kind is not None:
            return Credential(kind, offered[1], "subprotocol")
    return None


def offered_auth_subprotocol(offered: list[str]) -> str | None:
    """The scheme word to select when a client authenticates with subprotocols (Deepgram
    answers with ``token`` / ``bearer``, never the secret)."""
    if len(offered) >= 2 and offered[0].lower() in _SCHEMES:
        return offered[0]
    return None
