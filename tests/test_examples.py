"""Every example runs with ``--local`` (its own local server) and does what it says.

Each runs as a subprocess, as a user would run it from the repository root.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import wave
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        not all(importlib.util.find_spec(m) for m in ("pocketsphinx", "espeakng_loader")),
        reason="the examples run on the local engines (pip install -e '.[local]')",
    ),
]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CLIP = str(ROOT / "tests" / "data" / "two_sentences.wav")


def example(
    name: str, *args: str, cwd: Path = ROOT, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPGRAM_")}
    env.update(extra_env)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=80,
        env=env,
        cwd=cwd,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_every_example_is_smoke_tested() -> None:
    tested = set(re.findall(r'example\(\s*"(\w+\.py)"', Path(__file__).read_text()))
    assert tested == {p.name for p in EXAMPLES.glob("*.py")}


def test_mic_captions_from_a_wav() -> None:
    done = example("mic_captions.py", "--local", "--wav", CLIP)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2, lines
    assert re.match(r"\[\s*0\.\d+s\] .*change my password", lines[0], re.I)
    assert re.match(r"\[\s*[23]\.\d+s\] .*ten in the morning", lines[1], re.I)


def test_wav_transcripts_filters_and_spots_keywords() -> None:
    done = example("wav_transcripts.py", CLIP, "--local", "--keyword", "password")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.match(r"\[\s*0\.\d+s - \s*2\.\d+s\] .*password.*<- password$", lines[0], re.I)
    assert "morning" in lines[1] and "<-" not in lines[1]
    assert lines[-1] == "2 transcript(s)"
    # A confidence nothing reaches filters everything out.
    done = example("wav_transcripts.py", CLIP, "--local", "--min-confidence", "1.01")
    assert done.stdout.splitlines() == ["0 transcript(s)"]


def test_llm_to_speech_writes_each_sentence(tmp_path: Path) -> None:
    done = example("llm_to_speech.py", "--local", "-o", "reply.wav", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    spoken = re.findall(r"speak: (.+)", done.stdout)
    assert spoken == [
        "Thanks for calling.",
        "Your order left our warehouse this morning.",
        "It should arrive on Friday.",
        "Is there anything else I can help with?",
    ]
    with wave.open(str(tmp_path / "reply.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24000)
        seconds = wav.getnframes() / 24000
    assert 4.0 < seconds < 20.0
    assert f"{seconds:.2f} s of audio" in done.stdout


def test_flux_reply_now_signals_each_turn() -> None:
    done = example("flux_reply_now.py", "--local", "--wav", CLIP, "--eager")
    assert done.returncode == 0, done.stderr
    states = re.findall(r"turn (\d) (user speaking|probably done|turn over)", done.stdout)
    assert [s for s in states if s[1] != "probably done"] == [
        ("0", "user speaking"),
        ("0", "turn over"),
        ("1", "user speaking"),
        ("1", "turn over"),
    ]
    assert ("0", "probably done") in states  # --eager asked for EagerEndOfTurn
    assert re.search(r"REPLY NOW: '.*password'", done.stdout, re.I)
    assert done.stdout.splitlines()[-1] == "2 reply signal(s)"


def test_flux_tts_barge_in_reports_what_the_user_heard() -> None:
    done = example("flux_tts_barge_in.py", "--local", "--wav", CLIP)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    lines = [line.split("  ", 1)[1].strip() for line in out.splitlines()]
    assert lines[0].startswith("agent: speaking (dg_sp_"), out
    assert lines[1] == "user: starts talking", out
    assert re.fullmatch(r"agent: interrupted after [1-9][0-9]* ms", lines[2]), out
    heard = re.fullmatch(r"heard: +'(.*)'", lines[3])
    not_heard = re.fullmatch(r"not heard: +'(.+)'", lines[4])
    assert heard is not None and not_heard is not None, out
    assert (heard[1] + not_heard[1]).startswith("Thanks for calling. Your order left"), out
    assert re.fullmatch(r"user: '.*password'", lines[5], re.I), out
    assert "finished without being interrupted" not in out


def test_agent_pipeline_answers_the_function_call(tmp_path: Path) -> None:
    done = example("agent_pipeline.py", "--local", "--out", "agent.wav", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # The words are pocketsphinx's hearing of espeak's voice: "weather ... new york" is what
    # the function call needs (a word before it may vary with timing under load).
    assert re.search(r"^user: .*weather like in new york$", out, re.M), out
    assert 'function call: get_weather({"city": "new york"})' in out
    assert "assistant: Weather: city New York, forecast sunny" in out
    with wave.open(str(tmp_path / "agent.wav"), "rb") as wav:
        assert wav.getframerate() == 24000 and wav.getnframes() > 24000


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_no_key_no_url_no_local_stops_with_a_clear_message(name: str) -> None:
    args = [CLIP] if name == "wav_transcripts.py" else []
    if name in (
        "mic_captions.py",
        "flux_reply_now.py",
        "agent_pipeline.py",
        "flux_tts_barge_in.py",
    ):
        args += ["--wav", CLIP]
    done = example(name, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "DEEPGRAM_API_KEY" in done.stderr and "--local" in done.stderr


def test_deepgram_base_url_alone_is_enough() -> None:
    """As for the library: a server given by ``DEEPGRAM_BASE_URL`` needs no key of its own."""
    from rxdeepgram.server import DeepgramServer

    with DeepgramServer(engine="local") as server:
        done = example("wav_transcripts.py", CLIP, DEEPGRAM_BASE_URL=server.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "2 transcript(s)"
