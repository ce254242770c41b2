"""The core emulator's tick loops: one Numba call advances the whole network a block of ticks, in integers
(``run_int_ticks``, the fixed-point core) or in float64 with the same mapping and tick order (``run_float_ticks``).

Tick order (both modes; the reference engine's, snn.engine.kernel):
  1. populations in spec order: input spikes are copied; Poisson compartments spike; LIF compartments update
     v from the currents (a refractory one is held at its reset value and counts down), the currents decay,
     then v is tested against the threshold and a spiker is reset and made refractory (alif: the same with a
     decaying threshold offset that jumps at a spike; integrate_fire: v += the currents, which are consumed,
     spike iff v >= threshold, subtractive reset, no refractory period);
  2. learning traces decay, and every spike bumps its neuron's presynaptic trace;
  3. projections in spec order: each spike adds its synapses' weights to the target's exc or inh current
     (delay 0) or to the delay ring's slot for tick + delay, then the presynaptic half of the rule runs;
  4. the ring's slot for this tick is drained into the currents (felt from the next tick on, like delay 0);
  5. postsynaptic traces, the postsynaptic half of each rule, the reward / third-factor phase;
  6. the readout's spikes are written out.
Learning in integers: hw.emulator.learning (its weight update of reward and third-factor rules is once per
block, by the back end); in float: the reference's per-phase functions.
Integer mode: v <- saturate(decay_int(v, dv, 0) + u_exc + u_inh); u <- decay_int(u, du, 1); every addition to a
current (or a ring slot) is wrapped by wrap_current; spike iff v > vth (Loihi's and Lava's strict comparison,
vth = vth_mant << 6). Poisson compartments spike when the top 32 bits of an xorshift64* draw from the core's
seeded state are below p * 2**32. Float mode: the reference's exact-integration LIF, v >= v_th, and its Poisson
schedule and noise (snn.engine.kernel), so it reproduces the numba back end.

Counters: ``activity`` [ACT_*] per block; ``overflows`` [population, OVF_CURRENT | OVF_VOLTAGE]; strict mode
stops at the first overflow and fills ``fault`` [population, neuron (global id), variable, value, limit].
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from hw.emulator.fixed_point import decay_int, dendritic_input, saturate_voltage, wrap_current
from hw.emulator.lanes import COUNT_BITS, LANES, lif_lanes
from hw.emulator.learning import (
    bump_trace, int_decay_traces, int_post_plasticity, int_pre_plasticity, int_tag_tick,
)
from snn.codes import (
    MODEL_ALIF, MODEL_INPUT, MODEL_INTEGRATE_FIRE, MODEL_LIF, MODEL_POISSON, P_D_THETA, P_DECAY_ADAPT,
    P_DECAY_EXC, P_DECAY_INH, P_DECAY_MEM, P_K_EXC, P_K_INH, P_NOISE, P_REFRACTORY, P_V_RESET, P_V_REST, P_V_TH,
    RULE_NONE, RULE_PAIR_STDP, RULE_REWARD_STDP, RULE_THIRD_FACTOR,
)
from snn.engine.delays import drain_ring
from snn.engine.kernel import (
    apply_dopamine, apply_third_factor, decay_range, integrate_fire_step, lif_add_noise, merge_ports,
    poisson_spikes, postsynaptic_plasticity, propagate_projection,
)
from snn.engine.neuron_models import alif_step
from snn.rng import next_u64

ACT_SYNOPS, ACT_ACTIVE, ACT_IDLE, ACT_SPIKES, ACT_LEARN = range(5)
"""Activity counters: synaptic ops, active and idle compartment updates, compartment spikes, learning updates."""
N_ACTIVITY = 5
OVF_CURRENT, OVF_VOLTAGE = 0, 1
VAR_U_EXC, VAR_U_INH, VAR_V = 0, 1, 2
"""Fault variable codes: exc current, inh current, voltage."""
CURRENT_LIMIT = 1 << 23
VOLTAGE_LIMIT = (1 << 23) - 1

Cores = namedtuple("Cores", "model lo hi vth v_reset dv du_exc du_inh refractory d_adapt theta_jump bias noise")
"""Per population: model code, global id range [lo, hi), integer threshold, reset, decays, refractory ticks;
alif: the threshold offset's 12-bit decay and its jump per spike; the bias added to v every tick and the
amplitude of its uniform membrane noise (hw.emulator.quantize)."""

IntNeurons = namedtuple("IntNeurons", "v u_exc u_inh refractory_left poisson_p rng_state theta fired")
"""Per neuron: voltage and currents (int32 holding 24-bit values, integer units from rest), refractory ticks
left (int32), Poisson p * 2**32 (int64);
the core's xorshift state (uint64 [1]); alif's threshold offset (integer units); scratch spike flags (uint8,
zero between updates) of the vectorised LIF update."""
FloatNeurons = namedtuple("FloatNeurons", "params v_mv g_exc_mv g_inh_mv refractory_left next_tick log_keep rng_state "
                                           "adaptation")
"""Float mode: per-population parameter rows (snn.codes) and per-neuron state in mV, the Poisson schedule, the
alif threshold offset (mV)."""
FloatLearning = namedtuple("FloatLearning", "learn dopamine modulator modulated pre_trace post_trace pre_decay "
                                            "post_decay eligibility rule_params dense")
"""Float mode's learning: on, this block's dopamine and per-neuron third factor (modulated: any non-zero),
the reference's traces and decays (per neuron), eligibility (per synapse), rule rows, dense flags."""
Wiring = namedtuple("Wiring", "pre_lo pre_hi post_pop port delay row_off row_ptr syn_post")
"""Per projection: presynaptic range, target population, port (0 exc, 1 inh), delay, first CSR row; CSR."""
Io = namedtuple("Io", "in_tick_ptr in_ids readout_lo readout_hi spiked_ids out_tick_ptr out_ids")
"""One call's input (CSR per tick, global ids), readout range, scratch and output (CSR, readout-local ids)."""
Counters = namedtuple("Counters", "activity overflows fault strict")


