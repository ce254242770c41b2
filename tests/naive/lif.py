"""Plain-Python references for the LIF kernels the engine (snn.engine.kernel.run_ticks) runs per tick:
lif_add_noise, snn.engine.neuron_models.lif_exact_integrate and lif_threshold, and for the exact one-tick input gain.

Per tick, for neurons lo..hi-1 of one population (scalar parameters), in this order:
  noise:     v += noise * N(0, 1) for every neuron that is not refractory (refractory count 0), in index order.
  integrate: a refractory neuron is held at v_reset and counts down; any other neuron gets
             v <- v_rest + (v - v_rest) * decay_mem + g_exc * k_exc + g_inh * k_inh;
             then every neuron's inputs decay: g_x <- g_x * decay_x.
  threshold: v >= v_th -> v = v_reset, refractory count = refractory_ticks, the neuron spikes.
"""
from __future__ import annotations

import math


def exact_gain_ref(dt_ms: float, tau_mem_ms: float, tau_x_ms: float) -> float:
    """k_x = tau_x / (tau_x - tau_m) (e^{-dt/tau_x} - e^{-dt/tau_m}); dt/tau e^{-dt/tau} when the taus are equal."""
    decay_mem, decay_x = math.exp(-dt_ms / tau_mem_ms), math.exp(-dt_ms / tau_x_ms)
    if math.isclose(tau_mem_ms, tau_x_ms, rel_tol=1e-9):
        return dt_ms / tau_mem_ms * decay_mem
    return tau_x_ms / (tau_x_ms - tau_mem_ms) * (decay_x - decay_mem)


def lif_integrate_ref(v, g_exc, g_inh, refractory_left, lo: int, hi: int, v_rest: float, v_reset: float,
                      decay_mem: float, k_exc: float, k_inh: float, decay_exc: float, decay_inh: float) -> None:
    for j in range(lo, hi):
        if refractory_left[j] > 0:
            refractory_left[j] = refractory_left[j] - 1
            v[j] = v_reset
        else:
            v[j] = v_rest + (float(v[j]) - v_rest) * decay_mem + float(g_exc[j]) * k_exc + float(g_inh[j]) * k_inh
        g_exc[j] = float(g_exc[j]) * decay_exc
        g_inh[j] = float(g_inh[j]) * decay_inh


def lif_noise_ref(v, refractory_left, lo: int, hi: int, noise_mv: float, rng) -> None:
    """``rng`` is a naive.rng.XorShift64Star; one normal draw per non-refractory neuron, in index order."""
    for j in range(lo, hi):
        if refractory_left[j] == 0:
            v[j] = float(v[j]) + noise_mv * rng.next_normal()


def lif_threshold_ref(v, refractory_left, lo: int, hi: int, v_th: float, v_reset: float,
                      refractory_ticks: int) -> list[int]:
    """Return the ids that fired, in index order."""
    fired = []
    for j in range(lo, hi):
        if v[j] >= v_th:
            v[j] = v_reset
            refractory_left[j] = refractory_ticks
            fired.append(j)
    return fired
