"""``neuroedge bench memory``: the hippocampal memory's capacity, noise tolerance, novelty and speed.

- ``recall_vs_load``: P random patterns (5 % of 1000 CA3 cells active) stored one-shot each; recall from
  cues with half of each pattern's active cells removed and ``noise_fraction`` * k wrong cells added;
  correct when at least 90 % of the pattern is recovered with at most 10 % of k extra cells. Beside it, at
  the same size and on the same cues: a classical Willshaw memory (same clipped synapses, one synchronous
  step choosing the k most driven), a classical Hopfield network (±1 Hebbian weights, sign dynamics) and
  a sparse covariance-rule Hopfield network (graded weights, k-winners steps).
- ``noisy_classification``: one event window per shape stored with its label; held-out windows of the
  same shapes (later in the motion) classified with a fraction of random noise events added, beside a
  nearest-template classifier on the same pooled counts without memory.
- ``novelty_auc``: novelty of stored inputs presented again (degraded) against new inputs (degraded the
  same way), as the area under the ROC curve; also for seen and unseen shapes.
- ``store_ms``, ``recall_ms``: one store and one recall of the 1000-cell CA3 (median of many calls).
- ``end_to_end``: the memory as the daemon uses it, per load: random inputs (10 % of 512 active) stored
  through DG with a label each, recalled from degraded copies (30 % of the active inputs silenced, 20 %
  noise inputs added) through the perforant path: CA3 pattern recall (as ``recall_vs_load`` judges it),
  CA1 label accuracy, novelty AUC (stored against new inputs, degraded alike), store and recall times.
  ``end_to_end_max_load``: the largest load up to which the label accuracy stays >= 0.95.
- ``engine_end_to_end``: the same task recalled on a back end (the stored memory exported as a NetworkSpec,
  ``EngineRecall``) beside the kernels on the same cues; ``engine_end_to_end_max_load`` likewise.
- ``shapes_vs_stored``: the real-event task at increasing numbers of stored windows (the four stored
  shapes' consecutive windows, 1 ms event frames pooled on a 16 x 16 grid): later windows with 10 % noise
  events classified, and novelty of the two never-stored shapes against them.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from snn.memory.hippocampus import CA3Memory, Hippocampus, HippocampusConfig

TICK_US = 1000
SHAPE_SCENE_KEYS = {"size_px": 40, "jitter_px": 2.0, "rotation_deg_per_frame": 0.0}
"""The shapes of ``noisy_classification``: large, jittering, not rotating (a rotated template is another
pattern; rotation invariance is not what this measures)."""
LOADS = (0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.8, 1.0)
END_TO_END_LOADS = (0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 1.0)
DEGRADE_DROP, DEGRADE_NOISE = 0.3, 0.2
"""How ``end_to_end`` degrades a stored input: the fraction of its active inputs silenced, and noise inputs
added as a fraction of its active count."""


def degraded_cue(pattern: np.ndarray, n: int, keep_fraction: float, n_noise: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Keep ``keep_fraction`` of the pattern's cells and add ``n_noise`` cells outside it."""
    keep = rng.choice(pattern, int(round(keep_fraction * pattern.size)), replace=False)
    outside = np.setdiff1d(np.arange(n), pattern, assume_unique=True)
    return np.concatenate([keep, rng.choice(outside, n_noise, replace=False)])


def willshaw_one_step(recurrent: np.ndarray, cue: np.ndarray, k: int) -> np.ndarray:
    """Classical Willshaw retrieval: dendritic sums from the cue, the k largest fire (ties by index)."""
    drive = recurrent[cue].sum(axis=0, dtype=np.int64)
    return np.argsort(-drive, kind="stable")[:k]


