"""Every error rxdeepgram raises or puts on an Observable.

One tree, rooted at :class:`DeepgramError` (``tests/test_errors_tree.py`` derives this drawing
from the classes and checks it)::

    DeepgramError
    ├── ConfigurationError              client misconfigured (no credentials, bad base URL)
    ├── InvalidOptionError              a connect option failed validation (also a ValueError)
    ├── InvalidMessageError             a message struct failed validation (also a ValueError)
    ├── InvalidInputError               wrong type sent on a connection (also a TypeError)
    ├── ConnectError                    the connection could not be opened (also a ConnectionError)
    │   └── HandshakeError              the server refused the WebSocket upgrade (HTTP status)
    │       ├── BadRequestError         400: an option the server rejected
    │       ├── AuthenticationError     401 / 403: bad or missing credentials
    │       ├── RateLimitError          429: too many concurrent connections
    │       └── ServiceUnavailableError 5xx
    ├── BufferOverflowError             audio refused: the send queue or the replay buffer is full
    ├── ConnectionClosed                the socket closed (code, reason, dg_code)
    │   ├── ConnectionClosedOK          closed with 1000 (or 1005 where the channel does so)
    │   └── ConnectionClosedError       closed with an error code and reason (e.g. 1011 NET-0001)
    ├── ServerError                     a fatal in-band ``Error`` message (Listen V2, Agent V1)
    ├── ApiError                        a REST call (token grant) failed with an HTTP error status
    ├── DeepgramTimeoutError            opening or closing took too long (also a TimeoutError)
    └── CallbackError                   a user callback raised; reported, never fatal

``except ConnectError`` catches every failure to open a connection: the socket (refused, DNS,
TLS, proxy) and the handshake (an HTTP answer other than ``101``). Catch
:class:`HandshakeError` or one of its subclasses to tell a refusal (a bad key, a bad option,
a rate limit) from a network failure.

Errors carry data (status, headers, code, reason) as attributes and read well when printed.
None of them ever contains an API key, an access token or a proxy password: the handshake and API
errors keep only the response's status, ``dg-error``, ``dg-request-id``, ``Retry-After`` and the
first 2 KiB of its body, and every text that came from outside (those fields, a close reason, an
OS error, a proxy's answer) is masked by value (the secret as given, percent-encoded and base64);
a chained exception (``__cause__``, ``__context__``) that would show a secret is cut off.

Sending after the connection closed raises :class:`ConnectionClosedOK` (it closed normally, or is
closing) or :class:`ConnectionClosedError` (with the close code and reason it ended with), not
:class:`InvalidInputError`: the item is fine, the connection's state is not, and the subclass
tells the caller how the connection ended.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "BufferOverflowError",
    "CallbackError",
    "ConfigurationError",
    "ConnectError",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "DeepgramError",
    "DeepgramTimeoutError",
    "HandshakeError",
    "InvalidInputError",
    "InvalidMessageError",
    "InvalidOptionError",
    "RateLimitError",
    "ServerError",
    "ServiceUnavailableError",
]


class DeepgramError(Exception):
    """Base class of every rxdeepgram error."""


class ConfigurationError(DeepgramError):
    """The client is misconfigured: no credentials, an unusable base URL, a bad timeout."""


class InvalidOptionError(DeepgramError, ValueError):
    """A connect option failed validation before anything reached the network.

    ``option`` names the option, ``value`` is what was given and ``allowed`` (when the option
    has a closed set of values) lists what would have been accepted.
    """

    def __init__(
        self,
        option: str,
        value: object,
        problem: str,
        allowed: Sequence[object] | None = None,
    ) -> None:
        self.option = option
        self.value = value
        self.problem = problem
        self.allowed = tuple(allowed) if allowed is not None else None
        message = f"invalid option {option}={value!r}: {problem}"
        if self.allowed is not None:
            shown = ", ".join(repr(a) for a in self.allowed[:40])
            more = f", ... ({len(self.allowed)} in all)" if len(self.allowed) > 40 else ""
            message += f" (allowed: {shown}{more})"
        super().__init__(message)


class InvalidMessageError(DeepgramError, ValueError):
    """A message struct failed validation (e.g. agent ``Settings``) before it was sent.

    ``field`` is the dotted path of the offending field, e.g. ``agent.think.provider.model``.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"invalid message field {field}: {problem}")


class InvalidInputError(DeepgramError, TypeError):
    """Something that is neither media (``bytes``) nor one of the channel's client messages was
    sent on a connection. Raised at the caller; nothing reaches the wire."""


class ConnectError(DeepgramError, ConnectionError):
    """The socket could not be opened: connection refused, unknown host, TLS failure."""