@njit(cache=True)
def _count_overflow(counters, p, j, var, value, limit):
    """Count an overflow of population p; in strict mode record it in ``fault`` and return True (stop)."""
    return _record_overflow(counters.overflows, counters.fault, counters.strict, p, j, var, value, limit)


@njit(cache=True)
def _record_overflow(overflows, fault, strict, p, j, var, value, limit):
    """_count_overflow on the counters' arrays (the hot paths pass arrays, not the tuple: see run_int_ticks)."""
    overflows[p, OVF_VOLTAGE if var == VAR_V else OVF_CURRENT] += 1
    if strict and fault[0] < 0:
        fault[0], fault[1], fault[2] = p, j, var
        fault[3], fault[4] = value, limit
    return strict


@njit(cache=True, inline="always")
def _add_current(u, j, value, p, var, overflows, fault, strict):
    """u[j] <- wrap_current(u[j] + value), counting a wrap; True when strict mode must stop."""
    x = u[j] + value
    y = wrap_current(x)
    u[j] = y
    if y != x:
        return _record_overflow(overflows, fault, strict, p, j, var, x, CURRENT_LIMIT)
    return False


@njit(cache=True, inline="always")
def _noise(amplitude, rng_state):
    """A uniform integer in [-amplitude, amplitude] from the core's xorshift64* (no draw when amplitude is 0)."""
    if amplitude <= 0:
        return np.int64(0)
    return np.int64((next_u64(rng_state) >> np.uint64(11)) % np.uint64(2 * amplitude + 1)) - amplitude


@njit(cache=True, inline="always")
def _decay_exact(x, keep_fraction):
    """decay_int as one binary64 product: keep_fraction = (4096 - d - offset) / 4096 is a dyadic number, |x| <
    2**25, so x * keep_fraction (< 2**37) is exact, and the conversion back truncates toward zero, which is
    sign(x) * ((|x| * keep) >> 12). Three vector instructions where the integer form needs abs, multiply,
    shift, negate and select (tests/hw check it against decay_int)."""
    return np.int64(np.float64(x) * keep_fraction)


