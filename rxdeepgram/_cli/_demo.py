"""``rxdeepgram demo``: the library end to end, offline, against the local server it starts.

1. **Speak V1** turns a few sentences into audio: ``text.pipe(operators.sentences(),
   client.speak.v1.synthesize(...))``, one ``Flush`` per sentence, so each sentence's audio
   ends with a ``Flushed``; ``operators.time_to_first_byte`` times the first audio byte.
2. **Listen V1** transcribes that audio as it streams: ``audio.pipe(audio.pace(...),
   client.listen.v1.transcribe(interim_results=True))``, paced at real time times ``--speed``;
   interim transcripts are shown live, finals as lines; ``operators.final_transcript_latency``
   times each utterance; the finals are scored against the sentences (word error rate).
3. **Agent V1**: one turn on ``/v1/agent/converse``. The settings declare a client-side
   function ``get_weather(city)``; the user's audio is the first sentence's ("What is the
   weather like in New York?"), which makes the server's ``rules`` think step call it; the
   ``FunctionCallRequest`` is answered by ``operators.function_calls(handler)`` piped into the
   connection's input; the assistant's ``ConversationText`` and audio come back.

The server runs with the best engines installed (pocketsphinx and espeak-ng with the ``local``
extra; otherwise the deterministic ``scripted`` / ``tone`` engines, and the report says so).
``--json`` prints one JSON object and nothing else on standard output. A failed step stops the
demo with ``rxdeepgram: error: demo step N (...) failed: ...`` and a non-zero status.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import reactivex as rx
import reactivex.operators as ops
from reactivex.subject import Subject

from .. import operators as dgo
from .._client import DeepgramClient
from .._wer import word_errors
from ..audio import AudioFormat, from_bytes, pace
from ..endpoint import Endpoint, open_endpoint
from ..errors import DeepgramError
from ..messages import agent_v1, speak_v1
from ._output import CommandError, Console, drain

__all__ = ["SENTENCES", "add_parser", "run"]

SENTENCES = (
    "What is the weather like in New York?",
    "I need to change my password.",
    "I want to cancel my subscription.",
    "Where is the nearest hospital?",
)
"""What the demo says; the first one is also the question asked of the agent."""

EVERYDAY_WER = {"wer": 0.269, "errors": 130, "reference_words": 483, "sentences": 60}
"""The same engines' round trip on 60 everyday sentences they were not chosen for
(``tests/data/everyday_sentences.txt``, measured by ``benchmarks/local_roundtrip.py``; see
``docs/accuracy.md``): the demo's own sentences score far better than text in general, so the
demo prints both."""

DEFAULT_SPEED = 2.0
"""Audio goes out at twice real time by default: live enough to watch, done in ~15 s."""

_LOCAL = {"stt": "local", "tts": "local"}

VOICE = "aura-2-thalia-en"
MODEL = "nova-3"
FORMAT = AudioFormat("linear16", 16000)
"""The demo's audio: what Speak V1 returns, Listen V1 and the agent hear."""
AGENT_OUT = AudioFormat("linear16", 24000)
"""What the agent speaks."""
LEAD_IN_MS = 300
PAUSE_MS = 900
"""Silence between sentences, longer than the server's endpointing: one utterance each."""
END_OF_TURN_MS = 1200
"""Silence after the agent question, longer than the agent's end of turn (500 ms)."""
STEP_TIMEOUT = 30.0
"""Seconds a step may take on top of the time its audio takes to send."""

_ENGINES = {
    ("stt", "local"): "pocketsphinx",
    ("stt", "scripted"): "scripted: replays the demo's sentences",
    ("tts", "local"): "espeak-ng",
    ("tts", "tone"): "tones, not speech",
}


