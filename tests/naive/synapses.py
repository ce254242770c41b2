"""Plain-Python reference for one projection of snn.engine.kernel: its synapses as a list of (pre, post)
global ids in the spec's order, and the propagation + presynaptic half of its rule (propagate_projection).

A spike of presynaptic neuron i: for each synapse s = (i, j), in spec order: the projection's port input of j
(g_exc or g_inh) += w[s]; then pair STDP (when learning): w[s] = clip(w[s] + a_post * post_trace[j]);
reward STDP (always): eligibility[s] -= a_minus * post_trace[j].
"""
from __future__ import annotations

import math

from snn.spec import PairSTDP, RewardSTDP

RULE_NONE, RULE_PAIR, RULE_REWARD = "none", "pair", "reward"


class NaiveProjection:
    """One ProjectionSpec resolved to global ids. ``a_pre``/``a_post`` are the rule's amplitudes:
    pair STDP (a_pre_mv, a_post_mv), reward STDP (a_plus, -a_minus)."""

    def __init__(self, spec, proj, offsets: dict[str, int], dt_ms: float) -> None:
        self.name = proj.name
        pre_size, post_size = spec.population(proj.pre).size, spec.population(proj.post).size
        self.pre_lo, self.post_lo = offsets[proj.pre], offsets[proj.post]
        self.pre_hi, self.post_hi = self.pre_lo + pre_size, self.post_lo + post_size
        self.port = proj.port
        self.synapses = [(self.pre_lo + int(a), self.post_lo + int(b)) for a, b in zip(proj.pre_idx, proj.post_idx)]
        self.weight = [float(w) for w in proj.weight_mv]
        self.eligibility = [0.0] * len(self.synapses)
        rule = proj.plasticity
        self.rule, self.a_pre, self.a_post = RULE_NONE, 0.0, 0.0
        self.w_min, self.w_max, self.learning_rate, self.eligibility_decay = -math.inf, math.inf, 0.0, 1.0
        self.tau_pre_ms = self.tau_post_ms = self.tau_baseline_ms = None
        if isinstance(rule, PairSTDP):
            self.rule, self.a_pre, self.a_post = RULE_PAIR, rule.a_pre_mv, rule.a_post_mv
        elif isinstance(rule, RewardSTDP):
            self.rule, self.a_pre, self.a_post = RULE_REWARD, rule.a_plus, -rule.a_minus
            self.learning_rate = rule.learning_rate
            self.eligibility_decay = math.exp(-dt_ms / rule.tau_eligibility_ms)
            self.tau_baseline_ms = rule.tau_baseline_ms
        if rule is not None:
            self.w_min, self.w_max = rule.w_min_mv, rule.w_max_mv
            self.tau_pre_ms, self.tau_post_ms = rule.tau_pre_ms, rule.tau_post_ms

    def clip(self, w: float) -> float:
        return min(max(w, self.w_min), self.w_max)


def propagate_ref(proj: NaiveProjection, spiked, g_exc, g_inh, post_trace, learn: bool) -> None:
    """Spikes (in ``spiked`` order) of ``proj``'s presynaptic neurons: propagation and presynaptic rule half."""
    target = g_exc if proj.port == "exc" else g_inh
    for i in spiked:
        if not proj.pre_lo <= i < proj.pre_hi:
            continue
        for s, (pre, post) in enumerate(proj.synapses):
            if pre != i:
                continue
            target[post] = float(target[post]) + proj.weight[s]
            if proj.rule == RULE_PAIR and learn:
                proj.weight[s] = proj.clip(proj.weight[s] + proj.a_post * float(post_trace[post]))
            elif proj.rule == RULE_REWARD:
                proj.eligibility[s] += proj.a_post * float(post_trace[post])  # a_post = -a_minus
