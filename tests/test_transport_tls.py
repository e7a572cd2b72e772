"""wss://: TLS with the default SSL context (certificates verified), on every transport.

A websockets server with a self-signed certificate for ``localhost`` (made with the openssl
command line): refused while the certificate is not trusted, served once ``SSL_CERT_FILE``
names it (the default context trusts what that variable points at).
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from connect_proxy import ConnectProxy, through
from harness import Recorder
from websockets.sync.server import ServerConnection, serve

from rxdeepgram import ConnectError

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[str]:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def handler(ws: ServerConnection) -> None:
        ws.send(json.dumps({"type": "Note", "secure": True}))
        ws.close()

    server = serve(handler, "127.0.0.1", 0, ssl=context, compression=None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"wss://localhost:{server.socket.getsockname()[1]}"
    finally:
        server.shutdown()
        thread.join(5)


def test_an_untrusted_certificate_is_refused(h: Any, tls_server: str) -> None:
    client = h.client(api_key="k", base_url=tls_server)
    with (
        pytest.raises(ConnectError, match="certificate verify failed"),
        h.connect(client, "listen.v1", model="nova-3"),
    ):
        pass


def test_wss_with_a_trusted_certificate(
    h: Any, tls_server: str, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    client = h.client(api_key="k", base_url=tls_server)
    seen = Recorder()
    with h.connect(client, "listen.v1", model="nova-3", keepalive=False) as conn:
        conn.messages.subscribe(seen)
        seen.wait()
    assert [json.loads(m.raw) for m in seen.items] == [{"type": "Note", "secure": True}]
    assert seen.completed


def test_wss_through_an_http_proxy(
    h: Any,
    tls_server: str,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TLS to the server inside the proxy's tunnel (the proxy sees only CONNECT)."""
    proxy = ConnectProxy()
    try:
        through(monkeypatch, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        client = h.client(api_key="k", base_url=tls_server)
        seen = Recorder()
        with h.connect(client, "listen.v1", model="nova-3", keepalive=False) as conn:
            conn.messages.subscribe(seen)
            seen.wait()
        assert [json.loads(m.raw) for m in seen.items] == [{"type": "Note", "secure": True}]
        port = tls_server.rsplit(":", 1)[1]
        assert [r.split(b"\r\n", 1)[0] for r in proxy.requests] == [
            f"CONNECT localhost:{port} HTTP/1.1".encode()
        ]
    finally:
        proxy.close()
