"""A batch on a local Ray of 2 workers against the single-process command, same concurrency.

Run ``python benchmarks/transcribe_ray.py`` (200 files of 30 s, 3 rounds, ~5 min on two cores;
needs the ``ray`` extra), ``--quick`` (40 files of 10 s, 2 rounds) or add ``--json``. Progress
goes to stderr.

Setup, as in ``transcribe_batch.py``: ``--files`` WAV files of ``--seconds`` each, written once;
one local server (``python -m rxdeepgram.server --deterministic``: the scripted engine) in a
subprocess for the whole run; and here one local Ray instance (``--workers`` CPUs, no dashboard,
no usage statistics, loopback only) started once by this script, as a cluster that is already
running would be. Nothing is pinned: the point of Ray is to use more than one core.

Contenders, each a fresh process sending every file as fast as the connection takes it, with
the same total number of streams (``--concurrency``, 16 by default):

- **single**: ``rxdeepgram transcribe DIR --url URL --concurrency 16 --json -q``: one process,
  one client, 16 streams;
- **ray**: ``rxdeepgram transcribe DIR --url URL --ray ADDRESS --workers 2 --concurrency 8
  --json -q``: the driver joins the running Ray, starts 2 worker actors (one process and one
  client each, 8 streams each: ``--concurrency`` is per worker with ``--ray``) and collects
  their results; its wall time includes joining Ray and starting the workers (~2-4 s).

Each round also runs both commands on as many files as there are workers: that run's wall
time is each contender's fixed cost (starting Python; for Ray, joining the cluster and starting
the workers), and the second ratio compares the throughputs with it taken off.

Measured per run: **wall** time (process start to exit), throughput (**x real time**: seconds
of audio per second of wall time), **streams in flight** (established connections on the
server's port, sampled every 20 ms: mean while any is open, and max), the **server's CPU**
time during the run (and its share of the wall time: near 100%, the one server process is
what limits both contenders), and the number of final results (both must match: the same work
was done). The contenders run interleaved ``--rounds`` times, each round starting from a
different one; the table gives medians and the ratio of the throughputs ray / single (above
1x: the Ray run is faster) with its range over the rounds. There is no target: this measures
what Ray costs or gains on one machine, where both contenders wait for the same server
process; across machines the workers add cores and network paths that one process does not have.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import environment, markdown_table
from transcribe_batch import make_files, run_contender


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=16, help="total streams")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="40 files of 10 s, 2 rounds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.files, args.seconds, args.rounds = 40, 10.0, 2
    if args.concurrency % args.workers:
        parser.error("--concurrency must be a multiple of --workers (the same total streams)")

    # A local instance on the loopback interface, no usage statistics: before Ray loads.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    scratch = Path(tempfile.mkdtemp(prefix="rxdeepgram-ray-"))
    runs: list[dict[str, Any]] = []
    try:
        folder = scratch / "calls"
        print(f"writing {args.files} files of {args.seconds:g} s ...", file=sys.stderr)
        make_files(folder, args.files, args.seconds)
        pair = scratch / "pair"  # the fixed cost: as many files as workers, the same command
        pair.mkdir()
        for n in range(args.workers):
            shutil.copy(folder / f"call{n:04d}.wav", pair / f"call{n:04d}.wav")
        ray.init(
            num_cpus=args.workers,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
        )
        address = ray.get_runtime_context().gcs_address
        server = subprocess.Popen(
            [sys.executable, "-m", "rxdeepgram.server", "--deterministic", "--idle-timeout", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            port = int(url.rsplit(":", 1)[1])
            base = [sys.executable, "-m", "rxdeepgram", "transcribe", str(folder), "--url", url]
            per_worker = args.concurrency // args.workers
            commands = {
                "single": [*base, "--concurrency", str(args.concurrency), "--json", "-q"],
                "ray": [
                    *base, "--ray", address, "--workers", str(args.workers),
                    "--concurrency", str(per_worker), "--json", "-q",
                ],
            }  # fmt: skip
            for name in list(commands):  # the same commands on the pair of files
                commands[f"{name}, {args.workers} files"] = [
                    str(pair) if part == str(folder) else part for part in commands[name]
                ]
            names = list(commands)
            for round_ in range(args.rounds):
                order = names[round_ % len(names) :] + names[: round_ % len(names)]
                for name in order:
                    print(f"round {round_ + 1}: {name} ...", file=sys.stderr)
                    before = _cpu_seconds(server.pid)
                    result = run_contender(name, commands[name], port, None)
                    result["server_cpu_s"] = _cpu_seconds(server.pid) - before
                    result["round"] = round_ + 1
                    runs.append(result)
                    print(f"  {result}", file=sys.stderr)
        finally:
            server.terminate()
            server.wait(10)
            ray.shutdown()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    audio_s = args.files * args.seconds

    def median(name: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in runs if r["contender"] == name)

    finals = {name: {r["finals"] for r in runs if r["contender"] == name} for name in names}
    same_work = finals["ray"] == finals["single"] and len(finals["single"]) == 1
    ratio = median("single", "wall_s") / median("ray", "wall_s")

    def per_round(key: str, net: bool = False) -> list[float]:
        ratios = []
        for round_ in range(1, args.rounds + 1):
            wall = {r["contender"]: float(r[key]) for r in runs if r["round"] == round_}
            fixed = {
                n: wall[f"{n}, {args.workers} files"] if net else 0.0 for n in ("single", "ray")
            }
            ratios.append((wall["single"] - fixed["single"]) / (wall["ray"] - fixed["ray"]))
        return ratios

    def busy(name: str) -> float:
        """The server's CPU time over the run's wall time (1.0: one core all the time)."""
        return statistics.median(
            float(r["server_cpu_s"]) / float(r["wall_s"]) for r in runs if r["contender"] == name
        )

    gross, net = per_round("wall_s"), per_round("wall_s", net=True)
    labels = {
        "single": f"one process, --concurrency {args.concurrency}",
        "ray": f"Ray, {args.workers} workers x --concurrency {per_worker}",
    }
    rows = []
    for name in names:
        base_name = name.split(",")[0]
        label = labels[base_name] + name[len(base_name) :]
        wall = median(name, "wall_s")
        audio = audio_s if name in labels else args.workers * args.seconds
        rows.append(
            [
                label,
                f"{wall:.1f} s",
                f"{audio / wall:.0f}x",
                f"{median(name, 'streams_mean'):.1f} / {median(name, 'streams_max'):.0f}",
                f"{median(name, 'server_cpu_s'):.1f} s ({busy(name):.0%})",
                "/".join(str(f) for f in sorted(finals[name])),
            ]
        )
    for what, values in (("", gross), (f", less the {args.workers} files' run", net)):
        rows.append(
            [
                f"throughput ray / single{what} (rounds)",
                f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f}x)",
                "",
                "",
                "",
                "same" if same_work else "DIFFERENT",
            ]
        )
    if args.json:
        document = {
            "environment": environment(["rxdeepgram", "ray", "websockets"]),
            "files": args.files,
            "seconds": args.seconds,
            "concurrency": args.concurrency,
            "workers": args.workers,
            "runs": runs,
            "throughput_ratio": ratio,
            "throughput_ratio_per_round": gross,
            "throughput_ratio_net_of_fixed_cost_per_round": net,
            "same_work": same_work,
        }
        print(json.dumps(document, indent=1))
    else:
        print(
            f"{args.files} files x {args.seconds:g} s ({audio_s / 3600:.2f} h of audio), "
            f"{args.concurrency} streams in all, {args.rounds} rounds, medians:\n"
        )
        header = [
            "contender", "wall", "x real time", "streams mean / max", "server CPU (busy)",
            "finals",
        ]  # fmt: skip
        print(markdown_table(header, rows))
    return 0 if same_work else 1


if __name__ == "__main__":
    sys.exit(main())
