"""The reference back end's tick loop: one Numba call advances every population and projection for a block.

Per tick: input/Poisson/LIF spikes -> traces -> per projection: propagation and presynaptic plasticity ->
postsynaptic plasticity -> dopamine-gated eligibility -> readout. Model and rule codes are in snn.codes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from snn.codes import (
    R_A3_MINUS, R_A3_PLUS, RULE_TRIPLET_STDP, MODEL_LIF_ADAPT, P_D_W, P_K_ADAPT, MODEL_ALIF, MODEL_INPUT, MODEL_IZHIKEVICH, MODEL_LIF, MODEL_LIF_COND, MODEL_POISSON, P_D_THETA, P_DECAY_ADAPT,
    P_DT_MS, P_E_EXC, P_E_INH, P_IZ_A, P_IZ_B, P_IZ_C, P_IZ_D, P_IZ_SUBSTEPS, P_TAU_MEM, P_DECAY_EXC, P_DECAY_INH, P_DECAY_MEM, P_K_EXC, P_K_INH, P_NOISE,
    P_REFRACTORY, P_V_RESET, P_V_REST, P_V_TH, R_A_MINUS, R_A_PLUS, R_ELIG_DECAY, R_LEARNING_RATE, R_W_MAX,
    R_W_MIN, RULE_NONE, RULE_PAIR_STDP, RULE_REWARD_STDP,
)
from snn.neuron_models import alif_step, izhikevich_step, lif_adapt_current_step, lif_cond_step, lif_exact_integrate
from snn.delays import drain_ring
from snn.rng import next_normal, next_uniform
from snn.stp import stp_on_spikes


@njit(cache=True)
def lif_add_noise(v_mv, refractory_left, lo, hi, noise_mv, rng_state):
    """Gaussian membrane noise (std noise_mv), at the start of a tick, on every neuron that integrates in it
    (not refractory); the noise then relaxes with the membrane like any other deviation."""
    for j in range(lo, hi):
        if refractory_left[j] == 0:
            v_mv[j] += noise_mv * next_normal(rng_state)


@njit(cache=True)
def spikes_from_flags(fired, n_fired, v_mv, refractory_left, lo, hi, v_reset_mv, refractory_ticks, spiked_ids,
                      n_spiked):
    """Reset the ``n_fired`` flagged neurons of lo..hi-1 in id order, reading the flags eight at a time;
    appends their ids and returns the new count. Clears the flags it visits."""
    words = fired.view(np.uint64)
    j = lo
    found = 0
    while found < n_fired and j < hi:
        if j % 8 == 0 and j + 8 <= hi and words[j // 8] == 0:
            j += 8
            continue
        if fired[j]:
            fired[j] = 0
            v_mv[j] = v_reset_mv
            refractory_left[j] = refractory_ticks
            spiked_ids[n_spiked] = j
            n_spiked += 1
            found += 1
        j += 1
    return n_spiked


@njit(cache=True)
def poisson_spikes(next_tick, log_keep, lo, hi, tick, rng_state, spiked_ids, n_spiked):
    """Bernoulli-per-tick (Poisson) spikes drawn as geometric intervals: neuron j spikes when next_tick[j] ==
    tick, then waits 1 + floor(log(u) / log(1 - p)) ticks (log_keep = log(1 - p), p the per-tick probability)."""
    for j in range(lo, hi):
        if next_tick[j] == tick:
            spiked_ids[n_spiked] = j
            n_spiked += 1
            next_tick[j] = tick + geometric_ticks(log_keep[j], rng_state)
    return n_spiked


@njit(cache=True)
def geometric_ticks(log_keep, rng_state):
    """Ticks to the next success of a per-tick Bernoulli(p) process (>= 1); a huge number when p == 0."""
    if log_keep == 0.0:
        return np.int64(1) << 60
    u = 1.0 - next_uniform(rng_state)
    return np.int64(1) + np.int64(np.log(u) / log_keep)


@njit(cache=True)
def merge_ports(g_exc_mv, g_inh_mv, lo, hi):
    """Models with one input current (alif, izhikevich) take the sum of both ports, in g_exc."""
    for j in range(np.uint64(lo), np.uint64(hi)):
        g_exc_mv[j] += g_inh_mv[j]
        g_inh_mv[j] = 0.0


@njit(cache=True)
def decay_inputs(g_mv, lo, hi, decay):
    for j in range(np.uint64(lo), np.uint64(hi)):
        g_mv[j] *= decay


@njit(cache=True, fastmath=True)
def decay_range(trace, decay, lo, hi):
    """trace *= decay over neurons lo..hi-1 (decay = exp(-dt / tau) per neuron)."""
    for i in range(np.uint64(lo), np.uint64(hi)):
        trace[i] *= decay[i]


@njit(cache=True)
def run_ticks(
    t_first, n_ticks, in_tick_ptr, in_ids,
    pop_model, pop_lo, pop_hi, pop_params,
    v_mv, g_exc_mv, g_inh_mv, refractory_left, adaptation, fired, next_tick, log_keep, rng_state,
    pre_trace, post_trace, pre_decay, post_decay, trace_ranges,
    pre_trace_slow, post_trace_slow, pre_decay_slow, post_decay_slow, has_triplet, nearest,
    has_stp, stp_u, stp_x, stp_last_tick, stp_u_base, stp_decay_facil, stp_decay_rec, efficacy,
    proj_delay, ring_exc_mv, ring_inh_mv,
    proj_pre_lo, proj_pre_hi, proj_post_lo, proj_post_hi, proj_dense, proj_port, proj_rule, proj_rule_params,
    proj_row_off, proj_in_off, row_ptr, in_ptr, in_syn, syn_pre, syn_post, weight_mv, eligibility,
    dopamine, learn, readout_lo, readout_hi, spiked_ids, pop_spike_end, out_tick_ptr, out_ids,
):
    """Advance up to ``n_ticks`` ticks from tick index ``t_first`` (global tick counter of the network).

    Stops early, at a tick boundary, when ``out_ids`` could overflow; returns (ticks done, readout spikes).
    """
    n_pops = pop_model.shape[0]
    n_proj = proj_port.shape[0]
    n_readout = readout_hi - readout_lo
    n_out = 0
    out_tick_ptr[0] = 0
    for k in range(n_ticks):
        if n_out + n_readout > out_ids.shape[0]:
            return k, n_out
        tick = t_first + k
        n_spiked = 0
        for p in range(n_pops):
            model = pop_model[p]
            lo, hi = pop_lo[p], pop_hi[p]
            prm = pop_params[p]
            if model == MODEL_INPUT:
                for q in range(in_tick_ptr[k], in_tick_ptr[k + 1]):
                    spiked_ids[n_spiked] = in_ids[q]
                    n_spiked += 1
            elif model == MODEL_POISSON:
                n_spiked = poisson_spikes(next_tick, log_keep, lo, hi, tick, rng_state, spiked_ids, n_spiked)
            elif model == MODEL_LIF:
                if prm[P_NOISE] > 0.0:
                    lif_add_noise(v_mv, refractory_left, lo, hi, prm[P_NOISE], rng_state)
                n_fired = lif_exact_integrate(v_mv, g_exc_mv, g_inh_mv, refractory_left, lo, hi, prm[P_V_REST],
                                              prm[P_V_RESET], prm[P_DECAY_MEM], prm[P_K_EXC], prm[P_K_INH],
                                              prm[P_DECAY_EXC], prm[P_DECAY_INH], prm[P_V_TH], fired)
                if n_fired:
                    n_spiked = spikes_from_flags(fired, n_fired, v_mv, refractory_left, lo, hi, prm[P_V_RESET],
                                                 np.int32(prm[P_REFRACTORY]), spiked_ids, n_spiked)
            elif model == MODEL_ALIF:
                merge_ports(g_exc_mv, g_inh_mv, lo, hi)
                n_spiked = alif_step(v_mv, g_exc_mv, adaptation, refractory_left, lo, hi, prm[P_V_REST],
                                     prm[P_V_RESET], prm[P_V_TH], prm[P_DECAY_MEM], prm[P_K_EXC], prm[P_DECAY_EXC],
                                     prm[P_DECAY_ADAPT], prm[P_D_THETA], np.int32(prm[P_REFRACTORY]),
                                     spiked_ids, n_spiked)
            elif model == MODEL_LIF_ADAPT:
                merge_ports(g_exc_mv, g_inh_mv, lo, hi)
                n_spiked = lif_adapt_current_step(v_mv, g_exc_mv, adaptation, refractory_left, lo, hi, prm[P_V_REST],
                                                  prm[P_V_RESET], prm[P_V_TH], prm[P_DECAY_MEM], prm[P_K_EXC],
                                                  prm[P_K_ADAPT], prm[P_DECAY_EXC], prm[P_DECAY_ADAPT], prm[P_D_W],
                                                  np.int32(prm[P_REFRACTORY]), spiked_ids, n_spiked)
            elif model == MODEL_LIF_COND:
                n_spiked = lif_cond_step(v_mv, g_exc_mv, g_inh_mv, refractory_left, lo, hi, prm[P_V_REST],
                                         prm[P_V_RESET], prm[P_V_TH], prm[P_E_EXC], prm[P_E_INH], prm[P_DT_MS],
                                         prm[P_TAU_MEM], prm[P_DECAY_EXC], prm[P_DECAY_INH],
                                         np.int32(prm[P_REFRACTORY]), spiked_ids, n_spiked)
            elif model == MODEL_IZHIKEVICH:
                merge_ports(g_exc_mv, g_inh_mv, lo, hi)
                n_spiked = izhikevich_step(v_mv, adaptation, g_exc_mv, lo, hi, prm[P_IZ_A], prm[P_IZ_B],
                                           prm[P_IZ_C], prm[P_IZ_D], prm[P_DT_MS], np.int64(prm[P_IZ_SUBSTEPS]),
                                           spiked_ids, n_spiked)
                decay_inputs(g_exc_mv, lo, hi, prm[P_DECAY_EXC])
            pop_spike_end[p] = n_spiked
        for r in range(trace_ranges.shape[0]):
            decay_range(pre_trace, pre_decay, trace_ranges[r, 0], trace_ranges[r, 1])
            decay_range(post_trace, post_decay, trace_ranges[r, 0], trace_ranges[r, 1])
            if has_triplet:
                decay_range(pre_trace_slow, pre_decay_slow, trace_ranges[r, 0], trace_ranges[r, 1])
                decay_range(post_trace_slow, post_decay_slow, trace_ranges[r, 0], trace_ranges[r, 1])
        if trace_ranges.shape[0] > 0:
            for q in range(n_spiked):
                i = spiked_ids[q]
                pre_trace[i] = 1.0 if nearest else pre_trace[i] + 1.0
        if has_stp:
            stp_on_spikes(spiked_ids, n_spiked, tick, stp_last_tick, stp_u, stp_x, stp_u_base, stp_decay_facil,
                          stp_decay_rec, efficacy)
        n_slots = ring_exc_mv.shape[0]
        for c in range(n_proj):
            d = proj_delay[c]
            slot = (tick + d) % n_slots
            target_exc = g_exc_mv if d == 0 else ring_exc_mv[slot]
            target_inh = g_inh_mv if d == 0 else ring_inh_mv[slot]
            propagate_projection(c, spiked_ids, n_spiked, proj_pre_lo, proj_pre_hi, proj_post_lo, proj_dense, proj_port,
                                 proj_rule, proj_rule_params, proj_row_off, row_ptr, syn_post, weight_mv,
                                 eligibility, post_trace, pre_trace_slow, target_exc, target_inh, efficacy, has_stp,
                                 learn)
        if n_slots > 1:
            drain_ring(ring_exc_mv, tick, g_exc_mv)
            drain_ring(ring_inh_mv, tick, g_inh_mv)
        for p in range(n_pops):
            if pop_model[p] >= MODEL_LIF and trace_ranges.shape[0] > 0:
                start = 0 if p == 0 else pop_spike_end[p - 1]
                for q in range(start, pop_spike_end[p]):
                    j = spiked_ids[q]
                    post_trace[j] = 1.0 if nearest else post_trace[j] + 1.0
        for c in range(n_proj):
            if proj_rule[c] != RULE_NONE:
                postsynaptic_plasticity(c, spiked_ids, n_spiked, proj_post_lo, proj_post_hi, proj_rule,
                                        proj_rule_params, proj_in_off, in_ptr, in_syn, syn_pre, weight_mv,
                                        eligibility, pre_trace, post_trace_slow, learn, proj_dense, proj_pre_lo,
                                        proj_pre_hi, proj_row_off, row_ptr)
            if proj_rule[c] == RULE_REWARD_STDP:
                apply_dopamine(c, proj_rule_params, row_ptr, proj_row_off, proj_pre_lo, proj_pre_hi, weight_mv,
                               eligibility, dopamine, learn)
        if has_triplet:
            for p in range(n_pops):
                start = 0 if p == 0 else pop_spike_end[p - 1]
                for q in range(start, pop_spike_end[p]):
                    pre_trace_slow[spiked_ids[q]] += 1.0
                    if pop_model[p] >= MODEL_LIF:
                        post_trace_slow[spiked_ids[q]] += 1.0
        for q in range(n_spiked):
            j = spiked_ids[q]
            if readout_lo <= j < readout_hi:
                out_ids[n_out] = j - readout_lo
                n_out += 1
        out_tick_ptr[k + 1] = n_out
    return n_ticks, n_out


@njit(cache=True)
def propagate_projection(c, spiked_ids, n_spiked, proj_pre_lo, proj_pre_hi, proj_post_lo, proj_dense, proj_port, proj_rule,
                         proj_rule_params, proj_row_off, row_ptr, syn_post, weight_mv, eligibility, post_trace,
                         pre_trace_slow, g_exc_mv, g_inh_mv, efficacy, has_stp, learn):
    """Spikes of projection c's presynaptic population: add each weight (mV) to its target's exc or inh input,
    then the presynaptic half of the projection's rule (pair STDP: w += a_post * post_trace, clipped;
    reward STDP: eligibility -= a_minus * post_trace). With short-term plasticity each spike's weights are
    scaled by its efficacy u*x. ``g_exc_mv``/``g_inh_mv`` are the inputs, or a delay ring's slot."""
    pre_lo, pre_hi = proj_pre_lo[c], proj_pre_hi[c]
    post_lo = proj_post_lo[c]
    dense = proj_dense[c]
    target = g_exc_mv if proj_port[c] == 0 else g_inh_mv
    rule = proj_rule[c]
    prm = proj_rule_params[c]
    row0 = proj_row_off[c]
    for q in range(n_spiked):
        i = spiked_ids[q]
        if i < pre_lo or i >= pre_hi:
            continue
        r = row0 + i - pre_lo
        s0, s1 = row_ptr[r], row_ptr[r + 1]
        scale = efficacy[i] if has_stp else 1.0
        if dense and rule == RULE_PAIR_STDP and learn:
            dense_row_pair_stdp(target, weight_mv, post_trace, s0, s1 - s0, post_lo, prm[R_A_MINUS],
                                prm[R_W_MIN], prm[R_W_MAX], scale)
            continue
        if dense:
            dense_row_add(target, weight_mv, s0, s1 - s0, post_lo, scale)
        elif has_stp:
            for s in range(s0, s1):
                target[syn_post[s]] += weight_mv[s] * scale
        else:
            for s in range(np.uint64(s0), np.uint64(s1)):
                target[syn_post[s]] += weight_mv[s]
        if rule == RULE_PAIR_STDP and learn:
            a_post, w_min, w_max = prm[R_A_MINUS], prm[R_W_MIN], prm[R_W_MAX]
            for s in range(s0, s1):
                w = weight_mv[s] + a_post * post_trace[syn_post[s]]
                weight_mv[s] = min(max(w, w_min), w_max)
        elif rule == RULE_TRIPLET_STDP and learn:
            depress = prm[R_A_MINUS] + prm[R_A3_MINUS] * pre_trace_slow[i]
            w_min, w_max = prm[R_W_MIN], prm[R_W_MAX]
            for s in range(s0, s1):
                w = weight_mv[s] - post_trace[syn_post[s]] * depress
                weight_mv[s] = min(max(w, w_min), w_max)
        elif rule == RULE_REWARD_STDP:
            a_minus = prm[R_A_MINUS]
            for s in range(s0, s1):
                eligibility[s] -= a_minus * post_trace[syn_post[s]]


