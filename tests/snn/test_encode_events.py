"""snn.encoding.encode_events (pool_events, EventPooler) against a plain-Python pooling reference."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.encode_events import pool_events_ref  # noqa: E402
from sensors.types import EVENT_DTYPE, EventBatch, Geometry  # noqa: E402
from snn.encoding.encode_events import EventPooler, PoolingConfig, pool_events  # noqa: E402

DT_US = 1000


def random_events(gen: np.random.Generator, n: int, width: int, height: int, t_lo: int, t_hi: int,
                  off_sensor: bool = False) -> np.ndarray:
    events = np.zeros(n, dtype=EVENT_DTYPE)
    events["t"] = np.sort(gen.integers(t_lo, t_hi, n))
    events["x"] = gen.integers(0, width, n)
    events["y"] = gen.integers(0, height, n)
    events["p"] = gen.integers(0, 2, n)
    if off_sensor:  # a few events outside the geometry must be skipped
        bad = gen.random(n) < 0.05
        events["x"][bad] = gen.choice([-1, width, width + 3], bad.sum())
    return events


def frames_as_lists(frames) -> list[list[int]]:
    return [frames.tick(k).tolist() for k in range(frames.n_ticks)]


GEOMETRIES = [(50, 30, 8, 8), (33, 17, 5, 3), (128, 96, 7, 9), (9, 9, 9, 9), (64, 64, 1, 1)]


@pytest.mark.parametrize("width,height,grid_w,grid_h", GEOMETRIES)
@pytest.mark.parametrize("min_count", [1, 2])
@pytest.mark.parametrize("seed", [0, 1])
def test_pool_events_matches_reference(width, height, grid_w, grid_h, min_count, seed):
    gen = np.random.default_rng(seed)
    t0, n_ticks = 10_000, 12
    # events start before t0 and run past the block's end
    events = random_events(gen, 3000, width, height, t0 - 3 * DT_US, t0 + (n_ticks + 3) * DT_US, off_sensor=True)
    n_cells = 2 * grid_w * grid_h
    counts = np.zeros(n_cells, dtype=np.int32)
    touched = np.zeros(n_cells, dtype=np.int32)
    tick_ptr = np.zeros(n_ticks + 1, dtype=np.int64)
    ids = np.full(len(events), -1, dtype=np.int32)
    n = pool_events(events, t0, DT_US, n_ticks, width, height, grid_w, grid_h, min_count, counts, touched, tick_ptr, ids)
    expected = pool_events_ref(events, t0, DT_US, n_ticks, width, height, grid_w, grid_h, min_count)
    got = [ids[tick_ptr[k] : tick_ptr[k + 1]].tolist() for k in range(n_ticks)]
    assert got == expected
    assert n == tick_ptr[-1] == sum(len(t) for t in expected) > 0
    assert not counts.any()  # scratch left zeroed for the next call
    for tick in got:
        assert len(set(tick)) == len(tick)  # one spike per neuron per tick at most
        assert all(0 <= i < n_cells for i in tick)


@pytest.mark.parametrize("width,height,grid_w,grid_h", GEOMETRIES)
def test_every_cell_is_reachable_and_ids_follow_the_layout(width, height, grid_w, grid_h):
    # one event per pixel and polarity in a single tick: every cell fires exactly once
    ys, xs = np.mgrid[0:height, 0:width]
    events = np.zeros(2 * width * height, dtype=EVENT_DTYPE)
    events["x"] = np.tile(xs.ravel(), 2)
    events["y"] = np.tile(ys.ravel(), 2)
    events["p"] = np.repeat([0, 1], width * height)
    pooler = EventPooler(PoolingConfig(grid_w, grid_h, 1), Geometry(width, height), DT_US)
    frames = pooler.encode(EventBatch(events, Geometry(width, height)), 0, 1)
    assert sorted(frames.tick(0).tolist()) == list(range(2 * grid_w * grid_h))
    # the first ON event (x=0, y=0) is neuron grid_w * grid_h (p * grid_w * grid_h + gy * grid_w + gx)
    assert frames.tick(0)[grid_w * grid_h] == grid_w * grid_h


@pytest.mark.parametrize("min_count", [1, 2, 3])
def test_event_pooler_over_consecutive_blocks_matches_reference(min_count):
    gen = np.random.default_rng(min_count)
    geometry = Geometry(50, 30)
    pooler = EventPooler(PoolingConfig(8, 8, min_count), geometry, DT_US)
    events = random_events(gen, 20000, 50, 30, 0, 40 * DT_US)
    batch = EventBatch(events, geometry)
    for t0 in range(0, 40 * DT_US, 10 * DT_US):
        frames = pooler.encode(batch, t0, 10)
        frames.validate(pooler.n_inputs)
        assert frames_as_lists(frames) == pool_events_ref(events, t0, DT_US, 10, 50, 30, 8, 8, min_count)


def test_event_pooler_empty_and_out_of_window_batches():
    geometry = Geometry(50, 30)
    pooler = EventPooler(PoolingConfig(), geometry, DT_US)
    frames = pooler.encode(EventBatch(np.zeros(0, dtype=EVENT_DTYPE), geometry), 0, 5)
    assert frames.n_ticks == 5 and frames.n_spikes == 0
    late = random_events(np.random.default_rng(0), 50, 50, 30, 10 * DT_US, 11 * DT_US)
    assert pooler.encode(EventBatch(late, geometry), 0, 5).n_spikes == 0


def test_tick_boundaries_are_half_open():
    events = np.zeros(3, dtype=EVENT_DTYPE)
    events["t"] = [999, 1000, 1999]
    events["x"] = [0, 49, 0]
    pooler = EventPooler(PoolingConfig(8, 8, 1), Geometry(50, 30), DT_US)
    frames = pooler.encode(EventBatch(events, Geometry(50, 30)), 0, 2)
    assert frames_as_lists(frames) == [[0], [7, 0]]


@pytest.mark.parametrize("key,kwargs", [("grid_w", {"grid_w": 0}), ("grid_h", {"grid_h": -1}), ("min_count", {"min_count": 0})])
def test_pooling_config_errors_name_the_key(key, kwargs):
    with pytest.raises(ValueError, match=f"encoder.{key}"):
        EventPooler(PoolingConfig(**kwargs), Geometry(50, 30), DT_US)


def test_grid_finer_than_sensor_is_rejected():
    with pytest.raises(ValueError, match="finer than the sensor"):
        EventPooler(PoolingConfig(8, 8), Geometry(50, 6), DT_US)
