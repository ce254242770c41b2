"""``neuroedge bench emulator``: the fixed-point core emulator against the numba reference, in one run.

Each figure is measured here, never copied (the JSON's last line carries exactly the keys below):

- ``float_max_rel_diff``: the emulator in float mode (``emulator?discretize=0``) against ``numba?dtype=float64``
  on W1 (N = 4 000) over 100 ms: the largest difference of any neuron's v, exc or inh input, relative to that
  variable's largest magnitude (chaos amplifies any rounding difference after 100 ms);
- ``w1_rate_hz_numba`` / ``w1_rate_hz_emulator``: W1's mean rate over 1 s, numba and the integer emulator;
- ``w2_count_corr``: W2's feed-forward part (784 inputs -> 400 LIF, plasticity off) for 10 s, the same input
  spikes (drawn once at W2's rates) on both back ends: Pearson correlation of the per-neuron spike counts;
- ``tracking_on_target_learning`` / ``tracking_on_target_frozen``: the tracking task learned on the emulator
  from random weights, and frozen, by ``bench tracking``'s protocol (median of the seeds, final window);
- ``tracking_deployed_loss``: weights learned on numba, run frozen on numba and on the emulator: the
  on-target fraction the deployment loses (median over seeds);
- ``fsdd_accuracy_numba`` / ``fsdd_accuracy_emulator``: the word network trained on numba, its test-split
  accuracy on numba and deployed to the emulator;
- ``memory_recall``: label accuracy of the hippocampal recall network on the emulator at load 0.1, degraded cues;
- ``w1_wall_ratio``: W1 N = 4 000, 1 s, wall time on the integer emulator over ``numba?dtype=float32``'s;
- ``tracking_realtime_factor``: ``bench tracking``'s real-time factor of those runs (simulated seconds of all
  runs per wall second, 2 worker processes, scene and encoder included; ``..._per_process`` beside it, as
  ``bench tracking`` reports both); ``tracking_energy_j_per_s``: the tracking network replaying a recording on
  the emulator, the energy model's joules per second of sensor time;
- with ``--compare lava``: ``lava_bit_exact``, ``lava_cases`` (edge.bench.lava_compare).

A part the emulator cannot run yet gives None for its keys and a line on stderr saying why.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

import numpy as np

from edge.backends import open_backend
from snn.frames import SpikeFrames
from snn.spec import PopulationSpec
from snn.workloads import cuba_spec, stdp_spec

EMULATOR = "emulator"
FLOAT_EMULATOR = "emulator?discretize=0"
FLOAT_TICKS = 1_000      # W1: 100 ms at dt = 0.1 ms
W1_TICKS = 10_000        # 1 s
W2_TICKS = 20_000        # 10 s at dt = 0.5 ms
STATE = ("v_mv", "g_exc_mv", "g_inh_mv")


def float_max_rel_diff(seed: int = 0) -> float:
    """W1 over FLOAT_TICKS on numba float64 and the emulator's float mode: the largest relative difference."""
    spec = cuba_spec(4000, seed=seed)
    runs = []
    for url in ("numba?dtype=float64", FLOAT_EMULATOR):
        backend = open_backend(url)
        backend.load(spec, seed)
        backend.step(SpikeFrames.empty(FLOAT_TICKS), 0.0)
        runs.append({name: backend.read(f"population/neurons/{name}").astype(np.float64) for name in STATE})
    worst = 0.0
    for name in STATE:
        scale = max(float(np.abs(runs[0][name]).max()), 1e-12)
        worst = max(worst, float(np.abs(runs[1][name] - runs[0][name]).max()) / scale)
    return worst


def w1_rate_and_wall(url: str, seed: int = 0) -> tuple[float, float]:
    """(mean rate in Hz, wall seconds) of W1 N = 4 000 over 1 s on ``url`` (compiled beforehand)."""
    spec = cuba_spec(4000, seed=seed)
    backend = open_backend(url)
    backend.load(spec, seed)
    backend.step(SpikeFrames.empty(2), 0.0)
    backend.load(spec, seed)
    start = time.perf_counter()
    spikes = backend.step(SpikeFrames.empty(W1_TICKS), 0.0)
    wall = time.perf_counter() - start
    return spikes.n_spikes / 4000 / (W1_TICKS * 1e-4), wall


