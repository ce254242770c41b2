"""Decoder, reward, the tracking network's structure and the tracking task (the Task protocol)."""
from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from controllers.decode import PanDecoder, PanDecoderConfig
from controllers.protocols import Decoder, Encoder, Task, check_inputs
from controllers.reward import on_target, tracking_reward
from controllers.tracking import TrackingNetConfig, TrackingTask, cell_positions, reference_weights, tracking_network
from sensors.simulated.scene import SceneConfig, SimulatedScene
from sensors.types import Geometry
from snn.encoding.encode_events import EventPooler, PoolingConfig
from snn.frames import SpikeFrames


def test_decoder_turns_right_group_spikes_into_positive_vx():
    decoder = PanDecoder(PanDecoderConfig(tau_smooth_ms=1e-3), n_per_group=2, dt_us=1000)
    spikes = SpikeFrames.from_lists([[0, 1]] * 10)  # both "right" neurons fire every tick: 1000 Hz
    vx, vy = decoder.decode(spikes)
    assert vx == 80.0 and vy == 0.0  # clipped at v_max
    up = SpikeFrames.from_lists([[6]] + [[]] * 99)  # one "up" spike in 100 ms: 5 Hz per neuron
    vx, vy = PanDecoder(PanDecoderConfig(tau_smooth_ms=1e-3), 2, 1000).decode(up)
    assert vx == 0.0 and np.isclose(vy, -2.0 * 5.0)


def test_reward_is_one_at_centre_zero_at_border_and_bounded():
    offsets = np.array([[0.0, 0.0]])
    assert tracking_reward(offsets, 32.0) == 1.0
    assert tracking_reward(np.array([[32.0, 0.0]]), 32.0) == 0.0
    assert tracking_reward(np.array([[500.0, 500.0]]), 32.0) == -1.0
    assert list(on_target(np.array([[10.0, -10.0], [10.5, 0.0]]), 10.0)) == [True, False]


def test_reference_weights_drive_the_group_towards_the_cell():
    config = TrackingNetConfig(n_per_group=3)
    w = reference_weights(config, 8, 8)
    hx, hy = cell_positions(8, 8)
    right, left = w[:, 0], w[:, 3]
    assert np.all(right[hx > 0] > 0) and np.all(right[hx < 0] == 0)
    assert np.all(left[hx < 0] > 0) and np.all(left[hx > 0] == 0)
    assert 0.8 * config.reference_w_mv < w.max() <= config.reference_w_mv


def test_tracking_network_has_plastic_input_and_opponent_inhibition():
    spec = tracking_network(TrackingNetConfig(n_per_group=2), 4, 4, seed=0)
    spec.validate()
    plastic, inhibition = spec.projections
    assert plastic.plasticity is not None and len(plastic.pre_idx) == 32 * 8
    assert inhibition.plasticity is None and np.all(inhibition.weight_mv < 0)
    groups = lambda idx: idx // 2  # noqa: E731
    assert np.all(groups(inhibition.pre_idx) ^ 1 == groups(inhibition.post_idx))


def test_pan_decoder_states_what_it_needs_and_checks_the_readout():
    decoder = PanDecoder(PanDecoderConfig(), n_per_group=2, dt_us=1000)
    assert (decoder.action_name, decoder.n_values, decoder.n_outputs) == ("pan", 2, 8)
    decoder.check(tracking_network(TrackingNetConfig(n_per_group=2), 4, 4, seed=0))
    with pytest.raises(ValueError) as info:
        decoder.check(tracking_network(TrackingNetConfig(n_per_group=3), 4, 4, seed=0))
    message = str(info.value)
    assert "\n" not in message and "'motor'" in message and "8 neurons" in message and "got 12" in message


def test_check_inputs_wants_the_encoders_input_count():
    spec = tracking_network(TrackingNetConfig(n_per_group=2), 4, 4, seed=0)  # 32 inputs

    class Encoder:
        n_inputs = 32

    check_inputs(spec, Encoder())
    Encoder.n_inputs = 50
    with pytest.raises(ValueError, match=r"'input' must have 50 neurons .*got 32"):
        check_inputs(spec, Encoder())


def pan_sequence(n_steps: int) -> list[np.ndarray]:
    """A fixed pan schedule (px/s) that sweeps the view over and past the target."""
    rng = np.random.default_rng(11)
    return [rng.uniform(-80.0, 80.0, 2) for _ in range(n_steps)]


def test_tracking_task_score_equals_the_on_target_fraction_of_the_scene():
    """The task's score is what the loop reported as on_target before there were Tasks: the fraction of the
    block's ticks with the target inside the window, from the scene's own offsets."""
    config, window, n_ticks = SceneConfig(), 10.0, 10
    task = TrackingTask(partial(SimulatedScene, config, dt_us=1000), window, n_ticks)
    first = task.reset(seed=5)
    assert len(first) == 0 and task.geometry == first.geometry
    reference = SimulatedScene(config, 5, 1000)
    scores, rewards = [], []
    for pan in pan_sequence(300):
        batch, reward, score, done = task.step(pan)
        events, offsets = reference.advance(n_ticks, pan)
        assert np.array_equal(batch.events, events.events) and not done
        assert set(score) == {"on_target"}
        assert score["on_target"] == int(on_target(offsets, window).sum()) / n_ticks
        assert reward == tracking_reward(offsets, config.width / 2.0)
        scores.append(score["on_target"])
        rewards.append(reward)
    assert 0.0 < np.mean(scores) < 1.0  # the schedule is on and off target: the comparison is not trivial


def test_tracking_task_reset_is_deterministic_per_seed():
    def run(task: TrackingTask, seed: int | None) -> list:
        task.reset(seed)
        return [task.step(pan)[2]["on_target"] for pan in pan_sequence(50)]

    make = partial(SimulatedScene, SceneConfig(), dt_us=1000)
    a, b = TrackingTask(make, 10.0, 10), TrackingTask(make, 10.0, 10)
    assert run(a, 3) == run(b, 3)
    assert run(a, None) == run(b, None)  # the next episode comes from the task's own generator
    with pytest.raises(RuntimeError, match="reset"):
        TrackingTask(make, 10.0, 10).step(np.zeros(2))


def test_the_built_in_parts_fit_the_protocols():
    task = TrackingTask(partial(SimulatedScene, SceneConfig(), dt_us=1000), 10.0, 10)
    assert task.geometry is None
    task.reset(0)
    assert isinstance(task, Task) and task.geometry == Geometry(64, 64)
    assert isinstance(EventPooler(PoolingConfig(), Geometry(64, 64), 1000), Encoder)
    assert isinstance(PanDecoder(PanDecoderConfig(), 8, 1000), Decoder)
