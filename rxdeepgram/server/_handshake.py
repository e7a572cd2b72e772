"""The server's answer to each upgrade request (and to REST calls on the same port).

:class:`Handshake` is the part of :class:`~._app.DeepgramServer` that ``websockets`` calls during
the opening handshake (``process_request``, ``process_response``, ``select_subprotocol``): the
route, the credential, the query options and the engines' capabilities are checked there, in
that order (see :mod:`._app`), and every answer carries the connection's ``dg-request-id``.
"""

from __future__ import annotations

import http
import json
import logging
import uuid
from collections.abc import Sequence
from email.utils import formatdate
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from ..errors import InvalidOptionError
from ._audio import VadConfig
from ._auth import (
    ApiKeyAuth,
    AuthFailure,
    AuthHook,
    AuthRequest,
    extract_credential,
    offered_auth_subprotocol,
)
from ._channel import ChannelHandler
from ._tokens import TokenStore, handle_rest
from ._websockets_internals import DgConnection
from .engines import SttEngine, TtsEngine
from .think import Think

__all__ = ["Handshake"]

log = logging.getLogger("rxdeepgram.server")


def _header_safe(text: str, limit: int = 1024) -> str:
    """``text`` as a single-line ASCII header value."""
    flat = " ".join(text.split())
    safe = flat.encode("ascii", "backslashreplace").decode("ascii")
    return safe if len(safe) <= limit else safe[: limit - 3] + "..."


class Handshake:
    """Deepgram's handshake rules, for the server that holds the routes and the credentials."""

    # what the channels' ``check_request`` reads (``ServerSettings``) and the credentials
    engine: SttEngine
    tts: TtsEngine
    idle_timeout: float
    vad: VadConfig
    think: Think
    tokens: TokenStore
    _keys: ApiKeyAuth
    _auth: AuthHook
    _routes: dict[str, ChannelHandler]

    @staticmethod
    def error_response(status: int, err_code: str, message: str, request_id: str) -> Response:
        """An HTTP error answer to an upgrade request, Deepgram style."""
        body = json.dumps(
            {"err_code": err_code, "err_msg": message, "request_id": request_id}
        ).encode()
        headers = Headers(
            [
                ("Date", formatdate(usegmt=True)),
                ("Connection", "close"),
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("dg-error", _header_safe(message)),
            ]
        )
        return Response(status, http.HTTPStatus(status).phrase, headers, body)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        assert isinstance(connection, DgConnection)
        request_id = str(uuid.uuid4())
        connection.dg_request_id = request_id
        if connection.dg_method != "GET":  # REST (POST /v1/auth/grant): see ._tokens
            return handle_rest(
                self.tokens,
                self._keys,
                connection.dg_method,
                request,
                connection.dg_body,
                request_id,
            )
        split = urlsplit(request.path)
        route = self._routes.get(split.path)
        if route is None:
            log.info("request %s: 404 for unknown path %r", request_id, split.path[:200])
            return self.error_response(
                404, "NOT_FOUND", f"Unknown endpoint: {split.path}", request_id
            )
        failure: AuthFailure | None = self._auth(
            AuthRequest(extract_credential(request.headers), split.path, request_id)
        )
        if failure is not None:
            log.info("request %s: %d, credentials refused", request_id, failure.status)
            return self.error_response(
                failure.status, failure.err_code, failure.message, request_id
            )
        pairs = parse_qsl(split.query, keep_blank_values=True)
        try:
            options = route.parse_options(pairs)
            check = getattr(route, "check_request", None)
            if check is not None:
                check(options, self)
        except InvalidOptionError as exc:
            log.info("request %s: 400, invalid option %r", request_id, exc.option)
            return self.error_response(400, "Bad Request", str(exc), request_id)
        connection.dg_path = split.path
        connection.dg_route = route
        connection.dg_options = options
        return None

    def _process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> None:
        request_id = getattr(connection, "dg_request_id", "") or str(uuid.uuid4())
        response.headers["dg-request-id"] = request_id

    def _select_subprotocol(
        self, connection: ServerConnection, subprotocols: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        chosen = offered_auth_subprotocol(list(subprotocols))
        return Subprotocol(chosen) if chosen is not None else None
