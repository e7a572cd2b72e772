"""Secrets are never shown and headers never injected: both clients, both transports, against
real misbehaving peers on loopback (``misbehaving.py``: a server answering 401 with a ``dg-error``
header that echoes the key, a proxy whose status line echoes ``Proxy-Authorization``, a server
closing with the key in its close reason...) and the local Deepgram server.

Every error path is scanned for the secret in plain, percent-encoded and base64 forms: the
exception's ``str``, ``repr``, ``args``, attributes and its whole ``__cause__`` / ``__context__``
chain, ``repr`` of the client and the connection, ``conn.url``, every log record of every logger
at DEBUG (with its traceback) and what reached stderr.
"""

from __future__ import annotations

import base64
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from connect_proxy import through
from harness import Recorder
from misbehaving import Answer, MisbehavingServer, close_frame, header, http

from rxdeepgram import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ConnectionClosedError,
    DeepgramClient,
    ServiceUnavailableError,
)
from rxdeepgram._secrets import redact
from rxdeepgram.server import DeepgramServer

KEY = "sk-test/4242+Ab=cd&ef_0123456789abcdef"
"""An API key whose percent-encoded and base64 forms all differ from it."""
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.s1gn/4+ture_0123456789"
PROXY_USER = "alice"
PROXY_PW = "pw/s3cret+proxy=pass&word"


def forms(secret: str) -> set[str]:
    raw = secret.encode()
    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


PROXY_BASIC = base64.b64encode(f"{PROXY_USER}:{PROXY_PW}".encode()).decode()
ALL_FORMS = forms(KEY) | forms(TOKEN) | forms(PROXY_PW) | {PROXY_BASIC}