def w2_feedforward_counts(url: str, seed: int = 42) -> np.ndarray:
    """Per-neuron spike counts of W2's 784 -> 400 feed-forward part over 10 s, plasticity off, with input
    spikes drawn once (seeded) at W2's Poisson rates: the same input on every back end."""
    full = stdp_spec(seed)
    rates = full.population("input").rate_hz
    spec = replace(full, populations=(PopulationSpec("input", 784, kind="input"), full.population("exc")),
                   projections=(replace(full.projections[0], plasticity=None),), learning=False)
    rng = np.random.default_rng(seed)
    fired = rng.random((W2_TICKS, 784)) < rates * spec.dt_us * 1e-6
    ticks, ids = np.nonzero(fired)
    tick_ptr = np.zeros(W2_TICKS + 1, dtype=np.int64)
    np.cumsum(np.bincount(ticks, minlength=W2_TICKS), out=tick_ptr[1:])
    backend = open_backend(url)
    backend.load(spec, seed)
    return backend.step(SpikeFrames(tick_ptr, ids.astype(np.int32)), 0.0).counts(400)


def tracking_figures(seeds: int, sim_seconds: float, final_s: float, log: Callable[[str], None]) -> dict:
    """The tracking task on the emulator by ``bench tracking``'s protocol (edge.bench.tracking: every seed
    learning and frozen in a pool of 2 worker processes; on-target medians over the seeds' final window, the
    real-time factor as simulated seconds of all runs per wall second, and per process), and the loss of
    numba-learned weights deployed frozen to the emulator (median over seeds)."""
    from edge.bench.tracking import run_one, tracking_benchmark
    from edge.config import BackendConfig, Config

    base = Config()
    on_chip = replace(base, backend=BackendConfig(EMULATOR))
    summary = tracking_benchmark(on_chip, seeds, sim_seconds, final_s, jobs=2)["summary"]
    loss = []
    for seed in range(seeds):
        learned = run_one(base, seed, "learning", sim_seconds)["weights"]
        deployed = [float(run_one(cfg, seed, "frozen", sim_seconds, initial=learned)["curve"][-int(final_s):].mean())
                    for cfg in (base, on_chip)]
        loss.append(deployed[0] - deployed[1])
        log(f"bench emulator: tracking seed {seed}: deployed numba {deployed[0]:.3f} -> emulator {deployed[1]:.3f}")
    return {"tracking_on_target_learning": summary["on_target_learning"],
            "tracking_on_target_frozen": summary["on_target_frozen"],
            "tracking_deployed_loss": round(float(np.median(loss)), 4),
            "tracking_realtime_factor": summary["realtime_factor"],
            "tracking_realtime_factor_per_process": summary["realtime_factor_per_process"]}


def fsdd_figures(epochs: int, seed: int, log: Callable[[str], None]) -> dict:
    """The word network trained on numba; test-split accuracy on numba and deployed to the emulator."""
    from edge.bench.fsdd import TEST_INDICES, TRAIN_INDICES, default_recordings, evaluate, train
    from edge.hearing import Hearing, HearingConfig, fsdd_files

    shared = default_recordings()
    hearing = Hearing(HearingConfig(), "numba")
    train(hearing, fsdd_files(shared, TRAIN_INDICES), epochs, seed, lambda m: None)
    test_files = fsdd_files(shared, TEST_INDICES)
    on_numba = evaluate(hearing, test_files)["accuracy"]
    deployed = Hearing(HearingConfig(), EMULATOR)
    deployed.net.restore(hearing.net.state())
    on_emulator = evaluate(deployed, test_files)["accuracy"]
    log(f"bench emulator: FSDD test split: numba {on_numba:.3f}, deployed to the emulator {on_emulator:.3f}")
    return {"fsdd_accuracy_numba": round(float(on_numba), 4), "fsdd_accuracy_emulator": round(float(on_emulator), 4)}


