"""Plain-Python reference of the numba back end (snn.engine.kernel.run_ticks driven by NumbaBackend):
a NetworkSpec run tick by tick, float64, one naive.synapses.NaiveProjection per projection (spec order).

Per tick (tick counter t, global over blocks):
  1. populations in order: input spikes copied; Poisson neurons with next_tick == t spike and draw their next
     interval (geometric, from the xorshift RNG); LIF: noise (neuron order), integrate, threshold.
     Only the input, poisson and lif kinds are modelled here.
  2. traces (only when some projection is plastic): pre and post traces of the plastic projections'
     populations decay; every spiker's pre trace += 1.
  3. projections in spec order: propagation and the presynaptic half of the rule.
  4. post trace += 1 for every LIF spiker.
  5. plastic projections in spec order: the postsynaptic half of the rule; reward STDP: dopamine step.
Per block (NumbaBackend.step): dopamine = reward - baseline when some projection has reward STDP, then,
while learning, baseline += (1 - exp(-n_ticks dt / tau_baseline)) * dopamine.

Random draws: the initial Poisson schedule comes from numpy.random.default_rng(seed) (one ``random(size)`` per
Poisson population, in order: first spike at floor(log(1 - u) / log(1 - p))); everything after from an
xorshift64* generator seeded like snn.rng.make_rng_state(seed).
"""
from __future__ import annotations

import math

import numpy as np

from naive.lif import exact_gain_ref, lif_integrate_ref, lif_noise_ref, lif_threshold_ref
from naive.plasticity import apply_dopamine_ref, bump_traces_ref, postsynaptic_ref
from naive.rng import XorShift64Star
from naive.synapses import RULE_NONE, RULE_REWARD, NaiveProjection, propagate_ref

NEVER = 1 << 60


def rng_seed_state(seed: int) -> int:
    """The xorshift state snn.rng.make_rng_state(seed) starts from (SeedSequence word, low bit set)."""
    return int(np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0]) | 1


def log_keep_ref(p: float) -> float:
    """log(1 - p) for the per-tick spike probability p: 0 when p == 0 (never), -inf when p == 1."""
    if p >= 1.0:
        return -math.inf
    return math.log1p(-p) if p > 0.0 else 0.0


def geometric_ref(log_keep: float, rng: XorShift64Star) -> int:
    """Ticks to the next success of a Bernoulli(p) process, log_keep = log(1 - p); NEVER when p == 0."""
    if log_keep == 0.0:
        return NEVER
    u = 1.0 - rng.next_uniform()
    return 1 + int(math.log(u) / log_keep)


class NaivePopulation:
    def __init__(self, pop, lo: int, dt_ms: float) -> None:
        if pop.kind not in ("input", "poisson", "lif"):
            raise NotImplementedError(f"naive network: population kind {pop.kind!r}")
        p = pop.lif
        self.kind, self.lo, self.hi = pop.kind, lo, lo + pop.size
        self.v_rest, self.v_reset, self.v_th, self.noise = p.v_rest_mv, p.v_reset_mv, p.v_th_mv, p.noise_mv
        self.decay_mem = math.exp(-dt_ms / p.tau_mem_ms)
        self.k_exc = exact_gain_ref(dt_ms, p.tau_mem_ms, p.tau_exc_ms)
        self.k_inh = exact_gain_ref(dt_ms, p.tau_mem_ms, p.tau_inh_ms)
        self.decay_exc = math.exp(-dt_ms / p.tau_exc_ms)
        self.decay_inh = math.exp(-dt_ms / p.tau_inh_ms)
        self.refractory_ticks = int(round(p.refractory_ms / dt_ms))
        self.v_init = [p.v_rest_mv] * pop.size if pop.v_init_mv is None else [float(x) for x in pop.v_init_mv]
        self.prob = [0.0] * pop.size
        if pop.kind == "poisson":
            self.prob = [min(max(float(r) * dt_ms / 1000.0, 0.0), 1.0) for r in pop.rate_hz]


