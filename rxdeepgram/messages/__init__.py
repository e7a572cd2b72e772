"""The wire messages of Deepgram's five WebSocket channels, as frozen msgspec structs.

One module per channel: :mod:`.listen_v1`, :mod:`.listen_v2`, :mod:`.speak_v1`, :mod:`.speak_v2`,
:mod:`.agent_v1`.
Each has ``ServerMessage`` / ``ClientMessage`` unions, a forgiving ``decode`` for what clients
receive and a strict ``decode_client`` for what the local server receives. :func:`encode` is the
one encoder, for every message of every channel and direction.

What ``decode`` accepts: a text frame whose ``type`` is one of the channel's server messages
decodes to that struct even when fields are missing (the live service omits some the spec marks
required): a missing field reads as ``None`` if it is optional, else as its type's empty value
(``""``, ``0``, ``0.0``, ``False``, ``[]``, a nested struct of such defaults). Unknown fields are
ignored. A field present with the wrong type, an unknown ``type``, or text that is not a JSON
object becomes :class:`Unknown` with the reason in ``error``. Binary frames come back as the
same ``bytes``. ``decode`` never raises.
"""

from __future__ import annotations

import msgspec

from ._base import ClientMessageBase, MessageBase, ServerMessageBase, Unknown

__all__ = ["ClientMessageBase", "MessageBase", "ServerMessageBase", "Unknown", "encode"]

_encoder = msgspec.json.Encoder()


def encode(message: MessageBase) -> bytes:
    """Serialise a message to the JSON text the wire expects (unset optional fields omitted).

    The result is UTF-8 bytes; send it as a *text* frame.
    """
    return _encoder.encode(message)
