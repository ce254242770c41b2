"""Neuron update kernels: current-based LIF with exponential synaptic current and refractory period.

All kernels update state arrays in place for neurons lo..hi-1 and never allocate.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from snn.rng import next_normal


@njit(cache=True)
def lif_step(
    v_mv: np.ndarray,
    i_syn_mv: np.ndarray,
    refractory_left: np.ndarray,
    decay_mem: np.ndarray,
    decay_syn: np.ndarray,
    v_rest_mv: np.ndarray,
    v_reset_mv: np.ndarray,
    v_th_mv: np.ndarray,
    refractory_ticks: np.ndarray,
    noise_mv: np.ndarray,
    rng_state: np.ndarray,
    lo: int,
    hi: int,
    spiked_ids: np.ndarray,
    n_spiked: int,
) -> int:
    """Advance neurons lo..hi-1 by one tick; append the ids that fire to ``spiked_ids`` from ``n_spiked``.

    Exact exponential integration over one tick of dt: v <- v_rest + i + (v - v_rest - i) * decay_mem,
    with decay_mem = exp(-dt/tau_mem), then Gaussian noise (std noise_mv), then the threshold test;
    afterwards i_syn decays by decay_syn = exp(-dt/tau_syn). A refractory neuron is held at v_reset.
    Returns the new number of entries in ``spiked_ids``.
    """
    for j in range(lo, hi):
        if refractory_left[j] > 0:
            refractory_left[j] -= 1
            v_mv[j] = v_reset_mv[j]
        else:
            target = v_rest_mv[j] + i_syn_mv[j]
            v = target + (v_mv[j] - target) * decay_mem[j]
            if noise_mv[j] > 0.0:
                v += noise_mv[j] * next_normal(rng_state)
            if v >= v_th_mv[j]:
                v = v_reset_mv[j]
                refractory_left[j] = refractory_ticks[j]
                spiked_ids[n_spiked] = j
                n_spiked += 1
            v_mv[j] = v
        i_syn_mv[j] *= decay_syn[j]
    return n_spiked