@njit(cache=True, _nrt=False)
def int_lif_vector(p, lo, hi, vth, v_reset, bias, dv, du_exc, du_inh, refractory, v, u_exc, u_inh, left, fired,
                   activity, overflows, spiked_ids, n_spiked):
    """int_lif_scalar's arithmetic (no noise, not strict) for compartments lo..hi-1 of population p: blocks of
    LANES (16) through hw.emulator.lanes.lif_lanes, the rest one by one; spikers are reset and made refractory in id
    order, voltage saturations and active updates counted. Returns the new spike count. Plain arrays and
    scalars, and no reference counting (``_nrt=False``: it allocates nothing): each array argument of a call
    is otherwise reference-counted, atomically, at every call."""
    keep_v, keep_e, keep_i = 4096 - dv, 4095 - du_exc, 4095 - du_inh
    top = np.int64(VOLTAGE_LIMIT)
    count_mask = (1 << COUNT_BITS) - 1
    saturated = active = 0
    j = lo
    while j + LANES <= hi:
        packed = lif_lanes(j, v, u_exc, u_inh, left, fired, np.float32(keep_v), np.float32(keep_e),
                           np.float32(keep_i), np.int32(bias), np.int32(vth), np.int32(v_reset), np.int32(top))
        active += packed & count_mask
        saturated += (packed >> COUNT_BITS) & count_mask
        if packed >> (2 * COUNT_BITS):
            for k in range(j, j + LANES):
                if fired[k]:
                    fired[k] = 0
                    left[k] = refractory
                    spiked_ids[n_spiked] = k
                    n_spiked += 1
        j += LANES
    for k in range(j, hi):
        vk, ue, ui, r = np.int64(v[k]), np.int64(u_exc[k]), np.int64(u_inh[k]), left[k]
        u_exc[k] = _decay_exact(ue, keep_e / 4096.0)
        u_inh[k] = _decay_exact(ui, keep_i / 4096.0)
        if r > 0:
            v[k] = v_reset
            left[k] = r - 1
        else:
            x = _decay_exact(vk, keep_v / 4096.0) + ue + ui + bias
            clipped = min(max(x, -top), top)
            saturated += 1 if clipped != x else 0
            active += 1 if (bias != 0 or (vk | ue | ui) != 0) else 0
            v[k] = clipped
            left[k] = 0
        if v[k] > vth:
            v[k] = v_reset
            left[k] = refractory
            spiked_ids[n_spiked] = k
            n_spiked += 1
    activity[ACT_ACTIVE] += active
    activity[ACT_IDLE] += (hi - lo) - active
    overflows[p, OVF_VOLTAGE] += saturated
    return n_spiked


@njit(cache=True)
def int_lif_scalar(cores, p, neurons, counters, spiked_ids, n_spiked, adaptive=False):
    """One tick of population p's integer LIF compartments, one compartment at a time (noise draws in id
    order, strict mode stopping at the first overflow); returns (new spike count, stop). ``adaptive``: alif,
    whose threshold offset theta decays with its 12-bit constant (offset 0) and jumps at a spike, the spike
    test then v > vth + theta (both currents decay with the exc constant: the reference merges the ports)."""
    lo, hi = cores.lo[p], cores.hi[p]
    vth, v_reset, dv = cores.vth[p], cores.v_reset[p], cores.dv[p]
    du_exc, du_inh, refractory = cores.du_exc[p], cores.du_inh[p], cores.refractory[p]
    bias, noise = cores.bias[p], cores.noise[p]
    d_adapt, jump = cores.d_adapt[p], cores.theta_jump[p]
    v, u_exc, u_inh, left, theta = neurons.v, neurons.u_exc, neurons.u_inh, neurons.refractory_left, neurons.theta
    activity = counters.activity
    for j in range(lo, hi):
        ue, ui, r = u_exc[j], u_inh[j], left[j]
        if r > 0:
            v_new = v_reset
            left[j] = r - 1
            activity[ACT_IDLE] += 1
        else:
            x = decay_int(v[j] + _noise(noise, neurons.rng_state), dv, np.int64(0)) + ue + ui + bias
            v_new = saturate_voltage(x)
            if v_new != x and _count_overflow(counters, p, j, VAR_V, x, VOLTAGE_LIMIT):
                return n_spiked, True
            activity[ACT_ACTIVE if (v[j] != 0 or ue != 0 or ui != 0 or bias != 0) else ACT_IDLE] += 1
        u_exc[j] = decay_int(ue, du_exc, np.int64(1))
        u_inh[j] = decay_int(ui, du_inh, np.int64(1))
        th = decay_int(theta[j], d_adapt, np.int64(0)) if adaptive else np.int64(0)
        if v_new > vth + th:
            v_new = v_reset
            left[j] = refractory
            th += jump
            spiked_ids[n_spiked] = j
            n_spiked += 1
        if adaptive:
            theta[j] = th
        v[j] = v_new
    return n_spiked, False


