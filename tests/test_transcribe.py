"""``rxdeepgram transcribe`` at scale: inputs, outputs, resuming, bad files, Ctrl-C, progress.

The command runs as a subprocess (``python -m rxdeepgram transcribe ... --url URL``) against a
local server started here with the scripted engine, over real sockets; the pure parts (progress
rendering, captions, input expansion, sharding) are tested in-process.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from audio_util import concat, silence, tone, wav_pcm16

from rxdeepgram._cli._captions import FileTranscript, Segment, TimedWord, cues, render, write_atomic
from rxdeepgram._cli._inputs import assign_outputs, expand, parse_shard, shard
from rxdeepgram._cli._media import MediaError, detect_container, open_media
from rxdeepgram._cli._progress import Counts, Progress, render_bar, summary
from rxdeepgram.server import DeepgramServer, ScriptedEngine

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent
HAS_AV = importlib.util.find_spec("av") is not None
needs_av = pytest.mark.skipif(not HAS_AV, reason="needs the decode extra (PyAV)")
ANSI = re.compile(r"\x1b\[|\r|\x08")


def speech_wav(utterances: int = 1, pause: float = 0.5, seconds: float = 0.6) -> bytes:
    """A WAV whose energy the server's detector sees as ``utterances`` speech segments."""
    parts = [silence(0.2)]
    for _ in range(utterances):
        parts += [tone(seconds), silence(pause)]
    return wav_pcm16(concat(*parts))


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DEEPGRAM_")}


def transcribe(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rxdeepgram", "transcribe", *args],
        input=None if stdin is None else stdin.decode("latin-1"),
        capture_output=True,
        text=True,
        encoding="latin-1" if stdin is not None else None,
        timeout=90,
        env=_env(),
        cwd=ROOT,
    )


@pytest.fixture
def server(deepgram_server_factory: Callable[..., DeepgramServer]) -> DeepgramServer:
    return deepgram_server_factory(engine=ScriptedEngine(["hello world", "good morning"]))


@pytest.fixture
def calls(tmp_path: Path) -> Path:
    """A folder of recordings: six WAVs in two levels, and a file that is not audio."""
    folder = tmp_path / "calls"
    (folder / "monday").mkdir(parents=True)
    for n in range(4):
        (folder / f"call{n}.wav").write_bytes(speech_wav(1 + n % 2))
    for n in range(2):
        (folder / "monday" / f"m{n}.wav").write_bytes(speech_wav(1))
    (folder / "notes.txt").write_text("not audio, and not picked from a directory\n")
    return folder


# -- a batch through the local server ----------------------------------------------------------


