"""Shared helpers for the end-to-end daemon and CLI tests: free loopback ports, configs, subprocesses, polling.

Every wait has a deadline; every subprocess is killed by the ``Proc`` context manager; sockets use LINGER 0.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import zmq

from edge.bus import BusError, control_request

STARTUP_S = 60.0   # the first run may load Numba's cache
DEADLINE_S = 10.0  # any other condition
REPO = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """$NEUROEDGE_DATA, default ../shared/data next to the repository."""
    env = os.environ.get("NEUROEDGE_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def dvs_path() -> Path:
    path = data_dir() / "events" / "dvs.aedat4"
    if not path.is_file():
        pytest.skip(f"recording {path} not available (set NEUROEDGE_DATA)")
    return path


def neuroedge_cmd() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m edge.cli``."""
    script = Path(sys.executable).parent / "neuroedge"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "edge.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_bus() -> dict:
    return {name: f"tcp://127.0.0.1:{free_port()}" for name in ("actions", "reward", "control")}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"no TOML form for {value!r}")


def write_config(path: Path, tables: dict[str, dict]) -> Path:
    """Write ``{"table": {key: value}}`` as TOML (flat tables of scalars) and return the path."""
    lines = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def daemon_config(tmp_path: Path, name: str = "cfg.toml", bus: dict | None = None, **tables: dict) -> tuple[Path, dict]:
    """A daemon config on free loopback ports with its checkpoint in tmp_path; ``tables`` override/extend.

    Returns (config path, the tables written); ``tables["bus"]`` and ``tables["checkpoint"]["path"]`` are the
    addresses and checkpoint file the daemon will use.
    """
    merged: dict[str, dict] = {
        "run": {"seed": 3, "status_interval_s": 0.5},
        "bus": bus or free_bus(),
        "checkpoint": {"path": str(tmp_path / "ckpt" / "neuroedge.ckpt"), "interval_s": 0.0},
    }
    for table, values in tables.items():
        merged[table] = {**merged.get(table, {}), **values}
    return write_config(tmp_path / name, merged), merged


class Proc:
    """A ``neuroedge`` subprocess with stdout/stderr in files under ``cwd``; killed on exit of the context."""

    _count = 0

    def __init__(self, args: list[str], cwd: Path) -> None:
        Proc._count += 1
        self.out_path = cwd / f"proc{Proc._count}.stdout"
        self.err_path = cwd / f"proc{Proc._count}.stderr"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(neuroedge_cmd() + [str(a) for a in args], cwd=cwd, stdout=out,
                                          stderr=err, stdin=subprocess.DEVNULL)

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        try:
            self.popen.wait(DEADLINE_S)
        except subprocess.TimeoutExpired:
            pass

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.popen.send_signal(signum)

    def wait(self, deadline_s: float = DEADLINE_S) -> int:
        try:
            return self.popen.wait(deadline_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"neuroedge did not exit within {deadline_s} s\n{self.describe()}")

    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def describe(self) -> str:
        return f"--- stdout ---\n{self.stdout()[-3000:]}\n--- stderr ---\n{self.stderr()[-3000:]}"


def run_cli(args: list[str], cwd: Path, deadline_s: float = STARTUP_S) -> subprocess.CompletedProcess:
    """Run ``neuroedge args`` to completion (killed after the deadline) and capture its output as text."""
    try:
        return subprocess.run(neuroedge_cmd() + [str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                              timeout=deadline_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"neuroedge {' '.join(map(str, args))} did not finish within {deadline_s} s")


def eventually(attempt, what: str, deadline_s: float = DEADLINE_S, proc: Proc | None = None):
    """Call ``attempt()`` until it returns something other than None; fail after the deadline.

    ``attempt`` must itself block briefly (a socket poll or a control round trip), so this never spins hot.
    If ``proc`` exits meanwhile, fail at once with its output.
    """
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        result = attempt()
        if result is not None:
            return result
        if proc is not None and not proc.alive():
            pytest.fail(f"neuroedge exited ({proc.popen.returncode}) while waiting for {what}\n{proc.describe()}")
    pytest.fail(f"timed out after {deadline_s} s waiting for {what}" + (f"\n{proc.describe()}" if proc else ""))


def pace(seconds: float) -> None:
    """A bounded gap between two polls of a condition (pacing only, never used to synchronise)."""
    threading.Event().wait(seconds)


def control(address: str, cmd: str, timeout_ms: int = 5000) -> dict:
    """One control request with a deadline (raises BusError when there is no reply in time)."""
    return control_request(address, cmd, timeout_ms=timeout_ms)


def wait_ready(proc: Proc, address: str, deadline_s: float = STARTUP_S) -> dict:
    """Poll ``status`` in short slices until the daemon answers; returns that status."""
    def attempt():
        try:
            return control(address, "status", timeout_ms=200)
        except BusError:
            return None
    return eventually(attempt, "the daemon to answer status", deadline_s, proc)


def wait_status(proc: Proc, address: str, condition, what: str, deadline_s: float = DEADLINE_S) -> dict:
    """Poll ``status`` until ``condition(status)`` holds; returns that status."""
    def attempt():
        status = control(address, "status")
        return status if condition(status) else None
    return eventually(attempt, what, deadline_s, proc)


@contextmanager
def zmq_context():
    """A private context whose sockets must use LINGER 0; terminated under a deadline at exit."""
    ctx = zmq.Context()
    try:
        yield ctx
    finally:
        closer = threading.Thread(target=ctx.destroy, kwargs={"linger": 0}, daemon=True)
        closer.start()
        closer.join(DEADLINE_S)
        assert not closer.is_alive(), "zmq context did not terminate"


def make_socket(ctx: zmq.Context, kind: int) -> zmq.Socket:
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    return sock


def stderr_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]
