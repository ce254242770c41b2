"""Guards of README "Hippocampal memory": recall through the whole memory (input -> DG -> CA3 to store, a
degraded input -> perforant path -> CA3 settling -> CA1 to recall) at a stated load, which the attractor's
settling carries (cut to one step, recall fails); the bare CA3 attractor at 0.5 patterns per cell
(`max_load_95`); novelty of stored against new inputs (novelty AUC 1.000)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from edge.bench.memory import degrade_input, novelty_random, random_inputs, recall_vs_load
from snn.memory.hippocampus import CA3Memory, Hippocampus, HippocampusConfig

N_INPUT = 512
LOAD = 0.22  # patterns per CA3 cell, through the whole memory


def whole_memory_recall(max_steps: int, n_test: int = 60) -> tuple[float, float]:
    """(fraction of degraded cues whose settled CA3 set holds >= 90 % of the stored set, label accuracy)."""
    config = replace(HippocampusConfig(), max_steps=max_steps)
    rng = np.random.default_rng(0)
    memory = Hippocampus(config, N_INPUT)
    inputs = random_inputs(N_INPUT, int(LOAD * config.n_ca3), 0.1, rng)
    stored = [memory.store(x, i % config.n_labels) for i, x in enumerate(inputs)]
    patterns = labels = 0
    for i in range(n_test):
        found = memory.recall(degrade_input(inputs[i], 0.3, 0.2, rng))  # 30 % of the input dropped, 20 % noise
        patterns += np.intersect1d(found.ca3, stored[i]).size >= 0.9 * config.k_ca3
        labels += found.label == i % config.n_labels
    return patterns / n_test, labels / n_test


def test_whole_memory_recalls_degraded_inputs_at_load_0_22():
    patterns, labels = whole_memory_recall(HippocampusConfig().max_steps)
    assert patterns >= 0.95 and labels >= 0.95, (patterns, labels)


def test_whole_memory_recall_needs_the_attractor_to_settle():
    patterns, _ = whole_memory_recall(max_steps=1)
    assert patterns <= 0.75, patterns


def test_ca3_attractor_holds_half_a_pattern_per_cell_and_one_step_does_not():
    result = recall_vs_load(loads=(0.5,), n_test=100, log=lambda m: None)
    assert result["ca3"][0] >= 0.95, result["ca3"]
    rng = np.random.default_rng(0)
    n, k = 1000, 50
    one_step = CA3Memory(n, k, max_steps=1)
    patterns = [np.sort(rng.choice(n, k, replace=False)) for _ in range(500)]
    for p in patterns:
        one_step.store(p)
    hits = 0
    for p in patterns[:100]:
        cue = np.concatenate((p[: k // 2], rng.choice(np.setdiff1d(np.arange(n), p), 10, replace=False)))
        hits += np.intersect1d(one_step.recall(np.sort(cue)), p).size >= 0.9 * k
    assert hits / 100 <= 0.5, hits


def test_stored_inputs_are_familiar_and_new_ones_novel():
    assert novelty_random(HippocampusConfig(), N_INPUT)["auc"] >= 0.95
