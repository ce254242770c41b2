"""Spike-timing-dependent plasticity kernels: pair STDP and triplet STDP over the CSR synapse table.

One kernel per rule and event (pre or post), for any projection; per-neuron traces, per-synapse amplitudes and bounds.

Traces are per neuron and dimensionless. Each tick of ``dt`` the driver calls, in this order::

    decay_traces(trace, exp(-dt/tau))          for every trace              (snn.plasticity)
    <rule>_on_pre(pre spikers, ...)            depression, reads post traces of earlier ticks
    bump pre traces of the pre spikers         bump_traces (all-to-all: x += 1) or
                                               bump_traces_nearest (nearest spike: x = 1)
    <rule>_on_post(post spikers, ...)          potentiation, reads pre traces including this tick
    bump post traces of the post spikers

This is Brian2's order (``on_pre`` before ``on_post``), so a pre and a post spike in the same tick count as
pre-before-post (Δt = 0 potentiates by ``a_plus``, never depresses).

Pair STDP (additive, hard bounds; x_i pre trace with tau_plus, y_j post trace with tau_minus)::

    pre spike of i, every synapse s = (i, j):   w_s <- clip(w_s - a_minus_s * y_j, w_min_s, w_max_s)
    post spike of j, every synapse s = (i, j):  w_s <- clip(w_s + a_plus_s * x_i,  w_min_s, w_max_s)

With all-to-all traces a single pair at Δt = t_post - t_pre gives
Δw = a_plus e^{-Δt/τ+} for Δt >= 0 and Δw = -a_minus e^{Δt/τ-} for Δt < 0; with nearest-spike traces
(symmetric nearest-neighbour, Morrison et al. 2008) each spike pairs only with the latest spike of the
other side.

Triplet STDP (Pfister & Gerstner 2006; r1, r2 pre traces with τ+, τx; o1, o2 post traces with τ-, τy)::

    pre spike of i:   w_s <- clip(w_s - o1_j (A2-_s + A3-_s r2_i(t-ε)), w_min_s, w_max_s)
    post spike of j:  w_s <- clip(w_s + r1_i (A2+_s + A3+_s o2_j(t-ε)), w_min_s, w_max_s)

r2(t-ε) and o2(t-ε) are the values before the current spike's own bump, which the tick order above
guarantees. All-to-all traces give the paper's all-to-all model; its "minimal" model is A2+ = A3- = 0;
nearest-spike traces give its nearest-spike model.

Sign of the weights (Dale's law): every update is clipped into [w_min_mv[s], w_max_mv[s]], so a synapse
whose bounds are [0, w_max] stays excitatory and one with [-w_max, 0] stays inhibitory (``dale_bounds``
builds such bounds from the presynaptic sign). The amplitudes are added as given: to make causal pairing
strengthen an inhibitory synapse (more negative), give it negative amplitudes. ``clip_to_dale`` enforces
the sign of weights written by anything else (initialisation, restore, normalisation).

A synapse whose amplitudes for an event are all zero is not touched by that event (not even clipped), so
non-plastic synapses can share the table.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from snn.plasticity import bump_traces, decay_traces

__all__ = [
    "bump_traces", "bump_traces_nearest", "clip_to_dale", "dale_bounds", "decay_per_tick", "decay_traces",
    "stdp_on_post", "stdp_on_pre", "triplet_on_post", "triplet_on_pre",
]


def decay_per_tick(tau_ms, dt_ms: float):
    """Per-tick decay factor exp(-dt_ms / tau_ms) of a time constant (tau_ms = 0 gives 0, inf gives 1).

    Accepts a float or an array of time constants (ms); returns the same shape (a float for a float).
    """
    if not dt_ms > 0.0:
        raise ValueError(f"decay_per_tick: dt_ms must be > 0, got {dt_ms}")
    tau = np.asarray(tau_ms, dtype=np.float64)
    if np.any(np.isnan(tau)) or np.any(tau < 0.0):
        raise ValueError(f"decay_per_tick: tau_ms must be >= 0, got {tau_ms}")
    with np.errstate(divide="ignore"):
        out = np.exp(-dt_ms / tau)
    return float(out) if out.ndim == 0 else out


@njit(cache=True)
def bump_traces_nearest(trace: np.ndarray, spiked_ids: np.ndarray, n_spiked: int) -> None:
    """Nearest-spike interaction: set the trace of each neuron that spiked this tick to 1 (x <- 1)."""
    for k in range(n_spiked):
        trace[spiked_ids[k]] = 1.0


@njit(cache=True)
def stdp_on_pre(
    spiked_ids: np.ndarray,
    n_spiked: int,
    syn_ptr: np.ndarray,
    syn_post: np.ndarray,
    post_trace: np.ndarray,
    weight_mv: np.ndarray,
    a_minus_mv: np.ndarray,
    w_min_mv: np.ndarray,
    w_max_mv: np.ndarray,
) -> None:
    """Pair STDP depression: w_s <- clip(w_s - a_minus_mv[s] * post_trace[post], w_min_mv[s], w_max_mv[s]).

    Applied to every synapse s of every presynaptic spiker ``spiked_ids[:n_spiked]``
    (``syn_ptr[i]:syn_ptr[i+1]``); amplitudes and bounds in mV, traces dimensionless.
    """
    for k in range(n_spiked):
        i = spiked_ids[k]
        for s in range(syn_ptr[i], syn_ptr[i + 1]):
            if a_minus_mv[s] != 0.0:
                w = weight_mv[s] - a_minus_mv[s] * post_trace[syn_post[s]]
                weight_mv[s] = min(max(w, w_min_mv[s]), w_max_mv[s])


@njit(cache=True)
def stdp_on_post(
    spiked_ids: np.ndarray,
    n_spiked: int,
    in_ptr: np.ndarray,
    in_syn: np.ndarray,
    syn_pre: np.ndarray,
    pre_trace: np.ndarray,
    weight_mv: np.ndarray,
    a_plus_mv: np.ndarray,
    w_min_mv: np.ndarray,
    w_max_mv: np.ndarray,
) -> None:
    """Pair STDP potentiation: w_s <- clip(w_s + a_plus_mv[s] * pre_trace[pre], w_min_mv[s], w_max_mv[s]).

    Applied to every synapse onto every postsynaptic spiker (``in_syn[in_ptr[j]:in_ptr[j+1]]``).
    """
    for k in range(n_spiked):
        j = spiked_ids[k]
        for q in range(in_ptr[j], in_ptr[j + 1]):
            s = in_syn[q]
            if a_plus_mv[s] != 0.0:
                w = weight_mv[s] + a_plus_mv[s] * pre_trace[syn_pre[s]]
                weight_mv[s] = min(max(w, w_min_mv[s]), w_max_mv[s])


@njit(cache=True)
def triplet_on_pre(
    spiked_ids: np.ndarray,
    n_spiked: int,
    syn_ptr: np.ndarray,
    syn_post: np.ndarray,
    o1_trace: np.ndarray,
    r2_trace: np.ndarray,
    weight_mv: np.ndarray,
    a2_minus_mv: np.ndarray,
    a3_minus_mv: np.ndarray,
    w_min_mv: np.ndarray,
    w_max_mv: np.ndarray,
) -> None:
    """Triplet depression: w_s <- clip(w_s - o1[post] * (a2_minus_mv[s] + a3_minus_mv[s] * r2[pre])).

    Call before bumping the presynaptic r1, r2 traces of this tick (r2 is read at t - ε).
    """
    for k in range(n_spiked):
        i = spiked_ids[k]
        r2 = r2_trace[i]
        for s in range(syn_ptr[i], syn_ptr[i + 1]):
            if a2_minus_mv[s] != 0.0 or a3_minus_mv[s] != 0.0:
                w = weight_mv[s] - o1_trace[syn_post[s]] * (a2_minus_mv[s] + a3_minus_mv[s] * r2)
                weight_mv[s] = min(max(w, w_min_mv[s]), w_max_mv[s])


@njit(cache=True)
def triplet_on_post(
    spiked_ids: np.ndarray,
    n_spiked: int,
    in_ptr: np.ndarray,
    in_syn: np.ndarray,
    syn_pre: np.ndarray,
    r1_trace: np.ndarray,
    o2_trace: np.ndarray,
    weight_mv: np.ndarray,
    a2_plus_mv: np.ndarray,
    a3_plus_mv: np.ndarray,
    w_min_mv: np.ndarray,
    w_max_mv: np.ndarray,
) -> None:
    """Triplet potentiation: w_s <- clip(w_s + r1[pre] * (a2_plus_mv[s] + a3_plus_mv[s] * o2[post])).

    Call after bumping this tick's presynaptic traces and before bumping the postsynaptic o1, o2 traces
    (o2 is read at t - ε).
    """
    for k in range(n_spiked):
        j = spiked_ids[k]
        o2 = o2_trace[j]
        for q in range(in_ptr[j], in_ptr[j + 1]):
            s = in_syn[q]
            if a2_plus_mv[s] != 0.0 or a3_plus_mv[s] != 0.0:
                w = weight_mv[s] + r1_trace[syn_pre[s]] * (a2_plus_mv[s] + a3_plus_mv[s] * o2)
                weight_mv[s] = min(max(w, w_min_mv[s]), w_max_mv[s])


@njit(cache=True)
def clip_to_dale(syn_ptr: np.ndarray, pre_sign: np.ndarray, weight_mv: np.ndarray) -> None:
    """Clip each synapse to the sign of its presynaptic neuron (Dale's law).

    ``pre_sign[i]`` > 0: excitatory, w >= 0; < 0: inhibitory, w <= 0; 0: unconstrained.
    """
    for i in range(syn_ptr.shape[0] - 1):
        sign = pre_sign[i]
        if sign > 0:
            for s in range(syn_ptr[i], syn_ptr[i + 1]):
                if weight_mv[s] < 0.0:
                    weight_mv[s] = 0.0
        elif sign < 0:
            for s in range(syn_ptr[i], syn_ptr[i + 1]):
                if weight_mv[s] > 0.0:
                    weight_mv[s] = 0.0


def dale_bounds(syn_pre: np.ndarray, pre_sign: np.ndarray, w_abs_max_mv) -> tuple[np.ndarray, np.ndarray]:
    """Per-synapse (w_min_mv, w_max_mv) that keep each synapse on its presynaptic neuron's sign.

    Excitatory: [0, w_abs_max_mv]; inhibitory: [-w_abs_max_mv, 0]; sign 0: [-w_abs_max_mv, w_abs_max_mv].
    ``w_abs_max_mv`` is a scalar or a per-synapse array (mV, >= 0). Builds new arrays: call at load time.
    """
    w_abs = np.broadcast_to(np.asarray(w_abs_max_mv, dtype=np.float64), syn_pre.shape)
    if np.any(np.isnan(w_abs)) or np.any(w_abs < 0.0):
        raise ValueError(f"dale_bounds: w_abs_max_mv must be >= 0, got {w_abs_max_mv}")
    sign = np.asarray(pre_sign)[syn_pre]
    w_min_mv = np.where(sign > 0, 0.0, -w_abs)
    w_max_mv = np.where(sign < 0, 0.0, w_abs)
    return w_min_mv, w_max_mv
