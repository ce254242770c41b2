"""The reference back end's tick loop: one Numba call advances every population and projection for a block.

Per tick: input/Poisson/LIF spikes -> traces -> per projection: propagation and presynaptic plasticity ->
postsynaptic plasticity -> dopamine-gated eligibility -> readout. Model and rule codes are in snn.codes.

Arguments travel in named groups (namedtuples of arrays, see below), built once by the back end from the
compiled network (snn.compile) and its state, so no two arrays of the same type can be swapped by position.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from snn.codes import (
    R_A3_MINUS, R_A3_PLUS, RULE_TRIPLET_STDP, MODEL_LIF_ADAPT, P_D_W, P_K_ADAPT, MODEL_ALIF, MODEL_INPUT,
    MODEL_INTEGRATE_FIRE, MODEL_IZHIKEVICH, MODEL_LIF, MODEL_LIF_COND, MODEL_POISSON, P_D_THETA, P_DECAY_ADAPT,
    P_DT_MS, P_E_EXC, P_E_INH, P_IZ_A, P_IZ_B, P_IZ_C, P_IZ_D, P_IZ_SUBSTEPS, P_TAU_MEM, P_DECAY_EXC, P_DECAY_INH, P_DECAY_MEM, P_K_EXC, P_K_INH, P_NOISE,
    P_REFRACTORY, P_V_RESET, P_V_REST, P_V_TH, R_A_MINUS, R_A_PLUS, R_ELIG_DECAY, R_LEARNING_RATE, R_W_MAX,
    R_W_MIN, RULE_NONE, RULE_PAIR_STDP, RULE_REWARD_STDP, RULE_THIRD_FACTOR,
)
from snn.engine.neuron_models import alif_step, izhikevich_step, lif_adapt_current_step, lif_cond_step, lif_exact_integrate
from snn.engine.delays import drain_ring
from snn.rng import next_normal, next_uniform
from snn.engine.stp import stp_on_spikes


FLAG_BLOCK_BYTES = 32
"""Spike flags tested per step of the flag scan (four 64-bit words OR-ed); ``fired`` is padded to a multiple."""

Populations = namedtuple("Populations", "model lo hi params is_neuron")
"""Per population: model code (int32), global id range [lo, hi) (int64), parameter row, integrates (bool)."""

Neurons = namedtuple("Neurons", "v_mv g_exc_mv g_inh_mv refractory_left adaptation fired next_tick log_keep")
"""Per neuron: membrane (mV), exc/inh inputs (mV), refractory ticks left, adaptation (mV), spike flags (uint8,
padded to a multiple of FLAG_BLOCK_BYTES), Poisson next spike tick and log(1 - p)."""

Traces = namedtuple("Traces", "pre post pre_decay post_decay pre_slow post_slow pre_decay_slow post_decay_slow "
                              "ranges has_triplet nearest")
"""Per neuron STDP traces (dimensionless) and their per-tick decays; ``ranges`` [k, 2] the neuron ranges whose
traces run; ``nearest`` traces are set to 1 (not incremented) at a spike."""

ShortTerm = namedtuple("ShortTerm", "enabled u x last_tick u_base decay_facil decay_rec efficacy")
"""Tsodyks-Markram state per presynaptic neuron (see snn.engine.stp) and this tick's efficacy u*x."""

Projections = namedtuple("Projections", "pre_lo pre_hi post_lo post_hi dense port rule rule_params row_off in_off "
                                        "delay")
"""Per projection: global pre/post ranges, dense flag, port (0 exc, 1 inh), rule code and row, offsets into
row_ptr / in_ptr, delay (ticks)."""

Synapses = namedtuple("Synapses", "row_ptr in_ptr in_syn syn_pre syn_post weight_mv eligibility")
"""CSR by presynaptic neuron, the incoming index by target, global ids, weights (mV) and eligibility."""

Delays = namedtuple("Delays", "ring_exc_mv ring_inh_mv")
"""Ring buffers [slots, n] (mV) of delayed input per port."""

