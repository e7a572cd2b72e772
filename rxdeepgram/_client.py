"""``DeepgramClient`` / ``AsyncDeepgramClient``: one configuration, five channels, two I/O models.

``client.listen.v1.connect(**options)`` validates the options (before any I/O), builds the URL
and the session, and returns a context manager that opens the socket. Both clients run the same
asyncio driver: :class:`AsyncDeepgramClient` on the caller's loop, :class:`DeepgramClient` (a
blocking facade) on one I/O thread shared by all its connections. Everything else is shared.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeAlias, TypeVar, Unpack
from urllib.parse import urlencode

import reactivex
from reactivex import operators as ops

from ._auth import AsyncTokensClient, AuthClient, TokensClient
from ._channels import channel
from ._config import DEFAULT_SEND_QUEUE_BYTES, ClientConfig
from ._connection import AsyncConnection, Connection, ConnectionBase
from ._secrets import check_header_value, check_headers
from ._session import ChannelSpec, Session
from .errors import CallbackError, ConfigurationError

__all__ = ["AsyncDeepgramClient", "DeepgramClient"]

S = TypeVar("S")
C = TypeVar("C")
V1 = TypeVar("V1")
V2 = TypeVar("V2")
Ctx = TypeVar("Ctx")  # the context connect() returns: ConnectContext or AsyncConnectContext
Conn = TypeVar("Conn", bound="ConnectionBase[Any, Any]")  # the connection a context opens

if TYPE_CHECKING:
    from ._resume import Reconnect
    from .messages import Unknown, agent_v1, listen_v1, listen_v2, speak_v1, speak_v2
    from .options._typed import (
        AgentV1ConnectOptions,
        ListenV1ConnectOptions,
        ListenV2ConnectOptions,
        SpeakV1ConnectOptions,
        SpeakV2ConnectOptions,
    )

    L1S: TypeAlias = listen_v1.ServerMessage | Unknown | bytes
    L1C: TypeAlias = listen_v1.ClientMessage | bytes
    L2S: TypeAlias = listen_v2.ServerMessage | Unknown | bytes
    L2C: TypeAlias = listen_v2.ClientMessage | bytes
    SS: TypeAlias = speak_v1.ServerMessage | Unknown | bytes
    SC: TypeAlias = speak_v1.ClientMessage | str
    S2S: TypeAlias = speak_v2.ServerMessage | Unknown | bytes
    S2C: TypeAlias = speak_v2.ClientMessage | str
    AS: TypeAlias = agent_v1.ServerMessage | Unknown | bytes
    AC: TypeAlias = agent_v1.ClientMessage | bytes

_OPTIONS: dict[str, str] = {
    "listen.v1": "ListenV1Options",
    "listen.v2": "ListenV2Options",
    "speak.v1": "SpeakV1Options",
    "speak.v2": "SpeakV2Options",
}


class _Prepared:
    """Everything decided before I/O: URL, headers, session settings. Raises on bad input."""

    __slots__ = ("headers", "keepalive", "secrets", "spec", "url")

    def __init__(
        self,
        config: ClientConfig,
        name: str,
        *,
        keepalive: bool | float | None,
        authorization: str | None,
        request_options: Mapping[str, Any] | None,
        options: dict[str, Any],
    ) -> None:
        spec = channel(name)
        self.spec = spec
        # The transport's module is imported here, on the caller's thread, not later on the I/O
        # thread: imports racing between threads can trip import hooks (pytest's assertion
        # rewriting is not thread-safe on Python 3.11).
        from ._drivers._choice import opener_for

        opener_for(config.transport)
        extra_headers, extra_params = _request_options(request_options)
        query = ""
        options_cls_name = _OPTIONS.get(name)
        if options_cls_name is not None:
            from . import options as options_module

            options_cls = getattr(options_module, options_cls_name)
            if extra_params:
                _merge_query_parameters(options_cls, options, extra_params)
            query = options_cls.from_kwargs(**options).query_string()
        elif options:
            from .errors import InvalidOptionError

            unknown = next(iter(options))
            raise InvalidOptionError(
                unknown, options[unknown], f"{spec.name} takes no query options"
            )
        elif extra_params:
            from .options import query_pairs

            query = urlencode(query_pairs(extra_params, option=_AQP))
        url = config.url(spec.path, agent=spec.agent_host)
        if query:
            url += "?" + query
        config.check_credentials(url)
        secrets = config.secrets()
        if authorization is not None:  # checked and masked as the client's own credentials are
            authorization = check_header_value("authorization=", authorization).strip()
            credential = authorization.partition(" ")[2].strip() or authorization
            secrets = (*secrets, credential)
        headers = config.request_headers(authorization)
        if extra_headers:
            extra = check_headers(extra_headers, "request_options['additional_headers']")
            if any(k.lower() == "authorization" for k in extra):
                raise ConfigurationError(
                    "pass credentials as api_key=/access_token=/authorization="
                )
            headers.update(extra)
        self.url = url
        self.headers = headers
        self.secrets = secrets
        if keepalive is True:
            self.keepalive: float | None = spec.keepalive_interval
        elif keepalive is False or keepalive is None:
            self.keepalive = None
        elif isinstance(keepalive, (int, float)) and 0 < keepalive < float("inf"):
            self.keepalive = float(keepalive)
        else:
            raise ConfigurationError(
                "keepalive must be True, False or a positive, finite interval in seconds, "
                f"got {keepalive!r}"
            )

    def open_args(self, config: ClientConfig) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Arguments of the drivers' ``open_sync`` / ``open_async`` for one new connection."""
        session = Session(
            self.spec, keepalive_interval=self.keepalive, clock=time.monotonic, secrets=self.secrets
        )
        return (session, self.url, self.headers), {
            "open_timeout": config.open_timeout,
            "close_timeout": config.close_timeout,
            "ping_interval": config.ping_interval,
            "ping_timeout": config.ping_timeout,
            "secrets": self.secrets,
            "connection_kwargs": {"on_callback_error": config.on_callback_error},
            "transport": config.transport,
            "send_queue_bytes": config.send_queue_bytes,
        }


