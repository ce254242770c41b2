"""Neuron model kernels beyond the basic LIF: exact two-synapse LIF, conductance LIF, adaptive LIF, Izhikevich.

Every kernel updates neurons lo..hi-1 of float32 or float64 state arrays in place with scalar per-population
parameters, appends the ids that fire to ``spiked_ids`` from ``n_spiked`` and returns the new count.

Shared conventions
------------------
* One call advances one tick of ``dt``. The per-neuron update is a branch-free loop (selects only) so LLVM
  can vectorise it; a second, short loop applies the threshold, the reset and the refractory period.
  The update loops run over an unsigned index, which lets Numba drop its negative-index wraparound check;
  with a signed index that check alone stops LLVM from vectorising. ``0 <= lo <= hi`` is the caller's job.
* Order within a tick: integrate every neuron, then threshold and reset. A neuron that fires in tick n
  reports its spike in tick n and is held for ``refractory_ticks`` further ticks.
* Refractory neurons follow Brian2's ``(unless refractory)`` semantics: v is held at ``v_reset_mv`` and
  not integrated, while synaptic and adaptation variables keep decaying.
* ``spiked_ids`` must have room for ``n_spiked + (hi - lo)`` entries; entries before ``n_spiked`` are kept.
* Decay factors and gains are precomputed per population (``decay_factor``, ``exact_synapse_gain``).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

IZHIKEVICH_PEAK_MV = 30.0  # spike cut-off of the Izhikevich model (Izhikevich 2003)


def decay_factor(dt_ms: float, tau_ms: float) -> float:
    """exp(-dt/tau) for one tick; ``tau_ms = inf`` gives 1 (no decay)."""
    _check_positive("decay_factor.dt_ms", dt_ms, allow_inf=False)
    _check_positive("decay_factor.tau_ms", tau_ms, allow_inf=True)
    return math.exp(-dt_ms / tau_ms)


def exact_synapse_gain(dt_ms: float, tau_mem_ms: float, tau_syn_ms: float) -> float:
    r"""Gain k with which an exponentially decaying input g feeds v over one tick, integrated exactly.

    For :math:`\tau_m \dot v = g - v`, :math:`\tau_s \dot g = -g`, :math:`v(0) = 0`:

    .. math:: k = v(\Delta t)/g(0)
              = \frac{\tau_s}{\tau_s-\tau_m}\left(e^{-\Delta t/\tau_s} - e^{-\Delta t/\tau_m}\right)
              = \frac{\Delta t}{\tau_m} e^{-\Delta t/\tau_m}\,\frac{\operatorname{expm1}(x)}{x},
              \quad x = \frac{\Delta t}{\tau_m} - \frac{\Delta t}{\tau_s}.

    The second form has no cancellation as :math:`\tau_s \to \tau_m`, where it tends to the limit
    :math:`(\Delta t/\tau)e^{-\Delta t/\tau}`. ``tau_syn_ms = inf`` (a constant input) gives
    :math:`1 - e^{-\Delta t/\tau_m}`.
    """
    _check_positive("exact_synapse_gain.dt_ms", dt_ms, allow_inf=False)
    _check_positive("exact_synapse_gain.tau_mem_ms", tau_mem_ms, allow_inf=False)
    _check_positive("exact_synapse_gain.tau_syn_ms", tau_syn_ms, allow_inf=True)
    a = dt_ms / tau_mem_ms
    x = a - dt_ms / tau_syn_ms
    if x == 0.0:
        return a * math.exp(-a)
    if abs(x) > 0.5:  # well separated: the direct difference is accurate and cannot overflow
        return a * (math.exp(-dt_ms / tau_syn_ms) - math.exp(-a)) / x
    return a * math.exp(-a) * math.expm1(x) / x


def _check_positive(name: str, value: float, allow_inf: bool) -> None:
    if not (value > 0.0) or (math.isinf(value) and not allow_inf):
        kind = "> 0" if allow_inf else "finite and > 0"
        raise ValueError(f"{name}: must be {kind}, got {value!r}")


@njit(cache=True)
def _threshold_reset(v_mv, refractory_left, lo, hi, v_th_mv, v_reset_mv, refractory_ticks, spiked_ids, n_spiked):
    """Spike where v >= v_th (every model: reaching the threshold fires): record the id, reset v, start the
    refractory period."""
    for j in range(lo, hi):
        if v_mv[j] >= v_th_mv:
            spiked_ids[n_spiked] = j
            n_spiked += 1
            v_mv[j] = v_reset_mv
            refractory_left[j] = refractory_ticks
    return n_spiked


@njit(cache=True)
def lif_exact_integrate(v_mv, g_exc_mv, g_inh_mv, refractory_left, lo, hi, v_rest_mv, v_reset_mv, decay_mem,
                        k_exc, k_inh, decay_exc, decay_inh, v_th_mv=np.inf, fired=None):
    r"""Current-based LIF with two exponential inputs, integrated exactly over one tick (no reset here).

    .. math::
        \tau_m \dot v = g_e + g_i - (v - v_{rest}), \qquad \tau_x \dot g_x = -g_x

        v \leftarrow v_{rest} + (v - v_{rest})\,e^{-\Delta t/\tau_m} + k_e g_e + k_i g_i,
        \qquad g_x \leftarrow g_x e^{-\Delta t/\tau_x}

    with :math:`k_x` = ``exact_synapse_gain(dt, tau_mem, tau_x)``. A refractory neuron is held at v_reset_mv
    while its inputs decay. Branch-free, so it vectorises. With a ``fired`` array (uint8) it also flags each
    neuron with v >= v_th_mv after the update, so the engine finds the spikes without a second pass over the
    potentials (snn.engine.kernel.spikes_from_flags). The flags are not counted here: a running count
    narrows the vector loop (64-bit lanes), and the block scan that then reads every flag costs less.
    Units: mV for potentials and inputs, per-tick dimensionless coefficients."""
    for j in range(np.uint64(lo), np.uint64(hi)):
        ge = g_exc_mv[j]
        gi = g_inh_mv[j]
        r = refractory_left[j]
        v_free = v_rest_mv + (v_mv[j] - v_rest_mv) * decay_mem + k_exc * ge + k_inh * gi
        v_new = v_reset_mv if r > 0 else v_free
        v_mv[j] = v_new
        refractory_left[j] = r - 1 if r > 0 else 0
        g_exc_mv[j] = ge * decay_exc
        g_inh_mv[j] = gi * decay_inh
        if fired is not None:
            fired[j] = np.uint8(1) if v_new >= v_th_mv else np.uint8(0)


@njit(cache=True)
def lif_cond_step(v_mv, g_exc, g_inh, refractory_left, lo, hi, v_rest_mv, v_reset_mv, v_th_mv, e_exc_mv,
                  e_inh_mv, dt_ms, tau_mem_ms, decay_exc, decay_inh, refractory_ticks, spiked_ids, n_spiked):
    r"""Conductance-based LIF, exponential-Euler step over one tick.

    .. math::
        \tau_m \dot v = (v_{rest} - v) + g_e (E_e - v) + g_i (E_i - v), \qquad \tau_x \dot g_x = -g_x

    with g_e, g_i dimensionless (in units of the leak conductance). Exponential Euler freezes the
    conductances at their start-of-tick values; v is then linear with total conductance
    :math:`G = 1 + g_e + g_i` and is advanced exactly:

    .. math::
        v_\infty = \frac{v_{rest} + g_e E_e + g_i E_i}{G}, \qquad
        v \leftarrow v_\infty + (v - v_\infty)\,e^{-G\,\Delta t/\tau_m}, \qquad g_x \leftarrow g_x e^{-\Delta t/\tau_x}

    Exact for constant conductances, unconditionally stable, and the new v is a convex combination of v,
    v_rest, E_e and E_i, so v never leaves [E_inh, E_exc] when it and v_rest, v_reset start inside
    (conductances must be >= 0). Threshold (v >= v_th), reset and refractory hold as in ``lif_exact_integrate``.
    The per-neuron exp vectorises only where Numba has SVML; otherwise the loop runs scalar.

    Parameters
    ----------
    v_mv : mV. g_exc, g_inh : dimensionless conductances. refractory_left : int ticks.
    v_rest_mv, v_reset_mv, v_th_mv, e_exc_mv, e_inh_mv : mV. dt_ms, tau_mem_ms : ms.
    decay_exc, decay_inh : per-tick conductance decay factors. refractory_ticks : int.
    """
    rate = dt_ms / tau_mem_ms
    for j in range(np.uint64(lo), np.uint64(hi)):
        ge = g_exc[j]
        gi = g_inh[j]
        r = refractory_left[j]
        g_total = 1.0 + ge + gi
        v_inf = (v_rest_mv + ge * e_exc_mv + gi * e_inh_mv) / g_total
        v_free = v_inf + (v_mv[j] - v_inf) * np.exp(-rate * g_total)
        v_mv[j] = v_reset_mv if r > 0 else v_free
        refractory_left[j] = r - 1 if r > 0 else 0
        g_exc[j] = ge * decay_exc
        g_inh[j] = gi * decay_inh
    return _threshold_reset(v_mv, refractory_left, lo, hi, v_th_mv, v_reset_mv, refractory_ticks, spiked_ids,
                            n_spiked)


@njit(cache=True)
def alif_step(v_mv, i_syn_mv, theta_mv, refractory_left, lo, hi, v_rest_mv, v_reset_mv, v_th_mv, decay_mem,
              k_syn, decay_syn, decay_adapt, d_theta_mv, refractory_ticks, spiked_ids, n_spiked):
    r"""Adaptive-threshold LIF: exact LIF with one exponential synaptic input and a spike-triggered threshold.

    .. math::
        \tau_m \dot v = i - (v - v_{rest}), \quad \tau_s \dot i = -i, \quad \tau_a \dot\theta = -\theta,
        \qquad v \ge v_{th} + \theta \Rightarrow v \leftarrow v_{reset},\ \theta \leftarrow \theta + \Delta\theta

    Per tick: v as in ``lif_exact_integrate`` (gain ``k_syn = exact_synapse_gain(dt, tau_mem, tau_syn)``;
    ``tau_syn = inf`` with ``decay_syn = 1`` is a constant current), then i and theta decay, then the test
    against the decayed threshold, then the jump. theta decays during refractoriness too.

    Parameters
    ----------
    v_mv, i_syn_mv, theta_mv : mV (theta is the threshold offset above v_th_mv); refractory_left : int.
    v_rest_mv, v_reset_mv, v_th_mv, d_theta_mv : mV. decay_mem, k_syn, decay_syn,
    decay_adapt (= exp(-dt/tau_adapt_ms)) : per-tick coefficients. refractory_ticks : int.
    """
    for j in range(np.uint64(lo), np.uint64(hi)):
        i = i_syn_mv[j]
        r = refractory_left[j]
        v_free = v_rest_mv + (v_mv[j] - v_rest_mv) * decay_mem + k_syn * i
        v_mv[j] = v_reset_mv if r > 0 else v_free
        refractory_left[j] = r - 1 if r > 0 else 0
        i_syn_mv[j] = i * decay_syn
        theta_mv[j] = theta_mv[j] * decay_adapt
    for j in range(lo, hi):
        if v_mv[j] >= v_th_mv + theta_mv[j]:
            spiked_ids[n_spiked] = j
            n_spiked += 1
            v_mv[j] = v_reset_mv
            refractory_left[j] = refractory_ticks
            theta_mv[j] += d_theta_mv
    return n_spiked


@njit(cache=True)
def lif_adapt_current_step(v_mv, i_syn_mv, w_mv, refractory_left, lo, hi, v_rest_mv, v_reset_mv, v_th_mv,
                           decay_mem, k_syn, k_w, decay_syn, decay_w, d_w_mv, refractory_ticks, spiked_ids,
                           n_spiked):
    r"""LIF with a spike-frequency-adaptation current w (the adaptation part of AdEx without the exponential).

    .. math::
        \tau_m \dot v = i - w - (v - v_{rest}), \quad \tau_s \dot i = -i, \quad \tau_w \dot w = -w,
        \qquad v \ge v_{th} \Rightarrow v \leftarrow v_{reset},\ w \leftarrow w + b

    w (in mV, i.e. current times membrane resistance) decays exponentially between spikes, so it enters v
    exactly like an inhibitory synapse: v <- v_rest + (v - v_rest) decay_mem + k_syn i - k_w w with
    ``k_w = exact_synapse_gain(dt, tau_mem, tau_w)``; then i and w decay; then threshold, reset, w += d_w_mv.

    Parameters
    ----------
    v_mv, i_syn_mv, w_mv : mV; refractory_left : int. v_rest_mv, v_reset_mv, v_th_mv, d_w_mv (b) : mV.
    decay_mem, k_syn, k_w, decay_syn, decay_w : per-tick coefficients. refractory_ticks : int.
    """
    for j in range(np.uint64(lo), np.uint64(hi)):
        i = i_syn_mv[j]
        w = w_mv[j]
        r = refractory_left[j]
        v_free = v_rest_mv + (v_mv[j] - v_rest_mv) * decay_mem + k_syn * i - k_w * w
        v_mv[j] = v_reset_mv if r > 0 else v_free
        refractory_left[j] = r - 1 if r > 0 else 0
        i_syn_mv[j] = i * decay_syn
        w_mv[j] = w * decay_w
    for j in range(lo, hi):
        if v_mv[j] >= v_th_mv:
            spiked_ids[n_spiked] = j
            n_spiked += 1
            v_mv[j] = v_reset_mv
            refractory_left[j] = refractory_ticks
            w_mv[j] += d_w_mv
    return n_spiked


@njit(cache=True)
def izhikevich_step(v_mv, u, i_syn, lo, hi, a, b, c, d, dt_ms, substeps, spiked_ids, n_spiked):
    r"""Izhikevich (2003) neuron, one tick of ``dt_ms`` split into ``substeps`` Euler sub-steps for v.

    .. math::
        \dot v = 0.04 v^2 + 5 v + 140 - u + I, \qquad \dot u = a (b v - u),
        \qquad v \ge 30 \Rightarrow v \leftarrow c,\ u \leftarrow u + d

    (v in mV, t in ms, u and I in mV/ms). Numerics follow Izhikevich's published code: v takes
    ``substeps`` forward-Euler steps of h = dt/substeps with u frozen, then u takes one Euler step of dt
    using the new v. ``dt_ms=1, substeps=2`` is the 2003 network code (two 0.5 ms steps for v);
    ``dt_ms=0.25, substeps=1`` is the code of the 2004 figure ("Which model..."). One deviation: once v
    has reached the 30 mV peak it is not integrated further in later sub-steps, so the overshoot of the
    quadratic term cannot blow up (or overflow float32) and leak into u. ``i_syn`` is read, not changed.
    The firing patterns of the 2004 figure depend on the step: it uses 0.25 ms (0.2 ms for phasic bursting);
    at 0.25 ms phasic bursting turns into tonic bursting, for instance.

    Parameters
    ----------
    v_mv : mV; u : recovery variable (mV/ms); i_syn : input current (mV/ms) for this tick.
    a : recovery rate in 1/ms; b : sensitivity of u to v (1/ms); c : reset potential in mV;
    d : after-spike jump of u (mV/ms). dt_ms : tick in ms; substeps : int >= 1.
    """
    h = dt_ms / substeps
    for _ in range(substeps):
        for j in range(np.uint64(lo), np.uint64(hi)):
            v = v_mv[j]
            v_new = v + h * (0.04 * v * v + 5.0 * v + 140.0 - u[j] + i_syn[j])
            v_mv[j] = v if v >= IZHIKEVICH_PEAK_MV else v_new
    for j in range(np.uint64(lo), np.uint64(hi)):
        u[j] = u[j] + dt_ms * a * (b * v_mv[j] - u[j])
    for j in range(lo, hi):
        if v_mv[j] >= IZHIKEVICH_PEAK_MV:
            spiked_ids[n_spiked] = j
            n_spiked += 1
            v_mv[j] = c
            u[j] += d
    return n_spiked
