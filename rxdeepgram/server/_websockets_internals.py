"""The one place where the local server relies on ``websockets`` internals.

``websockets``' public server API has no room for two things the server does:

* **REST on the WebSocket port** (``POST /v1/auth/grant``, see :mod:`._tokens`). ``websockets``
  refuses a request body (and, before 17.0, any method but ``GET``), so
  :class:`DgConnection` overrides ``ServerConnection.data_received`` / ``eof_received`` (the
  ``asyncio.Protocol`` methods of ``websockets``' connection, not part of its documented API)
  to hold back the body of a non-``GET`` request and its method, and shows ``websockets`` the
  request line rewritten as ``GET`` and without ``Content-Length``.
* **Client keepalives** (Speak V2 counts a client's ping, or an unsolicited pong, as activity).
  There is no public hook for received control frames: :class:`DgConnection` overrides
  ``Connection.process_event`` (called with every parsed frame) and reads
  ``Connection.pending_pings`` (the payloads of the server's own pings awaiting their pong;
  ``pong_waiters`` in websockets 15).

``tests/test_dependency_internals.py`` checks each of these against the installed
``websockets`` and fails naming its version if one of them changed. The rest of the server
uses ``websockets``' public API only (``serve(create_connection=...)`` is public: it is how
this class is plugged in).
"""

from __future__ import annotations

import time
from collections.abc import Container
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode

from ._channel import ChannelHandler

__all__ = ["MAX_REST_BODY", "MAX_REST_HEAD", "DgConnection"]

MAX_REST_HEAD = 64 * 1024
"""The most of a non-``GET`` request's head held back before ``websockets`` gets it anyway."""
MAX_REST_BODY = 64 * 1024
"""The largest REST body held back; a larger one goes to ``websockets``, which refuses it."""


class DgConnection(ServerConnection):
    """A server connection carrying the handshake's request id, route and options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dg_request_id = ""
        self.dg_path = ""
        self.dg_route: ChannelHandler | None = None
        self.dg_options: object = None
        self.dg_body = b""
        self.dg_method = "GET"
        self._dg_head: bytearray | None = bytearray()  # None once websockets has the request
        self.dg_client_keepalive = 0.0
        """``time.monotonic()`` of the client's last ping or unsolicited pong (Speak V2 counts
        them as activity: Deepgram's documented way to keep an idle session open)."""

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and (
            event.opcode is Opcode.PING
            or (event.opcode is Opcode.PONG and bytes(event.data) not in self._dg_own_pings())
        ):
            self.dg_client_keepalive = time.monotonic()
        super().process_event(event)

    def _dg_own_pings(self) -> Container[bytes]:
        """The payloads of the server's own pings awaiting their pong: ``pending_pings`` (named
        ``pong_waiters`` in websockets 15)."""
        pings: Container[bytes] | None = getattr(self, "pending_pings", None)
        if pings is None:
            pings = getattr(self, "pong_waiters", ())
        return pings

    def data_received(self, data: bytes) -> None:
        """Hand the bytes to ``websockets``, except the body of a non-``GET`` request (a REST
        call such as ``POST /v1/auth/grant``): it is kept in ``dg_body`` and its
        ``Content-Length`` header dropped. The method is kept in ``dg_method`` and
        ``websockets`` is shown ``GET``."""
        head = self._dg_head
        if head is None:
            super().data_received(data)
            return
        head += data
        if len(head) < 4 or head.startswith(b"GET "):
            if len(head) >= 4:
                self._dg_release(bytes(head))
            return
        end = head.find(b"\r\n\r\n")
        if end < 0:
            if len(head) > MAX_REST_HEAD:
                self._dg_release(bytes(head))
            return
        lines = bytes(head[:end]).split(b"\r\n")
        method, _, target = lines[0].partition(b" ")
        self.dg_method = method.decode("ascii", "replace")
        lines[0] = b"GET " + target
        length = 0
        kept: list[bytes] = []
        for line in lines:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip()) if value.strip().isdigit() else 0
            else:
                kept.append(line)
        if length > MAX_REST_BODY:
            self._dg_release(bytes(head))  # websockets refuses it (400)
            return
        if len(head) < end + 4 + length:
            return
        self.dg_body = bytes(head[end + 4 : end + 4 + length])
        self._dg_release(b"\r\n".join(kept) + b"\r\n\r\n")

    def _dg_release(self, data: bytes) -> None:
        self._dg_head = None
        super().data_received(data)

    def eof_received(self) -> None:
        if self._dg_head:
            self._dg_release(bytes(self._dg_head))
        super().eof_received()
