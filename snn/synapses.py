"""Synapse kernels: spike propagation over a CSR synapse table sorted by presynaptic neuron.

``syn_ptr[i]:syn_ptr[i+1]`` are the synapses of presynaptic neuron i; ``syn_post`` their targets.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def propagate(
    spiked_ids: np.ndarray,
    n_spiked: int,
    syn_ptr: np.ndarray,
    syn_post: np.ndarray,
    weight_mv: np.ndarray,
    i_syn_mv: np.ndarray,
) -> None:
    """Add the weight (mV) of every synapse of every spiking neuron to its target's synaptic current."""
    for k in range(n_spiked):
        i = spiked_ids[k]
        for s in range(syn_ptr[i], syn_ptr[i + 1]):
            i_syn_mv[syn_post[s]] += weight_mv[s]
