"""Numba kernels of the word network: integrate-and-fire readout over a replay, label-gated plasticity."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def integrate_readout(tick_ptr: np.ndarray, map_ids: np.ndarray, weights: np.ndarray, threshold: float,
                      membrane_v: np.ndarray, spike_counts: np.ndarray) -> None:
    """Run the readout neurons over a replay: each input spike j adds ``weights[j, :]`` to every readout
    neuron's membrane; after each tick a neuron at or above ``threshold`` spikes once and subtracts it
    (non-leaky integrate-and-fire, no floor, so threshold * spikes + membrane is the exact total drive)."""
    n_out = weights.shape[1]
    for t in range(tick_ptr.shape[0] - 1):
        for k in range(tick_ptr[t], tick_ptr[t + 1]):
            j = map_ids[k]
            for c in range(n_out):
                membrane_v[c] += weights[j, c]
        for c in range(n_out):
            if membrane_v[c] >= threshold:
                membrane_v[c] -= threshold
                spike_counts[c] += 1


@njit(cache=True)
def apply_modulated_eligibility(weights: np.ndarray, pre_ids: np.ndarray, eligibility: np.ndarray,
                                dopamine: np.ndarray, learning_rate: float) -> None:
    """Three-factor update: w[j, c] += learning_rate * dopamine[c] * eligibility[k] for pre neuron
    j = pre_ids[k]. Only synapses whose presynaptic neuron was active carry a tag, so the loop is over
    the active inputs only."""
    n_out = weights.shape[1]
    for k in range(pre_ids.shape[0]):
        j = pre_ids[k]
        tag = learning_rate * eligibility[k]
        for c in range(n_out):
            if dopamine[c] != 0.0:
                weights[j, c] += tag * dopamine[c]
