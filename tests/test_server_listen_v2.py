"""The local server's /v2/listen (Flux) channel against a raw ``websockets`` client on loopback.

Audio is synthetic (tone bursts for speech, zeros for silence, see ``audio_util``) and the
scripted engine supplies the words, so every message sequence is exact. Each TurnInfo is
summarised as ``"<event>/<turn_index> @<audio_window_end> '<transcript>' c=<confidence>"``.

The timeline rules being checked (module docstring of ``rxdeepgram.server.listen_v2``): speech
is confirmed 50 ms after it starts and a segment ends 200 ms after it stops; Updates come every
0.25 s from StartOfTurn; the end-of-turn confidence is the silence since the last speech divided
by ``eot_timeout_ms``.
"""

from __future__ import annotations

import asyncio
import json
import wave
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from audio_util import chunks, concat, mulaw, pcm16, silence, tone
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from rxdeepgram.messages import Unknown, listen_v2
from rxdeepgram.server import DeepgramServer, ScriptedEngine
from rxdeepgram.server.engines import RecognizedWord, ScriptedStream

FLUX = "model=flux-general-en&encoding=linear16&sample_rate=16000"
SCRIPT = ["Hello there.", "How are you?", "Fine thanks."]
CLOSE_STREAM = json.dumps({"type": "CloseStream"})
FORCE_END_TURN = json.dumps({"type": "ForceEndTurn"})

pytestmark = pytest.mark.timeout(30)


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

    def turn_info(self, event: str | None = None) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages
            if m["type"] == "TurnInfo" and (event is None or m["event"] == event)
        ]

    def events(self) -> list[str]:
        """Message types, with TurnInfo replaced by its event."""
        return [m["event"] if m["type"] == "TurnInfo" else m["type"] for m in self.messages]

    def summary(self) -> list[str]:
        out = []
        for m in self.messages:
            if m["type"] != "TurnInfo":
                out.append(m["type"])
                continue
            line = (
                f"{m['event']}/{m['turn_index']} @{m['audio_window_end']:g} "
                f"{m['transcript']!r} c={m['end_of_turn_confidence']:g}"
            )
            if m.get("trigger"):
                line += f" {m['trigger']}"
            out.append(line)
        return out


async def _collect(ws: ClientConnection, outcome: Outcome) -> None:
    try:
        async for frame in ws:
            assert isinstance(frame, str), "the server never sends binary on /v2/listen"
            decoded = listen_v2.decode(frame)
            assert not isinstance(decoded, Unknown), decoded
            outcome.messages.append(json.loads(frame))
    except ConnectionClosed:
        pass


async def run_session(
    url: str, frames: Sequence[bytes | str], *, close: bool = True, size: int = 3200
) -> Outcome:
    """Send ``frames`` (bytes: audio, cut in ``size``-byte frames; str: a text message), then
    CloseStream when ``close``; return everything received until the server closed."""
    outcome = Outcome()
    async with connect(url) as ws:
        assert ws.response is not None
        outcome.request_id = ws.response.headers.get("dg-request-id")
        reader = asyncio.create_task(_collect(ws, outcome))
        try:
            for frame in frames:
                if isinstance(frame, str):
                    await ws.send(frame)
                else:
                    for chunk in chunks(frame, size):
                        await ws.send(chunk)
            if close:
                await ws.send(CLOSE_STREAM)
        except ConnectionClosed:
            pass
        await asyncio.wait_for(reader, 10)
        outcome.close_code = ws.close_code
        outcome.close_reason = ws.close_reason or ""
    check_invariants(outcome)
    return outcome


