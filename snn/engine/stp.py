"""Short-term plasticity: Tsodyks–Markram depression and facilitation per presynaptic neuron, event-driven.

``stp_on_spikes`` gives each spike its efficacy u·x; the engine scales that spike's weights by it.

Model (Tsodyks, Pawelzik & Markram 1998; Markram, Wang & Tsodyks 1998), per presynaptic neuron i with
baseline utilisation U, facilitation time constant τf and recovery time constant τrec::

    between spikes:  du/dt = (U - u) / τf        dx/dt = (1 - x) / τrec
    at a spike:      efficacy = u · x            (u and x as they are just before the spike)
                     x <- x (1 - u)              (the released fraction u of the resources x is used up)
                     u <- u + U (1 - u)          (facilitation, after the release)

so the n-th spike of a train with intervals Δt_n has efficacy u_n x_n with u_1 = U, x_1 = 1 and::

    u_{n+1} = U + u_n (1 - U) e^{-Δt_n/τf}
    x_{n+1} = 1 + (x_n (1 - u_n) - 1) e^{-Δt_n/τrec}

For a regular train with interval T the stationary efficacy is u* x* with
u* = U / (1 - (1 - U) e^{-T/τf}) and x* = (1 - e^{-T/τrec}) / (1 - (1 - u*) e^{-T/τrec}).
τf -> 0 (decay factor 0) gives pure depression (u = U at every spike).

State is stored just after each neuron's last spike (``u``, ``x``, ``last_spike_tick``) and decayed
analytically when the next spike comes, so silent neurons cost nothing. Initial state: u = U, x = 1 and any
``last_spike_tick`` <= the first tick (the decay of a resting state is the identity).
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def stp_on_spikes(
    spiked_ids: np.ndarray,
    n_spiked: int,
    tick: int,
    last_spike_tick: np.ndarray,
    u: np.ndarray,
    x: np.ndarray,
    u_base: np.ndarray,
    decay_facil_per_tick: np.ndarray,
    decay_rec_per_tick: np.ndarray,
    efficacy: np.ndarray,
) -> None:
    """Write efficacy[i] = u·x for every presynaptic spiker i this tick, then apply its release.

    Parameters
    ----------
    spiked_ids, n_spiked : the presynaptic neurons spiking this tick, ``spiked_ids[:n_spiked]`` (each once).
    tick : the current tick (integer, same clock as ``last_spike_tick``).
    last_spike_tick : per neuron, tick of its last spike (int64); set to ``tick`` for the spikers.
    u, x : per neuron, utilisation and available resources just after the last spike (dimensionless, 0..1).
    u_base : per neuron, U (0..1), the resting utilisation and the facilitation increment.
    decay_facil_per_tick, decay_rec_per_tick : per neuron, exp(-dt/τf) and exp(-dt/τrec).
    efficacy : per neuron, out: u·x of this spike (dimensionless); entries of silent neurons are untouched.
    """
    for k in range(n_spiked):
        i = spiked_ids[k]
        elapsed = tick - last_spike_tick[i]
        u_now = u_base[i] + (u[i] - u_base[i]) * decay_facil_per_tick[i] ** elapsed
        x_now = 1.0 + (x[i] - 1.0) * decay_rec_per_tick[i] ** elapsed
        efficacy[i] = u_now * x_now
        x[i] = x_now - u_now * x_now
        u[i] = u_now + u_base[i] * (1.0 - u_now)
        last_spike_tick[i] = tick
