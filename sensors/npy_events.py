"""NumPy ``.npy`` files of structured events (fields t, x, y, p or dv-processing's timestamp, x, y, polarity).

The file is memory-mapped and converted to EVENT_DTYPE one batch at a time, checking every batch.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sensors.types import EVENT_DTYPE, EventBatch, Geometry, SourceError

NPY_MAGIC = b"\x93NUMPY"
NPY_FIELD_SETS = (("t", "x", "y", "p"), ("timestamp", "x", "y", "polarity"))
"""Accepted field names, mapped in order onto EVENT_DTYPE's t, x, y, p."""
DEFAULT_BATCH_EVENTS = 1 << 20
_INT64_MAX = np.iinfo(np.int64).max


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
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except EOFError:
        raise SourceError(f"{path}: empty file") from None
    except (ValueError, OSError) as e:
        raise SourceError(f"{path}: not a readable .npy array ({str(e).splitlines()[0]})") from None
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
    t non-decreasing µs) and a violation raises SourceError naming the field.

    Parameters
    ----------
    path : the ``.npy`` file.
    geometry : sensor size; overrides the sidecar.
    batch_events : most events returned by one ``read()``.
    """

    format = "npy"

    def __init__(
        self, path: str | Path, geometry: Geometry | None = None, *, batch_events: int = DEFAULT_BATCH_EVENTS
    ) -> None:
        if batch_events < 1:
            raise ValueError(f"NpyEventsSource.batch_events: must be >= 1, got {batch_events}")
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
        self._batch_events = batch_events
        self._pos = 0
        self._last_t: int | None = None

    def _check(self, start: int, column: np.ndarray, field: str, low: int, high: int) -> None:
        if column.min() < low or column.max() > high:
            bad = np.flatnonzero((column < low) | (column > high))[0]
            raise SourceError(
                f"{self.path}: event {start + bad}: field '{field}' = {column[bad]} is outside {low}..{high}"
            )

    def read(self) -> EventBatch | None:
        """The next batch of up to ``batch_events`` events, or None at the end of the array."""
        if self._array is None:
            raise SourceError(f"{self.path}: read() after close()")
        start = self._pos
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
        return EventBatch(events, g)

    def close(self) -> None:
        """Release the memory map; further ``read()`` calls raise SourceError."""
        self._array = None

    def __enter__(self) -> NpyEventsSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
