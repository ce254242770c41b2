"""The one loop: closed-loop determinism, learning switch, replay determinism and its golden hash; any Task,
Encoder and Decoder through the same loop; user networks checked against what encoder and decoder need."""
from __future__ import annotations

import math
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from controllers.reward import on_target
from edge.backends import open_backend
from edge.bench.tracking import input_weights
from edge.config import ConfigError, load_config
from edge.filters_config import FiltersConfig, build_filters
from edge.pipeline import ClosedLoopSource, Pipeline, build_pipeline
from edge.replay import replay
from sensors.types import EVENT_DTYPE, EventBatch, Geometry
from snn.encoding.encode_events import EventPooler, PoolingConfig
from snn.frames import SpikeFrames
from snn.spec import LIFParams, NetworkSpec, PopulationSpec, ProjectionSpec

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402

DATA = Path(os.environ.get("NEUROEDGE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
DVS = DATA / "events" / "dvs.aedat4"
GOLDEN_DVS_SEED7 = "4c4737ad8c29aef1454da98cb45e8233ebbf77a07ff6f9dc7eb7e23e97bc51d5"


def run_blocks(seed: int, n_blocks: int, learning: bool = True):
    pipeline = build_pipeline(load_config(None), seed=seed, learning=learning)
    actions = [pipeline.step() for _ in range(n_blocks)]
    return actions, pipeline


def test_closed_loop_is_deterministic_for_a_seed():
    a, pa = run_blocks(3, 300)
    b, pb = run_blocks(3, 300)
    assert [x.values for x in a] == [x.values for x in b]
    assert np.array_equal(input_weights(pa.backend), input_weights(pb.backend))
    c, _ = run_blocks(4, 300)
    assert [x.values for x in a] != [x.values for x in c]


def test_actions_are_pan_velocities_in_range_with_increasing_seq_and_time():
    actions, _ = run_blocks(1, 200)
    assert [a.seq for a in actions] == list(range(200))
    assert all(a.name == "pan" and len(a.values) == 2 for a in actions)
    assert all(abs(v) <= 80.0 for a in actions for v in a.values)
    assert np.all(np.diff([a.t_us for a in actions]) == 10_000)


def test_learning_changes_weights_and_frozen_does_not():
    _, learning = run_blocks(2, 300, learning=True)
    _, frozen = run_blocks(2, 300, learning=False)
    initial = input_weights(build_pipeline(load_config(None), seed=2).backend)
    assert not np.array_equal(input_weights(learning.backend), initial)
    assert np.array_equal(input_weights(frozen.backend), initial)


@pytest.mark.skipif(not DVS.exists(), reason=f"shared recording missing: {DVS}")
def test_replay_is_deterministic_and_matches_golden_hash():
    config = load_config(None)
    first = replay(str(DVS), config, seed=7, speed=None)
    second = replay(str(DVS), config, seed=7, speed=None)
    assert first["actions_sha256"] == second["actions_sha256"] == GOLDEN_DVS_SEED7
    assert first["events"] == 473225 and first["actions"] == 100 and first["ticks"] == 1000
    assert replay(str(DVS), config, seed=8, speed=None)["actions_sha256"] != first["actions_sha256"]


@pytest.mark.skipif(not DVS.exists(), reason=f"shared recording missing: {DVS}")
def test_replay_out_dir_writes_actions_and_summary(tmp_path):
    summary = replay(str(DVS), load_config(None), seed=7, speed=None, out_dir=tmp_path)
    lines = (tmp_path / "actions.jsonl").read_bytes().splitlines()
    assert len(lines) == summary["actions"]
    assert (tmp_path / "summary.json").exists()


def test_the_tracking_score_reaches_the_counters_as_the_old_on_target_figure():
    """Counters.score["on_target"] is the running mean of the task's per-block on-target fraction, computed as
    before there were Tasks (from the scene's target offsets); last_score is the last block's."""
    pipeline = build_pipeline(load_config(None), seed=3)
    task = pipeline.source.task
    seen = []

    class Recorder:  # the task's scene, keeping a copy of each block's target offsets
        geometry = task.scene.geometry

        def advance(self, n_ticks, pan_velocity_px_s, scene=task.scene):
            batch, offsets = scene.advance(n_ticks, pan_velocity_px_s)
            seen.append(offsets.copy())
            return batch, offsets

    task.scene = Recorder()
    ticks, dt_us = pipeline.block_ticks, pipeline.dt_us
    mean, smoothing = 0.0, 1.0 - math.exp(-ticks * dt_us / 2e6)  # a running mean over 2 s of sensor time
    for _ in range(100):
        pipeline.step()
        fraction = int(on_target(seen[-1], task.window_half_px).sum()) / ticks
        assert pipeline.last_score == {"on_target": fraction}
        mean += smoothing * (fraction - mean)
    assert pipeline.counters.score == {"on_target": mean}
    assert 0.0 < mean < 1.0


class Dot:
    """A toy closed-loop event task: a dot on an 8 x 1 sensor emits one ON event per tick at its pixel; each
    step moves it one pixel against the sign of the action (``nudge``); it is centred on pixels 3 and 4.
    Episodes last 6 steps; each starts at a pixel drawn from the task's generator."""

    format = "dot"
    geometry = Geometry(8, 1)

    def __init__(self, n_ticks: int, dt_us: int) -> None:
        self.n_ticks, self.dt_us = n_ticks, dt_us
        self.rng = np.random.default_rng(0)
        self.x = 0
        self.t_us = 0
        self.steps = 0

    def reset(self, seed: int | None = None) -> EventBatch:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.x, self.t_us, self.steps = int(self.rng.choice([0, 7])), 0, 0
        return EventBatch(np.zeros(0, EVENT_DTYPE), self.geometry)

    def step(self, action_values: np.ndarray):
        self.x = int(np.clip(self.x - np.sign(action_values[0]), 0, 7))
        events = np.zeros(self.n_ticks, EVENT_DTYPE)
        events["t"] = self.t_us + np.arange(self.n_ticks) * self.dt_us
        events["x"], events["p"] = self.x, 1
        self.t_us += self.n_ticks * self.dt_us
        self.steps += 1
        centred = float(self.x in (3, 4))
        return EventBatch(events, self.geometry), 1.0 - abs(self.x - 3.5) / 3.5, {"centred": centred}, self.steps == 6


class NudgeDecoder:
    """Readout of two neurons (left, right): ``nudge`` = (right - left spikes) per tick of the block."""

    action_name = "nudge"
    n_values = 1
    n_outputs = 2

    def decode(self, spikes: SpikeFrames) -> np.ndarray:
        counts = np.bincount(spikes.neuron_ids, minlength=2)
        return np.array([(counts[1] - counts[0]) / spikes.n_ticks])

    def check(self, spec: NetworkSpec) -> None:
        if spec.population(spec.readout).size != self.n_outputs:
            raise ValueError(f"the readout {spec.readout!r} must have 2 neurons (left, right)")


def dot_network(n_inputs: int, dt_us: int) -> NetworkSpec:
    """Input cells of the left half drive "left", of the right half "right", strongly (fixed synapses)."""
    half = n_inputs // 4  # ON cells are the upper half of the ids; their left half is the dot's left
    pre = np.arange(n_inputs // 2, n_inputs, dtype=np.int32)
    post = (np.arange(n_inputs // 2) >= half).astype(np.int32)
    return NetworkSpec(
        populations=(PopulationSpec("input", n_inputs, kind="input"),
                     PopulationSpec("side", 2, kind="lif", lif=LIFParams(v_th_mv=5.0))),
        projections=(ProjectionSpec("input_side", "input", "side", pre, post, np.full(len(pre), 60.0)),),
        readout="side", dt_us=dt_us, learning=False)


def dot_pipeline(seed: int) -> Pipeline:
    dt_us, block_ticks = 1000, 10
    source = ClosedLoopSource(Dot(block_ticks, dt_us), seed, dt_us, block_ticks)
    filters = build_filters(FiltersConfig(), source.geometry)
    encoder = EventPooler(PoolingConfig(grid_w=4, grid_h=1), filters.output_geometry, dt_us)
    backend = open_backend("numba")
    backend.load(dot_network(encoder.n_inputs, dt_us), seed)
    return Pipeline(source, filters, encoder, backend, NudgeDecoder(), dt_us, block_ticks)


def test_a_toy_task_runs_through_the_same_loop_with_its_own_decoder_and_action():
    pipeline = dot_pipeline(seed=1)
    actions, centred = [], []
    for _ in range(36):  # six episodes
        actions.append(pipeline.step())
        centred.append(pipeline.last_score["centred"])
    assert all(a.name == "nudge" and len(a.values) == 1 for a in actions)
    assert [a.seq for a in actions] == list(range(36))
    assert np.all(np.diff([a.t_us for a in actions]) == 10_000)  # sensor time runs on across episodes
    assert pipeline.source.episodes == 7  # six ended, the seventh has begun
    assert pipeline.last_inputs.n_spikes > 0  # a later episode's events still reach the encoder
    # the loop centres the dot within four steps of every episode (it starts at pixel 0 or 7) and keeps it there
    per_episode = np.reshape(centred, (6, 6))
    assert np.all(per_episode[:, 4:] == 1.0) and np.all(per_episode[:, 0] == 0.0), per_episode
    assert set(pipeline.counters.score) == {"centred"} and 0.0 < pipeline.counters.score["centred"] < 1.0
    again = dot_pipeline(seed=1)
    assert [again.step() for _ in range(36)] == actions  # deterministic for a seed


def write_network(path: Path, n_input: int, n_motor: int) -> Path:
    path.write_text(f"""[network]
seed = 1
readout = "motor"
populations = [{{name = "input", size = {n_input}, kind = "input"}}, {{name = "motor", size = {n_motor}}}]
projections = [{{name = "input_motor", pre = "input", post = "motor", connect = "all_to_all", weight_mv = 1.0}}]
""")
    return path


@pytest.mark.parametrize("n_input, n_motor, says", [
    (128, 20, "the readout 'motor' must have 32 neurons (right, left, down, up groups of "
              "network.n_per_group = 8), got 20"),
    (100, 32, "the input population 'input' must have 128 neurons (the encoder's n_inputs), got 100"),
])
def test_a_user_network_not_fitting_the_encoder_or_decoder_is_refused_in_one_line(tmp_path, n_input, n_motor, says):
    path = write_network(tmp_path / "net.toml", n_input, n_motor)
    with pytest.raises(ConfigError) as info:
        build_pipeline(replace(load_config(None), network_file=str(path)))
    assert str(info.value) == f"{path}: {says}"
    build_pipeline(replace(load_config(None), network_file=str(write_network(tmp_path / "ok.toml", 128, 32))))


def test_the_cli_refuses_a_network_whose_readout_does_not_fit_in_one_line(tmp_path):
    path = write_network(tmp_path / "net.toml", 128, 20)
    result = helpers.run_cli(["replay", helpers.dvs_path(), "--json", "--network", path], tmp_path)
    lines = helpers.stderr_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "net.toml" in lines[0] and "readout 'motor' must have 32 neurons" in lines[0], lines[0]


def test_the_daemon_status_reads_on_target_from_the_task_score():
    from edge.drivers import EventDriver

    driver = EventDriver(load_config(None))
    for _ in range(50):
        driver.step()
    status = driver.status(123.0)
    score = driver.pipeline.counters.score
    assert status["on_target"] == round(score["on_target"], 4) and status["score"] == {"on_target": status["on_target"]}
    daemon = {"overruns": 0, "rewards_received": 0, "malformed_messages": 0, "state": "running"}
    line = driver.status_line({**status, **daemon})
    assert f" on_target={status['on_target']:.3f} actions=50 " in line, line
    assert line.startswith("status ticks=500 ticks/s=123 overruns=0 reward=")
