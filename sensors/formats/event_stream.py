"""Event Stream 2.0 recordings (ICNS / neuromorphic-paris ``.es``), types dvs and atis, as EventBatch.

The file is read in chunks and decoded by a Numba state machine whose state carries across chunks, so
memory stays bounded on any file size. y is flipped from the format's bottom-left origin to top-left.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

from sensors.formats.es_kernels import (ES_ANOMALIES, ES_FIRST_ANOMALY, ES_NO_GUARD, ES_X, ES_X_OUT_OF_RANGE, ES_Y,
                                        _decode_es, make_es_state)
from sensors.formats.time_guard import MAX_GAP_US, NO_GUARD, gap_limit
from sensors.types import EVENT_DTYPE, EventBatch, Geometry, SourceError

ES_MAGIC = b"Event Stream"
ES_MAJOR_VERSION = 2
ES_TYPES = {0: "generic", 1: "dvs", 2: "atis", 3: "display", 4: "color"}
"""Byte 15 of an Event Stream 2.x file: the stream type (3 is Asynchronous & Modular Display)."""
SUPPORTED_ES_TYPES = ("dvs", "atis")
ES_HEADER_BYTES = 20  # magic (12), version (3), type (1), width and height (uint16 little-endian each)
ES_MIN_EVENT_BYTES = 5  # byte 0 .. byte 4: the fewest bytes one dvs or atis event takes
DEFAULT_CHUNK_BYTES = 1 << 22
DEFAULT_BATCH_EVENTS = 1 << 20


def sniff(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a file) starts like an Event Stream file, of any type."""
    return head.startswith(ES_MAGIC)