def test_a_folder_to_transcript_files_then_a_resumed_run_skips_them(
    server: DeepgramServer, calls: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = (str(calls), "--url", server.url, "--out", str(out), "--format", "txt,json,srt,vtt")
    done = transcribe(*args, "--concurrency", "3")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # transcripts went to files
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    stems = ["call0", "call1", "call2", "call3", "monday/m0", "monday/m1"]
    assert names == sorted(f"{s}.{f}" for s in stems for f in ("txt", "json", "srt", "vtt"))
    # call1 has two utterances: two lines, two captions
    assert (out / "call1.txt").read_text() == "hello world\ngood morning\n"
    document = json.loads((out / "call1.json").read_text())
    assert document["transcript"] == "hello world good morning"
    assert document["duration"] == pytest.approx(0.2 + 2 * 1.1, abs=0.01)
    assert [r["transcript"] for r in document["results"]] == ["hello world", "good morning"]
    assert (out / "call1.srt").read_text().startswith("1\n00:00:00,")
    assert (out / "call1.vtt").read_text().startswith("WEBVTT\n\n00:00:00.")
    assert "transcribed 6 of 6 inputs" in done.stderr
    assert not ANSI.search(done.stderr)  # not a terminal: plain lines
    assert not list(out.rglob("*.part"))

    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.txt")}
    (out / "call2.srt").unlink()  # one output missing: that input is redone
    again = transcribe(*args)
    assert again.returncode == 0, again.stderr
    assert "transcribed 1 of 6 inputs (5 already done)" in again.stderr
    assert (out / "call2.srt").exists()
    after = {p: p.stat().st_mtime_ns for p in out.rglob("*.txt")}
    assert [p.name for p in before if before[p] != after[p]] == ["call2.txt"]
    forced = transcribe(*args, "--overwrite")
    assert "transcribed 6 of 6 inputs" in forced.stderr


def test_bad_inputs_are_reported_and_skipped_and_the_status_says_so(
    server: DeepgramServer, calls: Path, tmp_path: Path
) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "header_only.wav").write_bytes(wav_pcm16([]))
    (tmp_path / "unreadable.wav").write_bytes(speech_wav())
    (tmp_path / "unreadable.wav").chmod(0)
    out = tmp_path / "out"
    # A file that exists and cannot be read, even by root: reading /proc/self/mem at 0 fails.
    unreadable = ["/proc/self/mem"] if sys.platform == "linux" else []
    done = transcribe(
        str(calls / "call0.wav"),
        str(tmp_path / "missing.wav"),
        str(calls / "notes.txt"),
        str(tmp_path / "empty.wav"),
        str(tmp_path / "header_only.wav"),
        str(tmp_path / "unreadable.wav"),
        str(tmp_path / "nothing-*.wav"),
        str(calls / "call1.wav"),
        *unreadable,
        "--url",
        server.url,
        "--out",
        str(out),
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("rxdeepgram: error:")]
    expected = [
        "missing.wav: no such file",
        "notes.txt: not audio",
        "empty.wav: empty file",
        "header_only.wav: no audio",
        "nothing-*.wav: matches no file",
    ]
    if os.geteuid() != 0:  # root reads anything
        expected.append("unreadable.wav: cannot read")
    if unreadable:
        expected.append("/proc/self/mem: cannot read: Input/output error")
    for needle in expected:
        assert any(needle in line for line in errors), (needle, errors)
    assert len(errors) == len(expected)
    assert "Traceback" not in done.stderr
    written = sorted(p.name for p in out.iterdir())
    readable = ["unreadable.txt"] if os.geteuid() == 0 else []
    assert written == sorted(["call0.txt", "call1.txt", *readable])  # the run went on


def test_json_lines_name_their_file_and_text_lines_are_prefixed(
    server: DeepgramServer, calls: Path
) -> None:
    files = [str(calls / "call0.wav"), str(calls / "call1.wav")]
    done = transcribe(*files, "--url", server.url, "--json", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(Path(r["file"]).name, r["transcript"]) for r in rows] == [
        ("call0.wav", "hello world"),
        ("call1.wav", "hello world"),
        ("call1.wav", "good morning"),
    ]
    assert all(r["is_final"] and r["words"] for r in rows)
    done = transcribe(*files, "--url", server.url, "--concurrency", "1")
    assert done.stdout.splitlines() == [
        f"{files[0]}: hello world",
        f"{files[1]}: hello world",
        f"{files[1]}: good morning",
    ]


def test_standard_input(server: DeepgramServer, tmp_path: Path) -> None:
    done = transcribe("-", "--url", server.url, "--out", str(tmp_path), stdin=speech_wav())
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "stdin.txt").read_text() == "hello world\n"


def test_a_refusal_every_input_would_hit_stops_the_run_with_status_2(
    deepgram_server_factory: Callable[..., DeepgramServer], calls: Path
) -> None:
    server = deepgram_server_factory(api_key="the-right-key")
    secret = "sk-wrong-key-not-to-print"
    done = transcribe(str(calls), "--url", server.url, "--api-key", secret)
    assert done.returncode == 2
    assert "AuthenticationError" in done.stderr and secret not in done.stderr
    assert done.stderr.count("AuthenticationError") == 1  # once, not once per file
    assert "stopped after 0 of 6 inputs" in done.stderr


def test_shards_split_the_inputs_without_overlap(
    server: DeepgramServer, calls: Path, tmp_path: Path
) -> None:
    seen: list[str] = []
    for k in (1, 2, 3):
        out = tmp_path / f"shard{k}"
        done = transcribe(str(calls), "--url", server.url, "--out", str(out), "--shard", f"{k}/3")
        assert done.returncode == 0, done.stderr
        seen += [str(p.relative_to(out)) for p in out.rglob("*.txt")]
    assert sorted(seen) == sorted(
        f"{s}.txt" for s in ["call0", "call1", "call2", "call3", "monday/m0", "monday/m1"]
    )
    done = transcribe(str(calls), "--url", server.url, "--shard", "4/3")
    assert done.returncode == 2 and "--shard" in done.stderr


