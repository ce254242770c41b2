"""Guards of README "The built-in scene and the tracking task" and "Benchmarks" (bench tracking): the network
learns to track from random weights on-line, far above the same weights frozen — and it learns *because of*
the reward: with the reward inverted or zero it does not. Short runs of the benchmark with fixed seeds."""
from __future__ import annotations

import numpy as np
import pytest

from edge.config import load_config
from edge.pipeline import build_pipeline

SIM_S, FINAL_S = 60, 15  # simulated seconds per run; the final part is scored (the benchmark: 120 s, 20 s)
SEEDS = (0, 1, 2)


class RewardTransformed:
    """The tracking task with its reward passed through ``transform`` (observation and score untouched)."""

    def __init__(self, task, transform) -> None:
        self.task, self.transform = task, transform

    def reset(self, seed):
        return self.task.reset(seed)

    def step(self, action):
        observation, reward, score, done = self.task.step(action)
        return observation, self.transform(reward), score, done


def run(seed: int, mode: str) -> tuple[float, np.ndarray, np.ndarray]:
    """(on-target fraction over the final FINAL_S, initial weights, final weights) of one closed-loop run."""
    pipeline = build_pipeline(load_config(None), seed=seed, learning=mode != "frozen")
    if mode in ("inverted", "zero"):
        pipeline.source.task = RewardTransformed(pipeline.source.task, (lambda r: -r) if mode == "inverted"
                                                 else (lambda r: 0.0))
    w0 = pipeline.backend.read("projection/input_motor/weight_mv")
    blocks_per_s = 100
    hits = []
    for _ in range(SIM_S * blocks_per_s):
        pipeline.step()
        hits.append(pipeline.last_score["on_target"])
    return float(np.mean(hits[-FINAL_S * blocks_per_s:])), w0, pipeline.backend.read("projection/input_motor/weight_mv")


@pytest.fixture(scope="module")
def runs() -> dict:
    return {(seed, mode): run(seed, mode) for seed in SEEDS for mode in ("learning", "frozen", "inverted", "zero")}


def test_tracking_is_learned_on_line_far_above_frozen(runs):
    learning = [runs[s, "learning"][0] for s in SEEDS]
    frozen = [runs[s, "frozen"][0] for s in SEEDS]
    assert np.median(learning) >= 0.75, learning
    assert all(l >= 2 * f for l, f in zip(learning, frozen)), (learning, frozen)
    assert max(frozen) <= 0.3, frozen


def test_inverted_reward_is_not_learned(runs):
    for seed in SEEDS:
        inverted, learning = runs[seed, "inverted"][0], runs[seed, "learning"][0]
        assert inverted <= 0.2 and inverted < learning, (seed, inverted, learning)
    assert np.median([runs[s, "learning"][0] - runs[s, "inverted"][0] for s in SEEDS]) >= 0.5


def test_zero_reward_changes_no_weight_and_is_not_learned(runs):
    for seed in SEEDS:
        on_target, w0, w1 = runs[seed, "zero"]
        assert np.array_equal(w0, w1), seed  # dopamine = reward - baseline stays 0: nothing to learn from
        assert on_target == runs[seed, "frozen"][0]
