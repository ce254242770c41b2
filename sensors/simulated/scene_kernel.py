"""Numba kernel of the built-in scene: moves target and camera, renders log intensity, emits DVS events.

Random draws arrive as arrays from the scene's own seeded generator, so the kernel is deterministic.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def advance_scene(
    n_ticks: int,
    t0_us: int,
    dt_us: int,
    world_log: np.ndarray,
    reference_log: np.ndarray,
    target: np.ndarray,
    camera: np.ndarray,
    pan_velocity_px_s: np.ndarray,
    target_radius_px: float,
    target_log_contrast: float,
    threshold_on: float,
    threshold_off: float,
    max_events_per_px: int,
    speed_range_px_s: np.ndarray,
    change_prob: float,
    velocity_draws: np.ndarray,
    noise_tick: np.ndarray,
    noise_x: np.ndarray,
    noise_y: np.ndarray,
    noise_p: np.ndarray,
    events: np.ndarray,
    target_offset_px: np.ndarray,
) -> int:
    """Simulate ``n_ticks`` ticks; write events (t, x, y, p) from ``events[0]`` and return their count.

    target = [x, y, vx, vy] in world pixels and pixels/s; camera = [cx, cy] is the view centre in world
    pixels, moved by pan_velocity_px_s and kept inside the world. Each tick the view's log intensity is
    compared with each pixel's reference: a change beyond threshold_on (threshold_off) emits an ON (OFF)
    event per threshold crossed (at most
    max_events_per_px per pixel and tick) and moves the reference by the thresholds crossed. ``target_offset_px[k]`` receives the target's
    position relative to the view centre at tick k. ``velocity_draws[k]`` = (u_change, u_speed, u_angle).
    """
    world_h, world_w = world_log.shape
    view_h, view_w = reference_log.shape
    dt_s = dt_us * 1e-6
    half_w, half_h = view_w / 2.0, view_h / 2.0
    margin = target_radius_px + 1.0
    r2 = target_radius_px * target_radius_px
    column = np.empty(view_w, dtype=np.int64)  # world column of each view column, this tick
    dx2 = np.empty(view_w)  # squared horizontal distance of each view column to the target, px^2
    change = np.empty(view_w)  # log-intensity change of each pixel of the row against its reference
    n_events = 0
    q = 0
    for k in range(n_ticks):
        t_us = t0_us + k * dt_us
        if velocity_draws[k, 0] < change_prob:
            speed = speed_range_px_s[0] + velocity_draws[k, 1] * (speed_range_px_s[1] - speed_range_px_s[0])
            angle = 2.0 * np.pi * velocity_draws[k, 2]
            target[2] = speed * np.cos(angle)
            target[3] = speed * np.sin(angle)
        for axis in range(2):
            size = world_w if axis == 0 else world_h
            half = half_w if axis == 0 else half_h
            pos = target[axis] + target[2 + axis] * dt_s
            if pos < half + margin:
                target[2 + axis] = abs(target[2 + axis])
            elif pos > size - half - margin:
                target[2 + axis] = -abs(target[2 + axis])
            target[axis] = pos
            camera[axis] = min(max(camera[axis] + pan_velocity_px_s[axis] * dt_s, half), size - half)
        left = camera[0] - half_w
        top = camera[1] - half_h
        target_offset_px[k, 0] = target[0] - camera[0]
        target_offset_px[k, 1] = target[1] - camera[1]
        for x in range(view_w):
            wx = left + x + 0.5
            column[x] = min(int(wx), world_w - 1)
            dx = wx - target[0]
            dx2[x] = dx * dx
        for y in range(view_h):
            wy = top + y + 0.5
            row = world_log[min(int(wy), world_h - 1)]
            dy = wy - target[1]
            dy2 = dy * dy
            reference = reference_log[y]
            beyond = 0  # pixels of the row whose change crosses a threshold
            for x in range(np.uint64(view_w)):  # branch-free, so it vectorises; events are rare
                level = row[column[x]] + (target_log_contrast if dx2[x] + dy2 <= r2 else 0.0)
                change[x] = level - reference[x]
                beyond += (change[x] >= threshold_on) | (change[x] <= -threshold_off)
            if beyond == 0:
                continue
            for x in range(view_w):
                if threshold_on > change[x] > -threshold_off:
                    continue
                n_events = _emit(change[x], reference, x, y, t_us, threshold_on, threshold_off, max_events_per_px,
                                 events, n_events)
        while q < noise_tick.shape[0] and noise_tick[q] == k:
            events[n_events]["t"] = t_us
            events[n_events]["x"] = noise_x[q]
            events[n_events]["y"] = noise_y[q]
            events[n_events]["p"] = noise_p[q]
            n_events += 1
            q += 1
    return n_events


@njit(cache=True, inline="always")
def _emit(change, reference, x, y, t_us, threshold_on, threshold_off, max_events_per_px, events, n_events):
    """Pixel (x, y) changed by ``change`` (log units) beyond a threshold: move its reference by the thresholds
    crossed and emit an event per threshold crossed (at most max_events_per_px); return the new count."""
    if change >= threshold_on:
        n_cross = min(int(change / threshold_on), max_events_per_px)
        reference[x] += threshold_on * int(change / threshold_on)
        polarity = 1
    else:
        n_cross = min(int(-change / threshold_off), max_events_per_px)
        reference[x] -= threshold_off * int(-change / threshold_off)
        polarity = 0
    for _ in range(n_cross):
        events[n_events]["t"] = t_us
        events[n_events]["x"] = x
        events[n_events]["y"] = y
        events[n_events]["p"] = polarity
        n_events += 1
    return n_events


@njit(cache=True)
def render_view(
    world_log: np.ndarray,
    target: np.ndarray,
    camera: np.ndarray,
    target_radius_px: float,
    target_log_contrast: float,
    out_log: np.ndarray,
) -> None:
    """Write the view's log intensity (what the pixels see) into ``out_log``, same sampling as advance_scene."""
    world_h, world_w = world_log.shape
    view_h, view_w = out_log.shape
    left = camera[0] - view_w / 2.0
    top = camera[1] - view_h / 2.0
    r2 = target_radius_px * target_radius_px
    for y in range(view_h):
        wy = top + y + 0.5
        iy = min(int(wy), world_h - 1)
        for x in range(view_w):
            wx = left + x + 0.5
            level = world_log[iy, min(int(wx), world_w - 1)]
            if (wx - target[0]) ** 2 + (wy - target[1]) ** 2 <= r2:
                level += target_log_contrast
            out_log[y, x] = level
