"""edge.bus on real loopback sockets: actions, rewards, control, bind errors, timeouts, and the codecs.

Hermetic: random free ports, LINGER 0, every receive has a deadline, every socket and context is closed.
"""
import json
import logging
import math
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.action import Action
from edge.bus import (Bus, BusAddresses, BusError, control_request, listen, parse_action, parse_control,
                      parse_reward)

DEADLINE_S = 5.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_address() -> str:
    return f"tcp://127.0.0.1:{free_port()}"


def free_addresses() -> BusAddresses:
    return BusAddresses(actions=free_address(), reward=free_address(), control=free_address())


def eventually(attempt, what: str, deadline_s: float = DEADLINE_S):
    """Call attempt() until it returns something other than None; fail after the deadline."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        result = attempt()
        if result is not None:
            return result
    pytest.fail(f"timed out after {deadline_s} s waiting for {what}")


@pytest.fixture
def ctx():
    context = zmq.Context()
    yield context
    closer = threading.Thread(target=context.destroy, kwargs={"linger": 0}, daemon=True)
    closer.start()
    closer.join(DEADLINE_S)
    assert not closer.is_alive(), "zmq context did not terminate"


@pytest.fixture
def make_socket(ctx):
    """Factory for test-side sockets with LINGER 0, all closed at teardown."""
    opened = []

    def make(kind: int) -> zmq.Socket:
        sock = ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        opened.append(sock)
        return sock

    yield make
    for sock in opened:
        sock.close(linger=0)


@pytest.fixture
def bus(ctx):
    b = Bus(free_addresses(), context=ctx)
    try:
        yield b
    finally:
        b.close()


def status_handler(cmd: str, request: dict) -> dict:
    if cmd == "status":
        return {"ok": True, "state": "running"}
    if cmd == "refuse":
        raise ValueError("refuse: not now")
    raise ValueError(f"unknown command {cmd!r}")


def serve_until_done(bus: Bus, future):
    """Serve control requests on this thread until the client future completes; return its result."""
    def attempt():
        bus.poll_control(status_handler, timeout_ms=20)
        return future if future.done() else None
    return eventually(attempt, "control reply").result(timeout=0)


# --- actions ---------------------------------------------------------------------------------------------

def test_actions_arrive_as_topic_and_json(bus, make_socket):
    sub = make_socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"action")
    sub.connect(bus.addresses.actions)
    sent = []

    def attempt():
        action = Action(name="pan", values=(1.5, -2.0), t_us=1_000 + len(sent), seq=len(sent))
        sent.append(action)
        bus.publish(action)
        return sub.recv_multipart() if sub.poll(50) else None

    before_ns = time.time_ns()
    frames = eventually(attempt, "an action on the SUB")
    assert len(frames) == 2 and frames[0] == b"action"
    msg = json.loads(frames[1].decode("utf-8"))
    assert set(msg) == {"seq", "t_us", "wall_ns", "name", "values"}
    assert b" " not in frames[1], "compact separators"
    original = sent[msg["seq"]]
    assert (msg["name"], msg["values"], msg["t_us"]) == ("pan", [1.5, -2.0], original.t_us)
    assert before_ns <= msg["wall_ns"] <= time.time_ns()
    assert parse_action(frames) == msg
    assert bus.dropped == 0


def test_listen_delivers_actions_and_skips_malformed(make_socket, caplog):
    pub = make_socket(zmq.PUB)
    address = free_address()
    pub.bind(address)
    received, got, stop = [], threading.Event(), threading.Event()
    good = {"seq": 0, "t_us": 5, "wall_ns": 7, "name": "pan", "values": [0.0, 1.0]}

    def on_message(msg):
        received.append(msg)
        got.set()

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(listen, address, on_message, stop.is_set, 20)
        try:
            def attempt():
                if future.done():
                    future.result()  # surfaces a crash in listen()
                pub.send_multipart([b"action", b"{not json"])
                pub.send_multipart([b"action", json.dumps(good).encode()])
                return True if got.wait(0.02) else None
            eventually(attempt, "listen() to receive an action")
        finally:
            stop.set()
            future.result(timeout=DEADLINE_S)
    assert all(msg == good for msg in received)
    assert any("action message: invalid JSON" in r.getMessage() for r in caplog.records)


# --- rewards ---------------------------------------------------------------------------------------------

def connect_reward_publisher(bus: Bus, make_socket) -> zmq.Socket:
    """An external PUB connected to the bus; returns once a message has got through."""
    pub = make_socket(zmq.PUB)
    pub.connect(bus.addresses.reward)

    def attempt():
        pub.send_multipart([b"reward", b'{"value": 0.25}'])
        return bus.poll_rewards(timeout_ms=20) or None

    assert set(eventually(attempt, "a reward on the bus")) == {0.25}
    return pub


def test_rewards_from_external_publisher(bus, make_socket):
    pub = connect_reward_publisher(bus, make_socket)
    pub.send_multipart([b"reward", b'{"value": -1}'])
    pub.send_multipart([b"reward", b'{"value": 3.5e0, "note": "extra keys are fine"}'])
    values = []
    eventually(lambda: values.extend(bus.poll_rewards(timeout_ms=20)) or (3.5 in values or None), "rewards")
    assert [v for v in values if v != 0.25] == [-1.0, 3.5]
    assert bus.malformed == 0 and bus.last_error is None


MALFORMED_REWARDS = [
    [b"reward", b"{not json"],
    [b"reward", b"\xff\xfe"],
    [b"reward", b"[1, 2]"],
    [b"reward", b'{"value": NaN}'],
    [b"reward", b'{"value": Infinity}'],
    [b"reward", b'{"value": -1e999}'],
    [b"reward", b'{"value": -1.7e308}'],  # finite, but two of them once made every weight NaN
    [b"reward", b'{"value": 1e300}'],
    [b"reward", b'{"value": 10.5}'],
    [b"reward", b'{"value": "1.0"}'],
    [b"reward", b'{"value": true}'],
    [b"reward"],
    [b"reward", b'{"value": 1}', b"extra"],
    [b"rewardX", b'{"value": 1}'],
    [b"reward", b'{"valu": 1}'],
]


def test_malformed_rewards_are_counted_not_raised(bus, make_socket, caplog):
    pub = connect_reward_publisher(bus, make_socket)
    for frames in MALFORMED_REWARDS:
        pub.send_multipart(frames)
    pub.send_multipart([b"reward", b'{"value": 9}'])  # sentinel: same pipe, so it arrives after the rest
    values = []
    eventually(lambda: values.extend(bus.poll_rewards(timeout_ms=20)) or (9.0 in values or None), "sentinel")
    assert set(values) <= {0.25, 9.0}
    assert bus.malformed == len(MALFORMED_REWARDS)
    assert bus.last_error == 'reward message: missing "value"'
    warnings = [r for r in caplog.records if r.name == "neuroedge.bus" and r.levelno == logging.WARNING]
    assert warnings and "\n" not in warnings[0].getMessage()


@pytest.mark.parametrize("frames", MALFORMED_REWARDS)
def test_parse_reward_rejects_with_one_line(frames):
    with pytest.raises(ValueError) as info:
        parse_reward(frames)
    assert str(info.value).startswith("reward message: ") and "\n" not in str(info.value)


def test_parse_reward_accepts_finite_numbers():
    assert parse_reward([b"reward", b'{"value": 1}']) == 1.0
    assert parse_reward([b"reward", b' {"value": -0.5} ']) == -0.5


# --- control ---------------------------------------------------------------------------------------------

def test_control_status_via_control_request(bus):
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(control_request, bus.addresses.control, "status", 2000, verbose=True)
        assert serve_until_done(bus, future) == {"ok": True, "state": "running"}
        future = pool.submit(control_request, bus.addresses.control, "refuse")
        assert serve_until_done(bus, future) == {"ok": False, "error": "refuse: not now"}
    assert bus.malformed == 0


def test_malformed_control_gets_error_and_rep_keeps_working(bus, make_socket):
    req = make_socket(zmq.REQ)
    req.connect(bus.addresses.control)

    def ask(*frames: bytes) -> dict:
        req.send_multipart(list(frames))
        def attempt():
            bus.poll_control(status_handler, timeout_ms=20)
            return req.recv() if req.poll(0) else None
        return json.loads(eventually(attempt, "a control reply"))

    bad = ask(b"{not json")
    assert bad["ok"] is False and bad["error"].startswith("control request: invalid JSON")
    assert ask(b"status") == {"ok": True, "state": "running"}
    assert ask(b'{"cmd": "status"}', b"extra")["ok"] is False
    assert ask(b'{"nocmd": 1}')["ok"] is False
    assert ask(b'{"cmd": "status", "x": 1}') == {"ok": True, "state": "running"}
    assert bus.malformed == 3


def test_poll_control_answers_at_most_limit_and_keeps_the_rest_queued(bus, make_socket):
    dealer = make_socket(zmq.DEALER)
    dealer.connect(bus.addresses.control)
    for _ in range(10):
        dealer.send_multipart([b"", b"status"])
    handled = []

    def handler(cmd: str, request: dict) -> dict:
        handled.append(cmd)
        return {"ok": True}

    eventually(lambda: bus._control.poll(20) or None, "the requests to arrive")
    time.sleep(0.05)  # all ten in the socket's queue
    bus.poll_control(handler, limit=4)
    assert len(handled) == 4
    eventually(lambda: (bus.poll_control(handler, limit=4), len(handled) == 10 or None)[1], "the queued requests")
    replies = [dealer.recv_multipart() for _ in range(10)]
    assert all(json.loads(frames[-1]) == {"ok": True} for frames in replies)


def test_handler_bug_still_replies_then_raises(bus, make_socket):
    req = make_socket(zmq.REQ)
    req.connect(bus.addresses.control)
    req.send(b"status")

    def broken(cmd, request):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        eventually(lambda: bus.poll_control(broken, timeout_ms=20), "the handler to run")
    assert req.poll(DEADLINE_S * 1000)
    assert json.loads(req.recv()) == {"ok": False, "error": "status: internal error (KeyError)"}


def test_control_request_times_out_with_nobody_listening():
    address = free_address()
    start = time.monotonic()
    with pytest.raises(BusError) as info:
        control_request(address, "status", timeout_ms=200)
    elapsed = time.monotonic() - start
    assert str(info.value) == f"{address}: no reply to 'status' within 200 ms"
    assert 0.15 <= elapsed < 2.0


@pytest.mark.parametrize("frame, expected", [
    (b"status", ("status", {"cmd": "status"})),
    (b" stop\n", ("stop", {"cmd": "stop"})),
    (b'{"cmd": "checkpoint", "path": "a.npz"}', ("checkpoint", {"cmd": "checkpoint", "path": "a.npz"})),
])
def test_parse_control_accepts(frame, expected):
    assert parse_control(frame) == expected


@pytest.mark.parametrize("frame", [b"", b"two words", b"\xff", b"[1]", b'"status"', b'{"cmd": 3}',
                                   b'{"cmd": ""}', b"{", b"[" * 100_000])
def test_parse_control_rejects_with_one_line(frame):
    with pytest.raises(ValueError) as info:
        parse_control(frame)
    assert str(info.value).startswith("control request: ") and "\n" not in str(info.value)


# --- lifecycle and bind errors ---------------------------------------------------------------------------

def test_bind_in_use_raises_and_releases_the_other_sockets(ctx, make_socket):
    addresses = free_addresses()
    squatter = make_socket(zmq.PUB)
    squatter.bind(addresses.reward)  # actions binds first, then reward fails
    with pytest.raises(BusError) as info:
        Bus(addresses, context=ctx)
    assert str(info.value) == f"{addresses.reward}: address already in use"
    squatter.close(linger=0)

    def attempt():  # ZMQ releases ports asynchronously after close; retry until the actions port is free
        try:
            return Bus(addresses, context=ctx)
        except BusError:
            return None

    eventually(attempt, "the ports to be released").close()


def test_invalid_address_names_it(ctx):
    with pytest.raises(BusError) as info:
        Bus(BusAddresses(actions="nonsense", reward=free_address(), control=free_address()), context=ctx)
    assert str(info.value).startswith("nonsense: ")


def tcp_port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def port_in_use(address: str) -> bool:
    """Whether a plain TCP socket cannot bind the address's loopback port (someone holds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", tcp_port(address)))
        except OSError:
            return True
        return False


