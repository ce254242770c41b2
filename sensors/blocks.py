"""Slice an event source into consecutive blocks of ticks (time windows), whatever its packet sizes.

Pacing is separate: a clock decides when the next block is processed.
"""
from __future__ import annotations

import numpy as np

from sensors.types import EVENT_DTYPE, EventBatch


class TimeBlocks:
    """Yield ``(t0_us, EventBatch)`` for windows of ``block_us`` from the first event's tick onwards.

    Holds at most one source packet plus the carried-over tail, so memory is bounded on any file size.
    """

    def __init__(self, source, dt_us: int, block_ticks: int) -> None:
        self.source = source
        self.dt_us = dt_us
        self.block_us = dt_us * block_ticks
        self.t0_us: int | None = None
        self._pending = np.zeros(0, dtype=EVENT_DTYPE)
        self._exhausted = False
        self.events_read = 0
        self.t_first_us: int | None = None
        self.t_last_us: int | None = None

    def next_block(self) -> tuple[int, EventBatch] | None:
        """The next window's events (possibly none), or None when the source is exhausted and drained."""
        while not self._exhausted and (self.t0_us is None or len(self._pending) == 0
                                       or self._pending["t"][-1] < self.t0_us + self.block_us):
            batch = self.source.read()
            if batch is None:
                self._exhausted = True
                break
            if len(batch.events) == 0:
                continue
            self.events_read += len(batch.events)
            self.t_last_us = int(batch.events["t"][-1])
            if self.t0_us is None:
                self.t_first_us = int(batch.events["t"][0])
                self.t0_us = self.t_first_us // self.dt_us * self.dt_us
            self._pending = np.concatenate((self._pending, batch.events)) if len(self._pending) else batch.events
        if self.t0_us is None or (self._exhausted and len(self._pending) == 0):
            return None
        t_end = self.t0_us + self.block_us
        cut = int(np.searchsorted(self._pending["t"], t_end, side="left"))
        block = EventBatch(self._pending[:cut], self.source.geometry)
        self._pending = self._pending[cut:]
        t0, self.t0_us = self.t0_us, t_end
        return t0, block
