"""The Deepgram-compatible server: one port, a route per channel path, Deepgram's handshake rules.

:class:`DeepgramServer` wraps a ``websockets`` asyncio server. Every upgrade request gets a
uuid4 request id, returned in ``dg-request-id`` on every handshake response (``101`` or error)
and used as ``request_id`` in the channel's messages. The handshake is checked in this order:

1. the path must be a known route, else ``404``;
2. the auth hook must accept the credential, else its status (``401``);
3. the channel must accept the query options, else ``400`` naming the option;
4. the server's engines must be able to honour them (a handler's optional
   ``check_request(options, server)``: a language the engine does not know, ``speed`` for a TTS
   engine without it; see :mod:`._capabilities`), else ``400`` naming the option.

Errors carry ``dg-error: <message>`` and a JSON body ``{"err_code", "err_msg", "request_id"}``.
Routes are :class:`ChannelHandler` objects keyed by path (``/v1/listen``, ``/v2/listen``,
``/v1/speak``, ``/v2/speak``, ``/v1/agent/converse``; more are added with
:meth:`DeepgramServer.add_route`).

Non-``GET`` requests on the same port are Deepgram's REST side: ``POST /v1/auth/grant`` mints
temporary tokens that the upgrade then accepts as ``Bearer`` credentials (see :mod:`._tokens`).

The server runs either in the caller's event loop (``async with DeepgramServer() as srv``) or in
a background thread with its own loop (``with DeepgramServer() as srv``, or ``start()`` /
``stop()``). Logging never includes credentials: ``websockets``' own logger is wrapped so that
its debug output (which would print request headers) is off and tracebacks are reduced to the
exception's type.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Mapping, MutableMapping
from types import TracebackType
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from .._version import __version__
from ._audio import VadConfig
from ._auth import ApiKeyAuth, AuthHook
from ._channel import ChannelHandler, ServerSession
from ._handshake import Handshake
from ._tokens import DEFAULT_TOKEN_TTL, TokenAuth, TokenStore
from ._websockets_internals import DgConnection
from .agent_v1 import AgentV1Handler
from .engines import SttEngine, TtsEngine, get_engine, get_tts_engine
from .listen_v1 import ListenV1Handler
from .listen_v2 import ListenV2Handler
from .speak_v1 import SpeakV1Handler
from .speak_v2 import SpeakV2Handler
from .think import Think, get_think

__all__ = ["ChannelHandler", "DeepgramServer", "ServerSession"]

log = logging.getLogger("rxdeepgram.server")


class _QuietLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """``websockets``' logger without DEBUG (request headers) and without tracebacks (whose
    text could quote a header); the exception's type is appended instead."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        exc_info = kwargs.pop("exc_info", None)
        if exc_info:
            exc = sys.exc_info()[1] if exc_info is True else exc_info
            if isinstance(exc, tuple):
                exc = exc[1]
            if isinstance(exc, BaseException):
                msg = f"{msg} ({type(exc).__name__})"
        kwargs.pop("stack_info", None)
        return msg, kwargs


def _default_routes() -> dict[str, ChannelHandler]:
    return {
        "/v1/listen": ListenV1Handler(),
        "/v2/listen": ListenV2Handler(),
        "/v1/agent/converse": AgentV1Handler(),
        "/v1/speak": SpeakV1Handler(),
        "/v2/speak": SpeakV2Handler(),
    }


