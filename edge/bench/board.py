"""``neuroedge bench board``: the tracking network on the board emulator over a real pseudo-terminal.

One run: ``neuroedge board serve`` is started as a separate process (its pty is the line); the tracking network
is loaded on it through the ``serial`` back end and stepped with the blocks (10 ticks of 1 ms) that the replay
of a recording encodes — captured once in process (and repeated when the recording is shorter than the run),
so the timed loop is the line and the board only. Reported:
``ticks_per_s`` (ticks stepped per wall second), ``round_trip_ms_p50`` / ``_p99`` (one STEP and its reply),
``line_bytes_per_tick`` and ``baud_needed`` (bits per second the measured rate needs on a serial line of 10
bits per byte: at most 921 600 for the figures to hold at that baud rate), and ``codec_decode_mb_per_s``
(hw.serial.codec.FrameDecoder on framed traffic in this process).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from edge.config import Config
from snn.frames import SpikeFrames

BAUD = 921_600
BITS_PER_BYTE = 10


class _Recorder:
    """A back end that runs another and keeps every block's input spikes and reward."""

    def __init__(self, inner) -> None:
        self.inner, self.blocks = inner, []
        self.url, self.name = inner.url, inner.name

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def step(self, inputs: SpikeFrames, reward) -> SpikeFrames:
        self.blocks.append((inputs, reward))
        return self.inner.step(inputs, reward)


def capture_blocks(config: Config, recording: str, seed: int, max_blocks: int) -> tuple[list, object]:
    """The first ``max_blocks`` input blocks the replay pipeline gives the network, and its spec."""
    from edge.backends import open_backend
    from edge.pipeline import build_pipeline

    recorder = _Recorder(open_backend("emulator"))
    pipeline = build_pipeline(config, seed=seed, recording=recording, backend=recorder)
    while len(recorder.blocks) < max_blocks and pipeline.step() is not None:
        pass
    return recorder.blocks, recorder


def start_board(extra: list[str] | None = None) -> tuple[subprocess.Popen, str]:
    """``neuroedge board serve`` in a child process; (process, device path from its first line)."""
    cmd = [sys.executable, "-m", "edge.cli", "board", "serve", *(extra or [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    path = next((word for word in line.split() if word.startswith("/dev/")), None)
    if path is None:
        proc.kill()
        raise RuntimeError(f"bench board: board serve printed no device path (got {line.strip()!r})")
    return proc, path.rstrip(":")


def board_benchmark(config: Config, recording: str, seconds: float, seed: int = 0, log=print) -> dict:
    """The bench's JSON (see the module docstring)."""
    from hw.serial import codec
    from hw.serial.backend import SerialBackend

    block_ticks = config.run.block_ticks
    n_blocks = max(1, int(round(seconds * 1e6 / (config.run.dt_us * block_ticks))))
    blocks, recorder = capture_blocks(config, recording, seed, n_blocks)
    spec = recorder.inner.net.spec
    proc, path = start_board()
    try:
        board = SerialBackend(path)
        board.load(spec, seed)
        board.step(*blocks[0])  # first block: any lazy work on the board
        sent_before = _line_bytes(board)
        board._round_trips_ms.clear()
        start = time.perf_counter()
        for k in range(n_blocks):
            board.step(*blocks[k % len(blocks)])
        wall_s = time.perf_counter() - start
        ticks = sum(blocks[k % len(blocks)][0].n_ticks for k in range(n_blocks))
        line_bytes = _line_bytes(board) - sent_before
        link = board.link_counters()
        board.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ticks_per_s = ticks / wall_s
    per_tick = line_bytes / ticks
    log(f"bench board: {ticks} ticks in {wall_s:.2f} s over {path}")
    return {"ticks_per_s": round(ticks_per_s, 1), "round_trip_ms_p50": link["round_trip_ms_p50"],
            "round_trip_ms_p99": link["round_trip_ms_p99"], "ticks": ticks, "block_ticks": block_ticks,
            "dt_us": config.run.dt_us, "realtime_factor": round(ticks_per_s * config.run.dt_us * 1e-6, 2),
            "line_bytes_per_tick": round(per_tick, 2), "baud_needed": round(per_tick * BITS_PER_BYTE * ticks_per_s),
            "baud_target": BAUD, "retransmits": link["retransmits"], "crc_errors": link["crc_errors"],
            "codec_decode_mb_per_s": round(codec.decode_rate_mb_per_s(), 1), "device": path,
            "recording": str(recording), "cpu_count": os.cpu_count()}


def _line_bytes(board) -> int:
    return board.bytes_sent + board.bytes_received


def default_recording(data: str | None) -> str:
    return str(Path(data or os.environ.get("NEUROEDGE_DATA", "../shared/data")) / "events" / "dvs.aedat4")
