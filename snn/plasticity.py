"""Trace kernels shared by the STDP rules: exponential decay and the per-spike increment.

The rules themselves run inside snn.engine_kernel (pair, triplet, reward STDP) and snn.stdp.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def decay_traces(trace: np.ndarray, decay: float) -> None:
    """Multiply every trace by ``decay`` (= exp(-dt/tau))."""
    for i in range(trace.shape[0]):
        trace[i] *= decay


@njit(cache=True)
def bump_traces(trace: np.ndarray, spiked_ids: np.ndarray, n_spiked: int) -> None:
    """Add 1 to the trace of each neuron that spiked this tick."""
    for k in range(n_spiked):
        trace[spiked_ids[k]] += 1.0
