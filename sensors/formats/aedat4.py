"""AEDAT 4.0 recordings read through dv-processing, yielded as zero-copy EventBatch views.

Geometry comes from the file's event stream resolution.
"""
from __future__ import annotations

from pathlib import Path

import dv_processing as dv
import numpy as np

from sensors.types import EVENT_DTYPE, EventBatch, Geometry, SourceError, as_events

AEDAT4_MAGIC = b"#!AER-DAT4.0"


def _first_line(error: Exception) -> str:
    """dv-processing's messages may carry a C++ stack trace after the first line."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class Aedat4Source:
    """Stream an AEDAT4 file's events in file order, zero-copy from dv-processing; ``read()`` returns None at the end."""

    format = "aedat4"

    def __init__(self, path: str | Path, min_batch_events: int = 8192) -> None:
        self.path = Path(path)
        self.min_batch_events = min_batch_events
        try:
            with open(self.path, "rb") as f:
                magic = f.read(len(AEDAT4_MAGIC))
        except FileNotFoundError:
            raise SourceError(f"{self.path}: no such file") from None
        except OSError as e:
            raise SourceError(f"{self.path}: cannot read ({e.strerror})") from None
        if magic != AEDAT4_MAGIC:
            raise SourceError(f"{self.path}: not an AEDAT 4.0 file (header {magic[:12]!r})")
        try:
            self._reader = dv.io.MonoCameraRecording(str(self.path))
        except RuntimeError as e:
            raise SourceError(f"{self.path}: corrupt AEDAT4 file ({_first_line(e)})") from None
        if not self._reader.isEventStreamAvailable():
            raise SourceError(f"{self.path}: AEDAT4 file has no event stream")
        width, height = self._reader.getEventResolution()
        self.geometry = Geometry(int(width), int(height))
        self._dv_dtype = None

    def read(self) -> EventBatch | None:
        """The next events in file order, or None at the end of the file.

        Packets smaller than ``min_batch_events`` are merged (dv-processing's shallow EventStore.add) before
        one conversion to NumPy, which costs less than converting each small packet.
        """
        try:
            store = self._reader.getNextEventBatch()
            if store is None:
                return None
            while store.size() < self.min_batch_events:
                more = self._reader.getNextEventBatch()
                if more is None:
                    break
                store.add(more)
        except RuntimeError as e:
            raise SourceError(f"{self.path}: corrupt AEDAT4 packet ({_first_line(e)})") from None
        events = store.numpy()
        if self._dv_dtype is None:
            as_events(events)
            self._dv_dtype = events.dtype
        return EventBatch(np.frombuffer(events, EVENT_DTYPE), self.geometry)

    def close(self) -> None:
        self._reader = None
