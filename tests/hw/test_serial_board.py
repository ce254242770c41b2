"""The board over real pseudo-terminals: the board emulator (hw.serial.board) serving on a pty, the ``serial``
back end (hw.serial.backend) driving it — handshake, load, step, state both ways, every injected fault kind,
a board process killed and restarted, and the boards that must fail in one line (silent, garbage, another
protocol version, no port)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from controllers.tracking import tracking_network
from edge.backends import open_backend
from edge.board_cli import open_pty
from edge.config import load_config
from edge.hil import state_difference
from hw.serial import codec
from hw.serial.backend import SerialBackend, image_bytes
from hw.serial.board import BoardCore, FdLink, serve
from hw.serial.codec import ErrorCode, Frame, MsgType
from hw.serial.faults import FaultSpec, parse_faults
from snn.frames import SpikeFrames

SEED = 3
BLOCK_TICKS = 10


@pytest.fixture(scope="module")
def spec():
    config = load_config(None)
    return tracking_network(config.network, config.encoder.grid_w, config.encoder.grid_h, SEED)


class Board:
    """A board emulator serving one pty from a thread of this process."""

    def __init__(self, faults: FaultSpec = FaultSpec(), seed: int = 0, max_payload: int = codec.MAX_PAYLOAD) -> None:
        self.master, self.slave, self.path = open_pty()
        self.core = BoardCore(max_payload=max_payload)
        self.stop = threading.Event()
        self.counts: dict = {}
        self.thread = threading.Thread(target=self._run, args=(faults, seed), daemon=True)
        self.thread.start()

    def _run(self, faults: FaultSpec, seed: int) -> None:
        self.counts = serve(FdLink(self.master), self.core, faults, seed, self.stop.is_set, poll_s=0.02)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def board():
    b = Board()
    yield b
    b.close()


def blocks(n: int, n_input: int, seed: int = 0):
    """Random input blocks and rewards."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        ptr = np.concatenate([[0], np.cumsum(rng.poisson(2.0, BLOCK_TICKS))]).astype(np.int64)
        yield SpikeFrames(ptr, rng.integers(0, n_input, ptr[-1]).astype(np.int32)), float(rng.normal())


def same(a: SpikeFrames, b: SpikeFrames) -> bool:
    return np.array_equal(a.tick_ptr, b.tick_ptr) and np.array_equal(a.neuron_ids, b.neuron_ids)


def run_both(host, spec, n: int, seed: int = 0):
    reference = open_backend("emulator")
    reference.load(spec, SEED)
    host.load(spec, SEED)
    for inputs, reward in blocks(n, host.n_input, seed):
        assert same(reference.step(inputs, reward), host.step(inputs, reward))
    return reference


@pytest.mark.guard
def test_a_board_steps_and_learns_exactly_like_the_emulator_in_process(board, spec):
    host = SerialBackend(board.path)
    reference = run_both(host, spec, 60)
    assert state_difference(reference.state(), host.state()) is None
    report = host.report()
    assert report["ticks"] == 60 * BLOCK_TICKS and report["energy_j"] > 0 and report["reconnects"] == 0
    assert report["round_trip_ms_p99"] > 0
    host.close()


def test_the_host_sizes_its_frames_to_a_small_board_and_refuses_a_block_too_big_for_it(spec):
    board = Board(max_payload=2048)  # a block's reply may need 16 + 4 * 11 + 4 * 10 * 32 = 1340 bytes
    try:
        host = SerialBackend(board.path)
        reference = run_both(host, spec, 10)
        assert state_difference(reference.state(), host.state()) is None
        assert host.link_counters()["retransmits"] <= 1  # the load's patience only: nothing refused as too large
        with pytest.raises(ValueError) as error:
            host.step(SpikeFrames.empty(20), 0.0)
        _one_line(error, board.path, "20 ticks", "fewer ticks per block")
        host.close()
    finally:
        board.close()


