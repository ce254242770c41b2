"""The built-in simulated event camera: a bright target moving over a textured world, seen by a panning camera.

Deterministic for a seed; the camera's pan follows the agent's actions, so the loop is closed.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import cv2
import numpy as np

from sensors.simulated.scene_kernel import advance_scene, render_view
from sensors.types import EVENT_DTYPE, EventBatch, Geometry


@dataclass(frozen=True)
class SceneConfig:
    """Parameters of the simulated scene (pixels, seconds, natural-log intensity units).

    The target re-appears near the view (the camera re-points at it, a "saccade") after it has been
    out of view for ``lost_reset_ms``; the pixels adapt to the new view without emitting events.
    """

    width: int = 64
    height: int = 64
    world_size_px: int = 256
    texture_cell_px: int = 16
    texture_log_contrast: float = 0.1
    background_log: float = -1.0
    target_radius_px: float = 5.0
    target_log_contrast: float = 1.2
    target_speed_min_px_s: float = 10.0
    target_speed_max_px_s: float = 40.0
    velocity_change_hz: float = 1.0
    threshold_on: float = 0.2
    threshold_off: float = 0.2
    max_events_per_px: int = 8
    noise_hz_per_px: float = 0.1
    lost_reset_ms: float = 500.0
    reset_offset_px: float = 20.0

    def validate(self) -> None:
        positive = ("width", "height", "world_size_px", "texture_cell_px", "target_radius_px",
                    "threshold_on", "threshold_off", "lost_reset_ms", "max_events_per_px")
        for key in positive:
            if not getattr(self, key) > 0:
                raise ValueError(f"scene.{key}: must be > 0, got {getattr(self, key)}")
        for key in ("noise_hz_per_px", "velocity_change_hz", "target_speed_min_px_s", "reset_offset_px"):
            if getattr(self, key) < 0:
                raise ValueError(f"scene.{key}: must be >= 0, got {getattr(self, key)}")
        if self.target_speed_max_px_s < self.target_speed_min_px_s:
            raise ValueError("scene.target_speed_max_px_s: must be >= target_speed_min_px_s")
        if self.world_size_px < 2 * max(self.width, self.height):
            raise ValueError(f"scene.world_size_px: must be at least twice the view, got {self.world_size_px}")

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


class SimulatedScene:
    """Event source for the closed loop: ``advance(n_ticks, pan_velocity_px_s)`` returns the block's events.

    Owns a seeded ``np.random.Generator``; the same seed and the same pan commands give the same events.
    """

    def __init__(self, config: SceneConfig, seed: int, dt_us: int = 1000) -> None:
        config.validate()
        self.config = config
        self.dt_us = dt_us
        self.geometry = Geometry(config.width, config.height)
        self.rng = np.random.default_rng(seed)
        c = config
        cells = c.world_size_px // c.texture_cell_px + 1
        coarse = self.rng.standard_normal((cells, cells)).astype(np.float32)
        texture = cv2.resize(coarse, (c.world_size_px, c.world_size_px), interpolation=cv2.INTER_CUBIC)
        texture = (texture - texture.mean()) / (texture.std() + 1e-12)
        self.world_log = (c.background_log + c.texture_log_contrast * texture).astype(np.float64)
        self.reference_log = np.zeros((c.height, c.width))
        half = np.array([c.width / 2.0, c.height / 2.0])
        low = half + c.target_radius_px + 1.0
        position = self.rng.uniform(low, c.world_size_px - low)
        self.target = np.array([position[0], position[1], 0.0, 0.0])
        self.camera = np.zeros(2)
        self.t_us = 0
        self.ticks_lost = 0
        self.saccades = 0
        self._saccade()
        self._events = np.zeros(0, dtype=EVENT_DTYPE)
        self._offsets = np.zeros((0, 2))
        self._speed_range_px_s = np.array([c.target_speed_min_px_s, c.target_speed_max_px_s])

    def _saccade(self) -> None:
        """Re-point the camera near the target; pixels adapt to the new view silently."""
        c = self.config
        offset = self.rng.uniform(-c.reset_offset_px, c.reset_offset_px, 2)
        half = np.array([c.width / 2.0, c.height / 2.0])
        self.camera[:] = np.clip(self.target[:2] + offset, half, c.world_size_px - half)
        render_view(self.world_log, self.target, self.camera, c.target_radius_px, c.target_log_contrast, self.reference_log)
        self.ticks_lost = 0

    def advance(self, n_ticks: int, pan_velocity_px_s: np.ndarray) -> tuple[EventBatch, np.ndarray]:
        """Simulate ``n_ticks`` ticks with the camera panning at ``[vx, vy]`` px/s.

        Returns the events of the block and the target's offset from the view centre at each tick
        (float64 ``(n_ticks, 2)``, pixels, +x right, +y down). The arrays are reused by the next call.
        """
        c = self.config
        n_px = c.width * c.height
        dt_s = self.dt_us * 1e-6
        # at most one noise event per pixel and tick, so the event buffer's size is fixed for a block length
        n_noise = min(self.rng.poisson(c.noise_hz_per_px * n_px * dt_s * n_ticks), n_ticks * n_px)
        noise_tick = np.sort(self.rng.integers(0, n_ticks, n_noise))
        noise_x = self.rng.integers(0, c.width, n_noise)
        noise_y = self.rng.integers(0, c.height, n_noise)
        noise_p = self.rng.integers(0, 2, n_noise)
        velocity_draws = self.rng.random((n_ticks, 3))
        capacity = n_ticks * n_px * (c.max_events_per_px + 1)
        if len(self._events) < capacity:
            self._events = np.zeros(capacity, dtype=EVENT_DTYPE)
        if len(self._offsets) < n_ticks:
            self._offsets = np.zeros((n_ticks, 2))
        velocity = np.asarray(pan_velocity_px_s, dtype=np.float64)
        n_events = advance_scene(
            n_ticks, self.t_us, self.dt_us, self.world_log, self.reference_log, self.target, self.camera,
            velocity, c.target_radius_px, c.target_log_contrast, c.threshold_on, c.threshold_off, c.max_events_per_px,
            self._speed_range_px_s, c.velocity_change_hz * dt_s,
            velocity_draws, noise_tick, noise_x, noise_y, noise_p, self._events, self._offsets,
        )
        self.t_us += n_ticks * self.dt_us
        offsets = self._offsets[:n_ticks]
        last_x, last_y = offsets[-1]
        visible = abs(last_x) < c.width / 2 and abs(last_y) < c.height / 2
        self.ticks_lost = 0 if visible else self.ticks_lost + n_ticks
        if self.ticks_lost * self.dt_us >= c.lost_reset_ms * 1000:
            self.saccades += 1
            self._saccade()
        return EventBatch(self._events[:n_events], self.geometry), offsets
