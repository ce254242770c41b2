"""``neuroedge soak``: the real daemon loop for many simulated hours in compressed time, with everything
periodic switched on and the faults a robot meets, measuring what would hurt over days.

The daemon (``edge.daemon.Daemon``, replay clock: as fast as it computes) runs the built-in tracking task with
the hippocampal memory enabled, status lines and a checkpoint every ``checkpoint_s`` of wall time (each one
read back and verified: it loads, its checksum holds, every float is finite). A seeded client thread sends
rewards (some labelled), malformed messages and control requests (status, checkpoint, store, memory_clear) over
the real loopback bus. The sensor goes dark (no events) for a simulated minute every two simulated hours, and
the checkpoint directory becomes unwritable for half a simulated hour every three (a file takes its place),
then comes back.

Reported: RSS samples every simulated ten minutes and their slope after the first simulated hour
(``rss_slope_kib_per_h``), block latency percentiles, checkpoints written and verified, checkpoint failures
(the unwritable spells), guard trips, exceptions, and whether the learned state stayed finite.
"""
from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import zmq

from edge.checkpoint import CheckpointError, load_checkpoint
from edge.config import config_from_dict
from edge.daemon import Daemon
from edge.latency import LatencyHistogram
from sensors.types import EVENT_DTYPE, EventBatch

CONTROL_MIX = ("status",) * 4 + ("checkpoint",) * 2 + ("store",) * 3 + ("memory_clear",)
"""The seeded client's control requests, drawn uniformly: mostly status, now and then a clear of the memory."""
RSS_EVERY_S = 600.0          # simulated seconds between RSS samples
DARK_EVERY_S, DARK_S = 7200.0, 60.0          # the sensor goes dark for DARK_S every DARK_EVERY_S
BLOCKED_EVERY_S, BLOCKED_S = 10800.0, 1800.0  # the checkpoint directory is unwritable for BLOCKED_S every ...


