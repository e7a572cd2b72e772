"""Batch transcription on Ray: ``rxdeepgram.batch.transcribe_on_ray`` and ``transcribe --ray``.

One local Ray instance (2 CPUs, no dashboard, no usage statistics, on the loopback interface)
serves the module: it is started once per test process, by a session fixture (with
``pytest -n 2`` the module's tests may land on both workers: then each starts one; xdist's
``xdist_group`` cannot pin them to one, as it renames test ids in a way pytest 9.2 no longer
reads). The library calls use it
directly (``ray.init`` already called); the command runs as a subprocess joining it with
``--ray ADDRESS``; one test starts a Ray of its own (``--ray`` with no address). The peer is
the local server with the scripted engine, over real sockets, as in ``test_transcribe.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# A local instance on the loopback interface only, and no usage statistics (before Ray loads).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ray = pytest.importorskip("ray")

from faultproxy import FaultProxy  # noqa: E402
from test_transcribe import ANSI, ROOT, speech_wav, transcribe  # noqa: E402

from rxdeepgram.batch import Outcome, transcribe_on_ray  # noqa: E402
from rxdeepgram.errors import AuthenticationError  # noqa: E402
from rxdeepgram.server import DeepgramServer, ScriptedEngine  # noqa: E402

pytestmark = pytest.mark.timeout(120)

SCRIPT = ["hello world", "good morning"]


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """One local Ray for the session: 2 CPUs, no dashboard; its GCS address."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), address
        yield address
    finally:
        ray.shutdown()


@pytest.fixture
def server(deepgram_server_factory: Callable[..., DeepgramServer]) -> DeepgramServer:
    return deepgram_server_factory(engine=ScriptedEngine(SCRIPT))


