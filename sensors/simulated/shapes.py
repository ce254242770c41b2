"""Built-in DVS event windows of moving shapes (disk, square, ...), for pattern-memory benchmarks (classes = shapes).

Frames are rendered with OpenCV at 4x resolution and turned into events by the frame→event kernel.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from sensors.live.frames_kernels import NEVER_US, _frame_events
from sensors.types import EVENT_DTYPE, EventBatch, Geometry, empty_events

__all__ = ["SHAPES", "ShapeSceneConfig", "ShapeScene", "add_noise_events"]

SHAPES = ("disk", "square", "triangle", "cross", "ring", "bar")
"""The known shapes, in class order."""

SUPERSAMPLE = 4
"""Frames are drawn at this many times the sensor resolution, then area-averaged down (sub-pixel motion)."""

SHIFT_BITS = 4
"""Fractional bits of the coordinates handed to OpenCV's drawing functions."""

ARM_FRACTION = 0.25
"""Width of the cross's arms and of the bar, and thickness of the ring, as a fraction of ``size_px``."""


@dataclass(frozen=True)
class ShapeSceneConfig:
    """Parameters of a shape scene (pixels, µs, gray levels 0..1, natural-log contrast).

    Parameters
    ----------
    width, height : sensor size in pixels.
    size_px : the shape's extent in pixels (it fits in a circle of this diameter, up to the bar's corners).
    jitter_px : the shape's centre does a bounded random walk within ±jitter_px (per axis) of the view centre.
    step_px : random-walk step per frame in pixels (uniformly random direction, reflected at the bound).
    rotation_deg_per_frame : rotation per frame in degrees (the sign is random per scene).
    frame_us : frame interval in µs.
    threshold_on, threshold_off : log-intensity contrast of one ON / OFF event.
    background, foreground : gray levels 0..1 of the background and of the (brighter) shape.
    texture_amplitude : peak gray-level amplitude of the static, seeded, smooth background texture.
    texture_cell_px : size in pixels of the texture's random cells (smoothly interpolated).
    eps : offset in the log intensity ``log(I + eps)`` (> 0).
    """

    width: int = 64
    height: int = 64
    size_px: float = 24
    jitter_px: float = 3.0
    step_px: float = 0.5
    rotation_deg_per_frame: float = 1.0
    frame_us: int = 1000
    threshold_on: float = 0.2
    threshold_off: float = 0.2
    background: float = 0.3
    foreground: float = 0.8
    texture_amplitude: float = 0.03
    texture_cell_px: int = 4
    eps: float = 0.02

    def __post_init__(self) -> None:
        for key in ("width", "height", "frame_us", "texture_cell_px"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ShapeSceneConfig.{key}: must be an int >= 1, got {value!r}")
        for key in ("width", "height"):
            if getattr(self, key) > 32767:
                raise ValueError(f"ShapeSceneConfig.{key}: must be <= 32767, got {getattr(self, key)!r}")
        for key in ("size_px", "threshold_on", "threshold_off", "eps"):
            _check_number(key, getattr(self, key), low=0.0, low_open=True)
        for key in ("jitter_px", "step_px", "rotation_deg_per_frame", "texture_amplitude"):
            _check_number(key, getattr(self, key), low=0.0, low_open=False)
        for key in ("background", "foreground"):
            _check_number(key, getattr(self, key), low=0.0, low_open=False)
            if getattr(self, key) > 1.0:
                raise ValueError(f"ShapeSceneConfig.{key}: must be a gray level in 0..1, got {getattr(self, key)!r}")
        if self.foreground <= self.background:
            raise ValueError(f"ShapeSceneConfig.foreground: must be > background ({self.background}), "
                             f"got {self.foreground!r}")
        span = self.size_px + 2.0 * self.jitter_px
        if span > min(self.width, self.height):
            raise ValueError(f"ShapeSceneConfig.size_px: size_px + 2 * jitter_px ({span}) must fit in the view "
                             f"({self.width}x{self.height})")


def _check_number(key: str, value: object, low: float, low_open: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < low or (low_open and value == low):
        relation = ">" if low_open else ">="
        raise ValueError(f"ShapeSceneConfig.{key}: must be a finite number {relation} {low:g}, got {value!r}")


class ShapeScene:
    """One shape moving (bounded random walk plus slow rotation) over a textured background, as DVS events.

    Parameters
    ----------
    shape : one of SHAPES.
    config : the scene's parameters.
    seed : seeds the scene's own ``np.random.Generator`` (texture, start, rotation sign, walk).

    Frame ``k`` is at ``k * frame_us`` µs. Frame 0 sets every pixel's reference and emits nothing (a DVS
    that has been looking at the scene), so only motion makes events. Each ``window(duration_us)`` returns
    the events after the previous window up to and including its end time, in time order.
    """

    def __init__(self, shape: str, config: ShapeSceneConfig = ShapeSceneConfig(), seed: int = 0) -> None:
        if shape not in SHAPES:
            raise ValueError(f"ShapeScene.shape: unknown shape {shape!r}, known: {', '.join(SHAPES)}")
        self.shape = shape
        self.config = config
        self._geometry = Geometry(config.width, config.height)
        c = config
        self.rng = np.random.default_rng(seed)

        cells = (c.height // c.texture_cell_px + 2, c.width // c.texture_cell_px + 2)
        coarse = self.rng.standard_normal(cells).astype(np.float32)
        texture = cv2.resize(coarse, (c.width, c.height), interpolation=cv2.INTER_CUBIC).astype(np.float64)
        texture *= c.texture_amplitude / max(float(np.abs(texture).max()), 1e-12)
        self._background = c.background + texture
        self._offset_px = self.rng.uniform(-c.jitter_px, c.jitter_px, size=2)
        self._angle_deg = float(self.rng.uniform(0.0, 360.0))
        self._spin_deg = c.rotation_deg_per_frame * (1.0 if self.rng.integers(0, 2) else -1.0)

        hi_shape = (c.height * SUPERSAMPLE, c.width * SUPERSAMPLE)
        self._mask_hi = np.zeros(hi_shape, dtype=np.uint8)
        self._mask = np.empty((c.height, c.width), dtype=np.float32)
        self._log_prev = np.empty((c.height, c.width), dtype=np.float64)
        self._log_now = np.empty((c.height, c.width), dtype=np.float64)
        self._ref_log = np.empty((c.height, c.width), dtype=np.float64)
        self._last_t_us = np.full((c.height, c.width), NEVER_US, dtype=np.int64)
        self._events = empty_events(2 * c.width * c.height)
        self._pending = empty_events(0)
        self._t_frame_us = 0
        self._t_window_us = 0

        self._render(self._log_now)
        self._ref_log[:] = self._log_now

    @property
    def geometry(self) -> Geometry:
        """The sensor size, from the config."""
        return self._geometry

    @property
    def time_us(self) -> int:
        """End time in µs of the last window returned (0 before the first)."""
        return self._t_window_us

    def window(self, duration_us: int) -> EventBatch:
        """The events of the next ``duration_us`` µs, time-ordered; consecutive calls continue the motion."""
        if isinstance(duration_us, bool) or not isinstance(duration_us, (int, np.integer)) or duration_us < 1:
            raise ValueError(f"ShapeScene.window.duration_us: must be an int >= 1, got {duration_us!r}")
        t_end_us = self._t_window_us + int(duration_us)
        chunks = [self._pending]
        while self._t_frame_us < t_end_us:
            chunks.append(self._next_frame())
        total = sum(len(chunk) for chunk in chunks)
        merged = empty_events(total)
        at = 0
        for chunk in chunks:
            merged[at:at + len(chunk)] = chunk
            at += len(chunk)
        split = int(np.searchsorted(merged["t"], t_end_us, side="right"))
        self._pending = merged[split:].copy()
        self._t_window_us = t_end_us
        return EventBatch(merged[:split].copy(), self._geometry)

    def _next_frame(self) -> np.ndarray:
        """Advance the motion by one frame, render it and return its events sorted by time."""
        c = self.config
        direction = self.rng.uniform(0.0, 2.0 * math.pi)
        step = c.step_px * np.array([math.cos(direction), math.sin(direction)])
        offset = self._offset_px + step
        offset = np.where(offset > c.jitter_px, 2.0 * c.jitter_px - offset, offset)
        offset = np.where(offset < -c.jitter_px, -2.0 * c.jitter_px - offset, offset)
        self._offset_px = np.clip(offset, -c.jitter_px, c.jitter_px)
        self._angle_deg = (self._angle_deg + self._spin_deg) % 360.0

        self._log_prev, self._log_now = self._log_now, self._log_prev
        self._render(self._log_now)
        t_prev_us = self._t_frame_us
        self._t_frame_us = t_prev_us + c.frame_us

        n_px = c.width * c.height
        n_events, next_px = 0, 0
        while True:
            n_events, next_px = _frame_events(
                self._log_prev, self._log_now, t_prev_us, self._t_frame_us, self._ref_log, self._last_t_us,
                float(c.threshold_on), float(c.threshold_off), 0, next_px, self._events, n_events,
            )
            if next_px >= n_px:
                break
            grown = empty_events(2 * len(self._events))
            grown[:n_events] = self._events[:n_events]
            self._events = grown
        written = self._events[:n_events]
        return written[np.argsort(written["t"], kind="stable")]

    def _render(self, out: np.ndarray) -> None:
        """Draw the shape at its current pose (anti-aliased, 4x, area-averaged) → ``log(I + eps)`` into ``out``."""
        c = self.config
        self._mask_hi[:] = 0
        scale = SUPERSAMPLE * (1 << SHIFT_BITS)
        centre = (np.array([c.width, c.height]) / 2.0 + self._offset_px) * SUPERSAMPLE - 0.5
        centre_fx = tuple(int(v) for v in np.round(centre * (1 << SHIFT_BITS)))
        radius = c.size_px / 2.0
        if self.shape == "disk":
            cv2.circle(self._mask_hi, centre_fx, int(round(radius * scale)), 255, -1, cv2.LINE_AA, SHIFT_BITS)
        elif self.shape == "ring":
            thickness = max(1, int(round(ARM_FRACTION * c.size_px * SUPERSAMPLE)))
            mid_radius = radius - thickness / (2.0 * SUPERSAMPLE)
            cv2.circle(self._mask_hi, centre_fx, int(round(mid_radius * scale)), 255, thickness, cv2.LINE_AA,
                       SHIFT_BITS)
        else:
            local = _outline(self.shape, radius)
            theta = math.radians(self._angle_deg)
            rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
            points = (local @ rotation.T) * SUPERSAMPLE + centre
            points_fx = np.round(points * (1 << SHIFT_BITS)).astype(np.int32)
            cv2.fillPoly(self._mask_hi, [points_fx], 255, cv2.LINE_AA, SHIFT_BITS)
        cv2.resize(self._mask_hi.astype(np.float32), (c.width, c.height), dst=self._mask,
                   interpolation=cv2.INTER_AREA)
        alpha = self._mask / np.float32(255.0)
        intensity = self._background * (1.0 - alpha) + c.foreground * alpha
        np.log(np.clip(intensity, 0.0, 1.0) + c.eps, out=out)


def _outline(shape: str, radius: float) -> np.ndarray:
    """Polygon vertices (n, 2) in pixels around the origin, unrotated, for the polygonal shapes."""
    half = ARM_FRACTION * radius
    if shape == "square":
        side = radius / math.sqrt(2.0)
        return np.array([[-side, -side], [side, -side], [side, side], [-side, side]])
    if shape == "triangle":
        angles = np.radians([-90.0, 30.0, 150.0])
        return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if shape == "bar":
        return np.array([[-radius, -half], [radius, -half], [radius, half], [-radius, half]])
    a, b = radius, half
    return np.array([[-b, -a], [b, -a], [b, -b], [a, -b], [a, b], [b, b],
                     [b, a], [-b, a], [-b, b], [-a, b], [-a, -b], [-b, -b]])


def add_noise_events(batch: EventBatch, fraction: float, rng: np.random.Generator) -> EventBatch:
    """A new batch with ``round(fraction * len(batch))`` extra uniform noise events merged in time order.

    Noise events have uniformly random pixels, polarities and times within ``[t_first, t_last]`` µs of the
    batch; at equal times the batch's own events come first. ``fraction`` 0 returns an equal copy.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not math.isfinite(fraction) \
            or fraction < 0:
        raise ValueError(f"add_noise_events.fraction: must be a finite number >= 0, got {fraction!r}")
    events = batch.events
    n_noise = int(round(fraction * len(events)))
    if n_noise == 0:
        return EventBatch(events.copy(), batch.geometry)
    noise = empty_events(n_noise)
    noise["t"] = rng.integers(int(events["t"][0]), int(events["t"][-1]) + 1, size=n_noise)
    noise["x"] = rng.integers(0, batch.geometry.width, size=n_noise)
    noise["y"] = rng.integers(0, batch.geometry.height, size=n_noise)
    noise["p"] = rng.integers(0, 2, size=n_noise)
    merged = empty_events(len(events) + n_noise)
    merged[:len(events)] = events
    merged[len(events):] = noise
    return EventBatch(merged[np.argsort(merged["t"], kind="stable")], batch.geometry)
