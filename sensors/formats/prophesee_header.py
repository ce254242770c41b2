"""Prophesee RAW container: the ``% `` text header, and the chunked word reader shared by the EVT 2.0
and EVT 3.0 sources (sensors/formats/evt2.py, sensors/formats/evt3.py).

A RAW file is a text header of lines ``% key value`` followed by little-endian event words. Known keys:
``evt 2.0`` / ``evt 3.0`` (older files), ``format EVT3;height=720;width=1280`` (newer files),
``geometry 1280x720``, ``sensor_generation``, ``plugin_name``, ``serial_number``, ... A ``% end`` line,
when present, is the header's last line. Otherwise the header ends at the first line that does not start
with ``% `` or that holds a control character (so binary words that happen to start with ``%`` are data).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np

from sensors.formats.evt_kernels import ANOMALIES, DROPPED, FIRST_ANOMALY, N_OUT, UNTIMED, make_state
from sensors.formats.time_guard import MAX_GAP_US, gap_limit
from sensors.types import EVENT_DTYPE, EventBatch, Geometry, SourceError

__all__ = ["RawHeader", "RawEventSource", "fallback_geometry", "parse_header", "sniff_raw"]

SNIFF_BYTES = 65536
"""Pass at least this many leading bytes (or the whole file) to ``sniff_raw``/``parse_header``."""
_FIRST_READ_BYTES = 4096
MAX_HEADER_BYTES = 1 << 20
"""A header longer than this is refused (the reader never scans further for its end)."""
DEFAULT_CHUNK_BYTES = 4 << 20
"""Size of a source's word buffer: the file is decoded this many bytes at a time."""
MAX_BATCH_EVENTS = 1 << 20
"""Records allocated per ``read()`` at most (16 MiB): batches stay bounded, and the allocation stays
below glibc's largest mmap threshold, so the memory is reused instead of being faulted in anew."""
FORMAT_NAMES = {"evt2": "EVT 2.0", "evt3": "EVT 3.0", "evt21": "EVT 2.1"}
WORD_BYTES = {"evt2": 4, "evt3": 2}

SENSOR_GEOMETRY = (
    ("genx320", Geometry(320, 320)),
    ("imx636", Geometry(1280, 720)),
    ("gen41", Geometry(1280, 720)),
    ("gen4", Geometry(1280, 720)),
    ("gen31", Geometry(640, 480)),
    ("gen3", Geometry(640, 480)),
)
"""Fallback geometry when the header states none: first name found in ``sensor_name`` or
``plugin_name`` (e.g. ``hal_plugin_gen3_fx3`` → 640x480, ``hal_plugin_gen41_evk3`` → 1280x720)."""
FORMAT_GEOMETRY = {"evt2": Geometry(640, 480), "evt3": Geometry(1280, 720)}
"""Last fallback, by event format: Gen3 VGA for EVT 2.0, Gen4.1 HD for EVT 3.0."""

_HEADER_LINE = re.compile(rb"%(?: [\t\x20-\x7e\x80-\xff]*)?\r?")
_EVT_VERSIONS = {"2.0": "evt2", "3.0": "evt3", "2.1": "evt21"}


@dataclass(frozen=True)
class RawHeader:
    """A parsed RAW header.

    Parameters
    ----------
    length_bytes : bytes of header before the first event word.
    complete : False when the bytes parsed ended inside the header (pass more, or it is header-only).
    fields : ``key → value`` for every ``% key value`` line (a repeated key keeps its last value).
    """

    length_bytes: int
    complete: bool
    fields: Mapping[str, str]

    @property
    def format(self) -> str | None:
        """``"evt2"``, ``"evt3"``, another lower-case name (e.g. ``"evt21"``), or None when not stated."""
        fmt = self.fields.get("format")
        if fmt:
            return fmt.split(";")[0].strip().lower() or None
        evt = self.fields.get("evt", "").strip()
        if evt:
            return _EVT_VERSIONS.get(evt, "evt" + evt.replace(".", ""))
        return None

    @property
    def geometry(self) -> Geometry | None:
        """The sensor size the header states (``format`` width/height or ``geometry WxH``), else None.

        Raises ValueError naming the key when the stated value is malformed.
        """
        fmt = self.fields.get("format")
        if fmt:
            params = dict(p.split("=", 1) for p in fmt.split(";")[1:] if "=" in p)
            if "width" in params and "height" in params:
                try:
                    return Geometry(int(params["width"]), int(params["height"]))
                except ValueError:
                    raise ValueError(f"header key format: bad width/height in {fmt!r}") from None
        geo = self.fields.get("geometry")
        if geo:
            try:
                width, height = (int(v) for v in geo.lower().split("x"))
                return Geometry(width, height)
            except ValueError:
                raise ValueError(f"header key geometry: expected WIDTHxHEIGHT, got {geo!r}") from None
        return None


