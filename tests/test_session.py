"""The Sans-I/O session and the hub, without any socket."""

from __future__ import annotations

import json
import threading

import msgspec
import pytest
import reactivex.operators as ops
from conftest import EXAMPLES
from reactivex import abc

from rxdeepgram import (
    CallbackError,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidInputError,
    ServerError,
)
from rxdeepgram._channels import channel
from rxdeepgram._hub import Hub
from rxdeepgram._session import Frame, Session, State
from rxdeepgram.compat import ListenV1ControlMessage, ListenV1MediaMessage, SpeakV1TextMessage
from rxdeepgram.messages import Unknown, listen_v1, listen_v2, speak_v1


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(name: str, keepalive: float | None = 5.0) -> tuple[Session, list[Frame], Clock]:
    clock = Clock()
    return Session(channel(name), keepalive_interval=keepalive, clock=clock), [], clock


def test_audio_goes_out_as_binary_and_empty_audio_is_dropped() -> None:
    session, sent, _ = make("listen.v1")
    session.send(b"\x01\x02", sent.append)
    session.send(bytearray(b"\x03"), sent.append)
    session.send(memoryview(b"\x04\x05"), sent.append)
    session.send(b"", sent.append)
    assert sent == [Frame(b"\x01\x02", False), Frame(b"\x03", False), Frame(b"\x04\x05", False)]


def test_control_messages_go_out_as_text_json() -> None:
    session, sent, _ = make("listen.v1")
    session.send(listen_v1.KeepAlive(), sent.append)
    session.send(listen_v1.Finalize(channel=1), sent.append)
    assert sent == [
        Frame(b'{"type":"KeepAlive"}', True),
        Frame(b'{"type":"Finalize","channel":1}', True),
    ]


@pytest.mark.parametrize(
    ("item", "needle"),
    [
        ("hello", "str is not audio"),
        (None, "None is not audio"),
        ([1, 2, 3], "list is not accepted"),
        (3.5, "float is not accepted"),
        (speak_v1.Flush(), "Flush is a speak_v1 message, not a Listen V1 client message"),
        (listen_v2.CloseStream(), "CloseStream is a listen_v2 message"),
    ],
)
def test_bad_input_raises_at_the_caller_naming_the_problem(item: object, needle: str) -> None:
    session, sent, _ = make("listen.v1")
    with pytest.raises(InvalidInputError) as info:
        session.send(item, sent.append)
    assert needle in str(info.value)
    assert "expected bytes (audio), Finalize, CloseStream, KeepAlive" in str(info.value)
    assert sent == []
    assert isinstance(info.value, TypeError)


def test_array_module_arrays_are_refused_as_media() -> None:
    import array

    session, sent, _ = make("listen.v1")
    with pytest.raises(InvalidInputError, match="array is not accepted"):
        session.send(array.array("h", [0, 1]), sent.append)


def test_speak_takes_text_and_refuses_audio() -> None:
    session, sent, _ = make("speak.v1", keepalive=None)
    session.send("Hello", sent.append)
    session.send(SpeakV1TextMessage(text="there"), sent.append)
    with pytest.raises(InvalidInputError, match="audio cannot be sent on this channel"):
        session.send(b"\x00\x01", sent.append)
    assert [json.loads(f.data) for f in sent] == [
        {"type": "Speak", "text": "Hello"},
        {"type": "Speak", "text": "there"},
    ]
    assert all(f.text for f in sent)


def test_seed_wrappers_become_native_messages() -> None:
    session, sent, _ = make("listen.v1")
    session.send(ListenV1MediaMessage(data=b"\x01"), sent.append)
    session.send(ListenV1ControlMessage(type="Finalize"), sent.append)
    assert sent == [Frame(b"\x01", False), Frame(b'{"type":"Finalize"}', True)]


