"""The text-to-speech engines (``tone``, ``local`` = espeak-ng) and the output PCM helpers."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import threading
from array import array

import pytest

from rxdeepgram.errors import ConfigurationError
from rxdeepgram.server._audio import (
    ALAW_TABLE,
    ULAW_TABLE,
    EnergyVad,
    alaw_decode,
    mulaw_decode,
    pcm16_from_bytes,
)
from rxdeepgram.server._pcm import (
    alaw_encode,
    bytes_per_second,
    encode_pcm16,
    mulaw_encode,
    resample_pcm16,
)
from rxdeepgram.server.engines import get_tts_engine
from rxdeepgram.server.engines.tone import ToneTtsEngine

HAS_ESPEAK = importlib.util.find_spec("espeakng_loader") is not None
needs_espeak = pytest.mark.skipif(not HAS_ESPEAK, reason="espeakng-loader is not installed")


def rms(samples: array[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def sine(freq: float, rate: int, seconds: float, amplitude: int = 10000) -> bytes:
    n = int(rate * seconds)
    return array(
        "h", [round(amplitude * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)]
    ).tobytes()


# --- tone -------------------------------------------------------------------------------------


def test_tone_is_deterministic() -> None:
    text = "Hello there. How are you today?"
    first = ToneTtsEngine().synthesize(text, 24000)
    assert first == ToneTtsEngine().synthesize(text, 24000)
    assert first == get_tts_engine("tone").synthesize(text, 24000)
    assert first != ToneTtsEngine().synthesize("Hello there. How are you?", 24000)


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 32000, 48000])
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("a", 0.06),
        ("hello", 0.30),
        ("hello world", 0.30 + 0.05 + 0.30),
        ("hello   world", 0.65),  # a run of whitespace is one gap
        ("Hi, you", 0.12 + 0.10 + 0.05 + 0.18),
        ("Hi. You", 0.12 + 0.60 + 0.05 + 0.18),
        ("Yes!", 0.18 + 0.60),
        ("it's", 0.18),  # the apostrophe takes no time
        ("", 0.0),
    ],
)
def test_tone_duration_follows_the_text(text: str, seconds: float, rate: int) -> None:
    engine = ToneTtsEngine()
    pcm = engine.synthesize(text, rate)
    assert engine.duration(text) == pytest.approx(seconds)
    assert len(pcm) / 2 / rate == pytest.approx(seconds, abs=2 / rate)


def test_tone_speed_divides_durations() -> None:
    engine = ToneTtsEngine()
    text = "Half the time. Really"
    normal = engine.synthesize(text, 16000)
    fast = engine.synthesize(text, 16000, speed=2.0)
    assert len(fast) == pytest.approx(len(normal) / 2, abs=16)
    assert engine.duration(text, speed=2.0) == pytest.approx(engine.duration(text) / 2)


def test_tone_sentences_are_speech_segments_and_words_are_not() -> None:
    engine = ToneTtsEngine()
    pcm = engine.synthesize("Hello there, my friend. How are you today?", 16000)
    segments = EnergyVad(16000).segments(pcm16_from_bytes(pcm))
    assert len(segments) == 2
    (s1, e1), (s2, e2) = segments
    assert s1 == pytest.approx(0.0, abs=0.02)
    assert e1 is not None and e2 is not None
    first_sentence = engine.duration("Hello there, my friend")
    assert e1 == pytest.approx(first_sentence, abs=0.02)
    assert s2 == pytest.approx(engine.duration("Hello there, my friend. "), abs=0.02)


def test_tone_level_and_pitch_look_like_voice() -> None:
    pcm = pcm16_from_bytes(ToneTtsEngine().synthesize("aaaa", 16000))
    level = rms(pcm[160:-160])
    assert 2000 < level < 8000
    assert max(abs(s) for s in pcm) <= 8000
    # The block of one character holds whole periods, so consecutive blocks join smoothly.
    jumps = [abs(pcm[i + 1] - pcm[i]) for i in range(len(pcm) - 1)]
    assert max(jumps) < 1500


def test_tone_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        ToneTtsEngine(seconds_per_char=0)
    with pytest.raises(ValueError):
        ToneTtsEngine().synthesize("x", 0)
    with pytest.raises(ValueError):
        ToneTtsEngine().synthesize("x", 16000, speed=0)


# --- PCM helpers --------------------------------------------------------------------------------


def test_g711_encoders_invert_the_decoders() -> None:
    for code in range(256):
        assert alaw_encode(alaw_decode(bytes([code]))) == bytes([code])
        expected = 0xFF if code == 0x7F else code  # mu-law's two zeros encode as 0xFF
        assert mulaw_encode(mulaw_decode(bytes([code]))) == bytes([expected])


def test_g711_encoders_pick_the_nearest_level() -> None:
    pcm = array("h", range(-32768, 32768, 7)).tobytes()
    for encode, table in ((mulaw_encode, ULAW_TABLE), (alaw_encode, ALAW_TABLE)):
        codes = encode(pcm)
        for sample, code in zip(pcm16_from_bytes(pcm), codes, strict=True):
            error = abs(table[code] - sample)
            assert error <= max(16, abs(sample) // 16), (sample, code)


def test_encode_pcm16_and_bytes_per_second() -> None:
    pcm = sine(440, 8000, 0.1)
    assert encode_pcm16(pcm, "linear16") is pcm
    assert len(encode_pcm16(pcm, "mulaw")) == len(pcm) // 2
    assert len(encode_pcm16(pcm, "alaw")) == len(pcm) // 2
    assert bytes_per_second("linear16", 24000) == 48000
    assert bytes_per_second("mulaw", 8000) == 8000
    with pytest.raises(ValueError):
        encode_pcm16(pcm, "opus")


@pytest.mark.parametrize("dst", [8000, 16000, 24000, 48000])
def test_resampling_keeps_the_passband_and_removes_aliases(dst: int) -> None:
    src = 22050
    inside = resample_pcm16(sine(440, src, 0.5), src, dst)
    assert len(inside) // 2 == math.ceil(0.5 * src * dst / src)
    body = pcm16_from_bytes(inside)[dst // 10 : -dst // 10]
    assert rms(body) == pytest.approx(10000 / math.sqrt(2), rel=0.01)
    if dst < src:
        # A tone above the new Nyquist frequency must vanish, not fold back.
        above = resample_pcm16(sine(0.6 * dst, src, 0.5), src, dst)
        assert rms(pcm16_from_bytes(above)[dst // 10 : -dst // 10]) < 10


def test_resampling_equal_rates_is_identity() -> None:
    pcm = sine(300, 16000, 0.05)
    assert resample_pcm16(pcm, 16000, 16000) is pcm
    assert resample_pcm16(b"", 22050, 16000) == b""


# --- espeak-ng (local) ---------------------------------------------------------------------------


@needs_espeak
@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_espeak_speaks_at_every_rate(rate: int) -> None:
    from rxdeepgram.server.engines.espeak import EspeakTtsEngine

    engine = EspeakTtsEngine()
    pcm = engine.synthesize("Please check my order status.", rate)
    samples = pcm16_from_bytes(pcm)
    seconds = len(samples) / rate
    assert 1.0 < seconds < 3.5  # five words at 150 wpm, plus espeak's own pauses
    assert rms(samples) > 500
    assert max(abs(s) for s in samples) < 32767  # not clipped
    native = engine.synthesize_native("Please check my order status.")
    assert seconds == pytest.approx(len(native) / 2 / engine.native_rate, abs=0.01)


@needs_espeak
def test_espeak_is_the_local_tts_engine_and_speed_works() -> None:
    from rxdeepgram.server.engines.espeak import EspeakTtsEngine

    engine = get_tts_engine("local")
    assert isinstance(engine, EspeakTtsEngine)
    assert engine.blocking
    assert engine.synthesize("   ", 16000) == b""
    text = "The meeting starts at ten in the morning."
    normal = len(engine.synthesize(text, 16000))
    fast = len(engine.synthesize(text, 16000, speed=1.5))
    assert fast < 0.8 * normal


@needs_espeak
def test_espeak_refuses_bad_voices_without_crashing() -> None:
    from rxdeepgram.server.engines.espeak import EspeakTtsEngine

    with pytest.raises(ValueError, match="no voice"):
        EspeakTtsEngine("xx-not-a-voice")
    with pytest.raises(ValueError, match="ASCII"):
        EspeakTtsEngine("en-us+" + "f" * 60)  # espeak itself would overflow a buffer
    with pytest.raises(ValueError):
        EspeakTtsEngine(words_per_minute=10)


@needs_espeak
def test_espeak_is_safe_from_many_threads() -> None:
    from rxdeepgram.server.engines.espeak import EspeakTtsEngine

    engines = [EspeakTtsEngine(), EspeakTtsEngine("en-us+f2", words_per_minute=170)]
    texts = ["Thank you for calling.", "Where is the nearest hospital?"]
    serial = {
        (e, t): len(engines[e].synthesize(texts[t], 16000)) for e in range(2) for t in range(2)
    }
    results: dict[tuple[int, int], tuple[int, int, int]] = {}

    def work(worker: int) -> None:
        for k in range(3):
            e, t = (worker + k) % 2, k % 2
            results[(worker, k)] = (e, t, len(engines[e].synthesize(texts[t], 16000)))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 12
    for e, t, size in results.values():
        # Each call used its own voice and rate: the two engines differ by more than 10 %,
        # while espeak's length varies by a few samples from call to call.
        assert size == pytest.approx(serial[(e, t)], rel=0.005)


@needs_espeak
def test_espeak_repeats_itself_from_run_to_run() -> None:
    # espeak-ng seeds its voice noise from the clock; the engine fixes the seed, so two
    # processes a second apart make the same audio for the same texts in the same order.
    code = (
        "import hashlib, time\n"
        "from rxdeepgram.server.engines.espeak import EspeakTtsEngine\n"
        "engine = EspeakTtsEngine()\n"
        "for text in ('What is the weather like in New York?', 'Thank you for calling.'):\n"
        "    print(hashlib.sha256(engine.synthesize(text, 16000)).hexdigest())\n"
        "time.sleep(1.1)\n"
    )

    def run() -> str:
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout

    first, second = run(), run()
    assert len(first.split()) == 2
    assert first == second


def test_missing_espeak_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['espeakng_loader'] = None\n"
        "from rxdeepgram.server.engines import get_tts_engine\n"
        "try:\n"
        "    get_tts_engine('local')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert out.startswith(ConfigurationError.__name__)
    assert 'pip install "rxdeepgram[local]"' in out
