"""``python -m rxdeepgram.server`` and the pytest plugin the package registers."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from audio_util import concat, pcm16, silence, tone
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

pytest_plugins = ["pytester"]

RAW16 = "encoding=linear16&sample_rate=16000"


@contextmanager
def cli(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run the server CLI; yield the process and the URL it printed first."""
    # Buffered stdout (no PYTHONUNBUFFERED): the server must flush the URL itself.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rxdeepgram.server", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        yield proc, first
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def _session(url: str, **kwargs: object) -> list[dict[str, object]]:
    with connect(f"{url}/v1/listen?{RAW16}", **kwargs) as ws:  # type: ignore[arg-type]
        ws.send(pcm16(concat(silence(0.2), tone(0.6), silence(0.4))))
        ws.send(json.dumps({"type": "CloseStream"}))
        return [json.loads(m) for m in ws]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_url_first_serves_and_stops_cleanly(sig: signal.Signals) -> None:
    with cli("--port", "0", "--script", "from the command line") as (proc, first):
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+", first), first
        received = _session(first)
        assert [m["type"] for m in received] == ["Results", "Metadata"]
        channel = received[0]["channel"]
        assert isinstance(channel, dict)
        assert channel["alternatives"][0]["transcript"] == "from the command line"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0
        assert "Traceback" not in err


def test_cli_api_key_and_idle_timeout() -> None:
    key = "cli-secret-key"
    args = ("--api-key", key, "--idle-timeout", "0.5", "--log-level", "DEBUG")
    with cli(*args) as (proc, url):
        with pytest.raises(InvalidStatus) as info:
            _session(url, additional_headers={"Authorization": "Token nope"})
        assert info.value.response.status_code == 401
        received = _session(url, additional_headers={"Authorization": f"Token {key}"})
        assert received[-1]["type"] == "Metadata"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out == ""  # nothing on stdout after the URL
    assert "rxdeepgram.server" in err  # DEBUG logs went to stderr ...
    assert key not in err  # ... without the key


def test_cli_rejects_bad_arguments() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rxdeepgram.server", "--engine", "nonesuch"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--engine" in done.stderr


def test_pytest_plugin_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
        import json
        from websockets.sync.client import connect
        from rxdeepgram.server import ScriptedEngine

        def test_default(deepgram_server):
            assert deepgram_server.url.startswith("ws://127.0.0.1:")
            url = deepgram_server.url + "/v1/listen?encoding=linear16&sample_rate=16000"
            with connect(url) as ws:
                ws.send(json.dumps({"type": "CloseStream"}))
                assert json.loads(ws.recv())["type"] == "Metadata"

        def test_factory(deepgram_server_factory):
            a = deepgram_server_factory(engine=ScriptedEngine(["a"]), api_key="k")
            b = deepgram_server_factory(idle_timeout=1.0)
            assert a.url != b.url
            assert a.running and b.running
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("tts", ["tone", "local"])
def test_cli_tts_engine_is_the_one_asked_for(tts: str) -> None:
    if tts == "local":
        pytest.importorskip("espeakng_loader")
    from rxdeepgram.server import get_tts_engine

    text = "Hello from the command line."
    tone = get_tts_engine("tone").synthesize(text, 24000)
    expected = get_tts_engine(tts).synthesize(text, 24000)
    with cli("--tts", tts) as (_proc, url):
        query = "model=aura-2-thalia-en&encoding=linear16&sample_rate=24000"
        with connect(f"{url}/v1/speak?{query}") as ws:
            ws.send(json.dumps({"type": "Speak", "text": text}))
            ws.send(json.dumps({"type": "Flush"}))
            audio = bytearray()
            for frame in ws:
                if isinstance(frame, bytes):
                    audio += frame
                elif json.loads(frame)["type"] == "Flushed":
                    break
    assert len(audio) == pytest.approx(len(expected), rel=0.05)
    if tts == "tone":
        assert bytes(audio) == tone  # deterministic
    else:
        assert len(audio) != len(tone) or bytes(audio) != tone  # speech, not the tone engine
