"""Numba kernels of the event filters in sensors/filtering/filters.py: one pass over a batch, kept events compacted.

Every kernel has the signature ``(events, state arrays..., params..., out) -> int``. ``events`` and
``out`` are EVENT_DTYPE arrays and ``out`` has room for ``len(events)`` records; the kernel copies each
kept event to ``out[k]`` and returns ``k``, the number kept. It mutates only the state arrays and ``out``
it is handed and allocates nothing. A negative return is an input error (``BAD_X``, ``BAD_Y``,
``BAD_T``) found before anything was written to the state; the driver turns it into a message.

Per-pixel time surfaces are int64 µs indexed ``[y, x]``. They start at 0 µs, as dv-processing's
``TimeSurface`` does, and the background-activity surface has a border of ``NEVER`` so that its
neighbourhood loop needs no edge tests.
"""
from __future__ import annotations

import numpy as np
from numba import njit

NEVER = -(2**62)
"""Time-surface value of a pixel that can never support an event (padding outside the sensor), µs."""
BAD_X = -1
"""Return code: an event's x is outside 0..width-1."""
BAD_Y = -2
"""Return code: an event's y is outside 0..height-1."""
BAD_T = -3
"""Return code: a timestamp is below the previous one (in this batch or the last batch)."""


@njit(cache=True)
def _check_events(events, last_t_us, width, height) -> int:
    """0 when every event is on a ``width`` x ``height`` sensor and t never decreases from ``last_t_us[0]``."""
    bad = False
    prev = last_t_us[0]
    w = np.uint64(width)
    h = np.uint64(height)
    for i in range(events.shape[0]):
        t = events[i]["t"]
        bad |= (t < prev) | (np.uint64(events[i]["x"]) >= w) | (np.uint64(events[i]["y"]) >= h)
        prev = t
    if not bad:
        return 0
    prev = last_t_us[0]
    for i in range(events.shape[0]):
        if events[i]["x"] < 0 or events[i]["x"] >= width:
            return BAD_X
        if events[i]["y"] < 0 or events[i]["y"] >= height:
            return BAD_Y
        if events[i]["t"] < prev:
            return BAD_T
        prev = events[i]["t"]
    return 0


@njit(cache=True)
def _background_activity(events, surface_us, last_t_us, width, height, half_size, window_us, out) -> int:
    """Keep an event when a pixel within ``half_size`` of it (itself excluded) had an event less than
    ``window_us`` before it; store its timestamp at its own pixel whether kept or not.

    ``surface_us`` is ``(height + 2 * half_size, width + 2 * half_size)``: the sensor's last-event times
    framed by ``half_size`` pixels of ``NEVER``. The search stops at the first supporting neighbour.
    """
    code = _check_events(events, last_t_us, width, height)
    if code < 0:
        return code
    n = events.shape[0]
    span = 2 * half_size + 1
    k = 0
    for i in range(n):
        t = events[i]["t"]
        x0 = events[i]["x"]  # the neighbourhood's top-left corner in the framed surface
        y0 = events[i]["y"]
        centre = surface_us[y0 + half_size]
        centre[x0 + half_size] = NEVER  # the pixel itself never supports its own event
        oldest = t - window_us
        supported = False
        for dy in range(span):
            row = surface_us[y0 + dy]
            for dx in range(span):
                if row[x0 + dx] > oldest:
                    supported = True
                    break
            if supported:
                break
        centre[x0 + half_size] = t
        out[k] = events[i]
        k += supported
    if n > 0:
        last_t_us[0] = events[n - 1]["t"]
    return k


@njit(cache=True)
def _background_activity_3x3(events, surface_us, last_t_us, width, height, window_us, out) -> int:
    """``_background_activity`` with ``half_size`` = 1 (dv-processing's fixed neighbourhood), unrolled."""
    code = _check_events(events, last_t_us, width, height)
    if code < 0:
        return code
    n = events.shape[0]
    k = 0
    for i in range(n):
        t = events[i]["t"]
        xc = events[i]["x"] + 1
        yc = events[i]["y"] + 1
        up = surface_us[yc - 1]
        row = surface_us[yc]
        down = surface_us[yc + 1]
        latest = max(max(max(up[xc - 1], up[xc]), max(up[xc + 1], row[xc - 1])),
                     max(max(row[xc + 1], down[xc - 1]), max(down[xc], down[xc + 1])))
        row[xc] = t
        out[k] = events[i]
        k += t - latest < window_us
    if n > 0:
        last_t_us[0] = events[n - 1]["t"]
    return k