@njit(cache=True)
def int_poisson(lo, hi, poisson_p, rng_state, activity, spiked_ids, n_spiked):
    """Poisson compartments lo..hi-1: one xorshift64* draw each; spike when its top 32 bits < p * 2**32."""
    for j in range(lo, hi):
        activity[ACT_ACTIVE] += 1
        if np.int64(next_u64(rng_state) >> np.uint64(32)) < poisson_p[j]:
            spiked_ids[n_spiked] = j
            n_spiked += 1
    return n_spiked


@njit(cache=True, _nrt=False)
def int_deliver(p, var, exponent, pre_lo, pre_hi, row0, target, row_ptr, syn_post, w_mant, spiked_ids, n_spiked,
                activity, overflows, fault, strict):
    """One projection's spikes of this tick (presynaptic ids pre_lo..pre_hi-1, CSR rows from row0, target
    population p): dendritic_input(w_mant, exponent) into ``target`` (the post's current for delay 0, else its
    ring slot), wrapped; True on a strict-mode overflow. The presynaptic half of its rule is the caller's."""
    for q in range(n_spiked):
        i = spiked_ids[q]
        if i < pre_lo or i >= pre_hi:
            continue
        r = row0 + i - pre_lo
        activity[ACT_SYNOPS] += row_ptr[r + 1] - row_ptr[r]
        for s in range(np.uint64(row_ptr[r]), np.uint64(row_ptr[r + 1])):  # unsigned: no negative-index wrap
            if _add_current(target, np.uint64(syn_post[s]), dendritic_input(w_mant[s], exponent), p, var, overflows,
                            fault, strict):
                return True
    return False


@njit(cache=True)
def int_pre_phase(lrn, rules, c, pre_lo, pre_hi, row0, row_ptr, syn_post, w_mant, spiked_ids, n_spiked, rng_state,
                  activity):
    """The presynaptic half of projection c's rule (hw.emulator.learning) for each of this tick's spikes in id
    order, after their delivery (rows of different presynaptic neurons are disjoint, so this equals running it
    spike by spike within the delivery)."""
    for q in range(n_spiked):
        i = spiked_ids[q]
        if pre_lo <= i < pre_hi:
            r = row0 + i - pre_lo
            int_pre_plasticity(lrn, rules, c, row_ptr[r], row_ptr[r + 1], syn_post, w_mant, rng_state, activity,
                               ACT_LEARN)


@njit(cache=True)
def int_integrate_fire(cores, p, neurons, counters, spiked_ids, n_spiked):
    """One tick of a non-leaky integrate-and-fire population: v <- saturate(v + u_exc + u_inh), the currents are
    consumed (set to 0), spike iff v >= vth (the reference's test) with a subtractive reset v -= vth (vth is
    the threshold above rest), no refractory period; returns (new spike count, stop)."""
    lo, hi, vth = cores.lo[p], cores.hi[p], cores.vth[p]
    v, u_exc, u_inh, activity = neurons.v, neurons.u_exc, neurons.u_inh, counters.activity
    for j in range(lo, hi):
        ue, ui = u_exc[j], u_inh[j]
        x = v[j] + ue + ui
        v_new = saturate_voltage(x)
        if v_new != x and _count_overflow(counters, p, j, VAR_V, x, VOLTAGE_LIMIT):
            return n_spiked, True
        activity[ACT_ACTIVE if (v[j] != 0 or ue != 0 or ui != 0) else ACT_IDLE] += 1
        u_exc[j] = 0
        u_inh[j] = 0
        if v_new >= vth:
            v_new -= vth
            spiked_ids[n_spiked] = j
            n_spiked += 1
        v[j] = v_new
    return n_spiked, False