class Hopfield:
    """Classical Hopfield network (±1 units, Hebbian outer-product weights, zero diagonal, sign updates)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.weights = np.zeros((n, n), dtype=np.float32)

    def store_all(self, patterns: np.ndarray) -> None:
        spins = (2.0 * patterns - 1.0).astype(np.float32)
        self.weights = spins.T @ spins / self.n
        np.fill_diagonal(self.weights, 0.0)

    def recall(self, cue: np.ndarray, steps: int = 10) -> np.ndarray:
        state = -np.ones(self.n, dtype=np.float32)
        state[cue] = 1.0
        for _ in range(steps):
            new = np.where(self.weights @ state >= 0.0, 1.0, -1.0).astype(np.float32)
            if np.array_equal(new, state):
                break
            state = new
        return np.flatnonzero(state > 0)


class CovarianceHopfield:
    """Sparse Hopfield network with the covariance rule (Tsodyks & Feigelman 1988): real-valued weights
    sum over patterns of (xi - a)(xi - a)^T, recall by k-winners-take-all steps. Its synapses hold graded
    values (many bits each), against one bit per synapse in CA3 and Willshaw."""

    def __init__(self, n: int, k: int) -> None:
        self.n, self.k = n, k
        self.weights = np.zeros((n, n), dtype=np.float32)

    def store_all(self, patterns: np.ndarray) -> None:
        centred = (patterns - self.k / self.n).astype(np.float32)
        self.weights = centred.T @ centred
        np.fill_diagonal(self.weights, 0.0)

    def recall(self, cue: np.ndarray, steps: int = 10) -> np.ndarray:
        active = np.sort(cue)
        for _ in range(steps):
            new = np.sort(np.argsort(-self.weights[active].sum(axis=0), kind="stable")[:self.k])
            if np.array_equal(new, active):
                break
            active = new
        return active


def recall_correct(recalled: np.ndarray, pattern: np.ndarray, k: int) -> bool:
    """At least 90 % of the pattern recovered and at most 10 % of k extra cells."""
    hits = np.intersect1d(recalled, pattern).size
    return hits >= 0.9 * k and recalled.size - hits <= 0.1 * k


def recall_vs_load(n: int = 1000, sparsity: float = 0.05, loads=LOADS, keep_fraction: float = 0.5,
                   noise_fraction: float = 0.2, n_test: int = 200, seed: int = 0,
                   log: Callable[[str], None] = print) -> dict:
    """Recall accuracy per load (patterns per CA3 cell) for the CA3 memory, Willshaw and Hopfield."""
    k = int(round(sparsity * n))
    out = {"n_ca3": n, "k": k, "cue_kept_fraction": keep_fraction, "cue_noise_cells": int(noise_fraction * k),
           "loads": list(loads), "ca3": [], "willshaw": [], "hopfield": [],
           "hopfield_covariance": []}
    for load in loads:
        rng = np.random.default_rng(seed)
        n_patterns = max(1, int(round(load * n)))
        patterns = np.stack([np.sort(rng.choice(n, k, replace=False)) for _ in range(n_patterns)])
        memory = CA3Memory(n, k, seed=seed)
        for p in patterns:
            memory.store(p)
        dense = np.zeros((n_patterns, n), dtype=np.float32)
        np.put_along_axis(dense, patterns, 1.0, axis=1)
        hopfield = Hopfield(n)
        hopfield.store_all(dense)
        covariance = CovarianceHopfield(n, k)
        covariance.store_all(dense)
        tested = rng.choice(n_patterns, min(n_test, n_patterns), replace=False)
        scores = {"ca3": 0, "willshaw": 0, "hopfield": 0, "hopfield_covariance": 0}
        for i in tested:
            cue = degraded_cue(patterns[i], n, keep_fraction, int(noise_fraction * k), rng)
            scores["ca3"] += recall_correct(memory.recall(cue), patterns[i], k)
            scores["willshaw"] += recall_correct(willshaw_one_step(memory.recurrent, cue, k), patterns[i], k)
            scores["hopfield"] += recall_correct(hopfield.recall(cue), patterns[i], k)
            scores["hopfield_covariance"] += recall_correct(covariance.recall(cue), patterns[i], k)
        for name, value in scores.items():
            out[name].append(round(value / len(tested), 4))
        log(f"bench memory: load {load:.2f} ({n_patterns} patterns): CA3 {out['ca3'][-1]:.3f}, "
            f"Willshaw {out['willshaw'][-1]:.3f}, Hopfield {out['hopfield'][-1]:.3f}, "
            f"covariance Hopfield {out['hopfield_covariance'][-1]:.3f}")
    return out


def max_load(loads, accuracy, level: float = 0.95) -> float:
    """The largest load up to which every tested load reaches ``level``."""
    best = 0.0
    for load, acc in zip(loads, accuracy):
        if acc < level:
            break
        best = load
    return best


def roc_auc(novel_scores: np.ndarray, familiar_scores: np.ndarray) -> float:
    """Probability that a novel input scores higher novelty than a familiar one (ties count half)."""
    novel = np.asarray(novel_scores, dtype=np.float64)[:, None]
    familiar = np.asarray(familiar_scores, dtype=np.float64)[None, :]
    return float((novel > familiar).mean() + 0.5 * (novel == familiar).mean())


def random_inputs(n_input: int, n: int, active: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` sparse non-negative input vectors: ``active`` of the cells with activity in (0.5, 1.5)."""
    x = np.zeros((n, n_input))
    for row in x:
        ids = rng.choice(n_input, int(active * n_input), replace=False)
        row[ids] = 0.5 + rng.random(ids.size)
    return x


