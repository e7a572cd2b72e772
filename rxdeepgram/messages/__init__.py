"""The wire messages of Deepgram's four WebSocket channels, as frozen msgspec structs.

One module per channel: :mod:`.listen_v1`, :mod:`.listen_v2`, :mod:`.speak_v1`, :mod:`.agent_v1`.
Each has ``ServerMessage`` / ``ClientMessage`` unions, a forgiving ``decode`` for what clients
receive and a strict ``decode_client`` for what the local server receives. :func:`encode` is the
one encoder, for every message of every channel and direction.
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