_AQP = "request_options['additional_query_parameters']"

_REFUSED_REQUEST_OPTIONS: dict[str, str] = {
    "timeout": "a WebSocket has no request timeout here; use the client's open_timeout=",
    "timeout_in_seconds": "use the client's open_timeout=",
    "max_retries": "use connect(reconnect=Reconnect(max_attempts=...))",
    "stream_reconnection_enabled": "use connect(reconnect=True)",
    "max_stream_reconnection_attempts": "use connect(reconnect=Reconnect(max_attempts=...))",
    "additional_body_parameters": "a WebSocket handshake has no body",
    "chunk_size": "only for file downloads",
}


def _request_options(
    request_options: Mapping[str, Any] | None,
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The seed SDK's ``request_options``: ``additional_headers`` and
    ``additional_query_parameters``, checked. Anything else raises ``InvalidOptionError``
    naming the key: it would otherwise be dropped without a word."""
    if not request_options:
        return {}, {}
    from .errors import InvalidOptionError

    if not isinstance(request_options, Mapping):
        raise InvalidOptionError(
            "request_options", type(request_options).__name__, "expected a mapping"
        )
    for key, value in request_options.items():
        if key in ("additional_headers", "additional_query_parameters"):
            if value is not None and not isinstance(value, Mapping):
                raise InvalidOptionError(
                    f"request_options[{key!r}]", type(value).__name__, "expected a mapping"
                )
            continue
        shown = value if isinstance(value, (bool, int, float)) or value is None else "..."
        why = _REFUSED_REQUEST_OPTIONS.get(key, "not a request option rxdeepgram knows")
        raise InvalidOptionError(
            f"request_options[{key!r}]",
            shown,
            f"cannot be honoured on a WebSocket connection: {why}",
            ["additional_headers", "additional_query_parameters"],
        )
    headers = request_options.get("additional_headers") or {}
    params = request_options.get("additional_query_parameters") or {}
    return headers, params


def _merge_query_parameters(
    options_cls: Any, options: dict[str, Any], params: Mapping[str, Any]
) -> None:
    """Merge ``additional_query_parameters`` into ``options`` (in place): a known option is
    validated as if given as a keyword, any other goes to ``extra_query``, sent as given."""
    from .errors import InvalidOptionError

    extra = dict(options.get("extra_query") or {})
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise InvalidOptionError(_AQP, key, "parameter names must be non-empty strings")
        known = key in options_cls.FIELDS or key in options_cls.PASSTHROUGH
        if key in options or key in extra:
            raise InvalidOptionError(key, value, f"given both as a keyword and in {_AQP}")
        if known:
            options[key] = value
        else:
            extra[key] = value
    if extra:
        options["extra_query"] = extra


Wrap = Callable[[Any], Any]
"""Turns a freshly opened connection into the one the user gets (the resumable layer)."""


class _Context(ABC, Generic[Conn]):
    """What the two connect contexts share: the prepared connection and its open, written once.

    A subclass names its I/O model through three hooks: ``_open_socket()`` (the driver's open),
    ``_cold_form()`` (the cold operator form) and ``is_async`` (for the resumable layer).
    """

    is_async: ClassVar[bool]
    _EXAMPLE: ClassVar[str]  # how to use it, for the AttributeError of an attribute read off it

    def __init__(self, config: ClientConfig, prepared: _Prepared, wrap: Wrap | None = None) -> None:
        self._config = config
        self._prepared = prepared
        self._wrap = wrap
        self._conn: Conn | None = None

    @staticmethod
    @abstractmethod
    def _open_socket() -> Callable[..., Awaitable[Any]]:
        """The driver's open for this I/O model (``open_async``'s arguments)."""

    @staticmethod
    @abstractmethod
    def _cold_form() -> Callable[..., Any]:
        """``_cold.cold_sync`` or ``_cold.cold_async``."""

    def _opening(self) -> Coroutine[Any, Any, Conn]:
        """The open as a coroutine, for the loop the connection runs on. The driver is imported
        and the session built now, on the caller's thread."""
        open_socket = self._open_socket()
        args, kwargs = self._prepared.open_args(self._config)
        return self._opened(open_socket(*args, **kwargs))

    async def _opened(self, opening: Awaitable[Any]) -> Conn:
        conn: Conn = await opening
        if self._wrap is not None:
            conn = self._wrap(conn)
        self._conn = conn
        return conn

    def __getattr__(self, name: str) -> Any:
        what = type(self).__name__
        if name.startswith("_"):  # protocols probed by copy, pickle, inspect...
            raise AttributeError(f"{what!r} object has no attribute {name!r}")
        raise AttributeError(
            f"{what!r} object has no attribute {name!r}: connect() returns a context manager "
            f"that opens the connection, not the connection itself. Use it as\n{self._EXAMPLE}"
        )


class ConnectContext(_Context[Connection[S, C]]):
    """Returned by the sync client's ``connect()``: not the connection but what opens it.

    ``with client.listen.v1.connect(...) as conn:`` opens it, and leaving the block closes it
    gracefully (or aborts if the body raised) and waits for the remaining messages;
    ``conn = client.listen.v1.connect(...).open()`` opens it without a block (then
    ``conn.close()``). Reading a connection's attribute (``input``, ``messages``...) off the
    context raises an ``AttributeError`` that says so.
    """

    is_async = False
    _EXAMPLE = (
        "    with client.listen.v1.connect(...) as conn:\n        conn.input.on_next(audio)\n"
        "or open it without a with block:\n"
        "    conn = client.listen.v1.connect(...).open()\n    ...\n    conn.close()"
    )

    @staticmethod
    def _open_socket() -> Callable[..., Awaitable[Any]]:
        from ._drivers._asyncio import open_on_io_loop

        return open_on_io_loop

    @staticmethod
    def _cold_form() -> Callable[..., Any]:
        from ._cold import cold_sync

        return cold_sync

    def open(self) -> Connection[S, C]:
        """Open the connection without a ``with`` block (close it with ``conn.close()``).

        The connection runs on rxdeepgram's one I/O thread, shared by every sync connection;
        opening blocks the caller until the handshake is done (refused on the I/O thread)."""
        from ._ioloop import io_loop, refuse_on_io_thread

        refuse_on_io_thread("opening a sync connection")
        return io_loop.run(self._opening())

    def __enter__(self) -> Connection[S, C]:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        if conn is None:
            return
        _leave(conn, exc)
        from ._ioloop import on_io_thread

        if on_io_thread():  # in a subscriber: waiting here would block the messages' thread
            return
        if not conn.wait(self._config.close_timeout + 1.0):
            # the close timer ends the stream within close_timeout: this is its safety net,
            # and a close that could not drain is an error, never a clean completion
            conn._abort(conn._close_timeout_error(), hard=True)
            conn.wait(1.0)


class AsyncConnectContext(_Context[AsyncConnection[S, C]]):
    """Returned by the async client's ``connect()``: not the connection but what opens it.

    ``async with client.listen.v1.connect(...) as conn:`` opens it (leaving the block closes it
    gracefully and waits for the remaining messages); ``conn = await client.listen.v1.connect(
    ...)`` (or ``await ....open()``) opens it without a block (then ``await conn.close()``).
    Reading a connection's attribute off the context raises an ``AttributeError`` that says so.
    """

    is_async = True
    _EXAMPLE = (
        "    async with client.listen.v1.connect(...) as conn:\n"
        "        conn.input.on_next(audio)\n"
        "or open it without a with block:\n"
        "    conn = await client.listen.v1.connect(...)\n    ...\n    await conn.close()"
    )

    @staticmethod
    def _open_socket() -> Callable[..., Awaitable[Any]]:
        from ._drivers._asyncio import open_async

        return open_async

    @staticmethod
    def _cold_form() -> Callable[..., Any]:
        from ._cold import cold_async

        return cold_async

    async def open(self) -> AsyncConnection[S, C]:
        return await self._opening()

    def __await__(self) -> Generator[Any, None, AsyncConnection[S, C]]:
        return self._opening().__await__()

    async def __aenter__(self) -> AsyncConnection[S, C]:
        return await self._opening()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        import asyncio

        conn = self._conn
        if conn is None:
            return
        _leave(conn, exc)
        try:
            await asyncio.wait_for(conn.wait(), self._config.close_timeout + 1.0)
        except TimeoutError:  # as in the sync client: an error, never a clean completion
            conn._abort(conn._close_timeout_error(), hard=True)
            await asyncio.wait_for(conn.wait(), 1.0)


def _leave(conn: ConnectionBase[Any, Any], exc: BaseException | None) -> None:
    if exc is not None:
        conn._abort(exc)
    else:
        conn._close_gracefully()


class ChannelClient(Generic[S, C, Ctx]):
    """``client.<channel>.<version>`` of either client: ``Ctx`` is the context ``connect()``
    returns, :class:`ConnectContext` (sync) or :class:`AsyncConnectContext` (async)."""

    _context: ClassVar[type[_Context[Any]]]  # the I/O model: the only difference

    def __init__(self, config: ClientConfig, name: str) -> None:
        self._config = config
        self._name = name

    @property
    def spec(self) -> ChannelSpec:
        return channel(self._name)

    def _prepare(
        self,
        keepalive: bool | float | None,
        authorization: str | None,
        request_options: Mapping[str, Any] | None,
        options: dict[str, Any],
    ) -> _Prepared:
        return _Prepared(
            self._config,
            self._name,
            keepalive=keepalive,
            authorization=authorization,
            request_options=request_options,
            options=options,
        )

    def connect(
        self,
        *,
        keepalive: bool | float | None = True,
        authorization: str | None = None,
        request_options: Mapping[str, Any] | None = None,
        reconnect: bool | Reconnect | None = None,
        **options: Any,
    ) -> Ctx:
        """Validate ``options`` (the channel's query parameters) and return a context manager
        that opens the connection (``with`` / ``async with``, or ``.open()`` / ``await``).

        ``keepalive``: ``True`` sends the channel's KeepAlive when nothing was sent for a few
        seconds (Listen V1: 5 s, Agent: 8 s), a number sets the interval, ``False`` turns it
        off. ``authorization`` overrides the Authorization header (seed API).
        ``reconnect``: ``True`` or a :class:`~rxdeepgram.Reconnect` makes the connection
        resumable (README "Reliability"): a dropped connection is reopened, what it had not
        finished is sent again, and ``messages`` carries on with continuous times.
        """
        prepared = self._prepare(keepalive, authorization, request_options, options)
        wrap = self._resumable(prepared, options, reconnect)
        # ``_context`` (a ClassVar, which cannot name ``Ctx``) is the class ``Ctx`` stands for
        context: Ctx = self._context(self._config, prepared, wrap)  # type: ignore[assignment]
        return context

    @property
    def with_raw_response(self) -> Self:
        """Seed API: connections already expose ``raw`` frames and ``response_headers``."""
        return self

    def _operator(
        self, options: dict[str, Any], *, first: Any = None, gate: Any = None
    ) -> Callable[[reactivex.Observable[Any]], reactivex.Observable[Any]]:
        keepalive = options.pop("keepalive", True)
        reconnect = options.pop("reconnect", None)
        request_options = options.pop("request_options", None)
        prepared = self._prepare(keepalive, None, request_options, options)
        wrap = self._resumable(prepared, options, reconnect)
        context, config = self._context, self._config
        cold: Callable[..., Operator] = context._cold_form()
        return cold(lambda: context(config, prepared, wrap)._opening(), first=first, gate=gate)

    def _resumable(
        self, prepared: _Prepared, options: dict[str, Any], reconnect: object
    ) -> Wrap | None:
        """The resumable layer's ``wrap`` when ``reconnect`` asks for it (validated now)."""
        if reconnect is None or reconnect is False:
            return None
        from ._resume import Reconnect, policy_factory
        from ._resume._connection import resumable

        config = Reconnect.coerce(reconnect)
        if config is None:
            return None
        policy = policy_factory(self._name, options, config)
        context, client_config = self._context, self._config

        def open_inner() -> Awaitable[ConnectionBase[Any, Any]]:
            return context(client_config, prepared)._opening()

        return resumable(
            open_inner,
            prepared.spec,
            policy,
            config,
            is_async=context.is_async,
            close_timeout=client_config.close_timeout,
            on_callback_error=client_config.on_callback_error,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name}>"


class SyncChannelClient(ChannelClient[S, C, ConnectContext[S, C]]):
    """``client.<channel>.<version>`` of the sync client."""

    _context = ConnectContext


class AsyncChannelClient(ChannelClient[S, C, AsyncConnectContext[S, C]]):
    """``client.<channel>.<version>`` of the async client."""

    _context = AsyncConnectContext


Operator = Callable[[reactivex.Observable[Any]], reactivex.Observable[Any]]


def _settings_applied(conn: ConnectionBase[Any, Any]) -> reactivex.Observable[Any]:
    from .messages.agent_v1 import SettingsApplied

    return conn.messages.pipe(ops.filter(lambda m: isinstance(m, SettingsApplied)), ops.take(1))


class _ListenOps:
    def transcribe(self: _Cold, **options: Any) -> Operator:
        """Cold form: ``Observable[bytes] -> Observable[message]``. Each subscription opens a
        connection with ``options`` (validated now), sends the source's audio, closes
        gracefully when the source completes and aborts on dispose; ``ops.retry()`` starts
        over, ``reconnect=True`` (or a ``Reconnect``) resumes where a drop cut the stream."""
        return self._operator(options)


class _SpeakOps:
    def synthesize(self: _Cold, **options: Any) -> Operator:
        """Cold form: ``Observable[str] -> Observable[bytes | message]``. Text is sent as
        ``Speak``; when the source completes the rest is flushed (``Flushed``) and the
        connection closes. Speak V1: pipe through ``operators.sentences()`` for sentence-sized
        flushes. Speak V2: the text is one turn unless the source also sends ``Flush`` (one
        per reply); completion ends the last turn and closes (``SessionMetadata`` last)."""
        return self._operator(options)


class _AgentOps:
    def converse(self: _Cold, settings: Any, **options: Any) -> Operator:
        """Cold form: ``Observable[bytes] -> Observable[bytes | message]``. Each subscription
        opens an agent connection, sends ``settings`` (validated now), and starts forwarding the
        source's audio once ``SettingsApplied`` arrives."""
        from .messages.agent_v1 import Settings, validate_settings

        if not isinstance(settings, Settings):
            native = getattr(settings, "_rxdeepgram_native_", None)
            settings = native() if callable(native) else settings
        if not isinstance(settings, Settings):
            from .errors import InvalidInputError

            raise InvalidInputError(
                f"converse() needs an agent Settings message, got {type(settings).__name__}"
            )
        validate_settings(settings)
        return self._operator(options, first=settings, gate=_settings_applied)


class _Cold(Protocol):
    def _operator(
        self, options: dict[str, Any], *, first: Any = None, gate: Any = None
    ) -> Operator: ...


class ListenClient(_ListenOps, SyncChannelClient[S, C]):
    """``client.listen.v1`` / ``client.listen.v2`` of the sync client."""


class SpeakClient(_SpeakOps, SyncChannelClient[S, C]):
    """``client.speak.v1`` / ``client.speak.v2`` of the sync client."""


class AgentClient(_AgentOps, SyncChannelClient[S, C]):
    """``client.agent.v1`` of the sync client."""


class AsyncListenClient(_ListenOps, AsyncChannelClient[S, C]):
    """``client.listen.v1`` / ``client.listen.v2`` of the async client."""


class AsyncSpeakClient(_SpeakOps, AsyncChannelClient[S, C]):
    """``client.speak.v1`` / ``client.speak.v2`` of the async client."""


class AsyncAgentClient(_AgentOps, AsyncChannelClient[S, C]):
    """``client.agent.v1`` of the async client."""


# The channels' options, typed for editors and type checkers: each mixin below declares (for the
# type checker only) ``connect()`` and the cold operator with ``**options: Unpack[<TypedDict>]``;
# at run time the methods are the untyped ones of ``ChannelClient`` / ``AsyncChannelClient``,
# which validate the options before any I/O. ``Ctx`` is the context ``connect()`` returns
# (sync or async), so one mixin per channel serves both clients.


class _ListenV1Options(Generic[Ctx]):
    """Typed ``connect()`` / ``transcribe()``: the options are ``ListenV1ConnectOptions``."""

    options_type = "ListenV1ConnectOptions"
    if TYPE_CHECKING:

        def connect(
            self,
            *,
            keepalive: bool | float | None = True,
            authorization: str | None = None,
            request_options: Mapping[str, Any] | None = None,
            reconnect: bool | Reconnect | None = None,
            **options: Unpack[ListenV1ConnectOptions],
        ) -> Ctx: ...

        def transcribe(
            self,
            *,
            keepalive: bool | float | None = True,
            request_options: Mapping[str, Any] | None = None,
            reconnect: bool | Reconnect | None = None,
            **options: Unpack[ListenV1ConnectOptions],
        ) -> Operator: ...


class _ListenV2Options(Generic[Ctx]):
    """Typed ``connect()`` / ``transcribe()``: the options are ``ListenV2ConnectOptions``."""

    options_type = "ListenV2ConnectOptions"
    if TYPE_CHECKING:

        def connect(
            self,
            *,
            keepalive: bool | float | None = True,
            authorization: str | None = None,
            request_options: Mapping[str, Any] | None = None,
            reconnect: bool | Reconnect | None = None,
            **options: Unpack[ListenV2ConnectOptions],
        ) -> Ctx: ...

        def transcribe(
            self,
            *,
            keepalive: bool | float | None = True,
            request_options: Mapping[str, Any] | None = None,
            reconnect: bool | Reconnect | None = None,
            **options: Unpack[ListenV2ConnectOptions],
        ) -> Operator: ...


class _SpeakV1Options(Generic[Ctx]):
    """Typed ``connect()`` / ``synthesize()``: the options are ``SpeakV1ConnectOptions``."""

    options_type = "SpeakV1ConnectOptions"
    if TYPE_CHECKING:

        def connect(
            self,
            *,
            keepalive: bool | float | None = True,
            authorization: str | None = None,
            request_options: Mapping[str, Any] | None = None,
            reconnect: bool | Reconnect | None = None,
            **options: Unpack[SpeakV1ConnectOptions],
        ) -> Ctx: ...

        def synthesize(
            self,
            *,
            keepalive: bool | float | None = True,
            request_options: Mapping[str, Any] | None = None,
            reconnect: bool | Reconnect | None = None,
            **options: Unpack[SpeakV1ConnectOptions],
        ) -> Operator: ...


class _SpeakV2Options(Generic[Ctx]):
    """Typed ``connect()`` / ``synthesize()``: the options are ``SpeakV2ConnectOptions``."""

    options_type = "SpeakV2ConnectOptions"
    if TYPE_CHECKING:

        def connect(
            self,
            *,
            keepalive: bool | float | None = True,
            authorization: str | None = None,
            request_options: Mapping[str, Any] | None = None,
            reconnect: bool | Reconnect | None = None,
            **options: Unpack[SpeakV2ConnectOptions],
        ) -> Ctx: ...

        def synthesize(
            self,
            *,
            keepalive: bool | float | None = True,
            request_options: Mapping[str, Any] | None = None,
            reconnect: bool | Reconnect | None = None,
            **options: Unpack[SpeakV2ConnectOptions],
        ) -> Operator: ...


class _AgentV1Options(Generic[Ctx]):
    """Typed ``connect()`` / ``converse()``: the options are ``AgentV1ConnectOptions``."""

    options_type = "AgentV1ConnectOptions"
    if TYPE_CHECKING:

        def connect(
            self,
            *,
            keepalive: bool | float | None = True,
            authorization: str | None = None,
            request_options: Mapping[str, Any] | None = None,
            reconnect: bool | Reconnect | None = None,
            **options: Unpack[AgentV1ConnectOptions],
        ) -> Ctx: ...

        def converse(
            self,
            settings: Any,
            *,
            keepalive: bool | float | None = True,
            request_options: Mapping[str, Any] | None = None,
            reconnect: bool | Reconnect | None = None,
            **options: Unpack[AgentV1ConnectOptions],
        ) -> Operator: ...


class ListenV1Client(_ListenV1Options[ConnectContext[S, C]], ListenClient[S, C]):  # type: ignore[misc]
    """``client.listen.v1`` of the sync client."""


class ListenV2Client(_ListenV2Options[ConnectContext[S, C]], ListenClient[S, C]):  # type: ignore[misc]
    """``client.listen.v2`` of the sync client."""


class SpeakV1Client(_SpeakV1Options[ConnectContext[S, C]], SpeakClient[S, C]):  # type: ignore[misc]
    """``client.speak.v1`` of the sync client."""


class SpeakV2Client(_SpeakV2Options[ConnectContext[S, C]], SpeakClient[S, C]):  # type: ignore[misc]
    """``client.speak.v2`` of the sync client."""


class AgentV1Client(_AgentV1Options[ConnectContext[S, C]], AgentClient[S, C]):  # type: ignore[misc]
    """``client.agent.v1`` of the sync client."""


class AsyncListenV1Client(_ListenV1Options[AsyncConnectContext[S, C]], AsyncListenClient[S, C]):  # type: ignore[misc]
    """``client.listen.v1`` of the async client."""


class AsyncListenV2Client(_ListenV2Options[AsyncConnectContext[S, C]], AsyncListenClient[S, C]):  # type: ignore[misc]
    """``client.listen.v2`` of the async client."""


class AsyncSpeakV1Client(_SpeakV1Options[AsyncConnectContext[S, C]], AsyncSpeakClient[S, C]):  # type: ignore[misc]
    """``client.speak.v1`` of the async client."""


class AsyncSpeakV2Client(_SpeakV2Options[AsyncConnectContext[S, C]], AsyncSpeakClient[S, C]):  # type: ignore[misc]
    """``client.speak.v2`` of the async client."""


class AsyncAgentV1Client(_AgentV1Options[AsyncConnectContext[S, C]], AsyncAgentClient[S, C]):  # type: ignore[misc]
    """``client.agent.v1`` of the async client."""


class _Pair(Generic[V1, V2]):
    """``client.listen`` / ``client.speak``: ``.v1`` and ``.v2``."""

    def __init__(self, v1: V1, v2: V2) -> None:
        self.v1 = v1
        self.v2 = v2


class _One(Generic[V1]):
    """``client.agent``: ``.v1``."""

    def __init__(self, v1: V1) -> None:
        self.v1 = v1


class _ClientBase:
    def __init__(
        self,
        api_key: str | None = None,
        *,
        access_token: str | None = None,
        base_url: str | None = None,
        open_timeout: float = 10.0,
        close_timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        on_callback_error: Callable[[CallbackError], None] | None = None,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        transport: str | None = None,
        send_queue_bytes: int = DEFAULT_SEND_QUEUE_BYTES,
    ) -> None:
        self._config = ClientConfig.build(
            api_key=api_key,
            access_token=access_token,
            base_url=base_url,
            open_timeout=open_timeout,
            close_timeout=close_timeout,
            headers=headers,
            on_callback_error=on_callback_error,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            transport=transport,
            send_queue_bytes=send_queue_bytes,
        )

    @property
    def config(self) -> ClientConfig:
        return self._config

    def __repr__(self) -> str:
        c = self._config
        creds = "no credentials"
        if c.access_token:
            creds = "access_token=***"
        elif c.api_key:
            creds = "api_key=***"
        return f"{type(self).__name__}({creds}, base_url={c.base_url!r})"


class DeepgramClient(_ClientBase):
    """The sync client. Credentials: ``api_key`` (default: env ``DEEPGRAM_API_KEY``) sent as
    ``Authorization: Token``, or ``access_token`` sent as ``Bearer``. ``base_url`` (default:
    Deepgram's hosts, env ``DEEPGRAM_BASE_URL``) serves every channel when given, e.g. the
    local server's ``ws://127.0.0.1:PORT``."""

    def __init__(self, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(api_key, **kwargs)
        config = self._config
        self.listen: _Pair[ListenV1Client[L1S, L1C], ListenV2Client[L2S, L2C]] = _Pair(
            ListenV1Client(config, "listen.v1"), ListenV2Client(config, "listen.v2")
        )
        self.speak: _Pair[SpeakV1Client[SS, SC], SpeakV2Client[S2S, S2C]] = _Pair(
            SpeakV1Client(config, "speak.v1"), SpeakV2Client(config, "speak.v2")
        )
        self.agent: _One[AgentV1Client[AS, AC]] = _One(AgentV1Client(config, "agent.v1"))
        self.auth: AuthClient[TokensClient] = AuthClient(TokensClient(config))


class AsyncDeepgramClient(_ClientBase):
    """The asyncio client; same arguments as :class:`DeepgramClient`."""

    def __init__(self, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(api_key, **kwargs)
        config = self._config
        self.listen: _Pair[AsyncListenV1Client[L1S, L1C], AsyncListenV2Client[L2S, L2C]] = _Pair(
            AsyncListenV1Client(config, "listen.v1"), AsyncListenV2Client(config, "listen.v2")
        )
        self.speak: _Pair[AsyncSpeakV1Client[SS, SC], AsyncSpeakV2Client[S2S, S2C]] = _Pair(
            AsyncSpeakV1Client(config, "speak.v1"), AsyncSpeakV2Client(config, "speak.v2")
        )
        self.agent: _One[AsyncAgentV1Client[AS, AC]] = _One(AsyncAgentV1Client(config, "agent.v1"))
        self.auth: AuthClient[AsyncTokensClient] = AuthClient(AsyncTokensClient(config))