def parse_header(head: bytes) -> RawHeader | None:
    """Parse the header at the start of ``head``; None when ``head`` does not start with one."""
    fields: dict[str, str] = {}
    pos = 0
    complete = False
    while pos < len(head):
        nl = head.find(b"\n", pos)
        line = head[pos:nl if nl >= 0 else len(head)]
        if not _HEADER_LINE.fullmatch(line):
            complete = True
            break
        if nl < 0:
            break
        key, _, value = line[2:].decode("utf-8", errors="replace").rstrip("\r").partition(" ")
        pos = nl + 1
        if key == "end":
            complete = True
            break
        if key:
            fields[key] = value.strip()
    if pos == 0 and (complete or not head):
        return None
    return RawHeader(pos, complete, MappingProxyType(fields))


def sniff_raw(head: bytes) -> str | None:
    """``"evt2"`` or ``"evt3"`` when ``head`` (the first SNIFF_BYTES of a file) is a Prophesee RAW header
    naming one of them; None otherwise (not RAW, another EVT version, or the format line lies beyond
    ``head``)."""
    header = parse_header(head)
    if header is None:
        return None
    fmt = header.format
    return fmt if fmt in WORD_BYTES else None


def fallback_geometry(header: RawHeader, fmt: str) -> Geometry:
    """The sensor size for a header that states none: SENSOR_GEOMETRY by sensor/plugin name, else
    FORMAT_GEOMETRY by the event format ``fmt``."""
    names = " ".join(header.fields.get(k, "") for k in ("sensor_name", "plugin_name")).lower()
    for name, geometry in SENSOR_GEOMETRY:
        if name in names:
            return geometry
    generation = header.fields.get("sensor_generation", "").strip()
    if generation.startswith("3"):
        return Geometry(640, 480)
    if generation.startswith("4"):
        return Geometry(1280, 720)
    return FORMAT_GEOMETRY[fmt]


