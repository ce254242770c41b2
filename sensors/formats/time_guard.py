"""Impossible time in untrusted recordings: the bound, the rule, and the generic Numba guard.

A recording's time only moves forward, by small steps: the shared recordings' largest step between two events
is 4.1 ms (evt3_sample.npy; 1 ms in dvs.es, 60 µs in evt2.raw), and a sensor's background activity alone fires
far more often than once a second. A corrupt byte can make time jump by hours or step back (one TIME_HIGH
word of evt2.raw read as a wrap adds 2**34 µs, 4.8 hours, to a 96 ms file). The rule, in every decoder:

* a step forward of more than ``MAX_GAP_US``, or a step back, is a **time anomaly**, counted in the source's
  ``time_anomalies`` (``first_time_anomaly`` says where the first one was found);
* the stream is then **re-based**: a jump of more than ``MAX_GAP_US`` either way becomes a step of 0 (the
  events continue at the last good time, keeping their own spacing after it); a smaller step back is
  **held** (events get the last good time until the stream catches up).

So the time given out never goes back and never jumps by more than the bound: a replay of a corrupt file lasts
about as long as its intact parts. The generic kernel here (``_guard_times``, per event) serves NPY and any
source without a guard of its own (``TimeCheckedSource``: the AEDAT4 reader, which runs in a watched child
process); DAT and Event Stream apply the rule in their kernels, and refuse (DAT, NPY) or cannot have (Event
Stream) a step back. Prophesee RAW applies it to its clock, the TIME_HIGH words, in their rare branch (costing
the hot loop nothing; sensors/formats/evt_kernels.py): a TIME_HIGH that does not follow the last one waits for
the next to confirm it, a lone corrupt one is ignored, and events before the first TIME_HIGH are left out; a
step back of less than one TIME_HIGH period (64 µs for EVT 2.0, 4096 µs for EVT 3.0), as the stream's own
time-low can make, is kept as decoded and not counted.

``max_gap_us=None`` turns a decoder's guard off (spec-literal times, nothing counted): the decoders' own
spec tests use it.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from sensors.types import EventBatch, SourceError

__all__ = ["MAX_GAP_US", "TimeCheckedSource", "TimeGuard", "anomaly_summary", "gap_limit"]

MAX_GAP_US = 1_000_000
"""Largest forward step of time (µs) between consecutive events (RAW: between TIME_HIGH words) taken as real."""

NO_GUARD = -1
"""``max_gap_us`` as the kernels take it when the guard is off."""

# Generic guard state (int64).
G_LAST_US = 0  # time of the last event out (µs)
G_OFFSET_US = 1  # µs added to the stream's own times (the re-basing so far)
G_ANOMALIES = 2  # time anomalies so far
G_FIRST_AT = 3  # index (among the events seen) of the first anomalous event, -1 before one
G_SEEN = 4  # events seen so far
GUARD_STATE_SIZE = 5


def gap_limit(owner: str, max_gap_us: int | None) -> int:
    """``max_gap_us`` as the kernels take it (NO_GUARD for None); ValueError naming ``owner`` when negative."""
    if max_gap_us is None:
        return NO_GUARD
    if isinstance(max_gap_us, bool) or not isinstance(max_gap_us, (int, np.integer)) or max_gap_us < 0:
        raise ValueError(f"{owner}.max_gap_us: expected an integer >= 0 or None, got {max_gap_us!r}")
    return int(max_gap_us)


@njit(cache=True, nogil=True)
def _guard_times(t_us, state, max_gap_us):
    """Apply the time rule (module docstring) to one batch's times ``t_us`` (µs, any stride), in place.

    ``state`` is int64[GUARD_STATE_SIZE], carried across batches. An element is written only when its time
    changes (re-based or clamped), so a clean stream is only read. Returns True when it wrote any.
    """
    last = state[G_LAST_US]
    offset = state[G_OFFSET_US]
    started = state[G_SEEN] > 0
    wrote = False
    for i in range(t_us.shape[0]):
        raw = t_us[i]
        t = raw + offset
        step = t - last
        if started and (step < 0 or step > max_gap_us):
            if step > max_gap_us or step < -max_gap_us:
                offset -= step  # re-base: this event continues at the last good time
            t = last
            if state[G_ANOMALIES] == 0:
                state[G_FIRST_AT] = state[G_SEEN] + i
            state[G_ANOMALIES] += 1
        if t != raw:
            t_us[i] = t
            wrote = True
        last = t
        started = True
    state[G_LAST_US] = last
    state[G_OFFSET_US] = offset
    state[G_SEEN] += t_us.shape[0]
    return wrote


class TimeGuard:
    """The generic guard's state for one stream of EVENT_DTYPE batches (NPY, and sources checked from outside).

    Parameters
    ----------
    max_gap_us : the bound (µs), or None for no guard (batches pass unchanged, nothing counted).
    owner : named in the ValueError for a bad ``max_gap_us``.
    """

    def __init__(self, max_gap_us: int | None = MAX_GAP_US, owner: str = "TimeGuard") -> None:
        self.max_gap_us = gap_limit(owner, max_gap_us)
        self._state = np.zeros(GUARD_STATE_SIZE, dtype=np.int64)
        self._state[G_FIRST_AT] = -1

    @property
    def anomalies(self) -> int:
        """Time anomalies so far."""
        return int(self._state[G_ANOMALIES])

    @property
    def first_at(self) -> int | None:
        """Index of the first anomalous event among all events seen, None before one."""
        return int(self._state[G_FIRST_AT]) if self.anomalies else None

    @property
    def gap_bound_us(self) -> int:
        """The bound as a number a kernel can compare with: int64's largest for no guard."""
        return np.iinfo(np.int64).max if self.max_gap_us == NO_GUARD else self.max_gap_us

    @property
    def rebased(self) -> bool:
        """Whether an earlier re-basing shifts the times still to come (they must go through ``apply``)."""
        return self._state[G_OFFSET_US] != 0

    def passed(self, events: np.ndarray) -> np.ndarray:
        """``events`` as they are, for a batch a caller has checked (non-decreasing, no gap over the bound,
        nothing re-based before): the guard's state moves past them without another pass."""
        if self.max_gap_us != NO_GUARD and len(events):
            self._state[G_LAST_US] = events["t"][-1]
            self._state[G_SEEN] += len(events)
        return events

    def apply(self, events: np.ndarray) -> np.ndarray:
        """``events`` with the rule applied to their ``t`` (in place when writable, else on a copy if needed)."""
        if self.max_gap_us == NO_GUARD or len(events) == 0:
            return events
        if not events.flags.writeable:
            probe = self._state.copy()
            if not _guard_times(events["t"].copy(), probe, self.max_gap_us):
                self._state[:] = probe
                return events
            events = events.copy()
        _guard_times(events["t"], self._state, self.max_gap_us)
        return events