@njit(cache=True)
def int_drain(ring, tick, u, cores, var, counters):
    """u += ring[tick % slots] (wrapped, counted per population), then clear that slot; True on a strict stop."""
    slot = tick % ring.shape[0]
    row = ring[slot]
    for p in range(cores.model.shape[0]):
        if cores.model[p] == MODEL_INPUT or cores.model[p] == MODEL_POISSON:
            continue
        for j in range(cores.lo[p], cores.hi[p]):
            if row[j] != 0:
                value = row[j]
                row[j] = 0
                if _add_current(u, j, value, p, var, counters.overflows, counters.fault, counters.strict):
                    return True
    return False


@njit(cache=True, _nrt=False)
def write_readout(spiked_ids, n_spiked, readout_lo, readout_hi, out_ids, n_out):
    for q in range(n_spiked):
        j = spiked_ids[q]
        if readout_lo <= j < readout_hi:
            out_ids[n_out] = j - readout_lo
            n_out += 1
    return n_out


@njit(cache=True)
def input_spikes(io, k, spiked_ids, n_spiked):
    for q in range(io.in_tick_ptr[k], io.in_tick_ptr[k + 1]):
        spiked_ids[n_spiked] = io.in_ids[q]
        n_spiked += 1
    return n_spiked


@njit(cache=True)
def run_int_ticks(t_first, n_ticks, io, cores, neurons, wiring, w_exp, w_mant, ring_exc, ring_inh, counters, rules,
                  lrn):
    """Advance up to ``n_ticks`` integer ticks from global tick ``t_first``. Returns (ticks done, readout spikes,
    stopped): it stops at a tick boundary when ``io.out_ids`` might overflow, and mid-tick on a strict-mode
    overflow (stopped = True, ``counters.fault`` filled). Learning (hw.emulator.learning) runs in the
    reference's phases: traces after the populations, presynaptic halves with delivery, postsynaptic halves
    after the rings drain, then the tags' epoch sums and decay; the epoch's weight update is the caller's."""
    n_pops, n_proj = cores.model.shape[0], wiring.pre_lo.shape[0]
    # Arrays come out of their named tuples once, here: inside the tick loop every access to a tuple's member
    # (and every call taking a tuple) is reference-counted (atomic), ~1 us per W1 tick.
    spiked_ids, activity, overflows, fault, strict = io.spiked_ids, counters.activity, counters.overflows, \
        counters.fault, counters.strict
    model, lo, hi, noise = cores.model, cores.lo, cores.hi, cores.noise
    v, u_exc, u_inh, left, fired = neurons.v, neurons.u_exc, neurons.u_inh, neurons.refractory_left, neurons.fired
    rng_state = neurons.rng_state
    pre_lo, pre_hi, post_pop, port, delay = wiring.pre_lo, wiring.pre_hi, wiring.post_pop, wiring.port, wiring.delay
    row_off, row_ptr, syn_post = wiring.row_off, wiring.row_ptr, wiring.syn_post
    rule_of, pop_spike_end, is_neuron = rules.rule, rules.pop_spike_end, rules.is_neuron
    ranges = rules.trace_ranges
    has_traces = ranges.shape[0] > 0
    n_slots = ring_exc.shape[0]
    readout_lo, readout_hi, out_ids, out_tick_ptr = io.readout_lo, io.readout_hi, io.out_ids, io.out_tick_ptr
    n_readout = readout_hi - readout_lo
    n_out = 0
    out_tick_ptr[0] = 0
    for k in range(n_ticks):
        if n_out + n_readout > out_ids.shape[0]:
            return k, n_out, False
        tick = t_first + k
        n_spiked = 0
        for p in range(n_pops):
            start = n_spiked
            stop = False
            if model[p] == MODEL_INPUT:
                n_spiked = input_spikes(io, k, spiked_ids, n_spiked)
            elif model[p] == MODEL_POISSON:
                n_spiked = int_poisson(lo[p], hi[p], neurons.poisson_p, rng_state, activity, spiked_ids, n_spiked)
            elif model[p] == MODEL_LIF and noise[p] == 0 and not strict:
                n_spiked = int_lif_vector(p, lo[p], hi[p], cores.vth[p], cores.v_reset[p], cores.bias[p], cores.dv[p],
                                          cores.du_exc[p], cores.du_inh[p], cores.refractory[p], v, u_exc, u_inh,
                                          left, fired, activity, overflows, spiked_ids, n_spiked)
            elif model[p] == MODEL_LIF:
                n_spiked, stop = int_lif_scalar(cores, p, neurons, counters, spiked_ids, n_spiked)
            elif model[p] == MODEL_INTEGRATE_FIRE:
                n_spiked, stop = int_integrate_fire(cores, p, neurons, counters, spiked_ids, n_spiked)
            elif model[p] == MODEL_ALIF:
                n_spiked, stop = int_lif_scalar(cores, p, neurons, counters, spiked_ids, n_spiked, True)
            if stop:
                return k, n_out, True
            if model[p] != MODEL_INPUT:
                activity[ACT_SPIKES] += n_spiked - start
            pop_spike_end[p] = n_spiked
        if has_traces:
            for r in range(ranges.shape[0]):
                int_decay_traces(lrn.pre_trace, lrn.pre_d, ranges[r, 0], ranges[r, 1], rng_state)
                int_decay_traces(lrn.post_trace, lrn.post_d, ranges[r, 0], ranges[r, 1], rng_state)
            for q in range(n_spiked):
                bump_trace(lrn.pre_trace, spiked_ids[q], rules.nearest)
        for c in range(n_proj):
            var = VAR_U_INH if port[c] == 1 else VAR_U_EXC
            if delay[c] == 0:
                target = u_inh if port[c] == 1 else u_exc
            else:
                slot = (tick + delay[c]) % n_slots
                target = ring_inh[slot] if port[c] == 1 else ring_exc[slot]
            if int_deliver(post_pop[c], var, w_exp[c], pre_lo[c], pre_hi[c], row_off[c], target, row_ptr, syn_post,
                           w_mant, spiked_ids, n_spiked, activity, overflows, fault, strict):
                return k, n_out, True
            if rule_of[c] != RULE_NONE:
                int_pre_phase(lrn, rules, c, pre_lo[c], pre_hi[c], row_off[c], row_ptr, syn_post, w_mant, spiked_ids,
                              n_spiked, rng_state, activity)
        if n_slots > 1:
            if int_drain(ring_exc, tick, u_exc, cores, VAR_U_EXC, counters):
                return k, n_out, True
            if int_drain(ring_inh, tick, u_inh, cores, VAR_U_INH, counters):
                return k, n_out, True
        if has_traces:
            for p in range(n_pops):
                if is_neuron[p]:
                    for q in range(0 if p == 0 else pop_spike_end[p - 1], pop_spike_end[p]):
                        bump_trace(lrn.post_trace, spiked_ids[q], rules.nearest)
        for c in range(n_proj):
            rule = rule_of[c]
            if rule == RULE_NONE:
                continue
            int_post_plasticity(lrn, rules, c, spiked_ids, n_spiked, w_mant, rng_state, activity, ACT_LEARN)
            if rule == RULE_REWARD_STDP or rule == RULE_THIRD_FACTOR:
                r0 = row_off[c]
                int_tag_tick(lrn, c, row_ptr[r0], row_ptr[r0 + pre_hi[c] - pre_lo[c]], rng_state)
        n_out = write_readout(spiked_ids, n_spiked, readout_lo, readout_hi, out_ids, n_out)
        out_tick_ptr[k + 1] = n_out
    return n_ticks, n_out, False


