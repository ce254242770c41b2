"""NumPy ``.npy`` files of structured events (fields t, x, y, p or dv-processing's timestamp, x, y, polarity).

The file is memory-mapped and read one batch at a time, checking every batch: a file already in the
EVENT_DTYPE layout is passed on as zero-copy views checked by one Numba pass; other layouts are converted.
Every malformed file (bad magic, a header that does not parse, a dtype that is not events, object arrays,
data shorter than the header says) is one SourceError line naming it; nothing is ever unpickled.
"""
from __future__ import annotations

import json
import tokenize
from pathlib import Path

import numpy as np
from numba import njit

from sensors.formats.time_guard import MAX_GAP_US, TimeGuard
from sensors.types import EVENT_DTYPE, EventBatch, Geometry, SourceError

NPY_MAGIC = b"\x93NUMPY"
NPY_FIELD_SETS = (("t", "x", "y", "p"), ("timestamp", "x", "y", "polarity"))
"""Accepted field names, mapped in order onto EVENT_DTYPE's t, x, y, p."""
DEFAULT_BATCH_EVENTS = 1 << 20
_INT64_MAX = np.iinfo(np.int64).max
_CHECK_STRETCH = 4096
"""Events checked branch-free together by ``_first_bad_event`` before it looks for the culprit."""
_HEADER_ERRORS = (ValueError, OSError, SyntaxError, tokenize.TokenError, TypeError, OverflowError, KeyError,
                  MemoryError)
"""What NumPy's ``.npy`` reader raises on a malformed header or data (its header is a Python literal)."""


GAP_FOUND = -2
"""``_first_bad_event``: every event passes, and some step forward is longer than the gap bound."""


@njit(cache=True)
def _first_bad_event(words: np.ndarray, width: int, height: int, last_t_us: int, max_gap_us: int) -> int:
    """Index of the first event with x outside 0..width-1, y outside 0..height-1, p not 0 or 1, or t (µs)
    below the previous event's (``last_t_us`` before the first event); else GAP_FOUND when some event's t is
    more than ``max_gap_us`` after the previous one's (the time guard then re-bases the batch), else -1.

    ``words`` is a contiguous EVENT_DTYPE array viewed as int64: per event, ``t`` then the little-endian
    word holding x (bits 0-15), y (16-31) and p (32-39). Read as unsigned fields, a negative x, y or p is
    huge, so one comparison covers both bounds. Each stretch of ``_CHECK_STRETCH`` events is tested
    without branches; only a stretch that fails is searched event by event.
    """
    w = np.uint64(width)
    h = np.uint64(height)
    n = words.shape[0] // 2
    prev = last_t_us
    gap_found = False
    for start in range(0, n, _CHECK_STRETCH):
        stop = min(n, start + _CHECK_STRETCH)
        bad = (words[2 * start] < prev) | (words[2 * start] - prev > max_gap_us)
        for i in range(start + 1, stop):
            v = np.uint64(words[2 * i + 1])
            step = words[2 * i] - words[2 * i - 2]
            bad |= ((v & np.uint64(0xFFFF)) >= w) | (((v >> np.uint64(16)) & np.uint64(0xFFFF)) >= h) \
                | (((v >> np.uint64(32)) & np.uint64(0xFF)) > np.uint64(1)) | (step < 0) | (step > max_gap_us)
        v = np.uint64(words[2 * start + 1])
        bad |= ((v & np.uint64(0xFFFF)) >= w) | (((v >> np.uint64(16)) & np.uint64(0xFFFF)) >= h) \
            | (((v >> np.uint64(32)) & np.uint64(0xFF)) > np.uint64(1))
        if bad:
            for i in range(start, stop):
                v = np.uint64(words[2 * i + 1])
                t = words[2 * i]
                if ((v & np.uint64(0xFFFF)) >= w or ((v >> np.uint64(16)) & np.uint64(0xFFFF)) >= h
                        or ((v >> np.uint64(32)) & np.uint64(0xFF)) > np.uint64(1) or t < prev):
                    return i
                gap_found |= t - prev > max_gap_us
                prev = t
        prev = words[2 * stop - 2]
    return GAP_FOUND if gap_found else -1


_VIEWABLE = (("<i8",), ("<i2", "<u2"), ("<i2", "<u2"), ("i1", "u1"))
"""Field types (t, x, y, p) that can be read through an EVENT_DTYPE view: an unsigned x, y or p too large
for the signed view reads negative and is refused like any value off the sensor."""


