"""A voice agent as an Rx pipeline: microphone -> agent -> speaker, with function calls
answered by an Rx pipeline feeding the connection's input.

The agent may call ``get_weather(city)``; ``function_calls()`` turns each request into a call
of our handler and its result into the ``FunctionCallResponse`` the agent waits for::

    python examples/agent_pipeline.py --local --wav question.wav --out agent.wav
    python examples/agent_pipeline.py                       # mic + speaker (mic extra), Deepgram

``--wav FILE`` plays a WAV file (16 kHz mono) in place of the microphone and ``--out FILE``
writes the agent's voice to a WAV file in place of the speaker. With ``--local`` and no
``--wav``, the question is spoken by the local server's own text-to-speech first. Without
``--local`` or ``--url`` it talks to Deepgram (DEEPGRAM_API_KEY).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import reactivex as rx
import reactivex.operators as ops

from rxdeepgram import DeepgramClient, DeepgramError
from rxdeepgram import operators as dgo
from rxdeepgram.audio import AudioFormat, from_bytes, from_microphone, from_wav, speaker, to_wav
from rxdeepgram.endpoint import add_endpoint_arguments, open_endpoint
from rxdeepgram.messages import agent_v1 as agent

MIC = AudioFormat("linear16", 16000)
VOICE = AudioFormat("linear16", 24000)


def get_weather(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The client-side function (could be async, or return an Observable)."""
    city = str(arguments.get("city", "somewhere")).title()
    return {"city": city, "forecast": "sunny", "celsius": 21}


SETTINGS = agent.Settings(
    audio=agent.Audio(
        input=agent.AudioInput(encoding="linear16", sample_rate=MIC.sample_rate),
        output=agent.AudioOutput(
            encoding="linear16", sample_rate=VOICE.sample_rate, container="none"
        ),
    ),
    agent=agent.Agent(
        listen=agent.ListenSettings(provider=agent.ListenProviderV1(model="nova-3")),
        think=agent.ThinkSettings(
            provider=agent.OpenAiThinkProvider(model="gpt-4o-mini"),
            prompt="You are a helpful weather assistant. Be brief.",
            functions=[
                agent.Function(
                    name="get_weather",
                    description="Today's weather in a city",
                    parameters={
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                )
            ],
        ),
        speak=agent.SpeakSettings(provider=agent.DeepgramSpeakProvider(model="aura-2-thalia-en")),
    ),
)


def spoken_question(client: DeepgramClient, text: str) -> bytes:
    """``text`` as 16 kHz speech, from the (local) Speak API."""
    chunks = (
        rx.just(text)
        .pipe(
            client.speak.v1.synthesize(model="aura-2-thalia-en", **MIC.options()),
            dgo.audio(),
            ops.to_list(),
        )
        .run()
    )
    return b"".join(chunks)


def converse(client: DeepgramClient, user_audio: rx.Observable[bytes], out: str | None) -> None:
    sink = to_wav(out, VOICE) if out else speaker(VOICE)
    with client.agent.v1.connect() as conn:
        # Function calls: requests in, responses back into the same connection.
        conn.messages.pipe(dgo.function_calls(get_weather)).subscribe(conn.input.on_next)
        conn.messages.pipe(
            ops.filter(lambda m: isinstance(m, agent.FunctionCallRequest)),
            ops.flat_map(lambda m: rx.from_iterable(m.functions)),
        ).subscribe(lambda call: print(f"function call: {call.name}({call.arguments})"))
        conn.messages.pipe(
            ops.filter(lambda m: isinstance(m, agent.ConversationText)),
        ).subscribe(lambda m: print(f"{m.role}: {m.content}"))
        conn.messages.pipe(dgo.audio()).subscribe(sink.on_next)  # the agent's voice
        conn.input.on_next(SETTINGS)
        user_audio.subscribe(conn.input.on_next)
        # Until the agent has finished its first answer (Ctrl-C to stop earlier).
        conn.messages.pipe(
            # AgentAudioCut: a reply a dropped connection cut (with reconnect=True)
            ops.filter(lambda m: isinstance(m, (agent.AgentAudioDone, agent.AgentAudioCut))),
            ops.first(),
        ).run()
    sink.on_completed()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wav", metavar="FILE", help="play this WAV file instead of the mic")
    parser.add_argument("--out", metavar="FILE", help="write the agent's voice to a WAV file")
    parser.add_argument(
        "--ask", default="What is the weather like in New York?", help="the question (--local)"
    )
    add_endpoint_arguments(parser)
    args = parser.parse_args()
    try:
        with open_endpoint(args) as endpoint:
            client = endpoint.client()
            pause = from_bytes(bytes(MIC.bytes_for(1500)), MIC)  # silence ends the user's turn
            if args.wav:
                user_audio: rx.Observable[bytes] = rx.concat(from_wav(args.wav), pause)
            elif endpoint.local:
                user_audio = rx.concat(from_bytes(spoken_question(client, args.ask), MIC), pause)
            else:
                user_audio = from_microphone(MIC)
            converse(client, user_audio, args.out)
    except (DeepgramError, ImportError, OSError) as error:
        print(f"agent_pipeline: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