@njit(cache=True)
def _refractory(events, surface_us, last_t_us, width, height, period_us, out) -> int:
    """Keep an event when its pixel's previous event (kept or not) is at least ``period_us`` older;
    store its timestamp at its pixel whether kept or not."""
    code = _check_events(events, last_t_us, width, height)
    if code < 0:
        return code
    n = events.shape[0]
    k = 0
    for i in range(n):
        t = events[i]["t"]
        x = events[i]["x"]
        y = events[i]["y"]
        previous = surface_us[y, x]
        surface_us[y, x] = t
        out[k] = events[i]
        k += t - previous >= period_us
    if n > 0:
        last_t_us[0] = events[n - 1]["t"]
    return k


@njit(cache=True)
def _region(events, x0, y0, x1, y1, out) -> int:
    """Keep events with ``x0 <= x < x1`` and ``y0 <= y < y1`` (pixels)."""
    span_x = np.uint64(x1 - x0)
    span_y = np.uint64(y1 - y0)
    k = 0
    for i in range(events.shape[0]):
        inside_x = np.uint64(events[i]["x"] - x0) < span_x  # one unsigned test covers both bounds
        inside_y = np.uint64(events[i]["y"] - y0) < span_y
        out[k] = events[i]
        k += inside_x & inside_y
    return k


@njit(cache=True)
def _polarity(events, polarity, out) -> int:
    """Keep events whose ``p`` equals ``polarity`` (0 or 1)."""
    k = 0
    for i in range(events.shape[0]):
        out[k] = events[i]
        k += events[i]["p"] == polarity
    return k


@njit(cache=True)
def _check_pixels(events, width, height) -> int:
    """0 when every event is on a ``width`` x ``height`` sensor, else ``BAD_X`` or ``BAD_Y``."""
    w = np.uint64(width)  # a negative coordinate wraps to a huge unsigned value
    h = np.uint64(height)
    bad = False
    for i in range(events.shape[0]):
        bad |= (np.uint64(events[i]["x"]) >= w) | (np.uint64(events[i]["y"]) >= h)
    if not bad:
        return 0
    for i in range(events.shape[0]):
        if events[i]["x"] < 0 or events[i]["x"] >= width:
            return BAD_X
        if events[i]["y"] < 0 or events[i]["y"] >= height:
            return BAD_Y
    return 0


@njit(cache=True)
def _mask(events, keep_mask, out) -> int:
    """Keep events whose pixel has a non-zero ``keep_mask[y, x]`` (uint8, ``(height, width)``)."""
    code = _check_pixels(events, keep_mask.shape[1], keep_mask.shape[0])
    if code < 0:
        return code
    k = 0
    for i in range(events.shape[0]):
        out[k] = events[i]
        k += keep_mask[events[i]["y"], events[i]["x"]] != 0
    return k


@njit(cache=True)
def _downsample(events, x_map, y_map, out) -> int:
    """Copy every event with x -> ``x_map[x]``, y -> ``y_map[y]`` (tables of ``x // factor_x``, ``y // factor_y``
    over the input sensor, so their lengths are its width and height)."""
    code = _check_pixels(events, x_map.shape[0], y_map.shape[0])
    if code < 0:
        return code
    n = events.shape[0]
    for i in range(n):
        x = x_map[events[i]["x"]]
        y = y_map[events[i]["y"]]
        out[i] = events[i]
        out[i]["x"] = x
        out[i]["y"] = y
    return n


@njit(cache=True)
def _downsample_refractory(events, surface_us, last_t_us, x_map, y_map, period_us, out) -> int:
    """``_downsample``, then ``_refractory`` with ``period_us`` on the output grid held in ``surface_us``."""
    code = _check_events(events, last_t_us, x_map.shape[0], y_map.shape[0])
    if code < 0:
        return code
    n = events.shape[0]
    k = 0
    for i in range(n):
        t = events[i]["t"]
        x = x_map[events[i]["x"]]
        y = y_map[events[i]["y"]]
        previous = surface_us[y, x]
        surface_us[y, x] = t
        out[k] = events[i]
        out[k]["x"] = x
        out[k]["y"] = y
        k += t - previous >= period_us
    if n > 0:
        last_t_us[0] = events[n - 1]["t"]
    return k
