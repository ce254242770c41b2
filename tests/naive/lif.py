"""Plain-Python reference for snn.neurons.lif_step: one neuron at a time, Python floats.

v <- v_rest + i + (v - v_rest - i) * decay_mem, plus noise * N(0, 1), threshold, reset, refractory hold;
then i_syn <- i_syn * decay_syn for every neuron (refractory or not).
"""
from __future__ import annotations


def lif_step_ref(v, i_syn, refractory_left, decay_mem, decay_syn, v_rest, v_reset, v_th,
                 refractory_ticks, noise, rng, lo: int, hi: int) -> list[int]:
    """Update the sequences in place for neurons lo..hi-1; return the ids that fired, in index order.

    ``rng`` is a naive.rng.XorShift64Star (only used for neurons with noise > 0 that are not refractory).
    """
    fired = []
    for j in range(lo, hi):
        if refractory_left[j] > 0:
            refractory_left[j] = refractory_left[j] - 1
            v[j] = float(v_reset[j])
        else:
            rest_plus_i = float(v_rest[j]) + float(i_syn[j])
            new_v = rest_plus_i + (float(v[j]) - rest_plus_i) * float(decay_mem[j])
            if noise[j] > 0.0:
                new_v += float(noise[j]) * rng.next_normal()
            if new_v >= v_th[j]:
                new_v = float(v_reset[j])
                refractory_left[j] = int(refractory_ticks[j])
                fired.append(j)
            v[j] = new_v
        i_syn[j] = float(i_syn[j]) * float(decay_syn[j])
    return fired
