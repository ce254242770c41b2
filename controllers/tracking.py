"""The built-in target-tracking task: its network (input grid -> four motor groups), reward and score.

The camera must keep a moving target inside the central window; the learner is reward-modulated STDP.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from controllers.decode import MOTOR_GROUPS
from controllers.reward import on_target, tracking_reward
from sensors.types import EVENT_DTYPE, EventBatch
from snn.spec import LIFParams, NetworkSpec, PopulationSpec, ProjectionSpec, RewardSTDP


TRACKING_RULE = RewardSTDP(
    tau_pre_ms=20.0, tau_post_ms=20.0, tau_eligibility_ms=100.0, tau_baseline_ms=50.0,
    a_plus=1.0, a_minus=0.0, learning_rate=0.01, w_min_mv=0.0, w_max_mv=12.0,
)
"""The tracking learner: a pre-before-post (Hebbian) eligibility, signed by dopamine. With a_minus = 0 the
eligibility measures input/motor co-activity; a short reward baseline (50 ms) makes dopamine track the
change of reward, so co-activity that moved the target towards the centre is strengthened."""


@dataclass(frozen=True)
class TrackingNetConfig:
    """The tracking network: all-to-all plastic input -> motor, opponent inhibition between motor groups.

    Weights in mV; ``w_init_max_mv`` bounds the uniform random initial weights; ``reference_w_mv`` is the
    largest weight of the hand-wired controller.
    """

    n_per_group: int = 8
    motor: LIFParams = field(default_factory=lambda: LIFParams(tau_mem_ms=20.0, tau_exc_ms=5.0, tau_inh_ms=5.0, v_th_mv=10.0, refractory_ms=2.0, noise_mv=1.5))
    w_init_max_mv: float = 2.0
    inhibition_mv: float = -10.0
    reference_w_mv: float = 10.0
    rule: RewardSTDP = field(default_factory=lambda: TRACKING_RULE)

    def validate(self) -> None:
        if self.n_per_group < 1:
            raise ValueError(f"network.n_per_group: must be >= 1, got {self.n_per_group}")
        if self.w_init_max_mv < 0:
            raise ValueError(f"network.w_init_max_mv: must be >= 0, got {self.w_init_max_mv}")
        if self.inhibition_mv > 0:
            raise ValueError(f"network.inhibition_mv: must be <= 0 (inhibitory), got {self.inhibition_mv}")
        self.motor.validate("network.motor")
        self.rule.validate("network.rule")


def cell_positions(grid_w: int, grid_h: int) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical position in (-1, 1) of every input neuron (both polarities)."""
    gy, gx = np.divmod(np.arange(grid_w * grid_h), grid_w)
    hx = (gx + 0.5) / grid_w * 2.0 - 1.0
    hy = (gy + 0.5) / grid_h * 2.0 - 1.0
    return np.tile(hx, 2), np.tile(hy, 2)


def reference_weights(config: TrackingNetConfig, grid_w: int, grid_h: int) -> np.ndarray:
    """Hand-wired (n_inputs, n_motor) weights: a cell drives the group that moves the camera towards it."""
    hx, hy = cell_positions(grid_w, grid_h)
    per_group = [np.maximum(hx, 0), np.maximum(-hx, 0), np.maximum(hy, 0), np.maximum(-hy, 0)]
    columns = [np.repeat(g[:, None], config.n_per_group, axis=1) for g in per_group]
    return config.reference_w_mv * np.concatenate(columns, axis=1)


