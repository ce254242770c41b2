"""Hardware in the loop: the same blocks through the in-process emulator and a board, in lockstep, compared.

``LockstepBackend`` is a back end made of two: every call goes to the reference (the emulator, in this process)
and to the board (the ``serial`` back end); ``step`` returns the reference's spikes and records, tick by tick,
where the board's differ. ``run_hil`` drives it with a recording (open loop) or the built-in scene (closed loop:
the actions decoded from the reference's spikes steer the scene), then compares the learned state at the end.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from edge.config import Config
from snn.frames import SpikeFrames
from snn.spec import NetworkSpec


def board_url(board: str, options: str = "") -> str:
    """``--board`` as a back-end URL: a device path or pyserial URL becomes ``serial://...``."""
    url = board if board.startswith("serial://") else f"serial://{board}"
    if options:
        url += ("&" if "?" in url else "?") + options
    return url


class LockstepBackend:
    """``reference`` and ``board`` stepped together (see the module docstring)."""

    name = "lockstep"

    def __init__(self, reference, board) -> None:
        self.reference, self.board = reference, board
        self.url = f"lockstep({reference.url}, {board.url})"
        self.ticks = 0
        self.mismatched_ticks = 0
        self.first_mismatch: str | None = None
        self.readout = "readout"

    @property
    def n_readout(self) -> int:
        return self.reference.n_readout

    def load(self, spec: NetworkSpec, seed: int) -> None:
        self.spec, self.readout = spec, spec.readout
        self.reference.load(spec, seed)
        self.board.load(spec, seed)

    def step(self, inputs: SpikeFrames, reward) -> SpikeFrames:
        want = self.reference.step(inputs, reward)
        got = self.board.step(inputs, reward)
        if not (np.array_equal(want.tick_ptr, got.tick_ptr) and np.array_equal(want.neuron_ids, got.neuron_ids)):
            for k in range(want.n_ticks):
                if not np.array_equal(np.sort(want.tick(k)), np.sort(got.tick(k))):
                    self.mismatched_ticks += 1
                    if self.first_mismatch is None:
                        self.first_mismatch = (f"tick {self.ticks + k}: population {self.readout!r} spiked "
                                               f"{sorted(want.tick(k).tolist())} in process, "
                                               f"{sorted(got.tick(k).tolist())} on the board")
        self.ticks += inputs.n_ticks
        return want

    def set_learning(self, enabled: bool) -> None:
        self.reference.set_learning(enabled)
        self.board.set_learning(enabled)

    def state(self) -> dict[str, np.ndarray]:
        return self.reference.state()

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.reference.restore(state)
        self.board.restore(state)

    def read(self, name: str) -> np.ndarray:
        return self.reference.read(name)

    def write(self, name: str, value: np.ndarray) -> None:
        self.reference.write(name, value)
        self.board.write(name, value)

    def non_finite(self, names: list[str]) -> str | None:
        return self.reference.non_finite(names)

    def report(self) -> dict:
        return self.reference.report()

    def close(self) -> None:
        self.reference.close()
        self.board.close()


def state_difference(want: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> str | None:
    """The first array (by name) that differs between two states, as a phrase, or None when identical."""
    for name in sorted(set(want) | set(got)):
        if name not in got or name not in want:
            return f"{name} only {'in process' if name in want else 'on the board'}"
        a, b = np.asarray(want[name]), np.asarray(got[name])
        if a.shape != b.shape or not np.array_equal(a, b):
            return f"{name} differs"
    return None


def run_hil(source: str, board: str, config: Config, seed: int, seconds: float | None,
            progress_s: float = 5.0) -> dict:
    """Run ``source`` (a recording, or ``scene``) through the emulator and ``board`` in lockstep; the JSON of
    ``neuroedge hil``."""
    from edge.backends import open_backend
    from edge.pipeline import build_pipeline

    reference = open_backend("emulator")
    device = open_backend(board_url(board))
    lockstep = LockstepBackend(reference, device)
    closed_loop = source == "scene"
    pipeline = build_pipeline(config, seed=seed, recording=None if closed_loop else source, backend=lockstep)
    block_us = config.run.dt_us * config.run.block_ticks
    max_blocks = None if seconds is None else int(round(seconds * 1e6 / block_us))
    blocks, on_target = 0, []
    start = next_progress = time.monotonic()
    try:
        while max_blocks is None or blocks < max_blocks:
            if pipeline.step() is None:
                break
            blocks += 1
            if closed_loop:
                on_target.append(pipeline.last_score["on_target"])
            if time.monotonic() >= next_progress + progress_s:
                next_progress = time.monotonic()
                link = device.link_counters()
                print(f"hil: {lockstep.ticks} ticks, {lockstep.mismatched_ticks} mismatched, "
                      f"{link['retransmits']} retransmits, {link['reconnects']} reconnects", file=sys.stderr)
        state_diff = state_difference(reference.state(), device.state())
        link = device.link_counters()
    finally:
        lockstep.close()
    identical = lockstep.mismatched_ticks == 0 and state_diff is None
    out = {"identical": identical, "ticks": lockstep.ticks, "mismatched_ticks": lockstep.mismatched_ticks,
           "state_identical": state_diff is None, "first_mismatch": lockstep.first_mismatch or state_diff,
           **{k: link[k] for k in ("round_trip_ms_p50", "round_trip_ms_p99", "retransmits", "crc_errors",
                                   "resyncs", "reconnects", "timeouts")},
           "source": source, "board": board_url(board), "seed": seed, "wall_s": round(time.monotonic() - start, 3)}
    if closed_loop:
        out["on_target"] = round(float(np.mean(on_target)), 4) if on_target else None
    return out