# -- compressed audio ---------------------------------------------------------------------------


def _encode(wav: bytes, path: Path, codec: str, container: str) -> None:
    """Encode a 16 kHz mono WAV's samples with PyAV (the test's own fixture maker)."""
    import av

    samples = wav[44:]
    rate = 48000 if codec == "libopus" else 16000
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(samples) // 2)
        frame.planes[0].update(samples)
        frame.sample_rate = 16000
        fmt = stream.codec_context.format.name
        resampler = av.AudioResampler(format=fmt, layout="mono", rate=rate)
        for converted in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@needs_av
@pytest.mark.parametrize(
    ("name", "codec", "container"),
    [
        ("a.flac", "flac", "flac"),
        ("a.ogg", "libopus", "ogg"),
        ("a.mp3", "libmp3lame", "mp3"),
        ("a.m4a", "aac", "mp4"),
        ("a.webm", "libopus", "webm"),
    ],
)
def test_compressed_audio_is_decoded_for_the_local_server_and_sent_untouched_otherwise(
    server: DeepgramServer, tmp_path: Path, name: str, codec: str, container: str
) -> None:
    path = tmp_path / name
    _encode(speech_wav(), path, codec, container)
    done = transcribe(str(path), "--url", server.url, "--decode", "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["transcript"] for r in rows] == ["hello world"]
    assert 0.1 <= rows[0]["start"] < rows[0]["end"] <= 1.2
    # Without --decode the bytes go as they are (for Deepgram, which detects the container);
    # the local server does not decode containers and says so, naming the one it saw.
    done = transcribe(str(path), "--url", server.url)
    assert done.returncode == 1
    assert "DATA-0000" in done.stderr and "is not supported by the local server" in done.stderr
    assert f"(to decode the {detect_container(path.read_bytes()[:16])} file here first" in (
        done.stderr
    )


def test_without_the_decoder_compressed_audio_is_refused_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.flac"
    path.write_bytes(b"fLaC" + bytes(64))
    monkeypatch.setitem(sys.modules, "av", None)  # import av -> ImportError
    with pytest.raises(
        MediaError, match=r"a\.flac: flac audio must be decoded .*rxdeepgram\[decode\]"
    ):
        open_media(str(path), "a.flac", decode=True)
    media = open_media(str(path), "a.flac", decode=False)  # passthrough needs no decoder
    try:
        assert media.options == {} and media.duration is None
        assert media.read(1 << 20) == b"fLaC" + bytes(64)
    finally:
        media.close()


@needs_av
def test_a_corrupt_container_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.mp3"
    path.write_bytes(b"ID3" + bytes(200))
    with pytest.raises(MediaError, match=r"^broken\.mp3: (cannot decode|no audio)"):
        open_media(str(path), "broken.mp3", decode=True)


def test_containers_are_recognised_by_their_first_bytes() -> None:
    assert detect_container(wav_pcm16(silence(0.01))) == "wav"
    assert detect_container(b"RIFF\0\0\0\0AVI ") is None
    assert detect_container(b"ID3\x04") == "mp3"
    assert detect_container(b"\xff\xfb\x90\x00") == "mp3"
    assert detect_container(b"fLaC") == "flac"
    assert detect_container(b"OggS") == "ogg"
    assert detect_container(b"\x1a\x45\xdf\xa3") == "webm"
    assert detect_container(b"\0\0\0\x20ftypM4A ") == "mp4"
    assert detect_container(b"hello") is None


# -- Ctrl-C --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_stops_cleanly_keeps_finished_outputs_and_the_next_run_resumes(
    server: DeepgramServer, tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    for n in range(12):
        (folder / f"f{n:02d}.wav").write_bytes(speech_wav(2, pause=0.4))  # 2.2 s each
    out = tmp_path / "out"
    args = [
        str(folder),
        "--url",
        server.url,
        "--out",
        str(out),
        "--format",
        "json",
        "--concurrency",
        "2",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rxdeepgram", "transcribe", *args, "--realtime"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(out.glob("*.json")), "no output before the deadline"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert "interrupted after" in err
    written = sorted(out.glob("*.json"))
    assert 1 <= len(written) < 12
    for path in written:  # every output there is complete
        assert json.loads(path.read_text())["transcript"] == "hello world good morning"
    assert not [p for p in out.iterdir() if p.suffix != ".json"]  # no temporary file left
    done = transcribe(*args)
    assert done.returncode == 0, done.stderr
    assert f"({len(written)} already done)" in done.stderr
    assert len(list(out.glob("*.json"))) == 12


# -- progress, without a terminal ---------------------------------------------------------------


def test_the_bar_fits_the_width_and_says_files_hours_speed_errors() -> None:
    counts = Counts(total=200, done=80, failed=2, in_flight=16, audio_seconds=2450.0, elapsed=17.0)
    line = render_bar(counts, 100)
    assert line == (
        "[############------------------]  82/200 files  40.8 min audio  144x real time"
        "  2 errors  16 streams"
    )
    assert len(render_bar(counts, 60)) <= 60
    assert render_bar(counts, 60).startswith("82/200 files  40.8 min audio  144x real time")
    assert render_bar(counts, 14) == "82/200 files"
    counts = Counts(total=4, done=4, audio_seconds=3 * 3600 + 720, elapsed=100.0)
    assert "3.20 h audio" in render_bar(counts, 120) and "115x" in render_bar(counts, 120)


def test_progress_off_a_terminal_is_plain_lines() -> None:
    stream = io.StringIO()
    clock = iter(float(t) for t in range(100))
    progress = Progress(stream, clock=lambda: next(clock))
    assert not progress.interactive
    progress.counts.total = 2
    progress.tick()
    progress.event("done a.wav: 3.0 s of audio")
    progress.line("rxdeepgram: error: b.wav: empty file")
    progress.close("transcribed 1 of 2 inputs")
    assert stream.getvalue() == (
        "done a.wav: 3.0 s of audio\n"
        "rxdeepgram: error: b.wav: empty file\n"
        "transcribed 1 of 2 inputs\n"
    )


def test_progress_on_a_terminal_redraws_one_line() -> None:
    stream = io.StringIO()
    now = [0.0]
    progress = Progress(stream, interactive=True, width=90, clock=lambda: now[0])
    progress.counts.total = 2
    progress.tick(force=True)
    now[0] = 0.05
    progress.counts.done = 1
    progress.tick()  # too soon after the last draw: skipped
    now[0] = 0.5
    progress.tick()
    progress.line("rxdeepgram: error: b.wav: empty file")
    progress.close("done")
    text = stream.getvalue()
    frames = text.split("\r")
    assert frames[1].startswith("[") and "0/2 files" in frames[1]
    assert "1/2 files" in frames[2]
    assert "rxdeepgram: error: b.wav: empty file\n" in text
    assert text.endswith("\rdone\n") or text.endswith("\r" + " " * len(frames[-2]) + "\rdone\n")
    assert all(len(f.rstrip("\b ")) <= 90 for f in frames)


def test_output_on_the_same_terminal_clears_the_bar_first() -> None:
    stream = io.StringIO()
    progress = Progress(stream, interactive=True, width=90, clock=lambda: 0.0)
    progress.counts.total = 3
    progress.tick(force=True)
    bar = stream.getvalue()
    progress.above(lambda: stream.write("hello world\n"))
    assert stream.getvalue() == bar + "\r" + " " * (len(bar) - 1) + "\r" + "hello world\n" + bar
    plain = io.StringIO()
    Progress(plain).above(lambda: plain.write("hello world\n"))
    assert plain.getvalue() == "hello world\n"


def test_summary_lines() -> None:
    counts = Counts(total=10, done=7, skipped=2, failed=1, audio_seconds=600.0, elapsed=4.0)
    assert summary(counts) == (
        "transcribed 7 of 10 inputs (2 already done, 1 failed): 10.0 min of audio in 4.0 s "
        "(150.0x real time)"
    )
    assert summary(counts, interrupted=True).startswith("interrupted after 7 of 10 inputs")
    assert summary(counts, stopped=True).startswith("stopped after 7 of 10 inputs")


def test_progress_through_a_pseudo_terminal(server: DeepgramServer, calls: Path) -> None:
    pty = pytest.importorskip("pty")
    main, child = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "rxdeepgram", "transcribe", str(calls), "--url", server.url],
            stdout=subprocess.PIPE,
            stderr=child,
            timeout=60,
            env=_env(),
            cwd=ROOT,
        )
        os.close(child)
        child = -1
        chunks = []
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if child >= 0:
            os.close(child)
        os.close(main)
    err = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "\r[" in err and "/6 files" in err  # the live bar
    assert "done " not in err  # per-file lines only off a terminal
    assert "transcribed 6 of 6 inputs" in err