def check_invariants(outcome: Outcome) -> None:
    """Rules every session keeps, whatever the scenario."""
    messages = outcome.messages
    if not messages:
        return
    assert messages[0]["type"] == "Connected"
    assert [m["sequence_id"] for m in messages] == list(range(len(messages)))
    for m in messages:
        if "request_id" in m:
            assert m["request_id"] == outcome.request_id
    state, turn, eager_transcript = "idle", 0, None
    for m in outcome.turn_info():
        event = m["event"]
        assert m["transcript"] == " ".join(w["word"] for w in m["words"])
        assert m["audio_window_start"] <= m["audio_window_end"]
        assert 0.0 <= m["end_of_turn_confidence"] <= 1.0
        assert m["turn_index"] == turn
        assert ("trigger" in m) == (event == "EndOfTurn")
        for w in m["words"]:
            assert set(w) == {"word", "confidence", "start", "end"}
            assert w["start"] <= w["end"]
        if event == "StartOfTurn":
            assert state == "idle"
            state = "ongoing"
        elif event == "EagerEndOfTurn":
            assert state == "ongoing" and m["transcript"]
            state, eager_transcript = "awaiting", m["transcript"]
        elif event == "TurnResumed":
            assert state == "awaiting"
            state = "ongoing"
        elif event == "EndOfTurn":
            assert state != "idle"
            if state == "awaiting" and m["trigger"] != "manual":
                assert m["transcript"] == eager_transcript
            state, turn = "idle", turn + 1
        else:
            assert event == "Update" and state != "idle"


def speech(*parts: tuple[str, float]) -> bytes:
    """('s', 0.5) silence, ('t', 1.2) tone; as 16 kHz linear16."""
    makers = {"s": silence, "t": tone}
    return pcm16(concat(*(makers[kind](seconds) for kind, seconds in parts)))


def scripted() -> ScriptedEngine:
    return ScriptedEngine(SCRIPT)


def configure(**fields: Any) -> str:
    return json.dumps({"type": "Configure", **fields})


# --- turns ---------------------------------------------------------------------------------


async def test_turns_without_eager_mode_exact_sequence() -> None:
    audio = speech(("s", 0.3), ("t", 1.0), ("s", 1.0), ("t", 0.8), ("s", 1.0))
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{FLUX}&eot_timeout_ms=1000", [audio])

    # Speech 0.3-1.3 s: onset confirmed at 0.35, words as they are heard, the segment closes at
    # 1.5 (200 ms of quiet), confidence = silence since 1.3 / 1.0 s, EndOfTurn at 0.7.
    assert out.summary() == [
        "Connected",
        "StartOfTurn/0 @0.35 '' c=0",
        "Update/0 @0.6 'Hello' c=0",
        "Update/0 @0.85 'Hello' c=0",
        "Update/0 @1.1 'Hello there.' c=0",
        "Update/0 @1.35 'Hello there.' c=0",
        "Update/0 @1.6 'Hello there.' c=0.3",
        "Update/0 @1.85 'Hello there.' c=0.55",
        "EndOfTurn/0 @2 'Hello there.' c=0.7 model",
        "StartOfTurn/1 @2.35 '' c=0",
        "Update/1 @2.6 'How' c=0",
        "Update/1 @2.85 'How' c=0",
        "Update/1 @3.1 'How are' c=0",
        "Update/1 @3.35 'How are you?' c=0.25",
        "Update/1 @3.6 'How are you?' c=0.5",
        "EndOfTurn/1 @3.8 'How are you?' c=0.7 model",
    ]
    assert out.close_code == 1005 and out.close_reason == ""
    first_end, second_start = out.turn_info("EndOfTurn")[0], out.turn_info("StartOfTurn")[1]
    assert [m["audio_window_start"] for m in out.turn_info("EndOfTurn")] == [0.0, 2.0]
    assert second_start["audio_window_start"] == first_end["audio_window_end"]
    words = first_end["words"]
    assert [w["word"] for w in words] == ["Hello", "there."]
    assert words[0]["start"] == pytest.approx(0.3) and words[-1]["end"] == pytest.approx(1.3)
    assert all(0.9 <= w["confidence"] <= 1.0 for w in words)


