"""Random synapse tables for the kernel tests: (pre, post) lists for the references and CSR arrays for the kernels."""
from __future__ import annotations

import numpy as np


def random_table(gen: np.random.Generator, n_neurons: int, n_synapses: int) -> dict:
    """Synapses sorted by presynaptic neuron (as the kernels require), with both CSR indexes."""
    pre = np.sort(gen.integers(0, n_neurons, n_synapses)).astype(np.int32)
    post = gen.integers(0, n_neurons, n_synapses).astype(np.int32)
    syn_ptr = np.zeros(n_neurons + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=n_neurons), out=syn_ptr[1:])
    in_syn = np.argsort(post, kind="stable").astype(np.int64)
    in_ptr = np.zeros(n_neurons + 1, dtype=np.int64)
    np.cumsum(np.bincount(post, minlength=n_neurons), out=in_ptr[1:])
    return {
        "pairs": list(zip(pre.tolist(), post.tolist())),
        "syn_pre": pre, "syn_post": post, "syn_ptr": syn_ptr, "in_ptr": in_ptr, "in_syn": in_syn,
    }


def random_spikers(gen: np.random.Generator, n_neurons: int, p: float) -> np.ndarray:
    ids = np.flatnonzero(gen.random(n_neurons) < p).astype(np.int32)
    gen.shuffle(ids)
    return ids