def test_to_native_is_the_form_the_session_and_the_reconnect_policies_see() -> None:
    """``ChannelSpec.to_native``: one conversion for the session and the reconnect layer."""
    listen, speak = channel("listen.v1"), channel("speak.v1")
    audio = b"\x01\x02"
    finalize = listen_v1.Finalize()
    assert listen.to_native(audio) is audio
    assert listen.to_native(finalize) is finalize
    assert listen.to_native(bytearray(audio)) == audio
    assert type(listen.to_native(memoryview(audio))) is bytes
    assert listen.to_native({"type": "Finalize"}) == finalize
    assert listen.to_native(ListenV1ControlMessage(type="Finalize")) == finalize
    assert listen.to_native(ListenV1MediaMessage(data=audio)) == audio
    assert speak.to_native("Hello") == speak_v1.Speak(text="Hello")
    assert speak.to_native("") == ""  # nothing to send: the session drops it
    refused = 12345
    assert listen.to_native(refused) is refused  # the session refuses it, naming it
    assert listen.to_native("text") == "text"
    with pytest.raises(InvalidInputError, match="Finalise"):
        listen.to_native({"type": "Finalise"})


def test_graceful_close_sends_close_stream_once_then_refuses_sends() -> None:
    session, sent, _ = make("listen.v1")
    assert session.close_gracefully(sent.append) is True
    assert session.close_gracefully(sent.append) is False
    assert sent == [Frame(b'{"type":"CloseStream"}', True)]
    assert session.state is State.CLOSING
    with pytest.raises(ConnectionClosedOK, match="closing"):
        session.send(b"\x01", sent.append)


def test_speak_graceful_close_is_flush_then_close() -> None:
    session, sent, _ = make("speak.v1", keepalive=None)
    session.close_gracefully(sent.append)
    assert [f.data for f in sent] == [b'{"type":"Flush"}', b'{"type":"Close"}']


def test_keepalive_rule_counts_from_the_last_frame_sent() -> None:
    session, sent, clock = make("listen.v1", keepalive=5.0)
    assert session.keepalive(clock.now, sent.append) == 105.0
    clock.now = 103.0
    session.send(b"\x01", sent.append)
    clock.now = 105.0
    assert session.keepalive(clock.now, sent.append) == 108.0  # audio at 103 pushed it back
    assert sent == [Frame(b"\x01", False)]
    clock.now = 108.0
    assert session.keepalive(clock.now, sent.append) == 113.0
    assert sent[-1] == Frame(b'{"type":"KeepAlive"}', True)
    session.close_gracefully(sent.append)
    assert session.keepalive(200.0, sent.append) is None


def test_agent_keepalive_waits_for_the_first_message() -> None:
    from rxdeepgram.messages import agent_v1

    session, sent, clock = make("agent.v1", keepalive=8.0)
    clock.now = 150.0  # long idle before Settings: nothing may precede Settings
    assert session.keepalive(clock.now, sent.append) == 158.0
    assert sent == []
    settings = agent_v1.Settings(
        audio=agent_v1.Audio(input=agent_v1.AudioInput(encoding="linear16", sample_rate=16000)),
        agent="3f2b8c1e-6d4a-4e8b-9a51-2c7d0e9f1a34",
    )
    session.send(settings, sent.append)
    clock.now = 158.0
    assert session.keepalive(clock.now, sent.append) == 166.0
    assert sent[-1] == Frame(b'{"type":"KeepAlive"}', True)
    assert len(sent) == 2


def test_keepalive_can_be_disabled_and_is_absent_where_the_channel_has_none() -> None:
    off, sent, _ = make("listen.v1", keepalive=None)
    assert off.keepalive(1e9, sent.append) is None
    flux, sent2, _ = make("listen.v2", keepalive=5.0)
    assert flux.keepalive(1e9, sent2.append) is None
    assert sent == sent2 == []


def test_close_codes_map_to_the_stream_end() -> None:
    clean, _, _ = make("listen.v1")
    assert clean.closed(1000, "") is None
    idle, _, _ = make("listen.v1")
    end = idle.closed(1011, "NET-0001 no audio received")
    assert isinstance(end, ConnectionClosedError)
    assert (end.code, end.reason, end.dg_code) == (1011, "NET-0001 no audio received", "NET-0001")
    flux, _, _ = make("listen.v2")
    assert flux.closed(1005, "") is None  # Flux closes without a status code
    nothing, _, _ = make("listen.v1")
    assert isinstance(nothing.closed(1006, ""), ConnectionClosedError)