async def test_eager_mode_exact_sequence() -> None:
    # Speech, a 0.6 s pause (long enough for EagerEndOfTurn at 0.5, too short for EndOfTurn at
    # 0.7), speech again in the same turn, then a long pause; then a second turn.
    audio = speech(("s", 0.3), ("t", 1.0), ("s", 0.6), ("t", 0.8), ("s", 1.2), ("t", 0.5))
    query = f"{FLUX}&eager_eot_threshold=0.5&eot_timeout_ms=1000"
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{query}", [audio])

    assert out.summary() == [
        "Connected",
        "StartOfTurn/0 @0.35 '' c=0",
        "Update/0 @0.6 'Hello' c=0",
        "Update/0 @0.85 'Hello' c=0",
        "Update/0 @1.1 'Hello there.' c=0",
        "Update/0 @1.35 'Hello there.' c=0",
        "Update/0 @1.6 'Hello there.' c=0.3",
        "EagerEndOfTurn/0 @1.8 'Hello there.' c=0.5",
        "Update/0 @1.85 'Hello there.' c=0.55",
        "TurnResumed/0 @1.95 'Hello there.' c=0",
        "Update/0 @2.1 'Hello there.' c=0",
        "Update/0 @2.35 'Hello there. How' c=0",
        "Update/0 @2.6 'Hello there. How are' c=0",
        "Update/0 @2.85 'Hello there. How are' c=0",
        "Update/0 @3.1 'Hello there. How are you?' c=0.4",
        "EagerEndOfTurn/0 @3.2 'Hello there. How are you?' c=0.5",
        "Update/0 @3.35 'Hello there. How are you?' c=0.65",
        "EndOfTurn/0 @3.4 'Hello there. How are you?' c=0.7 model",
        "StartOfTurn/1 @3.95 '' c=0",
        "Update/1 @4.2 'Fine' c=0",
        "Update/1 @4.4 'Fine thanks.' c=0",  # the trailing Update after CloseStream
    ]
    eager, end = out.turn_info("EagerEndOfTurn")[-1], out.turn_info("EndOfTurn")[0]
    assert end["transcript"] == eager["transcript"]
    assert end["words"] == eager["words"]
    assert out.close_code == 1005


async def test_eot_threshold_one_leaves_the_timeout_to_end_the_turn() -> None:
    audio = speech(("t", 0.5), ("s", 0.9))
    query = f"{FLUX}&eot_threshold=1.0&eot_timeout_ms=600"
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{query}", [audio])
    assert out.summary() == [
        "Connected",
        "StartOfTurn/0 @0.05 '' c=0",
        "Update/0 @0.3 'Hello' c=0",
        "Update/0 @0.55 'Hello' c=0",
        "Update/0 @0.8 'Hello there.' c=0.5",
        "Update/0 @1.05 'Hello there.' c=0.9167",
        "EndOfTurn/0 @1.1 'Hello there.' c=1 timeout",
    ]


async def test_default_thresholds_end_a_turn_three_and_a_half_seconds_after_speech() -> None:
    audio = speech(("t", 0.5), ("s", 4.0))
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{FLUX}", [audio])
    (end,) = out.turn_info("EndOfTurn")
    assert end["audio_window_end"] == pytest.approx(0.5 + 3.5)  # 0.7 x 5000 ms
    assert (end["trigger"], end["end_of_turn_confidence"]) == ("model", 0.7)
    assert out.events().count("EagerEndOfTurn") == 0
    updates = out.turn_info("Update")
    assert len(updates) == 15  # every 0.25 s from StartOfTurn (0.05 s) until EndOfTurn


async def test_messages_do_not_depend_on_how_the_audio_is_chunked() -> None:
    audio = speech(("s", 0.2), ("t", 0.9), ("s", 0.6), ("t", 0.6), ("s", 1.1))
    query = f"{FLUX}&eager_eot_threshold=0.4&eot_timeout_ms=1000"
    summaries = []
    async with DeepgramServer(engine=scripted()) as srv:
        for size in (320, 3200, 7777, len(audio)):
            out = await run_session(f"{srv.url}/v2/listen?{query}", [audio], size=size)
            summaries.append(out.summary())
    assert all(s == summaries[0] for s in summaries)
    assert "TurnResumed/0 @1.75 'Hello there.' c=0" in summaries[0]
    assert summaries[0][-1] == "EndOfTurn/0 @3 'Hello there. How are you?' c=0.7 model"


