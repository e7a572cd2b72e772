"""Per-frame decode time of real server frames: the msgspec floor, rxdeepgram and deepgram-sdk.

Run ``python benchmarks/decode.py`` (a Markdown table, ~10 s) or add ``--json``.

Each frame is timed with three decoders, interleaved in one run (see ``_util.py``):

1. **floor**: ``msgspec.json.decode(frame)`` to plain dicts and lists, no validation: the least
   any msgspec-based decoder can cost;
2. **rxdeepgram**: ``rxdeepgram.messages.<channel>.decode(frame)``, the frame to a typed,
   validated, frozen struct (what ``Connection.messages`` emits);
3. **deepgram-sdk**: the SDK's own receive path, copied from its socket clients'
   ``start_listening`` / ``recv`` (``deepgram/<api>/v?/socket_client.py``): ``json.loads`` then
   ``construct_type(type_=V?SocketClientResponse, object_=...)``, which builds the SDK's pydantic
   models without validation.

Frames are ``str``, as websockets hands over text frames. They are the compact JSON (the form the
service sends) of the protocol fixtures named beside each constant below. Before timing, the
script checks that every decoder returns the expected type and that rxdeepgram's struct re-encodes
to the same JSON value as the frame it came from (so that no field was skipped).

Targets: rxdeepgram's median time per frame is at most 2x the floor's, and at least 20x below the
SDK's, both measured in the same run. The exit status is 1 if a measured target fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from _util import Case, Timing, environment, loop_overhead_ns, markdown_table, run_interleaved

from rxdeepgram.messages import ServerMessageBase, agent_v1, encode, listen_v1, listen_v2

MAX_FLOOR_RATIO = 2.0
"""rxdeepgram may take at most this many times the floor's time per frame."""
MIN_SDK_SPEEDUP = 20.0
"""rxdeepgram must be at least this many times faster than deepgram-sdk."""

# examples/listen-v1/server/Results.json
_RESULTS = (
    '{"type":"Results","channel_index":[0,1],"duration":1.98,"start":4.52,"is_final":true,'
    '"speech_final":true,'
    '"channel":{"alternatives":[{"transcript":"Hello, I\'d like to check my order status.",'
    '"confidence":0.99414062,"languages":["en"],"words":[{"word":"hello","start":4.64,'
    '"end":4.96,"confidence":0.99609375,"language":"en","punctuated_word":"Hello,",'
    '"speaker":0},{"word":"i\'d","start":5.04,"end":5.2,"confidence":0.98828125,'
    '"language":"en","punctuated_word":"I\'d","speaker":0},{"word":"like","start":5.2,'
    '"end":5.36,"confidence":0.99902344,"language":"en","punctuated_word":"like",'
    '"speaker":0},{"word":"to","start":5.36,"end":5.44,"confidence":0.99951172,'
    '"language":"en","punctuated_word":"to","speaker":0},{"word":"check","start":5.44,'
    '"end":5.68,"confidence":0.99804688,"language":"en","punctuated_word":"check",'
    '"speaker":0},{"word":"my","start":5.68,"end":5.8,"confidence":0.99951172,'
    '"language":"en","punctuated_word":"my","speaker":0},{"word":"order","start":5.8,'
    '"end":6.04,"confidence":0.99707031,"language":"en","punctuated_word":"order",'
    '"speaker":0},{"word":"status","start":6.04,"end":6.36,"confidence":0.98925781,'
    '"language":"en","punctuated_word":"status.","speaker":0}]}]},'
    '"metadata":{"request_id":"1b671712-4fe5-41e4-ac34-6de3810e33b1",'
    '"model_info":{"name":"general-nova-3","version":"2025-07-31.0","arch":"nova-3"},'
    '"model_uuid":"350ac860-68dc-4399-84db-51fb933380ef"},"from_finalize":false}'
)
# examples/listen-v2/server/TurnInfo.json
_TURN_INFO = (
    '{"type":"TurnInfo","request_id":"3e55bb4b-5831-476c-a05c-4c67e28918fe","sequence_id":6,'
    '"event":"EndOfTurn","turn_index":0,"audio_window_start":0.0,"audio_window_end":3.36,'
    '"transcript":"Hi I need to cancel my subscription please.","words":[{"word":"Hi",'
    '"confidence":0.9716,"start":0.32,"end":0.56},{"word":"I","confidence":0.9932,'
    '"start":0.72,"end":0.8},{"word":"need","confidence":0.9968,"start":0.8,"end":1.04},'
    '{"word":"to","confidence":0.9981,"start":1.04,"end":1.12},{"word":"cancel",'
    '"confidence":0.9957,"start":1.12,"end":1.52},{"word":"my","confidence":0.9989,'
    '"start":1.52,"end":1.68},{"word":"subscription","confidence":0.9902,"start":1.68,'
    '"end":2.32},{"word":"please.","confidence":0.9874,"start":2.72,"end":3.12}],'
    '"end_of_turn_confidence":0.8347}'
)
# examples/agent-v1/server/ConversationText.json
_CONVERSATION_TEXT = (
    '{"type":"ConversationText","role":"user","content":"Can you check the status of order 4572?"}'
)
# examples/agent-v1/server/History.json
_HISTORY = (
    '{"type":"History","role":"assistant",'
    '"content":"Your order 4572 has shipped and should arrive on July 25th."}'
)
# examples/agent-v1/server/History.function_calls.json
_HISTORY_FUNCTION_CALLS = (
    '{"type":"History","function_calls":[{"id":"fc_8d2e61b4-3a0f-4c55-9b7e-1f2a6c9d0e41",'
    '"name":"check_order_status","client_side":true,"arguments":"{\\"order_id\\": \\"4572\\"}",'
    '"response":"{\\"order_id\\": \\"4572\\", \\"status\\": \\"shipped\\", '
    '\\"eta\\": \\"2026-07-25\\"}"}]}'
)