def add_parser(commands: Any) -> None:
    """Register ``demo`` on the subcommand parsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="offline tour: speak, transcribe live, one agent turn with a function call",
        description=(
            "Start the local Deepgram-compatible server with the best engines installed, turn "
            "a few sentences into speech (Speak V1), transcribe it live (Listen V1), run one "
            "voice-agent turn with a client-side function call (Agent V1), and report the "
            "word error rate and latencies. Offline; about 12 s at the default speed."
        ),
    )
    parser.add_argument(
        "--sentences",
        type=int,
        default=3,
        choices=range(1, len(SENTENCES) + 1),
        metavar=f"{{1..{len(SENTENCES)}}}",
        help="how many sentences to speak and transcribe (default: 3)",
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=DEFAULT_SPEED,
        metavar="X",
        help=(
            "send audio X times faster than real time (default: %(default)s); "
            "at 1 the agent's reply is paced at real time too"
        ),
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (and nothing else)"
    )
    parser.set_defaults(run=run)


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.25 <= value <= 20:
        raise argparse.ArgumentTypeError(f"must be between 0.25 and 20, got {text}")
    return value


@dataclass
class _Report:
    sentences: list[str]
    speed: float
    engines: dict[str, str] = field(default_factory=dict)
    audio_seconds: float = 0.0
    tts_first_byte_ms: float | None = None
    finals: list[str] = field(default_factory=list)
    interim_count: int = 0
    word_errors: dict[str, int] = field(default_factory=dict)
    wer: float | None = None
    final_latency_ms: list[float] = field(default_factory=list)
    agent: dict[str, Any] = field(default_factory=dict)
    agent_reply_ms: float | None = None
    elapsed_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        latencies = self.final_latency_ms
        return {
            "engines": self.engines,
            "speed": self.speed,
            "sentences": self.sentences,
            "audio_seconds": round(self.audio_seconds, 3),
            "finals": self.finals,
            "interim_results": self.interim_count,
            "wer": None if self.wer is None else round(self.wer, 4),
            "word_errors": self.word_errors,
            "everyday_wer": EVERYDAY_WER if self.engines == _LOCAL else None,
            "latency_ms": {
                "tts_first_byte": _round(self.tts_first_byte_ms),
                "final_transcript": [round(v, 1) for v in latencies],
                "final_transcript_mean": (
                    _round(sum(latencies) / len(latencies)) if latencies else None
                ),
                "agent_reply": _round(self.agent_reply_ms),
            },
            "agent": self.agent,
            "elapsed_s": round(self.elapsed_s, 2),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 when every step worked."""
    from ..server import AgentV1Handler

    console = Console(json_mode=args.json, min_interval=0.05)
    started = time.monotonic()
    report = _Report(sentences=list(SENTENCES[: args.sentences]), speed=args.speed)
    local = argparse.Namespace(local=True, url=None, api_key=None)
    # Faster than real time, the agent's reply comes as fast as it is made, not paced.
    agent = AgentV1Handler(realtime=args.speed <= 1)
    with open_endpoint(
        local,
        script=report.sentences,  # what the scripted engine says when pocketsphinx is missing
        environ={},  # never send a real DEEPGRAM_API_KEY, even to the local server
        routes={"/v1/agent/converse": agent},
    ) as endpoint:
        _header(console, endpoint, report)
        client = endpoint.client()
        with _step(1, "Speak V1"):
            pieces = _speak(client, report, console)
        with _step(2, "Listen V1"):
            _listen(client, pieces, report, console)
        with _step(3, "Agent V1"):
            _agent(client, pieces[0], report, console)
    report.elapsed_s = time.monotonic() - started
    if args.json:
        console.emit_json(report.as_json())
    else:
        _summary(console, report)
    return 0


@contextlib.contextmanager
def _step(number: int, name: str) -> Iterator[None]:
    """Turn a failure inside step ``number`` into a one-line :class:`CommandError`."""
    try:
        yield
    except CommandError as exc:
        raise CommandError(f"demo step {number} ({name}) failed: {exc}", exc.status) from None
    except DeepgramError as exc:
        message = f"demo step {number} ({name}) failed: {type(exc).__name__}: {exc}"
        raise CommandError(message, 2) from None
    except Exception as exc:
        message = f"demo step {number} ({name}) failed: {type(exc).__name__}: {exc}"
        raise CommandError(message) from exc


