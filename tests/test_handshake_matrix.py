"""The same refused handshake gives the same error on both clients and both transports.

A raw server on loopback (``misbehaving.py``) answers the upgrade with each failure; every case
runs with the sync and async clients over websockets and picows, and asserts one expected
``(type, status, dg_error, request_id, body, retry_after)`` and message, so the four agree with
each other by construction.
"""

from __future__ import annotations

from typing import Any

import pytest
from misbehaving import Answer, MisbehavingServer, http

from rxdeepgram import (
    AuthenticationError,
    BadRequestError,
    ConnectError,
    HandshakeError,
    RateLimitError,
    ServiceUnavailableError,
)
from rxdeepgram._drivers._common import ERROR_BODY_LIMIT

KEY = "matrix-key-0123456789abcdef"
BIG = b"x" * (3 * 2**20)

CASES: dict[str, tuple[Answer, tuple[Any, ...]]] = {
    "401": (
        Answer(
            http(
                401,
                "Unauthorized",
                {
                    "dg-error": "Invalid credentials.",
                    "dg-request-id": "r-401",
                    "Content-Type": "application/json",
                },
                b'{"err_code":"INVALID_AUTH"}',
            )
        ),
        (
            AuthenticationError,
            401,
            "Invalid credentials.",
            "r-401",
            '{"err_code":"INVALID_AUTH"}',
            None,
        ),
    ),
    "401-body-never-ends": (  # picows reports it at the head, websockets at the open timeout
        Answer(
            b"HTTP/1.1 401 Unauthorized\r\ndg-error: nope\r\nContent-Length: 100\r\n\r\n0123456789",
            "hold",
        ),
        (AuthenticationError, 401, "nope", None, "0123456789", None),
    ),
    "400": (
        Answer(http(400, "Bad Request", {"dg-error": "bad model"}, b"no such model")),
        (BadRequestError, 400, "bad model", None, "no such model", None),
    ),
    "429": (
        Answer(http(429, "Too Many Requests", {"Retry-After": "3"}, b"slow down")),
        (RateLimitError, 429, None, None, "slow down", 3.0),
    ),
    "500-small": (
        Answer(http(500, "Internal Server Error", {}, b"oops")),
        (ServiceUnavailableError, 500, None, None, "oops", None),
    ),
    "500-large": (
        Answer(http(500, "Internal Server Error", {"dg-request-id": "r-big"}, BIG)),
        (ServiceUnavailableError, 500, None, "r-big", "x" * ERROR_BODY_LIMIT, None),
    ),
    "500-large-no-length": (
        Answer(b"HTTP/1.1 500 Internal Server Error\r\n\r\n" + BIG),
        (ServiceUnavailableError, 500, None, None, "x" * ERROR_BODY_LIMIT, None),
    ),
    "500-chunked": (
        Answer(
            b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        ),
        (ServiceUnavailableError, 500, None, None, "hello world", None),
    ),
    "503": (
        Answer(http(503, "Service Unavailable", {"Retry-After": "1"}, b"down")),
        (ServiceUnavailableError, 503, None, None, "down", 1.0),
    ),
    "redirect": (
        Answer(http(302, "Found", {"Location": "ws://127.0.0.1:1/"})),
        (HandshakeError, 302, None, None, "", None),
    ),
    "200-garbage": (
        Answer(http(200, "OK", {"Content-Type": "text/html"}, b"<html>not a websocket</html>")),
        (HandshakeError, 200, None, None, "<html>not a websocket</html>", None),
    ),
    "not-http": (
        Answer(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"),
        (ConnectError, None, None, None, None, None),
    ),
    "bad-status-line": (
        Answer(b"HTTP/1.1 abc nope\r\n\r\n"),
        (ConnectError, None, None, None, None, None),
    ),
    "reset-mid-handshake": (
        Answer(b"HTTP/1.1 101 Switch", "reset"),
        (ConnectError, None, None, None, None, None),
    ),
    "reset-before-answer": (
        Answer(b"", "reset"),
        (ConnectError, None, None, None, None, None),
    ),
    "closed-before-answer": (
        Answer(b""),
        (ConnectError, None, None, None, None, None),
    ),
}

MESSAGES = {
    "not-http": "failed: the answer is not an HTTP response",
    "bad-status-line": "failed: the answer is not an HTTP response",
    "reset-mid-handshake": "failed: the connection closed before an answer",
    "reset-before-answer": "failed: the connection closed before an answer",
    "closed-before-answer": "failed: the connection closed before an answer",
}


def facts(error: BaseException) -> tuple[Any, ...]:
    return (
        type(error),
        getattr(error, "status", None),
        getattr(error, "dg_error", None),
        getattr(error, "request_id", None),
        getattr(error, "body", None),
        getattr(error, "retry_after", None),
    )


@pytest.mark.parametrize("case", list(CASES))
def test_a_refused_handshake_is_the_same_error_everywhere(h: Any, case: str) -> None:
    answer, expected = CASES[case]
    with MisbehavingServer(lambda head: answer) as peer:
        client = h.client(api_key=KEY, base_url=peer.url, open_timeout=2)
        with pytest.raises(Exception) as caught:
            h.open(client, "listen.v1", model="nova-3")
        assert len(peer.requests) == 1  # never retried, never followed
    error = caught.value
    assert facts(error) == expected
    url = f"{peer.url}/v1/listen?model=nova-3"
    if case in MESSAGES:
        assert str(error) == f"WebSocket handshake with {url} {MESSAGES[case]}"
    else:
        assert str(error).startswith(f"handshake rejected with HTTP {expected[1]}: ")
        assert len(str(error)) < 300  # a large body is not printed whole
