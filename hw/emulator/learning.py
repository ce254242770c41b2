"""On-chip learning of the integer core: a Loihi-style sum-of-products engine in integers (HARDWARE.md 1b, 1c,
"Constants an emulator should use" item 6), and its scaling from the float rules of snn.compile.

Integer formats and the tick order (the float reference's, snn.engine.kernel):

- traces: 7-bit unsigned per neuron (0..127). Every tick each traced neuron's trace decays with its 12-bit
  constant d = round(4096 * (1 - exp(-dt / tau))): x <- sr(x * (4096 - d) / 4096); a spike then adds
  ``TRACE_IMPULSE`` (16: a float trace of 1.0; ``nearest`` sets it to 16), saturating at 127 (a float 7.94;
  an impulse of 32 saturated at 3.97, which a 0.3-per-tick input with tau = 20 ticks exceeds, and learned
  ~40 % less than the float rule in tests/hw/test_emulator_learning.py; 16 keeps it within ~20 %).
- ``sr(num / 2**k)`` is stochastic rounding: floor(num / 2**k) plus 1 with probability (num mod 2**k) / 2**k,
  the Bernoulli taken as ``(next_u64 >> (64 - k)) < num mod 2**k`` from the core's seeded xorshift64* (the
  Poisson generator's), with one draw only when the remainder is not zero; unbiased for negative num too.
- pair STDP: on a presynaptic spike (after its weights are delivered) each of its synapses' mantissas
  w <- clip(w - sr(A_minus * y_post / 2**shift)), on a postsynaptic spike w <- clip(w + sr(A_plus * x_pre /
  2**shift)), clipped to the quantised [w_min, w_max]. A_plus, A_minus are 8-bit mantissas with one shift per
  projection: A / 2**shift = a_mv * w_scale / (16 * 2**(6 + w_exp)) (trace units -> weight-mantissa units; 16 = TRACE_IMPULSE).
- reward STDP: a 16-bit signed tag (eligibility) per synapse, saturating at +-32767: tag -= sr(A_minus * y_post
  / 2**7) on a presynaptic spike, tag += sr(A_plus * x_pre / 2**7) on a postsynaptic one, with the larger of
  a_plus, a_minus mapped to 255 (so one tag unit is 1 / ``tag_scale`` of the float eligibility, tag_scale =
  255 * 16 / (128 * max(a_plus, a_minus))); every tick the tag is summed into the synapse's epoch accumulator
  and then decays like a trace (12-bit constant from tau_eligibility_ms, stochastic rounding).
- ThirdFactorHebb: tag += 255 per presynaptic spike (tag_scale = 255 / a_pre), same decay and accumulator.
- the learning epoch is one block (one ``step``): the host broadcasts dopamine D as a signed 8-bit value,
  D = clip(round((reward - baseline) * 32), -127, 127) (the running baseline is the host's, in float, as the
  numba back end keeps it), or for ThirdFactorHebb an 8-bit third factor per postsynaptic neuron (Loihi 2's
  localized reward); at the end of the block every synapse of the projection is updated once:
  w <- clip(w + sr(D * acc * G / 2**G_shift)) and acc <- 0, with G an 8-bit mantissa:
  G / 2**G_shift = learning_rate * w_scale / (32 * tag_scale * 2**(6 + w_exp)). Because dopamine is constant
  over a block this equals the float rule's per-tick w += rate * dopamine * eligibility summed over the block,
  except that the weights change at the block's end instead of tick by tick (and clip once).
  Departure, documented: the epoch accumulator is int64 (Loihi's rule reads its 16-bit tag at the epoch's end).
- energy: one learning update per synapse touched per epoch: each pair-STDP synapse update, and every synapse
  of a reward or third-factor projection once per block while learning is on.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from snn.codes import (
    R_A_MINUS, R_A_PLUS, R_ELIG_DECAY, R_LEARNING_RATE, R_W_MAX, R_W_MIN, RULE_PAIR_STDP,
    RULE_REWARD_STDP, RULE_THIRD_FACTOR,
)
from snn.rng import next_u64

TRACE_MAX = 127
"""7-bit traces (D18 p.91)."""
TRACE_IMPULSE = 16
"""A spike adds 16 trace units: the float trace's 1.0 (so the trace saturates at 127 / 16 = 7.94)."""
TAG_MAX = 32767
"""16-bit signed tag (eligibility), saturating."""
AMP_MAX = 255
"""Rule amplitudes and the weight gain are 8-bit mantissas."""
TAG_SHIFT = 7
"""Reward STDP's tag increment is sr(A * trace / 2**7): at most 255 * 127 / 128 = 253 per spike."""
REWARD_SCALE = 32
"""Dopamine and the third factor are signed 8-bit: round(value * 32), clipped to +-127 (+-3.97)."""
REWARD_MAX = 127
MAX_SHIFT = 62