Block = namedtuple("Block", "in_tick_ptr in_ids modulator modulated readout_lo readout_hi spiked_ids pop_spike_end "
                           "out_tick_ptr out_ids")
"""One call's input spikes (CSR per tick, global input ids), the per-neuron third factor of ThirdFactorHebb
(``modulator``, float64 [n]; ``modulated`` False when all zero), the readout range, scratch space and the
output (CSR per tick, readout-local ids)."""


@njit(cache=True)
def all_finite(values):
    """Whether every value of a 1-D float array is finite (one pass, stops at the first that is not)."""
    for i in range(values.shape[0]):
        if not np.isfinite(values[i]):
            return False
    return True


@njit(cache=True)
def lif_add_noise(v_mv, refractory_left, lo, hi, noise_mv, rng_state):
    """Gaussian membrane noise (std noise_mv), at the start of a tick, on every neuron that integrates in it
    (not refractory); the noise then relaxes with the membrane like any other deviation."""
    for j in range(lo, hi):
        if refractory_left[j] == 0:
            v_mv[j] += noise_mv * next_normal(rng_state)


@njit(cache=True, inline="always")
def reset_spiker(j, fired, v_mv, refractory_left, v_reset_mv, refractory_ticks, spiked_ids, n_spiked):
    """Neuron j fired: clear its flag, reset it, start its refractory period, append it; the new count."""
    fired[j] = 0
    v_mv[j] = v_reset_mv
    refractory_left[j] = refractory_ticks
    spiked_ids[n_spiked] = j
    return n_spiked + 1