def test_after_an_error_close_sending_raises_the_close_error() -> None:
    session, sent, _ = make("listen.v1")
    session.closed(1008, "DATA-0000")
    with pytest.raises(ConnectionClosedError, match="DATA-0000"):
        session.send(b"\x01", sent.append)


def test_abort_decides_the_end_once() -> None:
    session, _, _ = make("listen.v1")
    boom = RuntimeError("mic failed")
    assert session.abort(boom) is True
    assert session.abort(None) is False
    assert session.closed(1000, "") is boom


def test_fatal_in_band_error_wins_over_the_close_code() -> None:
    session, _, _ = make("listen.v2")
    frame = (EXAMPLES / "listen-v2" / "server" / "Error.json").read_text()
    message = session.receive(frame)
    assert isinstance(message, listen_v2.Error)
    end = session.closed(1000, "")
    assert isinstance(end, ServerError)
    assert end.code == message.code and end.message is message


def test_receive_decodes_fixtures_and_keeps_unknowns() -> None:
    session, _, _ = make("listen.v1")
    results = session.receive((EXAMPLES / "listen-v1/server/Results.json").read_text())
    assert isinstance(results, listen_v1.Results)
    odd = session.receive('{"type":"BrandNew","x":1}')
    assert isinstance(odd, Unknown) and odd.type == "BrandNew"


def test_session_sends_from_many_threads_keep_per_thread_order() -> None:
    session, sent, _ = make("listen.v1")
    lock = threading.Lock()

    def put(frame: Frame) -> None:
        with lock:
            sent.append(frame)

    def worker(tag: int) -> None:
        for i in range(200):
            session.send(bytes([tag, i]), put)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for tag in range(4):
        assert [f.data[1] for f in sent if f.data[0] == tag] == list(range(200))


# --- the hub ---------------------------------------------------------------------------------


def test_hub_replays_the_window_to_late_subscribers_until_the_first_send() -> None:
    errors: list[CallbackError] = []
    hub: Hub[int] = Hub(errors.append)
    hub.emit(1)
    hub.emit(2)
    first: list[int] = []
    second: list[int] = []
    hub.observable.subscribe(first.append)
    hub.emit(3)
    hub.observable.subscribe(second.append)
    hub.close_window()
    hub.emit(4)
    late: list[int] = []
    hub.observable.subscribe(late.append)
    hub.emit(5)
    assert first == [1, 2, 3, 4, 5]
    assert second == [1, 2, 3, 4, 5]
    assert late == [5]


def test_hub_isolates_a_raising_subscriber_and_reports_it() -> None:
    errors: list[CallbackError] = []
    hub: Hub[int] = Hub(errors.append)
    good: list[int] = []

    def bad(x: int) -> None:
        raise ValueError(f"bad {x}")

    hub.observable.subscribe(bad)
    hub.observable.subscribe(good.append)
    hub.emit(1)
    hub.emit(2)
    hub.end(None)
    assert good == [1, 2]
    assert [str(e.error) for e in errors] == ["bad 1", "bad 2"]


def test_hub_end_reaches_late_subscribers_and_unhandled_errors_are_not_callback_errors() -> None:
    errors: list[CallbackError] = []
    hub: Hub[int] = Hub(errors.append)
    hub.observable.subscribe(lambda _: None)  # no on_error: reactivex re-raises
    hub.end(ConnectionClosedError(1011, "NET-0001"))
    assert errors == []
    seen: list[object] = []
    hub.observable.subscribe(on_error=seen.append)
    assert isinstance(seen[0], ConnectionClosedError)


def test_hub_stops_at_once_a_subscriber_disposed_during_an_emit() -> None:
    """The hub calls subscribers' callbacks itself (not through reactivex's wrapper): one
    disposed by another subscriber's callback gets nothing more, not even the item at hand."""
    hub: Hub[int] = Hub(lambda e: None)
    first: list[int] = []
    second: list[int] = []
    subscriptions: list[abc.DisposableBase] = []

    def on_first(x: int) -> None:
        first.append(x)
        if x == 2:
            subscriptions[0].dispose()

    hub.close_window()
    hub.observable.subscribe(on_first)
    subscriptions.append(hub.observable.subscribe(second.append))
    for x in (1, 2, 3):
        hub.emit(x)
    assert first == [1, 2, 3]
    assert second == [1]


