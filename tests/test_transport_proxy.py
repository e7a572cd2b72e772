"""Connections through an HTTP proxy named by the environment (``HTTP_PROXY`` / ``NO_PROXY``),
on both clients and both transports: a real CONNECT proxy on 127.0.0.1 between the client and
the local server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from audio_util import chunks, concat, pcm16, silence, tone
from connect_proxy import ConnectProxy, through
from harness import Recorder

from rxdeepgram import ConnectError
from rxdeepgram.messages import listen_v1
from rxdeepgram.server import DeepgramServer, ScriptedEngine

RAW = {"encoding": "linear16", "sample_rate": 16000}
AUDIO = pcm16(concat(tone(0.8), silence(1.2)))


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(["through the proxy"])) as srv:
        yield srv


def transcribe(h: Any, server: DeepgramServer) -> Recorder:
    client = h.client(api_key="proxy-test-key-1234", base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
        conn.messages.subscribe(rec)
        for chunk in chunks(AUDIO, 3200):
            conn.input.on_next(chunk)
    rec.wait()
    return rec


def test_a_connection_goes_through_the_proxy_the_environment_names(
    h: Any, server: DeepgramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = ConnectProxy()
    try:
        through(monkeypatch, f"http://127.0.0.1:{proxy.port}")
        rec = transcribe(h, server)
        finals = [
            m.channel.alternatives[0].transcript
            for m in rec.items
            if isinstance(m, listen_v1.Results) and m.is_final
        ]
        assert rec.completed and "through the proxy" in " ".join(finals).lower()
        port = server.url.rsplit(":", 1)[1]
        assert len(proxy.requests) == 1
        assert proxy.requests[0].startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.1".encode())
    finally:
        proxy.close()


def test_no_proxy_bypasses_it(
    h: Any, server: DeepgramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = ConnectProxy()
    try:
        through(monkeypatch, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert transcribe(h, server).completed
        assert proxy.requests == []
    finally:
        proxy.close()


def test_proxy_credentials_are_sent_and_never_shown(
    h: Any, server: DeepgramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = ConnectProxy(credentials="alice:s3cret-proxy-pw")
    try:
        through(monkeypatch, f"http://alice:s3cret-proxy-pw@127.0.0.1:{proxy.port}")
        assert transcribe(h, server).completed
        wrong = ConnectProxy(credentials="alice:other")
        try:
            through(monkeypatch, f"http://alice:s3cret-proxy-pw@127.0.0.1:{wrong.port}")
            client = h.client(api_key="proxy-test-key-1234", base_url=server.url)
            with pytest.raises(ConnectError) as caught:
                h.open(client, "listen.v1", model="nova-3", **RAW)
            assert "407" in str(caught.value)
            assert "s3cret-proxy-pw" not in str(caught.value)
        finally:
            wrong.close()
    finally:
        proxy.close()


def test_a_proxy_that_refuses_the_tunnel_is_a_connect_error(
    h: Any, server: DeepgramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = ConnectProxy(refuse=403)
    try:
        through(monkeypatch, f"http://127.0.0.1:{proxy.port}")
        client = h.client(api_key="proxy-test-key-1234", base_url=server.url)
        with pytest.raises(ConnectError, match="403"):
            h.open(client, "listen.v1", model="nova-3", **RAW)
    finally:
        proxy.close()
