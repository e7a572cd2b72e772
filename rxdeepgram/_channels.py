"""The five channels as data: what differs between them, and nothing else.

Each :class:`~rxdeepgram._session.ChannelSpec` is built on first use, so importing
``rxdeepgram`` does not import every message module.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from ._session import ChannelSpec
from .messages import MessageBase

__all__ = ["channel"]


def _listen_v1() -> ChannelSpec:
    from .messages import listen_v1 as m

    return ChannelSpec(
        name="Listen V1",
        path="/v1/listen",
        decode=m.decode,
        client_messages=m.CLIENT_MESSAGES,
        close_messages=(m.CloseStream(),),
        keepalive_message=m.KeepAlive(),
        keepalive_interval=5.0,
    )


def _listen_v2() -> ChannelSpec:
    from .messages import listen_v2 as m

    return ChannelSpec(
        name="Listen V2",
        path="/v2/listen",
        decode=m.decode,
        client_messages=m.CLIENT_MESSAGES,
        close_messages=(m.CloseStream(),),
        fatal_types=(m.Error,),
        # Flux closes without a status code after CloseStream (docs): 1005 is a clean end.
        clean_close_codes=frozenset({1000, 1005}),
    )


def _speak(text: str) -> MessageBase:
    from .messages.speak_v1 import Speak

    return Speak(text=text)


MAX_SPEAK_CHARS = 2000
"""Deepgram's limit on the text of one ``Speak`` (more: close 1009 ``BIG-0001``)."""


def _check_speak(message: object) -> None:
    from .errors import InvalidInputError
    from .messages.speak_v1 import Speak

    if type(message) is Speak and len(message.text) > MAX_SPEAK_CHARS:
        raise InvalidInputError(
            f"cannot send on Speak V1: a Speak of {len(message.text)} characters is over "
            f"Deepgram's {MAX_SPEAK_CHARS} per message (the server would close with 1009 "
            "BIG-0001): split the text (operators.sentences() does)"
        )


def _speak_v1() -> ChannelSpec:
    from .messages import speak_v1 as m

    return ChannelSpec(
        name="Speak V1",
        path="/v1/speak",
        decode=m.decode,
        client_messages=m.CLIENT_MESSAGES,
        accepts_media=False,
        text_message=_speak,
        # Flush first so the last audio is followed by Flushed, then Close drains and closes.
        close_messages=(m.Flush(), m.Close()),
        validate=_check_speak,
    )


def _speak_v2_text(text: str) -> MessageBase:
    from .messages.speak_v2 import Speak

    return Speak(text=text)


def _speak_v2() -> ChannelSpec:
    from .messages import speak_v2 as m

    return ChannelSpec(
        name="Speak V2",
        path="/v2/speak",
        decode=m.decode,
        client_messages=m.CLIENT_MESSAGES,
        accepts_media=False,
        text_message=_speak_v2_text,
        fatal_types=(m.Error,),
        # Close drains and ends with SessionMetadata; a turn still open is flushed first, and
        # only then (a Flush with no active turn would earn a NO_ACTIVE_SPEECH warning).
        close_messages=(m.Close(),),
        turn_messages={m.Speak: True, m.Flush: False, m.Interrupt: False},
        close_turn_message=m.Flush(),
    )


def _agent_v1() -> ChannelSpec:
    from .messages import agent_v1 as m

    return ChannelSpec(
        name="Agent V1",
        path="/v1/agent/converse",
        decode=m.decode,
        client_messages=m.CLIENT_MESSAGES,
        keepalive_message=m.KeepAlive(),
        keepalive_interval=8.0,
        keepalive_after_first_send=True,  # Settings must be the first message
        fatal_types=(m.Error,),
        agent_host=True,
        validate=m.validate_message,
    )


_BUILDERS: dict[str, Callable[[], ChannelSpec]] = {
    "listen.v1": _listen_v1,
    "listen.v2": _listen_v2,
    "speak.v1": _speak_v1,
    "speak.v2": _speak_v2,
    "agent.v1": _agent_v1,
}


@cache
def channel(name: str) -> ChannelSpec:
    """The spec of ``listen.v1``, ``listen.v2``, ``speak.v1``, ``speak.v2`` or ``agent.v1``."""
    return _BUILDERS[name]()