@njit(cache=True)
def float_lif_update(prm, lo, hi, neurons, activity, spiked_ids, n_spiked):
    """One tick of a float LIF population, the reference's exact integration (snn.engine.neuron_models
    .lif_exact_integrate) with its threshold v >= v_th; noise first when the population has it."""
    v_mv, g_exc, g_inh, left = neurons.v_mv, neurons.g_exc_mv, neurons.g_inh_mv, neurons.refractory_left
    if prm[P_NOISE] > 0.0:
        lif_add_noise(v_mv, left, lo, hi, prm[P_NOISE], neurons.rng_state)
    v_rest, v_reset, v_th = prm[P_V_REST], prm[P_V_RESET], prm[P_V_TH]
    decay_mem, k_exc, k_inh = prm[P_DECAY_MEM], prm[P_K_EXC], prm[P_K_INH]
    decay_exc, decay_inh, refractory = prm[P_DECAY_EXC], prm[P_DECAY_INH], np.int64(prm[P_REFRACTORY])
    for j in range(lo, hi):
        ge, gi, r = g_exc[j], g_inh[j], left[j]
        if r > 0:
            v_new = v_reset
            left[j] = r - 1
            activity[ACT_IDLE] += 1
        else:
            activity[ACT_ACTIVE if (v_mv[j] != v_rest or ge != 0.0 or gi != 0.0) else ACT_IDLE] += 1
            v_new = v_rest + (v_mv[j] - v_rest) * decay_mem + k_exc * ge + k_inh * gi
        g_exc[j] = ge * decay_exc
        g_inh[j] = gi * decay_inh
        if v_new >= v_th:
            v_new = v_reset
            left[j] = refractory
            spiked_ids[n_spiked] = j
            n_spiked += 1
        v_mv[j] = v_new
    return n_spiked


