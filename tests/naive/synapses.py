"""Plain-Python reference for snn.synapses.propagate over an explicit list of synapses."""
from __future__ import annotations


def propagate_ref(spiked, synapses, weight, i_syn) -> None:
    """``synapses`` is a list of (pre, post); add weight[s] to i_syn[post] for every synapse of a spiker."""
    for i in spiked:
        for s, (pre, post) in enumerate(synapses):
            if pre == i:
                i_syn[post] += weight[s]
