"""Client configuration: credentials, base URLs, timeouts. Secrets never show in a repr or str."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._secrets import check_base_url, check_credential, check_headers
from ._session import DEFAULT_SEND_QUEUE_BYTES
from .errors import CallbackError, ConfigurationError

__all__ = [
    "DEFAULT_AGENT_URL",
    "DEFAULT_BASE_URL",
    "DEFAULT_SEND_QUEUE_BYTES",
    "ClientConfig",
    "Secret",
]

DEFAULT_BASE_URL = "wss://api.deepgram.com"
DEFAULT_AGENT_URL = "wss://agent.deepgram.com"

log = logging.getLogger("rxdeepgram")


class Secret:
    """A credential that never shows itself: ``repr``/``str`` print ``'***'``.

    ``reveal()`` returns the value, for the one place that needs it (the Authorization header).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:  # pragma: no cover - pickling a secret is refused
        raise TypeError("a Secret cannot be pickled")


def _http_from_ws(url: str) -> str:
    if url.startswith("wss://"):
        return "https://" + url[len("wss://") :]
    if url.startswith("ws://"):
        return "http://" + url[len("ws://") :]
    return url


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client needs to open connections. Built by ``DeepgramClient``."""

    api_key: Secret | None = None
    access_token: Secret | None = None
    base_url: str | None = None
    open_timeout: float = 10.0
    close_timeout: float = 10.0
    headers: Mapping[str, str] = field(default_factory=dict)
    on_callback_error: Callable[[CallbackError], None] | None = None
    ping_interval: float | None = 20.0
    """Seconds between WebSocket pings (``None``: no pings); a peer that does not answer within
    ``ping_timeout`` is dropped with 1011 (a stalled connection is detected, not waited on)."""
    ping_timeout: float | None = 20.0
    transport: str | None = None
    """``"websockets"``, ``"picows"`` or ``None`` (picows when it is installed, else
    websockets). ``"picows"`` without picows installed raises ``ConfigurationError``."""
    send_queue_bytes: int = 16 * 2**20
    """The most audio, in bytes, queued on a connection and not yet written to its socket (a
    slow or stalled peer): past it ``input.on_next`` raises ``BufferOverflowError`` at the
    caller and the audio is not taken (README "Reliability")."""

    @classmethod
    def build(
        cls,
        *,
        api_key: str | None,
        access_token: str | None,
        base_url: str | None,
        open_timeout: float,
        close_timeout: float,
        headers: Mapping[str, str] | None,
        on_callback_error: Callable[[CallbackError], None] | None,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        transport: str | None = None,
        send_queue_bytes: int = DEFAULT_SEND_QUEUE_BYTES,
        environ: Mapping[str, str] = os.environ,
    ) -> ClientConfig:
        if api_key is None and access_token is None:
            api_key = environ.get("DEEPGRAM_API_KEY") or None
        if base_url is None:
            base_url = environ.get("DEEPGRAM_BASE_URL") or None
        if base_url is not None:
            if not isinstance(base_url, str):
                raise ConfigurationError(
                    f"base_url must be a string, got {type(base_url).__name__}"
                )
            base_url = base_url.strip().rstrip("/")
            check_base_url(base_url)
            parts = urlsplit(base_url)
            if parts.scheme not in ("ws", "wss", "http", "https") or not parts.netloc:
                raise ConfigurationError(
                    f"base_url must look like wss://host[:port] or ws://host:port, got {base_url!r}"
                )
            if parts.scheme in ("http", "https"):
                base_url = ("wss" if parts.scheme == "https" else "ws") + base_url[
                    len(parts.scheme) :
                ]
        from ._checks import check_count, check_seconds

        open_timeout = check_seconds("open_timeout", open_timeout)
        close_timeout = check_seconds("close_timeout", close_timeout)
        if ping_interval is not None:
            ping_interval = check_seconds("ping_interval", ping_interval)
        if ping_timeout is not None:
            ping_timeout = check_seconds("ping_timeout", ping_timeout)
        send_queue_bytes = check_count("send_queue_bytes", send_queue_bytes)
        if transport not in (None, "websockets", "picows"):
            raise ConfigurationError(
                f"transport must be 'websockets', 'picows' or None (automatic), got {transport!r}"
            )
        if transport == "picows":
            import importlib.util

            if importlib.util.find_spec("picows") is None:
                raise ConfigurationError(
                    "transport='picows' needs picows: pip install 'rxdeepgram[fast]'"
                )
        # Credentials and headers go into the request as given: refuse what would break out of
        # a header line (see _secrets.py), before anything is dialled.
        if api_key is not None:
            api_key = check_credential("api_key", api_key)
        if access_token is not None:
            access_token = check_credential("access_token", access_token)
        headers = check_headers(headers, "headers")
        if any(k.lower() == "authorization" for k in headers):
            raise ConfigurationError(
                "pass credentials as api_key= or access_token=, not as an Authorization header"
            )
        return cls(
            api_key=Secret(api_key) if api_key else None,
            access_token=Secret(access_token) if access_token else None,
            base_url=base_url,
            open_timeout=float(open_timeout),
            close_timeout=float(close_timeout),
            headers=headers,
            on_callback_error=on_callback_error,
            ping_interval=None if ping_interval is None else float(ping_interval),
            ping_timeout=None if ping_timeout is None else float(ping_timeout),
            transport=transport,
            send_queue_bytes=send_queue_bytes,
        )

    def url(self, path: str, *, agent: bool = False) -> str:
        """The WebSocket URL of ``path`` (``/v1/listen``...), without a query."""
        base = self.base_url or (DEFAULT_AGENT_URL if agent else DEFAULT_BASE_URL)
        return base + path

    def http_url(self, path: str) -> str:
        """The HTTP(S) URL of a REST ``path`` on the API host."""
        return _http_from_ws(self.base_url or DEFAULT_BASE_URL) + path

    def authorization(self, override: str | None = None) -> str | None:
        """The ``Authorization`` header value: ``Bearer <token>`` wins over ``Token <key>``."""
        if override is not None:
            return override
        if self.access_token is not None:
            return "Bearer " + self.access_token.reveal()
        if self.api_key is not None:
            return "Token " + self.api_key.reveal()
        return None

    def request_headers(self, authorization: str | None = None) -> dict[str, str]:
        headers = dict(self.headers)
        auth = self.authorization(authorization)
        if auth is not None:
            headers["Authorization"] = auth
        return headers

    def check_credentials(self, url: str) -> None:
        """Refuse to dial Deepgram's own hosts with no credentials at all (a sure 401)."""
        if self.api_key is None and self.access_token is None and is_deepgram_url(url):
            raise ConfigurationError(
                "no credentials for Deepgram: pass api_key= or access_token=, or set "
                "DEEPGRAM_API_KEY; or point base_url= (or DEEPGRAM_BASE_URL) at another server, "
                "e.g. a local one: python -m rxdeepgram.server"
            )

    def secrets(self) -> tuple[str, ...]:
        return tuple(s.reveal() for s in (self.api_key, self.access_token) if s is not None)

    def __repr__(self) -> str:
        return (
            f"ClientConfig(api_key={'***' if self.api_key else None}, "
            f"access_token={'***' if self.access_token else None}, base_url={self.base_url!r}, "
            f"open_timeout={self.open_timeout}, close_timeout={self.close_timeout})"
        )


def is_deepgram_url(url: str) -> bool:
    """Whether ``url`` (a base URL or a full one) is one of Deepgram's own hosts: the only ones
    that need credentials. Any other server (the local one, a proxy of yours) is dialled with
    whatever credentials there are, or none. The library and ``rxdeepgram.endpoint`` (the
    command line, the examples) share this rule."""
    host = urlsplit(url).hostname or ""
    return host == "deepgram.com" or host.endswith(".deepgram.com")
