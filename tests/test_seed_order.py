"""The seed API's handlers see the whole conversation, in order, whatever the order of the calls.

Deepgram's SDK reads its socket only in ``start_listening()``, so its handlers get ``OPEN``, then
every message since the connection opened, then ``CLOSE`` (then ``ERROR`` if the stream failed),
however late ``on`` and ``start_listening`` are called. These tests run the seed examples' orders
of calls on all four channels, with both clients, both transports, plain and resumable
connections, several times each (the losses this guards against were races), and compare the
handlers' FULL event list with what the local server sent on that connection (recorded on the
server's side by :class:`Recording`).

The rest checks the bounds (``rxdeepgram._seed``): past ``HOLD_LIMIT`` held messages a seed
connection stops reading until ``start_listening()``; a connection read through Rx never does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from audio_util import concat, pcm16, silence, tone

from rxdeepgram import Reconnect
from rxdeepgram._seed import HOLD_LIMIT
from rxdeepgram.compat import (
    AgentV1Agent,
    AgentV1AudioConfig,
    AgentV1AudioInput,
    AgentV1DeepgramSpeakProvider,
    AgentV1Listen,
    AgentV1ListenProvider,
    AgentV1MediaMessage,
    AgentV1OpenAiThinkProvider,
    AgentV1SettingsMessage,
    AgentV1SpeakProviderConfig,
    AgentV1Think,
    EventType,
    ListenV1ControlMessage,
    ListenV1MediaMessage,
    ListenV2ControlMessage,
    ListenV2MediaMessage,
    SpeakV1ControlMessage,
    SpeakV1TextMessage,
)
from rxdeepgram.messages import Unknown
from rxdeepgram.server import DeepgramServer, ScriptedEngine, ServerSession
from rxdeepgram.server.agent_v1 import AgentV1Handler

pytestmark = pytest.mark.timeout(120)

REPEAT = 3
"""Runs of each order of calls per test (the original losses showed up in 7 runs of 10)."""
WAIT = 10.0


# -- the server's side: what it sent on each connection --------------------------------------------


class _SendTap:
    """A server connection whose ``send`` also records what it sent (everything else as is)."""

    def __init__(self, ws: Any, sent: list[str | bytes], on_sent: Callable[[], None]) -> None:
        self._ws = ws
        self._sent = sent
        self._on_sent = on_sent

    async def send(self, message: Any, text: bool | None = None) -> None:
        await self._ws.send(message, text=text)
        if text is None:
            text = isinstance(message, str)
        if text:  # JSON, as str or as UTF-8 bytes
            message = message if isinstance(message, str) else bytes(message).decode()
        self._sent.append(message)
        self._on_sent()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


class Recording:
    """Wraps a channel handler of the local server: records the frames it sends, per request
    id, and lets a test wait for one of a given type."""

    def __init__(self, handler: Any) -> None:
        self._handler = handler
        self._cond = threading.Condition()
        self.sent: dict[str, list[str | bytes]] = {}

    def parse_options(self, pairs: Sequence[tuple[str, str]]) -> object:
        return self._handler.parse_options(pairs)

    def __getattr__(self, name: str) -> Any:  # check_request, when the handler has it
        return getattr(self._handler, name)

    async def serve(self, session: ServerSession) -> None:
        with self._cond:
            sent = self.sent.setdefault(session.request_id, [])
        tap = _SendTap(session.websocket, sent, self._notify)
        await self._handler.serve(dataclasses.replace(session, websocket=tap))

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def wait_sent(self, request_id: str | None, kind: str) -> None:
        def done() -> bool:
            return any(label(f) == kind for f in self.sent.get(request_id or "", ()))

        with self._cond:
            assert self._cond.wait_for(done, WAIT), f"the server never sent {kind}"

    def labels(self, request_id: str | None) -> list[Any]:
        with self._cond:
            return [label(f) for f in self.sent[request_id or ""]]


def label(item: Any) -> Any:
    """A frame (server side) or a message (client side) as the tests compare them: the JSON
    ``type`` of a text frame, binary frames as they are."""
    if isinstance(item, (bytes, bytearray)):
        return bytes(item)
    if isinstance(item, str):
        return json.loads(item)["type"]
    if isinstance(item, Unknown):
        return item.type
    return item.type


class CharTts:
    """Deterministic speech: 5 ms of a square wave per character."""

    name = "chars"
    blocking = False

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        n = len(text) * round(sample_rate * 0.005)
        return array("h", [2000 if (i // 8) % 2 else -2000 for i in range(n)]).tobytes()


@pytest.fixture(scope="module")
def server() -> Iterator[DeepgramServer]:
    srv = DeepgramServer(
        engine=ScriptedEngine(["hello there"]),
        tts=CharTts(),
        think=lambda request: "OK",
        routes={"/v1/agent/converse": AgentV1Handler(realtime=False)},
    )
    for path, handler in srv.routes.items():
        srv.add_route(path, Recording(handler))
    with srv:
        yield srv


# -- the four channels, as the seed's examples drive them ------------------------------------------

AUDIO = pcm16(concat(silence(0.1), tone(0.5), silence(1.0)))
SETTINGS = AgentV1SettingsMessage(
    audio=AgentV1AudioConfig(input=AgentV1AudioInput(encoding="linear16", sample_rate=16000)),
    agent=AgentV1Agent(
        listen=AgentV1Listen(provider=AgentV1ListenProvider(type="deepgram", model="nova-3")),
        think=AgentV1Think(
            provider=AgentV1OpenAiThinkProvider(type="open_ai", model="gpt-4o-mini")
        ),
        speak=AgentV1SpeakProviderConfig(
            provider=AgentV1DeepgramSpeakProvider(type="deepgram", model="aura-2-asteria-en")
        ),
    ),
)


@dataclasses.dataclass(frozen=True)
class Channel:
    name: str
    options: dict[str, Any]
    first: Callable[[Any], Sequence[Any]]
    """The seed example's first send(s) (the results of ``send_*``: awaited by async code)."""
    rest: Callable[[Any], Sequence[Any]]
    last: str | None
    """The server's last message, when the server does not close by itself (the agent)."""

    @property
    def path(self) -> str:
        return {
            "listen.v1": "/v1/listen",
            "listen.v2": "/v2/listen",
            "speak.v1": "/v1/speak",
            "agent.v1": "/v1/agent/converse",
        }[self.name]