async def test_mulaw_at_8khz_gives_the_same_turns() -> None:
    samples = concat(silence(0.3, 8000), tone(1.0, 8000), silence(1.0, 8000))
    query = "model=flux-general-en&encoding=mulaw&sample_rate=8000&eot_timeout_ms=1000"
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{query}", [mulaw(samples)], size=800)
    ends = out.turn_info("EndOfTurn")
    assert [(m["transcript"], m["audio_window_end"]) for m in ends] == [("Hello there.", 2.0)]


async def test_a_blocking_engine_gives_the_same_messages() -> None:
    class Blocking(ScriptedEngine):
        blocking = True

    audio = speech(("t", 0.7), ("s", 0.5), ("t", 0.5), ("s", 1.0))
    query = f"{FLUX}&eager_eot_threshold=0.3&eot_timeout_ms=800"
    async with DeepgramServer(engine=scripted()) as srv:
        plain = await run_session(f"{srv.url}/v2/listen?{query}", [audio])
    async with DeepgramServer(engine=Blocking(SCRIPT)) as srv:
        threaded = await run_session(f"{srv.url}/v2/listen?{query}", [audio])
    assert threaded.summary() == plain.summary()
    assert "TurnResumed" in plain.events()


def test_the_local_engine_hears_real_words() -> None:
    pytest.importorskip("pocketsphinx")
    from rxdeepgram.server.engines import get_engine

    path = Path(__file__).resolve().parent / "data" / "order_status.wav"
    with wave.open(str(path), "rb") as clip:
        samples = array("h")
        samples.frombytes(clip.readframes(clip.getnframes()))
    audio = pcm16(concat(silence(0.2), samples, silence(1.0)))

    async def go() -> Outcome:
        async with DeepgramServer(engine=get_engine("local")) as srv:
            query = f"{FLUX}&eot_timeout_ms=1000"
            return await run_session(f"{srv.url}/v2/listen?{query}", [audio])

    out = asyncio.run(go())
    (end,) = out.turn_info("EndOfTurn")
    assert end["trigger"] == "model"
    heard = end["transcript"].lower().split()
    assert {"check", "order", "status"} <= set(heard), end["transcript"]
    assert end["transcript"][0].isupper()


# --- Configure -----------------------------------------------------------------------------


async def test_configure_success_echoes_and_applies_from_that_point_of_the_audio() -> None:
    frames = [
        speech(("t", 1.0)),
        configure(
            thresholds={"eot_threshold": 0.9, "eot_timeout_ms": 2000},
            keyterms=["rxdeepgram", "order number"],
        ),
        speech(("s", 2.0)),
    ]
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{FLUX}&eot_timeout_ms=1000", frames)
    assert out.summary() == [
        "Connected",
        "StartOfTurn/0 @0.05 '' c=0",
        "Update/0 @0.3 'Hello' c=0",
        "Update/0 @0.55 'Hello' c=0",
        "Update/0 @0.8 'Hello there.' c=0",
        "ConfigureSuccess",
        "Update/0 @1.05 'Hello there.' c=0",
        "Update/0 @1.3 'Hello there.' c=0.15",
        "Update/0 @1.55 'Hello there.' c=0.275",
        "Update/0 @1.8 'Hello there.' c=0.4",
        "Update/0 @2.05 'Hello there.' c=0.525",
        "Update/0 @2.3 'Hello there.' c=0.65",
        "Update/0 @2.55 'Hello there.' c=0.775",
        "EndOfTurn/0 @2.8 'Hello there.' c=0.9 model",  # 0.9 x 2000 ms after speech
    ]
    success = out.messages[5]
    assert success == {
        "type": "ConfigureSuccess",
        "request_id": out.request_id,
        "thresholds": {"eot_threshold": 0.9, "eot_timeout_ms": 2000},
        "keyterms": ["rxdeepgram", "order number"],
        "sequence_id": 5,
    }