@njit(cache=True)
def count_float_updates(prm, lo, hi, neurons, activity):
    """Active / idle counts of an integrate-and-fire or alif population before its update."""
    v_rest = prm[P_V_REST]
    for j in range(lo, hi):
        busy = neurons.v_mv[j] != v_rest or neurons.g_exc_mv[j] != 0.0 or neurons.g_inh_mv[j] != 0.0
        activity[ACT_ACTIVE if busy and neurons.refractory_left[j] == 0 else ACT_IDLE] += 1


@njit(cache=True)
def run_float_ticks(t_first, n_ticks, io, model, lo, hi, neurons, wiring, weight_mv, ring_exc, ring_inh, activity,
                    rules, flt):
    """Advance up to ``n_ticks`` float64 ticks from global tick ``t_first`` (same order as the integer loop,
    which is the reference's: snn.engine.kernel.tick_loop, whose per-phase functions this calls for delivery
    and learning); returns (ticks done, readout spikes), stopping at a tick boundary when ``io.out_ids`` might
    overflow."""
    n_pops, n_proj = model.shape[0], wiring.pre_lo.shape[0]
    spiked_ids = io.spiked_ids
    n_readout = io.readout_hi - io.readout_lo
    ranges = rules.trace_ranges
    has_traces = ranges.shape[0] > 0
    learn = flt.learn
    no_stp = np.ones(1)
    n_out = 0
    io.out_tick_ptr[0] = 0
    for k in range(n_ticks):
        if n_out + n_readout > io.out_ids.shape[0]:
            return k, n_out
        tick = t_first + k
        n_spiked = 0
        for p in range(n_pops):
            start = n_spiked
            prm = neurons.params[p]
            if model[p] == MODEL_INPUT:
                n_spiked = input_spikes(io, k, spiked_ids, n_spiked)
            elif model[p] == MODEL_POISSON:
                activity[ACT_ACTIVE] += hi[p] - lo[p]
                n_spiked = poisson_spikes(neurons.next_tick, neurons.log_keep, lo[p], hi[p], tick, neurons.rng_state,
                                          spiked_ids, n_spiked)
            elif model[p] == MODEL_LIF:
                n_spiked = float_lif_update(prm, lo[p], hi[p], neurons, activity, spiked_ids, n_spiked)
            elif model[p] == MODEL_INTEGRATE_FIRE:
                count_float_updates(prm, lo[p], hi[p], neurons, activity)
                n_spiked = integrate_fire_step(neurons.v_mv, neurons.g_exc_mv, neurons.g_inh_mv, lo[p], hi[p],
                                               prm[P_V_TH] - prm[P_V_REST], prm[P_V_TH], spiked_ids, n_spiked)
            elif model[p] == MODEL_ALIF:
                count_float_updates(prm, lo[p], hi[p], neurons, activity)
                merge_ports(neurons.g_exc_mv, neurons.g_inh_mv, lo[p], hi[p])
                n_spiked = alif_step(neurons.v_mv, neurons.g_exc_mv, neurons.adaptation, neurons.refractory_left,
                                     lo[p], hi[p], prm[P_V_REST], prm[P_V_RESET], prm[P_V_TH], prm[P_DECAY_MEM],
                                     prm[P_K_EXC], prm[P_DECAY_EXC], prm[P_DECAY_ADAPT], prm[P_D_THETA],
                                     np.int64(prm[P_REFRACTORY]), spiked_ids, n_spiked)
            if model[p] != MODEL_INPUT:
                activity[ACT_SPIKES] += n_spiked - start
            rules.pop_spike_end[p] = n_spiked
        if has_traces:
            for r in range(ranges.shape[0]):
                decay_range(flt.pre_trace, flt.pre_decay, ranges[r, 0], ranges[r, 1])
                decay_range(flt.post_trace, flt.post_decay, ranges[r, 0], ranges[r, 1])
            for q in range(n_spiked):
                i = spiked_ids[q]
                flt.pre_trace[i] = 1.0 if rules.nearest else flt.pre_trace[i] + 1.0
        for c in range(n_proj):
            d = wiring.delay[c]
            slot = (tick + d) % ring_exc.shape[0]
            if wiring.port[c] == 0:
                target = neurons.g_exc_mv if d == 0 else ring_exc[slot]
            else:
                target = neurons.g_inh_mv if d == 0 else ring_inh[slot]
            rule = rules.rule[c]
            pair = rule == RULE_PAIR_STDP and learn
            pre_lo, pre_hi, row0, row_ptr = wiring.pre_lo[c], wiring.pre_hi[c], wiring.row_off[c], wiring.row_ptr
            for q in range(n_spiked):
                i = spiked_ids[q]
                if pre_lo <= i < pre_hi:
                    n_row = row_ptr[row0 + i - pre_lo + 1] - row_ptr[row0 + i - pre_lo]
                    activity[ACT_SYNOPS] += n_row
                    if pair:
                        activity[ACT_LEARN] += n_row
            propagate_projection(spiked_ids, n_spiked, pre_lo, pre_hi, rules.post_lo[c], flt.dense[c], rule,
                                 flt.rule_params[c], row0, row_ptr, wiring.syn_post, weight_mv, flt.eligibility,
                                 flt.post_trace, flt.post_trace, target, no_stp, False, learn)
        if ring_exc.shape[0] > 1:
            drain_ring(ring_exc, tick, neurons.g_exc_mv)
            drain_ring(ring_inh, tick, neurons.g_inh_mv)
        if has_traces:
            for p in range(n_pops):
                if rules.is_neuron[p]:
                    for q in range(0 if p == 0 else rules.pop_spike_end[p - 1], rules.pop_spike_end[p]):
                        j = spiked_ids[q]
                        flt.post_trace[j] = 1.0 if rules.nearest else flt.post_trace[j] + 1.0
        for c in range(n_proj):
            rule = rules.rule[c]
            if rule == RULE_NONE:
                continue
            prm = flt.rule_params[c]
            r0 = wiring.row_off[c]
            s0, s1 = wiring.row_ptr[r0], wiring.row_ptr[r0 + wiring.pre_hi[c] - wiring.pre_lo[c]]
            if rule != RULE_THIRD_FACTOR:
                if rule == RULE_PAIR_STDP and learn:
                    for q in range(n_spiked):
                        j = spiked_ids[q]
                        if rules.post_lo[c] <= j < rules.post_hi[c]:
                            col = rules.in_off[c] + j - rules.post_lo[c]
                            activity[ACT_LEARN] += rules.in_ptr[col + 1] - rules.in_ptr[col]
                postsynaptic_plasticity(spiked_ids, n_spiked, wiring.pre_lo[c], wiring.pre_hi[c], rules.post_lo[c],
                                        rules.post_hi[c], rule, prm, rules.in_off[c], flt.dense[c], s0,
                                        rules.in_ptr, rules.in_syn, rules.syn_pre, weight_mv, flt.eligibility,
                                        flt.pre_trace, flt.post_trace, learn)
            if rule == RULE_REWARD_STDP:
                apply_dopamine(prm, s0, s1, weight_mv, flt.eligibility, flt.dopamine, learn)
            elif rule == RULE_THIRD_FACTOR:
                apply_third_factor(prm, s0, s1, wiring.syn_post, weight_mv, flt.eligibility, flt.modulator,
                                   learn and flt.modulated)
        n_out = write_readout(spiked_ids, n_spiked, io.readout_lo, io.readout_hi, io.out_ids, n_out)
        io.out_tick_ptr[k + 1] = n_out
    return n_ticks, n_out