def _event_view(array: np.ndarray, fields: tuple[str, str, str, str]) -> np.ndarray | None:
    """``array`` viewed as EVENT_DTYPE when its 16-byte records hold t, x, y, p at EVENT_DTYPE's offsets
    with the types of ``_VIEWABLE``, else None (the fields are then converted batch by batch)."""
    dtype = array.dtype
    if dtype.itemsize != EVENT_DTYPE.itemsize:
        return None
    for name, want, types in zip(fields, EVENT_DTYPE.names, _VIEWABLE):
        field_type, offset = dtype.fields[name][:2]
        if offset != EVENT_DTYPE.fields[want][1] or field_type.str.replace("|", "") not in types:
            return None
    return np.asarray(array.view(EVENT_DTYPE))  # plain ndarray views of the memmap: cheaper to slice


def sniff(head: bytes) -> bool:
    """True when ``head`` starts with the NumPy ``.npy`` magic (any array; the source checks the fields)."""
    return head.startswith(NPY_MAGIC)


def sidecar_geometry(path: Path) -> Geometry | None:
    """Geometry from ``<path>.json`` (keys ``width`` and ``height``), None when there is no such file."""
    sidecar = path.with_name(path.name + ".json")
    try:
        text = sidecar.read_text()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise SourceError(f"{sidecar}: cannot read ({e.strerror})") from None
    try:
        meta = json.loads(text)
        width, height = meta["width"], meta["height"]
        if not isinstance(width, int) or not isinstance(height, int):
            raise TypeError
        return Geometry(width, height)
    except (ValueError, KeyError, TypeError):
        raise SourceError(f"{sidecar}: sidecar needs integer 'width' and 'height' (1..32767)") from None


def _load(path: Path) -> np.ndarray:
    """Memory-map the array; raise SourceError naming the file when it is not a readable .npy."""
    if path.is_dir():
        raise SourceError(f"{path}: is a directory, not a recording")
    try:
        # copy-on-write: batches are writable views, and the file is never written
        array = np.load(path, mmap_mode="c", allow_pickle=False)
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except EOFError:
        raise SourceError(f"{path}: empty file") from None
    except _HEADER_ERRORS as e:
        why = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise SourceError(f"{path}: not a readable .npy array ({type(e).__name__}: {why})") from None
    if not isinstance(array, np.ndarray):  # an .npz archive
        array.close()
        raise SourceError(f"{path}: is an .npz archive, not a .npy array of events")
    return array


def _event_fields(path: Path, dtype: np.dtype) -> tuple[str, str, str, str]:
    """The file's names for t, x, y, p; raise SourceError naming the first missing or non-integer field."""
    names = dtype.names
    if names is None:
        raise SourceError(f"{path}: not a structured array (dtype {dtype}); expected fields t, x, y, p")
    fields = NPY_FIELD_SETS[1] if "timestamp" in names and "t" not in names else NPY_FIELD_SETS[0]
    for name in fields:
        if name not in names:
            raise SourceError(f"{path}: missing field '{name}' (expected t, x, y, p or timestamp, x, y, polarity)")
        kind = dtype[name].kind
        if kind not in "iu" and not (name in ("p", "polarity") and kind == "b"):
            raise SourceError(f"{path}: field '{name}' has dtype {dtype[name]}, expected integers")
    return fields


