"""Replay of a real recording with the hippocampal memory attached: deterministic, recall/novelty in order."""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from edge.config import MemoryConfig, load_config
from edge.replay import replay

DATA = Path(os.environ.get("NEUROEDGE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
DVS = DATA / "events" / "dvs.aedat4"

pytestmark = pytest.mark.skipif(not DVS.exists(), reason="shared recordings not found")


def with_memory():
    return replace(load_config(None), memory=MemoryConfig(enabled=True, window_ms=100.0))


def test_replay_with_memory_is_deterministic_and_publishes_recall_and_novelty(tmp_path):
    config = with_memory()
    first = replay(str(DVS), config, seed=3, speed=None, out_dir=tmp_path / "a")
    second = replay(str(DVS), config, seed=3, speed=None, out_dir=tmp_path / "b")
    assert first["actions_sha256"] == second["actions_sha256"]
    actions = [json.loads(line) for line in (tmp_path / "a" / "actions.jsonl").read_text().splitlines()]
    names = [a["name"] for a in actions]
    assert names.count("recall") == names.count("novelty") == 10  # one per 100 ms window of the 1 s recording
    assert [a["seq"] for a in actions] == list(range(len(actions)))
    times = [a["t_us"] for a in actions]
    assert times == sorted(times)
    assert first["memory"]["memory_stored"] >= 1
    assert all(0.0 <= a["values"][0] <= 1.0 for a in actions if a["name"] == "novelty")


def test_replay_without_memory_has_only_pan_actions(tmp_path):
    summary = replay(str(DVS), load_config(None), seed=3, speed=None, out_dir=tmp_path)
    names = {json.loads(line)["name"] for line in (tmp_path / "actions.jsonl").read_text().splitlines()}
    assert names == {"pan"} and "memory" not in summary