async def test_configure_keeps_omitted_values_and_replaces_keyterms() -> None:
    frames = [
        configure(thresholds={"eager_eot_threshold": 0.4}),
        configure(keyterms="single"),
        configure(keyterms=[], numerals=True),
    ]
    query = f"{FLUX}&eot_threshold=0.8&keyterm=first&keyterm=second+term"
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{query}", frames)
    successes = [m for m in out.messages if m["type"] == "ConfigureSuccess"]
    assert [(m["thresholds"], m["keyterms"], m.get("numerals")) for m in successes] == [
        (
            {"eager_eot_threshold": 0.4, "eot_threshold": 0.8, "eot_timeout_ms": 5000},
            ["first", "second term"],
            None,
        ),
        (
            {"eager_eot_threshold": 0.4, "eot_threshold": 0.8, "eot_timeout_ms": 5000},
            ["single"],
            None,
        ),
        ({"eager_eot_threshold": 0.4, "eot_threshold": 0.8, "eot_timeout_ms": 5000}, [], True),
    ]
    assert out.close_code == 1005


@pytest.mark.parametrize(
    "fields",
    [
        {"thresholds": {"eot_threshold": 0.3}},
        {"thresholds": {"eot_threshold": 0.95}},
        {"thresholds": {"eager_eot_threshold": 0.1}},
        {"thresholds": {"eager_eot_threshold": 0.8}},  # above eot_threshold (0.7)
        {"thresholds": {"eot_timeout_ms": 100}},
        {"thresholds": {"eot_timeout_ms": 1500.5}},  # not an integer
        {"thresholds": {"eot_threshold": "high"}},
        {"keyterms": ["weighted:0.15"]},
        {"language_hints": ["en", "es"]},  # only with flux-general-multi
        {"surprise": True},
    ],
    ids=lambda fields: json.dumps(fields),
)
async def test_invalid_configure_fails_and_changes_nothing(fields: dict[str, Any]) -> None:
    frames = [configure(**fields), configure()]
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{FLUX}&keyterm=kept", frames)
    assert out.types == ["Connected", "ConfigureFailure", "ConfigureSuccess"]
    failure, success = out.messages[1], out.messages[2]
    assert failure["sequence_id"] == 1 and failure["request_id"] == out.request_id
    assert failure["code"] == "INVALID_CONFIGURE" and failure["description"]
    assert success["thresholds"] == {"eot_threshold": 0.7, "eot_timeout_ms": 5000}
    assert success["keyterms"] == ["kept"]
    assert out.close_code == 1005


async def test_language_hints_on_the_multilingual_model() -> None:
    query = "model=flux-general-multi&encoding=linear16&sample_rate=16000&language_hint=en"
    frames = [
        configure(language_hints=["en", "es"]),
        speech(("t", 0.6), ("s", 4.0)),
        configure(language_hints=[""]),
    ]
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{query}", frames)
    success = out.messages[1]
    assert success["type"] == "ConfigureSuccess"
    assert success["language_hints"] == ["en", "es"]
    assert all(m["languages_hinted"] == ["en", "es"] for m in out.turn_info())
    assert all("languages" not in m for m in out.turn_info())
    assert out.types[-1] == "ConfigureFailure"  # empty hints are refused


# --- ForceEndTurn --------------------------------------------------------------------------