@dataclass(frozen=True)
class Frame:
    """A benchmarked frame and what each decoder should make of it."""

    name: str
    fixture: str
    text: str
    decode: Callable[[str | bytes], object]
    struct: type[ServerMessageBase]
    sdk_api: str
    """``listen.v1``, ``listen.v2`` or ``agent.v1``: whose socket client parses the frame."""
    sdk_class: str


FRAMES = (
    Frame(
        "listen.v1 Results",
        "listen-v1/server/Results.json",
        _RESULTS,
        listen_v1.decode,
        listen_v1.Results,
        "listen.v1",
        "ListenV1Results",
    ),
    Frame(
        "listen.v2 TurnInfo",
        "listen-v2/server/TurnInfo.json",
        _TURN_INFO,
        listen_v2.decode,
        listen_v2.TurnInfo,
        "listen.v2",
        "ListenV2TurnInfo",
    ),
    Frame(
        "agent.v1 ConversationText",
        "agent-v1/server/ConversationText.json",
        _CONVERSATION_TEXT,
        agent_v1.decode,
        agent_v1.ConversationText,
        "agent.v1",
        "AgentV1ConversationText",
    ),
    Frame(
        "agent.v1 History (message)",
        "agent-v1/server/History.json",
        _HISTORY,
        agent_v1.decode,
        agent_v1.History,
        "agent.v1",
        "ConversationHistoryMessage",
    ),
    Frame(
        "agent.v1 History (function calls)",
        "agent-v1/server/History.function_calls.json",
        _HISTORY_FUNCTION_CALLS,
        agent_v1.decode,
        agent_v1.History,
        "agent.v1",
        "FunctionCallHistoryMessage",
    ),
)


def sdk_parsers() -> dict[str, Callable[[str], object]] | None:
    """deepgram-sdk's text-frame parse path per API, or ``None`` if the SDK is not installed."""
    try:
        from deepgram.agent.v1.socket_client import V1SocketClientResponse as AgentV1
        from deepgram.core.unchecked_base_model import construct_type
        from deepgram.listen.v1.socket_client import V1SocketClientResponse as ListenV1
        from deepgram.listen.v2.socket_client import V2SocketClientResponse as ListenV2
    except ImportError:
        return None

    def parser(union: Any) -> Callable[[str], object]:
        def parse(frame: str) -> object:
            # Verbatim from the SDK's socket clients: start_listening() and recv().
            return construct_type(type_=union, object_=json.loads(frame))

        return parse

    return {
        "listen.v1": parser(ListenV1),
        "listen.v2": parser(ListenV2),
        "agent.v1": parser(AgentV1),
    }


def check(frame: Frame, sdk_parse: Callable[[str], object] | None) -> None:
    """Fail loudly unless every decoder makes of ``frame`` what it should."""
    floor = msgspec.json.decode(frame.text)
    if not isinstance(floor, dict) or floor.get("type") != frame.struct.__struct_config__.tag:
        raise SystemExit(f"{frame.name}: not a {frame.struct.__name__} frame")
    decoded = frame.decode(frame.text)
    if not isinstance(decoded, frame.struct):
        raise SystemExit(f"{frame.name}: rxdeepgram decoded {decoded!r}")
    if msgspec.json.decode(encode(decoded)) != floor:
        raise SystemExit(f"{frame.name}: rxdeepgram's struct does not re-encode to the frame")
    if sdk_parse is not None and type(sdk_parse(frame.text)).__name__ != frame.sdk_class:
        raise SystemExit(f"{frame.name}: deepgram-sdk parsed {sdk_parse(frame.text)!r}")


