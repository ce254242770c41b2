"""The daemon's drivers: what differs between an event input and an audio input (stepping, feedback,
checkpoint contents, status), behind one interface the daemon's loop uses. See ``edge.daemon``.

Feedback per block is bounded: the bus hands over at most ``edge.bus.MAX_DRAIN`` reward messages per poll
(event rewards are only summed, a few µs each), and the audio driver teaches at most MAX_LABELS_PER_BLOCK
labels per block (each is a step of the word net, ~0.1 ms); further labels in that block are dropped and
counted (``labels_dropped`` in status), so a flood of labels cannot stall the loop."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from controllers.action import Action
from edge.audio_pipeline import AudioPipeline, open_audio_source
from edge.bus import Bus
from edge.checkpoint import CheckpointError, save_checkpoint
from edge.config import Config
from edge.guard import StateGuard
from edge.hearing import MODEL_KIND, Hearing, HearingConfig, load_model, save_model
from edge.logs import extra
from edge.memory_stage import MemoryStage, split_memory, with_memory
from edge.pipeline import LiveSource, Pipeline, build_pipeline
from snn.backend import BackendUnavailable

CHECKPOINT_KIND = "tracking"
MAX_LABELS_PER_BLOCK = 8  # labels taught per block (audio); the rest of a flood is dropped and counted
log = logging.getLogger("neuroedge.memory")
backend_log = logging.getLogger("neuroedge.backend")


def restore_memory(stage: MemoryStage | None, arrays: dict, meta: dict, path: Path) -> None:
    """Load a checkpoint's memory arrays (unprefixed) into ``stage``: none there → an empty memory and a warning
    (logger ``neuroedge.memory``); arrays that do not fit, or a memory wired differently → CheckpointError."""
    if stage is None:
        return
    if not arrays:
        log.warning("%s: holds no memory; starting with an empty memory", path,
                    extra=extra("memory_missing", {"path": str(path)}))
        return
    saved = meta.get("memory")
    try:
        stage.check_meta(saved if isinstance(saved, dict) else {})
        stage.restore(arrays)
    except ValueError as e:
        raise CheckpointError(f"{path}: memory does not fit ({e})") from None


def memory_status_line(s: dict) -> str:
    """The memory's part of a status line ("" without a memory)."""
    if "memory_stored" not in s:
        return ""
    novelty = "-" if s["last_novelty"] is None else f"{s['last_novelty']:.3f}"
    return f" memory_stored={s['memory_stored']} memory_windows={s['memory_windows']} novelty={novelty}"