def assert_released(addresses: BusAddresses, make_socket) -> None:
    """Every port is free again (ZMQ closes asynchronously: retried until the deadline); then each address
    binds a fresh ZMQ socket."""
    for address in (addresses.actions, addresses.reward, addresses.control):
        eventually(lambda: True if not port_in_use(address) else None, f"{address} to be released")
    for address in (addresses.actions, addresses.reward, addresses.control):
        sock = make_socket(zmq.PUB)
        sock.bind(address)
        sock.close(linger=0)
    for address in (addresses.actions, addresses.reward, addresses.control):  # that close is asynchronous too
        eventually(lambda: True if not port_in_use(address) else None, f"{address} to be released again")


def test_close_is_idempotent_and_context_manager(ctx, make_socket):
    addresses = free_addresses()
    all_addresses = (addresses.actions, addresses.reward, addresses.control)
    with Bus(addresses, context=ctx) as b:
        assert all(port_in_use(a) for a in all_addresses)
        squatter = make_socket(zmq.PUB)
        with pytest.raises(zmq.ZMQError) as info:
            squatter.bind(addresses.control)
        assert info.value.errno == zmq.EADDRINUSE
    assert_released(addresses, make_socket)  # leaving the with block closed every socket
    b.close()  # a second close after __exit__: harmless
    b.close()

    again = Bus(addresses, context=ctx)  # the same addresses bind again; explicit close() releases them too
    assert all(port_in_use(a) for a in all_addresses)
    again.close()
    assert_released(addresses, make_socket)

    third = Bus(addresses, context=ctx)
    try:
        again.close()  # a stale bus's second close() does not touch the sockets now on its addresses
        b.close()
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(control_request, addresses.control, "status", 2000)
            assert serve_until_done(third, future) == {"ok": True, "state": "running"}
    finally:
        third.close()
    assert_released(addresses, make_socket)


