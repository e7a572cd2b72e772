"""Regenerate the spoken-English test WAVs in tests/data/ (see tests/data/README.md).

The audio is synthesised by flite (Debian: ``apt-get install flite``), which speaks at 16 kHz
mono 16-bit natively and which pocketsphinx's bundled English model recognises well. espeak-ng
(the ``espeakng-loader`` wheel or Debian's ``espeak-ng``) was compared and rejected: pocketsphinx
misrecognises most of its words (about 80% word error rate on the same sentences, against about
4% for flite's ``slt`` and ``awb`` voices).

Usage::

    python tests/make_speech_data.py          # write tests/data/*.wav and *.txt
    python tests/make_speech_data.py --check  # also transcribe them with the local engine

flite 2.2 is deterministic, so rerunning it reproduces the committed files byte for byte.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SAMPLE_RATE = 16000
GAP_SECONDS = 0.7  # the pause between the sentences of a multi-sentence file


@dataclass(frozen=True)
class Clip:
    """One WAV file: its sentences, spoken one after another by ``voice`` with a pause between."""

    name: str
    voice: str
    sentences: tuple[str, ...]


CLIPS = (
    Clip("order_status", "awb", ("please check my order status",)),
    Clip("flight", "awb", ("i would like to book a flight to boston",)),
    Clip(
        "two_sentences",
        "slt",
        ("i need to change my password", "the meeting starts at ten in the morning"),
    ),
)


def _flite(text: str, voice: str) -> bytes:
    """16 kHz mono 16-bit PCM of ``text`` spoken by flite's ``voice``."""
    flite = shutil.which("flite")
    if flite is None:
        sys.exit("flite is not installed: apt-get install flite")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run([flite, "-voice", voice, "-t", text, "-o", str(out)], check=True)
        with wave.open(str(out), "rb") as wav:
            if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (SAMPLE_RATE, 1, 2):
                sys.exit(f"flite voice {voice} did not produce 16 kHz mono 16-bit audio")
            return wav.readframes(wav.getnframes())


def _quiet(seconds: float, seed: int) -> bytes:
    """Low-level noise (a few LSBs, like flite's own pauses) from a fixed linear congruential
    generator, so the files are reproducible on every Python."""
    state = seed
    out = bytearray()
    for _ in range(int(seconds * SAMPLE_RATE)):
        state = (1103515245 * state + 12345) % 2**31
        sample = (state >> 16) % 41 - 20
        out += sample.to_bytes(2, "little", signed=True)
    return bytes(out)


def make_clip(clip: Clip) -> bytes:
    """The PCM of ``clip``."""
    parts: list[bytes] = []
    for index, sentence in enumerate(clip.sentences):
        if index:
            parts.append(_quiet(GAP_SECONDS, seed=index))
        parts.append(_flite(sentence, clip.voice))
    return b"".join(parts)


def write_clip(clip: Clip, directory: Path = DATA) -> Path:
    """Write ``<name>.wav`` and its transcript ``<name>.txt`` (one sentence a line)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{clip.name}.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(make_clip(clip))
    (directory / f"{clip.name}.txt").write_text("\n".join(clip.sentences) + "\n")
    return path


def check(paths: list[Path]) -> None:
    """Transcribe each file with the ``local`` engine and print its word error rate."""
    from rxdeepgram._wer import word_error_rate
    from rxdeepgram.server.engines.pocketsphinx import PocketsphinxEngine

    engine = PocketsphinxEngine()
    for path in paths:
        with wave.open(str(path), "rb") as wav:
            pcm = wav.readframes(wav.getnframes())
        stream = engine.new_stream()
        hypothesis = " ".join(w.word for w in stream.transcribe(pcm, 0.0, final=True))
        stream.close()
        reference = path.with_suffix(".txt").read_text()
        rate = word_error_rate(reference, hypothesis)
        print(f"{path.name}: WER {rate:.1%}  {hypothesis!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="transcribe with the local engine")
    args = parser.parse_args()
    paths = [write_clip(clip) for clip in CLIPS]
    total = sum(p.stat().st_size for p in paths)
    for path in paths:
        print(f"wrote {path.relative_to(DATA.parent.parent)} ({path.stat().st_size} bytes)")
    print(f"total {total} bytes")
    if args.check:
        check(paths)


if __name__ == "__main__":
    main()