def memory_recall_on_emulator(log: Callable[[str], None]) -> float:
    """Label accuracy of the exported recall network on the emulator at load 0.1 (degraded cues)."""
    from edge.bench.memory import engine_end_to_end
    from snn.memory.hippocampus import HippocampusConfig

    result = engine_end_to_end(HippocampusConfig(), loads=(0.1,), n_test=60, backend_url=EMULATOR, log=log)
    return result["label_accuracy"][0]


def replay_figures(recording: str, log: Callable[[str], None]) -> dict:
    """The tracking network replaying ``recording`` on the emulator: the energy model's J per sensor second."""
    from edge.config import BackendConfig, Config
    from edge.replay import replay

    summary = replay(recording, replace(Config(), backend=BackendConfig(EMULATOR)), seed=0, speed=None)
    seconds = summary["duration_us"] * 1e-6
    log(f"bench emulator: replay {recording}: {summary['realtime_factor']}x real time, "
        f"{summary['energy_j']:.3g} J over {seconds:.1f} s, {summary['cores']} cores")
    return {"tracking_energy_j_per_s": round(summary["energy_j"] / seconds, 9) if seconds > 0 else None}


def emulator_benchmark(recording: str, seeds: int = 5, sim_seconds: float = 120.0, final_s: float = 20.0,
                       fsdd_epochs: int = 30, compare_lava: bool = False,
                       log: Callable[[str], None] = print) -> dict:
    """Every figure of the module text, in one run; parts that cannot run give None and a log line."""
    out: dict = {}

    def part(keys: tuple[str, ...], compute: Callable[[], dict]) -> None:
        start = time.perf_counter()
        try:
            out.update(compute())
        except (ValueError, RuntimeError, OSError) as e:
            log(f"bench emulator: {', '.join(keys)}: not measured ({e})")
            out.update({key: None for key in keys})
        else:
            log(f"bench emulator: {', '.join(keys)} in {time.perf_counter() - start:.1f} s")

    part(("float_max_rel_diff",), lambda: {"float_max_rel_diff": float_max_rel_diff()})

    def w1() -> dict:
        rate_numba, wall_numba = w1_rate_and_wall("numba?dtype=float32")
        rate_emulator, wall_emulator = w1_rate_and_wall(EMULATOR)
        return {"w1_rate_hz_numba": round(rate_numba, 4), "w1_rate_hz_emulator": round(rate_emulator, 4),
                "w1_wall_ratio": round(wall_emulator / wall_numba, 3)}
    part(("w1_rate_hz_numba", "w1_rate_hz_emulator", "w1_wall_ratio"), w1)

    def w2() -> dict:
        a, b = w2_feedforward_counts("numba?dtype=float64"), w2_feedforward_counts(EMULATOR)
        return {"w2_count_corr": round(float(np.corrcoef(a, b)[0, 1]), 4)}
    part(("w2_count_corr",), w2)
    part(("tracking_on_target_learning", "tracking_on_target_frozen", "tracking_deployed_loss",
          "tracking_realtime_factor", "tracking_realtime_factor_per_process"),
         lambda: tracking_figures(seeds, sim_seconds, final_s, log))
    part(("fsdd_accuracy_numba", "fsdd_accuracy_emulator"), lambda: fsdd_figures(fsdd_epochs, 0, log))
    part(("memory_recall",), lambda: {"memory_recall": memory_recall_on_emulator(log)})
    part(("tracking_energy_j_per_s",), lambda: replay_figures(recording, log))
    if compare_lava:
        from edge.bench.lava_compare import LavaError, compare_lif

        try:
            found = compare_lif(log=log)
            out.update({"lava_bit_exact": found["lava_bit_exact"], "lava_cases": found["lava_cases"]})
        except LavaError as e:
            log(f"bench emulator: lava: not compared ({e})")
            out.update({"lava_bit_exact": None, "lava_cases": 0})
    return out