class EventDriver:
    """The event pipeline under the daemon: scalar rewards into the next block, checkpoint kind ``tracking``."""

    kind = CHECKPOINT_KIND

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pipeline: Pipeline = build_pipeline(config)
        self.paced_by_source = isinstance(self.pipeline.source, LiveSource)
        self.period_s = config.run.block_ticks * config.run.dt_us * 1e-6
        self.t_us = 0
        self._pending_reward = 0.0
        self.memory = (MemoryStage(config.memory, self.pipeline.encoder.n_inputs, config.run.dt_us)
                       if config.memory.enabled else None)
        self.guard = StateGuard(self.pipeline.backend)
        self.backend_lost = False

    def receive(self, bus: Bus) -> int:
        """Take the pending rewards (they reach the next block, even across a pause); return how many."""
        rewards = bus.poll_rewards()
        self._pending_reward += sum(rewards)
        return len(rewards)

    def step(self) -> list[Action] | None:
        try:
            action = self.pipeline.step(external_reward=self._pending_reward)
        except BackendUnavailable as e:  # a board off its line: no actions until it is back, learning kept
            if not self.backend_lost:
                backend_log.warning("back end unavailable, no actions until it is back: %s", e)
            self.backend_lost = True
            return []
        self.backend_lost = False
        self._pending_reward = 0.0
        if action is None:
            return None
        self.guard.check()
        self.t_us = action.t_us
        if self.memory is None:
            return [action]
        # the memory's windows end within the block: its actions come first, so t_us never goes back
        return [*self.memory.push(self.pipeline.last_inputs, self.pipeline.last_t0_us), action]

    def progress(self) -> float:
        """What the rate in status lines counts: ticks."""
        return self.pipeline.counters.ticks

    def reached(self, seconds: float) -> bool:
        return self.pipeline.counters.ticks >= int(seconds * 1e6 / self.config.run.dt_us)

    def network_name(self) -> str:
        """How the network is named in checkpoints and errors: its file, or the built-in tracking network."""
        return self.config.network_file or "the built-in tracking network"

    def restore(self, arrays: dict, meta: dict, path: Path) -> None:
        """Restore a checkpoint of this very network (its structure hash must match), from any back end."""
        arrays, memory = split_memory(arrays)
        ours = self.pipeline.backend.spec.structure_sha256()
        theirs = meta.get("network_sha256")
        if theirs != ours:
            raise CheckpointError(
                f"{path}: holds another network ({meta.get('network', 'unnamed')}, structure {str(theirs)[:12]}) "
                f"than this run's ({self.network_name()}, structure {ours[:12]})")
        try:
            self.pipeline.backend.restore(arrays)
        except ValueError as e:
            raise CheckpointError(f"{path}: does not fit this network ({e})") from None
        self.guard = StateGuard(self.pipeline.backend)  # the restored state is the last good one
        restore_memory(self.memory, memory, meta, path)

    def save(self, path: Path) -> Path:
        backend = self.pipeline.backend
        meta = {"kind": self.kind, "backend": backend.url, "network": self.network_name(),
                "network_sha256": backend.spec.structure_sha256(), "seed": self.config.run.seed,
                "ticks": self.pipeline.counters.ticks, "wall_time": time.time()}
        if self.memory is not None:
            meta["memory"] = self.memory.meta()
        return save_checkpoint(path, with_memory(self.pipeline.backend.state(), self.memory), meta)

    def status(self, rate_per_s: float) -> dict:
        """Counters, the task's running score (``score``; ``on_target`` also on its own, 0 without a task)."""
        c = self.pipeline.counters
        source = self.pipeline.source
        return {
            "ticks": c.ticks, "sensor_time_s": c.ticks * self.config.run.dt_us * 1e-6,
            "ticks_per_s": round(rate_per_s, 1), "mean_reward": round(c.reward_mean, 4),
            "on_target": round(c.score.get("on_target", 0.0), 4),
            "score": {key: round(value, 4) for key, value in c.score.items()},
            "actions": c.actions, "events": c.events,
            "source": source.status() if hasattr(source, "status") else {"format": source.format},
            **(self.memory.status() if self.memory is not None else {}), **self.guard.status(),
            **self._board_status(),
        }

    def _board_status(self) -> dict:
        """``board`` (CONNECTED / DISCONNECTED) and its ``reconnects``, for a back end on a serial line."""
        link = getattr(self.pipeline.backend, "link_counters", None)
        if link is None:
            return {}
        counters = link()
        return {"board": counters["board"], "reconnects": counters["reconnects"],
                "link": {k: counters[k] for k in ("retransmits", "crc_errors", "resyncs", "round_trip_ms_p99")}}

    def status_line(self, s: dict) -> str:
        return (
            f"status ticks={s['ticks']} ticks/s={s['ticks_per_s']:.0f} overruns={s['overruns']} "
            f"reward={s['mean_reward']:.3f} on_target={s['on_target']:.3f} "
            + "".join(f"{key}={value:.3f} " for key, value in s["score"].items() if key != "on_target")
            + f"actions={s['actions']} "
            f"rewards_in={s['rewards_received']} malformed={s['malformed_messages']} state={s['state']}"
            + (f" source={'connected' if s['source']['connected'] else 'DISCONNECTED'} reconnects={s['source']['reconnects']}"
               if "connected" in s["source"] else "")
            + (f" board={s['board']} reconnects={s['reconnects']}" if "board" in s else "")
            + memory_status_line(s))

    def close(self) -> None:
        pass