def open_recording(path: Path) -> BinaryIO:
    """Open ``path`` for binary reading; raise SourceError (one line, naming the file) when it cannot be."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory, not a recording") from None
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e.strerror})") from None


def _parse_header(path: Path, head: bytes) -> tuple[tuple[int, int, int], str, Geometry]:
    """Version, type name and geometry from the first ES_HEADER_BYTES bytes; raise SourceError if unusable."""
    if not head:
        raise SourceError(f"{path}: empty file")
    if not head.startswith(ES_MAGIC):
        if ES_MAGIC.startswith(head):
            raise SourceError(f"{path}: truncated Event Stream header ({len(head)} of {ES_HEADER_BYTES} bytes)")
        raise SourceError(f"{path}: not an Event Stream file (starts with {head[:12]!r}, expected {ES_MAGIC!r})")
    if len(head) < 16:
        raise SourceError(f"{path}: truncated Event Stream header ({len(head)} of {ES_HEADER_BYTES} bytes)")
    version = (head[12], head[13], head[14])
    if version[0] != ES_MAJOR_VERSION:
        raise SourceError(f"{path}: Event Stream version {'.'.join(map(str, version))} is not supported (2.x is)")
    type_name = ES_TYPES.get(head[15])
    if type_name is None:
        raise SourceError(f"{path}: unknown Event Stream type byte 0x{head[15]:02x} (dvs and atis are supported)")
    if type_name not in SUPPORTED_ES_TYPES:
        raise SourceError(f"{path}: Event Stream type '{type_name}' is not supported (dvs and atis are)")
    if len(head) < ES_HEADER_BYTES:
        raise SourceError(f"{path}: truncated Event Stream header ({len(head)} of {ES_HEADER_BYTES} bytes)")
    width = int.from_bytes(head[16:18], "little")
    height = int.from_bytes(head[18:20], "little")
    try:
        geometry = Geometry(width, height)
    except ValueError:
        raise SourceError(f"{path}: Event Stream header geometry {width}x{height} is invalid (1..32767)") from None
    return version, type_name, geometry


class EventStreamSource:
    """Stream an Event Stream 2.x dvs or atis file; ``read()`` returns None at the end.

    ATIS files are reduced to their change-detection events: threshold crossings (``is_tc`` = 1, the
    exposure measurements) advance time but are not emitted. An event cut off by the end of the file is
    ignored. An event outside the header's width x height raises SourceError. A step of more than
    ``max_gap_us`` between two events (a run of overflow bytes) is a time anomaly (``time_anomalies``),
    re-based to a step of 0.

    Parameters
    ----------
    path : the ``.es`` file.
    chunk_bytes : bytes read from the file per chunk (tests use tiny values; output does not depend on it).
    batch_events : most events returned by one ``read()``.
    max_gap_us : the time guard's bound (sensors/formats/time_guard.py); None for times as decoded.
    """

    format = "es"

    def __init__(
        self, path: str | Path, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES, batch_events: int = DEFAULT_BATCH_EVENTS,
        max_gap_us: int | None = MAX_GAP_US,
    ) -> None:
        if chunk_bytes < 1:
            raise ValueError(f"EventStreamSource.chunk_bytes: must be >= 1, got {chunk_bytes}")
        if batch_events < 1:
            raise ValueError(f"EventStreamSource.batch_events: must be >= 1, got {batch_events}")
        limit = gap_limit("EventStreamSource", max_gap_us)
        self._max_gap_us = ES_NO_GUARD if limit == NO_GUARD else limit
        self.path = Path(path)
        self._file: BinaryIO | None = open_recording(self.path)
        try:
            head = self._file.read(ES_HEADER_BYTES)
            self.version, self.event_type, self.geometry = _parse_header(self.path, head)
            size = os.fstat(self._file.fileno()).st_size
        except BaseException:
            self._file.close()
            raise
        self._atis = self.event_type == "atis"
        self._batch_events = batch_events
        self._buffer = np.empty(max(1, min(chunk_bytes, size - ES_HEADER_BYTES)), dtype=np.uint8)
        self._chunk = self._buffer[:0]
        self._chunk_offset = ES_HEADER_BYTES  # file offset of self._chunk[0]
        self._pos = 0  # next undecoded index in self._chunk
        self._state = make_es_state()
        self.first_time_anomaly: str | None = None
        """Where the first time anomaly is (``"byte N"``: the last byte of its event), None before one."""

    @property
    def time_anomalies(self) -> int:
        """Events so far whose time jumped more than ``max_gap_us`` past the previous one's (0 unguarded)."""
        return int(self._state[ES_ANOMALIES])

    def _remaining_bytes(self) -> int:
        """Bytes not yet decoded (in the current chunk and still in the file)."""
        size = os.fstat(self._file.fileno()).st_size
        return max(0, size - self._chunk_offset - self._pos)

    def _next_chunk(self) -> bool:
        """Read the next chunk into the reused buffer; False at the end of the file."""
        self._chunk_offset += len(self._chunk)
        try:
            n = self._file.readinto(memoryview(self._buffer))
        except OSError as e:
            raise SourceError(f"{self.path}: cannot read ({e.strerror})") from None
        self._chunk = self._buffer[: n or 0]
        self._pos = 0
        return bool(n)

    def read(self) -> EventBatch | None:
        """The next batch of up to ``batch_events`` events, or None at the end of the file."""
        if self._file is None:
            raise SourceError(f"{self.path}: read() after close()")
        # Each event takes at least ES_MIN_EVENT_BYTES bytes, so this bounds the events left (+1 for a
        # partly decoded one) and keeps the batch array no larger than needed.
        capacity = min(self._batch_events, self._remaining_bytes() // ES_MIN_EVENT_BYTES + 1)
        events = np.empty(capacity, dtype=EVENT_DTYPE)
        out_t, out_x, out_y, out_p = events["t"], events["x"], events["y"], events["p"]
        g = self.geometry
        n = 0
        while n < capacity:
            if self._pos >= len(self._chunk) and not self._next_chunk():
                break  # end of file; an incomplete trailing event is ignored
            anomalies = self._state[ES_ANOMALIES]
            k, self._pos, error = _decode_es(
                self._chunk, self._pos, self._state, self._atis, g.width, g.height, self._max_gap_us,
                out_t[n:], out_x[n:], out_y[n:], out_p[n:],
            )
            if not anomalies and self._state[ES_ANOMALIES]:
                self.first_time_anomaly = f"byte {self._chunk_offset + int(self._state[ES_FIRST_ANOMALY])}"
            n += k
            if error:
                self._raise_out_of_range(error)
        if n == 0:
            return None
        return EventBatch(events[:n], g)

    def _raise_out_of_range(self, error: int) -> None:
        """Raise SourceError for the event the kernel stopped at; a later read() resumes after it."""
        g = self.geometry
        if error == ES_X_OUT_OF_RANGE:
            field, value, limit = "x", self._state[ES_X], g.width
        else:
            field, value, limit = "stored y", self._state[ES_Y], g.height
        raise SourceError(
            f"{self.path}: event ending at byte {self._chunk_offset + self._pos} has {field}={value}, outside "
            f"the header geometry {g.width}x{g.height} (corrupt file; {field} must be < {limit})"
        )

    def close(self) -> None:
        """Close the file; further ``read()`` calls raise SourceError."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> EventStreamSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
