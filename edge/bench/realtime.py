"""``neuroedge bench realtime``: the daemon at real time (1 kHz ticks, blocks of 10 by default), its block
latency and overruns, with the bus idle or under a flood of malformed messages from another process.

The daemon is the real one (``edge.daemon.Daemon``, real-time clock, real loopback sockets, checkpoints in a
temporary directory); only its ``driver.step`` is wrapped to time each block. An overrun is a block finished
later than its wall period allows (``edge.clock.late_tolerance_s``).
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from edge.config import Config, load_config
from edge.daemon import Daemon
from edge.latency import LatencyHistogram
from edge.soak import free_port

PROGRESS_EVERY_S = 60.0


def realtime_benchmark(seconds: float, flood_hz: float = 0.0, seed: int = 0, config: Config | None = None,
                       log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)) -> dict:
    """Run the daemon at real time for ``seconds`` of wall time (``flood_hz`` malformed messages a second from a
    separate process when > 0); the dict ``bench realtime --json`` prints."""
    if not seconds > 0:
        raise ValueError(f"bench realtime: --seconds must be > 0, got {seconds}")
    if not 0 <= flood_hz <= 100_000:
        raise ValueError(f"bench realtime: --flood-hz must lie in 0..100000, got {flood_hz}")
    base = config or load_config(None)
    work = Path(tempfile.mkdtemp(prefix="neuroedge-realtime-"))
    ports = [free_port() for _ in range(3)]
    bus = replace(base.bus, actions=f"tcp://127.0.0.1:{ports[0]}", reward=f"tcp://127.0.0.1:{ports[1]}",
                  control=f"tcp://127.0.0.1:{ports[2]}")
    config = replace(base, run=replace(base.run, realtime=True, speed=1.0), bus=bus,
                     checkpoint=replace(base.checkpoint, path=str(work / "realtime.ckpt")))
    flooder = None
    try:
        with open(os.devnull, "w") as quiet:
            daemon = Daemon(config, log=quiet)
            latency = LatencyHistogram()
            step = daemon.driver.step
            next_progress = [time.monotonic() + PROGRESS_EVERY_S]

            def timed_step():
                start = time.perf_counter()
                actions = step()
                latency.add(time.perf_counter() - start)
                if time.monotonic() >= next_progress[0]:
                    next_progress[0] += PROGRESS_EVERY_S
                    log(f"bench realtime: {latency.total} blocks, p99 {latency.percentile_ms(0.99)} ms, "
                        f"overruns {daemon.clock.overruns}")
                return actions

            daemon.driver.step = timed_step
            if flood_hz > 0:
                flooder = subprocess.Popen(
                    [sys.executable, "-m", "edge.bench.flood", config.bus.reward, config.bus.control, str(flood_hz),
                     str(seconds), str(seed)], stdout=subprocess.PIPE, text=True)
            wall = time.monotonic()
            daemon.run(seconds=seconds)
            wall_s = time.monotonic() - wall
        flood = json.loads(flooder.communicate(timeout=30)[0]) if flooder is not None else None
    finally:
        if flooder is not None and flooder.poll() is None:
            flooder.kill()
        shutil.rmtree(work, ignore_errors=True)
    blocks = latency.total
    status = daemon.status()
    return {
        "seconds": seconds, "wall_s": round(wall_s, 1), "dt_us": config.run.dt_us,
        "block_ticks": config.run.block_ticks, "blocks": blocks, **latency.summary(),
        "overruns": daemon.clock.overruns, "overrun_fraction": round(daemon.clock.overruns / max(blocks, 1), 5),
        "flood_hz": flood_hz, "flood": flood, "malformed_messages": status["malformed_messages"],
        "machine": f"{platform.machine()} {os.cpu_count()} CPU, Python {platform.python_version()}",
    }
