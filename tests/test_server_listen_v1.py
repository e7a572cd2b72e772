"""The local server's /v1/listen channel against a real ``websockets`` client on loopback.

Audio is synthetic (tone bursts for speech, zeros for silence, see ``audio_util``); the
scripted engine supplies the words, so every message sequence is exact.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from audio_util import (
    alaw,
    chunks,
    concat,
    interleave,
    mulaw,
    noise,
    pcm16,
    silence,
    tone,
    wav_pcm16,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as sync_connect

from rxdeepgram.messages import listen_v1
from rxdeepgram.server import DeepgramServer, RecognizedWord, ScriptedEngine

RAW16 = "encoding=linear16&sample_rate=16000"
KEY = "sekrit-test-key-0123456789"


@dataclass
class Outcome:
    """What a client saw on one connection."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    request_id: str | None = None

    @property
    def types(self) -> list[str]:
        return [m["type"] for m in self.messages]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def results(self, **match: Any) -> list[dict[str, Any]]:
        return [m for m in self.of("Results") if all(m.get(k) == v for k, v in match.items())]

    def kinds(self) -> list[str]:
        """Message types with Results split into interim / final / speech_final."""
        out = []
        for m in self.messages:
            if m["type"] != "Results":
                out.append(m["type"])
            elif m.get("from_finalize"):
                out.append("Final(finalize)")
            elif m["speech_final"]:
                out.append("SpeechFinal")
            elif m["is_final"]:
                out.append("Final")
            else:
                out.append("Interim")
        return out


def transcript(message: dict[str, Any]) -> str:
    return str(message["channel"]["alternatives"][0]["transcript"])


def words(message: dict[str, Any]) -> list[dict[str, Any]]:
    return list(message["channel"]["alternatives"][0]["words"])


async def _collect(ws: ClientConnection, outcome: Outcome) -> None:
    try:
        async for frame in ws:
            assert isinstance(frame, str), "the server never sends binary on /v1/listen"
            decoded = listen_v1.decode(frame)
            assert not isinstance(decoded, listen_v1.Unknown), decoded
            outcome.messages.append(json.loads(frame))
    except ConnectionClosed:
        pass


async def run_session(
    url: str,
    frames: Sequence[bytes | str | float],
    *,
    close: bool = True,
    **connect_kwargs: Any,
) -> Outcome:
    """Send ``frames`` (bytes: audio, str: text, float: pause in seconds), then CloseStream
    when ``close``; return everything received until the server closed."""
    outcome = Outcome()
    async with connect(url, **connect_kwargs) as ws:
        assert ws.response is not None
        outcome.request_id = ws.response.headers.get("dg-request-id")
        reader = asyncio.create_task(_collect(ws, outcome))
        for frame in frames:
            if isinstance(frame, float):
                await asyncio.sleep(frame)
            else:
                await ws.send(frame)
        if close:
            await ws.send(json.dumps({"type": "CloseStream"}))
        await asyncio.wait_for(reader, 10)
        outcome.close_code = ws.close_code
        outcome.close_reason = ws.close_reason or ""
    return outcome


def audio_frames(samples: Sequence[int], size: int = 3200) -> list[bytes | str | float]:
    return list(chunks(pcm16(samples), size))


def speech(*parts: tuple[str, float]) -> Any:
    """('s', 0.5) silence, ('t', 1.2) tone, ('n', 0.3) noise."""
    makers = {"s": silence, "t": tone, "n": noise}
    return concat(*(makers[kind](seconds) for kind, seconds in parts))


# --- a normal session ------------------------------------------------------------------------