def _header(console: Console, endpoint: Endpoint, report: _Report) -> None:
    server = endpoint.server
    assert server is not None  # the demo always runs locally
    report.engines = {"stt": server.engine.name, "tts": server.tts.name}
    console.line(f"rxdeepgram demo: offline, on a local Deepgram-compatible server ({server.url})")
    for kind, label in (("stt", "speech-to-text"), ("tts", "text-to-speech")):
        name = report.engines[kind]
        detail = _ENGINES.get((kind, name))
        console.line(f"   {label}: {name}" + (f" ({detail})" if detail else ""))
    if report.engines != _LOCAL:
        console.line("   for real speech engines: pip install 'rxdeepgram[local]'")
    pace_text = "real time" if report.speed == 1 else f"{report.speed:g}x real time (--speed)"
    console.line(f"   audio is sent at {pace_text}")


# -- 1. speak ---------------------------------------------------------------------------------


def _speak(client: DeepgramClient, report: _Report, console: Console) -> list[bytes]:
    """Each sentence's audio, from one Speak V1 connection (a Flush after each sentence)."""
    console.line()
    console.heading(f"1. Speak V1 ({VOICE}, {FORMAT}): {len(report.sentences)} sentence(s)")
    pieces: list[bytes] = []
    current = bytearray()
    first_byte: list[float] = []
    text_sent: Subject[object] = Subject()

    def collect(message: object) -> None:
        if isinstance(message, bytes):
            current.extend(message)
            console.live(f"   synthesizing {len(pieces) + 1}/{len(report.sentences)}...")
        elif isinstance(message, speak_v1.Flushed) and current:
            pieces.append(bytes(current))
            current.clear()
            sentence = report.sentences[len(pieces) - 1]
            console.line(f"   {FORMAT.duration(len(pieces[-1])):4.1f} s  {sentence}")

    def with_first_byte(messages: rx.Observable[object]) -> rx.Observable[object]:
        first = messages.pipe(
            dgo.time_to_first_byte(since=text_sent),
            ops.do_action(first_byte.append),
            ops.ignore_elements(),
        )
        return rx.merge(first, messages)

    speech = rx.from_iterable(s + " " for s in report.sentences).pipe(
        dgo.sentences(),  # Speak + Flush per sentence
        ops.do_action(text_sent.on_next),
        client.speak.v1.synthesize(model=VOICE, **FORMAT.options()),
        ops.publish(with_first_byte),
        ops.do_action(collect),
    )
    drain(speech, timeout=STEP_TIMEOUT, what="Speak V1")
    console.end_live()
    if len(pieces) != len(report.sentences):
        raise CommandError(
            f"expected audio for {len(report.sentences)} sentence(s), got {len(pieces)}"
        )
    if first_byte:
        report.tts_first_byte_ms = first_byte[0] * 1000
        console.line(f"   first audio byte after {report.tts_first_byte_ms:.0f} ms")
    return pieces


# -- 2. listen --------------------------------------------------------------------------------


