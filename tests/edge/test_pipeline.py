"""The one loop: closed-loop determinism, learning switch, replay determinism and its golden hash."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from edge.config import load_config
from edge.pipeline import build_pipeline
from edge.replay import replay

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
    assert np.array_equal(pa.backend.state()["weight_mv"], pb.backend.state()["weight_mv"])
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
    initial = build_pipeline(load_config(None), seed=2).backend.state()["weight_mv"]
    assert not np.array_equal(learning.backend.state()["weight_mv"], initial)
    assert np.array_equal(frozen.backend.state()["weight_mv"], initial)


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