class NpyEventsSource:
    """Stream a structured ``.npy`` event array in batches; ``read()`` returns None at the end.

    Geometry comes from the caller, else from a sidecar ``<file>.json`` with ``width`` and ``height``;
    it is never inferred from the events. Each batch is checked (x < width, y < height, p in {0, 1},
    t non-decreasing µs) and a violation raises SourceError naming the field. A step forward of more than
    ``max_gap_us`` is a time anomaly (``time_anomalies``), re-based to a step of 0 (the events after it are
    moved back, in the batch only). A file whose records already have EVENT_DTYPE's layout
    (``_VIEWABLE``) yields views of the copy-on-write memory map: no copy, memory bounded by the page
    cache, batches writable and still valid after ``close()``.

    Parameters
    ----------
    path : the ``.npy`` file.
    geometry : sensor size; overrides the sidecar.
    batch_events : most events returned by one ``read()``.
    max_gap_us : the time guard's bound (sensors/formats/time_guard.py); None for times as stored.
    """

    format = "npy"

    def __init__(
        self, path: str | Path, geometry: Geometry | None = None, *, batch_events: int = DEFAULT_BATCH_EVENTS,
        max_gap_us: int | None = MAX_GAP_US,
    ) -> None:
        if batch_events < 1:
            raise ValueError(f"NpyEventsSource.batch_events: must be >= 1, got {batch_events}")
        self._guard = TimeGuard(max_gap_us, owner="NpyEventsSource")
        self.path = Path(path)
        array = _load(self.path)
        if array.ndim != 1:
            raise SourceError(f"{self.path}: expected a 1-D array of events, got shape {array.shape}")
        self._fields = _event_fields(self.path, array.dtype)
        geometry = geometry or sidecar_geometry(self.path)
        if geometry is None:
            raise SourceError(
                f"{self.path}: no geometry; pass --geometry WIDTHxHEIGHT or write {self.path.name}.json "
                f"with width and height"
            )
        self.geometry = geometry
        self._array: np.ndarray | None = array
        self._events = _event_view(array, self._fields)
        self._batch_events = batch_events
        self._pos = 0
        self._last_t: int | None = None  # the last event's t as stored (before any re-basing)

    @property
    def time_anomalies(self) -> int:
        """Events so far whose time jumped forward by more than ``max_gap_us`` (0 unguarded)."""
        return self._guard.anomalies

    @property
    def first_time_anomaly(self) -> str | None:
        """Where the first time anomaly is (``"event N"``), None before one."""
        return None if self._guard.first_at is None else f"event {self._guard.first_at}"

    def _check(self, start: int, column: np.ndarray, field: str, low: int, high: int) -> None:
        if column.min() < low or column.max() > high:
            bad = np.flatnonzero((column < low) | (column > high))[0]
            raise SourceError(
                f"{self.path}: event {start + bad}: field '{field}' = {column[bad]} is outside {low}..{high}"
            )

    def _refuse(self, index: int) -> SourceError:
        """The error for event ``index``, the first one ``_first_bad_event`` refused, naming its field and
        its value as stored in the file."""
        f_t, f_x, f_y, f_p = self._fields
        g = self.geometry
        event = self._array[index]
        for name, high in ((f_x, g.width - 1), (f_y, g.height - 1), (f_p, 1)):
            if not 0 <= event[name] <= high:
                return SourceError(f"{self.path}: event {index}: field '{name}' = {event[name]} is outside 0..{high}")
        return SourceError(f"{self.path}: event {index}: field '{f_t}' goes backwards in time")

    def read(self) -> EventBatch | None:
        """The next batch of up to ``batch_events`` events, or None at the end of the array."""
        if self._array is None:
            raise SourceError(f"{self.path}: read() after close()")
        start = self._pos
        if self._events is not None:
            events = self._events[start : start + self._batch_events]
            if len(events) == 0:
                return None
            self._pos += len(events)
            last_t = self._last_t if self._last_t is not None else int(events[0]["t"])
            bad = _first_bad_event(events.view(np.int64), self.geometry.width, self.geometry.height, last_t,
                                   self._guard.gap_bound_us)
            if bad >= 0:
                raise self._refuse(start + bad)
            self._last_t = int(events[-1]["t"])
            if bad == GAP_FOUND or self._guard.rebased:
                return EventBatch(self._guard.apply(events), self.geometry)
            return EventBatch(self._guard.passed(events), self.geometry)
        chunk = self._array[start : start + self._batch_events]
        if len(chunk) == 0:
            return None
        self._pos += len(chunk)
        f_t, f_x, f_y, f_p = self._fields
        t, x, y, p = chunk[f_t], chunk[f_x], chunk[f_y], chunk[f_p]
        g = self.geometry
        self._check(start, x, f_x, 0, g.width - 1)
        self._check(start, y, f_y, 0, g.height - 1)
        self._check(start, p.astype(np.int8) if p.dtype.kind == "b" else p, f_p, 0, 1)
        if t.dtype.kind == "u" and t.max() > _INT64_MAX:
            raise SourceError(f"{self.path}: field '{f_t}' exceeds int64 µs")
        t = t.astype(np.int64)
        previous = self._last_t if self._last_t is not None else t[0]
        steps = np.diff(t, prepend=previous)
        if steps.min() < 0:
            bad = int(np.flatnonzero(steps < 0)[0])
            raise SourceError(f"{self.path}: event {start + bad}: field '{f_t}' goes backwards in time")
        self._last_t = int(t[-1])
        events = np.empty(len(chunk), dtype=EVENT_DTYPE)
        events["t"] = t
        events["x"] = x
        events["y"] = y
        events["p"] = p
        return EventBatch(self._guard.apply(events), g)

    def close(self) -> None:
        """Release the memory map; further ``read()`` calls raise SourceError."""
        self._array = self._events = None

    def __enter__(self) -> NpyEventsSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