# columns of the per-projection integer rule table
L_A_PLUS, L_A_MINUS, L_AMP_SHIFT, L_W_MIN, L_W_MAX, L_G_MANT, L_G_SHIFT, L_TAG_DECAY = range(8)
N_LEARN_PARAMS = 8

Rules = namedtuple("Rules", "rule post_lo post_hi in_off in_ptr in_syn syn_pre trace_ranges nearest is_neuron "
                            "pop_spike_end")
"""Per projection: rule code, post range, first column in in_ptr; the incoming index; per neuron range the
traces run in; nearest-spike traces; per population: integrates (post traces), this tick's spike end."""
IntLearning = namedtuple("IntLearning", "learn pre_trace post_trace pre_d post_d tag acc params")
"""Integer learning state: learning on, 7-bit traces and their 12-bit decays (per neuron), tag and epoch
accumulator (per synapse), the per-projection integer table (L_* columns)."""


def trace_decay(decay_per_tick: float) -> int:
    """The 12-bit decay constant of a trace or tag: round(4096 * (1 - decay)) in 0..4095."""
    return int(min(max(round(4096.0 * (1.0 - decay_per_tick)), 0), 4095))


def mantissa_shift(values, limit: int = AMP_MAX) -> tuple[list[int], int]:
    """Non-negative ``values`` as integer mantissas <= limit sharing one shift: value ~ m / 2**shift, the
    largest getting the most bits (shift in -MAX_SHIFT..MAX_SHIFT)."""
    biggest = max(values)
    if not biggest > 0:
        return [0] * len(values), 0
    shift = int(min(max(math.floor(math.log2(limit / biggest)), -MAX_SHIFT), MAX_SHIFT))
    while shift > -MAX_SHIFT and round(biggest * 2.0 ** shift) > limit:
        shift -= 1
    return [int(min(round(v * 2.0 ** shift), limit)) for v in values], shift


def tag_scale(rule: int, prm: np.ndarray) -> float:
    """Tag units per unit of float eligibility (reward STDP and ThirdFactorHebb; 1 otherwise)."""
    if rule == RULE_REWARD_STDP:
        big = max(prm[R_A_PLUS], prm[R_A_MINUS])
        return AMP_MAX * TRACE_IMPULSE / ((1 << TAG_SHIFT) * big) if big > 0 else 1.0
    if rule == RULE_THIRD_FACTOR:
        return AMP_MAX / prm[R_A_PLUS] if prm[R_A_PLUS] > 0 else 1.0
    return 1.0


