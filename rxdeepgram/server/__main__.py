"""``python -m rxdeepgram.server`` (the same command as ``rxdeepgram serve``): run the local
Deepgram-compatible server.

Engines: by default the best installed (:func:`~.engines.best_stt_engine`,
:func:`~.engines.best_tts_engine`: pocketsphinx and espeak-ng with the ``local``
extra, else ``scripted`` and ``tone``); ``--deterministic`` picks ``scripted`` + ``tone`` (what
``DeepgramServer()`` and the pytest fixtures use), ``--engine`` / ``--tts`` / ``--script`` pick
one by one.

The first line on standard output is the server's ``ws://host:port`` URL (flushed at once), so
a parent process can read it; nothing else goes to standard output. Standard error then gets
one line naming the engines served (``rxdeepgram server: stt=local (...) tts=local (...)``),
then the logs. SIGINT / SIGTERM stop it cleanly (exit status 0). The same port answers REST
calls (``POST /v1/auth/grant`` at ``http://host:port``).
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

__all__ = ["build_parser", "describe_engines", "engine_choice", "main"]


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
        default=None,
        choices=engine_names(),
        help="speech-to-text engine: scripted (deterministic) or local (pocketsphinx) "
        "(default: local when installed, else scripted)",
    )
    parser.add_argument(
        "--tts",
        default=None,
        choices=tts_engine_names(),
        help="text-to-speech engine: tone (deterministic) or local (espeak-ng) "
        "(default: local when installed, else tone)",
    )
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="the deterministic engines, scripted and tone, unless --engine / --tts say "
        "otherwise (what DeepgramServer() and the pytest fixtures use)",
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


def engine_choice(args: argparse.Namespace) -> tuple[str, str]:
    """The STT and TTS engine names ``args`` ask for, defaults resolved: what was named, else
    ``scripted`` / ``tone`` with ``--deterministic`` (``scripted`` with ``--script``), else the
    best installed."""
    from .engines import best_stt_engine, best_tts_engine

    stt: str | None = args.engine
    if stt is None:
        stt = "scripted" if args.deterministic or args.script else best_stt_engine()
    tts: str | None = args.tts
    if tts is None:
        tts = "tone" if args.deterministic else best_tts_engine()
    return stt, tts


def _engine(args: argparse.Namespace, name: str) -> SttEngine:
    if args.script:
        if name != "scripted":
            raise SystemExit("--script only applies to the scripted engine")
        return ScriptedEngine(args.script)
    return get_engine(name)


def describe_engines(server: DeepgramServer) -> str:
    """``stt=local (PocketsphinxEngine, languages: en) tts=tone (ToneTtsEngine, any language)``"""
    from ._capabilities import engine_languages

    parts = []
    for role, engine in (("stt", server.engine), ("tts", server.tts)):
        known = engine_languages(engine)
        langs = "any language" if known is None else "languages: " + ", ".join(known)
        parts.append(f"{role}={engine.name} ({type(engine).__name__}, {langs})")
    return " ".join(parts)


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
        sys.stderr.write(f"rxdeepgram server: {describe_engines(server)}\n")
        sys.stderr.flush()
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
    stt, tts = engine_choice(args)
    server = DeepgramServer(
        args.host,
        args.port,
        engine=_engine(args, stt),
        tts=tts,
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
