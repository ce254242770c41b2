"""Plain-Python reference of the numba back end: a NetworkSpec run tick by tick with lists of synapses.

Per tick (the order documented in snn.network_kernel.run_block): input spikes -> LIF update -> decay
pre and post traces -> bump pre traces of all spikers -> depression for presynaptic spikers ->
potentiation for LIF spikers -> bump post traces of LIF spikers -> propagation -> dopamine-gated
weight update. Per block (NumbaBackend.step): dopamine = reward - baseline, then the baseline moves
towards the reward with tau_baseline_ms (only while learning). Synapses keep the spec's order
(projections concatenated).
"""
from __future__ import annotations

import math

from naive.lif import lif_step_ref
from naive.plasticity import (
    apply_dopamine_ref,
    bump_traces_ref,
    decay_traces_ref,
    eligibility_on_post_ref,
    eligibility_on_pre_ref,
)
from naive.rng import XorShift64Star
from naive.synapses import propagate_ref


class NaiveNetwork:
    def __init__(self, spec, rng_state: int) -> None:
        dt_ms = spec.dt_us / 1000.0
        self.dt_ms = dt_ms
        self.learning = spec.learning
        offsets, start = {}, 0
        for pop in spec.populations:
            offsets[pop.name] = start
            start += pop.size
        n = start
        self.n = n
        self.n_input = spec.populations[0].size
        self.readout_lo = offsets[spec.readout]
        self.readout_hi = self.readout_lo + spec.population(spec.readout).size
        self.decay_mem, self.decay_syn, self.v_rest, self.v_reset = [], [], [], []
        self.v_th, self.noise, self.refractory_ticks = [], [], []
        for pop in spec.populations:
            p = pop.lif
            for _ in range(pop.size):
                self.decay_mem.append(math.exp(-dt_ms / p.tau_mem_ms))
                self.decay_syn.append(math.exp(-dt_ms / p.tau_syn_ms))
                self.v_rest.append(p.v_rest_mv)
                self.v_reset.append(p.v_reset_mv)
                self.v_th.append(p.v_th_mv)
                self.noise.append(p.noise_mv)
                self.refractory_ticks.append(int(round(p.refractory_ms / dt_ms)))
        self.v = list(self.v_rest)
        self.i_syn = [0.0] * n
        self.refractory_left = [0] * n
        self.pre_trace = [0.0] * n
        self.post_trace = [0.0] * n
        self.rng = XorShift64Star(rng_state)

        self.synapses, self.weight, self.plastic = [], [], []
        self.a_plus, self.a_minus, self.learning_rate = [], [], []
        self.w_min, self.w_max, self.eligibility_decay = [], [], []
        self.pre_decay = self.post_decay = 0.0
        self.baseline_tau_ms = None
        for proj in spec.projections:
            rule = proj.plasticity
            for a, b, w in zip(proj.pre_idx, proj.post_idx, proj.weight_mv):
                s = len(self.synapses)
                self.synapses.append((offsets[proj.pre] + int(a), offsets[proj.post] + int(b)))
                self.weight.append(float(w))
                if rule is None:
                    for col in (self.a_plus, self.a_minus, self.learning_rate, self.eligibility_decay):
                        col.append(0.0)
                    self.w_min.append(-math.inf)
                    self.w_max.append(math.inf)
                else:
                    self.plastic.append(s)
                    self.a_plus.append(rule.a_plus)
                    self.a_minus.append(rule.a_minus)
                    self.learning_rate.append(rule.learning_rate)
                    self.w_min.append(rule.w_min_mv)
                    self.w_max.append(rule.w_max_mv)
                    self.eligibility_decay.append(math.exp(-dt_ms / rule.tau_eligibility_ms))
            if rule is not None:
                self.pre_decay = math.exp(-dt_ms / rule.tau_pre_ms)
                self.post_decay = math.exp(-dt_ms / rule.tau_post_ms)
                self.baseline_tau_ms = rule.tau_baseline_ms
        self.eligibility = [0.0] * len(self.synapses)
        self.baseline = 0.0

    def tick(self, input_ids, dopamine: float, learn: bool) -> list[int]:
        """One tick; return the readout spikes (ids local to the readout population)."""
        inputs = [int(i) for i in input_ids]
        fired = lif_step_ref(
            self.v, self.i_syn, self.refractory_left, self.decay_mem, self.decay_syn, self.v_rest,
            self.v_reset, self.v_th, self.refractory_ticks, self.noise, self.rng, self.n_input, self.n,
        )
        spiked = inputs + fired
        decay_traces_ref(self.pre_trace, self.pre_decay)
        decay_traces_ref(self.post_trace, self.post_decay)
        bump_traces_ref(self.pre_trace, spiked)
        eligibility_on_pre_ref(spiked, self.synapses, self.a_minus, self.post_trace, self.eligibility)
        eligibility_on_post_ref(fired, self.synapses, self.a_plus, self.pre_trace, self.eligibility)
        bump_traces_ref(self.post_trace, fired)
        propagate_ref(spiked, self.synapses, self.weight, self.i_syn)
        apply_dopamine_ref(self.plastic, self.weight, self.eligibility, self.learning_rate, self.w_min,
                           self.w_max, self.eligibility_decay, dopamine, learn)
        return [j - self.readout_lo for j in fired if self.readout_lo <= j < self.readout_hi]

    def step(self, input_ticks, reward: float, dt_us: int) -> list[list[int]]:
        """One block: ``input_ticks`` is a list of input-id lists, one per tick."""
        dopamine = 0.0
        if self.plastic:
            dopamine = float(reward) - self.baseline
            if self.learning:
                n_ticks = len(input_ticks)
                alpha = 1.0 - math.exp(-n_ticks * dt_us / 1000.0 / self.baseline_tau_ms)
                self.baseline += alpha * dopamine
        return [self.tick(ids, dopamine, self.learning) for ids in input_ticks]
