"""SpikeFrames: spikes for a block of ticks in CSR form, the only thing a back end consumes or produces.

``tick_ptr[k]:tick_ptr[k+1]`` indexes ``neuron_ids`` for tick k of the block.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

_DECREASING, _OUT_OF_RANGE = -1, -2


@dataclass(frozen=True)
class SpikeFrames:
    """Spikes of ``n_ticks`` consecutive ticks.

    Parameters
    ----------
    tick_ptr : int64 array of length n_ticks + 1, non-decreasing, starting at 0.
    neuron_ids : int32 array of length tick_ptr[-1]; ids of the neurons that spiked in each tick.
    """

    tick_ptr: np.ndarray
    neuron_ids: np.ndarray

    @property
    def n_ticks(self) -> int:
        return len(self.tick_ptr) - 1

    @property
    def n_spikes(self) -> int:
        return int(self.tick_ptr[-1])

    def __len__(self) -> int:
        return self.n_ticks

    def tick(self, k: int) -> np.ndarray:
        """Neuron ids spiking in tick ``k`` of the block."""
        return self.neuron_ids[self.tick_ptr[k] : self.tick_ptr[k + 1]]

    def counts(self, n_neurons: int) -> np.ndarray:
        """Spike count per neuron over the block (int64, length n_neurons)."""
        return np.bincount(self.neuron_ids, minlength=n_neurons)[:n_neurons]

    @staticmethod
    def empty(n_ticks: int) -> "SpikeFrames":
        return SpikeFrames(np.zeros(n_ticks + 1, dtype=np.int64), np.zeros(0, dtype=np.int32))

    @staticmethod
    def from_lists(ticks: list[list[int]]) -> "SpikeFrames":
        """Build from one list of neuron ids per tick (tests and small tools; not a hot path)."""
        ptr = np.zeros(len(ticks) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(t) for t in ticks])
        ids = np.array([i for t in ticks for i in t], dtype=np.int32)
        return SpikeFrames(ptr, ids)

    def validate(self, n_neurons: int, name: str = "spikes") -> int:
        """Raise ValueError naming the problem when the CSR structure is inconsistent or an id is outside
        0..n_neurons-1; otherwise return the most spikes in one tick (one pass, no temporaries)."""
        if self.tick_ptr.ndim != 1 or len(self.tick_ptr) < 1 or self.tick_ptr[0] != 0:
            raise ValueError(f"{name}: tick_ptr must be 1-D and start at 0")
        if self.neuron_ids.ndim != 1:
            raise ValueError(f"{name}: neuron_ids must be 1-D")
        busiest = _scan_csr(self.tick_ptr, self.neuron_ids, n_neurons)
        if busiest == _DECREASING:
            raise ValueError(f"{name}: tick_ptr must be non-decreasing")
        if len(self.neuron_ids) != self.tick_ptr[-1]:
            raise ValueError(f"{name}: {len(self.neuron_ids)} neuron ids but tick_ptr ends at {self.tick_ptr[-1]}")
        if busiest == _OUT_OF_RANGE:
            raise ValueError(f"{name}: neuron id outside 0..{n_neurons - 1}")
        return busiest


@njit(cache=True)
def _scan_csr(tick_ptr: np.ndarray, neuron_ids: np.ndarray, n_neurons: int) -> int:
    """The most spikes in one tick, or _DECREASING / _OUT_OF_RANGE for the first problem found."""
    busiest = 0
    for k in range(len(tick_ptr) - 1):
        count = tick_ptr[k + 1] - tick_ptr[k]
        if count < 0:
            return _DECREASING
        busiest = max(busiest, count)
    for i in range(len(neuron_ids)):
        if neuron_ids[i] < 0 or neuron_ids[i] >= n_neurons:
            return _OUT_OF_RANGE
    return busiest
