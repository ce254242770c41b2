"""edge.bench.memory helpers on small, fast inputs: recall against load, max_load, ROC AUC, degraded cues, the
Hopfield baselines, nearest template and the shape input vectors."""
from __future__ import annotations

import numpy as np
import pytest

from edge.bench.memory import (
    CovarianceHopfield,
    Hopfield,
    degrade_input,
    degraded_cue,
    max_load,
    nearest_template,
    random_inputs,
    recall_correct,
    recall_vs_load,
    roc_auc,
    shape_vectors,
    willshaw_one_step,
)
from snn.memory.hippocampus import CA3Memory


def quiet(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def small_loads():
    return recall_vs_load(n=200, loads=(0.05, 0.2), n_test=20, log=quiet)


def test_recall_vs_load_shapes_and_ordering(small_loads):
    out = small_loads
    assert out["n_ca3"] == 200 and out["k"] == 10 and out["loads"] == [0.05, 0.2]
    assert out["cue_noise_cells"] == 2 and out["cue_kept_fraction"] == 0.5
    for key in ("ca3", "willshaw", "hopfield", "hopfield_covariance"):
        assert len(out[key]) == 2
        assert all(0.0 <= v <= 1.0 for v in out[key])
    for ca3, willshaw in zip(out["ca3"], out["willshaw"]):
        assert ca3 >= willshaw
    assert out["ca3"][0] == 1.0  # 10 patterns in 200 cells: every half cue completes


def test_recall_vs_load_is_deterministic(small_loads):
    assert recall_vs_load(n=200, loads=(0.05, 0.2), n_test=20, log=quiet) == small_loads


def test_recall_vs_load_logs_each_load():
    lines = []
    recall_vs_load(n=100, loads=(0.05, 0.1), n_test=5, log=lines.append)
    assert len(lines) == 2 and all(line.startswith("bench memory: load") for line in lines)


@pytest.mark.parametrize("loads, accuracy, expected", [
    ((0.1, 0.2, 0.3, 0.4), (1.0, 0.97, 0.9, 0.99), 0.2),   # stops at the first failure, ignores recovery
    ((0.1, 0.2, 0.3), (1.0, 0.95, 0.96), 0.3),             # exactly the level passes
    ((0.1, 0.2), (0.5, 1.0), 0.0),                         # fails at once
    ((), (), 0.0),
])
def test_max_load(loads, accuracy, expected):
    assert max_load(loads, accuracy) == expected


def test_max_load_level():
    assert max_load((0.1, 0.2, 0.3), (0.9, 0.85, 0.7), level=0.8) == 0.2


def test_roc_auc_known_cases():
    assert roc_auc(np.array([0.8, 0.9, 1.0]), np.array([0.1, 0.2])) == 1.0
    assert roc_auc(np.array([0.5, 0.5]), np.array([0.5, 0.5, 0.5])) == 0.5
    assert roc_auc(np.array([0.1, 0.2]), np.array([0.8, 0.9, 1.0])) == 0.0
    same = np.array([0.1, 0.4, 0.7])
    assert roc_auc(same, same) == 0.5
    # one novel above both familiar, one between: (2 + 1) / 4
    assert roc_auc(np.array([0.9, 0.5]), np.array([0.3, 0.7])) == 0.75


@pytest.mark.parametrize("keep, n_noise", [(0.5, 3), (0.3, 0), (1.0, 7)])
def test_degraded_cue_counts(keep, n_noise):
    rng = np.random.default_rng(1)
    n = 100
    pattern = np.sort(rng.choice(n, 20, replace=False))
    cue = degraded_cue(pattern, n, keep, n_noise, rng)
    inside = np.intersect1d(cue, pattern)
    assert cue.size == np.unique(cue).size
    assert inside.size == round(keep * pattern.size)
    assert np.setdiff1d(cue, pattern).size == n_noise
    assert cue.min() >= 0 and cue.max() < n


def test_recall_correct_criterion():
    pattern = np.arange(20)
    assert recall_correct(pattern, pattern, 20)
    assert recall_correct(np.concatenate([pattern[:18], [30, 31]]), pattern, 20)       # 90 % + 2 extra
    assert not recall_correct(np.concatenate([pattern[:17], [30, 31, 32]]), pattern, 20)  # 85 %
    assert not recall_correct(np.concatenate([pattern, [30, 31, 32]]), pattern, 20)   # 3 extra > 10 %


def test_willshaw_one_step_completes_a_stored_pattern():
    memory = CA3Memory(100, 10)
    rng = np.random.default_rng(0)
    patterns = [np.sort(rng.choice(100, 10, replace=False)) for _ in range(3)]
    for p in patterns:
        memory.store(p)
    recalled = willshaw_one_step(memory.recurrent, patterns[1][:6], 10)
    assert recalled.size == 10
    assert set(recalled.tolist()) == set(patterns[1].tolist())


def test_hopfield_stores_and_recalls_dense_pattern():
    n = 100
    rng = np.random.default_rng(2)
    dense = (rng.random((2, n)) < 0.5).astype(np.float32)
    hopfield = Hopfield(n)
    hopfield.store_all(dense)
    assert np.allclose(hopfield.weights, hopfield.weights.T) and not np.diagonal(hopfield.weights).any()
    for row in dense:
        active = np.flatnonzero(row)
        np.testing.assert_array_equal(hopfield.recall(active), active)          # a fixed point
        np.testing.assert_array_equal(hopfield.recall(active[: int(0.8 * active.size)]), active)


def test_covariance_hopfield_recalls_sparse_pattern():
    n, k = 200, 10
    rng = np.random.default_rng(3)
    patterns = [np.sort(rng.choice(n, k, replace=False)) for _ in range(5)]
    dense = np.zeros((5, n), dtype=np.float32)
    for row, p in zip(dense, patterns):
        row[p] = 1.0
    net = CovarianceHopfield(n, k)
    net.store_all(dense)
    np.testing.assert_array_equal(net.recall(patterns[2][:6]), patterns[2])


def test_nearest_template():
    templates = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    assert nearest_template(templates, np.array([5.0, 0.2, 0.0])) == 0
    assert nearest_template(templates, np.array([0.1, 0.0, 3.0])) == 2
    assert nearest_template(templates, np.array([2.0, 2.1, 0.0])) == 3  # cosine, not dot product
    assert nearest_template(templates * 10.0, np.array([0.0, 0.3, 0.0])) == 1  # scale free
    nearest_template(templates, np.zeros(3))  # a silent window does not divide by zero


def test_random_inputs_and_degrade_input():
    rng = np.random.default_rng(5)
    x = random_inputs(200, 3, 0.1, rng)
    assert x.shape == (3, 200)
    assert ((x > 0).sum(axis=1) == 20).all() and x.max() < 1.5 and x[x > 0].min() > 0.5
    y = degrade_input(x[0], 0.3, 0.2, rng)
    was, now = np.flatnonzero(x[0]), np.flatnonzero(y)
    assert np.intersect1d(was, now).size == 20 - 6
    assert np.setdiff1d(now, was).size == 4
    assert (y >= 0).all()


def test_shape_vectors_tiny():
    vectors, labels = shape_vectors(("disk", "square"), 2, 20_000, 0.1, 16, seed=0)
    assert vectors.shape == (4, 2 * 16 * 16)
    assert labels.tolist() == [0, 0, 1, 1]
    assert (vectors >= 0).all() and np.array_equal(vectors, np.round(vectors))
    assert (vectors.sum(axis=1) > 0).all()
    again, _ = shape_vectors(("disk", "square"), 2, 20_000, 0.1, 16, seed=0)
    np.testing.assert_array_equal(again, vectors)