def tracking_network(config: TrackingNetConfig, grid_w: int, grid_h: int, seed: int,
                     initial_weights: np.ndarray | None = None, learning: bool = True, dt_us: int = 1000) -> NetworkSpec:
    """Build the tracking NetworkSpec; random initial weights come from ``seed`` unless given."""
    config.validate()
    n_in = 2 * grid_w * grid_h
    n_motor = len(MOTOR_GROUPS) * config.n_per_group
    if initial_weights is None:
        initial_weights = np.random.default_rng(seed).uniform(0.0, config.w_init_max_mv, (n_in, n_motor))
    pre, post = np.divmod(np.arange(n_in * n_motor), n_motor)
    group = np.arange(n_motor) // config.n_per_group
    opponent = group ^ 1
    inh_pre, inh_post = np.nonzero(group[:, None] == opponent[None, :])
    return NetworkSpec(
        populations=(
            PopulationSpec("input", n_in, kind="input"),
            PopulationSpec("motor", n_motor, kind="lif", lif=config.motor),
        ),
        projections=(
            ProjectionSpec("input_motor", "input", "motor", pre.astype(np.int32), post.astype(np.int32),
                           initial_weights.reshape(-1).astype(np.float64), plasticity=config.rule),
            ProjectionSpec("motor_inhibition", "motor", "motor", inh_pre.astype(np.int32), inh_post.astype(np.int32),
                           np.full(len(inh_pre), config.inhibition_mv), port="inh"),
        ),
        readout="motor",
        dt_us=dt_us,
        learning=learning,
    )


class PanScene(Protocol):
    """What the task needs from a closed-loop event source (the built-in scene, ``sensors.simulated.scene.SimulatedScene``)."""

    geometry: object

    def advance(self, n_ticks: int, pan_velocity_px_s: np.ndarray) -> tuple[EventBatch, np.ndarray]:
        """The block's events and the target's offset from the view centre per tick (px, ``(n_ticks, 2)``)."""


class TrackingTask:
    """The tracking task as a ``controllers.protocols.Task``: each step pans the scene's camera at the action's
    ``[vx, vy]`` (px/s) for ``n_ticks`` ticks; the reward comes from the target's offset from the view centre and
    the score ``{"on_target": ...}`` is the fraction of the block's ticks with the target inside the central
    square of half-size ``window_half_px``.

    ``make_scene(seed)`` builds the seeded scene; ``reset(seed)`` builds a new one (seed None: the next seed of
    the task's own generator). Never done: the scene re-points the camera when the target is lost.
    """

    format = "scene"

    def __init__(self, make_scene: Callable[[int], PanScene], window_half_px: float, n_ticks: int) -> None:
        if not window_half_px > 0:
            raise ValueError(f"TrackingTask.window_half_px: must be > 0, got {window_half_px}")
        if n_ticks < 1:
            raise ValueError(f"TrackingTask.n_ticks: must be >= 1, got {n_ticks}")
        self.make_scene = make_scene
        self.window_half_px = window_half_px
        self.n_ticks = n_ticks
        self.scene: PanScene | None = None
        self.rng = np.random.default_rng(0)

    @property
    def geometry(self):
        """The scene's sensor geometry (None before the first reset)."""
        return None if self.scene is None else self.scene.geometry

    def reset(self, seed: int | None = None) -> EventBatch:
        """A new scene for ``seed``; the observation before the first step holds no events."""
        if seed is None:
            seed = int(self.rng.integers(2**31))
        else:
            self.rng = np.random.default_rng(seed)
        self.scene = self.make_scene(seed)
        return EventBatch(np.zeros(0, EVENT_DTYPE), self.scene.geometry)

    def step(self, action_values: np.ndarray) -> tuple[EventBatch, float, dict[str, float], bool]:
        """Pan at ``action_values`` = ``[vx, vy]`` px/s for one block; return (events, reward in [-1, 1],
        ``{"on_target": fraction of the block's ticks}``, False)."""
        if self.scene is None:
            raise RuntimeError("TrackingTask: reset(seed) before step")
        batch, offsets = self.scene.advance(self.n_ticks, action_values)
        hits = int(on_target(offsets, self.window_half_px).sum())
        reward = tracking_reward(offsets, self.scene.geometry.width / 2.0)
        return batch, reward, {"on_target": hits / self.n_ticks}, False
