"""Numba kernels of the cochlear front end: complex gammatone cascade, inner-hair-cell rectification,
per-tick envelope, compression and adaptation. Pure functions over state arrays owned by ``snn.encoding.cochlea``."""
from __future__ import annotations

import numpy as np
from numba import njit

ORDER = 4
"""Stages of the complex one-pole cascade: a 4th-order gammatone (a compile-time constant, so the stage
loop unrolls and the channel loop vectorises)."""


@njit(cache=True, fastmath=True)
def gammatone_envelopes(samples: np.ndarray, pole_re: np.ndarray, pole_im: np.ndarray, gain: np.ndarray,
                        stage_re: np.ndarray, stage_im: np.ndarray, tick_sum: np.ndarray,
                        tick_fill: np.ndarray, samples_per_tick: int, envelope: np.ndarray) -> int:
    """Filter ``samples`` through every channel's complex one-pole cascade and average the half-wave
    rectified real output over each tick.

    Each channel runs ORDER stages y[n] = u[n] + pole * y[n-1] (u = gain * x for the first
    stage, the previous stage's output after); the real part of the last stage is the gammatone output.
    ``stage_re/stage_im`` (ORDER, channels), ``tick_sum`` (channels) and ``tick_fill[0]`` (samples already
    in the open tick) carry across calls, so any chunking gives the same envelopes. Writes one row of
    ``envelope`` (rows >= completed ticks, channels) per completed tick; returns the number of rows written.
    The channel loop is innermost so that it vectorises.
    """
    n_channels = stage_re.shape[1]
    fill = tick_fill[0]
    n_ticks = 0
    for n in range(samples.shape[0]):
        x = samples[n]
        for c in range(n_channels):
            u_re = x * gain[c]
            u_im = 0.0
            for s in range(ORDER):
                y_re = u_re + pole_re[c] * stage_re[s, c] - pole_im[c] * stage_im[s, c]
                y_im = u_im + pole_re[c] * stage_im[s, c] + pole_im[c] * stage_re[s, c]
                stage_re[s, c] = y_re
                stage_im[s, c] = y_im
                u_re = y_re
                u_im = y_im
            if u_re > 0.0:
                tick_sum[c] += u_re
        fill += 1
        if fill == samples_per_tick:
            for c in range(n_channels):
                envelope[n_ticks, c] = tick_sum[c] / samples_per_tick
                tick_sum[c] = 0.0
            n_ticks += 1
            fill = 0
    tick_fill[0] = fill
    return n_ticks


@njit(cache=True)
def compress_adapt(envelope: np.ndarray, reference: float, adapt_level: np.ndarray, adapt_keep: float,
                   adapt_strength: float, out: np.ndarray) -> None:
    """Log compression c = log1p(envelope / reference), then subtractive adaptation on the log scale:
    out = max(c - adapt_strength * a, 0), a <- adapt_keep * a + (1 - adapt_keep) * c (a slow level per
    channel, ``adapt_level``, carried across calls). Subtracting a log level divides the linear envelope
    by it, so a steady sound fades and onsets stand out."""
    n_ticks, n_channels = envelope.shape
    for t in range(n_ticks):
        for c in range(n_channels):
            level = np.log1p(envelope[t, c] / reference)
            value = level - adapt_strength * adapt_level[c]
            out[t, c] = value if value > 0.0 else 0.0
            adapt_level[c] = adapt_keep * adapt_level[c] + (1.0 - adapt_keep) * level
