"""Reward functions for the tracking task (pure functions of the target's offset from the view centre).

Offsets are in pixels, +x right, +y down; the view's half-width sets the scale.
"""
from __future__ import annotations

import numpy as np


def tracking_reward(offset_px: np.ndarray, half_width_px: float) -> float:
    """Mean over ticks of ``1 - |offset| / half_width``, each clipped to [-1, 1]: 1 at the centre, 0 at the border."""
    distance = np.hypot(offset_px[:, 0], offset_px[:, 1])
    return float(np.mean(np.clip(1.0 - distance / half_width_px, -1.0, 1.0)))


def on_target(offset_px: np.ndarray, window_half_px: float) -> np.ndarray:
    """Per tick: True when the target centre lies in the central square window of half-size window_half_px."""
    return (np.abs(offset_px[:, 0]) <= window_half_px) & (np.abs(offset_px[:, 1]) <= window_half_px)
