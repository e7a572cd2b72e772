"""Where a program's connections go: Deepgram, a URL it is given, or a local server it starts.

The examples and the ``rxdeepgram`` command line share one rule, and programs of your own can use
it too::

    parser = argparse.ArgumentParser()
    add_endpoint_arguments(parser)          # --local | --url URL, and --api-key KEY
    args = parser.parse_args()
    with open_endpoint(args) as endpoint:   # starts the local server for --local
        client = endpoint.client()
        ...

* ``--local`` starts :class:`rxdeepgram.server.DeepgramServer` on 127.0.0.1 (free port) with the
  best engines installed (:func:`best_stt_engine`, :func:`best_tts_engine`) and stops it on exit;
* ``--url URL`` (else env ``DEEPGRAM_BASE_URL``, as the clients read it) connects there, with
  ``--api-key`` / ``DEEPGRAM_API_KEY`` when set;
* otherwise Deepgram itself.

A key is needed only for Deepgram's own hosts, as in the library: with no key and no URL (or a
URL of Deepgram's) and no ``--local``, :func:`open_endpoint` raises
:class:`~rxdeepgram.errors.ConfigurationError` saying what to give. Nothing falls back silently.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._client import AsyncDeepgramClient, DeepgramClient
from ._config import is_deepgram_url
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .server import DeepgramServer

__all__ = [
    "Endpoint",
    "add_endpoint_arguments",
    "best_stt_engine",
    "best_tts_engine",
    "open_endpoint",
]

_LOCAL_KEY = "local-development-key"
"""The credential sent to a local server this module started (it accepts any)."""


def best_stt_engine() -> str:
    """``"local"`` (pocketsphinx, real recognition) when it imports, else ``"scripted"`` (the
    server's rule, :func:`rxdeepgram.server.engines.best_stt_engine`; imported on use)."""
    from .server.engines import best_stt_engine

    return best_stt_engine()


def best_tts_engine() -> str:
    """``"local"`` (espeak-ng, real speech) when it imports, else ``"tone"`` (the server's
    rule, :func:`rxdeepgram.server.engines.best_tts_engine`; imported on use)."""
    from .server.engines import best_tts_engine

    return best_tts_engine()


@dataclass(frozen=True)
class Endpoint:
    """A resolved destination: ``base_url`` (``None``: Deepgram's own hosts), the credential,
    and the local server when this process started one. ``repr`` never shows the key."""

    base_url: str | None
    api_key: str | None = field(repr=False)
    server: DeepgramServer | None = field(default=None, repr=False)

    @property
    def local(self) -> bool:
        """Whether the connections go to a local server this process started."""
        return self.server is not None

    def describe(self) -> str:
        """One line for humans, e.g. ``local server ws://127.0.0.1:4012 (stt=local, tts=tone)``."""
        if self.server is not None:
            return (
                f"local server {self.server.url} "
                f"(stt={self.server.engine.name}, tts={self.server.tts.name})"
            )
        return self.base_url or "Deepgram (wss://api.deepgram.com, wss://agent.deepgram.com)"

    def client(self, **kwargs: Any) -> DeepgramClient:
        """A sync client for this endpoint (``kwargs`` go to :class:`DeepgramClient`)."""
        return DeepgramClient(self.api_key, base_url=self.base_url, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncDeepgramClient:
        """An asyncio client for this endpoint."""
        return AsyncDeepgramClient(self.api_key, base_url=self.base_url, **kwargs)


def add_endpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--local`` / ``--url URL`` (exclusive) and ``--api-key KEY`` to ``parser``."""
    group = parser.add_argument_group("where to connect")
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        "--local",
        action="store_true",
        help="start a local Deepgram-compatible server and use it (offline)",
    )
    where.add_argument(
        "--url",
        metavar="URL",
        help="base URL to connect to, e.g. ws://127.0.0.1:8080 "
        "(default: env DEEPGRAM_BASE_URL, else Deepgram)",
    )
    group.add_argument(
        "--api-key",
        metavar="KEY",
        default=None,
        help="Deepgram API key (default: env DEEPGRAM_API_KEY)",
    )


@contextlib.contextmanager
def open_endpoint(
    args: argparse.Namespace,
    *,
    stt: str | None = None,
    tts: str | None = None,
    script: Sequence[str] | None = None,
    environ: Mapping[str, str] = os.environ,
    **server_options: Any,
) -> Iterator[Endpoint]:
    """Resolve ``args`` (from :func:`add_endpoint_arguments`) to an :class:`Endpoint`.

    For ``--local`` the server runs for the duration of the ``with`` block, with the ``stt`` and
    ``tts`` engines (default: the best installed), ``script`` for the scripted engine, and
    ``server_options`` for :class:`~rxdeepgram.server.DeepgramServer` (``think=...``, ...)."""
    local = bool(getattr(args, "local", False))
    url: str | None = getattr(args, "url", None) or environ.get("DEEPGRAM_BASE_URL") or None
    api_key: str | None = getattr(args, "api_key", None) or environ.get("DEEPGRAM_API_KEY") or None
    if local:
        from .server import DeepgramServer, get_engine

        stt_name = stt or best_stt_engine()
        engine = (
            get_engine(stt_name, script=list(script))
            if script and stt_name == "scripted"
            else stt_name
        )
        with DeepgramServer(
            engine=engine, tts=tts or best_tts_engine(), **server_options
        ) as server:
            yield Endpoint(server.url, api_key or _LOCAL_KEY, server)
        return
    if api_key is None and (url is None or is_deepgram_url(url)):
        raise ConfigurationError(
            "no credentials for Deepgram: set DEEPGRAM_API_KEY or pass --api-key KEY; "
            "or pass --url URL (or set DEEPGRAM_BASE_URL) for another server, "
            "or --local to start a local one"
        )
    yield Endpoint(url, api_key)
