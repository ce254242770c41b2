"""The one tick loop: block source -> encoder -> back end -> decoder -> Action, one block of ticks per call.

Daemon, replay and benchmark differ only in the source, the clock and where actions go.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from controllers.action import Action
from controllers.decode import PanDecoder
from controllers.tracking import TrackingTask, reference_weights, tracking_network
from edge.backends import open_backend
from edge.config import Config
from sensors.blocks import TimeBlocks
from sensors.scene import SimulatedScene
from sensors.source import open_source
from sensors.types import EventBatch, Geometry
from snn.encode_events import EventPooler


@dataclass(frozen=True)
class Observation:
    """One block of input: events from t0_us, and the task's reward and on-target fraction if closed loop."""

    t0_us: int
    batch: EventBatch
    reward: float | None
    on_target: float | None


class ClosedLoopSource:
    """The built-in tracking task: the pan command moves the camera that produces the next block's events."""

    closed_loop = True
    format = "scene"

    def __init__(self, task: TrackingTask, dt_us: int, block_ticks: int) -> None:
        self.task = task
        self.geometry = task.scene.geometry
        self.dt_us = dt_us
        self.block_ticks = block_ticks
        self.t_us = 0
        self.events_read = 0

    def next_block(self, command: np.ndarray) -> Observation:
        batch, reward, on_target = self.task.observe(self.block_ticks, command)
        t0, self.t_us = self.t_us, self.t_us + self.block_ticks * self.dt_us
        self.events_read += len(batch)
        return Observation(t0, batch, reward, on_target)


class RecordingSource:
    """A recording, open loop: commands are ignored; there is no task reward."""

    closed_loop = False

    def __init__(self, path: str, dt_us: int, block_ticks: int, geometry: Geometry | None = None) -> None:
        self.source = open_source(path, geometry)
        self.format = self.source.format
        self.geometry = self.source.geometry
        self.blocks = TimeBlocks(self.source, dt_us, block_ticks)

    @property
    def events_read(self) -> int:
        return self.blocks.events_read

    def next_block(self, command: np.ndarray) -> Observation | None:
        block = self.blocks.next_block()
        if block is None:
            return None
        return Observation(block[0], block[1], None, None)


@dataclass
class Counters:
    """Running figures for status lines (bounded: scalars only)."""

    ticks: int = 0
    blocks: int = 0
    events: int = 0
    actions: int = 0
    reward_mean: float = 0.0
    on_target_mean: float = 0.0
    on_target_ticks: int = 0


class Pipeline:
    """Advance the loop one block at a time; ``step`` returns the block's Action, or None at end of input."""

    def __init__(self, source, encoder: EventPooler, backend, decoder: PanDecoder, dt_us: int, block_ticks: int) -> None:
        self.source = source
        self.encoder = encoder
        self.backend = backend
        self.decoder = decoder
        self.dt_us = dt_us
        self.block_ticks = block_ticks
        self.command = np.zeros(2)
        self.counters = Counters()
        self._smoothing = 1.0 - math.exp(-block_ticks * dt_us / 2e6)

    def step(self, external_reward: float = 0.0) -> Action | None:
        """Process one block. The reward given to the back end is the task's (if any) plus ``external_reward``."""
        obs = self.source.next_block(self.command)
        if obs is None:
            return None
        frames = self.encoder.encode(obs.batch, obs.t0_us, self.block_ticks)
        reward = (obs.reward or 0.0) + external_reward
        spikes = self.backend.step(frames, reward)
        self.command = self.decoder.decode(spikes)
        c = self.counters
        action = Action("pan", (float(self.command[0]), float(self.command[1])), obs.t0_us + self.block_ticks * self.dt_us, c.actions)
        c.ticks += self.block_ticks
        c.blocks += 1
        c.events += len(obs.batch)
        c.actions += 1
        c.reward_mean += self._smoothing * (reward - c.reward_mean)
        if obs.on_target is not None:
            c.on_target_mean += self._smoothing * (obs.on_target - c.on_target_mean)
            c.on_target_ticks += round(obs.on_target * self.block_ticks)
        return action


def build_pipeline(config: Config, seed: int | None = None, recording: str | None = None,
                   learning: bool | None = None, initial_weights: np.ndarray | None = None,
                   geometry: Geometry | None = None) -> Pipeline:
    """Wire a pipeline from config: the built-in scene (closed loop) unless a recording path is given."""
    seed = config.run.seed if seed is None else seed
    dt_us, block_ticks = config.run.dt_us, config.run.block_ticks
    path = recording if recording is not None else (config.source.path if config.source.kind == "file" else None)
    if path is None:
        scene = SimulatedScene(config.scene, seed, dt_us)
        source = ClosedLoopSource(TrackingTask(scene, config.task.window_half_px), dt_us, block_ticks)
    else:
        source = RecordingSource(path, dt_us, block_ticks, geometry)
    encoder = EventPooler(config.encoder, source.geometry, dt_us)
    grid_w, grid_h = config.encoder.grid_w, config.encoder.grid_h
    if initial_weights is None and config.learning.initial_weights == "reference":
        initial_weights = reference_weights(config.network, grid_w, grid_h)
    spec = tracking_network(config.network, grid_w, grid_h, seed, initial_weights=initial_weights,
                            learning=config.learning.enabled if learning is None else learning, dt_us=dt_us)
    backend = open_backend(config.backend)
    backend.load(spec, seed)
    decoder = PanDecoder(config.decoder, config.network.n_per_group, dt_us)
    return Pipeline(source, encoder, backend, decoder, dt_us, block_ticks)


def with_overrides(config: Config, **run_fields) -> Config:
    """A copy of ``config`` with some ``run`` fields replaced (e.g. seed, realtime)."""
    return replace(config, run=replace(config.run, **run_fields))