def test_learned_state_moves_between_the_board_and_the_emulator(board, spec):
    reference = open_backend("emulator")
    reference.load(spec, SEED)
    for inputs, reward in blocks(20, 128, seed=1):
        reference.step(inputs, reward)
    host = SerialBackend(board.path)
    host.load(spec, SEED)
    host.restore(reference.state())
    assert state_difference(reference.state(), host.state()) is None
    for inputs, reward in blocks(20, 128, seed=2):
        assert same(reference.step(inputs, reward), host.step(inputs, reward))
    weights = reference.read("projection/input_motor/weight_mv")
    np.testing.assert_array_equal(host.read("projection/input_motor/weight_mv"), weights)
    host.write("projection/input_motor/weight_mv", weights * 0.5)
    reference.write("projection/input_motor/weight_mv", weights * 0.5)
    assert state_difference(reference.state(), host.state()) is None
    host.close()


@pytest.mark.guard
def test_every_fault_kind_is_survived_and_nothing_learned_is_lost(spec):
    faults = parse_faults("drop=0.03,flip=3e-4,garbage_per_s=10,stall_ms=80,reset_every_s=0.4")
    board = Board(faults, seed=2)
    try:
        host = SerialBackend(board.path, snapshot_every="15")
        reference = run_both(host, spec, 150, seed=4)
        assert state_difference(reference.state(), host.state()) is None
        link = host.link_counters()
        for key in ("retransmits", "crc_errors", "resyncs", "reconnects", "timeouts"):
            assert link[key] > 0, key
        host.close()
    finally:
        board.close()
    assert all(board.counts[kind] > 0 for kind in ("dropped", "flipped_bytes", "garbage_bursts", "stalls", "resets"))


def _one_line(error: pytest.ExceptionInfo, *words: str) -> None:
    text = str(error.value)
    assert "\n" not in text
    for word in words:
        assert word in text


@contextmanager
def misbehaving(behaviour=None):
    """A pty whose other end runs ``behaviour(master_fd, stop)`` in a thread (None: nobody answers); yields the
    device path."""
    master, slave, path = open_pty()
    stop = threading.Event()
    thread = threading.Thread(target=behaviour, args=(master, stop), daemon=True) if behaviour else None
    if thread is not None:
        thread.start()
    try:
        yield path
    finally:
        stop.set()
        if thread is not None:
            thread.join(2)
        os.close(master)
        os.close(slave)


def babble(master: int, stop: threading.Event) -> None:
    rng = np.random.default_rng(0)
    while not stop.is_set():
        os.write(master, rng.integers(0, 256, 200, dtype=np.uint8).tobytes())
        time.sleep(0.002)


def speak_version_2(master: int, stop: threading.Event) -> None:
    link, decoder = FdLink(master), codec.FrameDecoder()
    while not stop.is_set():
        for frame in decoder.feed(link.read(0.02)):
            os.write(master, codec.encode_frame(Frame(MsgType.ERROR, frame.seq, codec.error_payload(
                ErrorCode.BAD_VERSION, "host speaks protocol 1..1; this board speaks 2..2"))))


def test_a_board_that_never_answers_is_an_error_within_the_timeout(spec):
    with misbehaving() as path:
        start = time.monotonic()
        with pytest.raises(ValueError) as error:
            SerialBackend(path, timeout_ms="20", retries="2").load(spec, SEED)
        assert time.monotonic() - start < 2.0
        _one_line(error, path, "HELLO")


def test_a_board_answering_garbage_is_an_error_naming_the_port(spec):
    with misbehaving(babble) as path:
        with pytest.raises(ValueError) as error:
            SerialBackend(path, timeout_ms="20", retries="2").load(spec, SEED)
        _one_line(error, path)


def test_a_board_of_another_protocol_version_is_refused_in_one_line(spec):
    with misbehaving(speak_version_2) as path:
        with pytest.raises(ValueError) as error:
            SerialBackend(path).load(spec, SEED)
        _one_line(error, path, "BAD_VERSION", "2..2")


def test_a_missing_port_is_an_error_naming_it(tmp_path, spec):
    with pytest.raises(ValueError) as error:
        SerialBackend(str(tmp_path / "no-such-tty")).load(spec, SEED)
    _one_line(error, "no-such-tty", "cannot open")


