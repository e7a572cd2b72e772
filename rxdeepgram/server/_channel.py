"""What a channel module of the server sees: :class:`ServerSession` (one accepted connection),
:class:`ServerSettings` (the server's engines and limits) and the :class:`ChannelHandler`
protocol the channels implement.

It sits below both :mod:`._app` (which mounts the channels and builds the sessions) and the
channel modules (``listen_v1``, ``listen_v2``, ``speak_v1``, ``speak_v2``, ``agent_v1``), so
neither imports the other's way up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from websockets.asyncio.server import ServerConnection

from ._audio import VadConfig
from .engines import SttEngine, TtsEngine
from .think import Think

__all__ = ["ChannelHandler", "ServerSession", "ServerSettings"]


class ServerSettings(Protocol):
    """What a channel reads from its server (:class:`~._app.DeepgramServer` is one)."""

    engine: SttEngine
    tts: TtsEngine
    idle_timeout: float
    vad: VadConfig
    think: Think


@dataclass(frozen=True, slots=True)
class ServerSession:
    """One accepted connection, as a channel handler sees it (not to be confused with the
    client's Sans-I/O ``rxdeepgram._session.Session``)."""

    websocket: ServerConnection
    request_id: str
    path: str
    options: object
    server: ServerSettings


class ChannelHandler(Protocol):
    """One WebSocket channel of the server, mounted at a path."""

    def parse_options(self, pairs: Sequence[tuple[str, str]]) -> object:
        """Validate the decoded query pairs; raise :class:`InvalidOptionError` to refuse the
        upgrade with ``400``. The result is handed to :meth:`serve` as ``session.options``."""
        ...

    async def serve(self, session: ServerSession) -> None:
        """Run one accepted connection until it closes."""
        ...
