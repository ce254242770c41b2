"""Plain-Python references for snn.plasticity's trace kernels and for the postsynaptic / dopamine halves of
snn.engine.kernel's rules (postsynaptic_plasticity, apply_dopamine) on a naive.synapses.NaiveProjection."""
from __future__ import annotations

from naive.synapses import RULE_PAIR, RULE_REWARD


def decay_traces_ref(trace, decay: float) -> None:
    for i in range(len(trace)):
        trace[i] = trace[i] * decay


def bump_traces_ref(trace, spiked) -> None:
    for i in spiked:
        trace[i] += 1.0


def postsynaptic_ref(proj, spiked, pre_trace, learn: bool) -> None:
    """Every synapse onto a spiking target: pair STDP (when learning) w = clip(w + a_pre * pre_trace[pre]);
    reward STDP (always) eligibility += a_plus * pre_trace[pre]."""
    for j in spiked:
        if not proj.post_lo <= j < proj.post_hi:
            continue
        for s, (pre, post) in enumerate(proj.synapses):
            if post != j:
                continue
            if proj.rule == RULE_PAIR:
                if learn:
                    proj.weight[s] = proj.clip(proj.weight[s] + proj.a_pre * float(pre_trace[pre]))
            elif proj.rule == RULE_REWARD:
                proj.eligibility[s] += proj.a_pre * float(pre_trace[pre])


def apply_dopamine_ref(proj, dopamine: float, learn: bool) -> None:
    """Reward STDP, every tick: when learning w = clip(w + lr * dopamine * e); then e *= eligibility decay."""
    if proj.rule != RULE_REWARD:
        return
    for s in range(len(proj.synapses)):
        if learn:
            proj.weight[s] = proj.clip(proj.weight[s] + proj.learning_rate * dopamine * proj.eligibility[s])
        proj.eligibility[s] *= proj.eligibility_decay
