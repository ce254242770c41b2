"""Learning benchmark: the tracking task learned on-line from random weights, against learning off and a hand-wired net.

On target = fraction of ticks with the target inside the central window, over the final part of each run.
"""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from controllers.tracking import reference_weights
from edge.config import Config
from edge.pipeline import build_pipeline

MODES = ("learning", "frozen", "reference")


def run_one(config: Config, seed: int, mode: str, sim_seconds: float) -> dict:
    """Closed-loop run of one seed and mode; on-target fraction per simulated second and the final weights."""
    run = config.run
    initial = reference_weights(config.network, config.encoder.grid_w, config.encoder.grid_h) if mode == "reference" else None
    pipeline = build_pipeline(config, seed=seed, learning=(mode == "learning"), initial_weights=initial)
    blocks_per_s = round(1e6 / (run.dt_us * run.block_ticks))
    n_seconds = int(sim_seconds)
    curve = np.zeros(n_seconds)
    start = time.perf_counter()
    for second in range(n_seconds):
        hits = 0
        for _ in range(blocks_per_s):
            pipeline.step()
            hits += round(pipeline.last_score["on_target"] * run.block_ticks)  # the task's score: ticks on target
        curve[second] = hits / (blocks_per_s * run.block_ticks)
    wall_s = time.perf_counter() - start
    return {"seed": seed, "mode": mode, "curve": curve, "wall_s": wall_s, "weights": input_weights(pipeline.backend)}


def input_weights(backend) -> np.ndarray:
    """The learned input -> motor weights (mV, one per synapse in the spec's order)."""
    return backend.read("projection/input_motor/weight_mv")


def _job(args: tuple) -> dict:
    return run_one(*args)


def tracking_benchmark(config: Config, seeds: int, sim_seconds: float, final_s: float, jobs: int) -> dict:
    """Run every seed in the three modes (``jobs`` processes); return the benchmark's JSON-able result."""
    tasks = [(config, seed, mode, sim_seconds) for seed in range(seeds) for mode in MODES]
    start = time.perf_counter()
    build_pipeline(config, seed=0).step()  # JIT-compile (or load the cache) once, before the workers start
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    results = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for result in pool.map(_job, tasks):
            results.append(result)
            print(f"bench tracking: seed {result['seed']} {result['mode']}: final on-target "
                  f"{result['curve'][-int(final_s):].mean():.3f} ({result['wall_s']:.1f} s)", file=sys.stderr, flush=True)
    wall_s = time.perf_counter() - start
    by = {(r["seed"], r["mode"]): r for r in results}
    per_seed = []
    for seed in range(seeds):
        row = {"seed": seed}
        for mode in MODES:
            row[mode] = round(float(by[seed, mode]["curve"][-int(final_s):].mean()), 4)
        per_seed.append(row)
    total_sim_s = sim_seconds * len(tasks)
    process_s = sum(r["wall_s"] for r in results)
    summary = {
        "on_target_learning": float(np.median([r["learning"] for r in per_seed])),
        "on_target_frozen": float(np.median([r["frozen"] for r in per_seed])),
        "on_target_reference": float(np.median([r["reference"] for r in per_seed])),
        "per_seed": per_seed,
        "seeds": seeds,
        "sim_seconds": sim_seconds,
        "final_window_s": final_s,
        "on_target_window_half_px": config.task.window_half_px,
        "wall_s": round(wall_s, 3),
        "compile_s": round(compile_s, 3),
        "realtime_factor": round(total_sim_s / wall_s, 1),
        "realtime_factor_per_process": round(total_sim_s / process_s, 1),
        "jobs": jobs,
        "cpu_count": os.cpu_count(),
    }
    curves = {mode: np.mean([by[s, mode]["curve"] for s in range(seeds)], axis=0) for mode in MODES}
    return {"summary": summary, "curves": curves, "weights": by[0, "learning"]["weights"]}


def plot_tracking(result: dict, config: Config, path: str) -> None:
    """On-target fraction over time (learning, frozen, reference) and seed 0's learned weight maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gw, gh, n = config.encoder.grid_w, config.encoder.grid_h, config.network.n_per_group
    w = result["weights"].reshape(2, gh, gw, 4, n).mean(axis=(0, 4))
    fig, axes = plt.subplots(1, 5, figsize=(17, 3.6), gridspec_kw={"width_ratios": [3, 1, 1, 1, 1]})
    for mode, style in zip(MODES, ("-", "--", ":")):
        axes[0].plot(result["curves"][mode], style, label=mode)
    axes[0].set(xlabel="simulated time (s)", ylabel="on-target fraction (mean over seeds)", ylim=(0, 1.02))
    axes[0].legend(loc="lower right")
    for k, name in enumerate(("right", "left", "down", "up")):
        im = axes[k + 1].imshow(w[:, :, k], cmap="viridis", vmin=0, vmax=config.network.rule.w_max_mv)
        axes[k + 1].set(title=f"input -> {name} (mV)", xticks=[], yticks=[])
    fig.colorbar(im, ax=axes[1:], shrink=0.8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