def learning_params(rule: int, prm: np.ndarray, w_scale: float, w_exp: int, weight_shift: int,
                    w_mant_max: int) -> np.ndarray:
    """One projection's integer rule row (L_* columns) from its float rule row (snn.codes R_*) and weight format."""
    row = np.zeros(N_LEARN_PARAMS, np.int64)
    unit = w_scale / 2.0 ** (weight_shift + w_exp)   # weight-mantissa units per mV
    lo, hi = -(w_mant_max + 1), w_mant_max
    bound = lambda mv: int(min(max(round(mv * unit), lo), hi)) if math.isfinite(mv) else (lo if mv < 0 else hi)  # noqa: E731
    row[L_W_MIN], row[L_W_MAX] = bound(prm[R_W_MIN]), bound(prm[R_W_MAX])
    if rule == RULE_PAIR_STDP:
        per_trace = unit / TRACE_IMPULSE
        (row[L_A_PLUS], row[L_A_MINUS]), row[L_AMP_SHIFT] = mantissa_shift([prm[R_A_PLUS] * per_trace,
                                                                           prm[R_A_MINUS] * per_trace])
    elif rule in (RULE_REWARD_STDP, RULE_THIRD_FACTOR):
        if rule == RULE_REWARD_STDP:
            big = max(prm[R_A_PLUS], prm[R_A_MINUS])
            if big > 0:
                row[L_A_PLUS] = round(prm[R_A_PLUS] / big * AMP_MAX)
                row[L_A_MINUS] = round(prm[R_A_MINUS] / big * AMP_MAX)
        else:
            row[L_A_PLUS] = AMP_MAX if prm[R_A_PLUS] > 0 else 0
        row[L_AMP_SHIFT] = TAG_SHIFT
        gain = prm[R_LEARNING_RATE] * unit / (REWARD_SCALE * tag_scale(rule, prm))
        (row[L_G_MANT],), shift = mantissa_shift([gain])
        row[L_G_SHIFT] = max(shift, 0)
        if shift < 0:   # a gain above 255: kept at the largest mantissa (documented saturation)
            row[L_G_MANT] = AMP_MAX
        row[L_TAG_DECAY] = trace_decay(prm[R_ELIG_DECAY])
    return row


def to_reward_int(value: float) -> int:
    """A dopamine or third-factor value as the signed 8-bit broadcast: clip(round(value * 32), -127, 127)."""
    return int(min(max(round(value * REWARD_SCALE), -REWARD_MAX), REWARD_MAX))


@njit(cache=True, inline="always")
def sr_shift(num, shift, rng_state):
    """Stochastic rounding of num / 2**shift (see the module docstring); num << -shift for shift <= 0."""
    if shift <= 0:
        return num << (-shift)
    q = num >> shift
    r = num - (q << shift)
    if r == 0:
        return q
    u = np.int64(next_u64(rng_state) >> np.uint64(64 - shift))
    return q + 1 if u < r else q


