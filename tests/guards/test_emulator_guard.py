"""Guards of README "The core emulator": the tracking task is learned on-chip (integer learning) from random
weights far above frozen, and because of the reward (inverted, it is not); numba-learned weights deployed to
the integer core keep their on-target fraction; float mode equals numba on W1; the built-in networks map onto
the stated number of cores. Short runs with fixed seeds."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from edge.backends import open_backend
from edge.config import BackendConfig, load_config
from edge.pipeline import build_pipeline
from snn.frames import SpikeFrames
from snn.workloads import cuba_spec

SIM_S, FINAL_S = 60, 15  # simulated seconds per run, the final part scored (bench emulator: 120 s, 20 s)
SEED = 1


def on_target(url: str, mode: str, weights: np.ndarray | None = None, sim_s: int = SIM_S) -> tuple[float, np.ndarray]:
    """(on-target fraction over the final FINAL_S, the final input -> motor weights) of one closed-loop run of
    ``sim_s`` simulated seconds."""
    config = replace(load_config(None), backend=BackendConfig(url))
    pipeline = build_pipeline(config, seed=SEED, learning=mode in ("learning", "inverted"), initial_weights=weights)
    if mode == "inverted":
        task = pipeline.source.task
        step = task.step
        task.step = lambda action: (lambda o, r, s, d: (o, -r, s, d))(*step(action))
    hits = []
    for _ in range(sim_s * 100):
        pipeline.step()
        hits.append(pipeline.last_score["on_target"])
    return float(np.mean(hits[-FINAL_S * 100:])), pipeline.backend.read("projection/input_motor/weight_mv")


def test_tracking_is_learned_on_chip_because_of_the_reward():
    learned, _ = on_target("emulator", "learning")
    frozen, _ = on_target("emulator", "frozen")
    inverted, _ = on_target("emulator", "inverted")
    assert learned >= 0.75 and learned >= 2 * frozen, (learned, frozen)  # as tests/guards' numba runs
    assert inverted <= 0.5 * learned, (inverted, learned)


def test_numba_learned_weights_deploy_to_the_integer_core():
    _, weights = on_target("numba", "learning", sim_s=120)
    on_numba, _ = on_target("numba", "frozen", weights)
    on_chip, _ = on_target("emulator", "frozen", weights)
    assert on_numba >= 0.8 and on_numba - on_chip <= 0.05, (on_numba, on_chip)


def test_float_mode_equals_numba_on_w1():
    spec = cuba_spec(4000)
    states = []
    for url in ("numba?dtype=float64", "emulator?discretize=0"):
        backend = open_backend(url)
        backend.load(spec, 0)
        backend.step(SpikeFrames.empty(1000), 0.0)
        states.append(backend.read("population/neurons/v_mv"))
    np.testing.assert_allclose(states[1], states[0], rtol=1e-6, atol=0)


def test_built_in_networks_map_onto_the_stated_number_of_loihi_cores():
    from edge.cores import load_net
    from hw.emulator.mapping import map_network
    from hw.emulator.profile import LOIHI

    cores = {name: map_network(load_net(name), LOIHI) for name in ("tracking", "w1", "w2", "word", "memory")}
    assert all(report.fits for report in cores.values())
    assert {name: report.cores for name, report in cores.items()} == {
        "tracking": 1, "w1": 9, "w2": 11, "word": 1, "memory": 57}
