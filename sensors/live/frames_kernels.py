"""Numba kernel of frame→event emulation: per-pixel log-intensity change detection between two frames.

Each threshold crossing is timed where the linearly interpolated log intensity meets it.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

NEVER_US = -(1 << 62)
"""Initial ``last_t_us`` of a pixel that has not fired yet (far enough in the past for any refractory period)."""


@njit(cache=True)
def _frame_events(
    log_prev: np.ndarray,
    log_now: np.ndarray,
    t_prev_us: int,
    t_now_us: int,
    ref_log: np.ndarray,
    last_t_us: np.ndarray,
    threshold_on: float,
    threshold_off: float,
    refractory_us: int,
    start_px: int,
    events_out: np.ndarray,
    n_out: int,
) -> tuple[int, int]:
    """Emit the events of one frame interval ``(t_prev_us, t_now_us]``, pixel by pixel in row-major order.

    Parameters
    ----------
    log_prev, log_now : (height, width) float64, log intensity of the previous and the current frame.
    t_prev_us, t_now_us : int, the two frames' times in µs (``t_now_us > t_prev_us``).
    ref_log : (height, width) float64, each pixel's reference log intensity; moved by every crossing.
    last_t_us : (height, width) int64, each pixel's last emitted event time in µs.
    threshold_on, threshold_off : float, positive log-intensity contrast of one ON / OFF event.
    refractory_us : int, a crossing less than this many µs after the pixel's last event is dropped
        (the reference still moves past it).
    start_px : int, the row-major pixel index to start at (resume after a full buffer).
    events_out : EVENT_DTYPE array; events are written from ``events_out[n_out]``.
    n_out : int, how many events ``events_out`` already holds.

    Returns
    -------
    (n_out, next_px) : the new event count and the pixel to resume at; ``next_px == height * width`` when
    the frame is done. A pixel is processed only when all its crossings fit in ``events_out``, so a short
    buffer stops the kernel before that pixel, with its state untouched.

    Within a pixel the level ``ref + k * threshold`` (k = 1..n) is crossed at
    ``t_prev_us + round((level - l_prev) / (l_now - l_prev) * (t_now_us - t_prev_us))`` (halves up).
    """
    height, width = log_now.shape
    n_px = height * width
    capacity = events_out.shape[0]
    span_us = t_now_us - t_prev_us
    for px in range(start_px, n_px):
        y = px // width
        x = px - y * width
        l_now = log_now[y, x]
        ref = ref_log[y, x]
        if l_now - ref >= threshold_on:
            step = threshold_on
            n_cross = int(math.floor((l_now - ref) / threshold_on))
            polarity = 1
        elif ref - l_now >= threshold_off:
            step = -threshold_off
            n_cross = int(math.floor((ref - l_now) / threshold_off))
            polarity = 0
        else:
            continue
        if n_out + n_cross > capacity:
            return n_out, px
        l_prev = log_prev[y, x]
        delta = l_now - l_prev
        last = last_t_us[y, x]
        for k in range(1, n_cross + 1):
            level = ref + k * step
            frac = 1.0
            if delta != 0.0:
                frac = min(max((level - l_prev) / delta, 0.0), 1.0)
            t_us = t_prev_us + int(math.floor(frac * span_us + 0.5))
            if t_us - last >= refractory_us:
                events_out[n_out]["t"] = t_us
                events_out[n_out]["x"] = x
                events_out[n_out]["y"] = y
                events_out[n_out]["p"] = polarity
                n_out += 1
                last = t_us
        ref_log[y, x] = ref + n_cross * step
        last_t_us[y, x] = last
    return n_out, n_px