# -- captions and files --------------------------------------------------------------------------


def _words(*spec: tuple[str, float, float]) -> tuple[TimedWord, ...]:
    return tuple(TimedWord(w, s, e, 0.9) for w, s, e in spec)


def test_captions_break_at_pauses_length_and_results() -> None:
    first = Segment(
        0.5,
        4.0,
        "Hello there. How are you?",
        0.9,
        _words(
            ("Hello", 0.5, 0.8),
            ("there.", 0.8, 1.2),
            ("How", 2.5, 2.7),
            ("are", 2.7, 2.9),
            ("you?", 2.9, 3.3),
        ),
    )
    second = Segment(4.0, 5.0, "Fine.", 0.8, _words(("Fine.", 4.1, 4.6)))
    assert cues([first, second]) == [
        (0.5, 1.2, "Hello there."),  # a pause of 1.3 s
        (2.5, 3.3, "How are you?"),
        (4.1, 4.6, "Fine."),  # a new result
    ]
    result = FileTranscript("x.wav", [first, second], duration=5.0, request_id="r")
    assert render(result, "srt") == (
        "1\n00:00:00,500 --> 00:00:01,200\nHello there.\n\n"
        "2\n00:00:02,500 --> 00:00:03,300\nHow are you?\n\n"
        "3\n00:00:04,100 --> 00:00:04,600\nFine.\n"
    )
    assert render(result, "vtt").startswith("WEBVTT\n\n00:00:00.500 --> 00:00:01.200\nHello there.")
    assert render(result, "txt") == "Hello there. How are you?\nFine.\n"
    document = json.loads(render(result, "json"))
    assert document["transcript"] == "Hello there. How are you? Fine."
    assert document["results"][1]["words"][0] == {
        "word": "Fine.",
        "start": 4.1,
        "end": 4.6,
        "confidence": 0.9,
    }


