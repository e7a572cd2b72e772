"""The ``local`` speech-to-text engine (pocketsphinx) on the spoken test clips in tests/data/.

Each clip is recognised whole and cut into speech segments the way the server's channels do
(energy-based detection), with the word error rate checked against its transcript. The measured
rates are attached to the test reports (``record_property``) and printed with ``-s``.
"""

from __future__ import annotations

import array
import importlib.util
import itertools
import math
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rxdeepgram._wer import word_error_rate
from rxdeepgram.errors import ConfigurationError
from rxdeepgram.server.engines._base import RecognizedWord
from rxdeepgram.server.engines.pocketsphinx import (
    INTERIM_CONFIDENCE,
    PocketsphinxEngine,
    PocketsphinxStream,
    clean_word,
)

DATA = Path(__file__).resolve().parent / "data"
CLIPS = ("order_status", "flight", "two_sentences")
MAX_WER = 0.25
RATE = 16000
BYTES_PER_SECOND = 2 * RATE

needs_pocketsphinx = pytest.mark.skipif(
    importlib.util.find_spec("pocketsphinx") is None,
    reason='pocketsphinx is not installed (pip install "rxdeepgram[local]")',
)


def read_clip(name: str) -> tuple[bytes, str]:
    """PCM and reference transcript of a test clip."""
    with wave.open(str(DATA / f"{name}.wav"), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (RATE, 1, 2)
        pcm = wav.readframes(wav.getnframes())
    return pcm, (DATA / f"{name}.txt").read_text()


def speech_segments(pcm: bytes) -> list[tuple[int, int]]:
    """(start, end) byte offsets of speech: 20 ms frames above an RMS of 500, gaps shorter than
    300 ms bridged, 100 ms of padding either side (a stand-in for the server's detector)."""
    frame = 320
    samples = array.array("h", pcm)
    loud = [
        math.sqrt(sum(s * s for s in samples[i : i + frame]) / frame) > 500
        for i in range(0, len(samples) - frame + 1, frame)
    ]
    runs: list[list[int]] = []
    for index, is_loud in enumerate(loud):
        if not is_loud:
            continue
        if runs and index - runs[-1][1] <= 15:  # 15 frames = 300 ms
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    total = len(samples)
    return [
        (max(0, (a - 5) * frame) * 2, min(total, (b + 5) * frame) * 2)  # 5 frames = 100 ms
        for a, b in runs
    ]


def short_clip() -> bytes:
    """The first 1.2 s of order_status.wav ("please check my"), for tests that need some speech
    but not a whole sentence."""
    return read_clip("order_status")[0][: 12 * BYTES_PER_SECOND // 10]


def text(words: list[RecognizedWord]) -> str:
    return " ".join(w.word for w in words)


def assert_well_formed(words: list[RecognizedWord], start: float, duration: float) -> None:
    """Times absolute, inside the segment and in order; no fillers; confidences in 0..1."""
    for word in words:
        assert clean_word(word.word) == word.word, word
        assert start <= word.start <= word.end <= start + duration + 1e-9, word
        assert 0.0 <= word.confidence <= 1.0, word
    for before, after in itertools.pairwise(words):
        assert before.start < after.start, (before, after)
        assert before.end <= after.start + 1e-9, (before, after)


@pytest.fixture(scope="module")
def engine() -> Iterator[PocketsphinxEngine]:
    if importlib.util.find_spec("pocketsphinx") is None:
        pytest.skip('pocketsphinx is not installed (pip install "rxdeepgram[local]")')
    engine = PocketsphinxEngine()
    engine.warm()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def whole_files(engine: PocketsphinxEngine) -> dict[str, list[RecognizedWord]]:
    """Each clip transcribed whole, as one final segment that began 12.5 s into its stream."""
    results = {}
    for name in CLIPS:
        pcm, _ = read_clip(name)
        stream = engine.new_stream()
        results[name] = stream.transcribe(pcm, 12.5, final=True)
        stream.close()
    return results


# --- recognition quality ---------------------------------------------------------------


@needs_pocketsphinx
@pytest.mark.parametrize("name", CLIPS)
def test_whole_clip_word_error_rate(
    name: str, whole_files: dict[str, list[RecognizedWord]], record_property: Any
) -> None:
    pcm, reference = read_clip(name)
    words = whole_files[name]
    rate = word_error_rate(reference, text(words))
    record_property("wer", rate)
    print(f"{name} whole: WER {rate:.1%} {text(words)!r}")
    assert rate <= MAX_WER, (reference, text(words))
    assert_well_formed(words, 12.5, len(pcm) / BYTES_PER_SECOND)


@needs_pocketsphinx
@pytest.mark.parametrize("name", CLIPS)
def test_segmented_clip_word_error_rate(
    name: str, engine: PocketsphinxEngine, record_property: Any
) -> None:
    pcm, reference = read_clip(name)
    segments = speech_segments(pcm)
    expected_segments = len(reference.splitlines())
    assert len(segments) == expected_segments
    stream = engine.new_stream()
    words: list[RecognizedWord] = []
    for begin, end in segments:
        start = begin / BYTES_PER_SECOND
        found = stream.transcribe(pcm[begin:end], start, final=True)
        assert found, f"no words in the segment at {start:.2f} s"
        assert_well_formed(found, start, (end - begin) / BYTES_PER_SECOND)
        words += found
    stream.close()
    rate = word_error_rate(reference, text(words))
    record_property("wer", rate)
    print(f"{name} segmented: WER {rate:.1%} {text(words)!r}")
    assert rate <= MAX_WER, (reference, text(words))
    assert_well_formed(words, 0.0, len(pcm) / BYTES_PER_SECOND)


@needs_pocketsphinx
def test_word_times_are_absolute(engine: PocketsphinxEngine) -> None:
    pcm = short_clip()
    results = []
    for start in (0.0, 12.5):
        stream = engine.new_stream()
        results.append(stream.transcribe(pcm, start, final=True))
        stream.close()
    at_zero, later = results
    assert [w.word for w in at_zero] == [w.word for w in later] == ["please", "check", "my"]
    for zero, shifted in zip(at_zero, later, strict=True):
        assert shifted.start == pytest.approx(zero.start + 12.5)
        assert shifted.end == pytest.approx(zero.end + 12.5)
        assert shifted.confidence == zero.confidence
    # The first word starts after the clip's lead-in of quiet.
    assert at_zero[0].start >= 0.1


@needs_pocketsphinx
def test_final_confidences_are_posteriors(whole_files: dict[str, list[RecognizedWord]]) -> None:
    confidences = [w.confidence for words in whole_files.values() for w in words]
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert len(set(confidences)) > 3  # real per-word values, not a constant
    assert sum(confidences) / len(confidences) > 0.6  # mostly-right words look mostly sure


# --- interim results ---------------------------------------------------------------------


class CountingDecoder:
    """Wraps a pocketsphinx decoder and counts the audio bytes it is given."""

    def __init__(self, decoder: Any, counter: list[int]) -> None:
        self._decoder = decoder
        self._counter = counter

    def process_raw(self, data: bytes, no_search: bool = False, full_utt: bool = False) -> None:
        self._counter.append(len(data))
        self._decoder.process_raw(data, no_search, full_utt)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._decoder, name)


@needs_pocketsphinx
def test_interims_decode_only_new_audio_and_grow_towards_the_final(
    engine: PocketsphinxEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    warmup = short_clip()
    pcm, reference = read_clip("flight")
    stream = engine.new_stream()
    # A first segment teaches the stream its cepstral mean; later segments are incremental.
    assert stream.transcribe(warmup, 0.0, final=True)
    fed: list[int] = []
    acquire = engine.acquire
    monkeypatch.setattr(engine, "acquire", lambda: CountingDecoder(acquire(), fed))
    start = 5.0
    step = BYTES_PER_SECOND // 2  # an interim every 0.5 s of audio
    interims = []
    for size in range(step, len(pcm), step):
        words = stream.transcribe(pcm[:size], start, final=False)
        assert_well_formed(words, start, size / BYTES_PER_SECOND)
        assert all(w.confidence == INTERIM_CONFIDENCE for w in words)
        interims.append(words)
    final = stream.transcribe(pcm, start, final=True)
    stream.close()
    # Every byte was decoded once, at most 0.1 s per call (each call holds the GIL).
    assert sum(fed) == len(pcm)
    assert max(fed) <= BYTES_PER_SECOND // 10
    assert word_error_rate(reference, text(final)) <= MAX_WER
    # Interims grow (each has at least as many words as the one before but one) and look like
    # the start of the final transcript: the same first word, at most 60% word errors against
    # the final's first words (the partial best path is the decoder's rough first pass).
    counts = [len(words) for words in interims]
    assert all(b >= a - 1 for a, b in itertools.pairwise(counts)), counts
    assert counts[-1] >= 3
    for words in interims:
        if len(words) >= 2:
            prefix = " ".join(text(final).split()[: len(words)])
            assert words[0].word == final[0].word
            assert word_error_rate(prefix, text(words)) <= 0.6, (prefix, text(words))
    assert final[-1].word == "boston"


@needs_pocketsphinx
def test_first_segment_final_does_not_depend_on_interims(engine: PocketsphinxEngine) -> None:
    pcm = short_clip()
    plain = engine.new_stream()
    without = plain.transcribe(pcm, 1.0, final=True)
    plain.close()
    busy = engine.new_stream()
    for size in (BYTES_PER_SECOND // 2, BYTES_PER_SECOND):
        busy.transcribe(pcm[:size], 1.0, final=False)
    with_interims = busy.transcribe(pcm, 1.0, final=True)
    busy.close()
    assert text(without) == "please check my"
    assert with_interims == without


@needs_pocketsphinx
def test_a_new_segment_abandons_the_open_one(engine: PocketsphinxEngine) -> None:
    first, _ = read_clip("flight")
    second = short_clip()
    stream = engine.new_stream()
    assert stream.transcribe(first, 0.0, final=True)
    stream.transcribe(first[:BYTES_PER_SECOND], 3.0, final=False)  # never finalised
    # An odd byte count drops the trailing half sample.
    words = stream.transcribe(second + b"\x00", 7.0, final=True)
    stream.close()
    assert text(words) == "please check my"
    assert_well_formed(words, 7.0, len(second) / BYTES_PER_SECOND)


# --- silence, fillers, odd input -------------------------------------------------------


def low_noise(seconds: float, amplitude: int) -> bytes:
    state = 7
    out = array.array("h")
    for _ in range(int(seconds * RATE)):
        state = (1103515245 * state + 12345) % 2**31
        out.append((state >> 16) % (2 * amplitude + 1) - amplitude)
    return out.tobytes()


@needs_pocketsphinx
@pytest.mark.parametrize(
    "audio",
    [bytes(BYTES_PER_SECOND), low_noise(1.0, 30), b"", b"\x01"],
    ids=["digital-silence", "low-noise", "empty", "one-byte"],
)
def test_silence_has_no_words(engine: PocketsphinxEngine, audio: bytes) -> None:
    stream = engine.new_stream()
    assert stream.transcribe(audio, 0.0, final=False) == []
    assert stream.transcribe(audio, 0.0, final=True) == []
    stream.close()


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<s>", None),
        ("</s>", None),
        ("<sil>", None),
        ("[NOISE]", None),
        ("[SPEECH]", None),
        ("++NOISE++", None),
        ("", None),
        ("hello", "hello"),
        ("to(2)", "to"),
        ("the(10)", "the"),
        ("don't", "don't"),
        ("a.m.", "a.m."),
    ],
)
def test_clean_word(raw: str, clean: str | None) -> None:
    assert clean_word(raw) == clean


@needs_pocketsphinx
def test_no_fillers_in_results(whole_files: dict[str, list[RecognizedWord]]) -> None:
    for words in whole_files.values():
        for word in words:
            assert word.word.isascii()
            assert not word.word.startswith(("<", "[", "+"))
            assert "(" not in word.word
            assert word.word == word.word.lower()


# --- the engine's shape, pool and errors ---------------------------------------------


@needs_pocketsphinx
def test_engine_attributes(engine: PocketsphinxEngine) -> None:
    assert (engine.name, engine.sample_rate, engine.blocking) == ("local", 16000, True)
    assert isinstance(engine.new_stream(), PocketsphinxStream)


@needs_pocketsphinx
def test_decoders_are_pooled(engine: PocketsphinxEngine) -> None:
    speech = short_clip()[: 3 * BYTES_PER_SECOND // 10]
    engine.warm(2)
    built = engine.decoders_created
    assert engine.idle_decoders == 2
    one, two = engine.new_stream(), engine.new_stream()
    assert engine.idle_decoders == 2  # a stream borrows a decoder only while it decodes
    one.transcribe(speech, 0.0, final=False)
    two.transcribe(speech, 0.0, final=False)
    assert engine.idle_decoders == 0
    assert one.transcribe(bytes(len(speech)), 0.0, final=True) == []  # ends the segment
    assert engine.idle_decoders == 1
    two.close()
    assert engine.idle_decoders == 2
    assert engine.decoders_created == built  # both came from the pool
    one.close()
    assert engine.idle_decoders == 2


@needs_pocketsphinx
def test_worker_process_gives_the_in_process_results(engine: PocketsphinxEngine) -> None:
    pcm = short_clip()
    local = engine.new_stream()
    expected = [local.transcribe(pcm, 2.0, final=True), local.transcribe(pcm, 4.0, final=False)]
    local.close()
    remote_engine = PocketsphinxEngine(workers=1)
    try:
        assert remote_engine.workers == 1
        remote = remote_engine.new_stream()
        assert not isinstance(remote, PocketsphinxStream)
        got = [remote.transcribe(pcm, 2.0, final=True), remote.transcribe(pcm, 4.0, final=False)]
        assert got == expected
        assert text(got[0]) == "please check my"
        remote.close()
        with pytest.raises(RuntimeError, match="closed"):
            remote.transcribe(pcm, 0.0, final=True)
    finally:
        remote_engine.close()


@needs_pocketsphinx
def test_worker_process_errors_reach_the_caller() -> None:
    broken = PocketsphinxEngine(workers=1, hmm="/nonexistent/model")
    try:
        stream = broken.new_stream()
        with pytest.raises(RuntimeError, match="PocketSphinx"):
            stream.transcribe(short_clip(), 0.0, final=True)
    finally:
        broken.close()


@needs_pocketsphinx
def test_closed_stream_refuses_work(engine: PocketsphinxEngine) -> None:
    stream = engine.new_stream()
    stream.close()
    stream.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        stream.transcribe(b"\x00\x00", 0.0, final=True)


@needs_pocketsphinx
def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="samprate"):
        PocketsphinxEngine(samprate=8000)
    with pytest.raises(ValueError, match="unknown pocketsphinx setting"):
        PocketsphinxEngine(no_such_setting=1)
    with pytest.raises(ValueError, match="max_idle"):
        PocketsphinxEngine(max_idle=-1)
    with pytest.raises(ValueError, match="workers"):
        PocketsphinxEngine(workers=-1)
    with pytest.raises(ValueError, match="min_rms"):
        PocketsphinxEngine(min_rms=-1.0)


def test_missing_pocketsphinx_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)  # import now raises ImportError
    with pytest.raises(ConfigurationError, match=r'pip install "rxdeepgram\[local\]"') as info:
        PocketsphinxEngine()
    assert isinstance(info.value.__cause__, ImportError)


def test_importing_rxdeepgram_does_not_import_pocketsphinx() -> None:
    code = (
        "import sys, rxdeepgram, rxdeepgram.server.engines.pocketsphinx;"
        "print('pocketsphinx' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
