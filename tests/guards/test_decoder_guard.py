"""Guard of README "Action pan" (+x right, +y down): events on the right of the view drive the camera right,
below drive it down — through the encoder, the hand-wired reference network and the pan decoder."""
from __future__ import annotations

import numpy as np
import pytest

from controllers.decode import PanDecoder
from controllers.tracking import reference_weights, tracking_network
from edge.backends import open_backend
from edge.config import load_config
from sensors.types import EVENT_DTYPE, EventBatch, Geometry
from snn.encoding.encode_events import EventPooler


def velocity_towards(x: int, y: int, blocks: int = 100) -> np.ndarray:
    """Mean [vx, vy] (px/s) while a 4x4 px blob of events flickers around (x - 0.5, y - 0.5) of the 64x64
    view (the view's centre is (31.5, 31.5), so 32 sits on the centre line)."""
    config = load_config(None)
    geometry = Geometry(64, 64)
    dt_us, block_ticks = config.run.dt_us, config.run.block_ticks
    encoder = EventPooler(config.encoder, geometry, dt_us)
    weights = reference_weights(config.network, config.encoder.grid_w, config.encoder.grid_h)
    backend = open_backend("numba")
    backend.load(tracking_network(config.network, config.encoder.grid_w, config.encoder.grid_h, seed=0,
                                  initial_weights=weights, learning=False, dt_us=dt_us), seed=0)
    decoder = PanDecoder(config.decoder, config.network.n_per_group, dt_us)
    gen = np.random.default_rng(0)
    out = []
    for b in range(blocks):
        t0 = b * block_ticks * dt_us
        n = 40
        events = np.zeros(n, dtype=EVENT_DTYPE)
        events["t"] = np.sort(t0 + gen.integers(0, block_ticks * dt_us, n))
        events["x"] = np.clip(x + gen.integers(-2, 2, n), 0, 63)  # 4 px wide: x - 2 .. x + 1
        events["y"] = np.clip(y + gen.integers(-2, 2, n), 0, 63)
        events["p"] = gen.integers(0, 2, n)
        frames = encoder.encode(EventBatch(events, geometry), t0, block_ticks)
        out.append(decoder.decode(backend.step(frames, 0.0)))
    return np.mean(out[blocks // 2:], axis=0)


@pytest.mark.parametrize("x, y, axis, sign", [(56, 32, 0, 1), (8, 32, 0, -1), (32, 56, 1, 1), (32, 8, 1, -1)],
                         ids=["right", "left", "below", "above"])
def test_the_camera_turns_towards_the_events(x, y, axis, sign):
    v = velocity_towards(x, y)
    assert sign * v[axis] > 40.0, v                # towards the events, in px/s
    assert abs(v[1 - axis]) < abs(v[axis]) / 3, v  # and mostly along that axis (the rest is membrane noise)
