"""snn.plasticity kernels (traces, eligibility, dopamine-gated update) against plain-Python references."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.plasticity import (  # noqa: E402
    apply_dopamine_ref,
    bump_traces_ref,
    decay_traces_ref,
    eligibility_on_post_ref,
    eligibility_on_pre_ref,
)
from naive.tables import random_spikers, random_table  # noqa: E402
from snn.plasticity import (  # noqa: E402
    apply_dopamine,
    bump_traces,
    decay_traces,
    eligibility_on_post,
    eligibility_on_pre,
)

N, M = 10, 35


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


def sparse_rule(gen: np.random.Generator, m: int) -> np.ndarray:
    """Per-synapse amplitude with zeros (non-plastic synapses carry a 0 amplitude)."""
    return np.where(gen.random(m) < 0.7, gen.uniform(0.1, 1.0, m), 0.0)


@pytest.mark.parametrize("seed", range(4))
def test_eligibility_on_pre_and_post_match_reference(seed):
    gen = np.random.default_rng(seed)
    table = random_table(gen, N, M)
    a_plus, a_minus = sparse_rule(gen, M), sparse_rule(gen, M)
    pre_trace, post_trace = gen.random(N), gen.random(N)
    eligibility = gen.normal(0.0, 0.1, M)
    expected = eligibility.tolist()
    for _ in range(6):
        pre_spikers, post_spikers = random_spikers(gen, N, 0.3), random_spikers(gen, N, 0.3)
        eligibility_on_pre(with_junk(pre_spikers), len(pre_spikers), table["syn_ptr"], table["syn_post"],
                           a_minus, post_trace, eligibility)
        eligibility_on_pre_ref(pre_spikers.tolist(), table["pairs"], a_minus, post_trace, expected)
        eligibility_on_post(with_junk(post_spikers), len(post_spikers), table["in_ptr"], table["in_syn"],
                            table["syn_pre"], a_plus, pre_trace, eligibility)
        eligibility_on_post_ref(post_spikers.tolist(), table["pairs"], a_plus, pre_trace, expected)
        np.testing.assert_allclose(eligibility, expected, rtol=0, atol=1e-12)
    assert not np.allclose(eligibility, 0.0)


def test_eligibility_signs_hand_example():
    # One synapse 0 -> 1: a post spike potentiates by a_plus * pre_trace[0], a pre spike depresses by
    # a_minus * post_trace[1].
    syn_ptr = np.array([0, 1, 1], dtype=np.int64)
    in_ptr = np.array([0, 0, 1], dtype=np.int64)
    syn_pre, syn_post, in_syn = np.array([0], np.int32), np.array([1], np.int32), np.array([0], np.int64)
    e = np.zeros(1)
    eligibility_on_post(np.array([1], np.int32), 1, in_ptr, in_syn, syn_pre, np.array([0.5]), np.array([0.8, 0.0]), e)
    assert e[0] == pytest.approx(0.4)
    eligibility_on_pre(np.array([0], np.int32), 1, syn_ptr, syn_post, np.array([0.25]), np.array([0.0, 2.0]), e)
    assert e[0] == pytest.approx(-0.1)


@pytest.mark.parametrize("learn", [True, False])
@pytest.mark.parametrize("dopamine", [-2.0, 0.0, 0.7, 50.0])
def test_apply_dopamine_matches_reference(learn, dopamine):
    gen = np.random.default_rng(3)
    weight = gen.uniform(0.0, 5.0, M)
    eligibility = gen.normal(0.0, 1.0, M)
    learning_rate = gen.uniform(0.0, 0.5, M)
    w_min, w_max = np.full(M, 0.5), np.full(M, 4.0)
    w_min[::5], w_max[::5] = -np.inf, np.inf  # some synapses without bounds
    e_decay = gen.uniform(0.8, 1.0, M)
    plastic = np.sort(gen.choice(M, 20, replace=False)).astype(np.int64)
    w_ref, e_ref = weight.tolist(), eligibility.tolist()
    w0 = weight.copy()
    for _ in range(5):
        apply_dopamine(plastic, weight, eligibility, learning_rate, w_min, w_max, e_decay, dopamine, learn)
        apply_dopamine_ref(plastic.tolist(), w_ref, e_ref, learning_rate, w_min, w_max, e_decay, dopamine, learn)
        np.testing.assert_allclose(weight, w_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(eligibility, e_ref, rtol=0, atol=1e-12)
    fixed = np.setdiff1d(np.arange(M), plastic)
    assert np.array_equal(weight[fixed], w0[fixed])
    if not learn:
        assert np.array_equal(weight, w0)
    elif dopamine == 0.0:  # no change beyond clipping the initial weights into bounds
        assert np.array_equal(weight[plastic], np.clip(w0, w_min, w_max)[plastic])
    else:
        assert not np.array_equal(weight[plastic], w0[plastic])


def test_apply_dopamine_clips_to_bounds():
    plastic = np.arange(3, dtype=np.int64)
    weight = np.array([1.0, 1.0, 1.0])
    eligibility = np.array([100.0, -100.0, 0.1])
    apply_dopamine(plastic, weight, eligibility, np.ones(3), np.full(3, 0.0), np.full(3, 2.0), np.full(3, 0.5), 1.0, True)
    assert weight.tolist() == [2.0, 0.0, 1.1]
    assert eligibility.tolist() == [50.0, -50.0, 0.05]
