"""``python -m rxdeepgram.server``: run the local Deepgram-compatible server.

The first line on standard output is the server's ``ws://host:port`` URL (flushed at once), so
a parent process can read it; logs go to standard error. SIGINT / SIGTERM stop it cleanly
(exit status 0). The same port answers REST calls (``POST /v1/auth/grant`` at
``http://host:port``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from ._app import DeepgramServer
from .engines import ScriptedEngine, SttEngine, engine_names, get_engine, tts_engine_names
from .think import think_names

__all__ = ["build_parser", "main"]


def build_parser(prog: str = "python -m rxdeepgram.server") -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve Deepgram's real-time WebSocket protocol locally.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port, 0 for any free one (0)")
    parser.add_argument(
        "--engine",
        default="scripted",
        choices=engine_names(),
        help="speech-to-text engine (scripted)",
    )
    parser.add_argument(
        "--tts",
        default="tone",
        choices=tts_engine_names(),
        help="text-to-speech engine: tone (deterministic) or local (espeak-ng) (tone)",
    )
    parser.add_argument(
        "--script",
        action="append",
        metavar="TEXT",
        help="an utterance for the scripted engine (repeat for several; cycled)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="require 'Authorization: Token KEY' (default: accept any credential)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="close idle connections after S seconds with NET-0001 (10)",
    )
    parser.add_argument(
        "--think",
        default="rules",
        choices=think_names(),
        help="the agent's think step: rules (call declared functions) or echo (rules)",
    )
    parser.add_argument(
        "--token-ttl",
        type=float,
        default=30.0,
        metavar="S",
        help="lifetime of tokens granted at POST /v1/auth/grant, in seconds (30)",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level on standard error (WARNING)",
    )
    return parser


def _engine(args: argparse.Namespace) -> SttEngine:
    if args.script:
        if args.engine != "scripted":
            raise SystemExit("--script only applies to the scripted engine")
        return ScriptedEngine(args.script)
    return get_engine(args.engine)


async def _serve(server: DeepgramServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    async with server:
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        await stop.wait()


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the server until SIGINT / SIGTERM; returns the exit status."""
    parser = build_parser() if prog is None else build_parser(prog)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    server = DeepgramServer(
        args.host,
        args.port,
        engine=_engine(args),
        tts=args.tts,
        think=args.think,
        token_ttl=args.token_ttl,
        api_key=args.api_key,
        idle_timeout=args.idle_timeout,
    )
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C during shutdown
        asyncio.run(_serve(server))
    return 0


if __name__ == "__main__":
    sys.exit(main())