# --- codecs under random input ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=4) | st.builds(
    lambda v: [b"reward", json.dumps({"value": v}).encode()], json_values))
def test_parse_reward_returns_or_raises_value_error(frames):
    try:
        value = parse_reward(frames)
    except ValueError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(value, float) and math.isfinite(value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60) | st.builds(lambda d: json.dumps(d).encode(), json_values)
       | st.builds(lambda c, d: json.dumps({**d, "cmd": c}).encode(), json_values, st.dictionaries(
           st.text(max_size=4), json_values, max_size=2)))
def test_parse_control_returns_or_raises_value_error(frame):
    try:
        cmd, request = parse_control(frame)
    except ValueError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(cmd, str) and cmd and request["cmd"] == cmd


# --- feedback: value and/or label ------------------------------------------------------------------------

from edge.bus import MAX_LABEL_CHARS, Feedback, parse_feedback  # noqa: E402


def test_parse_feedback_accepts_value_label_or_both():
    assert parse_feedback([b"reward", b'{"value": 1}']) == Feedback(1.0, None)
    assert parse_feedback([b"reward", b'{"label": "3"}']) == Feedback(None, "3")
    assert parse_feedback([b"reward", b'{"label": 7, "note": "extra keys are fine"}']) == Feedback(None, 7)
    assert parse_feedback([b"reward", b'{"value": -0.5, "label": "yes"}']) == Feedback(-0.5, "yes")
    assert parse_feedback([b"reward", json.dumps({"label": "x" * MAX_LABEL_CHARS}).encode()]).label == "x" * 64


