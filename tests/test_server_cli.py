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
from typing import Any

import pytest
from audio_util import concat, pcm16, silence, tone
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from rxdeepgram._wer import word_error_rate
from rxdeepgram.endpoint import best_stt_engine, best_tts_engine
from rxdeepgram.errors import BadRequestError
from rxdeepgram.server import DeepgramServer

pytest_plugins = ["pytester"]

RAW16 = "encoding=linear16&sample_rate=16000"


LOCAL_STT = best_stt_engine() == "local"
LOCAL_TTS = best_tts_engine() == "local"
SERVER = (sys.executable, "-m", "rxdeepgram.server")
SERVE = (sys.executable, "-m", "rxdeepgram", "serve")


@contextmanager
def cli(
    *args: str, command: tuple[str, ...] = SERVER
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run the server CLI; yield the process and the URL it printed first."""
    # Buffered stdout (no PYTHONUNBUFFERED): the server must flush the URL itself.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [*command, *args],
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
    args = ("--api-key", key, "--idle-timeout", "0.5", "--log-level", "DEBUG", "--deterministic")
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


# -- one command, one set of defaults ---------------------------------------------------------


def _engines_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    return proc.stderr.readline().strip()


@pytest.mark.parametrize("command", [SERVER, SERVE], ids=["python -m", "rxdeepgram serve"])
def test_both_entry_points_serve_the_best_engines_and_say_so(command: tuple[str, ...]) -> None:
    with cli(command=command) as (proc, url):
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+", url), url  # still the first line
        line = _engines_line(proc)
    assert line.startswith("rxdeepgram server: ")
    assert f"stt={best_stt_engine()} " in line and f" tts={best_tts_engine()} " in line
    if LOCAL_STT:
        assert "PocketsphinxEngine, languages: en" in line


@pytest.mark.parametrize("command", [SERVER, SERVE], ids=["python -m", "rxdeepgram serve"])
def test_deterministic_flag_picks_scripted_and_tone(command: tuple[str, ...]) -> None:
    with cli("--deterministic", command=command) as (proc, _url):
        line = _engines_line(proc)
    assert "stt=scripted (ScriptedEngine, any language)" in line
    assert "tts=tone (ToneTtsEngine, any language)" in line


def test_script_implies_the_scripted_engine_and_explicit_engines_win() -> None:
    with cli("--script", "hi there") as (proc, _url):
        assert "stt=scripted " in _engines_line(proc)
    with cli("--deterministic", "--tts", "tone", "--engine", "scripted") as (proc, _url):
        line = _engines_line(proc)
    assert "stt=scripted " in line and "tts=tone " in line


@pytest.mark.skipif(not (LOCAL_STT and LOCAL_TTS), reason="needs the local extra")
def test_speak_then_listen_round_trip_through_the_default_server() -> None:
    """The report that started it: TTS stayed ``tone`` and the round trip came back 'the'."""
    text = "please check my order status"
    with cli() as (_proc, url):
        query = "model=aura-2-thalia-en&encoding=linear16&sample_rate=16000"
        audio = bytearray()
        with connect(f"{url}/v1/speak?{query}") as ws:
            ws.send(json.dumps({"type": "Speak", "text": text}))
            ws.send(json.dumps({"type": "Flush"}))
            for frame in ws:
                if isinstance(frame, bytes):
                    audio += frame
                elif json.loads(frame)["type"] == "Flushed":
                    break
        with connect(f"{url}/v1/listen?{RAW16}") as ws:
            ws.send(bytes(audio) + bytes(32000))  # the speech, then 1 s of silence
            ws.send(json.dumps({"type": "CloseStream"}))
            messages = [json.loads(m) for m in ws]
    heard = " ".join(
        m["channel"]["alternatives"][0]["transcript"]
        for m in messages
        if m["type"] == "Results" and m["is_final"]
    )
    assert word_error_rate(text, heard) <= 0.2, heard


# -- requests the engines cannot honour: 400 with Deepgram's error shape ----------------------


def _refused(url: str) -> tuple[int, str, dict[str, object]]:
    with pytest.raises(InvalidStatus) as info, connect(url):
        pass
    response = info.value.response
    return response.status_code, response.headers["dg-error"], json.loads(response.body)


class _SilentTts:
    """A TTS engine without ``supports_speed`` (and any language)."""

    name = "silent"
    blocking = False

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        return bytes(2 * sample_rate // 10) if text else b""


@pytest.mark.skipif(not LOCAL_STT, reason="needs pocketsphinx")
def test_a_language_the_local_recogniser_does_not_know_is_a_400() -> None:
    with DeepgramServer(engine="local") as srv:
        status, dg_error, body = _refused(f"{srv.url}/v1/listen?{RAW16}&language=fr")
        assert status == 400
        assert "language" in dg_error and "'fr'" in dg_error and "handles only en" in dg_error
        assert body["err_msg"] == dg_error and body["err_code"] == "Bad Request"
        assert isinstance(body["request_id"], str) and body["request_id"]
        status, dg_error, _ = _refused(f"{srv.url}/v1/listen?{RAW16}&language=multi")
        assert status == 400 and "multi" in dg_error
        query = "model=flux-general-multi&encoding=linear16&sample_rate=16000&language_hint=de"
        status, dg_error, _ = _refused(f"{srv.url}/v2/listen?{query}")
        assert status == 400 and "language_hint" in dg_error
        # English in any spelling is served
        for tag in ("en", "en-US", "en-GB"):
            received = _session_query(srv.url, f"{RAW16}&language={tag}")
            assert received[-1]["type"] == "Metadata"


def _session_query(url: str, query: str) -> list[dict[str, object]]:
    with connect(f"{url}/v1/listen?{query}") as ws:
        ws.send(json.dumps({"type": "CloseStream"}))
        return [json.loads(m) for m in ws]


def test_the_deterministic_engines_take_any_language() -> None:
    with DeepgramServer() as srv:  # DeepgramServer() and the fixtures: unchanged behaviour
        assert (srv.engine.name, srv.tts.name) == ("scripted", "tone")
        assert _session_query(srv.url, f"{RAW16}&language=fr")[-1]["type"] == "Metadata"
        with connect(f"{srv.url}/v1/speak?model=aura-2-celeste-es") as ws:
            assert json.loads(ws.recv())["type"] == "Metadata"


@pytest.mark.skipif(not LOCAL_TTS, reason="needs espeak-ng")
def test_a_voice_in_another_language_than_espeaks_is_a_400() -> None:
    with DeepgramServer(tts="local") as srv:
        status, dg_error, body = _refused(f"{srv.url}/v1/speak?model=aura-2-celeste-es")
        assert status == 400 and "model='aura-2-celeste-es'" in dg_error
        assert "text-to-speech engine (local) handles only en" in dg_error
        assert body["err_msg"] == dg_error
        with connect(f"{srv.url}/v1/speak?model=aura-2-thalia-en") as ws:
            assert json.loads(ws.recv())["type"] == "Metadata"


def test_speed_on_an_engine_without_it_is_a_400(h: Any) -> None:
    with DeepgramServer(tts=_SilentTts()) as srv:  # type: ignore[arg-type]
        status, dg_error, _ = _refused(f"{srv.url}/v1/speak?speed=1.3")
        assert status == 400 and "speed" in dg_error and "cannot change the speed" in dg_error
        for encoding in ("mp3", "opus", "flac", "aac"):  # no TTS engine here produces these
            status, dg_error, body = _refused(f"{srv.url}/v1/speak?encoding={encoding}")
            assert status == 400 and "encoding" in dg_error and body["err_msg"] == dg_error
        client = h.client(api_key="k", base_url=srv.url)
        refused = pytest.raises(BadRequestError, match="cannot change the speed")
        with refused, h.connect(client, "speak.v1", model="aura-2-thalia-en", speed=1.3):
            pass
        with connect(f"{srv.url}/v1/speak?speed=1") as ws:
            assert json.loads(ws.recv())["type"] == "Metadata"


def _agent_settings(listen: dict[str, Any], voice: str) -> str:
    return json.dumps(
        {
            "type": "Settings",
            "audio": {"input": {"encoding": "linear16", "sample_rate": 16000}},
            "agent": {
                "listen": {"provider": listen},
                "think": {"provider": {"type": "open_ai", "model": "gpt-4o-mini"}},
                "speak": {"provider": {"type": "deepgram", "model": voice}},
            },
        }
    )


def _agent_answer(url: str, settings: str) -> tuple[dict[str, Any], int | None]:
    with connect(f"{url}/v1/agent/converse") as ws:
        assert json.loads(ws.recv())["type"] == "Welcome"
        ws.send(settings)
        answer = json.loads(ws.recv())
        if answer["type"] == "Error":
            with pytest.raises(ConnectionClosed):
                ws.recv()
        code = ws.close_code
    return answer, code


@pytest.mark.skipif(not (LOCAL_STT and LOCAL_TTS), reason="needs the local extra")
def test_the_agent_refuses_languages_its_engines_cannot_honour() -> None:
    v1 = {"type": "deepgram", "version": "v1", "model": "nova-3"}
    with DeepgramServer(engine="local", tts="local") as srv:
        answer, code = _agent_answer(
            srv.url, _agent_settings({**v1, "language": "fr"}, "aura-2-thalia-en")
        )
        assert answer["type"] == "Error" and answer["code"] == "INVALID_SETTINGS"
        assert "agent.listen.provider.language='fr'" in answer["description"]
        assert code == 1008
        answer, code = _agent_answer(srv.url, _agent_settings(v1, "aura-2-celeste-es"))
        assert answer["type"] == "Error" and "aura-2-celeste-es" in answer["description"]
        answer, _ = _agent_answer(
            srv.url, _agent_settings({**v1, "language": "en-US"}, "aura-2-thalia-en")
        )
        assert answer["type"] == "SettingsApplied"
    with DeepgramServer() as srv:  # the deterministic engines take any language
        answer, _ = _agent_answer(
            srv.url, _agent_settings({**v1, "language": "fr"}, "aura-2-celeste-es")
        )
        assert answer["type"] == "SettingsApplied"
