"""Integer synaptic delays through a ring buffer of future synaptic input, one row per tick in flight.

The engine adds a spike with delay d (d >= 1) into ring[(t + d) % n_slots] at tick t and, at the end of
every tick, ``drain_ring`` moves slot t into the input the neurons integrate next: a delayed spike is felt
d ticks after an undelayed one. n_slots = max_delay + 1; ``ring_mv`` has shape (n_slots, n_neurons).
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def drain_ring(ring_mv: np.ndarray, tick: int, target_mv: np.ndarray) -> None:
    """target_mv += ring_mv[tick % n_slots], then zero that slot (it becomes tick + n_slots's slot)."""
    slot = tick % ring_mv.shape[0]
    for j in range(ring_mv.shape[1]):
        target_mv[j] += ring_mv[slot, j]
        ring_mv[slot, j] = 0.0