async def test_force_end_turn_ends_the_turn_manually() -> None:
    frames = [
        speech(("t", 0.9)),
        FORCE_END_TURN,  # mid-speech: the open segment is transcribed, the turn ends
        speech(("t", 0.4), ("s", 0.3)),  # speech goes on: a new turn
        FORCE_END_TURN,
        FORCE_END_TURN,  # no active turn
    ]
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{FLUX}", frames)
    assert out.summary() == [
        "Connected",
        "StartOfTurn/0 @0.05 '' c=0",
        "Update/0 @0.3 'Hello' c=0",
        "Update/0 @0.55 'Hello' c=0",
        "Update/0 @0.8 'Hello there.' c=0",
        "EndOfTurn/0 @0.9 'Hello there.' c=0 manual",
        "StartOfTurn/1 @0.91 '' c=0",
        "Update/1 @1.16 '' c=0",
        "Update/1 @1.41 'How' c=0",
        "EndOfTurn/1 @1.6 'How are you?' c=0.06 manual",
        "Warning",
    ]
    warning = out.messages[-1]
    assert warning["code"] == "FORCE_END_TURN_NO_ACTIVE_TURN"
    assert warning["request_id"] == out.request_id


async def test_force_end_turn_after_an_eager_end_needs_no_second_eager() -> None:
    frames = [speech(("t", 0.6), ("s", 0.6)), FORCE_END_TURN, speech(("s", 0.3))]
    query = f"{FLUX}&eager_eot_threshold=0.3&eot_timeout_ms=1000"
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{query}", frames)
    assert out.events()[-3:] == ["EagerEndOfTurn", "Update", "EndOfTurn"]
    eager, end = out.turn_info("EagerEndOfTurn")[0], out.turn_info("EndOfTurn")[0]
    assert (end["trigger"], end["transcript"]) == ("manual", eager["transcript"])
    assert end["audio_window_end"] == pytest.approx(1.2)


# --- CloseStream ---------------------------------------------------------------------------


async def test_close_stream_sends_trailing_updates_and_closes_without_a_status() -> None:
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{FLUX}", [speech(("t", 1.0))])
    assert out.events() == ["Connected", "StartOfTurn", "Update", "Update", "Update", "Update"]
    last = out.messages[-1]
    assert (last["transcript"], last["audio_window_end"]) == ("Hello there.", 1.0)
    assert [w["end"] for w in last["words"]][-1] == pytest.approx(1.0)
    assert "EndOfTurn" not in out.events()
    assert (out.close_code, out.close_reason) == (1005, "")


async def test_close_stream_with_no_audio_sends_only_connected() -> None:
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{FLUX}", [])
    assert out.messages == [{"type": "Connected", "request_id": out.request_id, "sequence_id": 0}]
    assert out.close_code == 1005


async def test_close_stream_between_turns_sends_nothing_more() -> None:
    audio = speech(("t", 0.5), ("s", 1.0))
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{FLUX}&eot_timeout_ms=500", [audio])
    assert out.events()[-1] == "EndOfTurn"
    assert out.close_code == 1005


async def test_an_empty_binary_frame_acts_as_close_stream_and_later_frames_are_ignored() -> None:
    frames = [speech(("t", 0.6)), b"", speech(("t", 0.5))]
    async with DeepgramServer(engine=scripted()) as srv:
        url = f"{srv.url}/v2/listen?{FLUX}"
        out = Outcome()
        async with connect(url) as ws:
            for frame in frames:
                await ws.send(frame)
            reader = asyncio.create_task(_collect(ws, out))
            await asyncio.wait_for(reader, 10)
            out.close_code = ws.close_code
    assert out.events()[-1] == "Update"
    assert out.messages[-1]["audio_window_end"] == 0.6
    assert out.close_code == 1005


# --- fatal errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "KeepAlive"}',  # a Listen V1 message, not a Listen V2 one
        '{"type": "Finalize"}',
        '{"type": "CloseStream", "extra": 1}',
        "not json",
    ],
)
async def test_an_unknown_client_message_is_a_fatal_error(text: str) -> None:
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{FLUX}", [speech(("s", 0.2)), text])
    assert out.types == ["Connected", "Error"]
    error = out.messages[1]
    assert error["sequence_id"] == 1
    assert error["code"] == "UNPARSABLE_CLIENT_MESSAGE" and error["description"]
    assert out.close_code == 1008
    assert out.close_reason.startswith("DATA-0000 ")


