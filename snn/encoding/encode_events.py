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
def _bisect(t_us: np.ndarray, lo: int, t_end_us: int) -> int:
    """First index from ``lo`` whose time is >= ``t_end_us`` (the length if none), for ordered times."""
    hi = t_us.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if t_us[mid] < t_end_us:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _scan(t_us: np.ndarray, lo: int, t_end_us: int) -> int:
    """First index from ``lo`` whose time is >= ``t_end_us`` (the length if none), event by event."""
    hi = t_us.shape[0]
    while lo < hi and t_us[lo] < t_end_us:
        lo += 1
    return lo


@njit(cache=True)
def _all_before(t_us: np.ndarray, lo: int, hi: int, t_end_us: int) -> bool:
    """True when every time in ``[lo, hi)`` is below ``t_end_us`` (branch-free; also pulls them into cache)."""
    late = False
    for i in range(lo, hi):
        late |= t_us[i] >= t_end_us
    return not late


@njit(cache=True)
def _cell_maps(width: int, height: int, grid_w: int, grid_h: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel -> cell maps: ``gx_of_x[x] = x * grid_w // width``, ``row_of_y[y] = (y * grid_h // height) * grid_w``."""
    gx_of_x = np.empty(width, dtype=np.int32)
    for x in range(width):
        gx_of_x[x] = x * grid_w // width
    row_of_y = np.empty(height, dtype=np.int32)
    for y in range(height):
        row_of_y[y] = (y * grid_h // height) * grid_w
    return gx_of_x, row_of_y


@njit(cache=True)
def _pool_cells(
    events: np.ndarray,
    t0_us: int,
    dt_us: int,
    n_ticks: int,
    gx_of_x: np.ndarray,
    row_of_y: np.ndarray,
    n_cells: int,
    min_count: int,
    counts: np.ndarray,
    touched: np.ndarray,
    tick_ptr: np.ndarray,
    neuron_ids: np.ndarray,
) -> int:
    """``pool_events`` with the pixel -> cell maps of ``_cell_maps`` (lengths width and height) passed in;
    ``n_cells = grid_w * grid_h``.

    Each tick's end is found first, so the per-event loop only maps and counts: by bisection, confirmed
    by checking that no event before it is at or past the tick's end (which also pulls the tick's events
    into cache). Once that fails (times out of order) the ends are found event by event, as an
    event-by-event loop would find them. Coordinates are compared as unsigned numbers: a negative one
    wraps to a huge value and fails the same single test, and the unsigned table index lets Numba drop
    its negative-index wraparound check. A cell is no longer counted once it has reached ``min_count``
    (it has spiked this tick), which keeps the dense case free of stores.
    """
    t_us = events["t"]
    xs = events["x"]
    ys = events["y"]
    ps = events["p"]
    width = np.uint64(gx_of_x.shape[0])
    height = np.uint64(row_of_y.shape[0])
    e = _bisect(t_us, 0, t0_us)
    ordered = _all_before(t_us, 0, e, t0_us)
    if not ordered:
        e = _scan(t_us, 0, t0_us)
    n_spikes = 0
    tick_ptr[0] = 0
    for k in range(n_ticks):
        t_end = t0_us + (k + 1) * dt_us
        if ordered:
            stop = _bisect(t_us, e, t_end)
            ordered = _all_before(t_us, e, stop, t_end)
        if not ordered:
            stop = _scan(t_us, e, t_end)
        n_touched = 0
        for i in range(e, stop):
            x = np.uint64(xs[i])
            y = np.uint64(ys[i])
            if x >= width or y >= height:
                continue
            cell = np.uint64(gx_of_x[x] + row_of_y[y] + (n_cells if ps[i] > 0 else 0))
            c = counts[cell]
            if c < min_count:
                if c == 0:
                    touched[n_touched] = cell
                    n_touched += 1
                c += 1
                counts[cell] = c
                if c == min_count:
                    neuron_ids[n_spikes] = cell
                    n_spikes += 1
        e = stop
        for i in range(n_touched):
            counts[touched[i]] = 0
        tick_ptr[k + 1] = n_spikes
    return n_spikes


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
    ``touched`` are scratch. Returns the number of spikes written to ``neuron_ids``. Builds the pixel ->
    cell maps and calls ``_pool_cells`` (EventPooler builds its maps once and calls that directly).
    """
    gx_of_x, row_of_y = _cell_maps(width, height, grid_w, grid_h)
    return _pool_cells(events, t0_us, dt_us, n_ticks, gx_of_x, row_of_y, grid_w * grid_h, min_count,
                       counts, touched, tick_ptr, neuron_ids)


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
        self._gx_of_x, self._row_of_y = _cell_maps(geometry.width, geometry.height, config.grid_w, config.grid_h)

    def encode(self, batch: EventBatch, t0_us: int, n_ticks: int) -> SpikeFrames:
        """Spikes for ticks [t0_us, t0_us + n_ticks * dt_us) from the batch's events in that window.

        One kernel call per block; the pixel -> cell maps were built once in the constructor.
        """
        tick_ptr = np.zeros(n_ticks + 1, dtype=np.int64)
        ids = np.empty(min(len(batch.events), n_ticks * self.n_inputs), dtype=np.int32)
        c = self.config
        n = _pool_cells(
            batch.events, t0_us, self.dt_us, n_ticks, self._gx_of_x, self._row_of_y, c.grid_w * c.grid_h,
            c.min_count, self._counts, self._touched, tick_ptr, ids,
        )
        return SpikeFrames(tick_ptr, ids[:n])
