"""``rxdeepgram demo``: the whole library in one offline run against the local server.

1. Speak V1 turns a few sentences into audio (``sentences()`` -> ``synthesize``).
2. Listen V1 transcribes that audio as it streams at real time, with live interim results,
   and the finals are scored (word error rate) against the sentences.
3. One Voice Agent turn: the first sentence's audio asks the agent about the weather; the
   agent's ``FunctionCallRequest`` is answered by an Rx pipeline (``function_calls()``) feeding
   the connection's input; the assistant's text and audio come back.

Latency figures are measured on the way: time to the first audio byte, final-transcript
latency per utterance, the agent's reply latency. ``--json`` prints one JSON object instead.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import reactivex as rx
import reactivex.operators as ops

from .. import operators as dgo
from .._client import DeepgramClient
from .._wer import word_error_rate
from ..audio import AudioFormat, from_bytes
from ..endpoint import Endpoint, open_endpoint
from ..errors import DeepgramError
from ..messages import agent_v1, listen_v1, speak_v1
from ._output import Console

__all__ = ["add_parser", "run"]

Operator: TypeAlias = Callable[[rx.Observable[object]], rx.Observable[object]]

SENTENCES = (
    "What is the weather like in New York?",
    "I need to change my password.",
    "I want to cancel my subscription.",
    "Where is the nearest hospital?",
)
"""What the demo says (the first one is also the agent's question)."""

FORMAT = AudioFormat("linear16", 16000)
AGENT_OUT = AudioFormat("linear16", 24000)
STEP_TIMEOUT = 60.0
PAUSE_S = 0.9
"""Silence between sentences: longer than the endpointing, so each one is an utterance."""


def add_parser(commands: Any) -> None:
    """Register ``demo`` on the subcommand parsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="offline tour: speak, transcribe live, one agent turn with a function call",
        description=(
            "Start the local Deepgram-compatible server with the best engines installed, speak "
            "a few sentences, transcribe them live, run one voice-agent turn with a function "
            "call, and report word error rate and latency. Offline; under a minute."
        ),
    )
    parser.add_argument(
        "--sentences",
        type=int,
        default=3,
        choices=range(1, len(SENTENCES) + 1),
        metavar=f"1..{len(SENTENCES)}",
        help="how many sentences to speak and transcribe (3)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="stream the audio as fast as possible instead of at real time",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


@dataclass
class _Report:
    engines: dict[str, str] = field(default_factory=dict)
    sentences: list[str] = field(default_factory=list)
    audio_seconds: float = 0.0
    tts_first_byte_ms: float | None = None
    finals: list[str] = field(default_factory=list)
    interim_count: int = 0
    wer: float | None = None
    final_latency_ms: list[float] = field(default_factory=list)
    agent: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        latencies = self.final_latency_ms
        return {
            "engines": self.engines,
            "sentences": self.sentences,
            "audio_seconds": round(self.audio_seconds, 3),
            "finals": self.finals,
            "interim_results": self.interim_count,
            "wer": None if self.wer is None else round(self.wer, 4),
            "latency_ms": {
                "tts_first_byte": _round(self.tts_first_byte_ms),
                "final_transcript": [round(v, 1) for v in latencies],
                "final_transcript_mean": _round(sum(latencies) / len(latencies))
                if latencies
                else None,
                "agent_reply": _round(self.agent.get("reply_latency_ms")),
            },
            "agent": {k: v for k, v in self.agent.items() if k != "reply_latency_ms"},
            "elapsed_s": round(self.elapsed_s, 2),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 when every step worked."""
    console = Console(json_mode=args.json)
    started = time.monotonic()
    report = _Report(sentences=list(SENTENCES[: args.sentences]))
    local = argparse.Namespace(local=True, url=None, api_key=None)
    # The scripted engine (no pocketsphinx) says the sentences, so the demo still runs.
    with open_endpoint(local, script=report.sentences) as endpoint:
        server = endpoint.server
        assert server is not None
        report.engines = {"stt": server.engine.name, "tts": server.tts.name}
        _header(console, endpoint)
        client = endpoint.client()
        pieces = _speak(client, report, console)
        _listen(client, pieces, report, console, realtime=not args.fast)
        _agent(client, pieces[0], report, console)
    report.elapsed_s = time.monotonic() - started
    if args.json:
        console.emit_json(report.as_json())
    else:
        _summary(console, report)
    return 0


def _header(console: Console, endpoint: Endpoint) -> None:
    console.line(f"rxdeepgram demo: {endpoint.describe()}")
    server = endpoint.server
    if server is not None and server.engine.name == "scripted":
        console.line("  (pocketsphinx is not installed: the scripted engine stands in for it;")
        console.line("   pip install 'rxdeepgram[local]' for real recognition)")


# -- 1. speak ---------------------------------------------------------------------------------


def _speak(client: DeepgramClient, report: _Report, console: Console) -> list[bytes]:
    """Each sentence's audio (linear16, 16 kHz), via one Speak connection."""
    console.line()
    count = len(report.sentences)
    console.line(f"1. Speak V1: {count} sentence{'s' if count > 1 else ''} -> audio")
    pieces: list[bytes] = []
    current = bytearray()
    first_byte: list[float] = []
    started = time.monotonic()

    def on_message(message: object) -> None:
        if isinstance(message, bytes):
            if not first_byte:
                first_byte.append(time.monotonic())
            current.extend(message)
        elif isinstance(message, speak_v1.Flushed) and current:
            pieces.append(bytes(current))
            current.clear()
            console.live(f"   synthesized {len(pieces)}/{len(report.sentences)}")

    text: rx.Observable[str] = rx.from_iterable(s + " " for s in report.sentences)
    speech: rx.Observable[object] = text.pipe(
        dgo.sentences(),  # one Speak + Flush per sentence
        client.speak.v1.synthesize(model="aura-2-thalia-en", **FORMAT.options()),
    )
    tap: Operator = ops.do_action(on_message)
    limit: Operator = ops.timeout(STEP_TIMEOUT)
    speech.pipe(tap, limit).run()
    console.end_live()
    if len(pieces) != len(report.sentences) or not all(pieces):
        raise DeepgramError(f"Speak V1 returned {len(pieces)} flushed pieces of audio")
    if first_byte:
        report.tts_first_byte_ms = (first_byte[0] - started) * 1000
    seconds = sum(len(p) for p in pieces) / FORMAT.bytes_per_second
    console.line(f"   {seconds:.1f} s of audio, first byte after {report.tts_first_byte_ms:.0f} ms")
    return pieces


# -- 2. listen --------------------------------------------------------------------------------


def _listen(
    client: DeepgramClient,
    pieces: list[bytes],
    report: _Report,
    console: Console,
    *,
    realtime: bool,
) -> None:
    """Stream the audio through Listen V1, printing interim and final results as they come."""
    silence = bytes(FORMAT.bytes_for(PAUSE_S * 1000))
    pcm = silence[: len(silence) // 3] + b"".join(p + silence for p in pieces)
    report.audio_seconds = len(pcm) / FORMAT.bytes_per_second
    pace = "real time" if realtime else "full speed"
    console.line()
    console.line(f"2. Listen V1: {report.audio_seconds:.1f} s of that audio at {pace}")
    done = threading.Event()
    errors: list[Exception] = []

    def on_result(message: object) -> None:
        if not isinstance(message, listen_v1.Results):
            return
        text = message.channel.alternatives[0].transcript if message.channel.alternatives else ""
        if not text:
            return
        if message.is_final:
            report.finals.append(text)
            console.line(f"   final:   {text}")
        else:
            report.interim_count += 1
            console.live(f"   interim: {text}")

    def on_error(error: Exception) -> None:
        errors.append(error)
        done.set()

    with client.listen.v1.connect(
        model="nova-3", interim_results=True, punctuate=True, **FORMAT.options()
    ) as conn:
        sent = from_bytes(pcm, FORMAT, realtime=realtime).pipe(ops.publish())
        latency = dgo.final_transcript_latency(sent, sample_rate=FORMAT.sample_rate)
        conn.messages.pipe(latency).subscribe(lambda s: report.final_latency_ms.append(s * 1000))
        conn.messages.subscribe(on_result, on_error, done.set)
        sent.subscribe(conn.input)  # completion sends CloseStream; the last results follow
        sent.connect()
        if not done.wait(report.audio_seconds + STEP_TIMEOUT):
            raise DeepgramError("Listen V1 did not finish in time")
    console.end_live()
    if errors:
        raise errors[0]
    report.wer = word_error_rate(" ".join(report.sentences), " ".join(report.finals))


# -- 3. agent ---------------------------------------------------------------------------------


def _settings() -> agent_v1.Settings:
    get_weather = agent_v1.Function(
        name="get_weather",
        description="Today's weather in a city",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string", "description": "the city"}},
            "required": ["city"],
        },
    )
    return agent_v1.Settings(
        audio=agent_v1.Audio(
            input=agent_v1.AudioInput(encoding="linear16", sample_rate=FORMAT.sample_rate),
            output=agent_v1.AudioOutput(
                encoding="linear16", sample_rate=AGENT_OUT.sample_rate, container="none"
            ),
        ),
        agent=agent_v1.Agent(
            listen=agent_v1.ListenSettings(provider=agent_v1.ListenProviderV1(model="nova-3")),
            think=agent_v1.ThinkSettings(
                provider=agent_v1.OpenAiThinkProvider(model="gpt-4o-mini"), functions=[get_weather]
            ),
            speak=agent_v1.SpeakSettings(
                provider=agent_v1.DeepgramSpeakProvider(model="aura-2-thalia-en")
            ),
        ),
    )


def _agent(client: DeepgramClient, question: bytes, report: _Report, console: Console) -> None:
    """One agent turn: the question's audio in, a client-side function call answered by an Rx
    pipeline, the assistant's text and audio out."""
    console.line()
    console.line("3. Voice Agent: one turn with a client-side function call")
    calls: list[dict[str, Any]] = []

    def get_weather(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        city = str(arguments.get("city", "")).title()
        result = {"city": city, "forecast": "sunny", "celsius": 21}
        calls.append({"name": name, "arguments": arguments, "result": result})
        console.line(f"   function call: {name}({json.dumps(arguments)}) -> {json.dumps(result)}")
        return result

    said: dict[str, str] = {}
    audio_bytes = 0
    sent_at: list[float] = []
    first_audio: list[float] = []

    def on_message(message: object) -> None:
        nonlocal audio_bytes
        if isinstance(message, bytes):
            if not first_audio:
                first_audio.append(time.monotonic())
            audio_bytes += len(message)
        elif isinstance(message, agent_v1.ConversationText):
            said[message.role] = message.content
            console.line(f"   {message.role + ':':10} {message.content}")

    pause = bytes(FORMAT.bytes_for(1200))  # the silence that ends the user's turn
    speech_end = _speech_end(question)
    sent = 0

    def stamp_end_of_speech(chunk: bytes) -> None:
        nonlocal sent
        sent += len(chunk)
        if sent >= speech_end and not sent_at:
            sent_at.append(time.monotonic())

    user_audio = from_bytes(question + pause, FORMAT, realtime=True).pipe(
        ops.do_action(stamp_end_of_speech)
    )
    with client.agent.v1.connect() as conn:
        conn.messages.pipe(dgo.function_calls(get_weather)).subscribe(conn.input.on_next)
        conn.messages.subscribe(on_message)
        messages: rx.Observable[object] = conn.messages
        finished: Operator = ops.filter(lambda m: isinstance(m, agent_v1.AgentAudioDone))
        first: Operator = ops.first()
        limit: Operator = ops.timeout(STEP_TIMEOUT)
        done = messages.pipe(finished, first, limit)
        conn.input.on_next(_settings())
        user_audio.subscribe(conn.input.on_next)
        done.run()
    if not calls:
        raise DeepgramError("the agent made no function call")
    report.agent = {
        "function_call": calls[0],
        "user_text": said.get("user", ""),
        "assistant_text": said.get("assistant", ""),
        "audio_bytes": audio_bytes,
        "audio_seconds": round(audio_bytes / AGENT_OUT.bytes_per_second, 2),
    }
    if sent_at and first_audio:
        # From sending the end of the question to the first audio of the reply: what the
        # user waits (it includes the silence the server needs to end the turn).
        report.agent["reply_latency_ms"] = (first_audio[0] - sent_at[0]) * 1000
    console.line(f"   {audio_bytes:,} bytes of agent audio ({report.agent['audio_seconds']} s)")


def _speech_end(pcm: bytes) -> int:
    """Where the speech in ``pcm`` (linear16) ends: the end of its last 20 ms frame whose
    peak is above 1% of full scale (synthesised audio ends with some silence)."""
    frame = FORMAT.bytes_for(20)
    samples = memoryview(pcm[: len(pcm) - len(pcm) % 2]).cast("h")
    step = frame // 2
    for start in range(len(samples) - len(samples) % step, -1, -step):
        window = samples[max(0, start - step) : start]
        if window and max(abs(v) for v in window) > 327:
            return start * 2
    return len(pcm)


# -- summary ----------------------------------------------------------------------------------


def _summary(console: Console, report: _Report) -> None:
    data = report.as_json()
    latency = data["latency_ms"]
    console.line()
    console.line("Summary")
    rows = [("engines", f"{report.engines['stt']} STT, {report.engines['tts']} TTS")]
    if report.wer is not None:
        words = len(" ".join(report.sentences).split())
        rows.append(("word error rate", f"{report.wer:.1%} over {words} words"))
    finals = ", ".join(f"{v:.0f}" for v in latency["final_transcript"])
    rows += [
        ("interim results", str(report.interim_count)),
        ("TTS first byte", _ms(latency["tts_first_byte"])),
        (
            "final-transcript latency",
            f"{_ms(latency['final_transcript_mean'])} mean ({finals or 'none'} ms)",
        ),
        ("agent reply latency", _ms(latency["agent_reply"])),
        ("elapsed", f"{report.elapsed_s:.1f} s"),
    ]
    for label, value in rows:
        console.line(f"   {label + ':':26}{value}")


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"
