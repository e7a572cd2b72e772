"""The offline engines' round trip: text -> espeak-ng (Speak V1, ``local``) -> pocketsphinx
(Listen V1, ``local``) -> text, on the everyday sentences of ``tests/data/everyday_sentences.txt``.

Everything goes through the local server and the sync client, as the demo does: each sentence
is synthesised by one Speak V1 request at 16 kHz and streamed, between 0.3 s of silence before
and 0.9 s after (the demo's lead-in and pause), into a Listen V1 connection of its own; the
final transcripts are scored against the sentences (word error rate over the whole set).

    python benchmarks/local_roundtrip.py            # the engines' defaults
    python benchmarks/local_roundtrip.py --voice en-us+f2 --wpm 140 --ps beam=1e-60
    python benchmarks/local_roundtrip.py --json     # one JSON object

The figure is reported in README / docs and printed by ``rxdeepgram demo``
(``rxdeepgram._cli._demo.EVERYDAY_WER``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import reactivex
from reactivex import operators as ops

from rxdeepgram import DeepgramClient
from rxdeepgram._wer import word_errors
from rxdeepgram.messages import listen_v1
from rxdeepgram.server import DeepgramServer

SENTENCES = Path(__file__).resolve().parent.parent / "tests" / "data" / "everyday_sentences.txt"
RATE = 16000
PAUSE = bytes(2 * RATE * 9 // 10)
LEAD = bytes(2 * RATE * 3 // 10)


def load_sentences(path: Path = SENTENCES) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def measure(
    sentences: list[str],
    *,
    tts_options: dict[str, Any] | None = None,
    stt_options: dict[str, Any] | None = None,
    cache: Path | None = None,
) -> dict[str, Any]:
    from rxdeepgram.server.engines.espeak import EspeakTtsEngine
    from rxdeepgram.server.engines.pocketsphinx import PocketsphinxEngine

    tts = EspeakTtsEngine(**(tts_options or {}))
    # workers=1: decoding in a worker process keeps the server's event loop (and so its
    # keepalive pings) responsive while a minute of audio is decoded.
    stt = PocketsphinxEngine(workers=1, **(stt_options or {}))
    started = time.perf_counter()
    with DeepgramServer(engine=stt, tts=tts) as srv:
        # No pings: on a loaded machine a decode may hold the GIL past the ping timeout.
        client = DeepgramClient(
            api_key="local", base_url=srv.url, close_timeout=120.0, ping_interval=None
        )
        speak = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": RATE}
        listen = {"model": "nova-3", "encoding": "linear16", "sample_rate": RATE}
        finals: list[str] = []
        seconds = 0.0
        folder = None
        if cache is not None:
            key = "-".join(f"{k}={v}" for k, v in sorted((tts_options or {}).items())) or "default"
            folder = cache / key
            folder.mkdir(parents=True, exist_ok=True)
        for number, sentence in enumerate(sentences):
            stored = None if folder is None else folder / f"{number:03d}.pcm"
            if stored is not None and stored.is_file():
                speech = stored.read_bytes()
            else:
                spoken = (
                    reactivex.of(sentence + ". ")
                    .pipe(client.speak.v1.synthesize(**speak), ops.to_list())
                    .run()
                )
                speech = b"".join(item for item in spoken if type(item) is bytes)
                if stored is not None:
                    stored.write_bytes(speech)
            audio = LEAD + speech + PAUSE
            seconds += len(audio) / (2 * RATE)
            chunks = [audio[i : i + 3200] for i in range(0, len(audio), 3200)]
            heard = (
                reactivex.from_iterable(chunks)
                .pipe(
                    client.listen.v1.transcribe(**listen),
                    ops.to_list(),
                    ops.retry(3),  # a connection dropped on a loaded machine: that sentence again
                )
                .run()
            )
            finals.append(
                " ".join(
                    m.channel.alternatives[0].transcript
                    for m in heard
                    if isinstance(m, listen_v1.Results)
                    and m.is_final
                    and m.channel.alternatives[0].transcript
                )
            )
    counts = word_errors(" ".join(sentences), " ".join(finals))
    return {
        "sentences": len(sentences),
        "words": counts.reference_words,
        "errors": counts.errors,
        "wer": round(counts.rate, 4),
        "audio_s": round(seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "finals": finals,
        "tts": tts_options or {},
        "stt": stt_options or {},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voice")
    parser.add_argument("--wpm", type=int)
    parser.add_argument("--pitch", type=int)
    parser.add_argument("--ps", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--limit", type=int, default=0, help="only the first N sentences")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--cache", type=Path, help="keep the synthesised audio here (per voice) and reuse it"
    )
    args = parser.parse_args(argv)
    tts: dict[str, Any] = {}
    if args.voice:
        tts["voice"] = args.voice
    if args.wpm:
        tts["words_per_minute"] = args.wpm
    if args.pitch is not None:
        tts["pitch"] = args.pitch
    stt = {k: _value(v) for k, _, v in (item.partition("=") for item in args.ps)}
    sentences = load_sentences()
    if args.limit:
        sentences = sentences[: args.limit]
    result = measure(sentences, tts_options=tts, stt_options=stt, cache=args.cache)
    if args.json:
        print(json.dumps(result))
    else:
        for line in result["finals"]:
            print("  ", line)
        print(
            f"WER {result['wer']:.1%} ({result['errors']} errors in {result['words']} words, "
            f"{result['sentences']} sentences, {result['audio_s']} s of audio, "
            f"{result['seconds']} s) tts={tts} stt={stt}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