def texts(obj: object, seen: set[int] | None = None) -> Iterator[str]:
    """Every text ``obj`` shows; for an exception also its args, attributes and chain."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield repr(obj)
    yield str(obj)
    if isinstance(obj, BaseException):
        for arg in obj.args:
            yield from texts(arg, seen)
        for value in vars(obj).values():
            yield from texts(value, seen)
        for link in (obj.__cause__, obj.__context__):
            if link is not None:
                yield from texts(link, seen)


class Watch:
    """Every log record of every logger at DEBUG, as rendered text (tracebacks included)."""

    def __init__(self) -> None:
        self.records: list[str] = []
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

        class Handler(logging.Handler):
            def emit(inner, record: logging.LogRecord) -> None:
                self.records.append(formatter.format(record))

        self.handler = Handler(logging.DEBUG)

    def __enter__(self) -> Watch:
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(logging.DEBUG)
        root.addHandler(self.handler)
        self._levels = {}
        for name in ("rxdeepgram", "rxdeepgram.websockets", "websockets", "picows", "asyncio"):
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self._level)
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)


def assert_never_shown(*things: object, watch: Watch, capfd: pytest.CaptureFixture[str]) -> None:
    out, err = capfd.readouterr()
    shown = [*watch.records, out, err]
    for thing in things:
        shown.extend(texts(thing))
    assert shown, "nothing to scan"
    for text in shown:
        for form in ALL_FORMS:
            assert form not in text, f"a secret ({form[:4]}...) is shown in: {text[:300]!r}"


def call(h: Any, fn: Callable[[], Any]) -> Any:
    """``fn()`` with the harness's client: awaited on the async harness's loop."""
    if h.kind == "async":

        async def go() -> Any:
            return await fn()

        return h.run(go())
    return fn()


def raised(h: Any, fn: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as caught:
        call(h, fn)
    return caught.value


def connect_error(h: Any, client: Any, **options: Any) -> BaseException:
    with pytest.raises(Exception) as caught:
        h.open(client, "listen.v1", model="nova-3", **options)
    return caught.value


# -- before dialling: nothing invalid reaches the wire -------------------------------------------


@pytest.fixture
def peer() -> Iterator[MisbehavingServer]:
    with MisbehavingServer(lambda head: Answer(http(400, body=b"no"))) as server:
        yield server


@pytest.mark.parametrize(
    "bad",
    [
        {"api_key": KEY + "\r\nX-Injected: yes"},
        {"api_key": KEY + "\nX-Injected: yes"},
        {"api_key": KEY[:8] + " " + KEY[8:]},
        {"api_key": KEY + "\x00"},
        {"api_key": KEY + "\u00e9"},
        {"access_token": TOKEN + "\r\nX-Injected: yes"},
        {"api_key": KEY, "headers": {"X-Custom": f"{KEY}\r\nX-Injected: yes"}},
        {"api_key": KEY, "headers": {"X-Bad\r\nX-Injected": "yes"}},
        {"api_key": KEY, "headers": {"X-Custom": 42}},
    ],
    ids=[
        "key-crlf",
        "key-lf",
        "key-space",
        "key-nul",
        "key-non-ascii",
        "token-crlf",
        "header-value",
        "header-name",
        "header-type",
    ],
)
def test_bad_credentials_and_headers_are_refused_before_dialling(
    h: Any, peer: MisbehavingServer, bad: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    with Watch() as watch, pytest.raises(ConfigurationError) as caught:
        h.client(base_url=peer.url, **bad)
    assert (
        "cannot be sent in an HTTP header" in str(caught.value)
        or "header name" in str(caught.value)
        or "must be a string" in str(caught.value)
    )
    assert peer.requests == []
    assert_never_shown(caught.value, watch=watch, capfd=capfd)


@pytest.mark.parametrize(
    "connect",
    [
        {"authorization": f"Token {KEY}\r\nX-Injected: yes"},
        {"request_options": {"additional_headers": {"X-Custom": f"{KEY}\r\nX-Injected: yes"}}},
        {"request_options": {"additional_headers": {"X-A\nX-Injected": "yes"}}},
    ],
    ids=["authorization", "additional-header-value", "additional-header-name"],
)
def test_per_connection_headers_are_refused_before_dialling(
    h: Any, peer: MisbehavingServer, connect: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    client = h.client(api_key=KEY, base_url=peer.url)
    with Watch() as watch:
        error = connect_error(h, client, **connect)
    assert isinstance(error, ConfigurationError)
    assert peer.requests == []
    assert_never_shown(error, client, watch=watch, capfd=capfd)


def test_a_key_read_from_a_file_is_stripped_and_authenticates(h: Any, tmp_path: Any) -> None:
    path = tmp_path / "key.txt"
    path.write_text(f"  {KEY}\r\n")
    with DeepgramServer(api_key=KEY) as server:
        client = h.client(api_key=path.read_text(), base_url=server.url)
        rec = Recorder()
        with h.connect(client, "listen.v1", model="nova-3") as conn:
            conn.messages.subscribe(rec)
        rec.wait()
    assert rec.completed and rec.error is None
    assert client.config.api_key is not None and client.config.api_key.reveal() == KEY


def test_the_environments_key_is_stripped_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPGRAM_API_KEY", KEY + "\n")
    client = DeepgramClient()
    assert client.config.api_key is not None and client.config.api_key.reveal() == KEY
    monkeypatch.setenv("DEEPGRAM_API_KEY", KEY + "\nX-Injected: yes")
    with pytest.raises(ConfigurationError) as caught:
        DeepgramClient()
    assert KEY not in str(caught.value)


def test_a_header_value_with_a_tab_or_spaces_is_sent_as_given(h: Any) -> None:
    with MisbehavingServer(lambda head: Answer(http(400, body=b"no"))) as peer:
        client = h.client(api_key=KEY, base_url=peer.url, headers={"X-Note": "a\tb c"})
        error = connect_error(h, client)
        assert type(error).__name__ == "BadRequestError"
        assert header(peer.requests[0], "x-note") == "a\tb c"


def test_query_values_are_percent_encoded_never_headers(h: Any) -> None:
    with MisbehavingServer(lambda head: Answer(http(400, body=b"no"))) as peer:
        client = h.client(api_key=KEY, base_url=peer.url)
        error = connect_error(
            h, client, tag="t\r\nX-Injected: yes", extra_query={"x_new": "a\r\nX-Injected: yes"}
        )
        assert type(error).__name__ == "BadRequestError"
        request = peer.requests[0]
        assert header(request, "x-injected") is None
        line = request.split(b"\r\n", 1)[0]
        assert b"tag=t%0D%0AX-Injected%3A+yes" in line
        assert b"x_new=a%0D%0AX-Injected%3A+yes" in line


@pytest.mark.parametrize(
    "url",
    [
        f"ws://user:{quote(KEY, safe='')}@127.0.0.1:1",
        f"wss://{quote(KEY, safe='')}@api.example.com",
        "ws://127.0.0.1:1/v1\r\nX-Injected: yes",
        "ws://127.0.0.1 :1",
    ],
    ids=["userinfo", "user-only", "crlf", "space"],
)
def test_a_base_url_with_credentials_or_control_characters_is_refused(
    h: Any, url: str, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Watch() as watch:
        with pytest.raises(ConfigurationError) as caught:
            h.client(api_key=KEY, base_url=url)
        monkeypatch.setenv("DEEPGRAM_BASE_URL", url)
        with pytest.raises(ConfigurationError) as from_env:
            h.client(api_key=KEY)
    assert_never_shown(caught.value, from_env.value, watch=watch, capfd=capfd)


# -- after: every error path, scanned --------------------------------------------------------------


def echo_401(head: bytes) -> Answer:
    """A server that echoes the Authorization header everywhere it can: dg-error, another
    header, the body (plain, base64 and percent-encoded), the reason phrase."""
    auth = header(head, "authorization") or ""
    value = auth.partition(" ")[2]
    body = (
        f'{{"err_msg": "bad credentials {value}", "b64": '
        f'"{base64.b64encode(value.encode()).decode()}", "url": "{quote(value, safe="")}"}}'
    )
    return Answer(
        http(
            401,
            f"Unauthorized {auth}",
            {
                "dg-error": f"Invalid credentials: {value}",
                "dg-request-id": f"rid-{value}",
                "X-Echo": auth,
            },
            body.encode(),
        )
    )


@pytest.mark.parametrize("credential", ["api_key", "access_token"])
def test_a_401_echoing_the_credential_shows_it_nowhere(
    h: Any, credential: str, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = KEY if credential == "api_key" else TOKEN
    with MisbehavingServer(echo_401) as peer, Watch() as watch:
        client = h.client(base_url=peer.url, **{credential: secret})
        error = connect_error(h, client)
        assert header(peer.requests[0], "authorization") is not None  # it was sent
    assert isinstance(error, AuthenticationError)
    assert error.status == 401
    assert error.dg_error == "Invalid credentials: ***"
    assert error.request_id == "rid-***"
    assert "bad credentials ***" in error.body
    assert_never_shown(error, client, watch=watch, capfd=capfd)


def test_the_authorization_override_is_masked_as_well(
    h: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    with MisbehavingServer(echo_401) as peer, Watch() as watch:
        client = h.client(base_url=peer.url)
        error = connect_error(h, client, authorization=f"Token {KEY}")
    assert isinstance(error, AuthenticationError)
    assert_never_shown(error, client, watch=watch, capfd=capfd)


def test_a_large_500_echoing_the_key_shows_it_nowhere(
    h: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    def answer(head: bytes) -> Answer:
        value = (header(head, "authorization") or "").partition(" ")[2]
        body = f"internal error for {value}: ".encode() + b"x" * (3 * 2**20)
        return Answer(http(500, "Internal Server Error", {"dg-error": value}, body))

    with MisbehavingServer(answer) as peer, Watch() as watch:
        client = h.client(api_key=KEY, base_url=peer.url)
        error = connect_error(h, client)
    assert isinstance(error, ServiceUnavailableError)
    assert error.body.startswith("internal error for ***: xxx")
    assert_never_shown(error, client, watch=watch, capfd=capfd)


def test_a_close_reason_echoing_the_key_shows_it_nowhere(
    h: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    def answer(head: bytes) -> Answer:
        value = (header(head, "authorization") or "").partition(" ")[2]
        return Answer(close_frame(1008, f"DATA-0000 bad key {value}"), "websocket", linger=5)

    with MisbehavingServer(answer) as peer, Watch() as watch:
        client = h.client(api_key=KEY, base_url=peer.url)
        conn = h.open(client, "listen.v1", model="nova-3")
        rec = Recorder()
        conn.messages.subscribe(rec)
        h.wait(conn)
        rec.wait()
        with pytest.raises(ConnectionClosedError) as after:
            conn.input.on_next(b"\x00\x00")
    assert isinstance(rec.error, ConnectionClosedError)
    assert rec.error.code == 1008 and rec.error.reason == "DATA-0000 bad key ***"
    assert after.value.code == 1008
    assert_never_shown(
        rec.error, conn.end, after.value, conn, conn.url, client, watch=watch, capfd=capfd
    )


@pytest.mark.parametrize("channel", ["listen.v2", "agent.v1"])
def test_an_in_band_error_echoing_the_key_shows_it_nowhere_in_the_error(
    h: Any, channel: str, capfd: pytest.CaptureFixture[str]
) -> None:
    from rxdeepgram import ServerError

    def answer(head: bytes) -> Answer:
        value = (header(head, "authorization") or "").partition(" ")[2]
        error = f'{{"type": "Error", "code": "BAD_KEY", "description": "bad key {value}"}}'
        text = error.encode()
        return Answer(bytes([0x81, len(text)]) + text + close_frame(1011), "websocket", linger=5)

    flux = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": 16000}
    options = flux if channel == "listen.v2" else {}
    with MisbehavingServer(answer) as peer, Watch() as watch:
        client = h.client(api_key=KEY, base_url=peer.url)
        conn = h.open(client, channel, **options)
        rec = Recorder()
        conn.messages.subscribe(rec)
        h.wait(conn)
        rec.wait()
    assert isinstance(conn.end, ServerError)
    assert conn.end.code == "BAD_KEY" and conn.end.description == "bad key ***"
    assert conn.end.message is not None and conn.end.message.description == "bad key ***"
    # (the Error message itself, on conn.messages, is the server's data, delivered as sent)
    assert_never_shown(conn.end, rec.error, conn, conn.url, client, watch=watch, capfd=capfd)


def test_a_proxy_echoing_proxy_authorization_shows_it_nowhere(
    h: Any, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def answer(head: bytes) -> Answer:
        auth = header(head, "proxy-authorization") or ""
        return Answer(http(407, f"Proxy-Authorization: {auth}", {"X-Echo": auth}, auth.encode()))

    with MisbehavingServer(answer) as proxy, Watch() as watch:
        through(
            monkeypatch, f"http://{PROXY_USER}:{quote(PROXY_PW, safe='')}@127.0.0.1:{proxy.port}"
        )
        client = h.client(api_key=KEY, base_url="ws://127.0.0.1:9")
        error = connect_error(h, client)
        assert header(proxy.requests[0], "proxy-authorization") == f"Basic {PROXY_BASIC}"
    assert isinstance(error, ConnectError)
    assert "407" in str(error)
    assert_never_shown(error, client, watch=watch, capfd=capfd)


def test_token_grant_errors_echoing_the_key_show_it_nowhere(
    h: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    with MisbehavingServer(echo_401) as peer, Watch() as watch:
        client = h.client(api_key=KEY, base_url=peer.url)
        error = raised(h, lambda: client.auth.v1.tokens.grant())
        assert peer.requests[0].startswith(b"POST /v1/auth/grant")
    assert isinstance(error, ApiError)
    assert error.status == 401 and error.dg_error == "Invalid credentials: ***"
    assert_never_shown(error, client, watch=watch, capfd=capfd)


def test_a_successful_session_shows_the_key_nowhere_even_at_debug(
    h: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    with DeepgramServer(api_key=KEY) as server, Watch() as watch:
        client = h.client(api_key=KEY, base_url=server.url)
        rec = Recorder()
        with h.connect(
            client, "listen.v1", model="nova-3", encoding="linear16", sample_rate=16000
        ) as conn:
            conn.messages.subscribe(rec)
            conn.input.on_next(b"\x00\x00" * 1600)
        rec.wait()
        token = call(h, lambda: client.auth.v1.tokens.grant())
    assert rec.completed
    assert any("Authorization: ***" in r for r in watch.records)  # the headers were logged
    assert_never_shown(conn, conn.url, client, token, watch=watch, capfd=capfd)


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@pytest.mark.parametrize("key", ["1", "k", "127"])
def test_a_short_key_does_not_mangle_messages(h: Any, key: str) -> None:
    port = _closed_port()
    client = h.client(api_key=key, base_url=f"ws://127.0.0.1:{port}")
    error = connect_error(h, client)
    assert isinstance(error, ConnectError)
    assert "***" not in str(error)
    assert f"ws://127.0.0.1:{port}/v1/listen" in str(error)


def test_masking_is_by_value_not_by_substring() -> None:
    assert redact("Name or service not known", ("k",)) == "Name or service not known"
    assert redact("the key k was refused", ("k",)) == "the key *** was refused"
    assert redact("ws://127.0.0.1:1/x", ("1",)) == "ws://127.0.0.1:1/x"
    secret = "abc/def+ghi=jkl&mno"
    for form in forms(secret):
        assert redact(f"[{form}]", (secret,)) == "[***]", form
    for before in ("", "a", "ab", "Authorization: Token "):  # inside a longer base64 text
        for after in ("", "!", "!?"):
            text = base64.b64encode(f"{before}{secret}{after}".encode()).decode()
            masked = redact(text, (secret,))
            assert "***" in masked and len(masked) < len(text) - 10, (before, after)
    assert redact("Authorization: Token anything", ()) == "Authorization: ***"
    assert redact("Proxy-Authorization: Basic YWxpY2U6cHc=", ()) == "Proxy-Authorization: ***"


@pytest.mark.parametrize("transport", ["websockets", "picows"])
def test_the_driver_checks_headers_on_every_path(transport: str) -> None:
    """Below the clients' checks (a path that skipped them): the driver refuses the headers
    before dialling, whatever the transport would do with them (picows, and websockets before
    16, would write the CR/LF out as given)."""
    import asyncio
    import time

    from rxdeepgram._channels import channel
    from rxdeepgram._drivers._asyncio import open_async
    from rxdeepgram._session import Session

    pytest.importorskip(transport)

    async def go(url: str) -> BaseException:
        session = Session(channel("listen.v1"), keepalive_interval=None, clock=time.monotonic)
        with pytest.raises(ConfigurationError) as caught:
            await open_async(
                session,
                url + "/v1/listen",
                {"Authorization": f"Token {KEY}\r\nX-Injected: yes"},
                open_timeout=5,
                close_timeout=1,
                ping_interval=None,
                ping_timeout=None,
                secrets=(KEY,),
                connection_kwargs={"on_callback_error": None},
                transport=transport,
            )
        return caught.value

    with MisbehavingServer(lambda head: Answer(http(400))) as peer:
        error = asyncio.run(go(peer.url))
        assert peer.requests == []
    assert KEY not in str(error)