def anomaly_summary(path: object, count: int, where: str | None, max_gap_us: int = MAX_GAP_US) -> str:
    """One line naming ``path``: how many time anomalies, what they are, where the first one is."""
    noun = "time anomaly" if count == 1 else "time anomalies"
    return (f"{path}: {count} {noun} (time stepping back, or jumping more than {max_gap_us} µs; "
            f"first found at {where})")


class TimeCheckedSource:
    """Any recording source, its time anomalies counted, and refused with one SourceError line when ``strict``.

    A source that applies the rule itself (it has ``time_anomalies``: the RAW, DAT, Event Stream and NPY
    decoders) is passed through; any other (the AEDAT4 reader in its watched child process) has every batch
    checked here by the generic guard.

    Parameters
    ----------
    source : an open source (``read``, ``close``, ``format``, ``geometry``, ``path``).
    strict : refuse the file at its first time anomaly (SourceError) instead of re-basing the times.
    """

    def __init__(self, source, strict: bool = False) -> None:
        self.source = source
        self.strict = strict
        self.path = getattr(source, "path", "")
        self.format = source.format
        self.geometry = source.geometry
        self._guard = None if hasattr(source, "time_anomalies") else TimeGuard(MAX_GAP_US)

    @property
    def time_anomalies(self) -> int:
        """Time anomalies found so far."""
        return self.source.time_anomalies if self._guard is None else self._guard.anomalies

    @property
    def first_time_anomaly(self) -> str | None:
        """Where the first time anomaly is (``"byte N"`` or ``"event N"``), None before one."""
        if self._guard is None:
            return self.source.first_time_anomaly
        return None if self._guard.first_at is None else f"event {self._guard.first_at}"

    def summary(self) -> str | None:
        """One line naming the file when it had time anomalies, else None."""
        if not self.time_anomalies:
            return None
        return anomaly_summary(self.path, self.time_anomalies, self.first_time_anomaly)

    def warning(self) -> str | None:
        """The warning line for stderr when the file had time anomalies (re-based), else None."""
        summary = self.summary()
        return None if summary is None else f"neuroedge: warning: {summary}; times re-based (--strict refuses it)"

    def read(self) -> EventBatch | None:
        """The source's next batch with its times checked; SourceError at the first anomaly when strict."""
        batch = self.source.read()
        if batch is not None and self._guard is not None:
            batch = EventBatch(self._guard.apply(batch.events), batch.geometry)
        if self.strict and self.time_anomalies:
            raise SourceError(f"{self.summary()}; refused (--strict)")
        return batch

    def close(self) -> None:
        self.source.close()