MALFORMED_FEEDBACK = [
    ([b"reward", b'{"valu": 1}'], 'expected "value" and/or "label"'),
    ([b"reward", b"{}"], 'expected "value" and/or "label"'),
    ([b"reward", b'{"label": true}'], '"label" is bool'),
    ([b"reward", b'{"label": 1.5}'], '"label" is float'),
    ([b"reward", b'{"label": null}'], '"label" is NoneType'),
    ([b"reward", b'{"label": ["3"]}'], '"label" is list'),
    ([b"reward", b'{"label": ""}'], '"label" must have 1..64 characters'),
    ([b"reward", json.dumps({"label": "y" * 65}).encode()], '"label" must have 1..64 characters, got 65'),
    ([b"reward", b'{"label": "3", "value": "high"}'], '"value" is str'),
    ([b"reward", b'{"label": "3", "value": NaN}'], "not finite"),
    ([b"reward", b'{"label": "3"'], "invalid JSON"),
    ([b"reward", b'["label", "3"]'], "expected a JSON object"),
    ([b"reward"], "expected 2 frames"),
    ([b"rewardX", b'{"label": "3"}'], "topic"),
]


@pytest.mark.parametrize("frames, why", MALFORMED_FEEDBACK)
def test_parse_feedback_rejects_with_one_line(frames, why):
    with pytest.raises(ValueError) as info:
        parse_feedback(frames)
    message = str(info.value)
    assert message.startswith("reward message: ") and "\n" not in message and why in message, message