def degrade_input(x: np.ndarray, drop: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Silence ``drop`` of the active inputs and activate ``noise`` * (active count) silent ones."""
    y = x.copy()
    active = np.flatnonzero(y > 0)
    y[rng.choice(active, int(drop * active.size), replace=False)] = 0.0
    silent = np.flatnonzero(x == 0)
    y[rng.choice(silent, int(noise * active.size), replace=False)] = 0.5 + rng.random(int(noise * active.size))
    return y


def novelty_random(config: HippocampusConfig, n_input: int = 512, n_stored: int = 100, seed: int = 0) -> dict:
    """Novelty AUC on random inputs: stored ones (degraded: 30 % dropped, 20 % noise) against new ones."""
    rng = np.random.default_rng(seed)
    memory = Hippocampus(config, n_input)
    stored = random_inputs(n_input, n_stored, 0.1, rng)
    for i, x in enumerate(stored):
        memory.store(x, i % config.n_labels)
    new = random_inputs(n_input, n_stored, 0.1, rng)
    familiar = [memory.recall(degrade_input(x, 0.3, 0.2, rng)).novelty for x in stored]
    novel = [memory.recall(degrade_input(x, 0.3, 0.2, rng)).novelty for x in new]
    return {"auc": round(roc_auc(np.array(novel), np.array(familiar)), 4),
            "familiar_mean": round(float(np.mean(familiar)), 4), "novel_mean": round(float(np.mean(novel)), 4)}


def end_to_end(config: HippocampusConfig, loads=END_TO_END_LOADS, n_input: int = 512, n_test: int = 200,
               seed: int = 0, log: Callable[[str], None] = print) -> dict:
    """The whole memory per load (patterns per CA3 cell): random inputs stored with labels ``i % n_labels``,
    ``n_test`` of them recalled from degraded copies; novelty against as many new inputs degraded alike.
    Store and recall times are medians over the run (ms)."""
    out = {"load": [], "ca3_recall": [], "label_accuracy": [], "novelty_auc": [], "store_ms": [], "recall_ms": [],
           "n_input": n_input, "n_test": n_test, "dropped": DEGRADE_DROP, "noise": DEGRADE_NOISE}
    for load in loads:
        rng = np.random.default_rng(seed)
        memory = Hippocampus(config, n_input)
        inputs = random_inputs(n_input, max(1, int(round(load * config.n_ca3))), 0.1, rng)
        patterns, store_s = [], []
        for i, x in enumerate(inputs):
            t0 = time.perf_counter()
            patterns.append(memory.store(x, i % config.n_labels))
            store_s.append(time.perf_counter() - t0)
        tested = rng.choice(len(inputs), min(n_test, len(inputs)), replace=False)
        ca3 = labels = 0
        familiar, recall_s = [], []
        for i in tested:
            cue = degrade_input(inputs[i], DEGRADE_DROP, DEGRADE_NOISE, rng)
            t0 = time.perf_counter()
            found = memory.recall(cue)
            recall_s.append(time.perf_counter() - t0)
            ca3 += recall_correct(found.ca3, patterns[i], memory.ca3.k)
            labels += found.label == i % config.n_labels
            familiar.append(found.novelty)
        novel = [memory.recall(degrade_input(x, DEGRADE_DROP, DEGRADE_NOISE, rng)).novelty
                 for x in random_inputs(n_input, len(tested), 0.1, rng)]
        out["load"].append(load)
        out["ca3_recall"].append(round(ca3 / len(tested), 4))
        out["label_accuracy"].append(round(labels / len(tested), 4))
        out["novelty_auc"].append(round(roc_auc(np.array(novel), np.array(familiar)), 4))
        out["store_ms"].append(round(1e3 * float(np.median(store_s)), 4))
        out["recall_ms"].append(round(1e3 * float(np.median(recall_s)), 4))
        log(f"bench memory: end to end, load {load:.2f}: CA3 {out['ca3_recall'][-1]:.3f}, label "
            f"{out['label_accuracy'][-1]:.3f}, novelty AUC {out['novelty_auc'][-1]:.3f}, store "
            f"{out['store_ms'][-1]:.3f} ms, recall {out['recall_ms'][-1]:.3f} ms")
    return out


def engine_end_to_end(config: HippocampusConfig, loads=END_TO_END_LOADS, n_input: int = 512, n_test: int = 100,
                      seed: int = 0, backend_url: str = "numba", log: Callable[[str], None] = print) -> dict:
    """``end_to_end``'s labels with recall on the back end at ``backend_url`` (the memory exported as a
    NetworkSpec, snn.memory.hippocampus_spec), beside the kernels' labels for the same degraded cues."""
    from edge.backends import open_backend
    from snn.memory.hippocampus_spec import EngineRecall

    out = {"load": [], "label_accuracy": [], "kernels_label_accuracy": [], "ms_per_recall": [], "n_test": n_test}
    for load in loads:
        rng = np.random.default_rng(seed)
        memory = Hippocampus(config, n_input)
        inputs = random_inputs(n_input, max(1, int(round(load * config.n_ca3))), 0.1, rng)
        for i, x in enumerate(inputs):
            memory.store(x, i % config.n_labels)
        on_engine = EngineRecall(memory, open_backend(backend_url))
        tested = rng.choice(len(inputs), min(n_test, len(inputs)), replace=False)
        engine = kernels = 0
        elapsed = 0.0
        for i in tested:
            cue = degrade_input(inputs[i], DEGRADE_DROP, DEGRADE_NOISE, rng)
            t0 = time.perf_counter()
            engine += on_engine.recall(cue)[0] == i % config.n_labels
            elapsed += time.perf_counter() - t0
            kernels += memory.recall(cue).label == i % config.n_labels
        out["load"].append(load)
        out["label_accuracy"].append(round(engine / len(tested), 4))
        out["kernels_label_accuracy"].append(round(kernels / len(tested), 4))
        out["ms_per_recall"].append(round(1e3 * elapsed / len(tested), 2))
        log(f"bench memory: end to end on {backend_url}, load {load:.2f}: label {out['label_accuracy'][-1]:.3f} "
            f"(kernels {out['kernels_label_accuracy'][-1]:.3f}), {out['ms_per_recall'][-1]:.1f} ms per recall")
    return out


