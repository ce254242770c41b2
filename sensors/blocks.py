"""Slice an event source into consecutive blocks of ticks (time windows), whatever its packet sizes.

Pacing is separate: a clock decides when the next block is processed.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import deque
from itertools import accumulate

import numpy as np
from numba import njit

from sensors.types import EVENT_DTYPE, EventBatch

CUTS_PER_SEARCH = 1024
"""Block boundaries located in a packet by one ``_block_cuts`` call."""


@njit(cache=True)
def _block_cuts(t_us: np.ndarray, start: int, t_end_us: int, block_us: int, cuts: np.ndarray) -> int:
    """Where successive block boundaries fall in one packet's times ``t_us`` (µs), from index ``start``.

    ``cuts[k]`` is the first index whose time is >= ``t_end_us + k * block_us`` (``np.searchsorted``
    side left), found by bisection between the previous cut and the end of the packet. Stops after
    the first boundary past the packet's last event (its cut is ``len(t_us)``) or when ``cuts`` is
    full; returns how many cuts it wrote. Reads the times in place (a strided field view is fine).
    """
    n = t_us.shape[0]
    lo = start
    for k in range(cuts.shape[0]):
        t_end = t_end_us + k * block_us
        hi = n
        while lo < hi:
            mid = lo + ((hi - lo) >> 1)
            if t_us[mid] < t_end:
                lo = mid + 1
            else:
                hi = mid
        cuts[k] = lo
        if lo == n:
            return k + 1
    return cuts.shape[0]


def _join(pieces: list[np.ndarray]) -> np.ndarray:
    """Concatenate event arrays without copying when they lie end to end in one buffer (consecutive
    views of one memory-mapped file); otherwise copy contiguous EVENT_DTYPE pieces as raw 16-byte
    records, an order of magnitude faster than NumPy's field-by-field copy of a structured dtype."""
    if not all(p.dtype == EVENT_DTYPE and p.flags.c_contiguous for p in pieces):
        return np.concatenate(pieces, dtype=EVENT_DTYPE)
    first = pieces[0]
    address = first.__array_interface__["data"][0]
    end = address
    for p in pieces:
        if p.base is None or p.base is not first.base or p.__array_interface__["data"][0] != end:
            return np.concatenate([p.view(np.int64) for p in pieces]).view(EVENT_DTYPE)
        end += p.nbytes
    return np.lib.stride_tricks.as_strided(first, shape=((end - address) // EVENT_DTYPE.itemsize,),
                                           writeable=first.flags.writeable)


class TimeBlocks:
    """Yield ``(t0_us, EventBatch)`` for windows of ``block_us`` from the first event's tick onwards.

    Holds only the packets that reach into the current window plus the unread rest of the packet that
    straddles it, so memory is bounded on any file size. A window inside one packet is a view of it
    (no copy); a window spanning packets is the join of its own events only (zero-copy when the packets
    lie end to end in one buffer). Tracks the events read and the first and last timestamps (µs).

    A window ends where ``np.searchsorted(times, t_end, "left")`` puts it in the queued events' times
    taken as one array. While one packet is queued, the ends of many windows are found in it by one
    ``_block_cuts`` call (the same bisections); across packets, one bisection runs over the packets as
    if joined. So even packets that are not time-ordered (against the EventBatch contract) are cut
    exactly where the plain concatenate-and-searchsorted slicing cuts them.
    """

    def __init__(self, source, dt_us: int, block_ticks: int) -> None:
        self.source = source
        self.dt_us = dt_us
        self.block_us = dt_us * block_ticks
        self.t0_us: int | None = None
        self._packets: deque[np.ndarray] = deque()
        self._head = 0  # first event of _packets[0] not yet passed on
        # while _packets holds only _cuts_packet: _cuts[_cuts_next] is where the window ending at _cuts_t_end_us ends
        self._cuts = np.zeros(CUTS_PER_SEARCH, dtype=np.int64)
        self._cuts_packet: np.ndarray | None = None
        self._cuts_next = 0
        self._cuts_count = 0
        self._cuts_t_end_us = 0
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

    def _cut(self, packet: np.ndarray, t_end_us: int) -> int:
        """Index in ``packet``, the only queued packet, where the window ending at ``t_end_us`` ends."""
        if not (self._cuts_packet is packet and self._cuts_next < self._cuts_count
                and self._cuts_t_end_us == t_end_us):
            self._cuts_count = _block_cuts(packet["t"], self._head, t_end_us, self.block_us, self._cuts)
            self._cuts_packet, self._cuts_next, self._cuts_t_end_us = packet, 0, t_end_us
        cut = int(self._cuts[self._cuts_next])
        self._cuts_next += 1
        self._cuts_t_end_us += self.block_us
        return cut

    def _joined_cut(self, t_end_us: int) -> int:
        """Events of the queued packets (from ``_head``) before the window's end, by bisection over their
        times as if the packets were one array (``np.searchsorted``'s probes, without the copy)."""
        times = [packet["t"] for packet in self._packets]
        ends = list(accumulate(len(packet) for packet in self._packets))
        ends = [end - self._head for end in ends]
        lo, hi = 0, ends[-1]
        while lo < hi:
            mid = lo + ((hi - lo) >> 1)
            k = bisect_right(ends, mid)
            index = mid - ends[k - 1] if k else mid + self._head
            if times[k][index] < t_end_us:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _take(self, n: int) -> np.ndarray:
        """Remove and return the next ``n`` queued events, joined."""
        pieces = []
        while n > 0:
            packet = self._packets[0]
            left = len(packet) - self._head
            if n < left:
                pieces.append(packet[self._head : self._head + n])
                self._head += n
                break
            pieces.append(packet[self._head :] if self._head else packet)
            self._packets.popleft()
            self._head = 0
            n -= left
        if not pieces:
            return np.zeros(0, dtype=EVENT_DTYPE)
        return pieces[0] if len(pieces) == 1 else _join(pieces)

    def next_block(self) -> tuple[int, EventBatch] | None:
        """The next window's events (possibly none), or None when the source is exhausted and drained."""
        self._fill()
        if not self._packets and (self._exhausted or self.t0_us is None):
            return None
        t_end = self.t0_us + self.block_us
        if len(self._packets) == 1:
            packet = self._packets[0]
            cut = self._cut(packet, t_end)
            events = packet[self._head : cut]
            if cut < len(packet):
                self._head = cut
            else:
                self._packets.clear()
                self._head = 0
                self._cuts_packet = None
        else:
            self._cuts_packet = None
            events = self._take(self._joined_cut(t_end)) if self._packets else np.zeros(0, dtype=EVENT_DTYPE)
        t0, self.t0_us = self.t0_us, t_end
        return t0, EventBatch(events, self.source.geometry)