CHANNELS = [
    Channel(
        "listen.v1",
        {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000, "interim_results": True},
        lambda c: [c.send_media(ListenV1MediaMessage(data=AUDIO))],
        lambda c: [c.send_control(ListenV1ControlMessage(type="CloseStream"))],
        None,
    ),
    Channel(
        "listen.v2",
        {
            "model": "flux-general-en",
            "encoding": "linear16",
            "sample_rate": 16000,
            "eot_timeout_ms": 1000,
        },
        lambda c: [c.send_media(ListenV2MediaMessage(data=AUDIO))],
        lambda c: [c.send_control(ListenV2ControlMessage(type="CloseStream"))],
        None,
    ),
    Channel(
        "speak.v1",
        {"model": "aura-2-asteria-en", "encoding": "linear16", "sample_rate": 24000},
        lambda c: [c.send_text(SpeakV1TextMessage(text="Hello, world!"))],
        lambda c: [
            c.send_control(SpeakV1ControlMessage(type="Flush")),
            c.send_control(SpeakV1ControlMessage(type="Close")),
        ],
        None,
    ),
    Channel(
        "agent.v1",
        {},
        lambda c: [c.send_settings(SETTINGS)],
        lambda c: [c.send_media(AgentV1MediaMessage(data=AUDIO))],
        "LatencyReport",
    ),
]

ORDERS = ["send_then_on", "on_then_send", "listening_late", "on_after_the_end", "with_exits"]
"""``send_then_on``: the seed's agent example (send, ``on``, ``start_listening`` in a thread /
task, send the rest); ``on_then_send``: the seed's other examples; ``listening_late``: ``on``,
every send, the whole answer, then ``start_listening()``; ``on_after_the_end``: ``on`` and
``start_listening()`` only after the connection ended; ``with_exits``: ``on``,
``start_listening`` in a thread / task, the sends, and the ``with`` block ends at once."""

