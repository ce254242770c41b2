"""Integer synaptic delays through a ring buffer of future synaptic input, one row per tick in flight.

``deliver_delayed`` writes each spike's weights into the slot of its arrival tick; ``drain_ring`` moves
one slot into the input.

Timing. Each tick t the driver calls, after the neuron update has produced ``spiked_ids``::

    deliver_delayed(spiked_ids, ..., delay_ticks, ring_mv, t)    # ring[(t + d_s) % n_slots, post_s] += w_s
    drain_ring(ring_mv, t, i_syn_mv)                             # i_syn += ring[t % n_slots]; slot <- 0

Delay d therefore lands in ``i_syn_mv`` in the drain of tick t + d. **Delay 0 arrives in the same tick's
drain**, i.e. exactly where ``snn.synapses.propagate`` puts it (the input the neurons integrate at their
next update), and delay d arrives d ticks after that. The ring needs n_slots = max_delay + 1 rows
(``n_ring_slots``): slots t..t+max_delay are in flight, and slot t is emptied before tick t + 1 writes
slot t + 1 + max_delay, which is the same row.

Delays are per synapse (any integer dtype; int16 covers 32767 ticks); a per-projection delay is the same
value for all its synapses. ``ring_mv`` has shape (n_slots, n_neurons) over the same neuron ids as
``syn_post``.
"""
from __future__ import annotations

import numpy as np
from numba import njit


def n_ring_slots(delay_ticks: np.ndarray) -> int:
    """Rows the ring buffer needs for these per-synapse delays: max(delay_ticks) + 1 (1 if none)."""
    delay_ticks = np.asarray(delay_ticks)
    if delay_ticks.dtype.kind not in "iu":
        raise ValueError(f"n_ring_slots: delay_ticks must be integers, got dtype {delay_ticks.dtype}")
    if delay_ticks.size == 0:
        return 1
    lowest = int(delay_ticks.min())
    if lowest < 0:
        raise ValueError(f"n_ring_slots: delay_ticks must be >= 0, got {lowest}")
    return int(delay_ticks.max()) + 1


@njit(cache=True)
def deliver_delayed(
    spiked_ids: np.ndarray,
    n_spiked: int,
    syn_ptr: np.ndarray,
    syn_post: np.ndarray,
    weight_mv: np.ndarray,
    delay_ticks: np.ndarray,
    ring_mv: np.ndarray,
    tick: int,
) -> None:
    """ring_mv[(tick + delay_ticks[s]) % n_slots, syn_post[s]] += weight_mv[s] for every synapse of every spiker.

    Requires 0 <= delay_ticks[s] < n_slots = ring_mv.shape[0] (checked by the driver, see ``n_ring_slots``).
    """
    n_slots = ring_mv.shape[0]
    for k in range(n_spiked):
        i = spiked_ids[k]
        for s in range(syn_ptr[i], syn_ptr[i + 1]):
            ring_mv[(tick + delay_ticks[s]) % n_slots, syn_post[s]] += weight_mv[s]


@njit(cache=True)
def deliver_delayed_scaled(
    spiked_ids: np.ndarray,
    n_spiked: int,
    syn_ptr: np.ndarray,
    syn_post: np.ndarray,
    weight_mv: np.ndarray,
    efficacy: np.ndarray,
    delay_ticks: np.ndarray,
    ring_mv: np.ndarray,
    tick: int,
) -> None:
    """As ``deliver_delayed`` with each weight scaled by its presynaptic neuron's efficacy (STP, ``snn.stp``).

    ring_mv[(tick + delay_ticks[s]) % n_slots, syn_post[s]] += efficacy[i] * weight_mv[s].
    """
    n_slots = ring_mv.shape[0]
    for k in range(n_spiked):
        i = spiked_ids[k]
        e = efficacy[i]
        for s in range(syn_ptr[i], syn_ptr[i + 1]):
            ring_mv[(tick + delay_ticks[s]) % n_slots, syn_post[s]] += e * weight_mv[s]


@njit(cache=True)
def drain_ring(ring_mv: np.ndarray, tick: int, target_mv: np.ndarray) -> None:
    """target_mv += ring_mv[tick % n_slots], then zero that slot (it becomes tick + n_slots's slot)."""
    slot = tick % ring_mv.shape[0]
    for j in range(ring_mv.shape[1]):
        target_mv[j] += ring_mv[slot, j]
        ring_mv[slot, j] = 0.0
