"""Decoder, reward and the tracking network's structure."""
from __future__ import annotations

import numpy as np

from controllers.decode import PanDecoder, PanDecoderConfig
from controllers.reward import on_target, tracking_reward
from controllers.tracking import TrackingNetConfig, cell_positions, reference_weights, tracking_network
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