def test_parse_reward_still_requires_a_value():
    with pytest.raises(ValueError, match='missing "value"'):
        parse_reward([b"reward", b'{"label": "3"}'])
    assert parse_reward([b"reward", b'{"label": "3", "value": 2}']) == 2.0


def test_feedback_from_external_publisher_and_malformed_counted(bus, make_socket):
    pub = connect_reward_publisher(bus, make_socket)  # its 0.25 probe is read by poll_rewards
    sent = [b'{"label": "3"}', b'{"label": 4}', b'{"value": 1.5, "label": "no"}', b'{"value": -2}']
    for payload in sent:
        pub.send_multipart([b"reward", payload])
    for frames, _ in MALFORMED_FEEDBACK:
        pub.send_multipart(frames)
    pub.send_multipart([b"reward", b'{"label": "end"}'])  # sentinel: same pipe, so it arrives after the rest
    got: list[Feedback] = []
    eventually(lambda: got.extend(bus.poll_feedback(timeout_ms=20)) or (Feedback(None, "end") in got or None),
               "the sentinel label")
    assert [f for f in got if f.value != 0.25] == [
        Feedback(None, "3"), Feedback(None, 4), Feedback(1.5, "no"), Feedback(-2.0, None), Feedback(None, "end")]
    assert bus.malformed == len(MALFORMED_FEEDBACK)
    assert bus.last_error.startswith("reward message: topic") and "\n" not in bus.last_error


def test_poll_rewards_counts_a_label_alone_as_malformed(bus, make_socket):
    pub = connect_reward_publisher(bus, make_socket)
    pub.send_multipart([b"reward", b'{"label": "3"}'])
    pub.send_multipart([b"reward", b'{"label": "3", "value": 5}'])
    values = []
    eventually(lambda: values.extend(bus.poll_rewards(timeout_ms=20)) or (5.0 in values or None), "the value")
    assert bus.malformed == 1 and bus.last_error == 'reward message: missing "value"'


def test_note_malformed_keeps_last_error_on_one_line(bus):
    bus.note_malformed("reward message: unknown label 'x'\nknown: 0, 1")
    assert bus.malformed == 1 and bus.last_error == "reward message: unknown label 'x' known: 0, 1"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=4) | st.builds(
    lambda d: [b"reward", json.dumps(d).encode()], st.dictionaries(
        st.sampled_from(["value", "label", "other"]), json_values, max_size=3)))
def test_parse_feedback_returns_or_raises_value_error(frames):
    try:
        feedback = parse_feedback(frames)
    except ValueError as e:
        assert "\n" not in str(e) and str(e).startswith("reward message: ")
    else:
        assert feedback.value is not None or feedback.label is not None
        assert feedback.value is None or (isinstance(feedback.value, float) and math.isfinite(feedback.value))
        assert feedback.label is None or (type(feedback.label) in (str, int) and len(str(feedback.label)) <= 64)
