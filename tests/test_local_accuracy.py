"""The ``local`` engine through the public client: spoken WAV files give their words back.

The issue's must-show, ``from_wav(...).pipe(client.listen.v1.transcribe(...),
final_transcripts())``, for every clip in ``tests/data`` (word error rate <= 25% each), with the
sync and the async client, with and without interim results, through Listen V2 (Flux), and
converted to other sample rates.
Each clip also runs first on a fresh server (a cold engine) and again on a warm one.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
import reactivex.operators as ops

from rxdeepgram import AsyncDeepgramClient, DeepgramClient
from rxdeepgram import operators as dgo
from rxdeepgram._wer import word_error_rate, word_errors
from rxdeepgram.audio import AudioFormat, from_wav, resample
from rxdeepgram.server import DeepgramServer

pytestmark = [
    pytest.mark.timeout(240),  # bounds a stuck run only: pocketsphinx is slow on a busy machine
    pytest.mark.skipif(
        importlib.util.find_spec("pocketsphinx") is None, reason="needs the local extra"
    ),
]

DATA = Path(__file__).resolve().parent / "data"
CLIPS = sorted(p.stem for p in DATA.glob("*.wav"))
MAX_WER = 0.25
CLOSE_S = 120.0
"""close_timeout: the clips are sent faster than real time, so pocketsphinx works through most of
each after the CloseStream; on a loaded machine that took over the default 10 s. These tests
check what is heard, not how fast: the bound only ends a stuck run."""


def reference(clip: str) -> str:
    return (DATA / f"{clip}.txt").read_text()


@pytest.fixture(scope="module")
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine="local") as srv:
        yield srv


def listen_v1(url: str, clip: str, interim: bool) -> list[str]:
    client = DeepgramClient(api_key="k", base_url=url, close_timeout=CLOSE_S)
    source = from_wav(DATA / f"{clip}.wav", realtime=False)
    finals: list[str] = source.pipe(
        client.listen.v1.transcribe(
            model="nova-3", interim_results=interim, **source.format.options()
        ),
        dgo.final_transcripts(),
        ops.to_list(),
    ).run()
    return finals


def test_there_are_clips() -> None:
    assert len(CLIPS) >= 3


@pytest.mark.parametrize("interim", [False, True], ids=["finals", "interims"])
@pytest.mark.parametrize("clip", CLIPS)
def test_listen_v1_sync(server: DeepgramServer, clip: str, interim: bool) -> None:
    finals = listen_v1(server.url, clip, interim)
    rate = word_error_rate(reference(clip), " ".join(finals))
    assert rate <= MAX_WER, (clip, finals)


@pytest.mark.parametrize("clip", CLIPS)
async def test_listen_v1_async(server: DeepgramServer, clip: str) -> None:
    client = AsyncDeepgramClient(api_key="k", base_url=server.url, close_timeout=CLOSE_S)
    source = from_wav(DATA / f"{clip}.wav", realtime=False)
    done: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
    source.pipe(
        client.listen.v1.transcribe(model="nova-3", **source.format.options()),
        dgo.final_transcripts(),
        ops.to_list(),
    ).subscribe(done.set_result, done.set_exception)
    finals = await asyncio.wait_for(done, CLOSE_S)
    rate = word_error_rate(reference(clip), " ".join(finals))
    assert rate <= MAX_WER, (clip, finals)


@pytest.mark.parametrize("clip", CLIPS)
def test_listen_v2_turns(server: DeepgramServer, clip: str) -> None:
    client = DeepgramClient(api_key="k", base_url=server.url, close_timeout=CLOSE_S)
    source = from_wav(DATA / f"{clip}.wav", realtime=False)
    turns = source.pipe(
        client.listen.v2.transcribe(model="flux-general-en", **source.format.options()),
        dgo.turns(),
        ops.filter(lambda turn: turn.final),
        ops.map(lambda turn: turn.transcript),
        ops.to_list(),
    ).run()
    rate = word_error_rate(reference(clip), " ".join(turns))
    assert rate <= MAX_WER, (clip, turns)


@pytest.mark.parametrize("clip", CLIPS)
def test_a_cold_engine_is_as_accurate_as_a_warm_one(clip: str) -> None:
    with DeepgramServer(engine="local") as fresh:
        cold = listen_v1(fresh.url, clip, interim=True)
        warm = listen_v1(fresh.url, clip, interim=True)
    assert word_error_rate(reference(clip), " ".join(cold)) <= MAX_WER, cold
    assert cold == warm


@pytest.mark.parametrize("rate", [24000, 44100, 48000])
def test_audio_at_other_rates_is_heard_as_well(server: DeepgramServer, rate: int) -> None:
    # The clips, converted well to ``rate``: the server brings them back to pocketsphinx's
    # 16 kHz with its sinc filter (linear interpolation made 24 kHz cost 29 % WER).
    client = DeepgramClient(api_key="k", base_url=server.url, close_timeout=CLOSE_S)
    fmt = AudioFormat("linear16", rate)
    errors = words = 0
    for clip in CLIPS:
        source = from_wav(DATA / f"{clip}.wav", realtime=False).pipe(
            resample(AudioFormat("linear16", 16000), fmt)
        )
        finals = source.pipe(
            client.listen.v1.transcribe(model="nova-3", **fmt.options()),
            dgo.final_transcripts(),
            ops.to_list(),
        ).run()
        counts = word_errors(reference(clip), " ".join(finals))
        errors, words = errors + counts.errors, words + counts.reference_words
    assert errors / words <= 0.1, (rate, errors, words)
