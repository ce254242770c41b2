"""Quantisation: a CompiledNetwork's physical parameters (mV, per-tick decays) -> the integers of a fixed-point core.

Integer voltages are measured from a reference potential ``v_ref_mv``: v_int = round((v_mv - v_ref_mv) *
v_scale), one ``v_scale`` (integer units per mV) per population. The reference is rest, or the reset potential
when rest is not below threshold (W1's neurons rest above threshold): then the leak towards rest is a constant
``bias`` added every tick, (v_rest - v_ref) * (1 - decay) in integer units, as Loihi's bias current does.
Membrane noise (the reference's Gaussian of ``noise_mv``) becomes a uniform integer in [-noise, noise] with the
same standard deviation (noise = round(sqrt(3) * noise_mv * v_scale)) drawn from the core's generator, added to
v before the leak on non-refractory ticks: Loihi's noise is uniform too (nengo-loihi NoiseState). A projection's current u (exc or inh) holds its input's contribution to v, so a
weight w_mv becomes w_mv * k * v_scale(post) integer units (k the exact-integration gain of its port,
snn.engine.neuron_models.exact_synapse_gain), stored as an 8-bit mantissa times 2 ** (6 + exponent) with one
exponent per projection (HARDWARE.md "Constants an emulator should use", items 1-5).

Departure from Loihi, documented: each compartment has two currents, one per port (exc, inh), each with its
own decay; Loihi 1 has one. Supported kinds: ``input`` (host spikes, no compartment), ``poisson`` (one
compartment each, spiking from the core's integer RNG), ``lif``, ``alif`` (the reference merges its two ports
into one current, so both currents get the exc gain and decay; the threshold offset theta is an integer with a
12-bit decay and a jump per spike) and ``integrate_fire`` (gain 1: the input is added to v as it arrives).

Plastic projections: the weight exponent (and the population's v_scale) also covers the rule's finite bounds
w_min_mv, w_max_mv; an infinite bound is taken as +-2x the weight that alone brings the target from rest to
threshold (so a learned weight can fire its neuron), and the rule's integer parameters come from
hw.emulator.learning.learning_params (pair, reward STDP and ThirdFactorHebb; triplet STDP is refused).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from hw.emulator.fixed_point import dendritic_input
from hw.emulator.learning import learning_params, tag_scale, trace_decay
from hw.emulator.profile import CoreProfile
from snn.codes import (
    MODEL_ALIF, MODEL_INPUT, MODEL_INTEGRATE_FIRE, MODEL_LIF, MODEL_POISSON, P_D_THETA, P_DECAY_ADAPT, P_DECAY_EXC,
    P_DECAY_INH, P_DECAY_MEM, P_K_EXC, P_K_INH, P_NOISE, P_REFRACTORY, P_V_RESET, P_V_REST, P_V_TH, R_W_MAX, R_W_MIN,
    RULE_NONE, RULE_TRIPLET_STDP,
)
from snn.compile import CompiledNetwork

SUPPORTED_KINDS = ("input", "poisson", "lif", "alif", "integrate_fire")
COMPARTMENT_MODELS = (MODEL_LIF, MODEL_ALIF, MODEL_INTEGRATE_FIRE)
UNBOUNDED_WEIGHT_RANGE = 2.0
"""An infinite learning bound is taken as this many times the weight that alone brings the target from rest to
threshold."""
VTH_TARGET_BITS = 20
"""The largest of |threshold|, |reset| and |initial potential| (from rest) is scaled to 2**20: the threshold
mantissa keeps 14 of its 17 bits and v has 2**3 of headroom below the 24-bit saturation (our choice)."""
INTEGRATOR_VTH_TARGET_BITS = 14
"""integrate_fire cells do not leak: their potential can build up to many thresholds within one presentation
(the word network judges the summed drive), so their threshold maps to 2**14, leaving 2**9 thresholds of
headroom below the 24-bit saturation; the 8-bit weights keep their relative precision either way."""
POISSON_P_BITS = 32
"""A Poisson compartment spikes when the top 32 bits of its xorshift draw are below round(p * 2**32)."""


@dataclass(frozen=True)
class QuantizedNetwork:
    """Integer parameters of a network on one profile's cores (arrays per population, projection or synapse).

    Per population: ``v_scale`` (integer units per mV; 0 for input and Poisson), ``vth`` (vth_mant <<
    vth_shift), ``v_reset`` and ``v_init`` (integers from rest), ``dv``, ``du_exc``, ``du_inh`` (12-bit decay
    constants; the currents are decayed with offset 1), ``refractory`` (ticks). Per neuron: ``poisson_p``
    (spike probability * 2**32). Per projection: ``w_scale`` (integer units of u per mV of weight), ``w_exp``
    and ``weight_rel_error`` (max over nonzero synapses of |w_effective - w| / |w|). Per synapse (CSR order):
    ``w_mant`` (-256..255). alif, per population: ``d_adapt`` (12-bit) and ``theta_jump``. Learning:
    ``learn_params`` [projection, L_*] and ``tag_scale`` (tag units per unit of eligibility) per projection,
    ``pre_d`` and ``post_d`` (12-bit trace decays) per neuron (hw.emulator.learning). Per population:
    ``v_ref_mv`` (the potential of integer 0), ``bias`` (integer units added to v every tick) and ``noise``
    (amplitude of the uniform integer membrane noise; 0 for none)."""

    profile: CoreProfile
    v_scale: np.ndarray
    vth: np.ndarray
    v_reset: np.ndarray
    v_init: np.ndarray
    dv: np.ndarray
    du_exc: np.ndarray
    du_inh: np.ndarray
    refractory: np.ndarray
    poisson_p: np.ndarray
    w_scale: np.ndarray
    w_exp: np.ndarray
    w_mant: np.ndarray
    weight_rel_error: np.ndarray
    d_adapt: np.ndarray
    theta_jump: np.ndarray
    learn_params: np.ndarray
    tag_scale: np.ndarray
    pre_d: np.ndarray
    post_d: np.ndarray
    v_ref_mv: np.ndarray
    bias: np.ndarray
    noise: np.ndarray


def check_supported(net: CompiledNetwork, profile: CoreProfile) -> None:
    """ValueError (one line naming the population or projection) for what the core cannot represent:
    kinds other than input, poisson and lif; short-term plasticity; refractory periods over the profile's
    maximum; delays over its maximum; a threshold not above the reference potential (rest, or reset when rest
    is not below threshold)."""
    for p, pop in enumerate(net.spec.populations):
        owner = f"emulator ({profile.name}): population {pop.name!r}"
        if pop.kind not in SUPPORTED_KINDS:
            raise ValueError(f"{owner}: kind {pop.kind!r} is not supported by the core "
                             f"(supported: {', '.join(SUPPORTED_KINDS)})")
        if pop.stp is not None:
            raise ValueError(f"{owner}: short-term plasticity is not supported by the core")
        if net.pop_model[p] in COMPARTMENT_MODELS:
            prm = net.pop_params[p]
            if prm[P_REFRACTORY] > profile.refractory_max:
                raise ValueError(f"{owner}: refractory period of {int(prm[P_REFRACTORY])} ticks is more than the "
                                 f"core's {profile.refractory_max}")
            if not prm[P_V_TH] > reference_mv(prm):
                raise ValueError(f"{owner}: threshold {prm[P_V_TH]} mV must be above rest {prm[P_V_REST]} mV or "
                                 f"reset {prm[P_V_RESET]} mV")
    for c, proj in enumerate(net.spec.projections):
        if net.proj_rule[c] == RULE_TRIPLET_STDP:
            raise ValueError(f"emulator ({profile.name}): projection {proj.name!r}: triplet STDP is not a rule of the "
                             f"core's learning engine (pair STDP, reward STDP and ThirdFactorHebb are)")
        if net.proj_delay[c] > profile.delay_max:
            raise ValueError(f"emulator ({profile.name}): projection {proj.name!r}: delay of {int(net.proj_delay[c])} "
                             f"ticks is more than the core's {profile.delay_max}")


def reference_mv(prm: np.ndarray) -> float:
    """The potential integer 0 stands for: rest when it is below threshold, else the reset potential."""
    return float(prm[P_V_REST]) if prm[P_V_REST] < prm[P_V_TH] else float(prm[P_V_RESET])


def current_decay(decay_per_tick: float, profile: CoreProfile) -> int:
    """The 12-bit constant du of a current, decayed with offset 1: round(4096 * (1 - decay)) - 1 in 0..4095."""
    return int(min(max(round(profile.decay_one * (1.0 - decay_per_tick)) - 1, 0), profile.decay_one - 1))


def voltage_decay(decay_per_tick: float, profile: CoreProfile) -> int:
    """The 12-bit constant dv of a voltage (offset 0): round(4096 * (1 - decay)) in 0..4095."""
    return int(min(max(round(profile.decay_one * (1.0 - decay_per_tick)), 0), profile.decay_one - 1))


def quantize(net: CompiledNetwork, profile: CoreProfile) -> QuantizedNetwork:
    """Integer parameters for ``net`` on ``profile`` (see the module docstring); ValueError as
    ``check_supported``, naming the population or projection."""
    check_supported(net, profile)
    spec = net.spec
    n_pops, n_proj = len(spec.populations), len(spec.projections)
    k_port = np.zeros((n_pops, 2))
    post_pop = np.searchsorted(net.pop_lo, net.proj_post_lo, side="right") - 1
    v_scale = np.zeros(n_pops)
    vth, v_reset, dv, du_exc, du_inh, refractory = (np.zeros(n_pops, np.int64) for _ in range(6))
    v_init = np.zeros(net.n_neurons, np.int64)
    vth_max = profile.vth_mant_max << profile.vth_shift
    top_input = profile.weight_mant_max << (profile.weight_shift + profile.weight_exp_max)
    d_adapt, theta_jump = np.zeros(n_pops, np.int64), np.zeros(n_pops, np.int64)
    v_ref_mv, bias, noise = np.zeros(n_pops), np.zeros(n_pops, np.int64), np.zeros(n_pops, np.int64)
    for p, pop in enumerate(spec.populations):
        model = net.pop_model[p]
        if model not in COMPARTMENT_MODELS:
            continue
        prm = net.pop_params[p]
        v_ref = reference_mv(prm)
        v_ref_mv[p] = v_ref
        k_port[p] = ((1.0, 1.0) if model == MODEL_INTEGRATE_FIRE else (prm[P_K_EXC], prm[P_K_EXC])
                     if model == MODEL_ALIF else (prm[P_K_EXC], prm[P_K_INH]))
        lo, hi = net.pop_lo[p], net.pop_hi[p]
        rel_init = net.v_init_mv[lo:hi] - v_ref
        extent = max(prm[P_V_TH] - v_ref, abs(prm[P_V_RESET] - v_ref), abs(prm[P_V_REST] - v_ref),
                     float(np.abs(rel_init).max(initial=0.0)))
        scale = float(1 << (INTEGRATOR_VTH_TARGET_BITS if model == MODEL_INTEGRATE_FIRE else VTH_TARGET_BITS)) / extent
        for c in np.flatnonzero(post_pop == p):  # the largest weight must fit one dendritic input
            gain = weight_range_mv(net, c, k_port[p, net.proj_port[c]]) * k_port[p, net.proj_port[c]]
            if gain > 0:
                scale = min(scale, top_input / gain)
        mant = round((prm[P_V_TH] - v_ref) * scale / (1 << profile.vth_shift))
        if mant < 1:
            raise ValueError(f"emulator ({profile.name}): population {pop.name!r}: its weights are too large for its "
                             f"threshold ({prm[P_V_TH] - v_ref} mV above {v_ref} mV) on a 17-bit mantissa")
        v_scale[p] = scale
        vth[p] = min(mant << profile.vth_shift, vth_max)
        v_reset[p] = round((prm[P_V_RESET] - v_ref) * scale)
        v_init[lo:hi] = np.round(rel_init * scale).astype(np.int64)
        if model == MODEL_INTEGRATE_FIRE:
            continue  # no decay (the currents are consumed each tick), no refractory period, subtractive reset
        dv[p] = voltage_decay(prm[P_DECAY_MEM], profile)
        bias[p] = round((prm[P_V_REST] - v_ref) * (1.0 - prm[P_DECAY_MEM]) * scale)
        if model == MODEL_LIF:
            noise[p] = round(math.sqrt(3.0) * prm[P_NOISE] * scale)
        du_exc[p], du_inh[p] = current_decay(prm[P_DECAY_EXC], profile), current_decay(prm[P_DECAY_INH], profile)
        refractory[p] = int(prm[P_REFRACTORY])
        if model == MODEL_ALIF:
            du_inh[p] = du_exc[p]
            d_adapt[p] = voltage_decay(prm[P_DECAY_ADAPT], profile)
            theta_jump[p] = round(prm[P_D_THETA] * scale)
    poisson_p = np.zeros(net.n_neurons, np.int64)
    for p in np.flatnonzero(net.pop_model == MODEL_POISSON):
        lo, hi = net.pop_lo[p], net.pop_hi[p]
        prob = -np.expm1(net.log_keep[lo:hi])
        poisson_p[lo:hi] = np.round(prob * float(1 << POISSON_P_BITS)).astype(np.int64)
    w_scale = np.array([k_port[post_pop[c], net.proj_port[c]] * v_scale[post_pop[c]] for c in range(n_proj)])
    w_exp = np.zeros(n_proj, np.int64)
    w_mant = np.zeros(net.n_synapses, np.int64)
    rel_error = np.zeros(n_proj)
    for c in range(n_proj):
        sl = slice(net.proj_syn_lo[c], net.proj_syn_hi[c])
        w_int = net.weight_mv[sl] * w_scale[c]
        k = k_port[post_pop[c], net.proj_port[c]]
        w_exp[c] = weight_exponent(weight_range_mv(net, c, k) * w_scale[c], profile)
        w_mant[sl] = weight_mantissa(w_int, int(w_exp[c]), profile)
        rel_error[c] = weight_rel_error(net.weight_mv[sl], effective_weight_mv(w_mant[sl], int(w_exp[c]), w_scale[c]))
    learn_params = np.stack([learning_params(int(net.proj_rule[c]), net.proj_rule_params[c], float(w_scale[c]),
                                             int(w_exp[c]), profile.weight_shift, profile.weight_mant_max)
                             for c in range(n_proj)]) if n_proj else np.zeros((0, 8), np.int64)
    tags = np.array([tag_scale(int(net.proj_rule[c]), net.proj_rule_params[c]) for c in range(n_proj)])
    pre_d = np.array([trace_decay(x) for x in net.pre_decay], dtype=np.int64)
    post_d = np.array([trace_decay(x) for x in net.post_decay], dtype=np.int64)
    return QuantizedNetwork(profile, v_scale, vth, v_reset, v_init, dv, du_exc, du_inh, refractory, poisson_p,
                            w_scale, w_exp, w_mant, rel_error, d_adapt, theta_jump, learn_params, tags, pre_d, post_d,
                            v_ref_mv, bias, noise)


def weight_range_mv(net: CompiledNetwork, c: int, gain: float) -> float:
    """The largest |weight| (mV) projection c must represent: its synapses' and, when plastic, its rule's
    bounds (an infinite bound: UNBOUNDED_WEIGHT_RANGE x the weight that brings the target from rest to
    threshold through port gain ``gain``)."""
    biggest = float(np.abs(net.weight_mv[net.proj_syn_lo[c]:net.proj_syn_hi[c]]).max(initial=0.0))
    if net.proj_rule[c] == RULE_NONE:
        return biggest
    prm = net.proj_rule_params[c]
    post = int(np.searchsorted(net.pop_lo, net.proj_post_lo[c], side="right") - 1)
    pop = net.pop_params[post]
    for bound in (prm[R_W_MIN], prm[R_W_MAX]):
        if math.isfinite(bound):
            biggest = max(biggest, abs(bound))
        elif gain > 0:
            biggest = max(biggest, UNBOUNDED_WEIGHT_RANGE * (pop[P_V_TH] - reference_mv(pop)) / gain)
    return biggest


def weight_exponent(biggest_int: float, profile: CoreProfile) -> int:
    """The smallest exponent e in the profile's range with biggest_int / 2**(6 + e) <= 255 (the largest
    mantissa use), so the largest weight keeps all 8 bits."""
    if biggest_int <= 0:
        return profile.weight_exp_min
    need = math.ceil(math.log2(biggest_int / profile.weight_mant_max)) - profile.weight_shift
    return int(min(max(need, profile.weight_exp_min), profile.weight_exp_max))


def weight_mantissa(w_int: np.ndarray, exponent: int, profile: CoreProfile) -> np.ndarray:
    """round(w_int / 2**(6 + exponent)), clipped to -256..255 (nengo-loihi's stored range)."""
    mant = np.round(np.asarray(w_int, dtype=np.float64) / 2.0 ** (profile.weight_shift + exponent))
    return np.clip(mant, -(profile.weight_mant_max + 1), profile.weight_mant_max).astype(np.int64)


def effective_weight_mv(w_mant: np.ndarray, exponent: int, w_scale: float) -> np.ndarray:
    """The weight (mV) the core delivers: dendritic_input(mantissa, exponent) / w_scale."""
    delivered = np.empty(len(w_mant), dtype=np.int64)
    _delivered(np.asarray(w_mant, dtype=np.int64), np.int64(exponent), delivered)
    return delivered / w_scale if w_scale > 0 else np.zeros(len(w_mant))


def weight_rel_error(w_mv: np.ndarray, effective_mv: np.ndarray) -> float:
    """max |effective - w| / |w| over the nonzero weights (0 without any)."""
    nonzero = w_mv != 0
    if not nonzero.any():
        return 0.0
    return float(np.max(np.abs(effective_mv[nonzero] - w_mv[nonzero]) / np.abs(w_mv[nonzero])))


@njit(cache=True)
def _delivered(w_mant, exponent, out):
    for s in range(w_mant.shape[0]):
        out[s] = dendritic_input(w_mant[s], exponent)


def compartment_populations(net: CompiledNetwork) -> np.ndarray:
    """Indices of the populations that occupy core compartments (all but the host's input)."""
    return np.flatnonzero(net.pop_model != MODEL_INPUT)
