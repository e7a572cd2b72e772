"""Temporary tokens end to end: ``POST /v1/auth/grant`` on the local server, the clients'
``auth.v1.tokens.grant()``, ``Bearer`` upgrades, expiry, and secrets kept out of logs."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from reactivex import operators as ops

from rxdeepgram import (
    ApiError,
    AsyncDeepgramClient,
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    DeepgramClient,
    InvalidOptionError,
)
from rxdeepgram._auth import GrantedToken
from rxdeepgram.messages import agent_v1
from rxdeepgram.server import DeepgramServer
from rxdeepgram.server._tokens import TokenStore

KEY = "dg-token-test-key-31337"
LISTEN: dict[str, Any] = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}


class Clock:
    """A clock the test moves by hand (the token store's ``clock``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(api_key=KEY) as srv:
        yield srv


def payload(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def connect_listen(url: str, token: str) -> str | None:
    """Open and close a Listen connection with a Bearer token; returns its request id."""
    client = DeepgramClient(access_token=token, base_url=url)
    with client.listen.v1.connect(**LISTEN) as conn:
        return conn.request_id


def post(srv: DeepgramServer, path: str, body: bytes = b"", **headers: str) -> tuple[int, Any, Any]:
    """A raw HTTP request to the server's REST side; returns status, headers and JSON body."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        method = headers.pop("method", "POST")
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    return response.status, response.headers, json.loads(data) if data else None


# --- grant, then connect with the token ---------------------------------------------------------


def test_grant_then_connect_with_bearer(server: DeepgramServer) -> None:
    granted = DeepgramClient(api_key=KEY, base_url=server.url).auth.v1.tokens.grant()
    assert isinstance(granted, GrantedToken)
    assert granted.expires_in == 30
    claims = payload(granted.access_token)
    assert claims["exp"] - claims["iat"] == 30
    assert claims["jti"]
    assert connect_listen(server.url, granted.access_token)
    # The agent takes the token too.
    client = DeepgramClient(access_token=granted.access_token, base_url=server.url)
    with client.agent.v1.connect() as conn:
        first = conn.messages.pipe(ops.first()).run()
    assert isinstance(first, agent_v1.Welcome)
    assert first.request_id == conn.request_id


def test_ttl_seconds_sets_the_lifetime(server: DeepgramServer) -> None:
    tokens = DeepgramClient(api_key=KEY, base_url=server.url).auth.v1.tokens
    granted = tokens.grant(ttl_seconds=120)
    assert granted.expires_in == 120
    claims = payload(granted.access_token)
    assert claims["exp"] - claims["iat"] == 120


def test_an_expired_token_is_refused_with_a_typed_401(server: DeepgramServer) -> None:
    clock = Clock()
    server.tokens.clock = clock
    granted = DeepgramClient(api_key=KEY, base_url=server.url).auth.v1.tokens.grant()
    clock.now += 29.0
    assert connect_listen(server.url, granted.access_token)  # still valid
    clock.now += 1.5
    with pytest.raises(AuthenticationError) as info:
        connect_listen(server.url, granted.access_token)
    assert info.value.status == 401
    assert info.value.dg_error == "Token expired."
    assert info.value.request_id


def test_the_server_default_ttl_is_configurable() -> None:
    with DeepgramServer(api_key=KEY, token_ttl=5) as srv:
        clock = Clock()
        srv.tokens.clock = clock
        granted = DeepgramClient(api_key=KEY, base_url=srv.url).auth.v1.tokens.grant()
        assert granted.expires_in == 5
        clock.now += 5.0
        with pytest.raises(AuthenticationError):
            connect_listen(srv.url, granted.access_token)


def test_tokens_not_issued_by_the_server_are_refused(server: DeepgramServer) -> None:
    with DeepgramServer(api_key=KEY) as other:
        foreign = DeepgramClient(api_key=KEY, base_url=other.url).auth.v1.tokens.grant()
    own = DeepgramClient(api_key=KEY, base_url=server.url).auth.v1.tokens.grant()
    head, body, signature = own.access_token.split(".")
    tampered = f"{head}.{body}.{signature[:-2]}AA"
    for token in (foreign.access_token, "a.b.c", "not-a-jwt", tampered, KEY):
        with pytest.raises(AuthenticationError) as info:
            connect_listen(server.url, token)
        assert info.value.status == 401
        assert info.value.dg_error == "Invalid credentials."


def test_async_grant_and_bearer_connect(server: DeepgramServer) -> None:
    async def go() -> tuple[GrantedToken, str | None]:
        granted = await AsyncDeepgramClient(api_key=KEY, base_url=server.url).auth.v1.tokens.grant(
            ttl_seconds=60
        )
        client = AsyncDeepgramClient(access_token=granted.access_token, base_url=server.url)
        async with client.listen.v1.connect(**LISTEN) as conn:
            return granted, conn.request_id

    granted, request_id = asyncio.run(go())
    assert granted.expires_in == 60
    assert request_id


def test_async_grant_errors_are_typed(server: DeepgramServer) -> None:
    async def go() -> None:
        await AsyncDeepgramClient(api_key="wrong", base_url=server.url).auth.v1.tokens.grant()

    with pytest.raises(ApiError) as info:
        asyncio.run(go())
    assert info.value.status == 401


# --- grant failures ------------------------------------------------------------------------------


def test_a_wrong_key_gets_a_typed_api_error(server: DeepgramServer) -> None:
    with pytest.raises(ApiError) as info:
        DeepgramClient(api_key="wrong", base_url=server.url).auth.v1.tokens.grant()
    err = info.value
    assert err.status == 401
    assert err.dg_error == "Invalid credentials."
    assert err.request_id
    assert json.loads(err.body)["request_id"] == err.request_id
    assert "wrong" not in str(err) and "wrong" not in err.body


def test_grant_needs_an_api_key_before_any_io() -> None:
    client = DeepgramClient(access_token="tok", base_url="ws://127.0.0.1:9")
    with pytest.raises(ConfigurationError, match="API key"):
        client.auth.v1.tokens.grant()


@pytest.mark.parametrize("ttl", [0, 3601, -5, True, "30"])
def test_ttl_is_checked_before_any_io(ttl: Any) -> None:
    client = DeepgramClient(api_key=KEY, base_url="ws://127.0.0.1:9")
    with pytest.raises(InvalidOptionError) as info:
        client.auth.v1.tokens.grant(ttl_seconds=ttl)
    assert info.value.option == "ttl_seconds"


def test_an_unreachable_host_is_a_connect_error() -> None:
    with DeepgramServer() as srv:
        url = srv.url
    with pytest.raises(ConnectError):
        DeepgramClient(api_key=KEY, base_url=url).auth.v1.tokens.grant()


def test_an_open_server_grants_to_any_key() -> None:
    with DeepgramServer() as srv:
        granted = DeepgramClient(api_key="anything", base_url=srv.http_url).auth.v1.tokens.grant()
        assert granted.expires_in == 30
        assert srv.http_url == "http" + srv.url[2:]


def test_the_rest_side_answers_like_deepgram(server: DeepgramServer) -> None:
    auth = {"Authorization": f"Token {KEY}", "Content-Type": "application/json"}
    status, headers, body = post(server, "/v1/auth/grant", b'{"ttl_seconds": 45}', **auth)
    assert status == 200
    assert body["expires_in"] == 45 and body["access_token"].count(".") == 2
    assert headers["dg-request-id"] and headers["Cache-Control"] == "no-store"
    status, headers, body = post(server, "/v1/auth/grant", b"", **auth)  # no body: defaults
    assert (status, body["expires_in"]) == (200, 30)
    for raw, problem in ((b"{nope", "JSON"), (b"[1]", "object"), (b'{"ttl_seconds": 9999}', "ttl")):
        status, headers, body = post(server, "/v1/auth/grant", raw, **auth)
        assert status == 400
        assert problem in headers["dg-error"]
        assert body["request_id"] == headers["dg-request-id"]
    status, headers, _ = post(server, "/v1/auth/grant", b"{}", Authorization="Bearer x.y.z")
    assert status == 401 and "API key" in headers["dg-error"]
    status, _, _ = post(server, "/v1/auth/grant", b"{}")
    assert status == 401
    status, headers, _ = post(server, "/v1/auth/grant", b"{}", method="PUT", **auth)
    assert (status, headers["Allow"]) == (405, "POST")
    status, headers, _ = post(server, "/v1/projects", b"{}", **auth)
    assert status == 404 and "/v1/projects" in headers["dg-error"]


def test_token_store_checks() -> None:
    clock = Clock()
    store = TokenStore(10, clock=clock)
    token, ttl = store.issue()
    assert ttl == 10 and store.check(token) is None
    assert store.check(token + "x") == "unknown"
    assert TokenStore().check(token) == "unknown"
    clock.now += 10
    assert store.check(token) == "expired"
    store.issue(1)  # issuing prunes expired tokens; the old one stays "expired"
    assert store.check(token) == "expired"
    assert len(store) == 1
    assert "ttl=10s" in repr(store) and token not in repr(store)
    with pytest.raises(ValueError):
        TokenStore(0)


# --- secrets stay secret -----------------------------------------------------------------------


def test_neither_key_nor_token_reaches_logs_or_reprs(
    server: DeepgramServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = DeepgramClient(api_key=KEY, base_url=server.url)
    granted = client.auth.v1.tokens.grant()
    token = granted.access_token
    assert connect_listen(server.url, token)
    with pytest.raises(AuthenticationError) as info:
        connect_listen(server.url, token + "x")
    with pytest.raises(ApiError) as api:
        DeepgramClient(api_key=KEY + "-bad", base_url=server.url).auth.v1.tokens.grant()
    bearer = DeepgramClient(access_token=token, base_url=server.url)
    shown = [
        repr(granted),
        str(granted),
        repr(client),
        repr(bearer),
        repr(bearer.config),
        repr(server),
        repr(server.tokens),
        str(info.value),
        str(api.value),
        api.value.body,
    ]
    records = [r.getMessage() for r in caplog.records]
    assert any("granted a token" in m for m in records)
    for text in shown + records:
        assert KEY not in text
        assert token not in text
    assert repr(granted) == "GrantedToken(access_token='***', expires_in=30)"


# --- Deepgram's own SDK -------------------------------------------------------------------------


def test_deepgram_sdk_grants_a_token_from_the_local_server(server: DeepgramServer) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            from deepgram import DeepgramClient as SdkClient
            from deepgram.environment import DeepgramClientEnvironment
        except ImportError as exc:  # pragma: no cover - depends on the environment
            pytest.skip(f"deepgram-sdk is not importable: {exc}")
    env = DeepgramClientEnvironment(
        base=server.http_url, production=server.url, agent=server.url, agent_rest=server.http_url
    )
    sdk = SdkClient(api_key=KEY, environment=env)
    granted = sdk.auth.v1.tokens.grant(ttl_seconds=90)
    assert granted.expires_in == 90
    assert connect_listen(server.url, granted.access_token)
