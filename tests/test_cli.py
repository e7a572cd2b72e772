"""The ``rxdeepgram`` command: the demo, transcribe, speak, serve, and its errors.

Each runs as a real subprocess (``python -m rxdeepgram``), as a user would run it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
LOCAL = all(
    __import__("importlib.util").util.find_spec(m) is not None
    for m in ("pocketsphinx", "espeakng_loader")
)
needs_local = pytest.mark.skipif(not LOCAL, reason="needs the local extra (pocketsphinx, espeak)")


def rxdeepgram(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPGRAM_")}
    return subprocess.run(
        [sys.executable, "-m", "rxdeepgram", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


@needs_local
def test_demo_json_reports_every_step() -> None:
    done = rxdeepgram("demo", "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    report: dict[str, Any] = json.loads(done.stdout)  # one JSON object, nothing else
    assert report["engines"] == {"stt": "local", "tts": "local"}
    assert len(report["sentences"]) == 3
    assert len(report["finals"]) >= 3
    assert report["interim_results"] > 0
    assert report["wer"] <= 0.25
    latency = report["latency_ms"]
    assert 0 < latency["tts_first_byte"] < 10_000
    assert latency["final_transcript"] and all(0 < v < 10_000 for v in latency["final_transcript"])
    assert 0 < latency["agent_reply"] < 10_000
    agent = report["agent"]
    assert agent["function_call"]["name"] == "get_weather"
    assert agent["function_call"]["arguments"] == {"city": "new york"}
    assert "New York" in agent["assistant_text"] and "sunny" in agent["assistant_text"]
    assert agent["audio_bytes"] > 24000 * 2  # over a second of agent speech
    assert report["elapsed_s"] < 60


def test_demo_human_output_without_the_local_engines_falls_back_to_scripted(
    tmp_path: Path,
) -> None:
    # Hide pocketsphinx and espeak: the demo must still run, with the deterministic engines,
    # and say so.
    for module in ("pocketsphinx", "espeakng_loader"):
        (tmp_path / module).mkdir()
        (tmp_path / module / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPGRAM_")}
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{env.get('PYTHONPATH', '')}"
    done = subprocess.run(
        [sys.executable, "-m", "rxdeepgram", "demo", "--sentences", "2", "--fast"],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "stt=scripted, tts=tone" in out
    assert "scripted engine stands in" in out
    assert "final:   What is the weather like in New York?" in out
    assert "word error rate:          0.0% over 14 words" in out
    assert "function call: get_weather" in out
    assert re.search(r"agent reply latency:\s+\d+ ms", out)  # measurable, positive
    assert re.search(r"elapsed:\s+\d+\.\d s", out)


@needs_local
def test_transcribe_prints_the_words_of_a_file() -> None:
    done = rxdeepgram("transcribe", str(DATA / "two_sentences.wav"), "--local")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert "change my password" in lines[0]
    assert "ten in the morning" in lines[1]


@needs_local
def test_transcribe_json_lines() -> None:
    done = rxdeepgram(
        "transcribe", str(DATA / "order_status.wav"), "--local", "--json", "--interim"
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    finals = [r for r in results if r["is_final"]]
    assert [r["transcript"] for r in finals] == ["please check my order status"]
    assert any(not r["is_final"] for r in results)  # interim results were asked for
    assert 0 <= finals[0]["start"] < finals[0]["end"] <= 3.0
    assert 0 < finals[0]["confidence"] <= 1


@pytest.mark.parametrize("json_mode", [False, True])
def test_speak_writes_a_wav(tmp_path: Path, json_mode: bool) -> None:
    out = tmp_path / "hello.wav"
    args = ["speak", "Hello there. This is a test.", "-o", str(out), "--local"]
    done = rxdeepgram(*args, *(["--json"] if json_mode else []))
    assert done.returncode == 0, done.stderr
    with wave.open(str(out), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24000)
        seconds = wav.getnframes() / 24000
    assert 0.8 < seconds < 6.0
    if json_mode:
        report = json.loads(done.stdout)
        assert report["output"] == str(out)
        assert report["seconds"] == pytest.approx(seconds, abs=0.01)
    else:
        assert done.stdout.startswith(f"wrote {out}: ")


def test_serve_prints_its_url_first() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rxdeepgram", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+", proc.stdout.readline().strip())
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


def test_no_key_no_url_no_local_is_a_clear_error() -> None:
    done = rxdeepgram("transcribe", str(DATA / "flight.wav"))
    assert done.returncode == 2
    assert "DEEPGRAM_API_KEY" in done.stderr and "--local" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_missing_file_is_a_clear_error() -> None:
    done = rxdeepgram("transcribe", "no-such-file.wav", "--local")
    assert done.returncode == 2
    assert "no-such-file.wav" in done.stderr and "Traceback" not in done.stderr


def test_a_rejected_key_is_a_typed_error_without_the_key(tmp_path: Path) -> None:
    from rxdeepgram.server import DeepgramServer

    secret = "sk-live-do-not-print-1234"
    with DeepgramServer(api_key="the-right-key") as server:
        done = rxdeepgram(
            "speak", "hi", "-o", str(tmp_path / "x.wav"), "--url", server.url, "--api-key", secret
        )
    assert done.returncode == 2
    assert "AuthenticationError" in done.stderr and "401" in done.stderr
    assert secret not in done.stderr + done.stdout


def test_usage_errors_exit_2() -> None:
    done = rxdeepgram("demo", "--sentences", "9")
    assert done.returncode == 2 and "--sentences" in done.stderr
    done = rxdeepgram()
    assert done.returncode == 2 and "demo" in done.stderr
