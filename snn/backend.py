"""The back-end seam: every back end (numba, emulator, serial) compiles the same NetworkSpec behind this Protocol."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from snn.frames import SpikeFrames
from snn.spec import NetworkSpec


class Backend(Protocol):
    """Advance a network in blocks of ticks; export and restore its learned and transient state."""

    name: str

    def load(self, spec: NetworkSpec, seed: int) -> None:
        """Build the network from ``spec``; every random draw comes from ``seed``."""

    def step(self, inputs: SpikeFrames, reward: float) -> SpikeFrames:
        """Advance ``inputs.n_ticks`` ticks with input spikes and a reward (dimensionless); return output spikes."""

    def state(self) -> dict[str, np.ndarray]:
        """Named arrays to checkpoint (learned weights, thresholds, traces, RNG state)."""

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load arrays produced by ``state()``; raise ValueError naming the array on mismatch."""

    def close(self) -> None:
        """Release resources."""
