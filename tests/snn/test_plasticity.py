"""snn.plasticity's trace kernels (decay_traces, bump_traces) against plain-Python references.

The engine's rules (pair and reward STDP) are tested in test_engine_kernel.py and test_network_kernel.py."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.plasticity import bump_traces_ref, decay_traces_ref  # noqa: E402
from naive.tables import random_spikers  # noqa: E402
from snn.plasticity import bump_traces, decay_traces  # noqa: E402

N = 10


def with_junk(ids: np.ndarray) -> np.ndarray:
    """The spike buffer as the kernels see it: valid ids followed by stale entries."""
    return np.concatenate([ids, np.full(4, 7, dtype=np.int32)])


@pytest.mark.parametrize("seed", range(4))
def test_decay_and_bump_traces_match_reference(seed):
    gen = np.random.default_rng(seed)
    trace = gen.random(N)
    expected = trace.tolist()
    for _ in range(10):
        decay = float(gen.uniform(0.5, 1.0))
        decay_traces(trace, decay)
        decay_traces_ref(expected, decay)
        spiked = random_spikers(gen, N, 0.3)
        bump_traces(trace, with_junk(spiked), len(spiked))
        bump_traces_ref(expected, spiked.tolist())
        np.testing.assert_allclose(trace, expected, rtol=0, atol=1e-12)


def test_decay_traces_is_exponential():
    trace = np.array([1.0, 2.0])
    for _ in range(10):
        decay_traces(trace, 0.5)
    np.testing.assert_allclose(trace, [0.5**10, 2 * 0.5**10], rtol=1e-14)


def test_bump_traces_counts_repeated_ids_and_ignores_the_stale_tail():
    trace = np.zeros(4)
    bump_traces(trace, np.array([2, 0, 2, 3, 3], dtype=np.int32), 3)
    assert trace.tolist() == [1.0, 0.0, 2.0, 0.0]
