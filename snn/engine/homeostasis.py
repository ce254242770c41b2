"""Homeostasis: incoming-weight normalisation (synaptic scaling); the adaptive threshold is the alif model.

Normalisation (synaptic scaling to a fixed total), per neuron j with incoming synapses S_j::

    w_s <- w_s · target_sum_mv[j] / Σ_{s' in S_j} w_s'      (skipped when the sum is 0)

Apply it to one projection at a time through that projection's incoming index, so the sum has one sign
(Dale's law) and the factor is positive; mixing signs could flip weights.
"""
from __future__ import annotations

import numpy as np
from numba import njit


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