def timing(n: int = 1000, sparsity: float = 0.05, load: float = 0.3, repeats: int = 300, seed: int = 0) -> dict:
    """Median wall time of one store and one recall (degraded cue) at ``load``, 1000 CA3 cells."""
    rng = np.random.default_rng(seed)
    k = int(round(sparsity * n))
    memory = CA3Memory(n, k, seed=seed)
    patterns = [np.sort(rng.choice(n, k, replace=False)) for _ in range(int(load * n) + repeats)]
    for p in patterns[:int(load * n)]:
        memory.store(p)
    memory.recall(patterns[0])
    store_s, recall_s = [], []
    for p in patterns[int(load * n):]:
        t0 = time.perf_counter()
        memory.store(p)
        store_s.append(time.perf_counter() - t0)
    for p in patterns[:repeats]:
        cue = degraded_cue(p, n, 0.5, int(0.2 * k), rng)
        t0 = time.perf_counter()
        memory.recall(cue)
        recall_s.append(time.perf_counter() - t0)
    return {"store_ms": round(1e3 * float(np.median(store_s)), 4),
            "recall_ms": round(1e3 * float(np.median(recall_s)), 4)}


def _shape_scene_config():
    from sensors.simulated.shapes import ShapeSceneConfig

    return ShapeSceneConfig(**SHAPE_SCENE_KEYS)


