"""The simulated scene: determinism, event validity, where events come from, panning, config errors,
and render_view against a plain-Python reference."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.scene import render_view_ref  # noqa: E402
from sensors.simulated.scene import SceneConfig, SimulatedScene  # noqa: E402
from sensors.simulated.scene_kernel import render_view  # noqa: E402
from sensors.types import check_events  # noqa: E402

DT_US = 1000
BLOCK = 10


def pan_commands(n_blocks: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-60.0, 60.0, (n_blocks, 2))


def run(seed: int, n_blocks: int, config: SceneConfig = SceneConfig()):
    scene = SimulatedScene(config, seed, DT_US)
    out = []
    for pan in pan_commands(n_blocks):
        batch, offsets = scene.advance(BLOCK, pan)
        out.append((batch.events.copy(), offsets.copy()))
    return out, scene


def test_same_seed_same_pans_give_identical_events_and_offsets():
    a, scene_a = run(5, 200)
    b, scene_b = run(5, 200)
    for (ev_a, off_a), (ev_b, off_b) in zip(a, b):
        assert np.array_equal(ev_a, ev_b)
        assert np.array_equal(off_a, off_b)
    assert scene_a.saccades == scene_b.saccades
    assert sum(len(ev) for ev, _ in a) > 1000
    c, _ = run(6, 200)
    assert any(len(ev_a) != len(ev_c) or not np.array_equal(ev_a, ev_c) for (ev_a, _), (ev_c, _) in zip(a, c))
    assert not all(np.array_equal(off_a, off_c) for (_, off_a), (_, off_c) in zip(a, c))


def test_events_are_time_ordered_on_sensor_with_binary_polarity():
    blocks, scene = run(3, 100)
    previous_t = -1
    for k, (events, offsets) in enumerate(blocks):
        check_events(events, scene.geometry)
        assert set(np.unique(events["p"]).tolist()) <= {0, 1}
        if len(events):
            assert events["t"][0] >= max(previous_t, k * BLOCK * DT_US)
            assert events["t"][-1] < (k + 1) * BLOCK * DT_US
            assert np.all(events["t"] % DT_US == 0)  # stamped at tick starts
            previous_t = events["t"][-1]
        assert offsets.shape == (BLOCK, 2)


def test_without_texture_or_noise_a_still_camera_sees_events_only_at_the_target():
    config = SceneConfig(texture_log_contrast=0.0, noise_hz_per_px=0.0, velocity_change_hz=20.0,
                         target_speed_min_px_s=20.0, target_speed_max_px_s=40.0)
    scene = SimulatedScene(config, 2, DT_US)
    radius = config.target_radius_px
    n_events = 0
    for k in range(100):
        batch, offsets = scene.advance(BLOCK, np.zeros(2))
        events = batch.events
        if not len(events):
            continue
        n_events += len(events)
        tick = (events["t"] - k * BLOCK * DT_US) // DT_US
        # pixel centres relative to the view centre, and the target's offset at each event's tick
        px = events["x"] + 0.5 - config.width / 2.0
        py = events["y"] + 0.5 - config.height / 2.0
        distance = np.hypot(px - offsets[tick, 0], py - offsets[tick, 1])
        assert distance.max() <= radius + 2.0
    assert n_events > 100


def test_still_world_and_target_emit_nothing():
    config = SceneConfig(noise_hz_per_px=0.0, velocity_change_hz=0.0)
    scene = SimulatedScene(config, 0, DT_US)
    for _ in range(5):
        batch, _ = scene.advance(BLOCK, np.zeros(2))
        assert len(batch) == 0


def test_panning_right_moves_the_target_left_in_the_view():
    # a still target (velocity_change_hz = 0 keeps its velocity at 0) in a world large enough to pan
    config = SceneConfig(velocity_change_hz=0.0, world_size_px=1024, noise_hz_per_px=0.0)
    scene = SimulatedScene(config, 1, DT_US)
    assert config.width / 2 + 5 < scene.camera[0] < config.world_size_px - config.width / 2 - 5
    _, offsets = scene.advance(BLOCK, np.array([100.0, 0.0]))
    step = 100.0 * DT_US * 1e-6
    assert np.all(np.diff(offsets[:, 0]) < 0)
    np.testing.assert_allclose(np.diff(offsets[:, 0]), -step, atol=1e-9)
    assert np.all(offsets[:, 1] == offsets[0, 1])
    _, back = scene.advance(BLOCK, np.array([-100.0, 0.0]))
    assert np.all(np.diff(back[:, 0]) > 0)


def test_panning_faster_than_the_target_always_wins():
    config = SceneConfig(world_size_px=2048, noise_hz_per_px=0.0, velocity_change_hz=50.0)
    scene = SimulatedScene(config, 4, DT_US)
    pan = 200.0
    _, offsets = scene.advance(BLOCK, np.array([pan, 0.0]))
    assert np.all(np.diff(offsets[:, 0]) <= (config.target_speed_max_px_s - pan) * DT_US * 1e-6 + 1e-9)


@pytest.mark.parametrize(
    "changes,key",
    [
        ({"width": 0}, "scene.width"),
        ({"threshold_on": 0.0}, "scene.threshold_on"),
        ({"max_events_per_px": 0}, "scene.max_events_per_px"),
        ({"noise_hz_per_px": -1.0}, "scene.noise_hz_per_px"),
        ({"reset_offset_px": -1.0}, "scene.reset_offset_px"),
        ({"target_speed_min_px_s": 50.0, "target_speed_max_px_s": 40.0}, "scene.target_speed_max_px_s"),
        ({"world_size_px": 100}, "scene.world_size_px"),
    ],
)
def test_scene_config_errors_name_the_key(changes, key):
    config = replace(SceneConfig(), **changes)
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        config.validate()
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        SimulatedScene(config, 0, DT_US)


@pytest.mark.parametrize(
    "camera,target",
    [
        ((8.0, 8.0), (8.0, 8.0)),  # view at the world's top-left corner
        ((32.0, 32.0), (30.3, 35.9)),  # bottom-right corner: sampling clamps to the last row/column
        ((19.37, 22.81), (21.0, 17.5)),  # fractional camera
        ((20.0, 20.0), (2.0, 39.0)),  # target mostly out of view
    ],
)
def test_render_view_matches_reference(camera, target):
    gen = np.random.default_rng(0)
    world = gen.normal(-1.0, 0.3, (40, 40))
    out = np.full((16, 16), np.nan)
    target_state = np.array([target[0], target[1], 0.0, 0.0])
    render_view(world, target_state, np.array(camera), 4.5, 1.2, out)
    expected = render_view_ref(world.tolist(), target, camera, 4.5, 1.2, 16, 16)
    assert np.array_equal(out, np.array(expected))


def test_render_view_non_square_world_and_view():
    gen = np.random.default_rng(1)
    world = gen.normal(0.0, 1.0, (30, 50))  # 50 wide, 30 high
    out = np.zeros((12, 20))
    camera, target = (37.25, 21.5), (40.0, 20.0)
    render_view(world, np.array([*target, 0.0, 0.0]), np.array(camera), 3.0, 0.7, out)
    assert np.array_equal(out, np.array(render_view_ref(world.tolist(), target, camera, 3.0, 0.7, 20, 12)))


def test_each_pixel_reference_tracks_what_it_sees_within_one_threshold():
    config = SceneConfig(max_events_per_px=1000, noise_hz_per_px=0.0)
    scene = SimulatedScene(config, 8, DT_US)
    view = np.zeros((config.height, config.width))
    for pan in pan_commands(20, seed=3):
        scene.advance(BLOCK, pan * 3)
        if scene.ticks_lost == 0 and scene.saccades == 0:
            render_view(scene.world_log, scene.target, scene.camera, config.target_radius_px,
                        config.target_log_contrast, view)
            diff = view - scene.reference_log
            assert np.all(diff < config.threshold_on + 1e-9) and np.all(diff > -config.threshold_off - 1e-9)
