"""Plasticity kernels: STDP traces, eligibility traces and their reward (dopamine) modulated application.

One kernel per rule over the CSR synapse table, for any projection; per-synapse parameters are arrays.
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


@njit(cache=True)
def eligibility_on_pre(
    spiked_ids: np.ndarray,
    n_spiked: int,
    syn_ptr: np.ndarray,
    syn_post: np.ndarray,
    a_minus: np.ndarray,
    post_trace: np.ndarray,
    eligibility: np.ndarray,
) -> None:
    """Depression term: a presynaptic spike lowers eligibility by a_minus times the target's post trace."""
    for k in range(n_spiked):
        i = spiked_ids[k]
        for s in range(syn_ptr[i], syn_ptr[i + 1]):
            if a_minus[s] != 0.0:
                eligibility[s] -= a_minus[s] * post_trace[syn_post[s]]


@njit(cache=True)
def eligibility_on_post(
    spiked_ids: np.ndarray,
    n_spiked: int,
    in_ptr: np.ndarray,
    in_syn: np.ndarray,
    syn_pre: np.ndarray,
    a_plus: np.ndarray,
    pre_trace: np.ndarray,
    eligibility: np.ndarray,
) -> None:
    """Potentiation term: a postsynaptic spike raises eligibility by a_plus times the source's pre trace.

    ``in_ptr[j]:in_ptr[j+1]`` index ``in_syn``, the synapses onto neuron j.
    """
    for k in range(n_spiked):
        j = spiked_ids[k]
        for q in range(in_ptr[j], in_ptr[j + 1]):
            s = in_syn[q]
            if a_plus[s] != 0.0:
                eligibility[s] += a_plus[s] * pre_trace[syn_pre[s]]


@njit(cache=True)
def apply_dopamine(
    plastic_syn: np.ndarray,
    weight_mv: np.ndarray,
    eligibility: np.ndarray,
    learning_rate: np.ndarray,
    w_min_mv: np.ndarray,
    w_max_mv: np.ndarray,
    eligibility_decay: np.ndarray,
    dopamine: float,
    learn: bool,
) -> None:
    """For each plastic synapse: w += learning_rate * dopamine * eligibility (clipped), then decay eligibility."""
    for q in range(plastic_syn.shape[0]):
        s = plastic_syn[q]
        if learn:
            w = weight_mv[s] + learning_rate[s] * dopamine * eligibility[s]
            weight_mv[s] = min(max(w, w_min_mv[s]), w_max_mv[s])
        eligibility[s] *= eligibility_decay[s]
