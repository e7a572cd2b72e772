"""The ``rxdeepgram`` command: demo, transcribe, speak, serve, and how it fails.

The commands run as real subprocesses (``python -m rxdeepgram``), as a user runs them; a few
helpers and one failure path are tested in-process.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import signal
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import reactivex.operators as ops

from rxdeepgram import endpoint
from rxdeepgram.__main__ import main
from rxdeepgram._cli import _demo
from rxdeepgram._cli._output import Console
from rxdeepgram._cli._speak import split_text
from rxdeepgram.messages import agent_v1

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
LOCAL = all(importlib.util.find_spec(m) is not None for m in ("pocketsphinx", "espeakng_loader"))
needs_local = pytest.mark.skipif(not LOCAL, reason="needs the local extra (pocketsphinx, espeak)")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPGRAM_")}
    env.update(extra)
    return env


def rxdeepgram(
    *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rxdeepgram", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or _env(),
        cwd=ROOT,
    )


def without_local_engines(tmp_path: Path) -> dict[str, str]:
    """An environment in which pocketsphinx and espeakng_loader fail to import."""
    for module in ("pocketsphinx", "espeakng_loader"):
        (tmp_path / module).mkdir()
        (tmp_path / module / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    return _env(PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")


# -- demo -------------------------------------------------------------------------------------


@needs_local
def test_demo_json_reports_every_step() -> None:
    done = rxdeepgram("demo", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress without a terminal
    report: dict[str, Any] = json.loads(done.stdout)  # one JSON object, nothing else
    assert report["engines"] == {"stt": "local", "tts": "local"}
    assert report["speed"] == 2.0
    assert report["sentences"] == list(_demo.SENTENCES[:3])
    assert len(report["finals"]) == 3
    assert report["interim_results"] > 0
    assert report["wer"] <= 0.25
    assert report["word_errors"]["reference_words"] == 20
    assert report["everyday_wer"] == _demo.EVERYDAY_WER  # the honest figure, beside its own
    # The latencies are reported (one per final, each measured: positive); how small they are
    # is the machine's speed, not the CLI's correctness (no upper bound: it flaked under load).
    latency = report["latency_ms"]
    assert isinstance(latency["tts_first_byte"], (int, float)) and latency["tts_first_byte"] > 0
    assert len(latency["final_transcript"]) == 3
    assert all(isinstance(v, (int, float)) and v > 0 for v in latency["final_transcript"])
    assert isinstance(latency["agent_reply"], (int, float)) and latency["agent_reply"] > 0
    agent = report["agent"]
    assert "weather" in agent["user_text"].lower()
    call = agent["function_call"]
    assert call["name"] == "get_weather"
    assert call["arguments"]["city"].lower() == "new york"
    assert call["result"] == {"city": "New York", "forecast": "sunny", "celsius": 21}
    assert "New York" in agent["assistant_text"] and "sunny" in agent["assistant_text"]
    assert agent["audio_bytes"] > 2 * 24000  # over a second of 24 kHz linear16 speech
    assert report["elapsed_s"] > 0


@needs_local
def test_demo_human_report() -> None:
    done = rxdeepgram("demo", "--sentences", "1", "--speed", "4")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "speech-to-text: local (pocketsphinx)" in out
    assert "text-to-speech: local (espeak-ng)" in out
    final = re.search(r"^   final: (.+)$", out, re.MULTILINE)
    assert final is not None and "weather" in final.group(1).lower()
    assert re.search(r"^   ~ \w", out, re.MULTILINE)  # interim results, as plain lines
    assert re.search(r"^   word error rate \d+\.\d%", out, re.MULTILINE)
    everyday = (
        f"on 60 everyday sentences the same round trip scores {_demo.EVERYDAY_WER['wer']:.1%}"
    )
    assert everyday in out
    assert re.search(r"^     on everyday text:\s+\d+\.\d% over \d+ words", out, re.MULTILINE)
    assert re.search(r'function:  get_weather\(\{"city": "new york"\}\) -> ', out, re.I)
    assert re.search(r"^   assistant: .*New York", out, re.MULTILINE)
    assert re.search(r"^   elapsed:\s+\d+\.\d s$", out, re.MULTILINE)
    assert "\r" not in out  # no live lines without a terminal
    assert done.stderr == ""


def test_demo_without_the_local_engines_uses_the_deterministic_ones(tmp_path: Path) -> None:
    done = rxdeepgram(
        "demo", "--json", "--sentences", "2", "--speed", "8", env=without_local_engines(tmp_path)
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["engines"] == {"stt": "scripted", "tts": "tone"}
    assert report["finals"] == list(_demo.SENTENCES[:2])  # the scripted engine's lines
    assert report["wer"] == 0.0
    assert report["everyday_wer"] is None  # a figure of the local engines only
    assert report["agent"]["function_call"]["arguments"] == {"city": "New York"}
    assert report["agent"]["audio_bytes"] > 0


def test_a_failed_demo_step_is_one_line_and_a_nonzero_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An agent without functions cannot make the call the demo waits for.
    monkeypatch.setattr(endpoint, "best_stt_engine", lambda: "scripted")
    monkeypatch.setattr(endpoint, "best_tts_engine", lambda: "tone")
    settings = _demo._settings()
    assert isinstance(settings.agent, agent_v1.Agent)
    think = settings.agent.think
    assert isinstance(think, agent_v1.ThinkSettings)
    no_functions = agent_v1.ThinkSettings(provider=think.provider)
    monkeypatch.setattr(
        _demo,
        "_settings",
        lambda: agent_v1.Settings(
            audio=settings.audio,
            agent=agent_v1.Agent(
                listen=settings.agent.listen, think=no_functions, speak=settings.agent.speak
            ),
        ),
    )
    status = main(["demo", "--sentences", "1", "--speed", "8"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err == (
        "rxdeepgram: error: demo step 3 (Agent V1) failed: "
        "the agent made no function call (was the question understood?)\n"
    )
    assert "assistant: You said: What is the weather like in New York?" in captured.out


def test_ctrl_c_exits_130_without_a_traceback() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rxdeepgram", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("rxdeepgram demo: offline")  # the server is up
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert err.strip() == ""


# -- transcribe -------------------------------------------------------------------------------


@needs_local
def test_transcribe_prints_one_line_per_final() -> None:
    done = rxdeepgram("transcribe", str(DATA / "two_sentences.wav"), "--local")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "i need to change my password",
        "the meeting starts at ten in the morning",
    ]


@needs_local
def test_transcribe_json_lines() -> None:
    done = rxdeepgram(
        "transcribe", str(DATA / "order_status.wav"), "--local", "--json", "--interim"
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    finals = [r for r in results if r["is_final"]]
    assert [r["transcript"] for r in finals] == ["please check my order status"]
    assert [w["word"] for w in finals[0]["words"]] == ["please", "check", "my", "order", "status"]
    assert any(not r["is_final"] for r in results)  # interim results were asked for
    assert 0 <= finals[0]["start"] < finals[0]["end"] <= 2.3
    assert 0 < finals[0]["confidence"] <= 1


# -- speak ------------------------------------------------------------------------------------


@pytest.mark.parametrize("json_mode", [False, True])
def test_speak_writes_a_wav(tmp_path: Path, json_mode: bool) -> None:
    out = tmp_path / "hello.wav"
    args = ["speak", "Hello there. This is a test.", "-o", str(out), "--local"]
    done = rxdeepgram(*args, *(["--json"] if json_mode else []))
    assert done.returncode == 0, done.stderr
    with wave.open(str(out), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24000)
        frames = wav.getnframes()
    seconds = frames / 24000
    assert 0.8 < seconds < 6.0  # a short sentence, whichever engine spoke it
    if json_mode:
        report = json.loads(done.stdout)
        assert report["output"] == str(out)
        assert report["bytes"] == frames * 2
        assert report["seconds"] == pytest.approx(seconds, abs=0.001)
        assert report["first_byte_ms"] > 0
    else:
        assert done.stdout.startswith(f"wrote {out}: {seconds:.2f} s, {frames * 2:,} bytes ")


def test_speak_with_a_flux_voice_uses_speak_v2(tmp_path: Path) -> None:
    out = tmp_path / "flux.wav"
    done = rxdeepgram(
        "speak", "Hello there. This is Flux.", "-o", str(out), "--local", "--model", "flux-haley-en"
    )
    assert done.returncode == 0, done.stderr
    with wave.open(str(out), "rb") as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert 0.8 < seconds < 6.0
    refused = rxdeepgram("speak", "hi", "-o", str(out), "--local", "--model", "flux-general-en")
    assert refused.returncode == 2 and "listen.v2" in refused.stderr


def test_speak_reads_standard_input_and_cuts_long_text(tmp_path: Path) -> None:
    out = tmp_path / "long.wav"
    text = "This sentence is said again and again. " * 60  # 2,340 characters: two Speak messages
    done = subprocess.run(
        [sys.executable, "-m", "rxdeepgram", "speak", "-", "-o", str(out), "--local", "--json"],
        input=text,
        capture_output=True,
        text=True,
        timeout=90,
        env=without_local_engines(tmp_path),  # the fast "tone" engine: lengths follow the text
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    with wave.open(str(out), "rb") as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert seconds > 60
    assert json.loads(done.stdout)["seconds"] == pytest.approx(seconds, abs=0.001)


def test_split_text_cuts_after_whitespace_and_loses_nothing() -> None:
    text = "word " * 900 + "x" * 2500
    pieces = split_text(text)
    assert "".join(pieces) == text
    assert all(len(p) <= 2000 for p in pieces)
    assert all(p.endswith(" ") for p in pieces[:2])  # cut after whitespace where possible
    assert split_text("short") == ["short"]
    assert split_text("") == []


# -- serve ------------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``rxdeepgram serve ARGS`` running; yields the process and the first line it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rxdeepgram", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_prints_its_url_first() -> None:
    with serving("--port", "0") as (proc, first):
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+", first)
    assert proc.returncode == 0


@needs_local
def test_serve_defaults_to_the_best_engines_installed() -> None:
    from rxdeepgram import DeepgramClient, audio
    from rxdeepgram import operators as dgo

    with serving() as (_proc, url):
        client = DeepgramClient(api_key="k", base_url=url)
        source = audio.from_wav(DATA / "order_status.wav", realtime=False)
        finals = source.pipe(
            client.listen.v1.transcribe(model="nova-3", **source.format.options()),
            dgo.final_transcripts(),
            ops.to_list(),
        ).run()
    assert finals == ["please check my order status"]  # pocketsphinx, not the scripted engine


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["transcribe", str(DATA / "flight.wav")],
        ["speak", "hello", "-o", "never-written.wav"],
    ],
)
def test_no_key_no_url_no_local_is_a_clear_error(args: list[str]) -> None:
    done = rxdeepgram(*args)
    assert done.returncode == 2
    assert done.stderr.startswith("rxdeepgram: error: ConfigurationError: ")
    assert "DEEPGRAM_API_KEY" in done.stderr and "--local" in done.stderr
    assert len(done.stderr.splitlines()) == 1  # one line, no traceback
    assert done.stdout == ""
    assert not (ROOT / "never-written.wav").exists()


@pytest.mark.parametrize("command", ["transcribe", "speak"])
def test_deepgram_base_url_alone_is_enough_as_for_the_library(tmp_path: Path, command: str) -> None:
    """Only ``DEEPGRAM_BASE_URL`` set (a server that needs no key): the command connects there,
    as ``DeepgramClient()`` does with the same environment."""
    from rxdeepgram.server import DeepgramServer, ScriptedEngine

    out = tmp_path / "hi.wav"
    args = (
        ["transcribe", str(DATA / "flight.wav")]
        if command == "transcribe"
        else ["speak", "Hello there.", "-o", str(out)]
    )
    with DeepgramServer(engine=ScriptedEngine(["hello from the base url"])) as server:
        done = rxdeepgram(*args, env=_env(DEEPGRAM_BASE_URL=server.url))
    assert done.returncode == 0, done.stderr
    if command == "transcribe":
        assert "hello from the base url" in done.stdout
    else:
        with wave.open(str(out), "rb") as wav:
            assert wav.getnframes() > 0


def test_deepgram_base_url_of_deepgram_without_a_key_is_the_clear_error() -> None:
    done = rxdeepgram(
        "speak",
        "hi",
        "-o",
        "never-written.wav",
        env=_env(DEEPGRAM_BASE_URL="wss://api.deepgram.com"),
    )
    assert done.returncode == 2
    assert done.stderr.startswith("rxdeepgram: error: ConfigurationError: ")
    for name in ("DEEPGRAM_API_KEY", "--api-key", "DEEPGRAM_BASE_URL", "--url", "--local"):
        assert name in done.stderr
    assert not (ROOT / "never-written.wav").exists()


def test_the_library_and_the_endpoint_agree_on_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One rule: a key is needed for Deepgram's own hosts only, wherever the URL comes from;
    both refusals name the environment variables that fix them."""
    import argparse

    from rxdeepgram import DeepgramClient
    from rxdeepgram.errors import ConfigurationError
    from rxdeepgram.server import DeepgramServer

    for name in ("DEEPGRAM_API_KEY", "DEEPGRAM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    none = argparse.Namespace(local=False, url=None, api_key=None)
    with DeepgramServer() as server:
        monkeypatch.setenv("DEEPGRAM_BASE_URL", server.url)
        with DeepgramClient().speak.v1.connect() as conn:  # the library: connects
            assert conn.url.startswith(server.url)
        with endpoint.open_endpoint(none) as found:  # the command line / examples: the same
            assert found.base_url == server.url and found.api_key is None
            with found.client().speak.v1.connect() as conn:
                assert conn.url.startswith(server.url)
    for url in ("wss://api.deepgram.com", None):
        if url is None:
            monkeypatch.delenv("DEEPGRAM_BASE_URL")
        else:
            monkeypatch.setenv("DEEPGRAM_BASE_URL", url)
        with pytest.raises(ConfigurationError) as library:
            DeepgramClient().listen.v1.connect(model="nova-3")
        with pytest.raises(ConfigurationError) as cli, endpoint.open_endpoint(none):
            pass
        for message in (str(library.value), str(cli.value)):
            assert "DEEPGRAM_API_KEY" in message and "DEEPGRAM_BASE_URL" in message


def test_a_rejected_key_is_a_typed_error_without_the_key(tmp_path: Path) -> None:
    from rxdeepgram.server import DeepgramServer

    secret = "sk-live-do-not-print-1234"
    out = tmp_path / "x.wav"
    with DeepgramServer(api_key="the-right-key") as server:
        done = rxdeepgram("speak", "hi", "-o", str(out), "--url", server.url, "--api-key", secret)
    assert done.returncode == 2
    assert done.stderr.startswith("rxdeepgram: error: AuthenticationError: ")
    assert "401" in done.stderr and len(done.stderr.splitlines()) == 1
    assert secret not in done.stderr + done.stdout
    assert not out.exists()  # no half-written file left behind


def test_bad_files_and_options_are_clear_errors(tmp_path: Path) -> None:
    done = rxdeepgram("transcribe", "no-such-file.wav", "--local")
    assert done.returncode == 1  # reported and skipped: some (here all) inputs failed
    assert "rxdeepgram: error: no-such-file.wav: no such file" in done.stderr
    assert "Traceback" not in done.stderr
    done = rxdeepgram("transcribe", str(ROOT / "pyproject.toml"), "--local")
    assert done.returncode == 1 and "pyproject.toml: not audio" in done.stderr
    out = tmp_path / "x.wav"
    done = rxdeepgram("speak", "hi", "-o", str(out), "--local", "--sample-rate", "12345")
    assert done.returncode == 2
    assert "InvalidOptionError" in done.stderr and "sample_rate" in done.stderr
    assert not out.exists()


def test_usage_errors_exit_2() -> None:
    done = rxdeepgram("demo", "--sentences", "9")
    assert done.returncode == 2 and "--sentences" in done.stderr
    done = rxdeepgram("demo", "--speed", "0")
    assert done.returncode == 2 and "--speed" in done.stderr
    done = rxdeepgram()
    assert done.returncode == 2 and "demo" in done.stderr


# -- the console ------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_live_lines_only_on_a_terminal() -> None:
    out, err = _Terminal(), io.StringIO()
    console = Console(out=out, err=err)
    console.live("hello world")
    console.live("bye")
    console.line("done")
    assert out.getvalue() == ("\rhello world" + "\rbye" + " " * 8 + "\b" * 8 + "\r   \r" + "done\n")
    piped = io.StringIO()
    console = Console(out=piped)
    console.live("not shown")
    console.line("shown")
    assert piped.getvalue() == "shown\n"


def test_console_json_mode_keeps_stdout_for_json() -> None:
    out, err = io.StringIO(), _Terminal()
    console = Console(json_mode=True, out=out, err=err)
    console.line("human report")
    console.live("progress")
    console.emit_json({"a": 1})
    assert out.getvalue() == '{"a": 1}\n'
    assert err.getvalue() == "\rprogress\r        \r"  # progress on the terminal, then cleared
