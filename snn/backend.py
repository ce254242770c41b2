"""The back-end seam: every back end (numba, emulator, serial) compiles the same NetworkSpec behind this Protocol.

Back ends are opened by URL (``edge.backends.open_backend``). Learned state is exchanged in one portable
format: arrays named by spec objects (``projection/<name>/weight_mv`` in the spec's synapse order,
``population/<name>/v_mv``, ``network/reward_baseline``, ...), plus each back end's private extras under its
own prefix (``numba/...``), which other back ends ignore — so a checkpoint moves between back ends.
"""
from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from snn.frames import SpikeFrames
from snn.spec import NetworkSpec

PORTABLE_PREFIXES = ("network/", "population/", "projection/")
"""Prefixes of the portable state names; any other name is one back end's private array."""


class BackendUnavailable(RuntimeError):
    """A back end whose device cannot be reached right now (a board off its line); the caller may carry on
    without this block's spikes and try again with the next (the daemon does)."""


class Backend(Protocol):
    """Advance a network in blocks of ticks; export and restore its learned and transient state."""

    name: str
    url: str

    def load(self, spec: NetworkSpec, seed: int) -> None:
        """Build the network from ``spec``; every random draw comes from ``seed``."""

    def step(self, inputs: SpikeFrames, reward: float) -> SpikeFrames:
        """Advance ``inputs.n_ticks`` ticks with input spikes and a reward (dimensionless); return the readout
        population's spikes (ids local to the readout)."""

    def set_learning(self, enabled: bool) -> None:
        """Switch on-line weight changes on or off."""

    def state(self) -> dict[str, np.ndarray]:
        """Named arrays to checkpoint: portable names by spec object, private extras under the back end's prefix."""

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load arrays produced by any back end's ``state()`` for the same network; ValueError naming the array
        on a missing, extra, mis-shaped or mis-typed one (and nothing changed)."""

    def read(self, name: str) -> np.ndarray:
        """One state array by name (a population's state, a projection's weights), for plots and monitoring."""

    def write(self, name: str, value: np.ndarray) -> None:
        """Set one state array by name, checked like ``restore`` (e.g. clear membranes between trials)."""

    def non_finite(self, names: list[str]) -> str | None:
        """The first of these state arrays holding NaN or infinity, or None (cheap: the numerical guard calls it
        after every block)."""

    def report(self) -> dict:
        """Counts of this run (ticks, spikes, ...); the emulator adds energy and core use."""

    def close(self) -> None:
        """Release resources."""


def parse_reward(reward, n_readout: int, has_reward_stdp: bool, owner: str) -> tuple[float, np.ndarray | None]:
    """(the scalar reward, None) for a float; (0.0, the per-readout-neuron values) for an array. ValueError
    naming ``owner`` on a non-finite reward, a wrongly sized array, or an array when the network has
    reward-STDP projections (they take one global dopamine)."""
    if np.ndim(reward) == 0:
        value = float(reward)
        if not math.isfinite(value):
            raise ValueError(f"{owner}: reward must be finite, got {value}")
        return value, None
    values = np.asarray(reward, dtype=np.float64)
    if values.shape != (n_readout,) or not np.all(np.isfinite(values)):
        raise ValueError(f"{owner}: a per-neuron reward needs {n_readout} finite values (one per readout neuron), "
                         f"got shape {list(values.shape)}")
    if has_reward_stdp:
        raise ValueError(f"{owner}: a per-neuron reward is for third-factor projections; this network's "
                         f"reward-STDP projections take one float")
    return 0.0, values


def reward_dopamine(reward: float, baseline: np.ndarray, learning: bool, n_ticks: int, dt_ms: float,
                    tau_baseline_ms: float) -> float:
    """Reward STDP's dopamine for a block: ``reward`` minus the running baseline (``baseline[0]``), which,
    while learning, moves towards the reward with time constant ``tau_baseline_ms`` over the block's
    ``n_ticks`` ticks of ``dt_ms`` (updated in place)."""
    dopamine = float(reward) - baseline[0]
    if learning:
        baseline[0] += (1.0 - math.exp(-n_ticks * dt_ms / tau_baseline_ms)) * dopamine
    return dopamine
