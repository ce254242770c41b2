"""Plain-Python reference for snn.encoding.encode_events.pool_events: one event at a time, a dict per tick."""
from __future__ import annotations


def pool_events_ref(events, t0_us: int, dt_us: int, n_ticks: int, width: int, height: int,
                    grid_w: int, grid_h: int, min_count: int) -> list[list[int]]:
    """Spike ids per tick: cell (p, gy, gx) fires in a tick when it has seen ``min_count`` events there."""
    ticks = [[] for _ in range(n_ticks)]
    counts = [{} for _ in range(n_ticks)]
    for t, x, y, p in zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].tolist()):
        if t < t0_us or t >= t0_us + n_ticks * dt_us:
            continue
        if not (0 <= x < width and 0 <= y < height):
            continue
        k = (t - t0_us) // dt_us
        gx = x * grid_w // width
        gy = y * grid_h // height
        cell = (1 if p > 0 else 0) * grid_w * grid_h + gy * grid_w + gx
        counts[k][cell] = counts[k].get(cell, 0) + 1
        if counts[k][cell] == min_count:
            ticks[k].append(cell)
    return ticks
