"""Homeostasis kernels: adaptive threshold offsets (Diehl & Cook 2015) and incoming-weight normalisation.

Both keep a learning population's activity bounded without touching the neuron or STDP kernels.

Adaptive threshold, per neuron j with offset θ_j (mV), added to the neuron's threshold by the driver or
neuron kernel (v_th_eff = v_th_mv + θ)::

    every tick:        θ_j <- θ_j e^{-dt/τθ}                 (decay first)
    on a spike of j:   θ_j <- θ_j + θ+_j                     (then the increment)

A neuron firing every T ticks settles to θ = θ+ / (1 - e^{-T dt/τθ}) just after each spike; a silent one
relaxes to 0 with τθ.

Normalisation (synaptic scaling to a fixed total), per neuron j with incoming synapses S_j::

    w_s <- w_s · target_sum_mv[j] / Σ_{s' in S_j} w_s'      (skipped when the sum is 0)

Apply it to one projection at a time through that projection's incoming index, so the sum has one sign
(Dale's law) and the factor is positive; mixing signs could flip weights.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def adapt_thresholds(
    spiked_ids: np.ndarray,
    n_spiked: int,
    theta_mv: np.ndarray,
    decay_theta_per_tick: np.ndarray,
    theta_plus_mv: np.ndarray,
) -> None:
    """θ_j <- θ_j · decay_theta_per_tick[j] for all j, then θ_j += theta_plus_mv[j] for each spiker (mV).

    ``decay_theta_per_tick`` = exp(-dt/τθ) per neuron (1 and θ+ = 0 for neurons without adaptation).
    """
    for j in range(theta_mv.shape[0]):
        theta_mv[j] *= decay_theta_per_tick[j]
    for k in range(n_spiked):
        j = spiked_ids[k]
        theta_mv[j] += theta_plus_mv[j]


@njit(cache=True)
def normalise_incoming(
    in_ptr: np.ndarray,
    in_syn: np.ndarray,
    weight_mv: np.ndarray,
    target_sum_mv: np.ndarray,
) -> None:
    """Scale the weights onto each neuron j so they sum to target_sum_mv[j] (mV); skip j with a zero sum.

    ``in_syn[in_ptr[j]:in_ptr[j+1]]`` are the synapses onto j: pass a projection's own incoming index to
    normalise only that projection.
    """
    for j in range(in_ptr.shape[0] - 1):
        total = 0.0
        for q in range(in_ptr[j], in_ptr[j + 1]):
            total += weight_mv[in_syn[q]]
        if total != 0.0:
            scale = target_sum_mv[j] / total
            for q in range(in_ptr[j], in_ptr[j + 1]):
                weight_mv[in_syn[q]] *= scale
