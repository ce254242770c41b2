"""The standard workloads behave as WORKLOADS.md says any correct implementation does (behaviour, not speed)."""
from __future__ import annotations

import numpy as np
import pytest

from snn.frames import SpikeFrames
from edge.backends import open_backend
from snn.backend import Backend
from snn.workloads import bernoulli_pairs, cuba_spec, stdp_spec


def run(spec, ticks: int, dtype: str = "float64") -> tuple[Backend, SpikeFrames]:
    backend = open_backend(f"numba?dtype={dtype}")
    backend.load(spec, seed=0)
    return backend, backend.step(SpikeFrames.empty(ticks), 0.0)


@pytest.mark.guard  # README "Engine benchmarks": W1 rate 5.66 Hz (mean of 5 graphs)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_w1_mean_rate_over_five_graphs_is_in_the_band(dtype):
    rates = [run(cuba_spec(4000, seed=s), 10_000, dtype)[1].n_spikes / 4000 for s in range(5)]
    assert 5.5 <= np.mean(rates) <= 5.9, rates


@pytest.mark.guard  # README "Engine benchmarks": W2 rate 6.75 Hz, final mean weight 0.246 mV
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_w2_rate_and_final_weight(dtype):
    backend, spikes = run(stdp_spec(), 20_000, dtype)
    assert 6.5 <= spikes.n_spikes / 400 / 10.0 <= 6.9
    assert abs(float(np.mean(backend.read("projection/input_exc/weight_mv"))) - 0.24) < 0.01


def test_bernoulli_graph_has_the_right_density_and_no_repeated_pair():
    pre, post = bernoulli_pairs(2000, 0.01, np.random.default_rng(0))
    pairs = pre.astype(np.int64) * 2000 + post
    assert len(np.unique(pairs)) == len(pairs)
    assert abs(len(pairs) - 40_000) < 5 * np.sqrt(40_000)
    per_pre = np.bincount(pre, minlength=2000)
    assert abs(per_pre.mean() - 20.0) < 0.5