class RawEventSource:
    """Decode a Prophesee RAW file through a fixed word buffer; subclasses set the format and kernel.

    ``read()`` returns an EventBatch of at most about one buffer of words' events (fresh arrays, safe
    to keep), or None at the end. The caller's ``geometry`` wins over the header's, which wins over
    ``fallback_geometry``. Events outside the geometry are dropped and counted in
    ``dropped_out_of_range``. A file that ends inside a word is decoded up to its last complete word;
    the partial word is ignored and its size kept in ``truncated_bytes``. Impossible time (a TIME_HIGH
    stepping back, or jumping more than ``max_gap_us``) is counted in ``time_anomalies`` and re-based by the
    rule of sensors/formats/time_guard.py, and events before the first TIME_HIGH are left out
    (``untimed_events``); ``max_gap_us=None`` gives the spec-literal times instead (see
    sensors/formats/evt_kernels.py).
    """

    format: str = ""
    _word_dtype = np.dtype(np.uint32)

    @staticmethod
    def _kernel(words, start, stop, state, width, height, max_gap_us, out):  # pragma: no cover - set by subclasses
        raise NotImplementedError

    @staticmethod
    def _rows(n_words: int) -> int:
        """Records to allocate for decoding ``n_words`` buffered words (at most one event per word)."""
        return min(n_words, MAX_BATCH_EVENTS)

    def __init__(self, path: str | Path, geometry: Geometry | None = None,
                 chunk_bytes: int = DEFAULT_CHUNK_BYTES, max_gap_us: int | None = MAX_GAP_US) -> None:
        self.path = Path(path)
        name = type(self).__name__
        if chunk_bytes < WORD_BYTES[self.format]:
            raise ValueError(f"{name}.chunk_bytes: must be >= {WORD_BYTES[self.format]}, got {chunk_bytes}")
        self._max_gap_us = gap_limit(name, max_gap_us)
        if geometry is not None and not isinstance(geometry, Geometry):
            raise TypeError(f"{name}.geometry: expected Geometry or None, got {type(geometry).__name__}")
        try:
            self._file = open(self.path, "rb")
        except FileNotFoundError:
            raise SourceError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise SourceError(f"{self.path}: is a directory, not a recording") from None
        except OSError as e:
            raise SourceError(f"{self.path}: cannot read ({e.strerror})") from None
        try:
            self._open(geometry, chunk_bytes)
        except BaseException:
            self._file.close()
            raise

    def _open(self, geometry: Geometry | None, chunk_bytes: int) -> None:
        size = os.fstat(self._file.fileno()).st_size
        head = self._file.read(min(size, _FIRST_READ_BYTES))
        if not head:
            raise SourceError(f"{self.path}: empty file")
        header = parse_header(head)
        if header is not None and not header.complete and len(head) < size:
            head += self._file.read(min(size, MAX_HEADER_BYTES) - len(head))
            header = parse_header(head)
        if header is None:
            raise SourceError(f"{self.path}: not a Prophesee RAW file (no '% ' header)")
        if not header.complete:
            if len(head) < size:
                raise SourceError(f"{self.path}: RAW header longer than {MAX_HEADER_BYTES} bytes")
            raise SourceError(f"{self.path}: RAW header but no event data")
        fmt = header.format
        if fmt is None:
            raise SourceError(f"{self.path}: RAW header names no event format (no 'evt' or 'format' line)")
        if fmt != self.format:
            found = FORMAT_NAMES.get(fmt, fmt)
            raise SourceError(f"{self.path}: {found} data, not {FORMAT_NAMES[self.format]}")
        try:
            stated = header.geometry
        except ValueError as e:
            raise SourceError(f"{self.path}: {e}") from None
        if geometry is None:
            geometry = stated if stated is not None else fallback_geometry(header, fmt)
        self.geometry = geometry
        self.header = header
        word_bytes = self._word_dtype.itemsize
        n_words, self.truncated_bytes = divmod(size - header.length_bytes, word_bytes)
        if n_words == 0:
            raise SourceError(f"{self.path}: no complete event word after the RAW header")
        self._file.seek(header.length_bytes)
        self._buffer = np.empty(min(n_words, max(1, chunk_bytes // word_bytes)), dtype=self._word_dtype)
        self._buffer_offset = header.length_bytes  # file offset of self._buffer[0]
        self._words_left = n_words
        self._pos = 0
        self._end = 0
        self._state = make_state()
        self.first_time_anomaly: str | None = None
        """Where the first time anomaly was found (``"byte N"``: the TIME_HIGH word that showed it), else None."""

    @property
    def dropped_out_of_range(self) -> int:
        """Events decoded so far with x >= width or y >= height (not emitted)."""
        return int(self._state[DROPPED])

    @property
    def untimed_events(self) -> int:
        """Events before the first TIME_HIGH, not emitted because their time is unknown (0 unguarded)."""
        return int(self._state[UNTIMED])

    @property
    def time_anomalies(self) -> int:
        """TIME_HIGH words so far whose time stepped back or jumped more than ``max_gap_us`` (0 unguarded)."""
        return int(self._state[ANOMALIES])

    def _refill(self) -> bool:
        n = min(self._words_left, len(self._buffer))
        if n == 0:
            return False
        self._buffer_offset = self._file.tell()
        got = self._file.readinto(memoryview(self._buffer[:n]).cast("B"))
        words = (got or 0) // self._word_dtype.itemsize
        self._words_left = self._words_left - n if words == n else 0
        self._pos, self._end = 0, words
        return words > 0

    def read(self) -> EventBatch | None:
        """The next batch of events (time order of the stream), or None at the end of the file."""
        if self._file.closed:
            raise SourceError(f"{self.path}: read after close")
        width, height = self.geometry.width, self.geometry.height
        while True:
            if self._pos >= self._end and not self._refill():
                return None
            rows = self._rows(self._end - self._pos)
            events = np.empty(rows, dtype=EVENT_DTYPE)
            self._pos = self._kernel(self._buffer, self._pos, self._end, self._state, width, height,
                                     self._max_gap_us, events.view(np.int64))
            if self.first_time_anomaly is None and self._state[ANOMALIES]:
                word = int(self._state[FIRST_ANOMALY])
                self.first_time_anomaly = f"byte {self._buffer_offset + word * self._word_dtype.itemsize}"
            n = int(self._state[N_OUT])
            if n:
                return EventBatch(events if n == rows else events[:n], self.geometry)

    def close(self) -> None:
        """Release the file and the word buffer; further ``read()`` calls raise SourceError."""
        self._file.close()
        self._buffer = np.empty(0, dtype=self._word_dtype)
        self._pos = self._end = self._words_left = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