@dataclass(frozen=True)
class Result:
    """The timings of one frame and the verdicts against the targets."""

    frame: Frame
    floor: Timing
    rxdeepgram: Timing
    sdk: Timing | None

    @property
    def floor_ratio(self) -> float:
        """rxdeepgram's median time over the floor's (lower is better)."""
        return self.rxdeepgram.median_ns / self.floor.median_ns

    @property
    def sdk_speedup(self) -> float | None:
        """The SDK's median time over rxdeepgram's (higher is better)."""
        return None if self.sdk is None else self.sdk.median_ns / self.rxdeepgram.median_ns

    @property
    def floor_ok(self) -> bool:
        """Whether rxdeepgram is within ``MAX_FLOOR_RATIO`` of the floor."""
        return self.floor_ratio <= MAX_FLOOR_RATIO

    @property
    def sdk_ok(self) -> bool | None:
        """Whether rxdeepgram beats the SDK by ``MIN_SDK_SPEEDUP`` (``None``: SDK not measured)."""
        speedup = self.sdk_speedup
        return None if speedup is None else speedup >= MIN_SDK_SPEEDUP

    @property
    def ok(self) -> bool:
        """No measured target failed."""
        return self.floor_ok and self.sdk_ok is not False

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready record of this frame's results."""
        speedup = self.sdk_speedup
        return {
            "frame": self.frame.name,
            "fixture": self.frame.fixture,
            "bytes": len(self.frame.text.encode()),
            "floor": self.floor.as_dict(),
            "rxdeepgram": self.rxdeepgram.as_dict(),
            "sdk": None if self.sdk is None else self.sdk.as_dict(),
            "rxdeepgram_over_floor": round(self.floor_ratio, 3),
            "sdk_over_rxdeepgram": None if speedup is None else round(speedup, 1),
            "floor_target_met": self.floor_ok,
            "sdk_target_met": self.sdk_ok,
        }


def run(*, repeat: int, target_ns: int) -> list[Result]:
    """Check and time every frame with the three decoders."""
    parsers = sdk_parsers()
    results = []
    for frame in FRAMES:
        sdk_parse = None if parsers is None else parsers[frame.sdk_api]
        check(frame, sdk_parse)
        cases = {
            "floor": Case(msgspec.json.decode, frame.text),
            "rx": Case(frame.decode, frame.text),
        }
        if sdk_parse is not None:
            cases["sdk"] = Case(sdk_parse, frame.text)
        timings = run_interleaved(cases, repeat=repeat, target_ns=target_ns, warmup_ns=target_ns)
        results.append(Result(frame, timings["floor"], timings["rx"], timings.get("sdk")))
    return results


def _ns(value: float) -> str:
    return f"{value:,.0f}"


def table(results: list[Result]) -> str:
    """The Markdown table of median nanoseconds per frame, ratios and verdicts."""
    rows = []
    for r in results:
        speedup = r.sdk_speedup
        verdict = [] if r.floor_ok else [f"FAIL: > {MAX_FLOOR_RATIO:g}x floor"]
        if r.sdk_ok is False:
            verdict.append(f"FAIL: < {MIN_SDK_SPEEDUP:g}x SDK")
        rows.append(
            [
                r.frame.name,
                str(len(r.frame.text.encode())),
                _ns(r.floor.median_ns),
                _ns(r.rxdeepgram.median_ns),
                "n/a" if r.sdk is None else _ns(r.sdk.median_ns),
                f"{r.floor_ratio:.2f}x",
                "n/a" if speedup is None else f"{speedup:.1f}x",
                "; ".join(verdict) or ("pass" if r.sdk is not None else "pass (no SDK)"),
            ]
        )
    header = [
        "frame",
        "bytes",
        "floor ns",
        "rxdeepgram ns",
        "SDK ns",
        "rxdeepgram/floor",
        "SDK/rxdeepgram",
        f"<= {MAX_FLOOR_RATIO:g}x floor, >= {MIN_SDK_SPEEDUP:g}x SDK",
    ]
    return markdown_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a Markdown table or, with ``--json``, a JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--repeat", type=int, default=9, help="samples per decoder (default 9)")
    parser.add_argument(
        "--ms", type=float, default=40.0, help="milliseconds per sample (default 40)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.ms <= 0:
        parser.error("--repeat must be >= 1 and --ms > 0")

    results = run(repeat=args.repeat, target_ns=int(args.ms * 1e6))
    overhead = loop_overhead_ns()
    ok = all(r.ok for r in results)
    sdk_measured = all(r.sdk is not None for r in results)
    env = environment(["msgspec", "deepgram-sdk", "pydantic"])
    if args.json:
        document = {
            "benchmark": "decode",
            "statistic": "median of per-call time over repeats (ns); min also given",
            "targets": {
                "rxdeepgram_over_floor_max": MAX_FLOOR_RATIO,
                "sdk_over_rxdeepgram_min": MIN_SDK_SPEEDUP,
            },
            "repeat": args.repeat,
            "ms_per_sample": args.ms,
            "loop_overhead_ns": round(overhead, 1),
            "environment": env,
            "frames": [r.as_dict() for r in results],
            "sdk_measured": sdk_measured,
            "all_targets_met": ok,
        }
        print(json.dumps(document, indent=2))
    else:
        print(table(results))
        print()
        print(
            f"Median ns per frame over {args.repeat} samples of ~{args.ms:g} ms each, the "
            f"decoders interleaved in one run; the timing loop adds ~{overhead:.0f} ns to each."
        )
        print(
            f"{env['python']} on {env['machine']} ({env['cpus']} CPUs); msgspec {env['msgspec']}, "
            f"deepgram-sdk {env['deepgram-sdk']}, pydantic {env['pydantic']}."
        )
        if not sdk_measured:
            print("deepgram-sdk is not importable: the SDK target was not measured.")
        print("All measured targets met." if ok else "Some targets FAILED.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
