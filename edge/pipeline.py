"""The one tick loop: block source -> encoder -> back end -> decoder -> Action, one block of ticks per call.

Daemon, replay and benchmark differ only in the source, the clock and where actions go.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from controllers.action import Action
from controllers.decode import PanDecoder
from controllers.tracking import TrackingTask, reference_weights, tracking_network
from edge.backends import open_backend
from edge.config import Config, ConfigError, load_network_file
from sensors.blocks import TimeBlocks
from sensors.scene import SimulatedScene
from edge.filters_config import build_filters
from sensors.source import open_source, parse_geometry
from sensors.types import EVENT_DTYPE, EventBatch, Geometry
from snn.encode_events import EventPooler
from snn.frames import SpikeFrames


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


class LiveSource:
    """A live stream (camera, DV network, webcam), paced by its own arrival: a window closes when an event
    past its end arrives, or ``latency_s`` after its end in wall time (so a silent or disconnected sensor
    still yields empty blocks and the loop stays responsive). Late events, older than the open window,
    are dropped and counted."""

    closed_loop = False

    def __init__(self, url: str, dt_us: int, block_ticks: int, geometry: Geometry | None = None,
                 latency_s: float = 0.05) -> None:
        self.source = open_source(url, geometry)
        self.format = self.source.format
        self.geometry = self.source.geometry
        self.block_us = dt_us * block_ticks
        self.dt_us = dt_us
        self.latency_s = latency_s
        self.events_read = 0
        self.late_events = 0
        self._t0_us = 0
        self._synced = False
        self._deadline = time.monotonic() + self.block_us * 1e-6 + latency_s
        self._pending: list[np.ndarray] = []
        self._newest: int | None = None

    def status(self) -> dict:
        extra = self.source.status() if hasattr(self.source, "status") else {}
        return {**extra, "late_events": self.late_events}

    def next_block(self, command: np.ndarray) -> Observation:
        t_end = self._t0_us + self.block_us
        newest = self._newest
        while newest is None or newest < t_end:
            batch = self.source.read()
            if batch is not None and len(batch.events):
                events = batch.events.copy()
                self.events_read += len(events)
                if not self._synced:
                    self._t0_us = int(events["t"][0]) // self.dt_us * self.dt_us
                    t_end = self._t0_us + self.block_us
                    self._synced = True
                fresh = events["t"] >= self._t0_us
                self.late_events += int(len(events) - fresh.sum())
                self._pending.append(events[fresh])
                newest = int(events["t"][-1])
            if time.monotonic() >= self._deadline:
                break
        self._newest = newest
        pending = np.concatenate(self._pending, dtype=EVENT_DTYPE) if self._pending else np.zeros(0, EVENT_DTYPE)
        cut = int(np.searchsorted(pending["t"], t_end, side="left"))
        self._pending = [pending[cut:]] if cut < len(pending) else []
        t0, self._t0_us = self._t0_us, t_end
        self._deadline = max(self._deadline + self.block_us * 1e-6, time.monotonic())
        return Observation(t0, EventBatch(pending[:cut], self.geometry), None, None)


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
    """Advance the loop one block at a time; ``step`` returns the block's Action, or None at end of input.

    ``last_inputs`` are the encoded input spikes of the last block (what the back end got), starting at sensor
    time ``last_t0_us``; an attached memory (edge.memory_stage) reads them."""

    def __init__(self, source, filters, encoder: EventPooler, backend, decoder: PanDecoder, dt_us: int,
                 block_ticks: int) -> None:
        self.source = source
        self.filters = filters
        self.encoder = encoder
        self.backend = backend
        self.decoder = decoder
        self.dt_us = dt_us
        self.block_ticks = block_ticks
        self.command = np.zeros(2)
        self.counters = Counters()
        self.last_inputs: SpikeFrames | None = None
        self.last_t0_us = 0
        self._smoothing = 1.0 - math.exp(-block_ticks * dt_us / 2e6)

    def step(self, external_reward: float = 0.0) -> Action | None:
        """Process one block. The reward given to the back end is the task's (if any) plus ``external_reward``."""
        obs = self.source.next_block(self.command)
        if obs is None:
            return None
        batch = self.filters.apply(obs.batch)
        frames = self.encoder.encode(batch, obs.t0_us, self.block_ticks)
        self.last_inputs, self.last_t0_us = frames, obs.t0_us
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


LIVE_PREFIXES = ("tcp://", "camera", "webcam:")


def check_user_network(spec, n_inputs: int, n_per_group: int, path: str) -> None:
    """A user network must take the encoder's spikes and give the decoder four motor groups."""
    if spec.input is None or spec.input.size != n_inputs:
        raise ConfigError(f"{path}: the input population must have {n_inputs} neurons (2 x the encoder grid)")
    if spec.population(spec.readout).size != 4 * n_per_group:
        raise ConfigError(f"{path}: the readout {spec.readout!r} must have {4 * n_per_group} neurons "
                          f"(right, left, down, up groups of network.n_per_group = {n_per_group})")


def open_block_source(config: Config, seed: int, target: str | None, geometry: Geometry | None):
    """The block source: the built-in scene (closed loop), a recording, or a live stream (by its URL)."""
    dt_us, block_ticks = config.run.dt_us, config.run.block_ticks
    if target is None and config.source.kind != "scene":
        target = config.source.path
    if geometry is None and config.source.geometry:
        geometry = parse_geometry(config.source.geometry)
    if target is None:
        scene = SimulatedScene(config.scene, seed, dt_us)
        return ClosedLoopSource(TrackingTask(scene, config.task.window_half_px), dt_us, block_ticks)
    if target.startswith(LIVE_PREFIXES):
        return LiveSource(target, dt_us, block_ticks, geometry)
    return RecordingSource(target, dt_us, block_ticks, geometry)


def build_pipeline(config: Config, seed: int | None = None, recording: str | None = None,
                   learning: bool | None = None, initial_weights: np.ndarray | None = None,
                   geometry: Geometry | None = None) -> Pipeline:
    """Wire a pipeline from config: the built-in scene (closed loop) unless a recording or URL is given."""
    seed = config.run.seed if seed is None else seed
    dt_us, block_ticks = config.run.dt_us, config.run.block_ticks
    source = open_block_source(config, seed, recording, geometry)
    filters = build_filters(config.filters, source.geometry)
    encoder = EventPooler(config.encoder, filters.output_geometry, dt_us)
    grid_w, grid_h = config.encoder.grid_w, config.encoder.grid_h
    if initial_weights is None and config.learning.initial_weights == "reference":
        initial_weights = reference_weights(config.network, grid_w, grid_h)
    learn = config.learning.enabled if learning is None else learning
    if config.network_file:
        spec = replace(load_network_file(config.network_file, dt_us), learning=learn)
        check_user_network(spec, encoder.n_inputs, config.network.n_per_group, config.network_file)
    else:
        spec = tracking_network(config.network, grid_w, grid_h, seed, initial_weights=initial_weights,
                                learning=learn, dt_us=dt_us)
    backend = open_backend(config.backend)
    backend.load(spec, seed)
    decoder = PanDecoder(config.decoder, config.network.n_per_group, dt_us)
    return Pipeline(source, filters, encoder, backend, decoder, dt_us, block_ticks)


def with_overrides(config: Config, **run_fields) -> Config:
    """A copy of ``config`` with some ``run`` fields replaced (e.g. seed, realtime)."""
    return replace(config, run=replace(config.run, **run_fields))