@njit(cache=True)
def spikes_from_flags(fired, v_mv, refractory_left, lo, hi, v_reset_mv, refractory_ticks, spiked_ids, n_spiked):
    """Reset the flagged neurons of lo..hi-1 in id order, append their ids and return the new count; clears
    the flags it visits.

    Reads the aligned blocks of FLAG_BLOCK_BYTES flags that cover lo..hi-1, four 64-bit words per test, and
    skips all-zero blocks, so ``fired`` must be padded to a multiple of FLAG_BLOCK_BYTES and be zero outside
    lo..hi-1 — true in the engine, where each population's flags are written by its update and cleared by
    its own scan before the next population is updated."""
    words = fired.view(np.uint64)
    w = lo // FLAG_BLOCK_BYTES * (FLAG_BLOCK_BYTES // 8)
    w_end = -(-hi // FLAG_BLOCK_BYTES) * (FLAG_BLOCK_BYTES // 8)
    while w < w_end:
        if (words[w] | words[w + 1] | words[w + 2] | words[w + 3]) != 0:
            for j in range(w * 8, w * 8 + FLAG_BLOCK_BYTES):
                if fired[j]:
                    n_spiked = reset_spiker(j, fired, v_mv, refractory_left, v_reset_mv, refractory_ticks,
                                            spiked_ids, n_spiked)
        w += FLAG_BLOCK_BYTES // 8
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
def run_ticks(t_first, n_ticks, dopamine, learn, io, pops, neurons, rng_state, traces, stp, projs, syn, delays):
    """Advance up to ``n_ticks`` ticks from tick index ``t_first`` (global tick counter of the network) with
    ``dopamine`` (dimensionless) gating reward STDP and ``learn`` enabling weight changes.

    The groups are unpacked once here (taking an array out of a group inside the tick loop costs a reference
    count each time); the per-tick helpers are called with keyword arguments.
    Stops early, at a tick boundary, when ``io.out_ids`` could overflow; returns (ticks done, readout spikes).
    """
    return tick_loop(
        t_first=t_first, n_ticks=n_ticks, dopamine=dopamine, learn=learn,
        in_tick_ptr=io.in_tick_ptr, in_ids=io.in_ids, modulator=io.modulator, modulated=io.modulated,
        readout_lo=io.readout_lo, readout_hi=io.readout_hi,
        spiked_ids=io.spiked_ids, pop_spike_end=io.pop_spike_end, out_tick_ptr=io.out_tick_ptr, out_ids=io.out_ids,
        pop_model=pops.model, pop_lo=pops.lo, pop_hi=pops.hi, pop_params=pops.params, pop_is_neuron=pops.is_neuron,
        v_mv=neurons.v_mv, g_exc_mv=neurons.g_exc_mv, g_inh_mv=neurons.g_inh_mv,
        refractory_left=neurons.refractory_left, adaptation=neurons.adaptation, fired=neurons.fired,
        next_tick=neurons.next_tick, log_keep=neurons.log_keep, rng_state=rng_state,
        pre_trace=traces.pre, post_trace=traces.post, pre_decay=traces.pre_decay, post_decay=traces.post_decay,
        pre_trace_slow=traces.pre_slow, post_trace_slow=traces.post_slow, pre_decay_slow=traces.pre_decay_slow,
        post_decay_slow=traces.post_decay_slow, trace_ranges=traces.ranges, has_triplet=traces.has_triplet,
        nearest=traces.nearest,
        has_stp=stp.enabled, stp_u=stp.u, stp_x=stp.x, stp_last_tick=stp.last_tick, stp_u_base=stp.u_base,
        stp_decay_facil=stp.decay_facil, stp_decay_rec=stp.decay_rec, efficacy=stp.efficacy,
        proj_pre_lo=projs.pre_lo, proj_pre_hi=projs.pre_hi, proj_post_lo=projs.post_lo, proj_post_hi=projs.post_hi,
        proj_dense=projs.dense, proj_port=projs.port, proj_rule=projs.rule, proj_rule_params=projs.rule_params,
        proj_row_off=projs.row_off, proj_in_off=projs.in_off, proj_delay=projs.delay,
        row_ptr=syn.row_ptr, in_ptr=syn.in_ptr, in_syn=syn.in_syn, syn_pre=syn.syn_pre, syn_post=syn.syn_post,
        weight_mv=syn.weight_mv, eligibility=syn.eligibility,
        ring_exc_mv=delays.ring_exc_mv, ring_inh_mv=delays.ring_inh_mv,
    )


@njit(cache=True)
def tick_loop(
    t_first, n_ticks, dopamine, learn,
    in_tick_ptr, in_ids, modulator, modulated, readout_lo, readout_hi, spiked_ids, pop_spike_end, out_tick_ptr,
    out_ids, pop_model, pop_lo, pop_hi, pop_params, pop_is_neuron,
    v_mv, g_exc_mv, g_inh_mv, refractory_left, adaptation, fired, next_tick, log_keep, rng_state,
    pre_trace, post_trace, pre_decay, post_decay, pre_trace_slow, post_trace_slow, pre_decay_slow, post_decay_slow,
    trace_ranges, has_triplet, nearest,
    has_stp, stp_u, stp_x, stp_last_tick, stp_u_base, stp_decay_facil, stp_decay_rec, efficacy,
    proj_pre_lo, proj_pre_hi, proj_post_lo, proj_post_hi, proj_dense, proj_port, proj_rule, proj_rule_params,
    proj_row_off, proj_in_off, proj_delay,
    row_ptr, in_ptr, in_syn, syn_pre, syn_post, weight_mv, eligibility,
    ring_exc_mv, ring_inh_mv,
):
    """The tick loop of ``run_ticks`` on unpacked arrays (only ever called from there, by keyword)."""
    n_pops = pop_model.shape[0]
    n_proj = proj_port.shape[0]
    n_readout = readout_hi - readout_lo
    n_slots = ring_exc_mv.shape[0]
    has_traces = trace_ranges.shape[0] > 0
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
                lif_exact_integrate(v_mv, g_exc_mv, g_inh_mv, refractory_left, lo, hi, prm[P_V_REST], prm[P_V_RESET],
                                    prm[P_DECAY_MEM], prm[P_K_EXC], prm[P_K_INH], prm[P_DECAY_EXC], prm[P_DECAY_INH],
                                    prm[P_V_TH], fired)
                n_spiked = spikes_from_flags(fired, v_mv, refractory_left, lo, hi, prm[P_V_RESET],
                                             np.int32(prm[P_REFRACTORY]), spiked_ids, n_spiked)
            elif model == MODEL_ALIF:
                merge_ports(g_exc_mv, g_inh_mv, lo, hi)
                n_spiked = alif_step(v_mv, g_exc_mv, adaptation, refractory_left, lo, hi, prm[P_V_REST],
                                     prm[P_V_RESET], prm[P_V_TH], prm[P_DECAY_MEM], prm[P_K_EXC], prm[P_DECAY_EXC],
                                     prm[P_DECAY_ADAPT], prm[P_D_THETA], np.int32(prm[P_REFRACTORY]),
                                     spiked_ids, n_spiked)
            elif model == MODEL_LIF_ADAPT:
                merge_ports(g_exc_mv, g_inh_mv, lo, hi)
                n_spiked = lif_adapt_current_step(v_mv, g_exc_mv, adaptation, refractory_left, lo, hi,
                                                  prm[P_V_REST], prm[P_V_RESET], prm[P_V_TH], prm[P_DECAY_MEM],
                                                  prm[P_K_EXC], prm[P_K_ADAPT], prm[P_DECAY_EXC],
                                                  prm[P_DECAY_ADAPT], prm[P_D_W], np.int32(prm[P_REFRACTORY]),
                                                  spiked_ids, n_spiked)
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
            elif model == MODEL_INTEGRATE_FIRE:
                n_spiked = integrate_fire_step(v_mv, g_exc_mv, g_inh_mv, lo, hi, prm[P_V_TH] - prm[P_V_REST],
                                               prm[P_V_TH], spiked_ids, n_spiked)
            pop_spike_end[p] = n_spiked
        if has_traces:
            for r in range(trace_ranges.shape[0]):
                decay_range(pre_trace, pre_decay, trace_ranges[r, 0], trace_ranges[r, 1])
                decay_range(post_trace, post_decay, trace_ranges[r, 0], trace_ranges[r, 1])
                if has_triplet:
                    decay_range(pre_trace_slow, pre_decay_slow, trace_ranges[r, 0], trace_ranges[r, 1])
                    decay_range(post_trace_slow, post_decay_slow, trace_ranges[r, 0], trace_ranges[r, 1])
            for q in range(n_spiked):
                i = spiked_ids[q]
                pre_trace[i] = 1.0 if nearest else pre_trace[i] + 1.0
        if has_stp:
            stp_on_spikes(spiked_ids, n_spiked, tick, stp_last_tick, stp_u, stp_x, stp_u_base, stp_decay_facil,
                          stp_decay_rec, efficacy)
        for c in range(n_proj):
            d = proj_delay[c]
            slot = (tick + d) % n_slots
            if proj_port[c] == 0:
                target = g_exc_mv if d == 0 else ring_exc_mv[slot]
            else:
                target = g_inh_mv if d == 0 else ring_inh_mv[slot]
            propagate_projection(
                spiked_ids=spiked_ids, n_spiked=n_spiked, pre_lo=proj_pre_lo[c], pre_hi=proj_pre_hi[c],
                post_lo=proj_post_lo[c], dense=proj_dense[c], rule=proj_rule[c], prm=proj_rule_params[c],
                row0=proj_row_off[c], row_ptr=row_ptr, syn_post=syn_post, weight_mv=weight_mv,
                eligibility=eligibility, post_trace=post_trace, pre_trace_slow=pre_trace_slow,
                target=target, efficacy=efficacy, has_stp=has_stp, learn=learn)
        if n_slots > 1:
            drain_ring(ring_exc_mv, tick, g_exc_mv)
            drain_ring(ring_inh_mv, tick, g_inh_mv)
        if has_traces:
            for p in range(n_pops):
                if pop_is_neuron[p]:
                    start = 0 if p == 0 else pop_spike_end[p - 1]
                    for q in range(start, pop_spike_end[p]):
                        j = spiked_ids[q]
                        post_trace[j] = 1.0 if nearest else post_trace[j] + 1.0
        for c in range(n_proj):
            rule = proj_rule[c]
            if rule != RULE_NONE and rule != RULE_THIRD_FACTOR:
                postsynaptic_plasticity(
                    spiked_ids=spiked_ids, n_spiked=n_spiked, pre_lo=proj_pre_lo[c], pre_hi=proj_pre_hi[c],
                    post_lo=proj_post_lo[c], post_hi=proj_post_hi[c], rule=rule, prm=proj_rule_params[c],
                    col0=proj_in_off[c], dense=proj_dense[c], dense_s0=row_ptr[proj_row_off[c]], in_ptr=in_ptr,
                    in_syn=in_syn, syn_pre=syn_pre, weight_mv=weight_mv, eligibility=eligibility,
                    pre_trace=pre_trace, post_trace_slow=post_trace_slow, learn=learn)
            if rule == RULE_REWARD_STDP:
                r0 = proj_row_off[c]
                s0, s1 = row_ptr[r0], row_ptr[r0 + proj_pre_hi[c] - proj_pre_lo[c]]
                apply_dopamine(prm=proj_rule_params[c], s0=s0, s1=s1, weight_mv=weight_mv,
                               eligibility=eligibility, dopamine=dopamine, learn=learn)
            elif rule == RULE_THIRD_FACTOR:
                r0 = proj_row_off[c]
                s0, s1 = row_ptr[r0], row_ptr[r0 + proj_pre_hi[c] - proj_pre_lo[c]]
                apply_third_factor(prm=proj_rule_params[c], s0=s0, s1=s1, syn_post=syn_post, weight_mv=weight_mv,
                                   eligibility=eligibility, modulator=modulator, learn=learn and modulated)
        if has_triplet:
            for p in range(n_pops):
                start = 0 if p == 0 else pop_spike_end[p - 1]
                for q in range(start, pop_spike_end[p]):
                    pre_trace_slow[spiked_ids[q]] += 1.0
                    if pop_is_neuron[p]:
                        post_trace_slow[spiked_ids[q]] += 1.0
        for q in range(n_spiked):
            j = spiked_ids[q]
            if readout_lo <= j < readout_hi:
                out_ids[n_out] = j - readout_lo
                n_out += 1
        out_tick_ptr[k + 1] = n_out
    return n_ticks, n_out


@njit(cache=True)
def propagate_projection(spiked_ids, n_spiked, pre_lo, pre_hi, post_lo, dense, rule, prm, row0, row_ptr, syn_post,
                         weight_mv, eligibility, post_trace, pre_trace_slow, target, efficacy, has_stp, learn):
    """Spikes of a projection's presynaptic population (global ids pre_lo..pre_hi-1, rows from row0): add each
    weight (mV) to ``target`` (its port's input, or a delay ring's slot), then the presynaptic half of the rule,
    depressing by the positive magnitude a_minus (pair STDP: w -= a_minus * post_trace, clipped; triplet:
    w -= post_trace * (a2_minus + a3_minus * slow pre trace), clipped; reward STDP: eligibility -= a_minus *
    post_trace). With short-term plasticity each spike's weights are scaled by its efficacy u*x."""
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
            a_minus, w_min, w_max = prm[R_A_MINUS], prm[R_W_MIN], prm[R_W_MAX]
            for s in range(s0, s1):
                w = weight_mv[s] - a_minus * post_trace[syn_post[s]]
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
        elif rule == RULE_THIRD_FACTOR:
            a_pre = prm[R_A_PLUS]
            for s in range(s0, s1):
                eligibility[s] += a_pre


@njit(cache=True, fastmath=True)
def dense_row_add(target, weight_mv, s0, n, post_lo, scale):
    """A dense row (targets post_lo .. post_lo + n - 1 in order): target += w * scale, vectorised."""
    t0, w0 = np.uint64(post_lo), np.uint64(s0)
    for k in range(np.uint64(n)):
        target[t0 + k] += weight_mv[w0 + k] * scale


@njit(cache=True, fastmath=True)
def dense_row_pair_stdp(target, weight_mv, post_trace, s0, n, post_lo, a_minus, w_min, w_max, scale):
    """A dense row with pair STDP: target += w * scale, then w = clip(w - a_minus * post_trace), vectorised."""
    t0, w0 = np.uint64(post_lo), np.uint64(s0)
    for k in range(np.uint64(n)):
        w = weight_mv[w0 + k]
        target[t0 + k] += w * scale
        w -= a_minus * post_trace[t0 + k]
        weight_mv[w0 + k] = min(max(w, w_min), w_max)


@njit(cache=True)
def postsynaptic_plasticity(spiked_ids, n_spiked, pre_lo, pre_hi, post_lo, post_hi, rule, prm, col0, dense, dense_s0,
                            in_ptr, in_syn, syn_pre, weight_mv, eligibility, pre_trace, post_trace_slow, learn):
    """Postsynaptic half of a projection's rule for its spiking targets (pair STDP: w += a_plus * pre_trace;
    triplet: w += pre_trace * (a2_plus + a3_plus * slow post trace); both clipped; reward STDP:
    eligibility += a_plus * pre_trace). ``col0`` is its first column in in_ptr, ``dense_s0`` its first synapse."""
    a_plus, w_min, w_max = prm[R_A_PLUS], prm[R_W_MIN], prm[R_W_MAX]
    for q in range(n_spiked):
        j = spiked_ids[q]
        if j < post_lo or j >= post_hi:
            continue
        r = col0 + j - post_lo
        gain = a_plus + prm[R_A3_PLUS] * post_trace_slow[j] if rule == RULE_TRIPLET_STDP else a_plus
        if dense and rule != RULE_REWARD_STDP:
            if learn:
                dense_column_potentiate(weight_mv, pre_trace, dense_s0, post_hi - post_lo, j - post_lo, pre_lo,
                                        pre_hi - pre_lo, gain, w_min, w_max)
            continue
        for t in range(in_ptr[r], in_ptr[r + 1]):
            s = in_syn[t]
            if rule == RULE_REWARD_STDP:
                eligibility[s] += a_plus * pre_trace[syn_pre[s]]
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
def apply_dopamine(prm, s0, s1, weight_mv, eligibility, dopamine, learn):
    """Reward STDP on synapses s0..s1-1, every tick: w += learning_rate * dopamine * eligibility (clipped);
    eligibility decays."""
    rate, w_min, w_max, decay = prm[R_LEARNING_RATE], prm[R_W_MIN], prm[R_W_MAX], prm[R_ELIG_DECAY]
    for s in range(s0, s1):
        if learn:
            w = weight_mv[s] + rate * dopamine * eligibility[s]
            weight_mv[s] = min(max(w, w_min), w_max)
        eligibility[s] *= decay


@njit(cache=True)
def apply_third_factor(prm, s0, s1, syn_post, weight_mv, eligibility, modulator, learn):
    """ThirdFactorHebb on synapses s0..s1-1, every tick: w += learning_rate * modulator[post] * eligibility
    (clipped) when learning and modulated; the eligibility decays (not at all with an infinite time constant)."""
    rate, w_min, w_max, decay = prm[R_LEARNING_RATE], prm[R_W_MIN], prm[R_W_MAX], prm[R_ELIG_DECAY]
    if learn:
        for s in range(s0, s1):
            w = weight_mv[s] + rate * modulator[syn_post[s]] * eligibility[s]
            weight_mv[s] = min(max(w, w_min), w_max)
    if decay != 1.0:
        for s in range(s0, s1):
            eligibility[s] *= decay


@njit(cache=True)
def integrate_fire_step(v_mv, g_exc_mv, g_inh_mv, lo, hi, step_mv, v_th_mv, spiked_ids, n_spiked):
    """Non-leaky integrate-and-fire: v += exc + inh input (mV, consumed), then at most one spike per tick where
    v >= v_th_mv, with a subtractive reset v -= step_mv (threshold above rest), no refractory period."""
    for j in range(lo, hi):
        v = v_mv[j] + g_exc_mv[j] + g_inh_mv[j]
        g_exc_mv[j] = 0.0
        g_inh_mv[j] = 0.0
        if v >= v_th_mv:
            v -= step_mv
            spiked_ids[n_spiked] = j
            n_spiked += 1
        v_mv[j] = v
    return n_spiked
