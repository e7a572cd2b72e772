"""The ``rxdeepgram`` command (also ``python -m rxdeepgram``).

::

    rxdeepgram demo [--json]                 # offline tour on the local server, < 60 s
    rxdeepgram serve [server options]        # the local server (python -m rxdeepgram.server)
    rxdeepgram transcribe FILE [--local | --url URL] [--json]
    rxdeepgram speak TEXT -o FILE.wav [--local | --url URL] [--json]

Errors print one line on standard error and exit with status 2 (never a traceback, never a
secret); Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (``serve`` is parsed by the server's own parser)."""
    from ._cli import _demo, _files
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="rxdeepgram",
        description="Deepgram's real-time APIs as Rx streams, and a local server to try them on.",
    )
    parser.add_argument("--version", action="version", version=f"rxdeepgram {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", required=True)
    _demo.add_parser(commands)
    commands.add_parser(
        "serve",
        help="run the local Deepgram-compatible server (see 'rxdeepgram serve --help')",
        add_help=False,
    )
    _files.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["serve"]:
        from .server.__main__ import main as serve

        return serve(args_list[1:])
    args = build_parser().parse_args(args_list)
    from ._cli._output import fail
    from .errors import DeepgramError

    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except DeepgramError as exc:
        return fail(f"{type(exc).__name__}: {exc}")
    except (OSError, ValueError) as exc:  # a missing or unreadable file, a bad WAV
        return fail(str(exc))
    return status


if __name__ == "__main__":
    sys.exit(main())