async def test_audio_the_server_cannot_decode_is_a_fatal_error() -> None:
    query = "model=flux-general-en&encoding=opus&sample_rate=48000"
    async with DeepgramServer(engine=scripted()) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{query}", [b"OggS" + bytes(200)])
    assert out.types == ["Connected", "Error"]
    assert out.messages[1]["code"] == "UNSUPPORTED_AUDIO_FORMAT"
    assert "opus" in out.messages[1]["description"]
    assert out.close_code == 1008 and out.close_reason.startswith("DATA-0000 ")


async def test_idle_connection_gets_an_error_then_closes() -> None:
    async with DeepgramServer(engine=scripted(), idle_timeout=0.2) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{FLUX}", [], close=False)
    assert out.types == ["Connected", "Error"]
    assert out.messages[1]["code"] == "CLIENT_MESSAGE_TIMEOUT"
    assert "0.2 s" in out.messages[1]["description"]
    assert out.close_code == 1011 and out.close_reason.startswith("NET-0001 ")


async def test_an_engine_failure_is_an_internal_server_error() -> None:
    class Broken(ScriptedStream):
        def transcribe(self, pcm: bytes, start: float, final: bool) -> list[RecognizedWord]:
            raise RuntimeError("engine exploded")

    class BrokenEngine(ScriptedEngine):
        def new_stream(self) -> ScriptedStream:
            return Broken(self)

    async with DeepgramServer(engine=BrokenEngine(SCRIPT)) as srv:
        out = await run_session(f"{srv.url}/v2/listen?{FLUX}", [speech(("t", 0.5))])
    assert out.types == ["Connected", "Error"]
    assert out.messages[1]["code"] == "INTERNAL_SERVER_ERROR"
    assert "exploded" not in out.messages[1]["description"]  # no internals leak
    assert out.close_code == 1011 and out.close_reason.startswith("NET-0000 ")


# --- the handshake -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("model=flux-general-en&sample_rate=16000", "encoding"),
        ("model=flux-general-en&encoding=linear16", "sample_rate"),
        ("encoding=linear16&sample_rate=16000", "model"),
        ("model=nova-3&encoding=linear16&sample_rate=16000", "model"),
        (f"{FLUX}&language_hint=en", "language_hint"),
        (f"{FLUX}&eot_threshold=0.95", "eot_threshold"),
        (f"{FLUX}&eager_eot_threshold=0.8", "eager_eot_threshold"),  # above the default 0.7
        (f"{FLUX}&eot_timeout_ms=20000", "eot_timeout_ms"),
        (f"{FLUX}&keyterm=word%3A0.5", "keyterm"),
        (f"{FLUX}&interim_results=true", "interim_results"),  # a Listen V1 option
        ("model=flux-general-en&encoding=linear16&sample_rate=999999", "sample_rate"),
    ],
)
async def test_bad_options_are_refused_with_400(query: str, option: str) -> None:
    async with DeepgramServer() as srv:
        with pytest.raises(InvalidStatus) as info:
            async with connect(f"{srv.url}/v2/listen?{query}"):
                pass
    response = info.value.response
    assert response.status_code == 400
    assert option in (response.headers.get("dg-error") or "")
    assert response.headers.get("dg-request-id")
    body = json.loads(response.body or b"{}")
    assert body["err_code"] == "Bad Request" and option in body["err_msg"]


async def test_connected_carries_the_handshake_request_id() -> None:
    async with DeepgramServer() as srv, connect(f"{srv.url}/v2/listen?{FLUX}") as ws:
        first = json.loads(await ws.recv())
        assert ws.response is not None
        assert first == {
            "type": "Connected",
            "request_id": ws.response.headers["dg-request-id"],
            "sequence_id": 0,
        }
