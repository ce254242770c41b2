"""Engine benchmarks W1 (CUBA) and W2 (on-line STDP) of ../shared/bench/WORKLOADS.md on the numba back end.

Times the simulation loop only (median of 3 runs, wall and processor time); construction and compilation
are reported apart. ``compare`` adds Brian2 and the speed-up of processor time against processor time.
"""
from __future__ import annotations

import time

import numpy as np

from edge.backends import open_backend
from snn.frames import SpikeFrames
from snn.spec import NetworkSpec
from snn.workloads import cuba_spec, stdp_spec

REPEATS = 3           # the simulated second(s) are run this many times from the same initial state; medians
CUBA_TICKS = 10_000   # 1 s at dt = 0.1 ms
STDP_TICKS = 20_000   # 10 s at dt = 0.5 ms


def _warm_up(spec: NetworkSpec, url: str) -> float:
    """Compile (or load from cache) the kernels for this spec's types on a copy; returns seconds."""
    start = time.perf_counter()
    backend = open_backend(url)
    backend.load(spec, seed=0)
    backend.step(SpikeFrames.empty(2), 0.0)
    return time.perf_counter() - start


def run_workload(name: str, n: int | None = None, url: str = "numba", seed: int | None = None) -> dict:
    """Build, compile and run one workload on the back end at ``url``; the JSON fields of ``bench cuba`` /
    ``bench stdp``.

    Seeds: W1 0 (WORKLOADS.md fixes none; its rate varies by about 0.2 Hz between random graphs), W2 42 (fixed there).
    """
    seed = (0 if name == "cuba" else 42) if seed is None else seed
    start = time.perf_counter()
    spec = cuba_spec(n, seed=seed) if name == "cuba" else stdp_spec(seed=seed)
    backend = open_backend(url)
    backend.load(spec, seed=seed)
    build_s = time.perf_counter() - start
    compile_s = _warm_up(spec, url)
    ticks = CUBA_TICKS if name == "cuba" else STDP_TICKS
    fresh = backend.state()
    wall_runs, cpu_runs = [], []
    for _ in range(REPEATS):
        backend.restore(fresh)
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        spikes = backend.step(SpikeFrames.empty(ticks), 0.0)
        cpu_runs.append(time.process_time() - start_cpu)
        wall_runs.append(time.perf_counter() - start_wall)
    wall_s, cpu_s = float(np.median(wall_runs)), float(np.median(cpu_runs))
    n_readout = spec.population(spec.readout).size
    sim_s = ticks * spec.dt_us * 1e-6
    result = {
        "workload": "W1 CUBA" if name == "cuba" else "W2 STDP", "backend": backend.url, "dtype": getattr(backend, "dtype", None) and str(backend.dtype),
        "neurons": spec.n_neurons, "synapses": int(sum(len(p.pre_idx) for p in spec.projections)),
        "sim_seconds": sim_s, "wall_s": round(wall_s, 4), "cpu_s": round(cpu_s, 4),
        "wall_s_runs": [round(w, 4) for w in wall_runs], "build_s": round(build_s, 3),
        "compile_s": round(compile_s, 3), "rate_hz": round(spikes.n_spikes / n_readout / sim_s, 4),
        "spikes": spikes.n_spikes, "seed": seed,
    }
    if name == "stdp":
        result["final_mean_weight_mv"] = round(float(np.mean(backend.read("projection/input_exc/weight_mv"))), 5)
    else:
        rates = [result["rate_hz"]] + [realization_rate(n, seed + k, url) for k in range(1, RATE_REALIZATIONS)]
        result["rate_hz_per_network"] = rates
        result["rate_hz"] = round(float(np.mean(rates)), 4)
    return result


RATE_REALIZATIONS = 5
"""W1's rate differs by about 0.3 Hz (standard deviation) between random graphs of the same workload, in
Brian2 as here, so ``rate_hz`` is the mean over this many graphs (seeds seed .. seed + 4); ``wall_s`` is
the first graph's."""


def realization_rate(n: int, seed: int, url: str) -> float:
    """Mean rate (Hz) of one more W1 network, drawn with ``seed``."""
    backend = open_backend(url)
    backend.load(cuba_spec(n, seed=seed), seed=seed)
    spikes = backend.step(SpikeFrames.empty(CUBA_TICKS), 0.0)
    return round(spikes.n_spikes / n / (CUBA_TICKS * 1e-4), 4)


def compare_brian2(result: dict, name: str, n: int | None, log) -> dict:
    """Run the same workload in Brian2 cpp_standalone (its own venv) and add its time and the speed-up."""
    from edge.bench.brian2_compare import brian2_wall_s, ensure_brian2_venv

    ensure_brian2_venv(log)
    theirs = brian2_wall_s(name, n, log=log, dtype=result["dtype"])  # Brian2 in our precision: like for like
    # Brian2 times its loop with std::clock (processor time); compare like with like: our loop's processor time.
    return merge_brian2(result, theirs)


def merge_brian2(result: dict, theirs: dict) -> dict:
    """Our ``run_workload`` result with Brian2's ``brian2_wall_s`` result added, and ``speedup_vs_brian2`` =
    ``brian2_wall_s / cpu_s`` rounded to 2 decimals: processor time against processor time (Brian2's loop
    timer is std::clock; ``wall_s`` is not used). None when ``cpu_s`` is not > 0 (nothing to divide by).
    Pure; ValueError if a key of ``theirs`` would overwrite one of ours."""
    clash = sorted(result.keys() & theirs.keys())
    if clash:
        raise ValueError(f"merge_brian2: Brian2's result would overwrite {', '.join(clash)}")
    cpu_s = result["cpu_s"]
    speedup = round(theirs["brian2_wall_s"] / cpu_s, 2) if cpu_s > 0 else None
    return {**result, **theirs, "speedup_vs_brian2": speedup}
