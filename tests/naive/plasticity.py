"""Plain-Python references for snn.plasticity over an explicit list of (pre, post) synapses."""
from __future__ import annotations


def decay_traces_ref(trace, decay: float) -> None:
    for i in range(len(trace)):
        trace[i] = trace[i] * decay


def bump_traces_ref(trace, spiked) -> None:
    for i in spiked:
        trace[i] += 1.0


def eligibility_on_pre_ref(spiked, synapses, a_minus, post_trace, eligibility) -> None:
    """Every synapse leaving a presynaptic spiker: eligibility -= a_minus * post_trace[post]."""
    for i in spiked:
        for s, (pre, post) in enumerate(synapses):
            if pre == i:
                eligibility[s] -= a_minus[s] * post_trace[post]


def eligibility_on_post_ref(spiked, synapses, a_plus, pre_trace, eligibility) -> None:
    """Every synapse onto a postsynaptic spiker: eligibility += a_plus * pre_trace[pre]."""
    for j in spiked:
        for s, (pre, post) in enumerate(synapses):
            if post == j:
                eligibility[s] += a_plus[s] * pre_trace[pre]


def apply_dopamine_ref(plastic, weight, eligibility, learning_rate, w_min, w_max, eligibility_decay,
                       dopamine: float, learn: bool) -> None:
    """For each plastic synapse s: if learning, w += lr * dopamine * e clipped to [w_min, w_max]; e *= decay."""
    for s in plastic:
        if learn:
            w = weight[s] + learning_rate[s] * dopamine * eligibility[s]
            if w < w_min[s]:
                w = w_min[s]
            if w > w_max[s]:
                w = w_max[s]
            weight[s] = w
        eligibility[s] = eligibility[s] * eligibility_decay[s]