@njit(cache=True, fastmath=True)
def dense_row_add(target, weight_mv, s0, n, post_lo, scale):
    """A dense row (targets post_lo .. post_lo + n - 1 in order): target += w * scale, vectorised."""
    t0, w0 = np.uint64(post_lo), np.uint64(s0)
    for k in range(np.uint64(n)):
        target[t0 + k] += weight_mv[w0 + k] * scale


@njit(cache=True, fastmath=True)
def dense_row_pair_stdp(target, weight_mv, post_trace, s0, n, post_lo, a_post, w_min, w_max, scale):
    """A dense row with pair STDP: target += w * scale, then w = clip(w + a_post * post_trace), vectorised."""
    t0, w0 = np.uint64(post_lo), np.uint64(s0)
    for k in range(np.uint64(n)):
        w = weight_mv[w0 + k]
        target[t0 + k] += w * scale
        w += a_post * post_trace[t0 + k]
        weight_mv[w0 + k] = min(max(w, w_min), w_max)


@njit(cache=True)
def postsynaptic_plasticity(c, spiked_ids, n_spiked, proj_post_lo, proj_post_hi, proj_rule, proj_rule_params,
                            proj_in_off, in_ptr, in_syn, syn_pre, weight_mv, eligibility, pre_trace, post_trace_slow,
                            learn, proj_dense, proj_pre_lo, proj_pre_hi, proj_row_off, row_ptr):
    """Postsynaptic half of projection c's rule for its spiking targets (pair STDP: w += a_pre * pre_trace;
    triplet: w += pre_trace * (a2_plus + a3_plus * slow post trace); both clipped; reward STDP:
    eligibility += a_plus * pre_trace)."""
    post_lo, post_hi = proj_post_lo[c], proj_post_hi[c]
    rule = proj_rule[c]
    if rule == RULE_NONE:
        return
    prm = proj_rule_params[c]
    a_pre, w_min, w_max = prm[R_A_PLUS], prm[R_W_MIN], prm[R_W_MAX]
    col0 = proj_in_off[c]
    dense = proj_dense[c]
    row0 = proj_row_off[c]
    for q in range(n_spiked):
        j = spiked_ids[q]
        if j < post_lo or j >= post_hi:
            continue
        r = col0 + j - post_lo
        gain = a_pre + prm[R_A3_PLUS] * post_trace_slow[j] if rule == RULE_TRIPLET_STDP else a_pre
        if dense and rule != RULE_REWARD_STDP:
            if learn:
                dense_column_potentiate(weight_mv, pre_trace, row_ptr[row0], post_hi - post_lo, j - post_lo,
                                        proj_pre_lo[c], proj_pre_hi[c] - proj_pre_lo[c], gain, w_min, w_max)
            continue
        for t in range(in_ptr[r], in_ptr[r + 1]):
            s = in_syn[t]
            if rule == RULE_REWARD_STDP:
                eligibility[s] += a_pre * pre_trace[syn_pre[s]]
            elif learn:
                w = weight_mv[s] + gain * pre_trace[syn_pre[s]]
                weight_mv[s] = min(max(w, w_min), w_max)