class NaiveNetwork:
    def __init__(self, spec, seed: int) -> None:
        dt_ms = spec.dt_us / 1000.0
        self.dt_ms, self.dt_us = dt_ms, spec.dt_us
        self.learning = spec.learning
        offsets, start = {}, 0
        for pop in spec.populations:
            offsets[pop.name] = start
            start += pop.size
        self.n = n = start
        self.pops = [NaivePopulation(pop, offsets[pop.name], dt_ms) for pop in spec.populations]
        self.readout_lo = offsets[spec.readout]
        self.readout_hi = self.readout_lo + spec.population(spec.readout).size

        self.v = [x for pop in self.pops for x in pop.v_init]
        self.g_exc, self.g_inh = [0.0] * n, [0.0] * n
        self.refractory_left = [0] * n
        self.pre_trace, self.post_trace = [0.0] * n, [0.0] * n
        self.t = 0
        self.spike_count = [0] * n  # spikes per neuron so far (all populations), for the tests
        self.log_keep = [0.0] * n
        self.next_tick = [NEVER] * n
        gen = np.random.default_rng(seed)
        for pop in self.pops:
            if pop.kind != "poisson":
                continue
            draws = gen.random(pop.hi - pop.lo).tolist()
            for j, p, u in zip(range(pop.lo, pop.hi), pop.prob, draws):
                if p > 0.0:
                    self.log_keep[j] = log_keep_ref(p)
                    self.next_tick[j] = min(int(math.floor(math.log(1.0 - u) / self.log_keep[j])), NEVER)
        self.rng = XorShift64Star(rng_seed_state(seed))

        self.projections = [NaiveProjection(spec, proj, offsets, dt_ms) for proj in spec.projections]
        self.plastic = [c for c in self.projections if c.rule != RULE_NONE]
        # per-neuron trace decays (1 outside the plastic projections' pre / post populations)
        self.pre_decay, self.post_decay = [1.0] * n, [1.0] * n
        self.traced = set()
        self.baseline_tau_ms = None
        for c in self.plastic:
            for j in range(c.pre_lo, c.pre_hi):
                self.pre_decay[j] = math.exp(-dt_ms / c.tau_pre_ms)
            for j in range(c.post_lo, c.post_hi):
                self.post_decay[j] = math.exp(-dt_ms / c.tau_post_ms)
            self.traced.update(range(c.pre_lo, c.pre_hi))
            self.traced.update(range(c.post_lo, c.post_hi))
            if c.rule == RULE_REWARD:
                self.baseline_tau_ms = c.tau_baseline_ms
        self.traced = sorted(self.traced)
        self.baseline = 0.0

    # --- views in the spec's synapse order (projections concatenated) ---
    @property
    def weight(self) -> list[float]:
        return [w for c in self.projections for w in c.weight]

    @property
    def eligibility(self) -> list[float]:
        return [e for c in self.projections for e in c.eligibility]

    def projection(self, name: str) -> NaiveProjection:
        return next(c for c in self.projections if c.name == name)

    def tick(self, input_ids, dopamine: float, learn: bool) -> list[int]:
        """One tick; return the readout spikes (ids local to the readout population)."""
        spiked, lif_spiked = [], []
        for pop in self.pops:
            if pop.kind == "input":
                spiked += [int(i) for i in input_ids]
            elif pop.kind == "poisson":
                for j in range(pop.lo, pop.hi):
                    if self.next_tick[j] == self.t:
                        spiked.append(j)
                        self.next_tick[j] = self.t + geometric_ref(self.log_keep[j], self.rng)
            else:
                if pop.noise > 0.0:
                    lif_noise_ref(self.v, self.refractory_left, pop.lo, pop.hi, pop.noise, self.rng)
                lif_integrate_ref(self.v, self.g_exc, self.g_inh, self.refractory_left, pop.lo, pop.hi, pop.v_rest,
                                  pop.v_reset, pop.decay_mem, pop.k_exc, pop.k_inh, pop.decay_exc, pop.decay_inh)
                fired = lif_threshold_ref(self.v, self.refractory_left, pop.lo, pop.hi, pop.v_th, pop.v_reset,
                                          pop.refractory_ticks)
                spiked += fired
                lif_spiked += fired
        for j in spiked:
            self.spike_count[j] += 1
        if self.plastic:
            for j in self.traced:
                self.pre_trace[j] *= self.pre_decay[j]
                self.post_trace[j] *= self.post_decay[j]
            bump_traces_ref(self.pre_trace, spiked)
        for c in self.projections:
            propagate_ref(c, spiked, self.g_exc, self.g_inh, self.post_trace, learn)
        if self.plastic:
            bump_traces_ref(self.post_trace, lif_spiked)
        for c in self.plastic:
            postsynaptic_ref(c, spiked, self.pre_trace, learn)
            apply_dopamine_ref(c, dopamine, learn)
        self.t += 1
        return [j - self.readout_lo for j in spiked if self.readout_lo <= j < self.readout_hi]

    def step(self, input_ticks, reward: float) -> list[list[int]]:
        """One block: ``input_ticks`` is a list of input-id lists, one per tick."""
        dopamine = 0.0
        if self.baseline_tau_ms is not None:
            dopamine = float(reward) - self.baseline
            if self.learning:
                alpha = 1.0 - math.exp(-len(input_ticks) * self.dt_us / 1000.0 / self.baseline_tau_ms)
                self.baseline += alpha * dopamine
        return [self.tick(ids, dopamine, self.learning) for ids in input_ticks]
