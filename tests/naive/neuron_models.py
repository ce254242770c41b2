"""Plain-Python references for snn.engine.neuron_models: one neuron at a time, Python floats, one pass per neuron.

Each function updates the given lists in place for neurons lo..hi-1 and returns the ids that fired, in index
order. Neurons are independent, so "integrate, then threshold" per neuron equals the kernels' two loops.
"""
from __future__ import annotations

import math


def _hold_or(v_free: float, v_reset: float, refractory_left: list, j: int) -> float:
    """Refractory neurons are held at v_reset and count down; others take the integrated value."""
    if refractory_left[j] > 0:
        refractory_left[j] -= 1
        return v_reset
    return v_free


def lif_cond_step_ref(v, g_exc, g_inh, refractory_left, lo, hi, v_rest, v_reset, v_th, e_exc, e_inh, dt_ms,
                      tau_mem_ms, decay_exc, decay_inh, refractory_ticks) -> list[int]:
    fired = []
    for j in range(lo, hi):
        g_total = 1.0 + g_exc[j] + g_inh[j]
        v_inf = (v_rest + g_exc[j] * e_exc + g_inh[j] * e_inh) / g_total
        v_free = v_inf + (v[j] - v_inf) * math.exp(-(dt_ms / tau_mem_ms) * g_total)
        v[j] = _hold_or(v_free, v_reset, refractory_left, j)
        g_exc[j] *= decay_exc
        g_inh[j] *= decay_inh
        if v[j] >= v_th:
            fired.append(j)
            v[j] = v_reset
            refractory_left[j] = refractory_ticks
    return fired


def alif_step_ref(v, i_syn, theta, refractory_left, lo, hi, v_rest, v_reset, v_th, decay_mem, k_syn, decay_syn,
                  decay_adapt, d_theta, refractory_ticks) -> list[int]:
    fired = []
    for j in range(lo, hi):
        v_free = v_rest + (v[j] - v_rest) * decay_mem + k_syn * i_syn[j]
        v[j] = _hold_or(v_free, v_reset, refractory_left, j)
        i_syn[j] *= decay_syn
        theta[j] *= decay_adapt
        if v[j] >= v_th + theta[j]:
            fired.append(j)
            v[j] = v_reset
            refractory_left[j] = refractory_ticks
            theta[j] += d_theta
    return fired


def lif_adapt_current_step_ref(v, i_syn, w, refractory_left, lo, hi, v_rest, v_reset, v_th, decay_mem, k_syn, k_w,
                               decay_syn, decay_w, d_w, refractory_ticks) -> list[int]:
    fired = []
    for j in range(lo, hi):
        v_free = v_rest + (v[j] - v_rest) * decay_mem + k_syn * i_syn[j] - k_w * w[j]
        v[j] = _hold_or(v_free, v_reset, refractory_left, j)
        i_syn[j] *= decay_syn
        w[j] *= decay_w
        if v[j] >= v_th:
            fired.append(j)
            v[j] = v_reset
            refractory_left[j] = refractory_ticks
            w[j] += d_w
    return fired


def izhikevich_step_ref(v, u, i_syn, lo, hi, a, b, c, d, dt_ms, substeps) -> list[int]:
    """v: `substeps` Euler steps of dt/substeps with u frozen (none once v >= 30); u: one step with the new v."""
    fired = []
    h = dt_ms / substeps
    for j in range(lo, hi):
        for _ in range(substeps):
            if v[j] < 30.0:
                v[j] = v[j] + h * (0.04 * v[j] * v[j] + 5.0 * v[j] + 140.0 - u[j] + i_syn[j])
        u[j] = u[j] + dt_ms * a * (b * v[j] - u[j])
        if v[j] >= 30.0:
            fired.append(j)
            v[j] = c
            u[j] = u[j] + d
    return fired
