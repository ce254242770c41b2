"""The one tick loop: block source -> encoder -> back end -> decoder -> Action, one block of ticks per call.

Daemon, replay and benchmark differ only in the source (a recording, a live stream or any closed-loop Task),
the clock and where actions go; encoder, decoder and task are the seams of ``controllers.protocols``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from controllers.action import Action
from controllers.decode import PanDecoder
from controllers.protocols import Decoder, Encoder, Task, check_inputs
from controllers.tracking import TrackingTask, reference_weights, tracking_network
from edge.backends import open_backend
from edge.config import Config, ConfigError, load_network_file
from sensors.blocks import TimeBlocks
from sensors.simulated.scene import SimulatedScene
from edge.filters_config import build_filters
from edge.watched_source import open_recording
from sensors.formats.time_guard import TimeCheckedSource
from sensors.source import open_source, parse_geometry
from sensors.types import EVENT_DTYPE, EventBatch, Geometry
from snn.encoding.encode_events import EventPooler
from snn.frames import SpikeFrames


@dataclass(frozen=True)
class Observation:
    """One block of input: events from t0_us and, in a closed loop, the task's reward and score (its named
    figures for the block, e.g. ``{"on_target": 0.9}``; empty in an open loop)."""

    t0_us: int
    batch: EventBatch
    reward: float | None
    score: dict[str, float] = field(default_factory=dict)


class ClosedLoopSource:
    """Any closed-loop event Task as a block source: the action values decided on one block drive the task's next
    step, whose events are the next block (each step covers ``block_ticks`` ticks of ``dt_us``; the first step
    gets the decoder's zeros). The task is reset with ``seed`` here, and with None when an episode ends; each
    episode's events are shifted to start where the last one ended, so sensor time never goes back. A reset's
    own observation (the events before the first step) is not part of any block."""

    closed_loop = True

    def __init__(self, task: Task, seed: int, dt_us: int, block_ticks: int) -> None:
        self.task = task
        task.reset(seed)
        self.format = task.format
        self.geometry = task.geometry
        self.dt_us = dt_us
        self.block_ticks = block_ticks
        self.t_us = 0
        self.events_read = 0
        self.episodes = 1
        self._episode_t0_us = 0

    def next_block(self, command: np.ndarray) -> Observation:
        batch, reward, score, done = self.task.step(command)
        if self._episode_t0_us:
            events = batch.events.copy()
            events["t"] += self._episode_t0_us
            batch = EventBatch(events, batch.geometry)
        t0, self.t_us = self.t_us, self.t_us + self.block_ticks * self.dt_us
        if done:
            self.task.reset(None)
            self.episodes += 1
            self._episode_t0_us = self.t_us
        self.events_read += len(batch)
        return Observation(t0, batch, reward, score)


class RecordingSource:
    """A recording, open loop: commands are ignored; there is no task reward. Its times are checked
    (sensors.formats.time_guard.TimeCheckedSource: impossible time is re-based and counted in
    ``source.time_anomalies``, or refused when ``source.strict``), for replay and the daemon alike."""

    closed_loop = False

    def __init__(self, path: str, dt_us: int, block_ticks: int, geometry: Geometry | None = None) -> None:
        self.source = TimeCheckedSource(open_recording(path, geometry))
        self.format = self.source.format
        self.geometry = self.source.geometry
        self.blocks = TimeBlocks(self.source, dt_us, block_ticks)

    @property
    def events_read(self) -> int:
        return self.blocks.events_read

    def status(self) -> dict:
        """The recording's format and the time anomalies found in it so far (re-based, see the class)."""
        return {"format": self.format, "time_anomalies": self.source.time_anomalies}

    def next_block(self, command: np.ndarray) -> Observation | None:
        block = self.blocks.next_block()
        if block is None:
            return None
        return Observation(block[0], block[1], None)


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
        return Observation(t0, EventBatch(pending[:cut], self.geometry), None)


@dataclass
class Counters:
    """Running figures for status lines (bounded: scalars, and one running mean per task score key).

    ``reward_mean`` and ``score[key]`` are exponential running means over ~2 s of sensor time (from 0 at the
    first block a key appears in)."""

    ticks: int = 0
    blocks: int = 0
    events: int = 0
    actions: int = 0
    reward_mean: float = 0.0
    score: dict[str, float] = field(default_factory=dict)


class Pipeline:
    """Advance the loop one block at a time; ``step`` returns the block's Action, or None at end of input.

    Any Encoder and Decoder (``controllers.protocols``): the action is ``Action(decoder.action_name, values)``,
    and ``command`` holds the last values (the decoder's zeros before the first block), which a closed-loop
    source applies on its next step. ``last_inputs`` are the encoded input spikes of the last block (what the back
    end got), starting at sensor time ``last_t0_us``; an attached memory (edge.memory_stage) reads them.
    ``last_score`` is the task's score for the last block ({} in an open loop)."""

    def __init__(self, source, filters, encoder: Encoder, backend, decoder: Decoder, dt_us: int,
                 block_ticks: int) -> None:
        self.source = source
        self.filters = filters
        self.encoder = encoder
        self.backend = backend
        self.decoder = decoder
        self.dt_us = dt_us
        self.block_ticks = block_ticks
        self.command = np.zeros(decoder.n_values)
        self.counters = Counters()
        self.last_inputs: SpikeFrames | None = None
        self.last_t0_us = 0
        self.last_score: dict[str, float] = {}
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
        values = tuple(float(v) for v in self.command)
        action = Action(self.decoder.action_name, values, obs.t0_us + self.block_ticks * self.dt_us, c.actions)
        c.ticks += self.block_ticks
        c.blocks += 1
        c.events += len(obs.batch)
        c.actions += 1
        c.reward_mean += self._smoothing * (reward - c.reward_mean)
        for key, value in obs.score.items():
            mean = c.score.get(key, 0.0)
            c.score[key] = mean + self._smoothing * (value - mean)
        self.last_score = obs.score
        return action


LIVE_PREFIXES = ("tcp://", "camera", "webcam:")


def check_user_network(spec, encoder: Encoder, decoder: Decoder, path: str) -> None:
    """A user network must take the encoder's spikes (an input population of ``encoder.n_inputs``) and give the
    decoder the readout it reads (``decoder.check``); else one-line ConfigError naming ``path``."""
    try:
        check_inputs(spec, encoder)
        decoder.check(spec)
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None


def open_block_source(config: Config, seed: int, target: str | None, geometry: Geometry | None):
    """The block source: the built-in scene (closed loop), a recording, or a live stream (by its URL)."""
    dt_us, block_ticks = config.run.dt_us, config.run.block_ticks
    if target is None and config.source.kind != "scene":
        target = config.source.path
    if geometry is None and config.source.geometry:
        geometry = parse_geometry(config.source.geometry)
    if target is None:
        task = TrackingTask(partial(SimulatedScene, config.scene, dt_us=dt_us), config.task.window_half_px, block_ticks)
        return ClosedLoopSource(task, seed, dt_us, block_ticks)
    if target.startswith(LIVE_PREFIXES):
        return LiveSource(target, dt_us, block_ticks, geometry)
    return RecordingSource(target, dt_us, block_ticks, geometry)


def build_pipeline(config: Config, seed: int | None = None, recording: str | None = None,
                   learning: bool | None = None, initial_weights: np.ndarray | None = None,
                   geometry: Geometry | None = None, backend=None) -> Pipeline:
    """Wire a pipeline from config: the built-in scene (closed loop) unless a recording or URL is given;
    ``backend`` (unloaded) replaces the config's back-end URL (edge.hil's lockstep pair)."""
    seed = config.run.seed if seed is None else seed
    dt_us, block_ticks = config.run.dt_us, config.run.block_ticks
    source = open_block_source(config, seed, recording, geometry)
    filters = build_filters(config.filters, source.geometry)
    encoder = EventPooler(config.encoder, filters.output_geometry, dt_us)
    grid_w, grid_h = config.encoder.grid_w, config.encoder.grid_h
    if initial_weights is None and config.learning.initial_weights == "reference":
        initial_weights = reference_weights(config.network, grid_w, grid_h)
    learn = config.learning.enabled if learning is None else learning
    decoder = PanDecoder(config.decoder, config.network.n_per_group, dt_us)
    if config.network_file:
        spec = replace(load_network_file(config.network_file, dt_us), learning=learn)
        check_user_network(spec, encoder, decoder, config.network_file)
    else:
        spec = tracking_network(config.network, grid_w, grid_h, seed, initial_weights=initial_weights,
                                learning=learn, dt_us=dt_us)
    backend = open_backend(config.backend.url) if backend is None else backend
    backend.load(spec, seed)
    return Pipeline(source, filters, encoder, backend, decoder, dt_us, block_ticks)