def _listen(client: DeepgramClient, pieces: list[bytes], report: _Report, console: Console) -> None:
    """Stream the audio through Listen V1 with live interim results; score the finals."""
    silence = bytes(FORMAT.bytes_for(PAUSE_MS))
    pcm = bytes(FORMAT.bytes_for(LEAD_IN_MS)) + b"".join(p + silence for p in pieces)
    report.audio_seconds = FORMAT.duration(len(pcm))
    console.line()
    console.heading(
        f"2. Listen V1 ({MODEL}, interim results): {report.audio_seconds:.1f} s of that audio, "
        f"sent in {report.audio_seconds / report.speed:.1f} s"
    )
    sent: Subject[object] = Subject()
    # pace() at real time for a format `speed` times denser: `speed` times real time.
    paced = AudioFormat(FORMAT.encoding, round(FORMAT.sample_rate * report.speed))
    audio = from_bytes(pcm, FORMAT, realtime=False).pipe(pace(paced), ops.do_action(sent.on_next))

    def show_interim(text: str) -> None:
        report.interim_count += 1
        if console.interactive:
            console.live(f"   ~ {text}")
        else:
            console.line(f"   ~ {text}")

    def show_final(text: str) -> None:
        report.finals.append(text)
        console.line(f"   final: {text}")

    def add_latency(seconds: float) -> None:
        report.final_latency_ms.append(seconds * 1000)

    def measure(messages: rx.Observable[object]) -> rx.Observable[object]:
        latency = messages.pipe(
            dgo.final_transcript_latency(sent, sample_rate=FORMAT.sample_rate),
            ops.do_action(add_latency),
        )
        interims = messages.pipe(dgo.interim_transcripts(), ops.do_action(show_interim))
        finals = messages.pipe(dgo.final_transcripts(), ops.do_action(show_final))
        return rx.merge(latency, interims, finals)

    transcribe = client.listen.v1.transcribe(
        model=MODEL, interim_results=True, punctuate=True, **FORMAT.options()
    )
    results = audio.pipe(transcribe, ops.publish(measure))
    timeout = report.audio_seconds / report.speed + STEP_TIMEOUT
    drain(results, timeout=timeout, what="Listen V1")
    console.end_live()
    if not report.finals:
        raise CommandError("no final transcript came back")
    counts = word_errors(" ".join(report.sentences), " ".join(report.finals))
    report.wer = counts.rate
    report.word_errors = counts._asdict()
    console.line(
        f"   word error rate {counts.rate:.1%}: {counts.errors} error(s) in "
        f"{counts.reference_words} words ({counts.substitutions} substituted, "
        f"{counts.deletions} missed, {counts.insertions} inserted)"
    )
    if report.engines == _LOCAL:
        console.line(
            f"   (these sentences suit the engines; on {EVERYDAY_WER['sentences']} everyday "
            f"sentences the same round trip scores {EVERYDAY_WER['wer']:.1%}: docs/accuracy.md)"
        )


# -- 3. agent ---------------------------------------------------------------------------------


def _settings() -> agent_v1.Settings:
    """The agent: hears linear16 16 kHz, speaks linear16 24 kHz, may call ``get_weather``."""
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
            listen=agent_v1.ListenSettings(provider=agent_v1.ListenProviderV1(model=MODEL)),
            think=agent_v1.ThinkSettings(
                provider=agent_v1.OpenAiThinkProvider(model="gpt-4o-mini"),
                prompt="You are a helpful assistant. Use get_weather for weather questions.",
                functions=[get_weather],
            ),
            speak=agent_v1.SpeakSettings(provider=agent_v1.DeepgramSpeakProvider(model=VOICE)),
        ),
    )


def get_weather(city: str) -> dict[str, Any]:
    """The demo's client-side function: a fixed forecast."""
    return {"city": city.title(), "forecast": "sunny", "celsius": 21}


