"""snn.memory.hippocampus_kernels against the plain-Python references in naive.hippocampus; CA3Memory and Hippocampus
behaviour: one-shot storage, pattern completion, pattern separation, novelty, observe, state round trip,
validation and determinism."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.hippocampus import (  # noqa: E402
    associate_ref,
    centred_cue_drive_ref,
    fan_in_drive_ref,
    k_winners_ref,
    recurrent_drive_ref,
    settle_ref,
    store_pattern_ref,
)
from snn.memory.hippocampus import CA3Memory, Hippocampus, HippocampusConfig  # noqa: E402
from snn.memory.hippocampus_kernels import (  # noqa: E402
    associate,
    centred_cue_drive,
    fan_in_drive,
    k_winners,
    recurrent_drive,
    settle,
    store_pattern,
)

N = 50
SEEDS = range(6)
N_INPUT = 512
ACTIVE_INPUTS = 51


def as_lists(a: np.ndarray) -> list:
    return a.tolist()


# --------------------------------------------------------------------------- kernels against references


@pytest.mark.parametrize("seed", SEEDS)
def test_fan_in_drive_matches_reference(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, N).astype(np.float64)
    ids = rng.integers(0, N, size=(30, 7)).astype(np.int64)
    drive = np.full(30, np.nan)
    fan_in_drive(x, ids, drive)
    assert drive.tolist() == fan_in_drive_ref(x, ids)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [1, 5, 12, N])
def test_k_winners_matches_reference(seed, k):
    rng = np.random.default_rng(seed)
    drive = rng.integers(-2, 4, N).astype(np.float64)  # integer drives: many ties, broken by priority
    priority = rng.random(N)
    winners = np.full(N, -7, dtype=np.int64)
    count = k_winners(drive, priority, k, winners)
    expected = k_winners_ref(drive, priority, k)
    assert count == len(expected) == min(k, int((drive > 0).sum()))
    assert winners[:count].tolist() == expected
    assert all(drive[i] > 0 for i in expected)


def test_k_winners_without_positive_drive_returns_none():
    winners = np.full(N, -7, dtype=np.int64)
    drive = -np.abs(np.random.default_rng(0).integers(0, 3, N)).astype(np.float64)
    assert k_winners(drive, np.random.default_rng(1).random(N), 5, winners) == 0
    assert k_winners_ref(drive, np.random.default_rng(1).random(N), 5) == []


def test_k_winners_fewer_positive_than_k():
    drive = np.zeros(N)
    drive[[3, 17, 40]] = [1.0, 2.0, 1.0]
    winners = np.empty(N, dtype=np.int64)
    count = k_winners(drive, np.random.default_rng(2).random(N), 10, winners)
    assert count == 3 and winners[:3].tolist() == [3, 17, 40]


def test_k_winners_exact_score_tie_keeps_the_most_driven():
    drive = np.array([1.0, 1.0, 2.0])
    winners = np.empty(3, dtype=np.int64)
    count = k_winners(drive, np.zeros(3), 2, winners)
    assert 2 in winners[:count].tolist()
    assert winners[:count].tolist() == k_winners_ref(drive, np.zeros(3), 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_store_pattern_matches_reference(seed):
    rng = np.random.default_rng(seed)
    recurrent = (rng.random((N, N)) < 0.05).astype(np.uint8)
    reference = as_lists(recurrent)
    active = np.sort(rng.choice(N, 8, replace=False)).astype(np.int64)
    new = store_pattern(recurrent, active)
    assert new == store_pattern_ref(reference, active)
    assert as_lists(recurrent) == reference
    assert store_pattern(recurrent, active) == 0  # idempotent


@pytest.mark.parametrize("seed", SEEDS)
def test_recurrent_drive_matches_reference(seed):
    rng = np.random.default_rng(seed)
    recurrent = (rng.random((N, N)) < 0.2).astype(np.uint8)
    cue = rng.integers(0, 2, N).astype(np.float64)
    active = np.concatenate([rng.choice(N, 9, replace=False), [-1, -1]]).astype(np.int64)  # stale tail
    drive = np.full(N, np.nan)
    recurrent_drive(recurrent, active, 9, cue, 0.75, drive)
    assert drive.tolist() == recurrent_drive_ref(recurrent, active[:9], cue, 0.75)


def random_memory(rng: np.random.Generator, n: int, k: int, n_patterns: int) -> tuple[np.ndarray, list]:
    recurrent = np.zeros((n, n), dtype=np.uint8)
    patterns = [np.sort(rng.choice(n, k, replace=False)).astype(np.int64) for _ in range(n_patterns)]
    for p in patterns:
        store_pattern(recurrent, p)
    return recurrent, patterns


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("max_steps", [0, 1, 3, 10])
def test_settle_matches_reference(seed, max_steps):
    rng = np.random.default_rng(seed)
    k = 6
    recurrent, patterns = random_memory(rng, N, k, 8)
    recurrent |= (rng.random((N, N)) < 0.03).astype(np.uint8)  # some unstored noise synapses, diagonal too
    initial = np.unique(np.concatenate([patterns[0][:3], rng.choice(N, 3)])).astype(np.int64)
    cue = np.zeros(N)
    cue[initial] = 1.0
    priority = rng.random(N)
    state = np.full(N, -1, dtype=np.int64)
    n_active, steps, pairs = settle(recurrent, cue, 0.9, initial, initial.size, priority, k, max_steps, state)
    ref_set, ref_steps, ref_pairs = settle_ref(recurrent, cue, 0.9, initial, priority, k, max_steps)
    assert (state[:n_active].tolist(), steps, pairs) == (ref_set, ref_steps, ref_pairs)


@pytest.mark.parametrize("seed", SEEDS)
def test_settle_stops_when_the_set_repeats(seed):
    rng = np.random.default_rng(seed)
    recurrent, patterns = random_memory(rng, N, 6, 3)
    cue = np.zeros(N)
    cue[patterns[1]] = 1.0
    state = np.empty(N, dtype=np.int64)
    n_active, steps, pairs = settle(recurrent, cue, 0.5, patterns[1], 6, rng.random(N), 6, 50, state)
    assert state[:n_active].tolist() == patterns[1].tolist()
    assert steps == 1 and pairs == 6 * 5


@pytest.mark.parametrize("seed", SEEDS)
def test_associate_matches_reference_and_saturates(seed):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 4, (N, 7)).astype(np.uint8)
    counts[0, :] = 255
    pre = np.concatenate([[0], rng.choice(np.arange(1, N), 5, replace=False)]).astype(np.int64)
    post = rng.choice(7, 3, replace=False).astype(np.int64)
    want = associate_ref(counts, pre, post)
    total = counts.sum(axis=0, dtype=np.int64)
    associate(counts, pre, post, total)
    assert counts.tolist() == want
    assert total.tolist() == counts.sum(axis=0, dtype=np.int64).tolist()


@pytest.mark.parametrize("seed", SEEDS)
def test_centred_cue_drive_matches_reference(seed):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 5, (N, 9)).astype(np.uint8)
    cue = rng.choice(N, 8, replace=False).astype(np.int64)
    drive = np.full(9, np.nan)
    centred_cue_drive(counts, cue, counts.sum(axis=0, dtype=np.int64), drive)
    np.testing.assert_allclose(drive, centred_cue_drive_ref(counts, cue), rtol=1e-12, atol=1e-12)
    centred_cue_drive(counts, cue[:0], counts.sum(axis=0, dtype=np.int64), drive)
    assert not drive.any()


# --------------------------------------------------------------------------- CA3Memory


def stored_pairs(recurrent: np.ndarray) -> set:
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(recurrent))}


def test_ca3_one_shot_storage_sets_exactly_the_pattern_pairs():
    memory = CA3Memory(60, 5)
    pattern = np.array([42, 3, 17, 9, 55])
    assert memory.store(pattern) == 5 * 4
    assert stored_pairs(memory.recurrent) == {(i, j) for i in pattern for j in pattern if i != j}
    assert not np.diagonal(memory.recurrent).any()
    before = memory.recurrent.copy()
    assert memory.store(pattern[::-1]) == 0
    np.testing.assert_array_equal(memory.recurrent, before)


def test_ca3_storage_of_overlapping_patterns_counts_only_new_synapses():
    memory = CA3Memory(60, 4)
    memory.store(np.array([1, 2, 3, 4]))
    assert memory.store(np.array([3, 4, 5, 6])) == 12 - 2  # (3,4) and (4,3) already on


@pytest.mark.parametrize("bad", [[-1, 3, 4], [0, 1, 400]])
def test_ca3_store_rejects_out_of_range_ids(bad):
    memory = CA3Memory(400, 20)
    with pytest.raises(ValueError):
        memory.store(np.array(bad))
    assert not memory.recurrent.any()


@pytest.mark.parametrize("n, k", [(10, 1), (10, 10), (10, 11)])
def test_ca3_rejects_bad_k(n, k):
    with pytest.raises(ValueError):
        CA3Memory(n, k)


@pytest.fixture(scope="module")
def ca3_loaded():
    rng = np.random.default_rng(3)
    n, k = 400, 20
    memory = CA3Memory(n, k, seed=3)
    patterns = [np.sort(rng.choice(n, k, replace=False)) for _ in range(20)]
    for p in patterns:
        memory.store(p)
    return memory, patterns


def half_cue(pattern: np.ndarray, n: int, n_wrong: int, rng: np.random.Generator) -> np.ndarray:
    keep = rng.choice(pattern, pattern.size // 2, replace=False)
    wrong = rng.choice(np.setdiff1d(np.arange(n), pattern), n_wrong, replace=False)
    return np.concatenate([keep, wrong])


def test_ca3_recall_completes_half_cue_with_wrong_cells(ca3_loaded):
    memory, patterns = ca3_loaded
    rng = np.random.default_rng(11)
    for p in patterns:
        recalled = memory.recall(half_cue(p, memory.n, 3, rng))
        np.testing.assert_array_equal(recalled, p)


def test_ca3_cue_of_unstored_cells_does_not_return_a_stored_pattern(ca3_loaded):
    """A cue on cells that no stored pattern uses has no recurrent support: it stays where it is, with no
    stored synapse inside. (A random cue that shares even one or two cells with stored patterns is completed
    into one of them at this load -- CA3Memory alone has no familiarity check; see Hippocampus novelty.)"""
    memory, patterns = ca3_loaded
    used = np.unique(np.concatenate(patterns))
    free = np.setdiff1d(np.arange(memory.n), used)
    cue = np.random.default_rng(5).choice(free, memory.k, replace=False)
    recalled = memory.recall(cue)
    assert not any(np.array_equal(recalled, p) for p in patterns)
    assert max(np.intersect1d(recalled, p).size for p in patterns) <= 1
    drive = np.zeros(memory.n)
    drive[cue] = 1.0
    _, _, support = memory.settle_from(drive, np.sort(cue))
    assert support == 0.0


def test_ca3_recall_is_deterministic(ca3_loaded):
    memory, patterns = ca3_loaded
    cue = half_cue(patterns[4], memory.n, 3, np.random.default_rng(9))
    first = memory.recall(cue)
    again = memory.recall(cue)
    np.testing.assert_array_equal(first, again)
    twin = CA3Memory(memory.n, memory.k, seed=3)
    for p in patterns:
        twin.store(p)
    np.testing.assert_array_equal(twin.recall(cue), first)


def test_ca3_state_round_trip(ca3_loaded):
    memory, patterns = ca3_loaded
    fresh = CA3Memory(memory.n, memory.k, seed=3)
    fresh.restore(memory.state())
    assert fresh.n_stored == memory.n_stored
    cue = half_cue(patterns[0], memory.n, 2, np.random.default_rng(1))
    np.testing.assert_array_equal(fresh.recall(cue), memory.recall(cue))
    with pytest.raises(ValueError, match="recurrent"):
        fresh.restore({"recurrent": np.zeros((3, 3), dtype=np.uint8), "n_stored": np.array([1])})


# --------------------------------------------------------------------------- Hippocampus


CONFIG = HippocampusConfig()


def random_input(rng: np.random.Generator, n_input: int = N_INPUT, active: int = ACTIVE_INPUTS) -> np.ndarray:
    x = np.zeros(n_input)
    ids = rng.choice(n_input, active, replace=False)
    x[ids] = 0.5 + rng.random(active)
    return x


def degrade(x: np.ndarray, drop: float, n_noise: int, rng: np.random.Generator) -> np.ndarray:
    y = x.copy()
    active = np.flatnonzero(x > 0)
    y[rng.choice(active, int(drop * active.size), replace=False)] = 0.0
    y[rng.choice(np.flatnonzero(x == 0), n_noise, replace=False)] = 0.5 + rng.random(n_noise)
    return y


@pytest.fixture(scope="module")
def loaded():
    rng = np.random.default_rng(21)
    memory = Hippocampus(CONFIG, N_INPUT)
    inputs = [random_input(rng) for _ in range(20)]
    patterns = [memory.store(x, i % CONFIG.n_labels) for i, x in enumerate(inputs)]
    return memory, inputs, patterns


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return np.intersect1d(a, b).size / max(a.size, 1)


def test_dentate_fires_exactly_k_dg():
    memory = Hippocampus(CONFIG, N_INPUT)
    dg = memory.dentate(random_input(np.random.default_rng(0)))
    assert dg.size == CONFIG.k_dg
    assert np.all(np.diff(dg) > 0) and dg[0] >= 0 and dg[-1] < CONFIG.n_dg
    assert memory.dentate(np.zeros(N_INPUT)).size == 0
    assert memory.imposed_pattern(np.zeros(N_INPUT)).size == 0


@pytest.mark.parametrize("seed", range(3))
def test_dentate_separates_patterns(seed):
    rng = np.random.default_rng(seed)
    memory = Hippocampus(CONFIG, N_INPUT)
    a = random_input(rng)
    active = np.flatnonzero(a)
    shared = rng.choice(active, int(round(0.7 * active.size)), replace=False)
    b = np.zeros(N_INPUT)
    b[shared] = a[shared]
    others = rng.choice(np.setdiff1d(np.arange(N_INPUT), active), active.size - shared.size, replace=False)
    b[others] = 0.5 + rng.random(others.size)
    c = random_input(rng)
    input_overlap = overlap(active, np.flatnonzero(b))
    assert input_overlap == pytest.approx(0.7, abs=0.01)
    similar = overlap(memory.dentate(a), memory.dentate(b))
    dissimilar = overlap(memory.dentate(a), memory.dentate(c))
    assert dissimilar < similar < input_overlap


def test_store_and_recall_label(loaded):
    memory, inputs, _ = loaded
    rng = np.random.default_rng(4)
    for i, x in enumerate(inputs):
        for cue in (x, degrade(x, 0.3, 5, rng)):
            found = memory.recall(cue)
            assert found.label == i % CONFIG.n_labels
            assert found.confidence > 0.5
            assert not found.stored


def test_stored_input_settles_into_its_pattern(loaded):
    memory, inputs, patterns = loaded
    for x, p in zip(inputs, patterns):
        assert p.size == CONFIG.k_ca3
        np.testing.assert_array_equal(memory.recall(x).ca3, p)


def test_novelty_low_for_stored_high_for_new(loaded):
    memory, inputs, _ = loaded
    rng = np.random.default_rng(8)
    for x in inputs:
        assert memory.recall(x).novelty < 0.3
        assert memory.recall(degrade(x, 0.3, 5, rng)).novelty < 0.3
    for _ in range(10):
        found = memory.recall(random_input(rng))
        assert found.novelty > 0.4
        assert 0.0 <= found.novelty <= 1.0


def test_recall_with_nothing_stored():
    memory = Hippocampus(CONFIG, N_INPUT)
    found = memory.recall(random_input(np.random.default_rng(0)))
    assert found.label == -1 and found.novelty == 1.0 and found.confidence == 0.0
    assert found.ca3.size == 0 and not found.stored
    assert memory.n_stored == 0


def test_observe_stores_novel_once():
    memory = Hippocampus(CONFIG, N_INPUT)
    rng = np.random.default_rng(13)
    x = random_input(rng)
    first = memory.observe(x, label=3)
    assert first.stored and memory.n_stored == 1
    second = memory.observe(x, label=3)
    assert not second.stored and memory.n_stored == 1
    assert second.label == 3 and second.novelty < CONFIG.novelty_threshold
    y = random_input(rng)
    third = memory.observe(y, label=4)
    assert third.stored and memory.n_stored == 2
    assert memory.recall(y).label == 4


def test_observe_without_allow_store_never_stores():
    memory = Hippocampus(CONFIG, N_INPUT)
    rng = np.random.default_rng(14)
    for _ in range(5):
        found = memory.observe(random_input(rng), label=1, allow_store=False)
        assert not found.stored
    assert memory.n_stored == 0
    assert not memory.perforant.any() and not memory.readout.any() and not memory.ca3.recurrent.any()


def test_state_restore_round_trip(loaded):
    memory, inputs, _ = loaded
    fresh = Hippocampus(CONFIG, N_INPUT)
    fresh.restore(memory.state())
    assert fresh.n_stored == memory.n_stored
    rng = np.random.default_rng(17)
    cues = [degrade(x, 0.3, 5, rng) for x in inputs[:6]] + [random_input(rng) for _ in range(3)]
    for cue in cues:
        a, b = memory.recall(cue), fresh.recall(cue)
        assert (a.label, a.confidence, a.novelty, a.steps) == (b.label, b.confidence, b.novelty, b.steps)
        np.testing.assert_array_equal(a.ca3, b.ca3)


def test_state_is_a_copy(loaded):
    memory, _, _ = loaded
    state = memory.state()
    state["perforant"][:] = 0
    state["ca3_recurrent"][:] = 0
    assert memory.perforant.any() and memory.ca3.recurrent.any()


@pytest.mark.parametrize("key, name", [("perforant", "perforant"), ("ca1_readout", "ca1_readout"),
                                       ("ca3_recurrent", "recurrent")])
def test_restore_wrong_shape_names_the_array(loaded, key, name):
    memory, _, _ = loaded
    fresh = Hippocampus(CONFIG, N_INPUT)
    state = memory.state()
    state[key] = np.zeros((3, 2), dtype=np.uint8)
    with pytest.raises(ValueError, match=name):
        fresh.restore(state)
    assert fresh.n_stored == 0 and not fresh.perforant.any() and not fresh.ca3.recurrent.any()


@pytest.mark.parametrize("method", ["recall", "store", "observe", "dentate", "entorhinal"])
@pytest.mark.parametrize("bad", [np.zeros(N_INPUT - 1), np.zeros((2, N_INPUT)),
                                 np.where(np.arange(N_INPUT) == 5, -1.0, 0.0),
                                 np.where(np.arange(N_INPUT) == 5, np.nan, 0.0),
                                 np.where(np.arange(N_INPUT) == 5, np.inf, 0.0)],
                         ids=["short", "2d", "negative", "nan", "inf"])
def test_input_validation(method, bad):
    memory = Hippocampus(CONFIG, N_INPUT)
    with pytest.raises(ValueError, match="hippocampus"):
        getattr(memory, method)(bad)
    assert memory.n_stored == 0


def test_store_rejects_bad_label():
    memory = Hippocampus(CONFIG, N_INPUT)
    with pytest.raises(ValueError, match="label"):
        memory.store(random_input(np.random.default_rng(0)), label=CONFIG.n_labels)
    assert memory.n_stored == 0


@pytest.mark.parametrize("key, value", [
    ("n_dg", 0), ("dg_fan_in", -3), ("n_ca3", 2.5), ("mossy_fan_in", True), ("max_steps", 0),
    ("n_labels", 0), ("dg_sparsity", 0.0), ("ca3_sparsity", 1.5), ("ca3_sparsity", 0.0),
    ("ec_sparsity", -0.1), ("novelty_threshold", 2.0), ("cue_gain", -0.1), ("mossy_fan_in", 5000),
])
def test_config_validation_names_the_key(key, value):
    with pytest.raises(ValueError, match=f"hippocampus.{key}"):
        HippocampusConfig(**{key: value})


def test_hippocampus_rejects_empty_input_size():
    with pytest.raises(ValueError):
        Hippocampus(CONFIG, 0)


def test_same_seed_same_wiring_and_recollections():
    config = replace(CONFIG, seed=7)
    a, b = Hippocampus(config, N_INPUT), Hippocampus(config, N_INPUT)
    for name in ("dg_fan_in_ids", "mossy_fan_in_ids", "input_priority", "dg_priority"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.ca3.priority, b.ca3.priority)
    rng = np.random.default_rng(2)
    inputs = [random_input(rng) for _ in range(5)]
    for i, x in enumerate(inputs):
        np.testing.assert_array_equal(a.store(x, i), b.store(x, i))
    cues = [degrade(x, 0.3, 5, rng) for x in inputs] + [random_input(rng)]
    for cue in cues:
        ra, rb = a.recall(cue), b.recall(cue)
        assert (ra.label, ra.confidence, ra.novelty, ra.steps) == (rb.label, rb.confidence, rb.novelty, rb.steps)
        np.testing.assert_array_equal(ra.ca3, rb.ca3)
    other = Hippocampus(replace(CONFIG, seed=8), N_INPUT)
    assert not np.array_equal(a.dg_fan_in_ids, other.dg_fan_in_ids)
