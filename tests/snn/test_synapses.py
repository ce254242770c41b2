"""snn.synapses.propagate against a plain-Python reference over random CSR tables."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.synapses import propagate_ref  # noqa: E402
from naive.tables import random_spikers, random_table  # noqa: E402
from snn.synapses import propagate  # noqa: E402


@pytest.mark.parametrize("seed", range(5))
def test_propagate_matches_reference(seed):
    gen = np.random.default_rng(seed)
    n = 12
    table = random_table(gen, n, 40)
    weight = gen.normal(0.0, 3.0, 40)
    i_syn = gen.normal(0.0, 1.0, n)
    expected = i_syn.tolist()
    for _ in range(5):
        spiked = random_spikers(gen, n, 0.4)
        buffer = np.concatenate([spiked, np.full(3, 999, dtype=np.int32)])  # only n_spiked entries count
        propagate(buffer, len(spiked), table["syn_ptr"], table["syn_post"], weight, i_syn)
        propagate_ref(spiked.tolist(), table["pairs"], weight.tolist(), expected)
        np.testing.assert_allclose(i_syn, expected, rtol=0, atol=1e-12)


def test_propagate_nothing_spiked_changes_nothing():
    gen = np.random.default_rng(0)
    table = random_table(gen, 5, 10)
    i_syn = np.arange(5.0)
    propagate(np.zeros(5, dtype=np.int32), 0, table["syn_ptr"], table["syn_post"], np.ones(10), i_syn)
    assert np.array_equal(i_syn, np.arange(5.0))


def test_propagate_hand_example():
    # 0 -> 1 (2 mV), 0 -> 2 (-1 mV), 2 -> 1 (0.5 mV); neurons 0 and 2 spike.
    syn_ptr = np.array([0, 2, 2, 3], dtype=np.int64)
    syn_post = np.array([1, 2, 1], dtype=np.int32)
    i_syn = np.zeros(3)
    propagate(np.array([2, 0], dtype=np.int32), 2, syn_ptr, syn_post, np.array([2.0, -1.0, 0.5]), i_syn)
    assert i_syn.tolist() == [0.0, 2.5, -1.0]
