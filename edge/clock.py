"""Clocks pace the pipeline: replay runs as fast as possible (or at a speed factor), real time sleeps to wall time.

Both wrap the same loop; the clock is the only thing that differs between daemon and replay.
"""
from __future__ import annotations

import time


class ReplayClock:
    """No pacing when ``speed`` is None; otherwise sensor time advances ``speed`` times faster than wall time."""

    def __init__(self, speed: float | None = None, late_tolerance_s: float = 0.01) -> None:
        self.speed = speed
        self.late_tolerance_s = late_tolerance_s
        self.overruns = 0
        self._start_wall: float | None = None
        self._start_us = 0

    def wait_until(self, t_us: int) -> None:
        """Block until sensor time ``t_us`` (µs) is due."""
        if self.speed is None:
            return
        now = time.monotonic()
        if self._start_wall is None:
            self._start_wall, self._start_us = now, t_us
            return
        due = self._start_wall + (t_us - self._start_us) * 1e-6 / self.speed
        if due > now:
            time.sleep(due - now)
        elif now - due > self.late_tolerance_s:
            self.overruns += 1


class RealtimeClock(ReplayClock):
    """Sleep so that sensor time keeps pace with wall time; count blocks done later than ``late_tolerance_s``."""

    def __init__(self, late_tolerance_s: float = 0.01) -> None:
        super().__init__(speed=1.0, late_tolerance_s=late_tolerance_s)

    def resync(self) -> None:
        """Forget the past (after a pause): the next block starts a new schedule."""
        self._start_wall = None
