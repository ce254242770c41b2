"""Event encoder: EventBatch -> SpikeFrames by pooling pixels onto a grid of input neurons per polarity.

Input neuron id = p * grid_w * grid_h + gy * grid_w + gx; one spike per neuron per tick at most.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from sensors.types import EventBatch, Geometry
from snn.frames import SpikeFrames


@njit(cache=True)
def pool_events(
    events: np.ndarray,
    t0_us: int,
    dt_us: int,
    n_ticks: int,
    width: int,
    height: int,
    grid_w: int,
    grid_h: int,
    min_count: int,
    counts: np.ndarray,
    touched: np.ndarray,
    tick_ptr: np.ndarray,
    neuron_ids: np.ndarray,
) -> int:
    """Bin time-ordered events into ticks of dt_us from t0_us and pool pixels into grid cells.

    A neuron spikes in a tick when its cell received ``min_count`` events of its polarity in that tick.
    Events before t0_us or after the block are skipped. ``counts`` (zeroed, length 2*grid_w*grid_h) and
    ``touched`` are scratch. Returns the number of spikes written to ``neuron_ids``.
    """
    n_cells = grid_w * grid_h
    n_spikes = 0
    e = 0
    n_events = events.shape[0]
    while e < n_events and events[e]["t"] < t0_us:
        e += 1
    tick_ptr[0] = 0
    for k in range(n_ticks):
        t_end = t0_us + (k + 1) * dt_us
        n_touched = 0
        while e < n_events and events[e]["t"] < t_end:
            ev = events[e]
            e += 1
            x, y = ev["x"], ev["y"]
            if x < 0 or y < 0 or x >= width or y >= height:
                continue
            cell = (1 if ev["p"] > 0 else 0) * n_cells + (y * grid_h // height) * grid_w + (x * grid_w // width)
            if counts[cell] == 0:
                touched[n_touched] = cell
                n_touched += 1
            counts[cell] += 1
            if counts[cell] == min_count:
                neuron_ids[n_spikes] = cell
                n_spikes += 1
        for i in range(n_touched):
            counts[touched[i]] = 0
        tick_ptr[k + 1] = n_spikes
    return n_spikes


@dataclass(frozen=True)
class PoolingConfig:
    """Grid of input cells (per polarity) and the events a cell needs within one tick to spike."""

    grid_w: int = 8
    grid_h: int = 8
    min_count: int = 1

    def validate(self) -> None:
        for key in ("grid_w", "grid_h", "min_count"):
            if getattr(self, key) < 1:
                raise ValueError(f"encoder.{key}: must be >= 1, got {getattr(self, key)}")


class EventPooler:
    """Encode event blocks of any sensor geometry onto ``2 * grid_w * grid_h`` input neurons."""

    def __init__(self, config: PoolingConfig, geometry: Geometry, dt_us: int) -> None:
        config.validate()
        if config.grid_w > geometry.width or config.grid_h > geometry.height:
            raise ValueError(f"encoder: grid {config.grid_w}x{config.grid_h} is finer than the sensor {geometry.width}x{geometry.height}")
        self.config = config
        self.geometry = geometry
        self.dt_us = dt_us
        self.n_inputs = 2 * config.grid_w * config.grid_h
        self._counts = np.zeros(self.n_inputs, dtype=np.int32)
        self._touched = np.zeros(self.n_inputs, dtype=np.int32)

    def encode(self, batch: EventBatch, t0_us: int, n_ticks: int) -> SpikeFrames:
        """Spikes for ticks [t0_us, t0_us + n_ticks * dt_us) from the batch's events in that window."""
        tick_ptr = np.zeros(n_ticks + 1, dtype=np.int64)
        ids = np.empty(min(len(batch.events), n_ticks * self.n_inputs), dtype=np.int32)
        c = self.config
        n = pool_events(
            batch.events, t0_us, self.dt_us, n_ticks, self.geometry.width, self.geometry.height,
            c.grid_w, c.grid_h, c.min_count, self._counts, self._touched, tick_ptr, ids,
        )
        return SpikeFrames(tick_ptr, ids[:n])
