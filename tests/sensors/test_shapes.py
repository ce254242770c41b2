"""Shape scenes: valid, deterministic, continuing event windows that differ by shape; noise injection; errors."""
from __future__ import annotations

import numpy as np
import pytest

from sensors.simulated.shapes import SHAPES, ShapeScene, ShapeSceneConfig, add_noise_events
from sensors.types import EVENT_DTYPE, EventBatch, Geometry, check_events

WINDOW_US = 50_000


def pooled_counts(events: np.ndarray, geometry: Geometry, cells: int = 16) -> np.ndarray:
    counts = np.zeros((cells, cells))
    np.add.at(counts, (events["y"] * cells // geometry.height, events["x"] * cells // geometry.width), 1)
    return counts.ravel()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_gives_a_valid_window_with_both_polarities(shape: str):
    config = ShapeSceneConfig()
    scene = ShapeScene(shape, config, seed=1)
    assert scene.geometry == Geometry(config.width, config.height)
    batch = scene.window(WINDOW_US)
    assert batch.geometry == scene.geometry
    assert batch.events.dtype == EVENT_DTYPE
    assert len(batch) > 500
    check_events(batch.events, batch.geometry)
    assert 0 <= batch.events["t"][0] and batch.events["t"][-1] <= WINDOW_US
    assert set(np.unique(batch.events["p"]).tolist()) == {0, 1}
    centre = np.array([config.width / 2.0, config.height / 2.0])
    centroid = np.array([batch.events["x"].mean() + 0.5, batch.events["y"].mean() + 0.5])
    assert np.linalg.norm(centroid - centre) < config.jitter_px + config.size_px / 2
    radius = np.hypot(batch.events["x"] + 0.5 - centre[0], batch.events["y"] + 0.5 - centre[1])
    assert np.mean(radius <= config.size_px / 2 + config.jitter_px + 2) > 0.99


def test_same_seed_gives_identical_events_and_another_seed_differs():
    first = [ShapeScene("triangle", seed=7).window(WINDOW_US).events for _ in range(2)]
    assert np.array_equal(first[0], first[1])
    other = ShapeScene("triangle", seed=8).window(WINDOW_US).events
    assert len(other) != len(first[0]) or not np.array_equal(other, first[0])


def test_consecutive_windows_continue_in_time_and_match_one_long_window():
    scene = ShapeScene("square", seed=3)
    windows = [scene.window(WINDOW_US) for _ in range(3)]
    for k, batch in enumerate(windows):
        assert len(batch) > 0
        assert k * WINDOW_US <= batch.events["t"][0] and batch.events["t"][-1] <= (k + 1) * WINDOW_US
    assert scene.time_us == 3 * WINDOW_US
    joined = np.concatenate([w.events for w in windows]).astype(EVENT_DTYPE)
    assert np.all(np.diff(joined["t"]) >= 0)
    odd = ShapeScene("square", seed=3)
    parts = [odd.window(duration) for duration in (12_345, 100_000, 37_655)]
    assert np.array_equal(np.concatenate([p.events for p in parts]).astype(EVENT_DTYPE), joined)


def test_shapes_give_different_spatial_histograms():
    disk = ShapeScene("disk", seed=0)
    geometry = disk.geometry
    disk_a = pooled_counts(disk.window(WINDOW_US).events, geometry)
    disk_b = pooled_counts(disk.window(WINDOW_US).events, geometry)
    cross = pooled_counts(ShapeScene("cross", seed=0).window(WINDOW_US).events, geometry)
    triangle = pooled_counts(ShapeScene("triangle", seed=0).window(WINDOW_US).events, geometry)
    same = cosine(disk_a, disk_b)
    assert cosine(disk_a, cross) < same - 0.1
    assert cosine(disk_a, triangle) < same - 0.1


def test_add_noise_events_count_order_dtype_geometry_and_span():
    batch = ShapeScene("bar", seed=2).window(WINDOW_US)
    t_first, t_last = int(batch.events["t"][0]), int(batch.events["t"][-1])
    noisy = add_noise_events(batch, 0.25, np.random.default_rng(0))
    assert len(noisy) == len(batch) + round(0.25 * len(batch))
    assert noisy.events.dtype == EVENT_DTYPE
    assert noisy.geometry == batch.geometry
    check_events(noisy.events, noisy.geometry)
    assert noisy.events["t"][0] >= t_first and noisy.events["t"][-1] <= t_last
    assert set(np.unique(noisy.events["p"]).tolist()) == {0, 1}
    original = batch.events.copy()
    add_noise_events(batch, 1.0, np.random.default_rng(1))
    assert np.array_equal(batch.events, original)

    copy = add_noise_events(batch, 0.0, np.random.default_rng(0))
    assert copy.events is not batch.events and np.array_equal(copy.events, batch.events)
    assert copy.events.dtype == EVENT_DTYPE

    empty = EventBatch(np.zeros(0, dtype=EVENT_DTYPE), batch.geometry)
    assert len(add_noise_events(empty, 0.5, np.random.default_rng(0))) == 0
    with pytest.raises(ValueError, match="fraction"):
        add_noise_events(batch, -0.1, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("key", "value"),
    [("width", 0), ("height", 1.5), ("size_px", 0), ("size_px", 80), ("jitter_px", -1.0), ("step_px", float("nan")),
     ("frame_us", 0), ("threshold_on", 0.0), ("threshold_off", -0.2), ("background", 1.2),
     ("foreground", 0.2), ("texture_amplitude", -0.01), ("eps", 0.0), ("rotation_deg_per_frame", True)],
)
def test_bad_config_raises_naming_the_key(key: str, value: object):
    with pytest.raises(ValueError, match=f"ShapeSceneConfig.{key}:"):
        ShapeSceneConfig(**{key: value})


def test_unknown_shape_and_bad_duration_raise():
    with pytest.raises(ValueError, match="hexagon.*disk, square, triangle, cross, ring, bar"):
        ShapeScene("hexagon")
    with pytest.raises(ValueError, match="duration_us"):
        ShapeScene("disk").window(0)