@njit(cache=True, inline="always")
def clip(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


@njit(cache=True)
def int_decay_traces(trace, decay, lo, hi, rng_state):
    """trace <- sr(trace * (4096 - d) / 4096) over lo..hi-1 (no draw where d is 0 or the trace is 0)."""
    for j in range(lo, hi):
        d = decay[j]
        if d != 0 and trace[j] != 0:
            trace[j] = sr_shift(trace[j] * (np.int64(4096) - d), np.int64(12), rng_state)


@njit(cache=True, inline="always")
def bump_trace(trace, j, nearest):
    if nearest:
        trace[j] = TRACE_IMPULSE
    else:
        trace[j] = min(trace[j] + TRACE_IMPULSE, TRACE_MAX)


@njit(cache=True)
def int_pre_plasticity(lrn, rules, c, s0, s1, syn_post, w_mant, rng_state, activity, act_learn):
    """The presynaptic half of projection c's rule for one spike's synapses s0..s1-1 (after delivery)."""
    rule = rules.rule[c]
    prm = lrn.params[c]
    if rule == RULE_PAIR_STDP:
        if not lrn.learn:
            return
        a, sh, lo, hi = prm[L_A_MINUS], prm[L_AMP_SHIFT], prm[L_W_MIN], prm[L_W_MAX]
        for s in range(s0, s1):
            w_mant[s] = clip(w_mant[s] - sr_shift(a * lrn.post_trace[syn_post[s]], sh, rng_state), lo, hi)
        activity[act_learn] += s1 - s0
    elif rule == RULE_REWARD_STDP:
        a = prm[L_A_MINUS]
        for s in range(s0, s1):
            lrn.tag[s] = clip(lrn.tag[s] - sr_shift(a * lrn.post_trace[syn_post[s]], np.int64(TAG_SHIFT),
                                                    rng_state), -TAG_MAX, TAG_MAX)
    elif rule == RULE_THIRD_FACTOR:
        a = prm[L_A_PLUS]
        for s in range(s0, s1):
            lrn.tag[s] = min(lrn.tag[s] + a, TAG_MAX)


@njit(cache=True)
def int_post_plasticity(lrn, rules, c, spiked_ids, n_spiked, w_mant, rng_state, activity, act_learn):
    """The postsynaptic half of projection c's rule (pair STDP: potentiate; reward STDP: tag) for this tick's
    spiking targets, each target's synapses in presynaptic order."""
    rule = rules.rule[c]
    if rule != RULE_PAIR_STDP and rule != RULE_REWARD_STDP:
        return
    if rule == RULE_PAIR_STDP and not lrn.learn:
        return
    prm = lrn.params[c]
    a, sh, lo, hi = prm[L_A_PLUS], prm[L_AMP_SHIFT], prm[L_W_MIN], prm[L_W_MAX]
    post_lo, post_hi, col0 = rules.post_lo[c], rules.post_hi[c], rules.in_off[c]
    in_ptr, in_syn, syn_pre = rules.in_ptr, rules.in_syn, rules.syn_pre
    for q in range(n_spiked):
        j = spiked_ids[q]
        if j < post_lo or j >= post_hi:
            continue
        r = col0 + j - post_lo
        for t in range(in_ptr[r], in_ptr[r + 1]):
            s = in_syn[t]
            x = lrn.pre_trace[syn_pre[s]]
            if rule == RULE_REWARD_STDP:
                lrn.tag[s] = clip(lrn.tag[s] + sr_shift(a * x, np.int64(TAG_SHIFT), rng_state), -TAG_MAX, TAG_MAX)
            else:
                w_mant[s] = clip(w_mant[s] + sr_shift(a * x, sh, rng_state), lo, hi)
        if rule == RULE_PAIR_STDP:
            activity[act_learn] += in_ptr[r + 1] - in_ptr[r]


@njit(cache=True)
def int_tag_tick(lrn, c, s0, s1, rng_state):
    """End of a tick for a reward or third-factor projection: acc += tag, then the tag decays."""
    d = lrn.params[c, L_TAG_DECAY]
    keep = np.int64(4096) - d
    for s in range(s0, s1):
        tag = lrn.tag[s]
        lrn.acc[s] += tag
        if d != 0 and tag != 0:
            lrn.tag[s] = sr_shift(tag * keep, np.int64(12), rng_state)


@njit(cache=True)
def int_apply_epoch(lrn, rule, params, s0, s1, syn_post, w_mant, dopamine, modulator, apply, rng_state):
    """End of the block (epoch) for one reward or third-factor projection: when ``apply``, every synapse's
    w <- clip(w + sr(factor * acc * G / 2**G_shift)) (factor = dopamine, or the post neuron's third factor);
    acc <- 0 always."""
    g, sh, lo, hi = params[L_G_MANT], params[L_G_SHIFT], params[L_W_MIN], params[L_W_MAX]
    for s in range(s0, s1):
        acc = lrn.acc[s]
        lrn.acc[s] = 0
        if not apply:
            continue
        factor = dopamine if rule == RULE_REWARD_STDP else modulator[syn_post[s]]
        num = factor * acc * g
        w_mant[s] = clip(w_mant[s] + (sr_shift(num, sh, rng_state) if num != 0 else np.int64(0)), lo, hi)
