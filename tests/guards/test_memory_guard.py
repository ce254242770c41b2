"""Guards of README "Hippocampal memory": recall through the whole memory (input -> DG -> CA3 to store, a
degraded input -> perforant path -> CA3 settling -> CA1 to recall) up to its stated end-to-end limit (labels
>= 0.95 at 0.55 patterns per CA3 cell, novelty AUC >= 0.95), which the counting perforant path carries (binary,
recall fails) and the attractor's settling completes (cut to one step, pattern recall fails); the status
table of expected quality against a fresh measurement; the spiking engine's end-to-end figures; the bare CA3
attractor at 0.5 patterns per cell (`max_load_95`); novelty of stored against new inputs (AUC 1.000)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from edge.bench.memory import (
    degrade_input, end_to_end, engine_end_to_end, novelty_random, random_inputs, recall_vs_load,
)
from edge.config import MemoryConfig
from edge.memory_stage import expected_quality
from snn.memory.hippocampus import CA3Memory, Hippocampus, HippocampusConfig

N_INPUT = 512
LIMIT = 0.55  # README: end_to_end_max_load, patterns per CA3 cell


def whole_memory_recall(max_steps: int = 10, load: float = LIMIT, n_test: int = 60,
                        binary_perforant: bool = False) -> tuple[float, float]:
    """(fraction of degraded cues whose settled CA3 set holds >= 90 % of the stored set, label accuracy)."""
    config = replace(HippocampusConfig(), max_steps=max_steps)
    rng = np.random.default_rng(0)
    memory = Hippocampus(config, N_INPUT)
    inputs = random_inputs(N_INPUT, int(load * config.n_ca3), 0.1, rng)
    stored = [memory.store(x, i % config.n_labels) for i, x in enumerate(inputs)]
    if binary_perforant:  # what the perforant path was before it counted: one bit per synapse
        memory.restore({**memory.state(), "perforant": np.minimum(memory.perforant, 1)})
    patterns = labels = 0
    for i in range(n_test):
        found = memory.recall(degrade_input(inputs[i], 0.3, 0.2, rng))  # 30 % of the input dropped, 20 % noise
        patterns += np.intersect1d(found.ca3, stored[i]).size >= 0.9 * config.k_ca3
        labels += found.label == i % config.n_labels
    return patterns / n_test, labels / n_test


def test_whole_memory_holds_its_end_to_end_limit_on_degraded_inputs():
    result = end_to_end(HippocampusConfig(), loads=(0.3, LIMIT), n_test=80, log=lambda m: None)
    assert min(result["label_accuracy"]) >= 0.95, result["label_accuracy"]
    assert min(result["novelty_auc"]) >= 0.95, result["novelty_auc"]
    assert result["ca3_recall"][0] >= 0.95, result["ca3_recall"]
    assert max(result["store_ms"]) < 1 and max(result["recall_ms"]) < 1


def test_whole_memory_recall_needs_the_counting_perforant_path():
    _, labels = whole_memory_recall(binary_perforant=True)
    assert labels <= 0.5, labels


def test_whole_memory_recall_needs_the_attractor_to_settle():
    patterns, _ = whole_memory_recall(max_steps=1)
    assert patterns <= 0.75, patterns


def test_the_daemon_default_stays_below_the_limit_and_status_tells_the_measured_quality():
    assert MemoryConfig().max_load <= LIMIT - 0.05
    measured = end_to_end(HippocampusConfig(), loads=(0.3, 0.6), n_test=100, log=lambda m: None)
    for load, labels, auc in zip(measured["load"], measured["label_accuracy"], measured["novelty_auc"]):
        want_labels, want_auc = expected_quality(load)
        assert abs(labels - want_labels) <= 0.05 and abs(auc - want_auc) <= 0.05, (load, labels, auc)


def test_spiking_engine_recalls_degraded_inputs_near_the_kernels():
    result = engine_end_to_end(HippocampusConfig(), loads=(0.3, 0.5), n_test=40, log=lambda m: None)
    assert result["label_accuracy"][0] >= 0.95 and result["label_accuracy"][1] >= 0.9, result


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