class DeepgramServer(Handshake):
    """A local server speaking Deepgram's real-time WebSocket protocol.

    Args:
        host: interface to bind (an IP address; ``127.0.0.1`` by default).
        port: TCP port; ``0`` picks a free one (see :attr:`port` / :attr:`url`).
        engine: speech-to-text engine: a name for :func:`~.engines.get_engine`
            (``"scripted"``, ``"local"``) or an engine object such as
            ``ScriptedEngine(["hello world"])``.
        tts: text-to-speech engine for Speak and the agent: a name for
            :func:`~.engines.get_tts_engine` (``"tone"``, ``"local"``) or an engine object.
        api_key: when set, upgrades must carry ``Authorization: Token <api_key>`` (or the
            ``token, <api_key>`` subprotocols); otherwise any credential, or none, is accepted.
        idle_timeout: seconds without any frame from the client before the server closes the
            connection with 1011 ``NET-0001`` (Deepgram: 10 s).
        auth: an auth hook replacing the api-key check (see :mod:`._auth`).
        vad: speech-detector tuning for the Listen channels.
        routes: extra or replacement channel handlers by path.
        max_message_size: largest frame accepted from a client, in bytes.
        think: the agent's think step: ``"rules"`` (default), ``"echo"`` or a callable (see
            :mod:`.think`).
        token_ttl: default lifetime in seconds of the temporary tokens granted at
            ``POST /v1/auth/grant`` (see :mod:`._tokens`; :attr:`tokens` is the store).

    Use it as a context manager, sync (own thread and loop) or async (caller's loop)::

        with DeepgramServer() as srv:
            url = srv.url            # "ws://127.0.0.1:PORT"

        async with DeepgramServer(engine=ScriptedEngine(["hi there"])) as srv:
            ...
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        engine: str | SttEngine = "scripted",
        tts: str | TtsEngine = "tone",
        api_key: str | None = None,
        idle_timeout: float = 10.0,
        auth: AuthHook | None = None,
        vad: VadConfig | None = None,
        routes: Mapping[str, ChannelHandler] | None = None,
        max_message_size: int = 1 << 24,
        think: str | Think = "rules",
        token_ttl: float = DEFAULT_TOKEN_TTL,
    ) -> None:
        if idle_timeout <= 0:
            raise ValueError("idle_timeout must be positive")
        self.host = host
        self._requested_port = port
        self.engine: SttEngine = get_engine(engine) if isinstance(engine, str) else engine
        self.tts: TtsEngine = get_tts_engine(tts) if isinstance(tts, str) else tts
        self.idle_timeout = float(idle_timeout)
        self.vad = vad or VadConfig()
        self.think: Think = get_think(think)
        self._keys = ApiKeyAuth(api_key)
        self.tokens = TokenStore(token_ttl)
        """Temporary tokens granted by ``POST /v1/auth/grant`` (its ``clock`` is replaceable)."""
        self._auth: AuthHook = auth if auth is not None else TokenAuth(self._keys, self.tokens)
        self._routes: dict[str, ChannelHandler] = _default_routes()
        if routes:
            self._routes.update(routes)
        self.max_message_size = max_message_size
        self._server: Server | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- routing -------------------------------------------------------------------------------

    def add_route(self, path: str, handler: ChannelHandler) -> None:
        """Serve ``handler`` at ``path`` (e.g. ``/v1/speak``), replacing any previous one."""
        if not path.startswith("/"):
            raise ValueError("a route path starts with '/'")
        self._routes[path] = handler

    @property
    def routes(self) -> Mapping[str, ChannelHandler]:
        """The channel handlers by path."""
        return dict(self._routes)

    # -- addresses -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (after start)."""
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def url(self) -> str:
        """``ws://host:port`` of the running server (no path)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    @property
    def http_url(self) -> str:
        """``http://host:port``: the same port, for REST calls (``POST /v1/auth/grant``)."""
        return "http" + self.url[len("ws") :]

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._server is not None

    # -- async lifecycle -----------------------------------------------------------------------

    async def astart(self) -> DeepgramServer:
        """Start serving in the running event loop."""
        if self._server is not None:
            raise RuntimeError("the server is already started")
        server = await serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            process_response=self._process_response,
            select_subprotocol=self._select_subprotocol,
            compression=None,
            max_size=self.max_message_size,
            server_header=f"rxdeepgram/{__version__}",
            logger=_QuietLogger(logging.getLogger("websockets.server"), {}),
            create_connection=DgConnection,
        )
        self._server = server
        self._port = int(server.sockets[0].getsockname()[1])
        log.info("serving Deepgram protocol on %s (engine %s)", self.url, self.engine.name)
        return self

    async def astop(self) -> None:
        """Stop accepting connections, close open ones (1001) and wait for their handlers."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        await server.wait_closed()
        log.info("server on port %s stopped", self._port)

    async def __aenter__(self) -> DeepgramServer:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    # -- threaded lifecycle --------------------------------------------------------------------

    def start(self) -> DeepgramServer:
        """Start serving from a background thread running its own event loop."""
        if self._thread is not None or self._server is not None:
            raise RuntimeError("the server is already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                try:
                    loop.run_until_complete(loop.shutdown_asyncgens())
                    loop.run_until_complete(loop.shutdown_default_executor())
                finally:
                    loop.close()

        thread = threading.Thread(target=run, name=f"rxdeepgram-server-{id(self):x}", daemon=True)
        self._thread = thread
        self._loop = loop
        thread.start()
        ready.wait()
        if failure:
            self._thread = None
            self._loop = None
            thread.join()
            raise failure[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop a server started with :meth:`start` (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        try:
            if not loop.is_closed():
                future = asyncio.run_coroutine_threadsafe(self.astop(), loop)
                future.result(timeout)
        finally:
            if not loop.is_closed():
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            self._thread = None
            self._loop = None

    def __enter__(self) -> DeepgramServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._port is not None and self.running else "not running"
        return f"<DeepgramServer {where} engine={self.engine.name!r}>"

    # -- connections ---------------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        assert isinstance(connection, DgConnection)
        route = connection.dg_route
        if route is None:  # pragma: no cover - the handshake guarantees a route
            await connection.close(1011, "NET-0000 no route")
            return
        session = ServerSession(
            connection,
            connection.dg_request_id,
            connection.dg_path,
            connection.dg_options,
            self,
        )
        log.debug("request %s: connection open on %s", session.request_id, session.path)
        try:
            await route.serve(session)
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("request %s: channel handler failed", session.request_id)
            await connection.close(1011, "NET-0000 internal server error")
        log.debug(
            "request %s: connection closed (%s)",
            session.request_id,
            connection.close_code,
        )
