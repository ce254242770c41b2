"""Slice an event source into consecutive blocks of ticks (time windows), whatever its packet sizes.

Pacing is separate: a clock decides when the next block is processed.
"""
from __future__ import annotations

import numpy as np

from sensors.types import EVENT_DTYPE, EventBatch


class TimeBlocks:
    """Yield ``(t0_us, EventBatch)`` for windows of ``block_us`` from the first event's tick onwards.

    Holds only the packets that reach into the current window plus the carried-over tail, so memory is
    bounded on any file size. Tracks the events read and the first and last timestamps (µs).
    """

    def __init__(self, source, dt_us: int, block_ticks: int) -> None:
        self.source = source
        self.dt_us = dt_us
        self.block_us = dt_us * block_ticks
        self.t0_us: int | None = None
        self._packets: list[np.ndarray] = []
        self._exhausted = False
        self.events_read = 0
        self.t_first_us: int | None = None
        self.t_last_us: int | None = None

    def _fill(self) -> None:
        """Read packets until one reaches past the current window or the source ends."""
        while not self._exhausted and (self.t0_us is None or self.t_last_us < self.t0_us + self.block_us):
            batch = self.source.read()
            if batch is None:
                self._exhausted = True
                return
            events = batch.events
            if len(events) == 0:
                continue
            self.events_read += len(events)
            self.t_last_us = int(events[-1]["t"])
            if self.t0_us is None:
                self.t_first_us = int(events[0]["t"])
                self.t0_us = self.t_first_us // self.dt_us * self.dt_us
            self._packets.append(events)

    def next_block(self) -> tuple[int, EventBatch] | None:
        """The next window's events (possibly none), or None when the source is exhausted and drained."""
        self._fill()
        if not self._packets and (self._exhausted or self.t0_us is None):
            return None
        pending = self._packets[0] if len(self._packets) == 1 else (
            np.concatenate(self._packets, dtype=EVENT_DTYPE) if self._packets else np.zeros(0, dtype=EVENT_DTYPE))
        t_end = self.t0_us + self.block_us
        cut = int(np.searchsorted(pending["t"], t_end, side="left"))
        self._packets = [pending[cut:]] if cut < len(pending) else []
        t0, self.t0_us = self.t0_us, t_end
        return t0, EventBatch(pending[:cut], self.source.geometry)
