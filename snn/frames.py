"""SpikeFrames: spikes for a block of ticks in CSR form, the only thing a back end consumes or produces.

``tick_ptr[k]:tick_ptr[k+1]`` indexes ``neuron_ids`` for tick k of the block.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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

    def validate(self, n_neurons: int, name: str = "spikes") -> None:
        """Raise ValueError naming the problem when the CSR structure is inconsistent."""
        if self.tick_ptr.ndim != 1 or len(self.tick_ptr) < 1 or self.tick_ptr[0] != 0:
            raise ValueError(f"{name}: tick_ptr must be 1-D and start at 0")
        if np.any(np.diff(self.tick_ptr) < 0):
            raise ValueError(f"{name}: tick_ptr must be non-decreasing")
        if len(self.neuron_ids) != self.tick_ptr[-1]:
            raise ValueError(f"{name}: {len(self.neuron_ids)} neuron ids but tick_ptr ends at {self.tick_ptr[-1]}")
        if len(self.neuron_ids) and (self.neuron_ids.min() < 0 or self.neuron_ids.max() >= n_neurons):
            raise ValueError(f"{name}: neuron id outside 0..{n_neurons - 1}")
