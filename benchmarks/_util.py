"""Timing helpers shared by the benchmarks in this directory.

The method, in short (benchmarks/README.md says more):

* :func:`calibrate` picks, per callable, how many calls make one *repeat* last about
  ``target_ns``; :func:`run_interleaved` then times every callable once per repeat, in a rotating
  order, so that a slow drift of the machine (clock scaling, a noisy neighbour) hits every
  contender alike. Each repeat yields one sample: its total time divided by its number of calls.
* The garbage collector is off while a repeat runs (as in :mod:`timeit`), so a collection
  triggered by earlier allocations is not billed to whoever happens to be running.
* :class:`Timing` keeps every sample and reports the *median* (what the benchmarks compare) and
  the *min* (the least disturbed run). Ratios are only ever taken between timings of one run.
"""

from __future__ import annotations

import gc
import itertools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

__all__ = [
    "Case",
    "Timing",
    "calibrate",
    "environment",
    "loop_overhead_ns",
    "markdown_table",
    "run_interleaved",
    "time_calls",
]


@dataclass(frozen=True)
class Case:
    """One callable and the single argument it is timed with."""

    fn: Callable[[Any], object]
    arg: object


@dataclass(frozen=True)
class Timing:
    """The samples of one callable: nanoseconds per call, one sample per repeat."""

    number: int
    """Calls per repeat."""
    samples_ns: tuple[float, ...]

    @property
    def median_ns(self) -> float:
        """Median over the repeats of the time per call."""
        return statistics.median(self.samples_ns)

    @property
    def min_ns(self) -> float:
        """Fastest repeat's time per call."""
        return min(self.samples_ns)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (times in nanoseconds, rounded to 0.1 ns)."""
        return {
            "median_ns": round(self.median_ns, 1),
            "min_ns": round(self.min_ns, 1),
            "calls_per_repeat": self.number,
            "samples_ns": [round(s, 1) for s in self.samples_ns],
        }


def time_calls(fn: Callable[[Any], object], arg: object, number: int) -> int:
    """Call ``fn(arg)`` ``number`` times with the garbage collector off; total nanoseconds."""
    loop = itertools.repeat(None, number)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in loop:
            fn(arg)
        return time.perf_counter_ns() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def calibrate(fn: Callable[[Any], object], arg: object, *, target_ns: int) -> int:
    """The number of calls of ``fn(arg)`` that takes about ``target_ns`` (at least 1).

    Doubles the call count until a batch lasts a tenth of the target, then scales; doubles as a
    warm-up (caches, lazily built state, branch predictors).
    """
    number = 1
    while True:
        elapsed = time_calls(fn, arg, number)
        if elapsed >= target_ns // 10:
            return max(1, round(number * target_ns / max(elapsed, 1)))
        number *= 2


def run_interleaved(
    cases: Mapping[str, Case], *, repeat: int, target_ns: int, warmup_ns: int = 0
) -> dict[str, Timing]:
    """Time every case ``repeat`` times, interleaved; each repeat of a case lasts ~``target_ns``.

    Every case is first calibrated (which also warms it up) and, if ``warmup_ns`` is given, run
    for that long once more. Repeat ``i`` runs the cases starting from the ``i``-th, so none is
    always first or last.
    """
    names = list(cases)
    numbers = {name: calibrate(c.fn, c.arg, target_ns=target_ns) for name, c in cases.items()}
    if warmup_ns:
        for name, c in cases.items():
            time_calls(c.fn, c.arg, max(1, numbers[name] * warmup_ns // target_ns))
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(repeat):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            c = cases[name]
            samples[name].append(time_calls(c.fn, c.arg, numbers[name]) / numbers[name])
    return {name: Timing(numbers[name], tuple(samples[name])) for name in names}


def loop_overhead_ns(*, repeat: int = 5, number: int = 200_000) -> float:
    """Median cost per call of the timing loop itself, calling a trivial builtin (``id``).

    Included in every timing; reported so that readers can judge very short calls.
    """
    return statistics.median(time_calls(id, None, number) / number for _ in range(repeat))


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; the first column left-aligned, the others right."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|")
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def environment(packages: Iterable[str] = ()) -> dict[str, str]:
    """Where the numbers come from: Python, platform, CPU count and the given packages' versions."""
    env = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": str(os.cpu_count()),
        "executable": sys.executable,
    }
    for name in packages:
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            env[name] = "not installed"
    return env
