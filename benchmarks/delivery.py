"""Typed delivery against its floor: how close rxdeepgram gets to a bare picows listener.

Run ``python benchmarks/delivery.py`` (~2-3 min; ``--quick`` ~30 s; ``--json``). The focused
version of ``listen_e2e.py``'s throughput part, built to give a stable ratio on a busy machine:
three contenders per client instead of eleven, run back to back in many short rounds, and the
figure is the median of the **per-round** ratios (the contenders of one round share the
machine's state of that moment, so the drift between rounds cancels).

The server is ``listen_e2e.py``'s blaster: a bare asyncio protocol in its own process (pinned to
its own core when there are two or more), which answers the client's first frame with
``--frames`` pre-framed copies of one Listen V1 ``Results`` frame and a close frame, written in
one go: the server spends nothing per frame, the client alone sets the pace. The frame
(``--frame``) is the 588-byte interim ``Results`` by default (``results``: the 1.4 KB final one).

Contenders, for the asyncio client and the sync client in turn, each round in a rotating order:

- **floor**: a bare picows listener that reads each text frame with picows' cheapest text
  accessor (timed at start-up) and decodes it with ``listen_v1.decode``, nothing else: the
  least any client delivering the same typed struct can spend. The same asyncio listener is the
  floor of both clients;
- **fair-typed**: a hand-written ``websockets`` client of the same kind (``async for`` /
  ``for`` over the connection) decoding each frame with the same ``listen_v1.decode``;
- **rx-picows**: ``AsyncDeepgramClient`` / ``DeepgramClient(transport="picows")``,
  ``listen.v1.connect(...)``, one ``conn.messages`` subscriber counting the structs;
- **rx-websockets** (for reference, no target): the same on the websockets transport.

Each run's rate is frames / (connect to end), and frames / the client process's CPU time over
the same run (``time.process_time``, every thread): the second says what the client spent
whatever its neighbours did meanwhile; on a quiet machine the two agree. Targets (issue 20),
both clients, on the median of the per-round ratios, wall clock and CPU alike:
rx-picows >= 0.75x the floor and >= 1.9x fair-typed. The exit status is 1 if one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import listen_e2e as e2e
from _util import environment, markdown_table

from rxdeepgram.messages import listen_v1

MIN_FLOOR_RATIO = e2e.MIN_FLOOR_RATIO
MIN_FAIR_TYPED_RATIO = e2e.MIN_FAIR_TYPED_RATIO
CONTENDERS = ("floor", "fair-typed", "rx-picows", "rx-websockets")

Run = tuple[int, float, float]
"""Messages, wall seconds, CPU seconds."""


async def _cpu_timed(run: Callable[[], Awaitable[tuple[int, float]]]) -> Run:
    cpu = time.process_time()
    count, elapsed = await run()
    return count, elapsed, time.process_time() - cpu


def _run_async(run: Callable[[], Awaitable[tuple[int, float]]]) -> Run:
    return asyncio.run(_cpu_timed(run))


def _run_sync(run: Callable[[], tuple[int, float]]) -> Run:
    cpu = time.process_time()
    count, elapsed = run()
    return count, elapsed, time.process_time() - cpu


def runners(url: str) -> dict[str, dict[str, Callable[[], Run]]]:
    """Per client, per contender: one timed run against the blaster at ``url``."""
    floor = functools.partial(_run_async, lambda: e2e.async_raw_picows(url, True))
    return {
        "asyncio": {
            "floor": floor,
            "fair-typed": functools.partial(
                _run_async, lambda: e2e.async_raw(url, listen_v1.decode)
            ),
            "rx-picows": functools.partial(_run_async, lambda: e2e.async_rx(url, "rx-picows")),
            "rx-websockets": functools.partial(
                _run_async, lambda: e2e.async_rx(url, "rx-websockets")
            ),
        },
        "sync": {
            "floor": floor,
            "fair-typed": functools.partial(_run_sync, lambda: e2e.sync_raw(url, listen_v1.decode)),
            "rx-picows": functools.partial(_run_sync, lambda: e2e.sync_rx(url, "rx-picows")),
            "rx-websockets": functools.partial(
                _run_sync, lambda: e2e.sync_rx(url, "rx-websockets")
            ),
        },
    }


def measure(url: str, frames: int, rounds: int) -> dict[str, dict[str, list[Run]]]:
    """``rounds`` rounds (after one warm-up), each running every contender of each client once,
    in an order that rotates from round to round."""
    results: dict[str, dict[str, list[Run]]] = {}
    for client, runs in runners(url).items():
        samples: dict[str, list[Run]] = {name: [] for name in runs}
        for index in range(rounds + 1):
            k = index % len(CONTENDERS)
            order = CONTENDERS[k:] + CONTENDERS[:k]
            e2e.progress(f"{client} client, round {index} of {rounds} (0: warm-up)")
            for name in order:
                gc.collect()
                run = runs[name]()
                if run[0] != frames:
                    raise SystemExit(f"{client} {name}: got {run[0]} of {frames} messages")
                if index:
                    samples[name].append(run)
        results[client] = samples
    return results


def _rate(run: Run, cpu: bool) -> float:
    return run[0] / (run[2] if cpu else run[1])


def ratios(samples: dict[str, list[Run]], name: str, over: str, cpu: bool) -> list[float]:
    """``name``'s rate over ``over``'s, round by round."""
    return [
        _rate(a, cpu) / _rate(b, cpu) for a, b in zip(samples[name], samples[over], strict=True)
    ]


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, q2, q3


def report(
    results: dict[str, dict[str, list[Run]]], args: argparse.Namespace, load: tuple[float, float]
) -> tuple[str, list[dict[str, Any]]]:
    lines: list[str] = []
    checks: list[dict[str, Any]] = []
    for client, samples in results.items():
        rows = []
        for name in CONTENDERS:
            wall = statistics.median(_rate(r, False) for r in samples[name])
            cpu = statistics.median(_rate(r, True) for r in samples[name])
            cells = [name, f"{wall:,.0f}", f"{cpu:,.0f}"]
            for over in ("floor", "fair-typed"):
                for per_cpu in (False, True):
                    q1, q2, q3 = quartiles(ratios(samples, name, over, per_cpu))
                    cells.append(f"{q2:.2f}x ({q1:.2f}-{q3:.2f})")
            rows.append(cells)
        lines += [
            f"{client} client: {args.frames:,} frames of {len(e2e.FRAMES[args.frame].encode())} "
            f"bytes per run, {args.rounds} rounds; ratios are medians of the per-round ratios "
            "(interquartile range in brackets)",
            "",
            markdown_table(
                [
                    "contender",
                    "msg/s",
                    "msg per CPU-s",
                    "/ floor",
                    "/ floor (CPU)",
                    "/ fair-typed",
                    "/ fair-typed (CPU)",
                ],
                rows,
            ),
            "",
        ]
        for over, bound in (("floor", MIN_FLOOR_RATIO), ("fair-typed", MIN_FAIR_TYPED_RATIO)):
            for per_cpu in (False, True):
                value = statistics.median(ratios(samples, "rx-picows", over, per_cpu))
                checks.append(
                    {
                        "client": client,
                        "figure": f"rx-picows / {over}" + (" per CPU-second" if per_cpu else ""),
                        "value": round(value, 3),
                        "target": f">= {bound:g}x",
                        "met": value >= bound,
                    }
                )
    rows = [
        [
            c["client"],
            c["figure"],
            f"{c['value']:.2f}x",
            c["target"],
            "met" if c["met"] else "MISSED",
        ]
        for c in checks
    ]
    lines += [
        "Targets (median of the per-round ratios)",
        "",
        markdown_table(["client", "figure", "measured", "target", "verdict"], rows),
        "",
    ]
    env = environment(["websockets", "picows", "msgspec", "reactivex"])
    accessor = e2e.TEXT_ACCESSOR.__name__ if e2e.TEXT_ACCESSOR else "get_payload_as_utf8_text"
    lines.append(
        f"{env['python']} on {env['machine']} ({env['cpus']} CPUs, load average {load[0]:.2f} "
        f"before the run, {load[1]:.2f} after; client and server pinned to one core each: "
        f"{args.pinned}); the floor reads frames with {accessor}; websockets "
        f"{env['websockets']}, picows {env['picows']}, msgspec {env['msgspec']}, reactivex "
        f"{env['reactivex']}."
    )
    return "\n".join(lines), checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--quick", action="store_true", help="a shorter run (~30 s)")
    parser.add_argument("--frames", type=int, help="messages per run (30,000; quick: 10,000)")
    parser.add_argument("--rounds", type=int, help="rounds (21; quick: 5)")
    parser.add_argument("--frame", choices=sorted(e2e.FRAMES), default="interim")
    parser.add_argument("--no-pin", action="store_true", help="do not pin client and server")
    args = parser.parse_args(argv)
    args.frames = args.frames or (10_000 if args.quick else 30_000)
    args.rounds = args.rounds or (5 if args.quick else 21)
    if args.frames < 1 or args.rounds < 1:
        parser.error("--frames and --rounds must be positive")
    args.pinned = not args.no_pin and e2e.pin(e2e.CLIENT_CPU)
    e2e.TEXT_ACCESSOR = e2e.cheapest_text_accessor(e2e.FRAMES[args.frame])
    before = os.getloadavg()[0]
    started = time.perf_counter()
    with e2e.ServerProcess("blast", args.frames, pin=args.pinned, frame=args.frame) as server:
        results = measure(server.url, args.frames, args.rounds)
    after = os.getloadavg()[0]
    text, checks = report(results, args, (before, after))
    ok = all(c["met"] for c in checks)
    if args.json:
        document = {
            "benchmark": "delivery",
            "frame": {"name": args.frame, "bytes": len(e2e.FRAMES[args.frame].encode())},
            "frames_per_run": args.frames,
            "rounds": args.rounds,
            "pinned": args.pinned,
            "load_average_1min": {"before": before, "after": after},
            "samples": {
                client: {
                    name: [
                        {"messages": n, "wall_s": round(w, 5), "cpu_s": round(c, 5)}
                        for n, w, c in runs
                    ]
                    for name, runs in samples.items()
                }
                for client, samples in results.items()
            },
            "checks": checks,
            "seconds": round(time.perf_counter() - started, 1),
            "all_targets_met": ok,
        }
        print(json.dumps(document, indent=2))
    else:
        print(text)
        print(
            f"{time.perf_counter() - started:.0f} s. "
            + ("All targets met." if ok else "Some targets MISSED.")
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
