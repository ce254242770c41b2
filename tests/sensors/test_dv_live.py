"""Live dv-processing input: a real NetworkWriter on loopback serving dvs.aedat4, a server restart, backoff, errors.

Run as a script (``python test_dv_live.py serve PORT START STOP PATH``) this file is the test's DV server.
"""
from __future__ import annotations

import faulthandler
import logging
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import dv_processing as dv
import numpy as np
import pytest

from sensors.live.dv_live import DvLiveSource, ReconnectConfig, parse_target
from sensors.types import EVENT_DTYPE, Geometry, SourceError, as_events

DATA = Path(os.environ.get("NEUROEDGE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
DVS = DATA / "events" / "dvs.aedat4"
SERVER_LIFETIME_S = 25.0
TEST_LIMIT_S = 30.0
WAIT_S = 10.0


@pytest.fixture(autouse=True)
def hang_guard():
    """Kill the run (with tracebacks) if a test outlives TEST_LIMIT_S, even inside a C++ call holding the GIL."""
    faulthandler.dump_traceback_later(TEST_LIMIT_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recorded_batches() -> list[np.ndarray]:
    """dvs.aedat4's event packets, in file order, as the server sends them."""
    if not DVS.exists():
        pytest.skip(f"{DVS}: shared test data not present (set NEUROEDGE_DATA)")
    recording = dv.io.MonoCameraRecording(str(DVS))
    batches = []
    while (store := recording.getNextEventBatch()) is not None:
        batches.append(as_events(store.numpy()).copy())
    return batches


def joined(batches: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(batches, dtype=EVENT_DTYPE) if batches else np.zeros(0, dtype=EVENT_DTYPE)


class Server:
    """A DV NetworkWriter in a child process serving packets [start, stop) of dvs.aedat4 to its first client.

    A child process, not a thread: dv-processing's NetworkWriter destructor joins its I/O thread while
    holding the GIL, and that thread needs the GIL to report the client's disconnect, so an in-process
    writer cannot be stopped while a client is connected. Killing the child is a real server crash.
    """

    def __init__(self, port: int, start: int, stop: int) -> None:
        self.output = b""
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "serve", str(port), str(start), str(stop), str(DVS)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )

    def expect(self, prefix: str, timeout_s: float = WAIT_S) -> str:
        """Wait (with a deadline) for the child to print a line starting with ``prefix``."""
        deadline = time.monotonic() + timeout_s
        fd = self.process.stdout.fileno()
        while True:
            for line in self.output.decode(errors="replace").splitlines():
                if line.startswith(prefix):
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"server did not print {prefix!r} within {timeout_s} s; output: {self.output!r}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise AssertionError(f"server exited before {prefix!r}; output: {self.output!r}")
                self.output += chunk

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=WAIT_S)
        self.process.stdout.close()


@pytest.fixture
def servers():
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def receive(source: DvLiveSource, n_events: int, timeout_s: float = WAIT_S) -> np.ndarray:
    """Read until ``n_events`` events arrived or the deadline passed."""
    deadline = time.monotonic() + timeout_s
    got, total = [], 0
    while total < n_events and time.monotonic() < deadline:
        batch = source.read()
        assert batch is not None and batch.geometry == source.geometry
        if len(batch):
            got.append(batch.events.copy())
            total += len(batch)
    assert total == n_events, f"received {total} of {n_events} events within {timeout_s} s; status {source.status()}"
    return joined(got)


def read_until(source: DvLiveSource, condition, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"condition not met within {timeout_s} s; status {source.status()}"
        source.read()


def assert_same_events(got: np.ndarray, want: np.ndarray) -> None:
    assert len(got) == len(want)
    for field in ("t", "x", "y", "p"):
        assert np.array_equal(got[field], want[field]), field


def test_network_stream_arrives_identical_and_survives_a_server_restart(servers, caplog):
    caplog.set_level(logging.INFO, logger="neuroedge.sensors")
    batches = recorded_batches()
    split = len(batches) // 2
    port = free_port()
    servers.append(Server(port, 0, split))
    servers[0].expect("listening")
    config = ReconnectConfig(initial_delay_s=0.02, max_delay_s=0.2, fail_fast=True)
    source = DvLiveSource(f"tcp://127.0.0.1:{port}", config, poll_timeout_s=0.01)
    try:
        assert source.format == "dv-network"
        assert source.geometry == Geometry(320, 240)
        assert source.connected and source.reconnects == 0
        first = receive(source, sum(len(b) for b in batches[:split]))
        assert_same_events(first, joined(batches[:split]))

        servers[0].kill()
        read_until(source, lambda: not source.connected)
        assert source.status()["connected"] is False
        assert len(source.read()) == 0

        servers.append(Server(port, split, len(batches)))
        servers[1].expect("listening")
        rest = receive(source, sum(len(b) for b in batches[split:]))
        assert_same_events(rest, joined(batches[split:]))
        assert source.connected and source.reconnects >= 1
        status = source.status()
        assert status["connected"] is True and status["reconnects"] == source.reconnects
        assert status["events"] == sum(len(b) for b in batches)
    finally:
        source.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "neuroedge.sensors"]
    assert any("disconnected" in m for m in messages)
    assert any("reconnect 1" in m for m in messages)


def test_source_started_before_the_server_backs_off_then_connects(servers, caplog):
    caplog.set_level(logging.INFO, logger="neuroedge.sensors")
    port = free_port()
    config = ReconnectConfig(initial_delay_s=0.01, max_delay_s=0.05, multiplier=2.0)
    source = DvLiveSource(f"tcp://127.0.0.1:{port}", config, geometry=Geometry(320, 240), poll_timeout_s=0.005)
    try:
        assert not source.connected
        started = time.monotonic()
        batch = source.read()
        assert len(batch) == 0 and batch.geometry == Geometry(320, 240)
        assert time.monotonic() - started < 1.0
        read_until(source, lambda: source.status()["failed_attempts"] >= 6)
        delays = [r.args[-1] for r in caplog.records if "connection failed" in r.msg][:6]
        assert delays == [0.01, 0.02, 0.04, 0.05, 0.05, 0.05]
        assert source.status()["retry_in_s"] is not None

        servers.append(Server(port, 0, 1))
        servers[0].expect("listening")
        first_packet = recorded_batches()[0]
        assert_same_events(receive(source, len(first_packet)), first_packet)
        assert source.connected and source.reconnects == 0 and source.status()["failed_attempts"] == 0
    finally:
        source.close()


def test_first_connection_failure_raises_one_line_when_fail_fast():
    url = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(SourceError) as info:
        DvLiveSource(url, ReconnectConfig(fail_fast=True))
    message = str(info.value)
    assert message.startswith(url) and "cannot connect" in message and "\n" not in message
    with pytest.raises(SourceError, match="--geometry"):
        DvLiveSource(url, ReconnectConfig(initial_delay_s=0.01))


@pytest.mark.parametrize(
    "url", ["udp://127.0.0.1:7777", "tcp://127.0.0.1", "tcp://127.0.0.1:99999", "tcp://:7777", "tcp://host:port",
            "tcp://127.0.0.1:7777/path"],
)
def test_bad_url_forms_raise_source_errors(url: str):
    with pytest.raises(SourceError) as info:
        DvLiveSource(url, ReconnectConfig())
    assert str(info.value).startswith(url) and "\n" not in str(info.value)


def test_target_forms():
    assert parse_target("tcp://127.0.0.1:7777") == ("network", "127.0.0.1", 7777)
    assert parse_target("tcp://[::1]:7777") == ("network", "::1", 7777)
    assert parse_target("tcp://localhost:7777") == ("network", "localhost", 7777)
    assert parse_target("") == ("camera", "", 0)
    assert parse_target("camera://") == ("camera", "", 0)
    assert parse_target("camera://DXA00093") == ("camera", "DXA00093", 0)
    assert parse_target("DVXplorer_DXA00093") == ("camera", "DVXplorer_DXA00093", 0)


def test_missing_camera_raises_no_inivation_camera_found():
    if dv.io.camera.discover():
        pytest.skip("an iniVation camera is connected")
    for target in ("", "camera://", "DXA00093"):
        with pytest.raises(SourceError, match="no iniVation camera") as info:
            DvLiveSource(target, ReconnectConfig(fail_fast=True))
        assert "\n" not in str(info.value)
    source = DvLiveSource("camera://", ReconnectConfig(initial_delay_s=0.01), geometry=Geometry(640, 480))
    assert source.format == "dv-camera" and not source.connected
    assert len(source.read()) == 0
    assert "no iniVation camera found" in source.status()["last_error"]
    source.close()


@pytest.mark.parametrize(
    ("key", "kwargs"),
    [
        ("initial_delay_s", {"initial_delay_s": 0.0}),
        ("max_delay_s", {"initial_delay_s": 1.0, "max_delay_s": 0.5}),
        ("multiplier", {"multiplier": 0.5}),
        ("fail_fast", {"fail_fast": 1}),
    ],
)
def test_reconnect_config_errors_name_the_key(key: str, kwargs: dict):
    with pytest.raises(ValueError, match=f"ReconnectConfig.{key}:"):
        ReconnectConfig(**kwargs)


def serve(port: int, start: int, stop: int, path: str) -> None:
    """The child process: serve packets [start, stop) of the recording to the first client, then idle."""
    deadline = time.monotonic() + SERVER_LIFETIME_S
    recording = dv.io.MonoCameraRecording(path)
    stream = dv.io.Stream.EventStream(0, "events", "neuroedge-test", recording.getEventResolution())
    writer = dv.io.NetworkWriter("127.0.0.1", port, stream)
    print("listening", flush=True)
    while writer.getClientCount() < 1:
        if time.monotonic() > deadline:
            os._exit(3)
        time.sleep(0.002)
    index = sent = 0
    while (store := recording.getNextEventBatch()) is not None:
        if start <= index < stop:
            writer.writeEvents(store)
            sent += len(store)
        index += 1
    while writer.getQueuedPacketCount() > 0 and time.monotonic() < deadline:
        time.sleep(0.002)
    print(f"sent {sent}", flush=True)
    while time.monotonic() < deadline:
        time.sleep(0.05)
    os._exit(0)  # never run the writer's destructor with a client connected (see Server)


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "serve":
    serve(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
