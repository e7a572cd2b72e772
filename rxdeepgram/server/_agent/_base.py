"""What every part of an agent connection shares: the constants, the handler's knobs
(:class:`AgentOptions`), its fatal errors (:func:`fatal`, a :class:`~.._stream.StreamFatal`) and
the socket (:class:`Link`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .._stream import StreamFatal

if TYPE_CHECKING:
    from ...messages import MessageBase

__all__ = [
    "DEFAULT_FRUSTRATION_MAX",
    "DEFAULT_SAMPLE_RATE",
    "DYNAMIC_LINE",
    "FILLER_LINE",
    "FRUSTRATION_WORDS",
    "MAX_PROMPT_CHARS",
    "AgentOptions",
    "Link",
    "ServerFunction",
    "fatal",
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


def fatal(code: str, description: str, close: int = 1008, reason: str = "DATA-0000") -> StreamFatal:
    """The end of the session: ``Error {code, description}``, then close ``close`` with the
    reason ``"<reason> <description>"``."""
    return StreamFatal(close, reason, description, error_code=code)


def timeout_fatal(idle: float) -> StreamFatal:
    return fatal(
        "CLIENT_MESSAGE_TIMEOUT",
        f"No message from the client within {idle:g} s: send audio or KeepAlive.",
        1011,
        "NET-0001",
    )


def internal() -> StreamFatal:
    return fatal("INTERNAL_SERVER_ERROR", "An internal server error occurred.", 1011, "NET-0000")


class Link(Protocol):
    """The socket as the parts of the agent use it (the session, a
    :class:`~.._stream.ServerStream`, is it)."""

    @property
    def request_id(self) -> str: ...
    async def send(self, message: MessageBase) -> None: ...
    async def send_audio(self, data: bytes) -> None: ...
    async def warn(self, code: str, description: str) -> None: ...
    async def fail(self, fatal: StreamFatal) -> None: ...
