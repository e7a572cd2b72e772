"""The ``rxdeepgram`` command (also ``python -m rxdeepgram``).

::

    rxdeepgram demo [--json] [--sentences N] [--speed X]   # offline tour, well under a minute
    rxdeepgram serve [server options]          # = python -m rxdeepgram.server, best engines
    rxdeepgram transcribe FILE|DIR|GLOB|- ... [--out DIR --format txt,json,srt,vtt]
                          [--concurrency N] [--shard K/N | --ray [ADDRESS]] [--json]
                          [--local | --url URL]
    rxdeepgram speak TEXT -o FILE.wav [--local | --url URL] [--json]

Exit status: 0 on success; 2 for a usage error or a :class:`~rxdeepgram.errors.DeepgramError`
(no API key, a refused connection, a rejected option...), printed as one line on standard
error, never with a traceback or a secret; 1 when a demo step fails or when some inputs of
``transcribe`` failed (each reported on standard error, the others done); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (``serve`` hands its arguments to the server's own parser)."""
    from ._cli import _demo, _speak, _transcribe
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="rxdeepgram",
        description=(
            "Deepgram's real-time APIs as Rx streams, and a Deepgram-compatible local server. "
            "Start with 'rxdeepgram demo' (offline)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"rxdeepgram {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", required=True)
    _demo.add_parser(commands)
    commands.add_parser(
        "serve",
        help="run the local Deepgram-compatible server (see 'rxdeepgram serve --help')",
        add_help=False,
    )
    _transcribe.add_parser(commands)
    _speak.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130


def _serve(arguments: list[str]) -> int:
    """``python -m rxdeepgram.server``: the same command, the same defaults."""
    from .server.__main__ import main as serve

    return serve(arguments, prog="rxdeepgram serve")


def _run(arguments: list[str]) -> int:
    if arguments[:1] == ["serve"]:
        return _serve(arguments[1:])
    args = build_parser().parse_args(arguments)

    from ._cli._output import CommandError, fail
    from .errors import DeepgramError

    try:
        status: int = args.run(args)
    except CommandError as exc:
        return fail(str(exc), exc.status)
    except DeepgramError as exc:
        return fail(f"{type(exc).__name__}: {exc}")
    except BrokenPipeError:  # `rxdeepgram ... | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 1
    except (OSError, ValueError) as exc:  # a missing or unreadable file, a bad WAV header
        return fail(str(exc))
    return status


if __name__ == "__main__":
    sys.exit(main())