def _serve_process(link: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "board", "serve", "--link", str(link)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert "/dev/" in proc.stdout.readline()
    return proc


def test_the_host_reconnects_when_the_board_process_is_killed_and_restarted(tmp_path, spec):
    link = tmp_path / "board"
    proc = _serve_process(link)
    try:
        host = SerialBackend(str(link), reconnect_s="60", snapshot_every="7")
        reference = open_backend("emulator")
        reference.load(spec, SEED)
        host.load(spec, SEED)
        stream = list(blocks(40, host.n_input, seed=5))
        for inputs, reward in stream[:20]:
            assert same(reference.step(inputs, reward), host.step(inputs, reward))
        proc.kill()
        proc.wait()
        proc = _serve_process(link)
        for inputs, reward in stream[20:]:
            assert same(reference.step(inputs, reward), host.step(inputs, reward))
        assert host.link_counters()["reconnects"] >= 1
        assert state_difference(reference.state(), host.state()) is None
        host.close()
    finally:
        proc.kill()
        proc.wait()


def _request(core: BoardCore, kind: int, seq: int, payload: bytes = b"", version: int = 1) -> Frame:
    return core.handle(Frame(kind, seq, payload, version=version))


def _error_code(reply: Frame) -> int:
    assert reply.type == MsgType.ERROR
    return codec.parse_error(reply.payload)[0]


def test_board_core_runs_a_repeated_request_once_and_refuses_what_it_cannot_do(spec):
    core = BoardCore()
    step = codec.step_payload(np.array([0, 1], np.uint32), np.array([3], np.uint32), 0.0)
    assert _error_code(_request(core, MsgType.STEP, 1, step)) == ErrorCode.NOT_LOADED
    assert _error_code(_request(core, 0x42, 2)) == ErrorCode.UNKNOWN_TYPE
    assert _error_code(_request(core, MsgType.STATS, 3, version=2)) == ErrorCode.BAD_VERSION
    assert _error_code(_request(core, MsgType.HELLO, 4, codec.hello_payload(2, 3, "future"))) == ErrorCode.BAD_VERSION
    image = image_bytes(spec, "loihi")
    assert _request(core, MsgType.LOAD_BEGIN, 5, codec.begin_payload(SEED, len(image), b"\0" * 32)).type == MsgType.ACK
    assert _request(core, MsgType.LOAD_CHUNK, 6, codec.chunk_payload(0, image[:100])).type == MsgType.ACK
    assert _error_code(_request(core, MsgType.LOAD_CHUNK, 7, codec.chunk_payload(50, image[100:200]))) \
        == ErrorCode.OUT_OF_ORDER
    assert _error_code(_request(core, MsgType.LOAD_END, 8)) == ErrorCode.BAD_IMAGE
    digest = hashlib.sha256(image).digest()
    _request(core, MsgType.LOAD_BEGIN, 9, codec.begin_payload(SEED, len(image), digest))
    for k, offset in enumerate(range(0, len(image), 60_000)):
        _request(core, MsgType.LOAD_CHUNK, 10 + k, codec.chunk_payload(offset, image[offset:offset + 60_000]))
    loaded = _request(core, MsgType.LOAD_END, 99)
    assert loaded.type == MsgType.ACK and codec.parse_json(loaded.payload)["n_input"] == 128
    first = _request(core, MsgType.STEP, 100, step)
    assert _request(core, MsgType.STEP, 100, step) == first and int(core.backend.tick[0]) == 1
    assert _request(core, MsgType.STEP, 101, step) != first and int(core.backend.tick[0]) == 2
    too_far = codec.step_payload(np.array([0, 1], np.uint32), np.array([128], np.uint32), 0.0)
    assert _error_code(_request(core, MsgType.STEP, 102, too_far)) == ErrorCode.BAD_PAYLOAD
    assert _error_code(_request(core, MsgType.GET_STATE, 103, codec.get_state_payload(10, 100))) \
        == ErrorCode.OUT_OF_ORDER


@pytest.mark.parametrize("text, words", [
    ("drop=2", ["drop", "<= 1"]), ("flip=-1", ["flip", ">= 0"]), ("bogus=1", ["bogus", "drop"]),
    ("stall_ms=abc", ["stall_ms", "not a number"]), ("reset_every_s", ["key=value"]),
])
def test_bad_fault_specs_are_refused_in_one_line(text, words):
    with pytest.raises(ValueError) as error:
        parse_faults(text)
    _one_line(error, *words)

