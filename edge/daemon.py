"""The long-running daemon: the pipeline paced by a real-time clock, on the ZMQ bus, with checkpoints.

Lifecycle: start (optionally resume) -> loop (status, control, reward, periodic checkpoint) -> stop (final checkpoint).
"""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from edge.bus import Bus
from edge.checkpoint import CheckpointError, load_latest_valid, save_checkpoint
from edge.clock import ReplayClock, RealtimeClock
from edge.config import Config
from edge.pipeline import LiveSource, Pipeline, build_pipeline

CHECKPOINT_KIND = "tracking"


class Daemon:
    """Owns the pipeline, the bus, the clock and the checkpoint file of one running controller."""

    def __init__(self, config: Config, resume: bool = False, log: TextIO = sys.stdout) -> None:
        self.config = config
        self.log = log
        self.pipeline: Pipeline = build_pipeline(config)
        self.checkpoint_path = Path(config.checkpoint.path)
        self.resumed_from: Path | None = None
        if resume:
            self._resume()
        paced_by_source = isinstance(self.pipeline.source, LiveSource)
        self.clock = RealtimeClock(config.run.block_ticks * config.run.dt_us * 1e-6) \
            if config.run.realtime and not paced_by_source else ReplayClock(None)
        self.bus = Bus(config.bus)
        self.paused = False
        self.stopping = False
        self.rewards_received = 0
        self.checkpoints_written = 0
        self._started = time.monotonic()
        self._rate_mark = (self._started, 0)

    def _resume(self) -> None:
        prev = self.checkpoint_path.with_name(self.checkpoint_path.name + ".prev")
        if not self.checkpoint_path.exists() and not prev.exists():
            print(f"no checkpoint at {self.checkpoint_path} yet: starting from the initial weights", file=sys.stderr)
            return
        try:
            arrays, meta, path = load_latest_valid(self.checkpoint_path)
        except CheckpointError as e:
            raise CheckpointError(f"cannot resume: {e}") from None
        if path != self.checkpoint_path:
            why = "refused (corrupt)" if self.checkpoint_path.exists() else "missing"
            print(f"warning: {self.checkpoint_path}: {why}; resuming from {path}", file=sys.stderr)
        if meta.get("kind") != CHECKPOINT_KIND:
            raise CheckpointError(f"{path}: holds a {meta.get('kind')!r} network, not {CHECKPOINT_KIND!r}")
        try:
            self.pipeline.backend.restore(arrays)
        except ValueError as e:
            raise CheckpointError(f"{path}: does not fit this network ({e})") from None
        self.resumed_from = path

    def save(self) -> Path:
        """Write the learned state atomically; the previous good checkpoint is kept beside it."""
        meta = {"kind": CHECKPOINT_KIND, "backend": self.pipeline.backend.name, "seed": self.config.run.seed,
                "ticks": self.pipeline.counters.ticks, "wall_time": time.time()}
        path = save_checkpoint(self.checkpoint_path, self.pipeline.backend.state(), meta)
        self.checkpoints_written += 1
        return path

    def status(self) -> dict:
        """Counters of the running daemon; ticks_per_s is measured since the previous status line."""
        c = self.pipeline.counters
        now = time.monotonic()
        mark_time, mark_ticks = self._rate_mark
        return {
            "ok": True, "state": "paused" if self.paused else "running", "ticks": c.ticks,
            "sensor_time_s": c.ticks * self.config.run.dt_us * 1e-6, "uptime_s": round(now - self._started, 3),
            "ticks_per_s": round((c.ticks - mark_ticks) / max(now - mark_time, 1e-9), 1), "overruns": self.clock.overruns,
            "mean_reward": round(c.reward_mean, 4), "on_target": round(c.on_target_mean, 4),
            "actions": c.actions, "events": c.events, "rewards_received": self.rewards_received,
            "malformed_messages": self.bus.malformed, "checkpoints": self.checkpoints_written,
            "resumed_from": None if self.resumed_from is None else str(self.resumed_from),
            "source": self.pipeline.source.status() if hasattr(self.pipeline.source, "status") else
            {"format": self.pipeline.source.format},
        }

    def handle_control(self, cmd: str, request: dict) -> dict:
        """Answer a control request: status, checkpoint, pause, resume, stop."""
        if cmd == "status":
            return self.status()
        if cmd == "checkpoint":
            try:
                return {"ok": True, "path": str(self.save())}
            except (CheckpointError, OSError) as e:
                raise ValueError(f"checkpoint failed: {e}") from None
        if cmd == "pause":
            self.paused = True
            return {"ok": True, "state": "paused"}
        if cmd == "resume":
            self.paused = False
            if isinstance(self.clock, RealtimeClock):
                self.clock.resync()
            return {"ok": True, "state": "running"}
        if cmd == "stop":
            self.stopping = True
            return {"ok": True, "state": "stopping"}
        raise ValueError(f"unknown command {cmd!r} (known: status, checkpoint, pause, resume, stop)")

    def _on_signal(self, signum: int, frame) -> None:
        self.stopping = True

    def run(self, seconds: float | None = None) -> int:
        """Run until ``seconds`` of sensor time, a stop request, a signal or the end of the input."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        run = self.config.run
        limit_ticks = None if seconds is None else int(seconds * 1e6 / run.dt_us)
        next_status = next_checkpoint = time.monotonic()
        next_status += run.status_interval_s
        next_checkpoint += self.config.checkpoint.interval_s or float("inf")
        pending_reward = 0.0
        try:
            while not self.stopping:
                rewards = self.bus.poll_rewards()
                self.rewards_received += len(rewards)
                pending_reward += sum(rewards)
                self.bus.poll_control(self.handle_control)
                if self.paused:
                    self.bus.poll_control(self.handle_control, timeout_ms=50)
                    continue
                action = self.pipeline.step(external_reward=pending_reward)
                pending_reward = 0.0
                if action is None:
                    break
                self.clock.wait_until(action.t_us)
                self.bus.publish(action)
                now = time.monotonic()
                if now >= next_status:
                    next_status = now + run.status_interval_s
                    self._print_status()
                if now >= next_checkpoint:
                    next_checkpoint = now + self.config.checkpoint.interval_s
                    self.save()
                if limit_ticks is not None and self.pipeline.counters.ticks >= limit_ticks:
                    break
        finally:
            self.save()
            self._print_status()
            self.bus.close()
        return 0

    def _print_status(self) -> None:
        s = self.status()
        self._rate_mark = (time.monotonic(), s["ticks"])
        print(
            f"status ticks={s['ticks']} ticks/s={s['ticks_per_s']:.0f} overruns={s['overruns']} "
            f"reward={s['mean_reward']:.3f} on_target={s['on_target']:.3f} actions={s['actions']} "
            f"rewards_in={s['rewards_received']} malformed={s['malformed_messages']} state={s['state']}"
            + (f" source={'connected' if s['source']['connected'] else 'DISCONNECTED'} reconnects={s['source']['reconnects']}"
               if "connected" in s["source"] else ""),
            file=self.log, flush=True,
        )
