"""Prophesee DAT recordings (decoded CD / Event2d events, 8-byte records) as EventBatch.

Layout: ASCII header lines ``% key value``, then two bytes (event type, event size), then little-endian
records of a uint32 timestamp (µs) and a uint32 packing x (bits 0-13), y (bits 14-27), polarity (28-31).
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
from numba import njit

from sensors.formats.event_stream import open_recording
from sensors.formats.time_guard import MAX_GAP_US, gap_limit
from sensors.types import EVENT_DTYPE, EventBatch, Geometry, SourceError

DAT_FALLBACK_GEOMETRY = Geometry(304, 240)
"""Used when neither the header nor the caller gives a geometry: the ATIS (Prophesee Gen1) sensor size,
for older DAT files whose header has no Width/Height or geometry line."""
DAT_EVENT_TYPES = {0x00: "Event2d", 0x0C: "EventCd"}
"""Event types decoded here; both use the 8-byte CD record."""
DAT_OTHER_EVENT_TYPES = {0x0E: "EventExtTrigger"}
DAT_RECORD_BYTES = 8
DAT_MAX_HEADER_LINE_BYTES = 4096
DAT_MAX_HEADER_BYTES = 1 << 20
DAT_DATA_KEYS = ("data file containing", "version", "width", "height")
"""Header keywords (lower case) that a DAT header carries and a Prophesee RAW header does not."""
RAW_HEADER_KEYS = ("evt", "format", "end")
"""Header keywords of a Prophesee RAW (EVT 2/3) file, which has the same ``% `` header but raw words after it."""
DEFAULT_BATCH_EVENTS = 1 << 20

DAT_OK = 0
DAT_X_OUT_OF_RANGE = 1
DAT_Y_OUT_OF_RANGE = 2
DAT_BAD_POLARITY = 3
DAT_TIME_BACKWARDS = 4
_ERRORS = {
    DAT_X_OUT_OF_RANGE: "x={value} is outside the geometry {geometry}",
    DAT_Y_OUT_OF_RANGE: "y={value} is outside the geometry {geometry}",
    DAT_BAD_POLARITY: "polarity {value} is not 0 or 1",
    DAT_TIME_BACKWARDS: "timestamp {value} µs goes backwards",
}
# Decoder state (int64): last raw uint32 timestamp (-1 before the first record), µs added for 32-bit
# wrap-arounds so far, the offending value when the kernel reports an error, µs added by the time guard's
# re-basing, time anomalies so far, and the index (in the call's records) of the first one.
_LAST_RAW_T, _WRAP_US, _BAD_VALUE, _OFFSET_US, _ANOMALIES, _FIRST_ANOMALY = 0, 1, 2, 3, 4, 5
_WRAP_THRESHOLD = 1 << 31  # a drop larger than this is a uint32 wrap-around, a smaller one is an error


def _header_lines(head: bytes) -> list[tuple[str, str]]:
    """(keyword lower-cased, value) of each complete ``%`` line in ``head``."""
    pairs = []
    for line in head.split(b"\n")[:-1]:
        if not line.startswith(b"%"):
            break
        text = line[1:].decode("latin-1").strip()
        lowered = text.lower()
        if lowered.startswith("data file containing"):
            pairs.append(("data file containing", text[len("data file containing"):].strip()))
            continue
        key, _, value = text.partition(" ")
        pairs.append((key.lower(), value.strip()))
    return pairs


def sniff(head: bytes) -> bool:
    """True when ``head`` starts with a ``%`` header showing DAT keywords and no Prophesee RAW keyword.

    DAT and RAW headers look alike; pass at least the first few hundred bytes so the lines that tell them
    apart are complete. A DAT file without a text header cannot be recognised by content.
    """
    if not head.startswith(b"% "):
        return False
    keys = {key for key, _ in _header_lines(head)}
    return bool(keys & set(DAT_DATA_KEYS)) and not keys & set(RAW_HEADER_KEYS)


def _read_header(path: Path, f: BinaryIO) -> list[tuple[str, str]]:
    """Read the ``%`` lines, leaving ``f`` at the event type byte."""
    lines = []
    total = 0
    while True:
        if f.peek(1)[:1] != b"%":
            break
        line = f.readline(DAT_MAX_HEADER_LINE_BYTES)
        total += len(line)
        if not line.endswith(b"\n"):
            raise SourceError(f"{path}: truncated DAT header (a '%' line has no end of line)")
        if total > DAT_MAX_HEADER_BYTES:
            raise SourceError(f"{path}: DAT header longer than {DAT_MAX_HEADER_BYTES} bytes")
        lines.append(line)
    return _header_lines(b"".join(lines))


def _int_value(path: Path, key: str, value: str) -> int:
    try:
        return int(value.split()[0])
    except (ValueError, IndexError):
        raise SourceError(f"{path}: DAT header '% {key} {value}' is not an integer") from None


def _header_geometry(path: Path, pairs: list[tuple[str, str]]) -> Geometry | None:
    """Geometry from ``% Width``/``% Height`` or ``% geometry WxH`` lines; None when there are none."""
    found = {}
    for key, value in pairs:
        if key in ("width", "height"):
            found[key] = _int_value(path, key, value)
    sizes = [(found["width"], found["height"])] if len(found) == 2 else []
    if len(found) == 1:
        raise SourceError(f"{path}: DAT header has {'% Width' if 'width' in found else '% Height'} but not both")
    for key, value in pairs:
        if key == "geometry":
            w, sep, h = value.lower().partition("x")
            if not sep:
                raise SourceError(f"{path}: DAT header '% geometry {value}' is not WIDTHxHEIGHT")
            sizes.append((_int_value(path, key, w), _int_value(path, key, h)))
    if not sizes:
        return None
    if len(set(sizes)) > 1:
        raise SourceError(f"{path}: DAT header gives conflicting geometries {sorted(set(sizes))}")
    try:
        return Geometry(*sizes[0])
    except ValueError:
        raise SourceError(f"{path}: DAT header geometry {sizes[0][0]}x{sizes[0][1]} is invalid (1..32767)") from None


@njit(cache=True)
def _decode_dat(words, state, width, height, max_gap_us, out_t, out_x, out_y, out_p):
    """Decode DAT CD records (``words`` = uint32 pairs: timestamp µs, packed address) into the out arrays.

    Parameters
    ----------
    words : uint32 array of 2 * n values.
    state : int64[6] (last raw timestamp or -1, µs added for uint32 wrap-arounds, offending value, µs added
        by re-basing, time anomalies, first anomaly's record index); carried across calls and updated in
        place. A timestamp drop of 2**31 µs or more is a wrap-around and adds 2**32 µs; a smaller drop is
        an error.
    width, height : geometry in pixels; x must be < width and y < height.
    max_gap_us : the time guard's bound (µs; < 0: none): a step forward of more than this is a time
        anomaly, counted, and re-based to a step of 0 (sensors/formats/time_guard.py).
    out_t, out_x, out_y, out_p : field views of an EVENT_DTYPE array of n events.

    Returns
    -------
    (n_decoded, error) : records written before the first bad one, and 0 or a DAT_* error code (the
    offending value is in ``state[2]``).
    """
    n = words.shape[0] // 2
    last = state[_LAST_RAW_T]
    wrap = state[_WRAP_US]
    offset = state[_OFFSET_US]
    error = DAT_OK
    i = 0
    while i < n:
        raw_t = np.int64(words[2 * i])
        packed = np.int64(words[2 * i + 1])
        x = packed & 0x3FFF
        y = (packed >> 14) & 0x3FFF
        p = packed >> 28
        t_wrap = wrap
        if last >= 0 and raw_t < last:
            if last - raw_t < _WRAP_THRESHOLD:
                error = DAT_TIME_BACKWARDS
                state[_BAD_VALUE] = raw_t
                break
            t_wrap += np.int64(1) << 32
        if x >= width:
            error = DAT_X_OUT_OF_RANGE
            state[_BAD_VALUE] = x
            break
        if y >= height:
            error = DAT_Y_OUT_OF_RANGE
            state[_BAD_VALUE] = y
            break
        if p > 1:
            error = DAT_BAD_POLARITY
            state[_BAD_VALUE] = p
            break
        if max_gap_us >= 0 and last >= 0 and raw_t + t_wrap - (last + wrap) > max_gap_us:
            if state[_ANOMALIES] == 0:
                state[_FIRST_ANOMALY] = i
            state[_ANOMALIES] += 1
            offset -= raw_t + t_wrap - (last + wrap)
        last = raw_t
        wrap = t_wrap
        out_t[i] = raw_t + wrap + offset
        out_x[i] = x
        out_y[i] = y
        out_p[i] = p
        i += 1
    state[_LAST_RAW_T] = last
    state[_WRAP_US] = wrap
    state[_OFFSET_US] = offset
    return i, error


class DatSource:
    """Stream a Prophesee DAT file of CD (0x0C) or Event2d (0x00) records; ``read()`` returns None at the end.

    Geometry comes from the header (``% Width``/``% Height`` or ``% geometry WxH``), else from the
    ``geometry`` argument, else DAT_FALLBACK_GEOMETRY (304x240); a header and an argument that disagree
    raise SourceError. A partial record at the end of the file (fewer than 8 bytes) is ignored and its
    size kept in ``ignored_tail_bytes``. Timestamps are µs as stored, unwrapped past 2**32; a step back is
    an error, a step forward of more than ``max_gap_us`` a time anomaly (``time_anomalies``), re-based.

    Parameters
    ----------
    path : the ``.dat`` file.
    geometry : sensor size for files whose header has none.
    batch_events : most events returned by one ``read()``.
    max_gap_us : the time guard's bound (sensors/formats/time_guard.py); None for times as stored.
    """

    format = "dat"

    def __init__(
        self, path: str | Path, geometry: Geometry | None = None, *, batch_events: int = DEFAULT_BATCH_EVENTS,
        max_gap_us: int | None = MAX_GAP_US,
    ) -> None:
        if batch_events < 1:
            raise ValueError(f"DatSource.batch_events: must be >= 1, got {batch_events}")
        self._max_gap_us = gap_limit("DatSource", max_gap_us)
        self.path = Path(path)
        self._file: BinaryIO | None = open_recording(self.path)
        try:
            self.geometry, self.event_type = self._open(geometry)
        except BaseException:
            self._file.close()
            raise
        self._batch_events = batch_events
        self._tail = b""
        self.ignored_tail_bytes = 0
        self._state = np.array([-1, 0, 0, 0, 0, 0], dtype=np.int64)
        self._records_read = 0
        self.first_time_anomaly: str | None = None
        """Where the first time anomaly is (``"byte N"``: its record), None before one."""

    @property
    def time_anomalies(self) -> int:
        """Records so far whose time jumped forward by more than ``max_gap_us`` (0 unguarded)."""
        return int(self._state[_ANOMALIES])

    def _open(self, geometry: Geometry | None) -> tuple[Geometry, str]:
        path, f = self.path, self._file
        pairs = _read_header(path, f)
        keys = {key for key, _ in pairs}
        if keys & set(RAW_HEADER_KEYS):
            raise SourceError(f"{path}: header is a Prophesee RAW (EVT) header, not DAT")
        type_size = f.read(2)
        if len(type_size) < 2:
            if not pairs and not type_size:
                raise SourceError(f"{path}: empty file")
            raise SourceError(f"{path}: truncated DAT header (no event type and size bytes)")
        event_type, event_size = type_size
        if event_type not in DAT_EVENT_TYPES:
            name = DAT_OTHER_EVENT_TYPES.get(event_type, "unknown")
            raise SourceError(
                f"{path}: DAT event type 0x{event_type:02x} ({name}) is not supported "
                f"(EventCd 0x0c and Event2d 0x00 are)"
            )
        if event_size != DAT_RECORD_BYTES:
            raise SourceError(f"{path}: DAT event size {event_size} is not supported ({DAT_RECORD_BYTES} is)")
        header_geometry = _header_geometry(path, pairs)
        if header_geometry is not None and geometry is not None and header_geometry != geometry:
            raise SourceError(
                f"{path}: DAT header geometry {header_geometry.width}x{header_geometry.height} differs from "
                f"the given {geometry.width}x{geometry.height}"
            )
        self._data_offset = f.tell()
        return header_geometry or geometry or DAT_FALLBACK_GEOMETRY, DAT_EVENT_TYPES[event_type]

    def read(self) -> EventBatch | None:
        """The next batch of up to ``batch_events`` events, or None at the end of the file."""
        if self._file is None:
            raise SourceError(f"{self.path}: read() after close()")
        want = self._batch_events * DAT_RECORD_BYTES - len(self._tail)
        try:
            data = self._tail + self._file.read(want)
        except OSError as e:
            raise SourceError(f"{self.path}: cannot read ({e.strerror})") from None
        n = len(data) // DAT_RECORD_BYTES
        self._tail = data[n * DAT_RECORD_BYTES:]
        if n == 0:
            self.ignored_tail_bytes = len(self._tail)
            return None
        words = np.frombuffer(data, dtype="<u4", count=2 * n)
        events = np.empty(n, dtype=EVENT_DTYPE)
        g = self.geometry
        anomalies = self._state[_ANOMALIES]
        k, error = _decode_dat(
            words, self._state, g.width, g.height, self._max_gap_us, events["t"], events["x"], events["y"],
            events["p"],
        )
        if not anomalies and self._state[_ANOMALIES]:
            record = self._records_read + int(self._state[_FIRST_ANOMALY])
            self.first_time_anomaly = f"byte {self._data_offset + record * DAT_RECORD_BYTES}"
        if error:
            record = self._records_read + k
            offset = self._data_offset + record * DAT_RECORD_BYTES
            problem = _ERRORS[error].format(value=int(self._state[_BAD_VALUE]), geometry=f"{g.width}x{g.height}")
            self._records_read += n
            raise SourceError(f"{self.path}: record {record} (byte {offset}): {problem}")
        self._records_read += n
        return EventBatch(events, g)

    def close(self) -> None:
        """Close the file; further ``read()`` calls raise SourceError."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> DatSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