def shape_vectors(shapes: tuple[str, ...], windows: int, window_us: int, noise: float, grid: int, seed: int,
                  skip: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Input spike counts (the event encoder's 2 * grid * grid input neurons at 1 ms ticks, summed over the
    window) of ``windows`` windows per shape after ``skip`` windows, with ``noise`` * events random noise
    events added."""
    from sensors.simulated.shapes import ShapeScene, add_noise_events
    from snn.encoding.encode_events import EventPooler, PoolingConfig

    rng = np.random.default_rng(seed + 7919)
    vectors, labels = [], []
    for label, shape in enumerate(shapes):
        scene = ShapeScene(shape, _shape_scene_config(), seed=seed)
        pooler = EventPooler(PoolingConfig(grid_w=grid, grid_h=grid), scene.geometry, TICK_US)
        for w in range(skip + windows):
            batch = scene.window(window_us)
            if w < skip:
                continue
            t0 = scene.time_us - window_us
            noisy = add_noise_events(batch, noise, rng)
            frames = pooler.encode(noisy, t0, window_us // TICK_US)
            vectors.append(frames.counts(pooler.n_inputs).astype(np.float64))
            labels.append(label)
    return np.array(vectors), np.array(labels)


def nearest_template(templates: np.ndarray, x: np.ndarray) -> int:
    """The template with the largest cosine similarity to ``x`` (the classifier without memory)."""
    norms = np.linalg.norm(templates, axis=1) * max(np.linalg.norm(x), 1e-12)
    return int(np.argmax(templates @ x / np.maximum(norms, 1e-12)))


def noisy_classification(config: HippocampusConfig, noise_levels=(0.0, 0.1, 0.2, 0.3, 0.5, 1.0),
                         test_windows: int = 30,
                         window_us: int = 50_000, grid: int = 16, seeds=(0, 1, 2),
                         log: Callable[[str], None] = print) -> dict:
    """One exemplar window per shape stored (label in CA1); held-out windows of the same motion, later in
    time, classified under added noise events; nearest template on the same pooled counts beside it.
    Novelty of the held-out windows of stored shapes against windows of shapes never stored."""
    from sensors.simulated.shapes import SHAPES

    stored_shapes, unseen_shapes = SHAPES[:4], SHAPES[4:]
    memory_acc = {f"{f:.1f}": [] for f in noise_levels}
    template_acc = {f"{f:.1f}": [] for f in noise_levels}
    familiar, novel = [], []
    for seed in seeds:
        exemplars, labels = shape_vectors(stored_shapes, 1, window_us, 0.0, grid, seed)
        memory = Hippocampus(config, exemplars.shape[1])
        for x, label in zip(exemplars, labels):
            memory.store(x, int(label))
        for f in noise_levels:
            xs, ys = shape_vectors(stored_shapes, test_windows, window_us, f, grid, seed, skip=2)
            recalled = np.array([memory.recall(x).label for x in xs])
            templated = np.array([nearest_template(exemplars, x) for x in xs])
            memory_acc[f"{f:.1f}"].append(float((recalled == ys).mean()))
            template_acc[f"{f:.1f}"].append(float((templated == ys).mean()))
            if f == 0.1:
                familiar += [memory.recall(x).novelty for x in xs]
                others, _ = shape_vectors(unseen_shapes, test_windows, window_us, f, grid, seed, skip=2)
                novel += [memory.recall(x).novelty for x in others]
        log(f"bench memory: shapes seed {seed}: memory " + ", ".join(
            f"{k} {v[-1]:.3f}" for k, v in memory_acc.items()) + " | template " + ", ".join(
            f"{k} {v[-1]:.3f}" for k, v in template_acc.items()))
    return {
        "memory": {k: round(float(np.mean(v)), 4) for k, v in memory_acc.items()},
        "nearest_template": {k: round(float(np.mean(v)), 4) for k, v in template_acc.items()},
        "novelty_auc_shapes": round(roc_auc(np.array(novel), np.array(familiar)), 4),
        "classes": list(stored_shapes), "unseen_classes": list(unseen_shapes), "test_windows_per_class": test_windows,
        "window_ms": window_us / 1000, "input_neurons": 2 * grid * grid, "seeds": list(seeds),
        "scene": SHAPE_SCENE_KEYS,
    }


def shapes_vs_stored(config: HippocampusConfig, windows_per_shape=(1, 4, 16, 64), test_windows: int = 20,
                     window_us: int = 50_000, grid: int = 16, noise: float = 0.1, seed: int = 0,
                     log: Callable[[str], None] = print) -> dict:
    """The shape task at increasing numbers of stored windows: each of the four stored shapes' first
    ``w`` windows stored with its label; the ``test_windows`` windows after them (2 skipped), with ``noise``
    * events noise events added, classified; novelty of the never-stored shapes' windows against them."""
    from sensors.simulated.shapes import SHAPES

    stored_shapes, unseen_shapes = SHAPES[:4], SHAPES[4:]
    out = {"stored": [], "load": [], "label_accuracy": [], "novelty_auc": [], "noise": noise,
           "classes": list(stored_shapes), "unseen_classes": list(unseen_shapes)}
    for w in windows_per_shape:
        exemplars, labels = shape_vectors(stored_shapes, w, window_us, 0.0, grid, seed)
        memory = Hippocampus(config, exemplars.shape[1])
        for x, label in zip(exemplars, labels):
            memory.store(x, int(label))
        xs, ys = shape_vectors(stored_shapes, test_windows, window_us, noise, grid, seed, skip=w + 2)
        others, _ = shape_vectors(unseen_shapes, test_windows, window_us, noise, grid, seed, skip=w + 2)
        found = [memory.recall(x) for x in xs]
        novel = [memory.recall(x).novelty for x in others]
        out["stored"].append(int(len(exemplars)))
        out["load"].append(round(len(exemplars) / config.n_ca3, 4))
        out["label_accuracy"].append(round(float(np.mean([f.label == y for f, y in zip(found, ys)])), 4))
        out["novelty_auc"].append(round(roc_auc(np.array(novel), np.array([f.novelty for f in found])), 4))
        log(f"bench memory: shapes, {len(exemplars)} windows stored: label {out['label_accuracy'][-1]:.3f}, "
            f"novelty AUC {out['novelty_auc'][-1]:.3f}")
    return out


def memory_benchmark(config: HippocampusConfig | None = None,
                     log: Callable[[str], None] = print, backend_url: str = "numba") -> dict:
    """Everything ``bench memory --json`` prints; the engine recall runs on the back end at ``backend_url``."""
    config = config or HippocampusConfig()
    t0 = time.perf_counter()
    loads = recall_vs_load(n=config.n_ca3, sparsity=config.ca3_sparsity, log=log)
    classification = noisy_classification(config, log=log)
    novelty = novelty_random(config)
    log(f"bench memory: novelty AUC {novelty['auc']:.3f} (random inputs), "
        f"{classification['novelty_auc_shapes']:.3f} (shapes)")
    speed = timing(n=config.n_ca3, sparsity=config.ca3_sparsity)
    whole = end_to_end(config, log=log)
    whole_engine = engine_end_to_end(config, backend_url=backend_url, log=log)
    shapes = shapes_vs_stored(config, log=log)
    return {
        "recall_vs_load": loads,
        "max_load_95": max_load(loads["loads"], loads["ca3"]),
        "max_load_95_willshaw": max_load(loads["loads"], loads["willshaw"]),
        "max_load_95_hopfield": max_load(loads["loads"], loads["hopfield"]),
        "max_load_95_hopfield_covariance": max_load(loads["loads"], loads["hopfield_covariance"]),
        "noisy_classification": classification["memory"],
        "noisy_classification_nearest_template": classification["nearest_template"],
        "noisy_classification_setup": {k: v for k, v in classification.items()
                                       if k not in ("memory", "nearest_template", "novelty_auc_shapes")},
        "novelty_auc": novelty["auc"],
        "novelty_random": novelty,
        "novelty_auc_shapes": classification["novelty_auc_shapes"],
        **speed,
        "end_to_end": whole,
        "end_to_end_max_load": max_load(whole["load"], whole["label_accuracy"]),
        "engine_end_to_end": whole_engine,
        "engine_end_to_end_max_load": max_load(whole_engine["load"], whole_engine["label_accuracy"]),
        "shapes_vs_stored": shapes,
        "n_ca3": config.n_ca3, "wall_s": round(time.perf_counter() - t0, 2),
    }


def plot_memory(summary: dict, path: str) -> None:
    """Recall accuracy against load for the four CA3-alone memories and the whole memory end to end (kernels
    and spiking engine), and classification against added noise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loads = summary["recall_vs_load"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, name in (("ca3", "CA3 attractor (1-bit synapses)"), ("willshaw", "Willshaw, one step"),
                      ("hopfield", "classical Hopfield"), ("hopfield_covariance", "covariance Hopfield (graded)")):
        left.plot(loads["loads"], loads[key], marker="o", label=name)
    for key, name in (("end_to_end", "whole memory, degraded inputs: labels"),
                      ("engine_end_to_end", "whole memory on the spiking engine: labels")):
        left.plot(summary[key]["load"], summary[key]["label_accuracy"], marker="^", ls="--", label=name)
    left.axhline(0.95, color="grey", lw=0.8, ls="--")
    left.set_xlabel("load (patterns per CA3 cell)")
    left.set_ylabel("correct recall")
    left.set_title(f"{loads['n_ca3']} cells, {loads['k']} active; cue: half the pattern + "
                   f"{loads['cue_noise_cells']} wrong cells", fontsize=9)
    left.legend(fontsize=8)
    noise = list(summary["noisy_classification"])
    right.plot([float(f) for f in noise], list(summary["noisy_classification"].values()), marker="o",
               label="hippocampus (DG-CA3-CA1)")
    right.plot([float(f) for f in noise], list(summary["noisy_classification_nearest_template"].values()),
               marker="s", label="nearest template")
    right.set_xlabel("added noise events (fraction of the window's events)")
    right.set_ylabel("accuracy")
    right.set_ylim(0, 1.05)
    right.set_title("shapes, one stored exemplar each", fontsize=9)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