class AudioDriver:
    """The audio pipeline under the daemon: labels teach the last utterance, ``word`` actions out, checkpoint
    kind ``hearing`` (a whole model). A file is paced by the clock; a microphone paces itself."""

    kind = MODEL_KIND

    def __init__(self, config: Config) -> None:
        self.config = config
        url = config.backend.url
        hearing = load_model(config.hearing.model, url) if config.hearing.model else Hearing(HearingConfig(), url)
        self.pipeline: AudioPipeline = self._open(hearing)
        self.paced_by_source = config.source.kind == "microphone"
        self.period_s = config.hearing.chunk_ms * 1e-3
        self.memory: MemoryStage | None = None
        self.labels_dropped = 0
        self._attach_memory()

    def _attach_memory(self) -> None:
        """A memory over the word net's input map (one input per utterance), when enabled; a new one when
        the model's map size changed (a resumed model with another configuration)."""
        if self.config.memory.enabled and (self.memory is None or self.memory.n_input != self.pipeline.hearing.net.n_map):
            self.memory = MemoryStage(self.config.memory, self.pipeline.hearing.net.n_map, None)

    def _open(self, hearing: Hearing) -> AudioPipeline:
        rate = hearing.sample_rate_hz
        chunk_samples = max(1, round(self.config.hearing.chunk_ms * 1e-3 * rate))
        kind = "microphone" if self.config.source.kind == "microphone" else "file"
        source = open_audio_source(kind, self.config.source.path, rate, chunk_samples)
        return AudioPipeline(source, hearing, learn=self.config.hearing.learn, keep_inputs=self.config.memory.enabled)

    @property
    def t_us(self) -> int:
        return self.pipeline.t_us

    def receive(self, bus: Bus) -> int:
        """Teach the pending labels at once, at most MAX_LABELS_PER_BLOCK (the rest are dropped and counted in
        ``labels_dropped``; an unknown label is counted as malformed); return the values seen."""
        values = taught = 0
        for feedback in bus.poll_feedback():
            values += feedback.value is not None
            if feedback.label is None:
                continue
            if taught >= MAX_LABELS_PER_BLOCK:
                self.labels_dropped += 1
                continue
            try:
                self.pipeline.teach(feedback.label)
                taught += 1
            except ValueError as e:
                bus.note_malformed(f"reward message: {e}")
        return values

    def step(self) -> list[Action] | None:
        actions = self.pipeline.step()
        if actions is None or self.memory is None:
            return actions
        out: list[Action] = []
        for word, x in zip(actions, self.pipeline.last_inputs, strict=True):
            out += [word, *self.memory.observe_vector(x, word.t_us)]
        return out

    def progress(self) -> float:
        """What the rate in status lines counts: seconds of audio (so the rate is the real-time factor)."""
        return self.pipeline.counters.samples / self.pipeline.hearing.sample_rate_hz

    def reached(self, seconds: float) -> bool:
        return self.pipeline.t_us >= seconds * 1e6

    def restore(self, arrays: dict, meta: dict, path: Path) -> None:
        """Continue from a checkpointed model: its own config and weights (the source is reopened for it)."""
        arrays, memory = split_memory(arrays)
        try:
            hearing = Hearing(HearingConfig.from_dict(meta["config"]), self.config.backend.url)
            hearing.net.restore(arrays)
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"{path}: not a usable hearing model ({e})") from None
        self.pipeline.close()
        self.pipeline = self._open(hearing)
        self._attach_memory()
        restore_memory(self.memory, memory, meta, path)

    def save(self, path: Path) -> Path:
        c = self.pipeline.counters
        meta = {"seed": self.config.run.seed, "source": self.config.source.kind, "audio_s": round(self.progress(), 3),
                "utterances": c.utterances, "labels": c.labels, "updates": c.updates, "wall_time": time.time()}
        if self.memory is None:
            return save_model(path, self.pipeline.hearing, meta)
        # save_model's document, with the memory's arrays beside the weights (still loadable by load_model)
        hearing = self.pipeline.hearing
        doc = {"kind": MODEL_KIND, "config": hearing.config.to_dict(), "saved_at": time.time(), **meta,
               "memory": self.memory.meta()}
        return save_checkpoint(path, with_memory(hearing.net.state(), self.memory), doc)

    def status(self, rate_per_s: float) -> dict:
        fields = self.pipeline.status()
        del fields["format"]
        source = self.pipeline.source
        info = {"format": source.format, **({"overflows": source.overflows} if hasattr(source, "overflows") else {})}
        return {**fields, "sensor_time_s": self.pipeline.t_us * 1e-6, "realtime_factor": round(rate_per_s, 2),
                "actions": self.pipeline.counters.actions, "learn": self.pipeline.learn, "source": info,
                "labels_dropped": self.labels_dropped,
                **(self.memory.status() if self.memory is not None else {})}

    def status_line(self, s: dict) -> str:
        return (
            f"status audio_s={s['audio_s']:.2f} x{s['realtime_factor']:.1f} overruns={s['overruns']} "
            f"utterances={s['utterances']} labels={s['labels']} updates={s['updates']} "
            f"last_word={s['last_word']} actions={s['actions']} rewards_in={s['rewards_received']} "
            f"malformed={s['malformed_messages']} state={s['state']}" + memory_status_line(s))

    def close(self) -> None:
        self.pipeline.close()


def open_driver(config: Config) -> EventDriver | AudioDriver:
    """The driver for ``config.source.kind``: audio and microphone → AudioDriver, else EventDriver."""
    return AudioDriver(config) if config.source.is_audio else EventDriver(config)
