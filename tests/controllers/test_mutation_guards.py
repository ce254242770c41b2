"""Exact-value tests of the pan decoder and the tracking reward that kill the mutants the older tests let
survive (tests/mutation/run.sh): defaults, validation bounds and messages, the smoothing filter across blocks,
each opponent axis and its sign, the clip on both sides, ids past the readout, reward slope and bounds."""
from __future__ import annotations

import math

import numpy as np
import pytest

from controllers.decode import MOTOR_GROUPS, PanDecoder, PanDecoderConfig
from controllers.reward import on_target, tracking_reward
from controllers.tracking import TrackingNetConfig, tracking_network
from snn.frames import SpikeFrames


def test_decoder_defaults_and_group_order():
    c = PanDecoderConfig()
    assert (c.gain_px_s_per_hz, c.v_max_px_s, c.tau_smooth_ms) == (2.0, 80.0, 20.0)
    assert MOTOR_GROUPS == ("right", "left", "down", "up")
    with pytest.raises(AttributeError):
        c.gain_px_s_per_hz = 1.0  # frozen


@pytest.mark.parametrize("key", ["gain_px_s_per_hz", "v_max_px_s", "tau_smooth_ms"])
@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_decoder_config_refuses_non_positive_values_by_name(key, bad):
    with pytest.raises(ValueError, match=rf"^decoder\.{key}: must be > 0, got {bad}$"):
        PanDecoder(PanDecoderConfig(**{key: bad}), 2, 1000)
    PanDecoderConfig(**{key: 0.5}).validate()  # small positive values pass


def test_decoder_check_names_the_four_groups():
    decoder = PanDecoder(PanDecoderConfig(), n_per_group=2, dt_us=1000)
    decoder.check(tracking_network(TrackingNetConfig(n_per_group=2), 4, 4, seed=0))
    with pytest.raises(ValueError, match=r"must have 8 neurons \(right, left, down, up groups of "
                                         r"network\.n_per_group = 2\), got 12$"):
        decoder.check(tracking_network(TrackingNetConfig(n_per_group=3), 4, 4, seed=0))
    assert np.array_equal(decoder.rate_hz, np.zeros(4))


def _block(ids_per_tick):
    return SpikeFrames.from_lists([list(t) for t in ids_per_tick])


def _alpha(block_s, tau_ms):
    return 1.0 - math.exp(-block_s * 1000.0 / tau_ms)


def test_decoder_smooths_group_rates_exactly_across_blocks():
    """Two blocks of 10 ticks of 2 ms (20 ms, tau 40 ms): rates follow r += alpha * (rate - r) per block."""
    config = PanDecoderConfig(gain_px_s_per_hz=0.5, v_max_px_s=1e6, tau_smooth_ms=40.0)
    decoder = PanDecoder(config, n_per_group=3, dt_us=2000)
    block_s = 10 * 2000 * 1e-6
    alpha = _alpha(block_s, 40.0)
    # group counts right 6, left 2, down 3, up 1 over the block (3 neurons per group)
    ids = [[0, 1, 2, 4, 6], [0, 1, 5, 7, 9], [0, 8]] + [[]] * 7
    counts = np.array([6.0, 2.0, 3.0, 1.0])
    rate1 = alpha * counts / (3 * block_s)
    vx, vy = decoder.decode(_block(ids))
    assert np.allclose(decoder.rate_hz, rate1, rtol=1e-12)
    assert vx == pytest.approx(0.5 * (rate1[0] - rate1[1]), rel=1e-12)
    assert vy == pytest.approx(0.5 * (rate1[2] - rate1[3]), rel=1e-12)
    # second, silent block: rates decay by (1 - alpha), not reset and not replaced
    vx2, vy2 = decoder.decode(_block([[]] * 10))
    rate2 = rate1 * (1.0 - alpha)
    assert np.allclose(decoder.rate_hz, rate2, rtol=1e-12)
    assert vx2 == pytest.approx(0.5 * (rate2[0] - rate2[1]), rel=1e-12)
    assert vy2 == pytest.approx(0.5 * (rate2[2] - rate2[3]), rel=1e-12)


@pytest.mark.parametrize("group, expected", [(0, (1.0, 0.0)), (1, (-1.0, 0.0)), (2, (0.0, 1.0)), (3, (0.0, -1.0))])
def test_each_group_drives_its_own_axis_and_sign(group, expected):
    decoder = PanDecoder(PanDecoderConfig(gain_px_s_per_hz=1.0, v_max_px_s=1e6, tau_smooth_ms=1e-6), 1, 1000)
    v = decoder.decode(_block([[group]] + [[]] * 9))  # 1 spike in 10 ms: 100 Hz
    assert np.allclose(v, 100.0 * np.array(expected), rtol=1e-9)


def test_decoder_clips_both_directions_at_v_max():
    config = PanDecoderConfig(gain_px_s_per_hz=1.0, v_max_px_s=7.0, tau_smooth_ms=1e-6)
    v = PanDecoder(config, 1, 1000).decode(_block([[1, 2]] * 4))
    assert list(v) == [-7.0, 7.0]
    v = PanDecoder(config, 1, 1000).decode(_block([[0, 3]] * 4))
    assert list(v) == [7.0, -7.0]


def test_decoder_ignores_ids_past_the_four_groups():
    config = PanDecoderConfig(gain_px_s_per_hz=1.0, v_max_px_s=1e6, tau_smooth_ms=1e-6)
    v = PanDecoder(config, 2, 1000).decode(_block([[0, 8, 9, 12]] + [[]] * 9))
    assert np.allclose(v, [50.0, 0.0], rtol=1e-9)


def test_tracking_reward_slope_axes_and_clip():
    hw = 40.0
    assert tracking_reward(np.array([[10.0, 0.0]]), hw) == pytest.approx(0.75)
    assert tracking_reward(np.array([[0.0, -20.0]]), hw) == pytest.approx(0.5)
    assert tracking_reward(np.array([[30.0, 40.0]]), hw) == pytest.approx(1.0 - 50.0 / 40.0)  # past the border
    assert tracking_reward(np.array([[0.0, 0.0], [0.0, 0.0], [10.0, 0.0], [400.0, 0.0]]), hw) == pytest.approx(
        (1.0 + 1.0 + 0.75 - 1.0) / 4)
    assert tracking_reward(np.array([[0.0, 0.0], [0.0, 0.0]]), hw) == 1.0  # at the centre
    assert isinstance(tracking_reward(np.array([[1.0, 2.0]]), hw), float)


def test_on_target_needs_both_axes_inside_the_window():
    offsets = np.array([[5.0, 5.0], [5.0, 6.0], [6.0, 5.0], [-5.0, -5.0], [-5.5, 0.0], [0.0, -5.5], [9.0, 9.0]])
    assert list(on_target(offsets, 5.0)) == [True, False, False, True, False, False, False]
