"""The long-running daemon: a pipeline paced by a clock, on the ZMQ bus, with checkpoints.

Lifecycle: start (optionally resume) -> loop (status, control, feedback, periodic checkpoint) -> stop (final checkpoint).
One loop drives either input: events (scene, recording, live stream) through ``EventDriver``, or audio (file,
microphone) through ``AudioDriver``; a driver owns what differs (stepping, feedback, checkpoint, status).

Audio: labels arriving as reward (``{"label": "3"}``) teach the last utterance heard (an unknown label is
counted as malformed); a ``value`` alone is counted in ``rewards_received`` and has no effect. The daemon's
checkpoint is a whole hearing model (kind ``hearing``: weights and config), loadable by
``edge.hearing.load_model``; ``--resume`` continues from it and takes precedence over ``hearing.model``.

Memory (``[memory] enabled``): either driver feeds its encoded input to an ``edge.memory_stage.MemoryStage``
(event windows, or one input per utterance) and publishes its ``recall`` and ``novelty`` actions; the control
command ``{"cmd": "store", "label": <int, optional>}`` stores the last input; the memory's arrays go into the
checkpoint under ``memory.`` and ``--resume`` restores them. Every published action's ``seq`` comes from one
per-process counter of the daemon.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from edge.audio_pipeline import AudioPipeline
from edge.bus import Bus
from edge.checkpoint import CheckpointError, load_latest_valid
from edge.clock import RealtimeClock, ReplayClock, late_tolerance_s
from edge.config import Config
from edge.drivers import open_driver
from edge.metrics import Metrics
from edge.notify import Notifier
from edge.pipeline import Pipeline


def detach_stdout() -> None:
    """stdout's reader has gone (``neuroedge run | head -1``): point stdout at /dev/null, so nothing written
    later (or flushed at exit) fails, and carry on."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class Daemon:
    """Owns the driver (pipeline), the bus, the clock and the checkpoint file of one running controller."""

    def __init__(self, config: Config, resume: bool = False, log: TextIO = sys.stdout) -> None:
        self.config = config
        self.log = log
        self.log_was_stdout = log is sys.stdout
        self.driver = open_driver(config)
        self.checkpoint_path = Path(config.checkpoint.path)
        self.resumed_from: Path | None = None
        try:
            if resume:
                self._resume()
            realtime = config.run.realtime and not self.driver.paced_by_source
            # paced at run.speed x real time; a block later than late_tolerance_s of its wall period is an overrun
            period_s = self.driver.period_s / config.run.speed
            self.clock = RealtimeClock(late_tolerance_s(period_s), config.run.speed) if realtime else ReplayClock(None)
            self.bus = Bus(config.bus)
            try:
                self.metrics = Metrics(config.metrics.address) if config.metrics.address else None
            except BaseException:
                self.bus.close()
                raise
        except BaseException:
            self.driver.close()
            raise
        self.notifier = Notifier()
        self._last_checkpoint_at: float | None = None
        self.paused = False
        self.stopping = False
        self.rewards_received = 0
        self.checkpoints_written = 0
        self.checkpoint_failures = 0
        self.last_checkpoint_error: str | None = None
        self._checkpoint_requested = False
        self.seq = 0  # the one per-process action sequence: every published action takes the next number
        self._started = time.monotonic()
        self._rate_mark = (self._started, 0.0)

    @property
    def pipeline(self) -> Pipeline | AudioPipeline:
        return self.driver.pipeline

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
        if meta.get("kind") != self.driver.kind:
            raise CheckpointError(f"{path}: holds a {meta.get('kind')!r} network, not {self.driver.kind!r}")
        self.driver.restore(arrays, meta, path)
        self.resumed_from = path

    def save(self) -> Path:
        """Write the learned state atomically; the previous good checkpoint is kept beside it."""
        path = self.driver.save(self.checkpoint_path)
        self.checkpoints_written += 1
        self._last_checkpoint_at = time.monotonic()
        return path

    def status(self) -> dict:
        """Counters of the running daemon; rates are measured since the previous status line."""
        now = time.monotonic()
        mark_time, mark_progress = self._rate_mark
        rate = (self.driver.progress() - mark_progress) / max(now - mark_time, 1e-9)
        return {
            "ok": True, "state": "paused" if self.paused else "running", "uptime_s": round(now - self._started, 3),
            "overruns": self.clock.overruns, **self.driver.status(rate), "rewards_received": self.rewards_received,
            "malformed_messages": self.bus.malformed, "last_error": self.bus.last_error,
            "checkpoints": self.checkpoints_written, "checkpoint_failures": self.checkpoint_failures,
            "last_checkpoint_error": self.last_checkpoint_error,
            "resumed_from": None if self.resumed_from is None else str(self.resumed_from),
        }

    def store(self, request: dict) -> dict:
        """``{"cmd": "store", "label": <int, optional>}``: store the memory's last input (with its label)."""
        memory = self.driver.memory
        if memory is None:
            raise ValueError("store: the memory is disabled (set memory.enabled = true)")
        try:
            stored = memory.store(request.get("label"))
        except ValueError as e:
            raise ValueError(f"store: {e}") from None
        return {"ok": True, "stored": stored, "n_stored": memory.stored}

    def handle_control(self, cmd: str, request: dict) -> dict:
        """Answer a control request: status, checkpoint, pause, resume, stop, store."""
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
        if cmd == "store":
            return self.store(request)
        raise ValueError(f"unknown command {cmd!r} (known: status, checkpoint, pause, resume, stop, store)")

    def _on_signal(self, signum: int, frame) -> None:
        self.stopping = True

    def _on_hangup(self, signum: int, frame) -> None:
        """SIGHUP: write a checkpoint at the next block and keep running (nothing is reloaded)."""
        self._checkpoint_requested = True

    def try_save(self) -> bool:
        """Checkpoint, surviving a full, read-only or vanished disk: the failure is counted, logged (the first,
        then the 2nd, 4th, 8th...) with the path, and the daemon keeps controlling; True when written."""
        try:
            self.save()
        except (CheckpointError, OSError) as e:
            self.checkpoint_failures += 1
            self.last_checkpoint_error = " ".join(str(e).split())
            if self.checkpoint_failures & (self.checkpoint_failures - 1) == 0:
                print(f"warning: checkpoint {self.checkpoint_path} failed ({self.last_checkpoint_error}); still "
                      f"running, retrying ({self.checkpoint_failures} failures so far)", file=sys.stderr, flush=True)
            return False
        return True

    def run(self, seconds: float | None = None) -> int:
        """Run until ``seconds`` of sensor time, a stop request, a signal or the end of the input.
        SIGINT and SIGTERM stop it with a final checkpoint; SIGHUP writes a checkpoint and carries on."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_hangup)
        run = self.config.run
        next_status = next_checkpoint = time.monotonic()
        next_status += run.status_interval_s
        next_checkpoint += self.config.checkpoint.interval_s or float("inf")
        ready = False
        try:
            while not self.stopping:
                if self.notifier.watchdog_due():
                    self.notifier.watchdog()
                self.rewards_received += self.driver.receive(self.bus)
                self.bus.poll_control(self.handle_control)
                if self.paused:
                    self.bus.poll_control(self.handle_control, timeout_ms=50)
                    continue
                block_start = time.perf_counter()
                actions = self.driver.step()
                if actions is None:
                    break
                if self.metrics is not None:
                    self.metrics.observe_block(time.perf_counter() - block_start)
                if not ready:
                    ready = True
                    self.notifier.send("READY=1", "STATUS=controlling")
                self.clock.wait_until(self.driver.t_us)
                for action in actions:
                    self.bus.publish(replace(action, seq=self.seq))
                    self.seq += 1
                now = time.monotonic()
                if now >= next_status:
                    next_status = now + run.status_interval_s
                    self._print_status()
                if now >= next_checkpoint or self._checkpoint_requested:
                    self._checkpoint_requested = False
                    retry_s = min(self.config.checkpoint.interval_s or 60.0, 2.0 ** min(self.checkpoint_failures, 6))
                    next_checkpoint = now + (self.config.checkpoint.interval_s if self.try_save() else retry_s)
                if seconds is not None and self.driver.reached(seconds):
                    break
        finally:
            self.notifier.send("STOPPING=1", "STATUS=stopping: writing the final checkpoint")
            try:
                self.try_save()
                self._print_status()
            finally:
                self.bus.close()
                self.driver.close()
                if self.metrics is not None:
                    self.metrics.close()
                self.notifier.close()
        return 0

    def _print_status(self) -> None:
        """A status line on the log; when the log's reader has gone (a closed pipe), carry on without it."""
        s = self.status()
        self._rate_mark = (time.monotonic(), self.driver.progress())
        line = self.driver.status_line(s)
        if self.metrics is not None:
            age = None if self._last_checkpoint_at is None else time.monotonic() - self._last_checkpoint_at
            self.metrics.update(s, age)
        self.notifier.send(f"STATUS={line[:200]}")
        try:
            print(line, file=self.log, flush=True)
        except (BrokenPipeError, ValueError, OSError):
            self.log = open(os.devnull, "w")
            if self.log_was_stdout:
                detach_stdout()
