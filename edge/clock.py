"""Clocks pace the pipeline: replay runs as fast as possible (or at a speed factor), real time sleeps to wall time.

Both wrap the same loop; the clock is the only thing that differs between daemon and replay.
"""
from __future__ import annotations

import time

WAKEUP_JITTER_S = 0.002
"""How late, in seconds, a sleeping thread may wake on a stock (not real-time) Linux kernel under load from
scheduling alone; lateness within it is not an overrun."""


def late_tolerance_s(period_s: float) -> float:
    """The lateness, in wall seconds, beyond which a block of ``period_s`` wall seconds counts as an overrun:
    ``WAKEUP_JITTER_S``, but at most half a period. A block is due when its sensor time is, and it is computed
    during the period before, so any lateness beyond wake-up jitter means its computation did not fit its
    period; a block late by a whole period or more (the next block's whole budget gone) is always counted."""
    if not period_s > 0:
        raise ValueError(f"clock: period must be positive, got {period_s!r} s")
    return min(WAKEUP_JITTER_S, 0.5 * period_s)


class ReplayClock:
    """No pacing when ``speed`` is None; otherwise sensor time advances ``speed`` times faster than wall time.

    ``wait_until(t_us)`` is called with each block's sensor time: the first call starts the schedule, later ones
    sleep until that time is due; a call arriving more than ``late_tolerance_s`` wall seconds after it was due
    counts one overrun (see ``late_tolerance_s()``).
    """

    def __init__(self, speed: float | None = None, late_tolerance_s: float = WAKEUP_JITTER_S) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"clock: speed must be positive, got {speed!r}")
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
    """Sleep so that sensor time keeps pace with wall time (``speed`` times it; 1 = real time); count blocks
    done more than ``late_tolerance_s`` wall seconds late as overruns."""

    def __init__(self, late_tolerance_s: float = WAKEUP_JITTER_S, speed: float = 1.0) -> None:
        super().__init__(speed=speed, late_tolerance_s=late_tolerance_s)

    def resync(self) -> None:
        """Forget the past (after a pause): the next block starts a new schedule."""
        self._start_wall = None