async def test_normal_session_exact_sequence() -> None:
    audio = speech(("s", 0.5), ("t", 1.2), ("s", 1.5))
    raw = pcm16(audio)
    engine = ScriptedEngine(["hello world"])
    query = f"{RAW16}&interim_results=true&vad_events=true&utterance_end_ms=1000&model=nova-3"
    async with DeepgramServer(engine=engine) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", list(chunks(raw)))

    assert out.kinds() == [
        "SpeechStarted",
        "Interim",
        "Interim",
        "SpeechFinal",
        "UtteranceEnd",
        "Metadata",
    ]
    assert out.close_code == 1000
    started, interim1, interim2, final, utterance_end, metadata = out.messages
    assert started == {"type": "SpeechStarted", "channel": [0, 1], "timestamp": 0.5}
    assert transcript(interim1) == "hello"
    assert transcript(interim2) == "hello world"
    assert (interim1["start"], interim1["duration"]) == (0.5, 0.5)
    assert (interim2["start"], interim2["duration"]) == (0.5, 1.0)
    assert "from_finalize" not in interim1
    # The final spreads the words over the real 1.2 s of speech and ends 200 ms into the silence.
    assert transcript(final) == "hello world"
    assert [(w["word"], w["start"], w["end"]) for w in words(final)] == [
        ("hello", 0.5, 1.1),
        ("world", 1.1, 1.7),
    ]
    assert (final["start"], final["duration"]) == (0.5, 1.4)
    assert final["is_final"] is True
    assert final["from_finalize"] is False
    assert final["channel_index"] == [0, 1]
    assert all("punctuated_word" not in w for w in words(final))
    assert 0.9 <= final["channel"]["alternatives"][0]["confidence"] <= 1.0
    assert final["metadata"]["request_id"] == out.request_id
    assert final["metadata"]["model_info"]["name"] == "nova-3"
    assert final["metadata"]["model_info"]["arch"] == "scripted"
    assert utterance_end == {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 1.7}

    assert metadata["transaction_key"] == "deprecated"
    assert metadata["request_id"] == out.request_id
    assert metadata["sha256"] == hashlib.sha256(raw).hexdigest()
    assert metadata["duration"] == pytest.approx(3.2)
    assert metadata["channels"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", metadata["created"])
    uuid_ = final["metadata"]["model_uuid"]
    assert metadata["models"] == [uuid_]
    assert metadata["model_info"] == {uuid_: final["metadata"]["model_info"]}


async def test_script_order_and_punctuation() -> None:
    audio = speech(
        ("s", 0.3), ("t", 0.6), ("s", 0.5), ("n", 1.2), ("s", 0.5), ("t", 0.5), ("s", 0.5)
    )
    engine = ScriptedEngine(["hello world", "how are you today?"], cycle=False)
    query = f"{RAW16}&punctuate=true"
    async with DeepgramServer(engine=engine) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", audio_frames(audio))
    finals = out.results(is_final=True)
    assert [transcript(m) for m in finals] == ["Hello world.", "How are you today?", ""]
    assert [w["punctuated_word"] for w in words(finals[1])] == ["How", "are", "you", "today?"]
    assert [w["word"] for w in words(finals[1])] == ["how", "are", "you", "today"]
    assert out.kinds() == ["SpeechFinal", "SpeechFinal", "SpeechFinal", "Metadata"]


async def test_script_cycles_by_default() -> None:
    audio = speech(("t", 0.5), ("s", 0.5), ("t", 0.5), ("s", 0.5), ("t", 0.5), ("s", 0.5))
    async with DeepgramServer(engine=ScriptedEngine(["one", "two"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{RAW16}", audio_frames(audio))
    assert [transcript(m) for m in out.of("Results")] == ["one", "two", "one"]


async def test_same_audio_same_messages_however_chunked() -> None:
    audio = pcm16(speech(("s", 0.4), ("t", 1.3), ("s", 0.3), ("n", 0.7), ("s", 1.2)))
    query = f"{RAW16}&interim_results=true&vad_events=true&utterance_end_ms=1000"

    async def run(size: int) -> list[dict[str, Any]]:
        async with DeepgramServer(engine=ScriptedEngine(["a b c", "d e"])) as srv:
            out = await run_session(f"{srv.url}/v1/listen?{query}", list(chunks(audio, size)))
        return [
            {k: v for k, v in m.items() if k not in ("metadata", "request_id", "created")}
            for m in out.messages
        ]

    one_frame = await run(len(audio))
    assert await run(777) == one_frame
    assert await run(3200) == one_frame


async def test_server_sends_nothing_before_audio() -> None:
    async with DeepgramServer() as srv, connect(f"{srv.url}/v1/listen?{RAW16}") as ws:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
        await ws.send(json.dumps({"type": "KeepAlive"}))
        await ws.send(json.dumps({"type": "CloseStream"}))
        metadata = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1000
    assert metadata["type"] == "Metadata"
    assert metadata["duration"] == 0.0
    assert metadata["channels"] == 0
    assert metadata["sha256"] == hashlib.sha256(b"").hexdigest()
    assert "models" not in metadata
    assert "model_info" not in metadata


# --- finals, endpointing and utterance end --------------------------------------------------


async def test_interim_results_off_sends_only_finals() -> None:
    audio = speech(("s", 0.2), ("t", 1.5), ("s", 1.5))
    query = f"{RAW16}&vad_events=true&utterance_end_ms=1000"
    async with DeepgramServer(engine=ScriptedEngine(["only finals"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", audio_frames(audio))
    # utterance_end_ms needs interim_results: no UtteranceEnd.
    assert out.kinds() == ["SpeechStarted", "SpeechFinal", "Metadata"]


async def test_endpointing_value_controls_the_endpoint() -> None:
    # 300 ms pauses do not end a segment with endpointing=500; the 600 ms one does.
    audio = speech(("t", 0.5), ("s", 0.3), ("t", 0.5), ("s", 0.6), ("t", 0.4), ("s", 0.6))
    query = f"{RAW16}&endpointing=500"
    async with DeepgramServer(engine=ScriptedEngine(["first part", "second"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", audio_frames(audio))
    finals = out.results(is_final=True)
    assert [transcript(m) for m in finals] == ["first part", "second"]
    assert [(m["start"], m["duration"], m["speech_final"]) for m in finals] == [
        (0.0, 1.8, True),
        (1.9, 0.9, True),
    ]
    assert words(finals[0])[-1]["end"] == 1.3


async def test_endpointing_false_disables_speech_final() -> None:
    audio = speech(("t", 0.5), ("s", 0.5), ("t", 0.5), ("s", 0.5))
    query = f"{RAW16}&endpointing=false"
    async with DeepgramServer(engine=ScriptedEngine(["a", "b"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", audio_frames(audio))
    assert out.kinds() == ["Final", "Final", "Metadata"]
    assert [transcript(m) for m in out.of("Results")] == ["a", "b"]


async def test_long_segment_emits_intermediate_finals() -> None:
    script = " ".join(f"w{i}" for i in range(20))
    audio = speech(("s", 0.2), ("t", 8.0), ("s", 0.5))
    async with DeepgramServer(engine=ScriptedEngine([script])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{RAW16}", audio_frames(audio, 16000))
    assert out.kinds() == ["Final", "SpeechFinal", "Metadata"]
    first, last = out.of("Results")
    assert (first["start"], first["duration"]) == (0.2, 5.0)
    assert (last["start"], last["duration"]) == (5.2, 3.2)
    said = [w["word"] for m in (first, last) for w in words(m)]
    assert said == [f"w{i}" for i in range(20)]
    assert all(w["end"] <= 5.2 for w in words(first))
    assert words(last)[0]["start"] >= words(first)[-1]["end"]


async def test_utterance_end_when_noise_defeats_endpointing() -> None:
    # Endpointing longer than the audio: no speech_final, but UtteranceEnd still arrives.
    audio = speech(("s", 0.2), ("t", 0.6), ("s", 1.5))
    query = f"{RAW16}&interim_results=true&utterance_end_ms=1000&endpointing=5000"
    async with DeepgramServer(engine=ScriptedEngine(["quiet please"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", audio_frames(audio))
    # The interim at 0.7 s has heard one word; the one at 1.2 s (in the pause) the new one,
    # and later ones in the pause, with nothing new, are skipped.
    assert out.kinds() == ["Interim", "Interim", "UtteranceEnd", "Final", "Metadata"]
    first, second = out.results(is_final=False)
    assert (transcript(first), transcript(second)) == ("quiet", "quiet please")
    assert second["start"] + second["duration"] == pytest.approx(1.2)
    assert out.of("UtteranceEnd")[0]["last_word_end"] == 0.8
    assert transcript(out.of("Results")[-1]) == "quiet please"


async def test_utterance_end_shows_newer_words_first() -> None:
    # A short utterance_end_ms falls due before the next interim: the server first sends an
    # interim with the words heard since, and counts the gap from them.
    audio = speech(("s", 0.2), ("t", 0.6), ("s", 1.5))
    query = f"{RAW16}&interim_results=true&utterance_end_ms=300&endpointing=5000"
    async with DeepgramServer(engine=ScriptedEngine(["quiet please"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", audio_frames(audio))
    assert out.kinds() == ["Interim", "Interim", "UtteranceEnd", "Final", "Metadata"]
    first, second = out.results(is_final=False)
    assert words(first)[-1]["end"] == 0.5
    assert second["start"] + second["duration"] == pytest.approx(0.8)
    assert transcript(second) == "quiet please"
    assert out.of("UtteranceEnd")[0]["last_word_end"] == 0.8


class _ThreadCheckingEngine:
    """A blocking engine that records which thread runs it."""

    name = "threads"
    sample_rate = 16000
    blocking = True

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.threads: set[int] = set()
        self.calls: list[tuple[float, bool]] = []

    def new_stream(self) -> _ThreadCheckingEngine:
        self.threads.add(threading.get_ident())
        return self

    def transcribe(self, pcm: bytes, start: float, final: bool) -> list[RecognizedWord]:
        self.threads.add(threading.get_ident())
        self.calls.append((start, final))
        if self.fail:
            raise RuntimeError("engine exploded")
        return [RecognizedWord("blocking", start, start + len(pcm) / 32000, 0.5)]

    def close(self) -> None:
        self.threads.add(threading.get_ident())


async def test_blocking_engine_runs_off_the_event_loop_in_order() -> None:
    engine = _ThreadCheckingEngine()
    audio = speech(("s", 0.2), ("t", 1.1), ("s", 0.5), ("t", 0.6), ("s", 0.5))
    query = f"{RAW16}&interim_results=true"
    async with DeepgramServer(engine=engine) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", audio_frames(audio))
    assert threading.get_ident() not in engine.threads
    assert engine.calls == [(0.2, False), (0.2, False), (0.2, True), (1.8, False), (1.8, True)]
    assert out.kinds() == [
        "Interim",
        "Interim",
        "SpeechFinal",
        "Interim",
        "SpeechFinal",
        "Metadata",
    ]
    assert [words(m)[0]["end"] for m in out.results(is_final=True)] == [1.3, 2.4]


async def test_engine_failure_closes_1011_net_0000() -> None:
    async with DeepgramServer(engine=_ThreadCheckingEngine(fail=True)) as srv:
        out = await run_session(
            f"{srv.url}/v1/listen?{RAW16}", audio_frames(speech(("t", 0.5), ("s", 0.5)))
        )
    assert out.messages == []
    assert out.close_code == 1011
    assert out.close_reason.startswith("NET-0000")


# --- Finalize, CloseStream, KeepAlive, idle -------------------------------------------------


async def test_finalize_flushes_open_segment_with_from_finalize() -> None:
    audio = speech(("s", 0.3), ("t", 1.0))
    frames = [*audio_frames(audio), json.dumps({"type": "Finalize"})]
    frames.append(json.dumps({"type": "Finalize"}))  # nothing buffered any more: no reply
    async with DeepgramServer(engine=ScriptedEngine(["thank you"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{RAW16}&vad_events=true", frames)
    assert out.kinds() == ["SpeechStarted", "Final(finalize)", "Metadata"]
    final = out.of("Results")[0]
    assert final["is_final"] is True
    assert final["speech_final"] is False
    assert transcript(final) == "thank you"
    assert (final["start"], final["duration"]) == (0.3, 1.0)


async def test_finalize_with_nothing_buffered_sends_nothing() -> None:
    frames = [*audio_frames(silence(1.0)), json.dumps({"type": "Finalize"})]
    async with DeepgramServer() as srv:
        out = await run_session(f"{srv.url}/v1/listen?{RAW16}", frames)
    assert out.kinds() == ["Metadata"]
    assert out.messages[0]["duration"] == pytest.approx(1.0)


async def test_speech_continuing_after_finalize_is_a_new_segment() -> None:
    frames = [
        *audio_frames(speech(("s", 0.2), ("t", 0.6))),
        json.dumps({"type": "Finalize"}),
        *audio_frames(speech(("t", 0.6), ("s", 0.5))),
    ]
    async with DeepgramServer(engine=ScriptedEngine(["before", "after"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{RAW16}&vad_events=true", frames)
    assert out.kinds() == ["SpeechStarted", "Final(finalize)", "SpeechFinal", "Metadata"]
    assert [transcript(m) for m in out.of("Results")] == ["before", "after"]
    assert out.of("Results")[1]["start"] == 0.8


async def test_close_stream_flushes_then_metadata_then_1000() -> None:
    audio = speech(("s", 0.2), ("t", 0.9))
    raw = pcm16(audio)
    async with DeepgramServer(engine=ScriptedEngine(["tail end"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{RAW16}", list(chunks(raw)))
    assert out.kinds() == ["Final", "Metadata"]
    final, metadata = out.messages
    assert final["speech_final"] is False
    assert final["from_finalize"] is False
    assert transcript(final) == "tail end"
    assert metadata["sha256"] == hashlib.sha256(raw).hexdigest()
    assert metadata["duration"] == pytest.approx(1.1)
    assert out.close_code == 1000


async def test_empty_binary_frame_closes_like_close_stream() -> None:
    frames = [*audio_frames(speech(("t", 0.5))), b"", json.dumps({"type": "KeepAlive"})]
    async with DeepgramServer(engine=ScriptedEngine(["legacy close"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{RAW16}", frames, close=False)
    assert out.kinds() == ["Final", "Metadata"]
    assert out.close_code == 1000


async def test_idle_timeout_closes_with_net_0001() -> None:
    async with DeepgramServer(idle_timeout=0.3) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{RAW16}", [], close=False)
    assert out.messages == []
    assert out.close_code == 1011
    assert out.close_reason.startswith("NET-0001")


async def test_idle_timeout_after_audio() -> None:
    async with DeepgramServer(idle_timeout=0.3) as srv:
        out = await run_session(
            f"{srv.url}/v1/listen?{RAW16}", audio_frames(silence(0.5)), close=False
        )
    assert out.messages == []
    assert (out.close_code, out.close_reason[:8]) == (1011, "NET-0001")


async def test_keepalive_keeps_the_connection_open() -> None:
    keepalive = json.dumps({"type": "KeepAlive"})
    frames: list[bytes | str | float] = [keepalive, 0.15] * 5  # 0.75 s, idle timeout 0.3 s
    async with DeepgramServer(idle_timeout=0.3) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{RAW16}", frames)
    assert out.kinds() == ["Metadata"]
    assert out.close_code == 1000


async def test_configure_is_acknowledged() -> None:
    frames = [json.dumps({"type": "Configure", "keyterms": ["rxdeepgram"]})]
    async with DeepgramServer() as srv:
        out = await run_session(f"{srv.url}/v1/listen?{RAW16}", frames)
    assert out.kinds() == ["ConfigureSuccess", "Metadata"]
    assert out.messages[0]["keyterms"] == ["rxdeepgram"]


@pytest.mark.parametrize(
    "text",
    ['{"type": "Finalise"}', "not json", '{"type": "KeepAlive", "extra": 1}', "[]"],
)
async def test_invalid_control_message_closes_1008(text: str) -> None:
    async with DeepgramServer() as srv:
        out = await run_session(f"{srv.url}/v1/listen?{RAW16}", [text], close=False)
    assert out.messages == []
    assert out.close_code == 1008
    assert out.close_reason.startswith("DATA-0000")


# --- encodings, containers, channels ---------------------------------------------------------


@pytest.mark.parametrize(("encoding", "encode"), [("mulaw", mulaw), ("alaw", alaw)])
async def test_g711_encodings(encoding: str, encode: Any) -> None:
    audio = speech(("s", 0.5), ("t", 1.0), ("s", 0.6))
    samples_8k = audio[::2]  # 8 kHz: every other sample of the 16 kHz signal
    raw = encode(samples_8k)
    query = f"encoding={encoding}&sample_rate=8000&vad_events=true"
    async with DeepgramServer(engine=ScriptedEngine(["telephone audio"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", list(chunks(raw, 800)))
    assert out.kinds() == ["SpeechStarted", "SpeechFinal", "Metadata"]
    assert out.messages[0]["timestamp"] == 0.5
    assert transcript(out.messages[1]) == "telephone audio"
    assert words(out.messages[1])[-1]["end"] == 1.5
    assert out.messages[2]["duration"] == pytest.approx(2.1)
    assert out.messages[2]["sha256"] == hashlib.sha256(raw).hexdigest()


async def test_linear16_at_48k_is_resampled() -> None:
    audio = concat(silence(0.5, 48000), tone(1.0, 48000), silence(0.5, 48000))
    query = "encoding=linear16&sample_rate=48000&vad_events=true"
    async with DeepgramServer(engine=ScriptedEngine(["high rate"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", audio_frames(audio, 9600))
    assert out.kinds() == ["SpeechStarted", "SpeechFinal", "Metadata"]
    assert out.messages[0]["timestamp"] == 0.5
    assert words(out.messages[1])[-1]["end"] == 1.5
    assert out.messages[2]["duration"] == pytest.approx(2.0)


async def test_wav_without_encoding_is_parsed() -> None:
    left = concat(silence(0.4, 22050), tone(0.8, 22050), silence(0.6, 22050))
    right = concat(silence(1.8, 22050))
    data = wav_pcm16(interleave(left, right), rate=22050, channels=2)
    async with DeepgramServer(engine=ScriptedEngine(["from a wav file"])) as srv:
        # Tiny frames: the header arrives in pieces.
        out = await run_session(
            f"{srv.url}/v1/listen?vad_events=true", [*chunks(data[:100], 10), data[100:]]
        )
    assert out.kinds() == ["SpeechStarted", "SpeechFinal", "Metadata"]
    assert out.messages[0]["timestamp"] == 0.4
    assert out.messages[1]["channel_index"] == [0, 1]
    assert transcript(out.messages[1]) == "from a wav file"
    assert out.messages[2]["channels"] == 2
    assert out.messages[2]["duration"] == pytest.approx(1.8)
    assert out.messages[2]["sha256"] == hashlib.sha256(data).hexdigest()


async def test_multichannel_results_are_independent() -> None:
    left = speech(("s", 0.3), ("t", 0.7), ("s", 2.0))
    right = speech(("s", 1.5), ("n", 0.8), ("s", 0.7))
    stereo = interleave(left, right)
    query = f"{RAW16}&channels=2&multichannel=true&vad_events=true"
    async with DeepgramServer(engine=ScriptedEngine(["first line", "second line"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", audio_frames(stereo, 6400))
    assert [(m["type"], m.get("channel_index") or m.get("channel")) for m in out.messages] == [
        ("SpeechStarted", [0, 2]),
        ("Results", [0, 2]),
        ("SpeechStarted", [1, 2]),
        ("Results", [1, 2]),
        ("Metadata", None),
    ]
    left_final, right_final = out.of("Results")
    assert transcript(left_final) == transcript(right_final) == "first line"
    assert out.of("SpeechStarted")[1]["timestamp"] == 1.5
    assert words(right_final)[-1]["end"] == 2.3
    assert out.of("Metadata")[0]["channels"] == 2


async def test_stereo_without_multichannel_is_downmixed() -> None:
    left = speech(("s", 0.3), ("t", 0.7), ("s", 0.5))
    right = speech(("s", 1.5))
    query = f"{RAW16}&channels=2"
    async with DeepgramServer(engine=ScriptedEngine(["mixed"])) as srv:
        out = await run_session(
            f"{srv.url}/v1/listen?{query}", audio_frames(interleave(left, right), 6400)
        )
    assert out.kinds() == ["SpeechFinal", "Metadata"]
    assert out.messages[0]["channel_index"] == [0, 1]
    assert out.messages[1]["channels"] == 2


async def test_finalize_one_channel() -> None:
    both = interleave(speech(("t", 0.6)), speech(("t", 0.6)))
    frames = [*audio_frames(both, 6400), json.dumps({"type": "Finalize", "channel": 1})]
    query = f"{RAW16}&channels=2&multichannel=true"
    async with DeepgramServer(engine=ScriptedEngine(["x"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", frames)
    assert [(m["channel_index"], m["from_finalize"]) for m in out.of("Results")] == [
        ([1, 2], True),
        ([0, 2], False),
    ]


@pytest.mark.parametrize(
    ("query", "payload", "needle"),
    [
        ("encoding=opus&sample_rate=48000", b"\x01" * 400, "opus"),
        ("encoding=flac&sample_rate=16000", b"fLaC" + bytes(100), "flac"),
        ("", b"OggS" + bytes(100), "ogg"),
        ("", pcm16(tone(0.1)), "encoding"),
        (
            "",
            b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + bytes(16) + b"data" + bytes(8),
            "WAV",
        ),
    ],
)
async def test_undecodable_audio_closes_1008(query: str, payload: bytes, needle: str) -> None:
    async with DeepgramServer() as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", [payload], close=False)
    assert out.messages == []
    assert out.close_code == 1008
    assert out.close_reason.startswith("DATA-0000")
    assert needle.lower() in out.close_reason.lower()


async def test_options_shape_results() -> None:
    audio = speech(("s", 0.2), ("t", 0.6), ("s", 0.5))
    query = f"{RAW16}&smart_format=true&diarize=true&detect_entities=true&extra=team:qa"
    async with DeepgramServer(engine=ScriptedEngine(["order 4572"])) as srv:
        out = await run_session(f"{srv.url}/v1/listen?{query}", audio_frames(audio))
    final, metadata = out.messages
    assert transcript(final) == "Order 4572."
    assert [(w["punctuated_word"], w["speaker"]) for w in words(final)] == [
        ("Order", 0),
        ("4572.", 0),
    ]
    assert final["entities"] == []
    assert final["metadata"]["extra"] == {"team": "qa"}
    assert metadata["extra"] == {"team": "qa"}


# --- the handshake ------------------------------------------------------------------------


async def _rejected(url: str, **kwargs: Any) -> Any:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, **kwargs):
            pass  # pragma: no cover
    return info.value.response


async def test_bad_key_is_401_with_dg_headers_and_json_body() -> None:
    async with DeepgramServer(api_key=KEY) as srv:
        url = f"{srv.url}/v1/listen?{RAW16}"
        for headers in ({"Authorization": "Token wrong"}, {}, {"Authorization": f"Bearer {KEY}"}):
            response = await _rejected(url, additional_headers=headers)
            assert response.status_code == 401
            assert response.headers["dg-error"]
            body = json.loads(response.body)
            assert body["err_code"] == "INVALID_AUTH"
            assert body["err_msg"] == response.headers["dg-error"]
            assert body["request_id"] == response.headers["dg-request-id"]
            assert KEY not in response.body.decode()
        response = await _rejected(url, subprotocols=["token", "wrong"])
        assert response.status_code == 401


async def test_good_key_by_header_or_subprotocol() -> None:
    async with DeepgramServer(api_key=KEY) as srv:
        url = f"{srv.url}/v1/listen?{RAW16}"
        for scheme in ("Token", "token"):
            async with connect(url, additional_headers={"Authorization": f"{scheme} {KEY}"}) as ws:
                assert ws.response is not None
                assert re.fullmatch(r"[0-9a-f-]{36}", ws.response.headers["dg-request-id"])
        async with connect(url, subprotocols=["token", KEY]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "token"


async def test_no_key_configured_accepts_any_credential() -> None:
    async with DeepgramServer() as srv:
        url = f"{srv.url}/v1/listen?{RAW16}"
        for kwargs in (
            {},
            {"additional_headers": {"Authorization": "Token anything"}},
            {"additional_headers": {"Authorization": "Bearer a.b.c"}},
            {"subprotocols": ["bearer", "a.b.c"]},
        ):
            async with connect(url, **kwargs) as ws:
                await ws.send(json.dumps({"type": "CloseStream"}))
                assert json.loads(await ws.recv())["type"] == "Metadata"


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("encoding=bogus&sample_rate=16000", "encoding"),
        ("encoding=linear16", "sample_rate"),
        ("interim_results=maybe", "interim_results"),
        ("endpointing=soon", "endpointing"),
        ("channels=0", "channels"),
        ("colour=blue", "colour"),
    ],
)
async def test_bad_option_is_400_naming_it(query: str, option: str) -> None:
    async with DeepgramServer() as srv:
        response = await _rejected(f"{srv.url}/v1/listen?{query}")
    assert response.status_code == 400
    assert option in response.headers["dg-error"]
    assert response.headers["dg-request-id"]
    assert json.loads(response.body)["request_id"] == response.headers["dg-request-id"]


async def test_unknown_path_is_404() -> None:
    async with DeepgramServer() as srv:
        response = await _rejected(f"{srv.url}/v1/listen/extra")
    assert response.status_code == 404
    assert "/v1/listen/extra" in response.headers["dg-error"]
    assert response.headers["dg-request-id"]


async def test_custom_auth_hook() -> None:
    from rxdeepgram.server import AuthFailure, AuthRequest

    seen: list[AuthRequest] = []

    def hook(request: AuthRequest) -> AuthFailure | None:
        seen.append(request)
        ok = request.credential is not None and request.credential.scheme == "bearer"
        return None if ok else AuthFailure(403, "Bearer tokens only.", "FORBIDDEN")

    async with DeepgramServer(auth=hook) as srv:
        url = f"{srv.url}/v1/listen?{RAW16}"
        async with connect(url, additional_headers={"Authorization": "Bearer jwt-1"}):
            pass
        response = await _rejected(url, additional_headers={"Authorization": "Token k"})
    assert response.status_code == 403
    assert response.headers["dg-error"] == "Bearer tokens only."
    assert [r.path for r in seen] == ["/v1/listen", "/v1/listen"]
    assert seen[0].credential is not None
    assert "jwt-1" not in repr(seen[0])


async def test_key_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("websockets", "websockets.server", "websockets.client", "rxdeepgram"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with DeepgramServer(api_key=KEY) as srv:
        url = f"{srv.url}/v1/listen?{RAW16}"
        await _rejected(url, additional_headers={"Authorization": f"Token {KEY}x"})
        await _rejected(url, subprotocols=["token", f"{KEY}y"])
        server_side = await run_session(
            url,
            audio_frames(speech(("t", 0.3))),
            additional_headers={"Authorization": f"Token {KEY}"},
        )
        assert server_side.close_code == 1000
        assert repr(srv).find(KEY) == -1
    server_records = [r for r in caplog.records if not r.name.startswith("websockets.client")]
    assert any(r.name.startswith("rxdeepgram") for r in server_records)
    for record in server_records:
        text = record.getMessage() + (record.exc_text or "") + str(record.args)
        assert KEY not in text, record.name


# --- the sync form and the pytest fixture --------------------------------------------------------


def test_sync_context_manager_serves_from_a_thread() -> None:
    with DeepgramServer(engine=ScriptedEngine(["sync hello"])) as srv:
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+", srv.url)
        with sync_connect(f"{srv.url}/v1/listen?{RAW16}") as ws:
            for frame in chunks(pcm16(speech(("s", 0.2), ("t", 0.6), ("s", 0.4)))):
                ws.send(frame)
            ws.send(json.dumps({"type": "CloseStream"}))
            received = [json.loads(m) for m in ws]
        url = srv.url
    assert [m["type"] for m in received] == ["Results", "Metadata"]
    assert transcript(received[0]) == "sync hello"
    assert not srv.running
    with pytest.raises(OSError):
        sync_connect(f"{url}/v1/listen", open_timeout=2).close()


def test_start_stop_and_errors() -> None:
    srv = DeepgramServer()
    with pytest.raises(RuntimeError):
        _ = srv.url
    srv.start()
    try:
        assert srv.running
        with pytest.raises(RuntimeError):
            srv.start()
    finally:
        srv.stop()
    srv.stop()  # idempotent
    assert not srv.running
    with pytest.raises(ValueError, match="unknown engine"):
        DeepgramServer(engine="nonesuch")


def test_deepgram_server_fixture(deepgram_server: DeepgramServer) -> None:
    assert deepgram_server.running
    with sync_connect(f"{deepgram_server.url}/v1/listen?{RAW16}") as ws:
        ws.send(pcm16(speech(("t", 0.5), ("s", 0.3))))
        ws.send(json.dumps({"type": "CloseStream"}))
        received = [json.loads(m) for m in ws]
    assert [m["type"] for m in received] == ["Results", "Metadata"]
    assert transcript(received[0]) == "hello from the rxdeepgram local server"


def test_deepgram_server_factory_fixture(deepgram_server_factory: Any) -> None:
    srv = deepgram_server_factory(api_key=KEY, engine=ScriptedEngine(["custom"]))
    with pytest.raises(InvalidStatus):
        sync_connect(f"{srv.url}/v1/listen?{RAW16}").close()
    headers = {"Authorization": f"Token {KEY}"}
    with sync_connect(f"{srv.url}/v1/listen?{RAW16}", additional_headers=headers) as ws:
        ws.send(pcm16(speech(("t", 0.5), ("s", 0.3))))
        ws.send(json.dumps({"type": "CloseStream"}))
        received = [json.loads(m) for m in ws]
    assert transcript(received[0]) == "custom"