def _agent(client: DeepgramClient, question: bytes, report: _Report, console: Console) -> None:
    """One agent turn: the question's audio in, a client-side function call answered by an Rx
    pipeline, the assistant's text and audio out."""
    console.line()
    console.heading("3. Agent V1 (/v1/agent/converse): one turn, client-side function get_weather")
    calls: list[dict[str, Any]] = []
    said: dict[str, str] = {}
    audio_bytes = 0
    reply_latency: list[float] = []

    def handler(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = get_weather(str(arguments.get("city", "")))
        calls.append({"name": name, "arguments": arguments, "result": result})
        console.line(f"   function:  {name}({json.dumps(arguments)}) -> {json.dumps(result)}")
        return result

    def show(message: object) -> None:
        nonlocal audio_bytes
        if isinstance(message, bytes):
            audio_bytes += len(message)
            console.live(f"   receiving audio: {AGENT_OUT.duration(audio_bytes):.1f} s")
        elif isinstance(message, agent_v1.ConversationText):
            said[message.role] = message.content
            console.line(f"   {message.role + ':':10} {message.content}")
        elif isinstance(message, agent_v1.AgentThinking):
            console.line(f"   thinking:  {message.content}")
        elif isinstance(message, agent_v1.Warning):
            console.line(f"   warning:   {message.code}: {message.description}")

    # The question, then the silence that ends the user's turn, at the demo's speed; the
    # moment the end of the speech is sent starts the reply-latency clock.
    speech_end = _speech_end(question)
    speech_ended: Subject[object] = Subject()
    sent = 0

    def stamp(chunk: bytes) -> None:
        nonlocal sent
        before, sent = sent, sent + len(chunk)
        if before < speech_end <= sent:
            speech_ended.on_next(True)

    paced = AudioFormat(FORMAT.encoding, round(FORMAT.sample_rate * report.speed))
    pause = bytes(FORMAT.bytes_for(END_OF_TURN_MS))
    user_audio = from_bytes(question + pause, FORMAT, realtime=False).pipe(
        pace(paced), ops.do_action(stamp)
    )
    with client.agent.v1.connect() as conn:
        # The Rx loop: FunctionCallRequest -> handler -> FunctionCallResponse -> the input.
        conn.messages.pipe(dgo.function_calls(handler)).subscribe(on_next=conn.input.on_next)
        conn.messages.pipe(dgo.time_to_first_byte(since=speech_ended)).subscribe(
            reply_latency.append
        )
        reply_done = conn.messages.pipe(
            ops.do_action(show),
            ops.filter(lambda m: isinstance(m, agent_v1.AgentAudioDone)),
            ops.take(1),
        )
        # Not subscribed to the input itself: its completion would close the connection.
        sending = user_audio.pipe(ops.do_action(conn.input.on_next), ops.ignore_elements())
        conn.input.on_next(_settings())
        # The turn is over when the reply is done and the user's audio all sent (the reply
        # may start before the end of the trailing silence).
        turn = rx.merge(reply_done, sending)
        timeout = FORMAT.duration(len(question) + len(pause)) / report.speed + STEP_TIMEOUT
        drain(turn, timeout=timeout, what="the agent's turn")
    console.end_live()
    if not calls:
        raise CommandError("the agent made no function call (was the question understood?)")
    if not said.get("assistant"):
        raise CommandError("the agent said nothing")
    report.agent = {
        "user_text": said.get("user", ""),
        "function_call": calls[0],
        "assistant_text": said["assistant"],
        "audio_bytes": audio_bytes,
        "audio_seconds": round(AGENT_OUT.duration(audio_bytes), 3),
    }
    if reply_latency:
        report.agent_reply_ms = reply_latency[0] * 1000
    console.line(f"   audio:     {audio_bytes:,} bytes ({AGENT_OUT.duration(audio_bytes):.1f} s)")


def _speech_end(pcm: bytes) -> int:
    """The byte offset where the speech in ``pcm`` (linear16) ends: after its last 20 ms frame
    whose peak is above 1% of full scale (synthesized audio ends with some silence)."""
    samples = memoryview(pcm[: len(pcm) - len(pcm) % 2]).cast("h")
    step = FORMAT.frames_for(20)
    for end in range(len(samples), 0, -step):
        window = samples[max(0, end - step) : end]
        if max(abs(v) for v in window) > 327:
            return end * 2
    return len(pcm)


# -- summary ----------------------------------------------------------------------------------


def _summary(console: Console, report: _Report) -> None:
    latency = report.as_json()["latency_ms"]
    finals = ", ".join(f"{v:.0f}" for v in latency["final_transcript"]) or "none"
    speed = "" if report.speed == 1 else f", audio at {report.speed:g}x"
    words = report.word_errors.get("reference_words", 0)
    call = report.agent["function_call"]
    rows = [
        ("engines", f"stt={report.engines['stt']}, tts={report.engines['tts']}"),
        ("word error rate", f"{report.wer or 0:.1%} over {words} words (the sentences above)"),
        *(
            [
                (
                    "  on everyday text",
                    f"{EVERYDAY_WER['wer']:.1%} over {EVERYDAY_WER['reference_words']} words of "
                    f"{EVERYDAY_WER['sentences']} everyday sentences (see docs/accuracy.md)",
                )
            ]
            if report.engines == _LOCAL
            else []
        ),
        ("interim results", str(report.interim_count)),
        ("TTS first byte", _ms(latency["tts_first_byte"])),
        (
            "final-transcript latency",
            f"{_ms(latency['final_transcript_mean'])} mean ({finals} ms{speed})",
        ),
        ("agent function call", f"{call['name']}({json.dumps(call['arguments'])})"),
        ("agent reply latency", _ms(latency["agent_reply"])),
        ("elapsed", f"{report.elapsed_s:.1f} s"),
    ]
    console.line()
    console.line("Summary")
    for label, value in rows:
        console.line(f"   {label + ':':26}{value}")


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"