def _calls(folder: Path, count: int, long: int = 2) -> list[Path]:
    """``count`` recordings: one utterance, or ``long`` for every other one (longer)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"call{n:02d}.wav"
        path.write_bytes(speech_wav(long if n % 2 else 1))
        paths.append(path)
    return paths


def _expected_txt(n: int, long: int = 2) -> str:
    return "".join(f"{SCRIPT[i % len(SCRIPT)]}\n" for i in range(long if n % 2 else 1))


def _files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


# -- the library --------------------------------------------------------------------------------


def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(
    ray_address: str, server: DeepgramServer, tmp_path: Path
) -> None:
    """SIGKILL one worker process when its first input finishes, while its other stream is
    still sending (real time): Ray restarts it and retries what it had in flight. Every input
    is done once, every output is whole, and the server saw more streams than inputs (the
    retried ones).

    Each actor starts one short (1.3 s) and one long (4.6 s) input: the kill comes with the
    short one's outcome, over 3 s before the long one can end (with two-utterance inputs, a
    driver slow to see that outcome under load let the long one finish first: nothing was
    left to retry)."""
    paths = _calls(tmp_path / "calls", 10, long=4)
    out = tmp_path / "out"
    killed: list[int] = []
    seen: list[Outcome] = []

    def on_outcome(outcome: Outcome) -> None:
        seen.append(outcome)
        if not killed and outcome.worker is not None:
            killed.append(outcome.worker)
            os.kill(outcome.worker, signal.SIGKILL)

    with FaultProxy("127.0.0.1", int(server.url.rsplit(":", 1)[1])) as proxy:
        result = transcribe_on_ray(
            paths,
            base_url=proxy.url,
            out=out,
            formats=("txt", "json"),
            workers=2,
            streams=2,
            realtime=True,
            on_outcome=on_outcome,
        )
        connections = proxy.connections
    assert killed, "no worker was killed"
    counts = result.counts
    assert (counts.total, counts.done, counts.failed, counts.skipped) == (10, 10, 0, 0)
    labels = [o.label for o in result.outcomes]
    assert sorted(labels) == sorted(str(p) for p in paths)  # each input exactly once
    assert [o.label for o in seen] == labels
    assert all(o.status == "done" for o in result.outcomes)
    assert connections > len(paths)  # streams cut by the kill were opened again
    workers = {o.worker for o in result.outcomes}
    assert len(workers) >= 3  # the two first workers, and the killed one's restart
    assert _files(out) == sorted(f"call{n:02d}.{f}" for n in range(10) for f in ("txt", "json"))
    for n in range(10):
        assert (out / f"call{n:02d}.txt").read_text() == _expected_txt(n, long=4)
        document = json.loads((out / f"call{n:02d}.json").read_text())
        assert document["file"] == str(paths[n])
    assert counts.audio_seconds == pytest.approx(sum(o.seconds for o in result.outcomes))


def test_bytes_paths_and_bad_inputs_then_a_resumed_run(
    ray_address: str, server: DeepgramServer, tmp_path: Path
) -> None:
    (call,) = _calls(tmp_path / "calls", 1)
    out = tmp_path / "out"
    inputs: list[object] = [
        call,
        ("named.wav", speech_wav(2)),
        b"plain text, not audio",
        str(tmp_path / "missing.wav"),
        speech_wav(1),
    ]
    result = transcribe_on_ray(
        inputs,  # type: ignore[arg-type]
        base_url=server.url,
        out=out,
        formats=("txt", "srt"),
        workers=2,
        streams=4,
    )
    counts = result.counts
    assert (counts.total, counts.done, counts.failed) == (5, 3, 2)
    assert not result.ok
    failures = {o.label: o.message for o in result.outcomes if o.status == "failed"}
    assert sorted(failures) == sorted(["input2", str(tmp_path / "missing.wav")])
    assert failures["input2"].startswith("input2: not audio")
    assert failures[str(tmp_path / "missing.wav")].endswith("missing.wav: no such file")
    assert _files(out) == sorted(
        f"{s}.{f}" for s in ("call00", "named", "input4") for f in ("txt", "srt")
    )
    assert (out / "named.txt").read_text() == "hello world\ngood morning\n"
    transcripts = {o.label: o.transcript for o in result.outcomes if o.status == "done"}
    named = transcripts["named.wav"]
    assert named is not None and [s.transcript for s in named.segments] == SCRIPT

    (out / "named.srt").unlink()  # one output missing: that input alone is redone
    again = transcribe_on_ray(inputs, base_url=server.url, out=out, formats=("txt", "srt"))  # type: ignore[arg-type]
    counts = again.counts
    assert (counts.done, counts.skipped, counts.failed) == (1, 2, 2)
    assert [o.label for o in again.outcomes if o.status == "done"] == ["named.wav"]
    assert (out / "named.srt").exists()
    assert not list(out.rglob("*.part"))


def test_a_refusal_every_input_would_hit_stops_the_run(
    ray_address: str, deepgram_server_factory: Callable[..., DeepgramServer], tmp_path: Path
) -> None:
    server = deepgram_server_factory(api_key="the-right-key")
    paths = _calls(tmp_path / "calls", 6)
    with pytest.raises(AuthenticationError):
        transcribe_on_ray(paths, base_url=server.url, api_key="sk-wrong", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bad_arguments_raise_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="formats"):
        transcribe_on_ray([tmp_path], base_url="ws://127.0.0.1:9", formats=("doc",))
    with pytest.raises(ValueError, match="streams"):
        transcribe_on_ray([tmp_path], base_url="ws://127.0.0.1:9", streams=0)
    with pytest.raises(TypeError, match="path, bytes or"):
        transcribe_on_ray([42], base_url="ws://127.0.0.1:9")  # type: ignore[list-item]


# -- the command --------------------------------------------------------------------------------


def _comparable(out: Path) -> dict[str, object]:
    """Every output file's content (JSON without its per-run request id)."""
    found: dict[str, object] = {}
    for name in _files(out):
        text = (out / name).read_text()
        if name.endswith(".json"):
            document = json.loads(text)
            document.pop("request_id")
            found[name] = document
        else:
            found[name] = text
    return found


