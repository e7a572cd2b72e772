"""What every part of an agent connection shares: the constants, the handler's knobs
(:class:`AgentOptions`), the fatal error (:class:`Fatal`) and the socket (:class:`Link`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from websockets.exceptions import ConnectionClosed

from ...messages import MessageBase, encode
from ...messages.agent_v1 import Error, Warning
from .._stt import close_reason

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

__all__ = [
    "DEFAULT_FRUSTRATION_MAX",
    "DEFAULT_SAMPLE_RATE",
    "DYNAMIC_LINE",
    "FILLER_LINE",
    "FRUSTRATION_WORDS",
    "MAX_PROMPT_CHARS",
    "AgentOptions",
    "Fatal",
    "Link",
    "ServerFunction",
    "internal",
    "log",
    "timeout_fatal",
]

log = logging.getLogger("rxdeepgram.server")

DEFAULT_SAMPLE_RATE = 24000
"""Input and output sample rate when ``Settings.audio`` names none."""

MAX_PROMPT_CHARS = 25_000
"""Longest prompt kept for a managed think provider (longer ones are cut, with a Warning)."""

DYNAMIC_LINE = "One moment, please."
"""What the local server's stand-in for Think Live says for a dynamic ``InjectAgentMessage``
(``is_dynamic``): one fixed filler line, ``conversational_behavior`` ``"filler"``."""

FRUSTRATION_WORDS = re.compile(
    r"\b(frustrat\w*|ridiculous|useless|annoy\w*|fed up|unacceptable)\b", re.IGNORECASE
)
"""A user statement matching this is a ``FrustrationDetected`` when Think Live is on."""

FILLER_LINE = "Let me check on that."
"""The filler line the local Think Live stand-in says while a function call is outstanding."""

DEFAULT_FRUSTRATION_MAX = 3
"""``escalated`` from this count on when ``frustration_max_count`` is not given."""

ServerFunction = Callable[[str, Mapping[str, Any]], str]
"""Makes the result (JSON text) of a server-side function call: ``(name, arguments) -> str``."""


class AgentOptions(Protocol):
    """The knobs of :class:`~..agent_v1.AgentV1Handler` the connection reads."""

    @property
    def realtime(self) -> bool: ...
    @property
    def lead(self) -> float: ...
    @property
    def chunk_ms(self) -> int: ...
    @property
    def end_of_turn_ms(self) -> int: ...
    @property
    def max_think_rounds(self) -> int: ...
    @property
    def server_function(self) -> ServerFunction: ...
    @property
    def on_client_frame(self) -> Callable[[str, str | bytes], None] | None: ...


class Fatal(Exception):
    """End the session with ``Error {code, description}`` and a close frame."""

    def __init__(self, code: str, description: str, close: int = 1008, reason: str = "DATA-0000"):
        super().__init__(description)
        self.code = code
        self.description = description
        self.close = close
        self.reason = reason


def timeout_fatal(idle: float) -> Fatal:
    return Fatal(
        "CLIENT_MESSAGE_TIMEOUT",
        f"No message from the client within {idle:g} s: send audio or KeepAlive.",
        1011,
        "NET-0001",
    )


def internal() -> Fatal:
    return Fatal("INTERNAL_SERVER_ERROR", "An internal server error occurred.", 1011, "NET-0000")


class Link:
    """The socket as the parts of the agent use it: messages, audio, warnings, the fatal end."""

    __slots__ = ("request_id", "ws")

    def __init__(self, ws: ServerConnection, request_id: str) -> None:
        self.ws = ws
        self.request_id = request_id

    async def send(self, message: MessageBase) -> None:
        await self.ws.send(encode(message), text=True)

    async def send_audio(self, chunk: bytes) -> None:
        await self.ws.send(chunk)

    async def warn(self, code: str, description: str) -> None:
        await self.send(Warning(description=description, code=code))

    async def fail(self, fatal: Fatal) -> None:
        """``Error`` and the close frame; quiet when the client has already gone."""
        log.info("request %s: agent error %s", self.request_id, fatal.code)
        try:
            await self.send(Error(description=fatal.description, code=fatal.code))
            await self.ws.close(fatal.close, close_reason(fatal.reason, fatal.description))
        except ConnectionClosed:
            pass