def test_hub_feeds_operators_and_plain_observers() -> None:
    hub: Hub[int] = Hub(lambda e: None)
    taken: list[int] = []
    done: list[bool] = []
    hub.observable.pipe(ops.take(2)).subscribe(taken.append, on_completed=lambda: done.append(True))
    hub.emit(1)
    hub.emit(2)
    hub.emit(3)
    assert taken == [1, 2] and done == [True]
    assert hub.active is True  # the window is still open: items are kept for replay
    hub.close_window()
    assert hub.active is False  # nobody left, window closed: the connection skips the hub

    class Plain(abc.ObserverBase[int]):
        def __init__(self) -> None:
            self.seen: list[int] = []
            self.ended = False

        def on_next(self, value: int) -> None:
            self.seen.append(value)

        def on_error(self, error: Exception) -> None:
            raise AssertionError(error)

        def on_completed(self) -> None:
            self.ended = True

    plain = Plain()
    hub.observable.subscribe(plain)
    assert hub.active is True
    hub.emit(4)
    hub.end(None)
    assert plain.seen == [4] and plain.ended
    assert hub.active is False


def test_a_latest_hub_gives_each_subscriber_the_current_value_then_the_changes() -> None:
    """``latest=True`` (a resumable connection's ``state``): the window holds the latest item
    and never closes; ``end(..., last)`` emits a last item, which stays the last one for later
    subscribers whatever is emitted after it."""
    errors: list[CallbackError] = []
    hub: Hub[str] = Hub(errors.append, window_limit=1, latest=True)
    hub.emit("open")
    early: list[str] = []
    hub.observable.subscribe(early.append)
    hub.emit("reconnecting")
    hub.emit("open")
    middle: list[str] = []
    hub.observable.subscribe(middle.append)
    completed: list[bool] = []
    hub.observable.subscribe(on_completed=lambda: completed.append(True))
    hub.end(None, "closed")
    hub.emit("reconnecting")  # too late: neither delivered nor kept
    late: list[str] = []
    hub.observable.subscribe(late.append, on_completed=lambda: late.append("completed"))
    assert early == ["open", "reconnecting", "open", "closed"]
    assert middle == ["open", "closed"]
    assert completed == [True]
    assert late == ["closed", "completed"]
    assert errors == []


def test_nothing_emitted_after_the_end_reaches_a_late_subscriber() -> None:
    hub: Hub[int] = Hub(lambda e: None)
    hub.emit(1)
    hub.end(None)
    hub.emit(2)
    late: list[int] = []
    hub.observable.subscribe(late.append)
    assert late == [1]


def test_hub_subscribe_calls_the_observer_itself_and_counts_as_reading() -> None:
    """``Hub.subscribe`` (how the reconnect layer reads an inner connection): the observer's
    own ``on_next`` per item, the window replayed, the ``watch`` callback run."""
    hub: Hub[int] = Hub(lambda e: None)
    watched: list[bool] = []
    hub.watch(lambda: watched.append(True))

    class Plain(abc.ObserverBase[int]):
        def __init__(self) -> None:
            self.seen: list[int] = []

        def on_next(self, value: int) -> None:
            self.seen.append(value)

        def on_error(self, error: Exception) -> None:
            raise AssertionError(error)

        def on_completed(self) -> None:
            self.seen.append(-1)

    plain = Plain()
    hub.emit(1)
    subscription = hub.subscribe(plain)
    hub.emit(2)
    subscription.dispose()
    hub.emit(3)
    hub.end(None)
    assert plain.seen == [1, 2]
    assert watched == [True]


def test_hub_is_not_a_subject() -> None:
    hub: Hub[int] = Hub(lambda e: None)
    assert not hasattr(hub.observable, "on_next")


def test_unknown_is_a_struct_with_the_raw_frame() -> None:
    u = listen_v1.decode("not json")
    assert isinstance(u, Unknown)
    assert u.raw == "not json" and u.type == "" and u.error
    assert msgspec.structs.asdict(u)["raw"] == "not json"