@njit(cache=True)
def dense_column_potentiate(weight_mv, pre_trace, s0, n_post, column, pre_lo, n_pre, gain, w_min, w_max):
    """A dense projection's column (all synapses onto one target): w += gain * pre_trace, clipped; the
    synapse of presynaptic row i is at s0 + i * n_post + column, so no index table is read."""
    s = np.uint64(s0 + column)
    stride = np.uint64(n_post)
    for i in range(np.uint64(n_pre)):
        w = weight_mv[s] + gain * pre_trace[np.uint64(pre_lo) + i]
        weight_mv[s] = min(max(w, w_min), w_max)
        s += stride


@njit(cache=True)
def apply_dopamine(c, proj_rule_params, row_ptr, proj_row_off, proj_pre_lo, proj_pre_hi, weight_mv, eligibility,
                   dopamine, learn):
    """Reward STDP, every tick: w += learning_rate * dopamine * eligibility (clipped); eligibility decays."""
    prm = proj_rule_params[c]
    rate, w_min, w_max, decay = prm[R_LEARNING_RATE], prm[R_W_MIN], prm[R_W_MAX], prm[R_ELIG_DECAY]
    r0 = proj_row_off[c]
    s0, s1 = row_ptr[r0], row_ptr[r0 + proj_pre_hi[c] - proj_pre_lo[c]]
    for s in range(s0, s1):
        if learn:
            w = weight_mv[s] + rate * dopamine * eligibility[s]
            weight_mv[s] = min(max(w, w_min), w_max)
        eligibility[s] *= decay
