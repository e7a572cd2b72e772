"""Which inputs ``rxdeepgram transcribe`` works on, and where their outputs go.

* A file is taken as given, whatever its name (its first bytes say whether it is audio).
* A directory is walked recursively for the names in :data:`AUDIO_SUFFIXES`, sorted.
* A pattern with ``*``, ``?`` or ``[`` (``calls/**/*.mp3``; quote it) is expanded with
  :func:`glob.glob` (``**`` recursive), sorted; a pattern that matches nothing is an input
  that fails ("matches no file"), as is a path that does not exist.
* ``-`` is standard input (read once, whole, when its turn comes).

The same input named twice is taken once. ``--shard K/N`` keeps the inputs whose CRC-32 of the
path as given (or, under a directory, of the path relative to it) is ``K-1`` modulo ``N``:
every machine computes the same split from the same arguments with no shared state, and an
input keeps its shard when others are added.

Outputs (``--out DIR``): an input named directly or by a pattern goes to
``DIR/<stem>.<format>``; one found under a directory keeps its place relative to that
directory (``DIR/<relative dir>/<stem>.<format>``). Two inputs that would share an output
(``a.wav`` and ``a.mp3``) keep their suffix in the name instead (``a.wav.txt``,
``a.mp3.txt``); two files of the same name from different folders named one by one
(``mon/a.wav tue/a.wav``) also get a hash of their absolute path (``a.wav-1c291ca3.txt``).
"""

from __future__ import annotations

import glob
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["AUDIO_SUFFIXES", "Input", "assign_outputs", "expand", "parse_shard", "shard"]

AUDIO_SUFFIXES = frozenset(
    {
        ".wav",
        ".wave",
        ".mp3",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".webm",
        ".mka",
        ".mkv",
        ".m4a",
        ".mp4",
        ".aac",
        ".aif",
        ".aiff",
        ".amr",
    }
)
STDIN = "-"


@dataclass
class Input:
    """One input: ``path`` to read (``-``: standard input), ``label`` to show, ``key`` (the
    path relative to the directory it was found under; what names its outputs and shards it),
    and ``problem`` when it is known to fail before being opened. ``data``, when set, is the
    audio itself (then ``path`` is never opened): bytes given to the library, or shipped to a
    Ray worker that cannot see the file."""

    path: str
    label: str
    key: str
    problem: str | None = None
    output_stem: str = ""
    data: bytes | None = field(default=None, repr=False)


def _has_magic(arg: str) -> bool:
    return any(ch in arg for ch in "*?[")


def expand(args: Sequence[str]) -> list[Input]:
    """The inputs named by ``args`` (see the module docstring), in order, without repeats."""
    found: list[Input] = []
    seen: set[str] = set()

    def add(item: Input) -> None:
        ident = item.path if item.path == STDIN else os.path.abspath(item.path)
        if item.problem is None and ident in seen:
            return
        seen.add(ident)
        found.append(item)

    for arg in args:
        if arg == STDIN:
            add(Input(STDIN, "<stdin>", "stdin"))
        elif os.path.isdir(arg):
            for path in _walk(arg):
                rel = os.path.relpath(path, arg)
                add(Input(path, path, rel))
        elif os.path.exists(arg) or not _has_magic(arg):
            add(Input(arg, arg, os.path.basename(arg) or arg))
            if not os.path.exists(arg):
                found[-1].problem = f"{arg}: no such file"
        else:
            matches = sorted(p for p in glob.glob(arg, recursive=True) if os.path.isfile(p))
            if not matches:
                add(Input(arg, arg, arg, problem=f"{arg}: matches no file"))
            for path in matches:
                add(Input(path, path, os.path.basename(path)))
    return found


def _walk(root: str) -> Iterable[str]:
    paths: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in files:
            if os.path.splitext(name)[1].lower() in AUDIO_SUFFIXES and not name.startswith("."):
                paths.append(os.path.join(directory, name))
    return sorted(paths)


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` -> ``(2, 8)``; ``ValueError`` unless ``1 <= K <= N``."""
    k_text, sep, n_text = text.partition("/")
    try:
        k, n = int(k_text), int(n_text)
    except ValueError:
        k = n = 0
    if not sep or n < 1 or not 1 <= k <= n:
        raise ValueError(f"--shard must be K/N with 1 <= K <= N, got {text!r}")
    return k, n


def shard(inputs: Sequence[Input], k: int, n: int) -> list[Input]:
    """The inputs of shard ``k`` of ``n`` (1-based), by CRC-32 of their key."""
    if n == 1:
        return list(inputs)
    return [i for i in inputs if zlib.crc32(i.key.encode("utf-8", "replace")) % n == k - 1]


def assign_outputs(inputs: Sequence[Input]) -> None:
    """Set each input's ``output_stem`` (the output path without ``.<format>``, relative to the
    output directory): the key without its suffix, or with it where two would collide."""
    stems: dict[str, int] = {}
    for item in inputs:
        stem = os.path.splitext(item.key)[0]
        stems[stem] = stems.get(stem, 0) + 1
    for item in inputs:
        stem = os.path.splitext(item.key)[0]
        item.output_stem = stem if stems[stem] == 1 else item.key
    taken: dict[str, int] = {}
    for item in inputs:
        taken[item.output_stem] = taken.get(item.output_stem, 0) + 1
    for item in inputs:
        if taken[item.output_stem] > 1:  # the same name in two folders named one by one
            where = zlib.crc32(os.path.abspath(item.path).encode("utf-8", "replace"))
            item.output_stem = f"{item.output_stem}-{where:08x}"