def test_the_command_on_ray_writes_what_the_command_writes_alone(
    ray_address: str, server: DeepgramServer, tmp_path: Path
) -> None:
    calls = tmp_path / "calls"
    _calls(calls, 5)
    (calls / "monday").mkdir()
    (calls / "monday" / "m0.wav").write_bytes(speech_wav(1))
    (calls / "broken.wav").write_bytes(b"not audio")
    common = ("--url", server.url, "--format", "txt,json,srt,vtt", "--concurrency", "2")
    alone = transcribe(str(calls), *common, "--out", str(tmp_path / "alone"))
    assert alone.returncode == 1, alone.stderr
    on_ray = transcribe(
        str(calls), *common, "--out", str(tmp_path / "ray"), "--ray", ray_address, "--workers", "2"
    )
    assert on_ray.returncode == 1, on_ray.stderr  # the broken file, reported and skipped
    assert "broken.wav: not audio" in on_ray.stderr
    assert "transcribed 6 of 7 inputs (1 failed)" in on_ray.stderr
    assert "Traceback" not in on_ray.stderr and not ANSI.search(on_ray.stderr)
    assert len(_files(tmp_path / "ray")) == 6 * 4
    assert _comparable(tmp_path / "ray") == _comparable(tmp_path / "alone")

    # --json: the lines on the driver's standard output; --ship: the bytes sent from here
    lines = transcribe(
        str(calls / "call01.wav"), "-", "--url", server.url, "--json", "--ray", ray_address,
        "--ship", stdin=speech_wav(1),
    )  # fmt: skip
    assert lines.returncode == 0, lines.stderr
    rows = sorted((r["file"], r["transcript"]) for r in map(json.loads, lines.stdout.splitlines()))
    call = str(calls / "call01.wav")
    assert rows == sorted(
        [("<stdin>", "hello world"), (call, "hello world"), (call, "good morning")]
    )


def test_local_and_ray_without_an_address_start_both_here(tmp_path: Path) -> None:
    """``--local --ray``: a Ray instance of its own, and the local server (the best engines)
    served from the driver to both its workers."""
    data = ROOT / "tests" / "data"
    files = [str(data / "two_sentences.wav"), str(data / "order_status.wav")]
    done = subprocess.run(
        [sys.executable, "-m", "rxdeepgram", "transcribe", *files, "--local", "--ray",
         "--workers", "2", "--concurrency", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=110, cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("DEEPGRAM_", "RAY_ADDRESS"))},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "transcribed 2 of 2 inputs" in done.stderr
    assert _files(tmp_path) == ["order_status.txt", "two_sentences.txt"]
    if _has("pocketsphinx"):  # --local's best engine: real recognition
        assert (tmp_path / "two_sentences.txt").read_text() == (
            "i need to change my password\nthe meeting starts at ten in the morning\n"
        )
        assert (tmp_path / "order_status.txt").read_text() == "please check my order status\n"


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_ray_run_keeps_whole_outputs_and_resumes(
    ray_address: str, server: DeepgramServer, tmp_path: Path, sig: int, status: int
) -> None:
    calls = tmp_path / "calls"
    _calls(calls, 8)
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "rxdeepgram", "transcribe", str(calls), "--url", server.url,
        "--out", str(out), "--ray", ray_address, "--workers", "1", "--concurrency", "2",
        "--realtime",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPGRAM_")}
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # stopped once the first input is done (the others in flight)
        seen.append(line)
        if line.startswith("done "):
            proc.send_signal(sig)
            break
    rest = proc.communicate(timeout=60)[1]
    assert proc.returncode == status, "".join(seen) + rest
    assert "interrupted after" in rest and "Traceback" not in rest
    written = _files(out)
    assert 1 <= len(written) < 8
    assert not list(out.rglob("*.part"))
    for name in written:  # whole files only
        assert (out / name).read_text() == _expected_txt(int(name[4:6]))
    if sig != signal.SIGINT:
        return
    again = transcribe(str(calls), "--url", server.url, "--out", str(out), "--ray", ray_address)
    assert again.returncode == 0, again.stderr
    resumed = f"transcribed {8 - len(written)} of 8 inputs ({len(written)} already done)"
    assert resumed in again.stderr
    assert _files(out) == [f"call{n:02d}.txt" for n in range(8)]