def rss_kib() -> int:
    """Resident set size of this process in KiB (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DarkTask:
    """The tracking task, its events withheld while ``dark(t_us)`` says so (a sensor that drops out)."""

    def __init__(self, task, dark: Callable[[], bool]) -> None:
        self.task, self.dark = task, dark
        self.format, self.geometry = task.format, task.geometry

    def reset(self, seed):
        return self.task.reset(seed)

    def step(self, action):
        observation, reward, score, done = self.task.step(action)
        if self.dark():
            observation = EventBatch(np.zeros(0, dtype=EVENT_DTYPE), observation.geometry)
        return observation, reward, score, done


class Client(threading.Thread):
    """A seeded peer on the bus: rewards, malformed messages and control requests, ``rate_hz`` a second."""

    def __init__(self, reward: str, control: str, seed: int, rate_hz: float = 50.0) -> None:
        super().__init__(name="soak-client", daemon=True)
        self.reward, self.control, self.rate_hz = reward, control, rate_hz
        self.rng = np.random.default_rng(seed)
        self.stop = threading.Event()
        self.sent = {"rewards": 0, "malformed": 0, "controls": 0, "control_timeouts": 0}

    def run(self) -> None:
        ctx = zmq.Context()
        pub = ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 0)
        pub.connect(self.reward)
        req = None
        try:
            while not self.stop.wait(1.0 / self.rate_hz):
                kind = self.rng.random()
                if kind < 0.6:
                    value = self.rng.uniform(-1.0, 1.0)
                    if self.rng.random() < 0.2:  # a labelled reward, as an audio trainer sends
                        body = b'{"value": %.3f, "label": "%d"}' % (value, self.rng.integers(10))
                    else:
                        body = b'{"value": %.3f}' % value
                    pub.send_multipart([b"reward", body])
                    self.sent["rewards"] += 1
                elif kind < 0.8:
                    junk = [b'{"value": 1e300}', b"{not json", b'{"value": "x"}', bytes(self.rng.integers(0, 256, 16))]
                    pub.send_multipart([b"reward", junk[int(self.rng.integers(len(junk)))]])
                    self.sent["malformed"] += 1
                else:
                    if req is None:
                        req = ctx.socket(zmq.REQ)
                        req.setsockopt(zmq.LINGER, 0)
                        req.connect(self.control)
                    cmd = CONTROL_MIX[int(self.rng.integers(len(CONTROL_MIX)))]
                    req.send_json({"cmd": cmd})
                    self.sent["controls"] += 1
                    if req.poll(5000):
                        req.recv()
                    else:  # a REQ socket without its reply cannot send again: start a new one
                        self.sent["control_timeouts"] += 1
                        req.close(linger=0)
                        req = None
        finally:
            pub.close(linger=0)
            if req is not None:
                req.close(linger=0)
            ctx.term()


def soak(hours: float, seed: int = 0, checkpoint_s: float = 5.0,
         log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)) -> dict:
    """Run the daemon for ``hours`` simulated hours; the dict ``soak --json`` prints."""
    if not hours > 0:
        raise ValueError(f"soak: --hours must be > 0, got {hours}")
    work = Path(tempfile.mkdtemp(prefix="neuroedge-soak-"))
    ckpt_dir = work / "checkpoints"
    ckpt_dir.mkdir()
    ports = [free_port() for _ in range(3)]
    config = config_from_dict({
        "run": {"realtime": False, "seed": seed, "status_interval_s": 10.0},
        "bus": {"actions": f"tcp://127.0.0.1:{ports[0]}", "reward": f"tcp://127.0.0.1:{ports[1]}",
                "control": f"tcp://127.0.0.1:{ports[2]}"},
        "checkpoint": {"path": str(ckpt_dir / "soak.ckpt"), "interval_s": checkpoint_s},
        "memory": {"enabled": True},
    })
    with open(os.devnull, "w") as quiet:
        daemon = Daemon(config, log=quiet)
        driver = daemon.driver
        sim_s = lambda: driver.t_us * 1e-6  # noqa: E731
        driver.pipeline.source.task = DarkTask(driver.pipeline.source.task,
                                               lambda: sim_s() % DARK_EVERY_S >= DARK_EVERY_S - DARK_S)
        counts = {"checkpoints_verified": 0, "checkpoint_verify_failures": 0, "exceptions": 0,
                  "blocked_spells": 0, "dark_blocks": 0}
        latency = LatencyHistogram()
        rss: list[tuple[float, int]] = []
        blocked = [False]
        next_rss = [0.0]
        next_hour = [3600.0]
        save, step = daemon.save, driver.step

        def verified_save() -> Path:
            path = save()
            try:
                arrays, _ = load_checkpoint(path)
                if all(np.all(np.isfinite(a)) for a in arrays.values() if a.dtype.kind == "f"):
                    counts["checkpoints_verified"] += 1
                else:
                    counts["checkpoint_verify_failures"] += 1
            except CheckpointError:
                counts["checkpoint_verify_failures"] += 1
            return path

        def timed_step():
            start = time.perf_counter()
            actions = step()
            latency.add(time.perf_counter() - start)
            now = sim_s()
            if now >= next_rss[0]:
                rss.append((now / 3600.0, rss_kib()))
                next_rss[0] += RSS_EVERY_S
            should_block = now % BLOCKED_EVERY_S >= BLOCKED_EVERY_S - BLOCKED_S
            if should_block != blocked[0]:
                blocked[0] = should_block
                set_blocked(ckpt_dir, should_block)
                counts["blocked_spells"] += should_block
            if now >= next_hour[0]:
                next_hour[0] += 3600.0
                log(f"soak: {now / 3600:.0f} of {hours:g} simulated hours, RSS {rss[-1][1]} KiB, "
                    f"checkpoints {daemon.checkpoints_written}, guard trips {driver.guard.trips}")
            return actions

        daemon.save, driver.step = verified_save, timed_step
        client = Client(config.bus.reward, config.bus.control, seed)
        client.start()
        wall = time.perf_counter()
        try:
            daemon.run(seconds=hours * 3600.0)
        except Exception as e:  # counted and reported: the soak's verdict, not a crash of the command
            counts["exceptions"] += 1
            log(f"soak: exception {type(e).__name__}: {e}")
        finally:
            client.stop.set()
            client.join(10.0)
            set_blocked(ckpt_dir, False)
        wall_s = time.perf_counter() - wall
    state = driver.pipeline.backend.state()
    finite = all(np.all(np.isfinite(a)) for a in state.values() if a.dtype.kind == "f")
    shutil.rmtree(work, ignore_errors=True)
    after = [(h, kib) for h, kib in rss if h >= 1.0]
    slope = float(np.polyfit([h for h, _ in after], [k for _, k in after], 1)[0]) if len(after) >= 2 else 0.0
    status = daemon.status()
    return {
        "hours": hours, "seed": seed, "wall_s": round(wall_s, 1),
        "speed_x_real_time": round(hours * 3600.0 / wall_s, 1) if wall_s > 0 else None,
        "blocks": latency.total, "rss_kib": [kib for _, kib in rss], "rss_hours": [round(h, 3) for h, _ in rss],
        "rss_slope_kib_per_h": round(slope, 2),
        **latency.summary(),
        "checkpoints_written": daemon.checkpoints_written, "checkpoints_verified": counts["checkpoints_verified"],
        "checkpoint_verify_failures": counts["checkpoint_verify_failures"],
        "checkpoint_failures": daemon.checkpoint_failures, "unwritable_spells": counts["blocked_spells"],
        "guard_trips": driver.guard.trips, "exceptions": counts["exceptions"], "state_finite": finite,
        "client": client.sent, "malformed_messages": status["malformed_messages"],
        "rewards_received": status["rewards_received"], "memory_stored": status.get("memory_stored"),
        "on_target": status.get("on_target"),
    }


def set_blocked(directory: Path, blocked: bool) -> None:
    """Make the checkpoint directory unwritable (moved aside, a file in its place), or bring it back."""
    aside = directory.with_name(directory.name + ".aside")
    if blocked and directory.is_dir() and not aside.exists():
        directory.rename(aside)
        directory.write_bytes(b"")
    elif not blocked and aside.exists():
        if directory.is_file():
            directory.unlink()
        aside.rename(directory)