def test_long_speech_is_cut_into_two_line_cues() -> None:
    words = tuple(TimedWord(f"word{n}", n * 0.3, n * 0.3 + 0.25) for n in range(40))
    result = cues([Segment(0.0, 12.0, " ".join(w.text for w in words), 0.9, words)])
    assert len(result) > 2
    for start, end, text in result:
        assert end - start <= 6.0
        lines = text.split("\n")
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines)
    assert " ".join(t.replace("\n", " ") for _, _, t in result) == " ".join(w.text for w in words)
    long_hours = FileTranscript("x", [Segment(3723.25, 3724.0, "late", 1.0, ())])
    assert "01:02:03,250 --> 01:02:04,000" in render(long_hours, "srt")


def test_write_atomic_replaces_whole_files_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "t.txt"
    write_atomic(str(target), "one\n")
    write_atomic(str(target), "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["t.txt"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    """Like any tool's output, a written transcript gets 0o666 less the umask (a shared
    output folder: ``--shard`` runs as other users read each other's outputs)."""
    target = tmp_path / "out" / "t.srt"
    code = (
        "import os, sys\n"
        "from rxdeepgram._cli._captions import write_atomic\n"
        f"os.umask({umask})\n"
        "write_atomic(sys.argv[1], 'x')\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code, str(target)], check=True, cwd=root, env=env)
    assert target.stat().st_mode & 0o777 == mode
    assert [p.name for p in target.parent.iterdir()] == ["t.srt"]


# -- inputs ---------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    for rel in ["a.wav", "b.mp3", "sub/c.flac", "sub/a.wav", "sub/readme.md", ".hidden/x.wav"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def test_inputs_from_directories_globs_files_and_stdin(tree: Path) -> None:
    items = expand([".", "a.wav", "sub/*.wav", "-", "nope.wav", "zz*.mp3"])
    assert [(i.label, i.key, i.problem) for i in items] == [
        ("./a.wav", "a.wav", None),
        ("./b.mp3", "b.mp3", None),
        ("./sub/a.wav", "sub/a.wav", None),
        ("./sub/c.flac", "sub/c.flac", None),
        ("<stdin>", "stdin", None),
        ("nope.wav", "nope.wav", "nope.wav: no such file"),
        ("zz*.mp3", "zz*.mp3", "zz*.mp3: matches no file"),
    ]  # a.wav and sub/a.wav named twice: taken once; readme.md and .hidden/ not walked


def test_outputs_keep_the_tree_and_avoid_collisions(tree: Path) -> None:
    (tree / "b.wav").write_bytes(b"x")
    items = expand(["."])
    assign_outputs(items)
    assert {i.key: i.output_stem for i in items} == {
        "a.wav": "a",
        "b.mp3": "b.mp3",
        "b.wav": "b.wav",
        "sub/a.wav": "sub/a",
        "sub/c.flac": "sub/c",
    }


def test_same_names_from_different_folders_get_distinct_outputs(tree: Path) -> None:
    (tree / "b.wav").write_bytes(b"x")
    items = expand(["a.wav", "sub/a.wav", "b.wav"])
    assign_outputs(items)
    stems = [i.output_stem for i in items]
    assert len(set(stems)) == 3 and stems[2] == "b"
    assert all(re.fullmatch(r"a\.wav-[0-9a-f]{8}", s) for s in stems[:2])
    again = expand(["a.wav", "sub/a.wav", "b.wav"])
    assign_outputs(again)
    assert [i.output_stem for i in again] == stems  # the same names on every run


def test_shards_are_disjoint_complete_and_stable() -> None:
    from rxdeepgram._cli._inputs import Input

    items = [Input(f"f{n}.wav", f"f{n}.wav", f"dir/f{n}.wav") for n in range(500)]
    parts = [shard(items, k, 7) for k in range(1, 8)]
    keys = [i.key for part in parts for i in part]
    assert sorted(keys) == sorted(i.key for i in items)
    assert all(40 <= len(part) <= 105 for part in parts)  # spread, roughly evenly
    more = [*items, Input("new.wav", "new.wav", "dir/new.wav")]
    assert [i.key for i in shard(more, 3, 7) if i.key != "dir/new.wav"] == [
        i.key for i in parts[2]
    ]  # adding an input moves no other
    assert parse_shard("3/7") == (3, 7)
    for bad in ("0/3", "4/3", "x", "1/0", "1-2"):
        with pytest.raises(ValueError, match="K/N"):
            parse_shard(bad)


def test_usage_errors(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    wav.write_bytes(speech_wav())
    (tmp_path / "empty-dir").mkdir()
    empty = str(tmp_path / "empty-dir")
    for args, needle in [
        ([str(wav), "--format", "docx"], "--format"),
        ([str(wav), "--concurrency", "0"], "--concurrency"),
        ([str(wav), "--out", str(wav)], "not a directory"),
        ([empty], f"no audio files in {empty}"),
        ([str(wav), "--workers", "2"], "--workers and --ship go with --ray"),
        ([str(wav), "--ray", "--workers", "0"], "--workers must be at least 1"),
    ]:
        done = transcribe(*args, "--url", "ws://127.0.0.1:9")
        assert done.returncode == 2 and needle in done.stderr, (args, done.stderr)


# -- Ray only when asked ------------------------------------------------------------------------

_WHICH_MODULES = """
import sys
if sys.argv[4] == "no-ray":
    sys.modules["ray"] = None  # as if Ray were not installed: importing it raises ImportError
import rxdeepgram, rxdeepgram.batch
from rxdeepgram.__main__ import main
args = ["transcribe", sys.argv[1], "--url", sys.argv[2], "--out", sys.argv[3], "-q"]
status = main(args + (["--ray"] if sys.argv[4] == "no-ray" else []))
print(status, sorted(m for m in sys.modules if m.split(".")[0] == "ray" and sys.modules[m]))
"""


def test_ray_is_imported_only_by_a_ray_run(server: DeepgramServer, tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    wav.write_bytes(speech_wav())
    out = str(tmp_path / "out")
    command = [sys.executable, "-c", _WHICH_MODULES, str(wav), server.url, out]
    done = subprocess.run([*command, "plain"], capture_output=True, text=True, env=_env())
    assert done.stdout.strip() == "0 []", done.stderr
    assert (tmp_path / "out" / "a.txt").read_text() == "hello world\n"
    # --ray without the extra: a usage error naming the extra, before anything runs
    done = subprocess.run([*command, "no-ray"], capture_output=True, text=True, env=_env())
    assert done.stdout.strip() == "2 []", done.stderr
    assert "pip install 'rxdeepgram[ray]'" in done.stderr
    assert "Traceback" not in done.stderr
