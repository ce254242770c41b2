"""Core sensor types shared by every package: the event layout and its geometry.

NumPy only. EVENT_DTYPE is dv-processing's EventStore.numpy() layout, so a dv batch is a zero-copy view.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EVENT_DTYPE = np.dtype(
    {
        "names": ["t", "x", "y", "p"],
        "formats": ["<i8", "<i2", "<i2", "i1"],
        "offsets": [0, 8, 10, 12],
        "itemsize": 16,
    }
)
"""Events: ``t`` int64 µs, ``x``/``y`` int16 pixels (origin top-left), ``p`` int8 polarity (1 = ON, 0 = OFF)."""


class SourceError(Exception):
    """An input that cannot be read, as one line naming the input and the problem."""


@dataclass(frozen=True)
class Geometry:
    """Sensor size in pixels; always passed in, never inferred from the events."""

    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0 or self.width > 32767 or self.height > 32767:
            raise ValueError(f"Geometry: width and height must be in 1..32767, got {self.width}x{self.height}")


@dataclass(slots=True)
class EventBatch:
    """A time-ordered block of events from one sensor (treat as immutable; not frozen to keep it cheap per batch).

    Parameters
    ----------
    events : structured array of EVENT_DTYPE, sorted by ``t`` (µs).
    geometry : the sensor's size, from the source (never from the data).
    """

    events: np.ndarray
    geometry: Geometry

    def __len__(self) -> int:
        return len(self.events)


_DV_LAYOUT = ((0, "i", 8), (8, "iu", 2), (10, "iu", 2), (12, "iub", 1))


def as_events(array: np.ndarray) -> np.ndarray:
    """View an array of dv-processing's layout (timestamp, x, y, polarity at offsets 0/8/10/12) as EVENT_DTYPE, zero-copy."""
    dtype = array.dtype
    if dtype == EVENT_DTYPE:
        return array
    fields = [dtype.fields[name] for name in dtype.names or ()]
    layout_ok = dtype.itemsize == EVENT_DTYPE.itemsize and len(fields) == 4 and all(
        offset == want_offset and ftype.kind in kinds and ftype.itemsize == size
        for (ftype, offset, *_), (want_offset, kinds, size) in zip(fields, _DV_LAYOUT))
    if not layout_ok:
        raise ValueError(f"events: expected dv-processing's 16-byte layout (t i8 @0, x @8, y @10, p @12), got dtype {dtype}")
    return array.view(EVENT_DTYPE)


def empty_events(n: int = 0) -> np.ndarray:
    """A zero-filled event array of length ``n``."""
    return np.zeros(n, dtype=EVENT_DTYPE)


def check_events(events: np.ndarray, geometry: Geometry, name: str = "events") -> None:
    """Raise ValueError naming the field when events are not EVENT_DTYPE, not time-ordered, or off-sensor."""
    if events.dtype != EVENT_DTYPE:
        raise ValueError(f"{name}: dtype must be EVENT_DTYPE, got {events.dtype}")
    if len(events) == 0:
        return
    if np.any(np.diff(events["t"]) < 0):
        raise ValueError(f"{name}: field t is not sorted in time")
    for field, limit in (("x", geometry.width), ("y", geometry.height)):
        values = events[field]
        if values.min() < 0 or values.max() >= limit:
            raise ValueError(f"{name}: field {field} outside 0..{limit - 1}")
    if events["p"].min() < 0 or events["p"].max() > 1:
        raise ValueError(f"{name}: field p must be 0 or 1")
