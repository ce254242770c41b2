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
checkpoint under ``memory.`` and ``--resume`` restores them; ``{"cmd": "memory_clear"}`` forgets everything
stored. Every published action's ``seq`` comes from one per-process counter of the daemon.

Control floods: the daemon answers at most MAX_CONTROL_PER_BLOCK pending control requests per block (the rest
wait, queued, for the next blocks, so a flood delays replies, never actions), and every answer costs microseconds (``status`` ~20 µs with its JSON) except the expensive ones, which are
rate-limited: a ``checkpoint`` requested within CHECKPOINT_REQUEST_MIN_S of the last requested one is refused
with ``{"ok": false, "error": "checkpoint: busy, ..."}`` (counted in ``control_refused``), ``store`` obeys
``memory.max_stores_per_s`` (``memory_stores_refused``) and ``memory_clear`` of an empty memory does nothing.
So 300 pipelined ``checkpoint`` requests cost one checkpoint and a few ms, not 300 checkpoints.

Logging (edge.logs): status lines go to the daemon's log stream, warnings to the ``neuroedge.*`` loggers,
both in ``log.format``. SIGHUP writes a checkpoint and re-reads the config file (when the daemon was given a
``reload`` function, i.e. started with ``--config``): RELOADABLE_KEYS take effect; a file that does not load,
or that changes any other key, is refused with one warning line and the daemon runs on unchanged.
"""
from __future__ import annotations

import logging
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, TextIO

from edge.audio_pipeline import AudioPipeline
from edge.bus import Bus
from edge.checkpoint import CheckpointError, load_latest_valid
from edge.clock import RealtimeClock, ReplayClock, late_tolerance_s
from edge.config import Config, ConfigError, config_changes, flatten
from edge.drivers import open_driver
from edge.heap import release_free_heap
from edge.logs import extra, level_number, make_formatter, reconfigure, write_line
from edge.metrics import Metrics
from edge.notify import Notifier
from edge.pipeline import Pipeline

CHECKPOINT_REQUEST_MIN_S = 1.0
MAX_CONTROL_PER_BLOCK = 16  # control requests answered per block: 16 status replies cost ~0.3 ms
"""Seconds (wall) between two checkpoints written on request; one asked for sooner is refused as busy."""
RELOADABLE_KEYS = ("run.status_interval_s", "checkpoint.interval_s", "log.format", "log.level")
"""What a SIGHUP reload may change; a file that changes anything else is refused."""

logger = logging.getLogger("neuroedge.daemon")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


class Daemon:
    """Owns the driver (pipeline), the bus, the clock and the checkpoint file of one running controller."""

    def __init__(self, config: Config, resume: bool = False, log: TextIO = sys.stdout,
                 reload: Callable[[], Config] | None = None) -> None:
        """``log`` takes the status lines; ``reload`` (None: SIGHUP reloads nothing) gives the config anew from
        its file, as the command line built it, and raises ConfigError (or ValueError, OSError) when it cannot."""
        self.config = config
        self.log = log
        self.formatter = make_formatter(config.log.format)
        self._reload = reload
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
        self._reload_requested = False
        self.reloads = 0
        self.reloads_refused = 0
        self.control_refused = 0
        self._requested_checkpoint_at = -float("inf")
        self.seq = 0  # the one per-process action sequence: every published action takes the next number
        self._started = time.monotonic()
        self._rate_mark = (self._started, 0.0)

    @property
    def pipeline(self) -> Pipeline | AudioPipeline:
        return self.driver.pipeline

    def _resume(self) -> None:
        prev = self.checkpoint_path.with_name(self.checkpoint_path.name + ".prev")
        if not self.checkpoint_path.exists() and not prev.exists():
            logger.warning("no checkpoint at %s yet: starting from the initial weights", self.checkpoint_path,
                           extra=extra("resume_fresh", {"path": str(self.checkpoint_path)}))
            return
        try:
            arrays, meta, path = load_latest_valid(self.checkpoint_path)
        except CheckpointError as e:
            raise CheckpointError(f"cannot resume: {e}") from None
        if path != self.checkpoint_path:
            why = "refused (corrupt)" if self.checkpoint_path.exists() else "missing"
            logger.warning("%s: %s; resuming from %s", self.checkpoint_path, why, path,
                           extra=extra("resume_fallback", {"path": str(self.checkpoint_path), "from": str(path)}))
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
            "last_checkpoint_error": self.last_checkpoint_error, "control_refused": self.control_refused,
            "reloads": self.reloads, "reloads_refused": self.reloads_refused,
            "status_interval_s": self.config.run.status_interval_s,
            "checkpoint_interval_s": self.config.checkpoint.interval_s,
            "resumed_from": None if self.resumed_from is None else str(self.resumed_from),
        }

    def store(self, request: dict) -> dict:
        """``{"cmd": "store", "label": <int, optional>}``: store the memory's last input (with its label), at most
        ``memory.max_stores_per_s`` a second."""
        memory = self.driver.memory
        if memory is None:
            raise ValueError("store: the memory is disabled (set memory.enabled = true)")
        try:
            stored = memory.store_on_command(request.get("label"), time.monotonic())
        except ValueError as e:
            raise ValueError(f"store: {e}") from None
        return {"ok": True, "stored": stored, "n_stored": memory.stored}

    def memory_clear(self) -> dict:
        """``{"cmd": "memory_clear"}``: forget everything the memory stored (between blocks, all arrays at once);
        the next checkpoint holds the empty memory, the one before stays as ``.prev``."""
        memory = self.driver.memory
        if memory is None:
            raise ValueError("memory_clear: the memory is disabled (set memory.enabled = true)")
        forgotten = memory.clear()
        if forgotten:
            logger.info("memory cleared: %d patterns forgotten", forgotten,
                        extra=extra("memory_cleared", {"forgotten": forgotten}))
        return {"ok": True, "cleared": forgotten, "n_stored": memory.stored}

    def handle_control(self, cmd: str, request: dict) -> dict:
        """Answer a control request: status, checkpoint, pause, resume, stop, store, memory_clear. A checkpoint
        requested within CHECKPOINT_REQUEST_MIN_S of the last is refused as busy (ValueError, counted in
        ``control_refused``)."""
        if cmd == "status":
            return self.status()
        if cmd == "checkpoint":
            since = time.monotonic() - self._requested_checkpoint_at
            if since < CHECKPOINT_REQUEST_MIN_S:
                self.control_refused += 1
                raise ValueError(f"checkpoint: busy, one was written on request {since:.2f} s ago (at most one "
                                 f"every {CHECKPOINT_REQUEST_MIN_S:g} s); retry later")
            self._requested_checkpoint_at = time.monotonic()
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
        if cmd == "memory_clear":
            return self.memory_clear()
        raise ValueError(f"unknown command {cmd!r} (known: status, checkpoint, pause, resume, stop, store, "
                         "memory_clear)")

    def _on_signal(self, signum: int, frame) -> None:
        self.stopping = True

    def _on_hangup(self, signum: int, frame) -> None:
        """SIGHUP: at the next loop iteration re-read the config file (see ``reload_config``), and write a
        checkpoint at the next block; the daemon keeps running."""
        self._checkpoint_requested = True
        self._reload_requested = True

    def reload_config(self) -> bool:
        """Re-read the config file and apply RELOADABLE_KEYS; True when applied. A file that does not load, or
        that changes another key, is refused: one warning line, counted in ``reloads_refused``, nothing changed."""
        if self._reload is None:
            logger.info("SIGHUP: started without --config, nothing to reload", extra=extra("reload_skipped"))
            return False
        try:
            new = self._reload()
        except (ConfigError, ValueError, OSError) as e:
            return self._refuse_reload(_one_line(e), {"error": _one_line(e)})
        changed = config_changes(self.config, new)
        fixed = [key for key in changed if key not in RELOADABLE_KEYS]
        if fixed:
            return self._refuse_reload(f"{', '.join(fixed)} changed, and only {', '.join(RELOADABLE_KEYS)} reload "
                                       "(restart the daemon for the rest)", {"keys": fixed})
        if new.log != self.config.log:
            reconfigure(new.log.format, new.log.level)
            self.formatter = make_formatter(new.log.format)
        self.config = new
        self.reloads += 1
        values = flatten(new)
        applied = {key: values[key] for key in changed}
        logger.info("reloaded the configuration: %s",
                    ", ".join(f"{key} = {value}" for key, value in applied.items()) or "no change",
                    extra=extra("reloaded", {"changed": applied}))
        return True

    def _refuse_reload(self, why: str, fields: dict) -> bool:
        self.reloads_refused += 1
        logger.warning("reload refused: %s; running on with the previous configuration", why,
                       extra=extra("reload_refused", fields))
        return False

    def try_save(self) -> bool:
        """Checkpoint, surviving a full, read-only or vanished disk: the failure is counted, logged (the first,
        then the 2nd, 4th, 8th...) with the path, and the daemon keeps controlling; True when written."""
        try:
            self.save()
        except (CheckpointError, OSError) as e:
            self.checkpoint_failures += 1
            self.last_checkpoint_error = _one_line(e)
            if self.checkpoint_failures & (self.checkpoint_failures - 1) == 0:
                logger.warning("checkpoint %s failed (%s); still running, retrying (%d failures so far)",
                               self.checkpoint_path, self.last_checkpoint_error, self.checkpoint_failures,
                               extra=extra("checkpoint_failed", {"path": str(self.checkpoint_path),
                                                                 "error": self.last_checkpoint_error,
                                                                 "failures": self.checkpoint_failures}))
            return False
        return True

    def run(self, seconds: float | None = None) -> int:
        """Run until ``seconds`` of sensor time, a stop request, a signal or the end of the input.
        SIGINT and SIGTERM stop it with a final checkpoint; SIGHUP reloads (``reload_config``), writes a
        checkpoint and carries on."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_hangup)
        next_status = next_checkpoint = time.monotonic()
        next_status += self.config.run.status_interval_s
        next_checkpoint += self.config.checkpoint.interval_s or float("inf")
        ready = False
        try:
            while not self.stopping:
                if self.notifier.watchdog_due():
                    self.notifier.watchdog()
                if self._reload_requested:
                    self._reload_requested = False
                    if self.reload_config():
                        next_status = min(next_status, time.monotonic() + self.config.run.status_interval_s)
                self.rewards_received += self.driver.receive(self.bus)
                self.bus.poll_control(self.handle_control, limit=MAX_CONTROL_PER_BLOCK)
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
                    next_status = now + self.config.run.status_interval_s
                    self._print_status()
                if now >= next_checkpoint or self._checkpoint_requested:
                    self._checkpoint_requested = False
                    retry_s = min(self.config.checkpoint.interval_s or 60.0, 2.0 ** min(self.checkpoint_failures, 6))
                    next_checkpoint = now + (self.config.checkpoint.interval_s if self.try_save() else retry_s)
                    release_free_heap()
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
        """A status line on the log in ``log.format`` (none above ``log.level`` info); when the log's reader has
        gone (a closed pipe), carry on without it."""
        s = self.status()
        self._rate_mark = (time.monotonic(), self.driver.progress())
        line = self.driver.status_line(s)
        if self.metrics is not None:
            age = None if self._last_checkpoint_at is None else time.monotonic() - self._last_checkpoint_at
            self.metrics.update(s, age)
        self.notifier.send(f"STATUS={line[:200]}")
        if level_number(self.config.log.level) > logging.INFO:
            return
        record = logging.LogRecord("neuroedge.status", logging.INFO, __file__, 0, line, None, None)
        record.event = "status"
        record.fields = {key: value for key, value in s.items() if key != "ok"}
        self.log = write_line(self.log, self.formatter.format(record))
