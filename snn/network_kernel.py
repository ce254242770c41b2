"""The tick loop of the reference back end: one Numba call advances a whole block of ticks.

Per tick: input spikes -> LIF update -> traces and eligibility -> propagation -> dopamine-gated weight update.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from snn.neurons import lif_step
from snn.plasticity import apply_dopamine, bump_traces, decay_traces, eligibility_on_post, eligibility_on_pre
from snn.synapses import propagate


@njit(cache=True)
def run_block(
    in_tick_ptr: np.ndarray,
    in_ids: np.ndarray,
    n_input: int,
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
    syn_ptr: np.ndarray,
    syn_post: np.ndarray,
    syn_pre: np.ndarray,
    in_ptr: np.ndarray,
    in_syn: np.ndarray,
    weight_mv: np.ndarray,
    plastic_syn: np.ndarray,
    a_plus: np.ndarray,
    a_minus: np.ndarray,
    learning_rate: np.ndarray,
    w_min_mv: np.ndarray,
    w_max_mv: np.ndarray,
    eligibility_decay: np.ndarray,
    pre_trace: np.ndarray,
    post_trace: np.ndarray,
    eligibility: np.ndarray,
    pre_decay: float,
    post_decay: float,
    dopamine: float,
    learn: bool,
    readout_lo: int,
    readout_hi: int,
    spiked_ids: np.ndarray,
    out_tick_ptr: np.ndarray,
    out_ids: np.ndarray,
) -> int:
    """Advance ``len(in_tick_ptr) - 1`` ticks; write readout spikes (ids local to the readout) as CSR.

    Input neurons are global ids 0..n_input-1 and spike exactly when ``in_ids`` says; LIF neurons are
    n_input..len(v_mv)-1. A spike reaches its targets' synaptic current one tick later. Returns the
    number of readout spikes written.
    """
    n_ticks = in_tick_ptr.shape[0] - 1
    n_neurons = v_mv.shape[0]
    n_out = 0
    out_tick_ptr[0] = 0
    for t in range(n_ticks):
        n_spiked = 0
        for k in range(in_tick_ptr[t], in_tick_ptr[t + 1]):
            spiked_ids[n_spiked] = in_ids[k]
            n_spiked += 1
        n_inputs_spiked = n_spiked
        n_spiked = lif_step(
            v_mv, i_syn_mv, refractory_left, decay_mem, decay_syn, v_rest_mv, v_reset_mv, v_th_mv,
            refractory_ticks, noise_mv, rng_state, n_input, n_neurons, spiked_ids, n_spiked,
        )
        decay_traces(pre_trace, pre_decay)
        decay_traces(post_trace, post_decay)
        bump_traces(pre_trace, spiked_ids, n_spiked)
        eligibility_on_pre(spiked_ids, n_spiked, syn_ptr, syn_post, a_minus, post_trace, eligibility)
        lif_ids = spiked_ids[n_inputs_spiked:n_spiked]
        eligibility_on_post(lif_ids, n_spiked - n_inputs_spiked, in_ptr, in_syn, syn_pre, a_plus, pre_trace, eligibility)
        bump_traces(post_trace, lif_ids, n_spiked - n_inputs_spiked)
        propagate(spiked_ids, n_spiked, syn_ptr, syn_post, weight_mv, i_syn_mv)
        apply_dopamine(plastic_syn, weight_mv, eligibility, learning_rate, w_min_mv, w_max_mv, eligibility_decay, dopamine, learn)
        for k in range(n_inputs_spiked, n_spiked):
            j = spiked_ids[k]
            if readout_lo <= j < readout_hi:
                out_ids[n_out] = j - readout_lo
                n_out += 1
        out_tick_ptr[t + 1] = n_out
    return n_out