FAST = Reconnect(backoff=0.02, max_backoff=0.2)


class Events:
    """Every seed handler, recording into one list (thread-safe)."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._lock = threading.Lock()
        self.conn: Any = None

    def add(self, item: Any) -> None:
        with self._lock:
            self.items.append(item)

    def register(self, conn: Any) -> None:
        self.conn = conn
        conn.on(EventType.OPEN, lambda c: self.add("OPEN" if c is conn else ("OPEN?", c)))
        conn.on(EventType.MESSAGE, lambda m: self.add(label(m)))
        conn.on(EventType.CLOSE, lambda end: self.add(("CLOSE", end)))
        conn.on(EventType.ERROR, lambda error: self.add(("ERROR", error)))


def connect(client: Any, channel: Channel, reconnect: bool) -> Any:
    group, version = channel.name.split(".")
    kwargs: dict[str, Any] = {"reconnect": FAST} if reconnect else {}
    return getattr(getattr(client, group), version).connect(**channel.options, **kwargs)


def run_sync(client: Any, srv: DeepgramServer, channel: Channel, order: str, rc: bool) -> Events:
    route = srv.routes[channel.path]
    assert isinstance(route, Recording)
    events = Events()
    thread: threading.Thread | None = None

    def listen_in_a_thread(conn: Any) -> threading.Thread:
        t = threading.Thread(target=conn.start_listening, daemon=True)
        t.start()
        return t

    def answered(conn: Any) -> None:
        if channel.last is None:
            assert conn.wait(WAIT)
        else:
            route.wait_sent(conn.request_id, channel.last)

    with connect(client, channel, rc) as conn:
        if order == "send_then_on":
            channel.first(conn)
            events.register(conn)
            thread = listen_in_a_thread(conn)
            channel.rest(conn)
            answered(conn)
        elif order == "on_then_send":
            events.register(conn)
            thread = listen_in_a_thread(conn)
            channel.first(conn)
            channel.rest(conn)
            answered(conn)
        elif order == "listening_late":
            events.register(conn)
            channel.first(conn)
            channel.rest(conn)
            answered(conn)
        elif order == "on_after_the_end":
            channel.first(conn)
            channel.rest(conn)
            answered(conn)
        else:
            events.register(conn)
            thread = listen_in_a_thread(conn)
            channel.first(conn)
            channel.rest(conn)
    assert conn.wait(WAIT)
    if order == "on_after_the_end":
        events.register(conn)
    if thread is None:
        conn.start_listening()  # the connection has ended: delivers everything, returns
    else:
        thread.join(WAIT)
        assert not thread.is_alive()
    return events


async def run_async(
    client: Any, srv: DeepgramServer, channel: Channel, order: str, rc: bool
) -> Events:
    route = srv.routes[channel.path]
    assert isinstance(route, Recording)
    events = Events()
    task: asyncio.Task[None] | None = None

    async def send(sent: Sequence[Any]) -> None:
        for s in sent:
            await s  # as the seed's async examples do

    async def answered(conn: Any) -> None:
        if channel.last is None:
            await asyncio.wait_for(conn.wait(), WAIT)
        else:
            await asyncio.to_thread(route.wait_sent, conn.request_id, channel.last)

    async with connect(client, channel, rc) as conn:
        if order == "send_then_on":
            await send(channel.first(conn))
            events.register(conn)
            task = asyncio.create_task(conn.start_listening())
            await send(channel.rest(conn))
            await answered(conn)
        elif order == "on_then_send":
            events.register(conn)
            task = asyncio.create_task(conn.start_listening())
            await send(channel.first(conn))
            await send(channel.rest(conn))
            await answered(conn)
        elif order == "listening_late":
            events.register(conn)
            await send(channel.first(conn))
            await send(channel.rest(conn))
            await answered(conn)
        elif order == "on_after_the_end":
            await send(channel.first(conn))
            await send(channel.rest(conn))
            await answered(conn)
        else:
            events.register(conn)
            task = asyncio.create_task(conn.start_listening())
            await send(channel.first(conn))
            await send(channel.rest(conn))
    await asyncio.wait_for(conn.wait(), WAIT)
    if order == "on_after_the_end":
        events.register(conn)
    if task is None:
        await asyncio.wait_for(conn.start_listening(), WAIT)
    else:
        await asyncio.wait_for(task, WAIT)
    return events


@pytest.mark.parametrize("reconnect", [False, True], ids=["plain", "resumable"])
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("channel", CHANNELS, ids=[c.name for c in CHANNELS])
def test_the_handlers_get_open_every_message_then_close(
    h: Any, server: DeepgramServer, channel: Channel, order: str, reconnect: bool
) -> None:
    client = h.client(base_url=server.url)
    route = server.routes[channel.path]
    assert isinstance(route, Recording)
    for _ in range(REPEAT):
        if h.kind == "sync":
            events = run_sync(client, server, channel, order, reconnect)
        else:
            events = h.run(run_async(client, server, channel, order, reconnect))
        sent = route.labels(events.conn.request_id)
        assert sent[0] == {"listen.v2": "Connected", "agent.v1": "Welcome"}.get(
            channel.name, sent[0]
        )
        assert len(sent) >= (1 if order == "with_exits" else 3)
        assert events.items == ["OPEN", *sent, ("CLOSE", None)]


# -- bounds: back-pressure for seed handlers, never for Rx --------------------------------------

FLOOD = 3 * HOLD_LIMIT
RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
PAD = "x" * 1000  # 1 kB frames: a read of the socket holds a few hundred, not thousands
CHANGE = threading.Condition()
"""Notified by the bound tests' observers (client, server and log side alike), so that a wait
on one of them also ends when another one changes."""


class Flood:
    """A route that sends ``FLOOD`` text frames (``{"type": "Flood", "n": i}``, 1 kB each),
    then closes with ``code``. :meth:`wait_blocked` tells when the server is waiting on the
    client of a connection: a frame it cannot hand over (its write buffer is past the
    high-water mark, so the client's socket buffers are full), or its close frame, which only
    the client's answer ends."""

    def __init__(self, count: int = FLOOD, code: int = 1000) -> None:
        self.count = count
        self.code = code
        self._blocked: set[str] = set()
        self._cond = CHANGE

    def parse_options(self, pairs: Sequence[tuple[str, str]]) -> object:
        return None

    async def serve(self, session: ServerSession) -> None:
        ws = session.websocket
        for i in range(self.count):
            sending = asyncio.ensure_future(
                ws.send(json.dumps({"type": "Flood", "n": i, "pad": PAD}))
            )
            await asyncio.sleep(0)  # its first step: the write, then the wait for room if any
            if not sending.done():
                self._block(session.request_id, True)
            await sending
            self._block(session.request_id, False)
        self._block(session.request_id, True)
        await ws.close(self.code, "done" if self.code == 1000 else "NET-0000 flood over")

    def _block(self, request_id: str, blocked: bool) -> None:
        with self._cond:
            if blocked:
                self._blocked.add(request_id)
            else:
                self._blocked.discard(request_id)
            self._cond.notify_all()

    def wait_blocked(self, request_id: str | None, counter: Counter) -> bool:
        """Wait until the server waits on the client of ``request_id`` (``False``: the stream
        ended first, or ``WAIT`` passed)."""
        with self._cond:
            self._cond.wait_for(lambda: request_id in self._blocked or counter.read_through(), WAIT)
            return request_id in self._blocked and not counter.read_through()


@pytest.fixture(scope="module")
def flood() -> Iterator[DeepgramServer]:
    with DeepgramServer(
        routes={"/v1/listen": Flood(), "/v2/listen": Flood(count=3, code=1011)}
    ) as srv:
        yield srv


READ_SLACK = HOLD_LIMIT
"""The most frames a connection delivers past the point where it decided to stop reading: the
rest of the socket read under way. picows doubles its read buffer whenever a read fills it, with
no cap, so under load one read has held over 550 of these 1 kB frames (seen once on a 2-core
machine at load 5). ``FLOOD`` leaves 1,024 frames (1 MB) beyond ``HOLD_LIMIT + READ_SLACK``: a
connection that kept reading goes past the bound and reads the stream to its end."""


def numbers(items: Sequence[Any]) -> list[int]:
    return [json.loads(m.raw)["n"] for m in items if isinstance(m, Unknown)]


class Counter:
    """An Rx subscriber that counts and keeps what it gets; ``reached(n)`` waits for n."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.end: list[Any] = []
        self._cond = CHANGE

    def on_next(self, item: Any) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def on_error(self, error: Exception) -> None:
        with self._cond:
            self.end.append(error)
            self._cond.notify_all()

    def on_completed(self) -> None:
        with self._cond:
            self.end.append(None)
            self._cond.notify_all()

    def read_through(self) -> bool:
        """Whether the stream ended or every frame of the flood arrived."""
        return bool(self.end) or len(self.items) >= FLOOD

    def reached(self, n: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.items) >= n or bool(self.end), WAIT)


@pytest.mark.parametrize("reconnect", [False, True], ids=["plain", "resumable"])
@pytest.mark.parametrize("reader", ["messages", "raw", "nothing"])
def test_a_connection_read_through_rx_never_stops_reading(
    h: Any, flood: DeepgramServer, reader: str, reconnect: bool
) -> None:
    """More frames than the hold's bound and no seed call: everything arrives, the stream
    completes (a connection that stopped reading would never see the server's close)."""
    client = h.client(base_url=flood.url)
    counter = Counter()
    kwargs: dict[str, Any] = {"reconnect": FAST} if reconnect else {}
    conn = h.open(client, "listen.v1", **RAW, **kwargs)
    if reader == "messages":
        conn.messages.subscribe(counter)
    elif reader == "raw":
        conn.raw.subscribe(counter)
    h.wait(conn)
    assert conn.end is None
    if reader == "messages":
        assert numbers(counter.items) == list(range(FLOOD))
        assert counter.end == [None]
    elif reader == "raw":
        assert [json.loads(f)["n"] for f in counter.items] == list(range(FLOOD))
        assert counter.end == [None]


class ReadingLog(logging.Handler):
    """The transports' ``= reading paused`` / ``= reading resumed`` DEBUG lines (on the
    ``rxdeepgram.websockets`` logger), in order, with the test's own marks between them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.items: list[str] = []
        self._cond = CHANGE
        self._logger = logging.getLogger("rxdeepgram.websockets")
        self._level = self._logger.level

    def __enter__(self) -> ReadingLog:
        self._logger.addHandler(self)
        self._logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("= reading "):
            self.mark(message[len("= reading ") :])

    def mark(self, item: str) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def wait_paused(self, counter: Counter) -> bool:
        """Wait until the connection stopped reading (``False``: the stream ended first, having
        read everything, or ``WAIT`` passed)."""
        with self._cond:
            self._cond.wait_for(lambda: "paused" in self.items or counter.read_through(), WAIT)
            return "paused" in self.items and not counter.read_through()


@pytest.mark.parametrize("reconnect", [False, True], ids=["plain", "resumable"])
def test_a_seed_connection_stops_reading_at_the_bound_until_start_listening(
    h: Any, flood: DeepgramServer, reconnect: bool
) -> None:
    """A handler is registered, ``start_listening()`` is not called yet: the connection holds
    ``HOLD_LIMIT`` messages, then stops reading (a subscriber attached after ``on`` shows how
    far it read). ``start_listening()`` then delivers every message, in order, and reading
    resumes until the server's close.

    No time window: the transport's own DEBUG line says when it stops and resumes reading,
    and the server says when it waits on the client (its socket buffers full, or its close
    frame out); a connection that kept reading would end the stream first, or show more than
    one read's worth of messages past the bound."""
    client = h.client(base_url=flood.url)
    kwargs: dict[str, Any] = {"reconnect": FAST} if reconnect else {}
    route = flood.routes["/v1/listen"]
    assert isinstance(route, Flood)
    with ReadingLog() as reading:
        conn = h.open(client, "listen.v1", **RAW, **kwargs)
        events = Events()
        events.register(conn)
        counter = Counter()
        conn.messages.subscribe(counter)  # after ``on``: it does not end the hold
        assert counter.reached(HOLD_LIMIT)
        assert reading.wait_paused(counter), "the connection never stopped reading"
        assert route.wait_blocked(conn.request_id, counter), "the server never waited on it"
        assert not counter.end
        assert HOLD_LIMIT <= len(counter.items) <= HOLD_LIMIT + READ_SLACK < FLOOD
        reading.mark("start_listening")
        if h.kind == "sync":
            conn.start_listening()
        else:
            h.run(conn.start_listening())
        assert events.items == ["OPEN", *["Flood"] * FLOOD, ("CLOSE", None)]
        assert counter.end == [None]
        assert len(counter.items) == FLOOD
    # stopped until start_listening(), not a moment less
    marked = reading.items.index("start_listening")
    assert reading.items[:marked] == ["paused"]
    assert reading.items[marked + 1 : marked + 2] == ["resumed"]


def test_pings_unanswered_while_the_seed_hold_stops_reading_fail_nothing(
    h: Any, flood: DeepgramServer
) -> None:
    """The pongs of the client's pings wait behind the frames it does not read: the ping
    timeout does not count that time (three timeouts pass here), nor the backlog's reading."""
    client = h.client(base_url=flood.url, ping_interval=0.05, ping_timeout=0.5)
    conn = h.open(client, "listen.v1", **RAW)
    events = Events()
    events.register(conn)
    counter = Counter()
    conn.messages.subscribe(counter)
    assert counter.reached(HOLD_LIMIT)
    time.sleep(1.6)
    assert not counter.end
    if h.kind == "sync":
        conn.start_listening()
    else:
        h.run(conn.start_listening())
    assert events.items == ["OPEN", *["Flood"] * FLOOD, ("CLOSE", None)]


def test_handlers_registered_after_an_rx_subscription_get_what_it_would(
    h: Any, flood: DeepgramServer
) -> None:
    """Subscribed through Rx first: the hold ended, and handlers registered later get what a
    new ``messages`` subscriber gets then: with nothing sent yet, the replay window (every
    message so far), ``OPEN`` still first."""
    client = h.client(base_url=flood.url)
    conn = h.open(client, "listen.v1", **RAW)
    counter = Counter()
    conn.messages.subscribe(counter)
    h.wait(conn)
    events = Events()
    events.register(conn)
    if h.kind == "sync":
        conn.start_listening()
    else:
        h.run(conn.start_listening())
    assert events.items == ["OPEN", *["Flood"] * FLOOD, ("CLOSE", None)]
    assert numbers(counter.items) == list(range(FLOOD))


def test_a_failed_stream_ends_with_close_then_error(h: Any, flood: DeepgramServer) -> None:
    client = h.client(base_url=flood.url)
    conn = h.open(client, "listen.v2", **CHANNELS[1].options)
    events = Events()
    events.register(conn)
    h.wait(conn)
    error = conn.end
    assert error is not None
    if h.kind == "sync":
        conn.start_listening()
    else:
        h.run(conn.start_listening())
    assert events.items == ["OPEN", "Flood", "Flood", "Flood", ("CLOSE", error), ("ERROR", error)]


def test_a_handler_error_goes_to_the_error_handlers_in_order(
    h: Any, server: DeepgramServer
) -> None:
    channel = CHANNELS[0]
    client = h.client(base_url=server.url)
    conn = h.open(client, channel.name, **channel.options)
    events = Events()
    boom = RuntimeError("boom")

    def fail(message: Any) -> None:
        if label(message) == "Metadata":
            raise boom

    events.register(conn)
    conn.on(EventType.MESSAGE, fail)
    channel.first(conn)
    channel.rest(conn)
    h.wait(conn)
    if h.kind == "sync":
        conn.start_listening()
    else:
        h.run(conn.start_listening())
    items = events.items
    at = items.index("Metadata")
    kind, error = items[at + 1]
    assert kind == "ERROR" and error.error is boom
    assert items[at + 2 :] == [("CLOSE", None)]
    assert conn.end is None