class HandshakeError(ConnectError):
    """The server answered the WebSocket upgrade with an HTTP error instead of ``101``.

    A :class:`ConnectError` (the connection could not be opened), so ``except ConnectError``
    catches a refused handshake as well as a refused socket.

    ``status`` is the HTTP status, ``dg_error`` the ``dg-error`` header (Deepgram's explanation),
    ``request_id`` the ``dg-request-id`` header and ``body`` the response body as text: the first
    2 KiB of what came with the answer (chunked bodies decoded), the same on both transports.
    ``retry_after`` is the ``Retry-After`` header in seconds (429 / 503), when given. Any
    credential these echo is masked.
    """

    def __init__(
        self,
        status: int,
        dg_error: str | None = None,
        request_id: str | None = None,
        body: str = "",
        retry_after: str | float | None = None,
    ) -> None:
        self.status = status
        self.dg_error = dg_error
        self.request_id = request_id
        self.body = body
        self.retry_after = _seconds(retry_after)
        detail = dg_error or body.strip()[:200] or "no detail given"
        rid = f" [request {request_id}]" if request_id else ""
        super().__init__(f"handshake rejected with HTTP {status}: {detail}{rid}")

    @staticmethod
    def for_status(
        status: int,
        dg_error: str | None = None,
        request_id: str | None = None,
        body: str = "",
        retry_after: str | float | None = None,
    ) -> HandshakeError:
        """Build the most specific subclass for ``status``."""
        cls: type[HandshakeError]
        if status == 400:
            cls = BadRequestError
        elif status in (401, 403):
            cls = AuthenticationError
        elif status == 429:
            cls = RateLimitError
        elif status >= 500:
            cls = ServiceUnavailableError
        else:
            cls = HandshakeError
        return cls(status, dg_error, request_id, body, retry_after)


def _seconds(value: str | float | None) -> float | None:
    """``Retry-After`` as seconds: a number (an HTTP date is not honoured: ``None``)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class BadRequestError(HandshakeError):
    """HTTP 400: the server rejected an option or the request."""


class AuthenticationError(HandshakeError):
    """HTTP 401 or 403: the API key or access token was refused."""


class RateLimitError(HandshakeError):
    """HTTP 429: too many concurrent connections for the project."""


class ServiceUnavailableError(HandshakeError):
    """HTTP 5xx: the service could not take the connection."""


class BufferOverflowError(DeepgramError):
    """Audio was refused at the caller of ``input.on_next`` and not taken: the connection's send
    queue already held ``send_queue_bytes`` of audio not yet written (a slow or stalled peer;
    send it again later), or a resumable connection (``reconnect=...``) was reconnecting and its
    replay buffer already held ``Reconnect.max_buffer_s`` of audio, with
    ``on_overflow="error"``."""


class ConnectionClosed(DeepgramError):
    """The connection is closed. ``code`` and ``reason`` are the close frame's, when known."""

    def __init__(self, code: int | None, reason: str = "", message: str | None = None) -> None:
        self.code = code
        self.reason = reason
        if message is None:
            shown = f"code {code}" if code is not None else "no close code"
            message = f"connection closed ({shown}{': ' + reason if reason else ''})"
        super().__init__(message)


class ConnectionClosedOK(ConnectionClosed):
    """The connection closed normally; raised when something is sent after that."""


class ConnectionClosedError(ConnectionClosed):
    """The connection closed with an error: a close code other than 1000 (Deepgram puts its
    own code, e.g. ``NET-0001``, in ``reason``), or no close frame at all."""

    @property
    def dg_code(self) -> str | None:
        """The Deepgram code at the start of ``reason`` (``NET-0001``, ``DATA-0000``...), if any."""
        head = self.reason.split(maxsplit=1)[0].rstrip(":,.") if self.reason else ""
        if len(head) > 5 and "-" in head and head.split("-")[-1].isdigit():
            return head
        return None


class ServerError(DeepgramError):
    """The server reported a fatal error in-band (Listen V2 / Agent V1 ``Error`` message).

    ``code`` and ``description`` are the message's; ``message`` is the decoded struct.
    """

    def __init__(self, code: str, description: str, message: object = None) -> None:
        self.code = code
        self.description = description
        self.message = message
        super().__init__(f"server error {code}: {description}")


class ApiError(DeepgramError):
    """A REST request (``client.auth.v1.tokens.grant()``) was answered with an HTTP error.

    ``status`` is the HTTP status (401 for a bad key, 400 for a bad request...), ``dg_error``
    the ``dg-error`` header, ``request_id`` the ``dg-request-id`` header and ``body`` the
    response body as text. Connection failures are :class:`ConnectError`, timeouts
    :class:`DeepgramTimeoutError`.
    """

    def __init__(
        self,
        status: int,
        dg_error: str | None = None,
        request_id: str | None = None,
        body: str = "",
    ) -> None:
        self.status = status
        self.dg_error = dg_error
        self.request_id = request_id
        self.body = body
        detail = dg_error or body.strip()[:200] or "no detail given"
        rid = f" [request {request_id}]" if request_id else ""
        super().__init__(f"API request failed with HTTP {status}: {detail}{rid}")


class DeepgramTimeoutError(DeepgramError, TimeoutError):
    """Opening the connection, or waiting for its graceful close, took too long."""


class CallbackError(DeepgramError):
    """A user callback (an Observer's ``on_next``, an ``on(...)`` handler) raised.

    It is logged and reported on the connection's error hook; the socket and the other
    subscribers carry on. ``__cause__`` is the original exception.
    """

    def __init__(self, where: str, error: BaseException) -> None:
        self.where = where
        self.error = error
        super().__init__(f"a callback raised in {where}: {type(error).__name__}: {error}")
