"""Write event streams: AEDAT 4.0 through dv-processing, or a NumPy .npy of EVENT_DTYPE.

Writers take batches one by one, so a conversion holds one batch in memory at a time. A writer writes to a
hidden temporary file in the destination's directory and renames it onto the destination in ``close()``
only; ``abort()`` removes it. So a conversion that fails leaves nothing behind (and an existing destination
untouched), and no reader ever sees a half-written file under the destination's name.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import dv_processing as dv
import numpy as np

from sensors.types import EVENT_DTYPE, EventBatch, Geometry, SourceError

WRITABLE = (".aedat4", ".npy")
NPY_MAGIC = b"\x93NUMPY\x01\x00"


def partial_path(path: Path) -> Path:
    """A fresh hidden name beside ``path`` for writing it: ``.NAME.<random>.partial<suffix>``."""
    return path.with_name(f".{path.stem}.{secrets.token_hex(6)}.partial{path.suffix}")


def _remove(path: Path) -> None:
    """Delete ``path`` if it exists."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class Aedat4Writer:
    """Events to an AEDAT4 file with one event stream, written by dv-processing's MonoCameraWriter (to a
    temporary file, renamed onto ``path`` by ``close()``)."""

    def __init__(self, path: Path, geometry: Geometry, camera_name: str = "neuroedge") -> None:
        self.path = path
        self._partial = partial_path(path)
        config = dv.io.MonoCameraWriter.EventOnlyConfig(camera_name, (geometry.width, geometry.height))
        try:
            self._writer = dv.io.MonoCameraWriter(str(self._partial), config)
        except RuntimeError as e:
            _remove(self._partial)
            raise SourceError(f"{path}: cannot write AEDAT4 ({str(e).strip().splitlines()[0]})") from None

    def write(self, batch: EventBatch) -> None:
        """Append a batch (dv-processing has no bulk constructor from NumPy: events are built one by one in C++)."""
        e = batch.events
        if len(e) == 0:
            return
        events = map(dv.Event, e["t"].tolist(), e["x"].tolist(), e["y"].tolist(), (e["p"] > 0).tolist())
        self._writer.writeEventPacket(dv.EventPacket(dv.EventPacket.EventVector(events)))

    def close(self) -> None:
        """Finish the file (dropping the writer flushes it) and rename it onto ``path``."""
        self._writer = None
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        """Drop the writer and remove the temporary file: nothing is left at ``path``."""
        self._writer = None
        _remove(self._partial)


class NpyWriter:
    """Events to a ``.npy`` of EVENT_DTYPE, appended batch by batch; the header is fixed up on close.

    The geometry goes to a sidecar ``<file>.json`` (width, height, events), which NpyEventsSource reads. Both
    are written to temporary files and renamed onto their names by ``close()``.
    """

    def __init__(self, path: Path, geometry: Geometry) -> None:
        self.path = path
        self.geometry = geometry
        self.count = 0
        self._partial = partial_path(path)
        try:
            self._file = open(self._partial, "xb")
        except OSError as e:
            raise SourceError(f"{path}: cannot write ({e.strerror})") from None
        self._header_len = self._write_header(0)

    def _write_header(self, count: int) -> int:
        """NPY 1.0 header with the count in a fixed-width field, so rewriting it keeps its length."""
        text = "{'descr': %r, 'fortran_order': False, 'shape': (%20d,), }" % (
            np.lib.format.dtype_to_descr(EVENT_DTYPE), count)
        pad = -(len(NPY_MAGIC) + 2 + len(text) + 1) % 64
        header = (text + " " * pad + "\n").encode("latin1")
        self._file.seek(0)
        self._file.write(NPY_MAGIC + len(header).to_bytes(2, "little") + header)
        return self._file.tell()

    def write(self, batch: EventBatch) -> None:
        self._file.write(np.ascontiguousarray(batch.events, dtype=EVENT_DTYPE).tobytes())
        self.count += len(batch.events)

    def close(self) -> None:
        """Fix the header's count, write the sidecar, and rename both onto their names."""
        end = self._file.tell()
        if self._write_header(self.count) != self._header_len:
            self.abort()
            raise SourceError(f"{self.path}: npy header size changed while writing")
        self._file.seek(end)
        self._file.close()
        sidecar = self.path.with_name(self.path.name + ".json")
        partial_sidecar = partial_path(sidecar)
        meta = {"width": self.geometry.width, "height": self.geometry.height, "events": self.count}
        try:
            partial_sidecar.write_text(json.dumps(meta) + "\n")
            os.replace(self._partial, self.path)
            os.replace(partial_sidecar, sidecar)
        except OSError:
            _remove(partial_sidecar)
            self.abort()
            raise

    def abort(self) -> None:
        """Close and remove the temporary file: nothing is left at ``path``."""
        self._file.close()
        _remove(self._partial)


def open_writer(path: str | Path, geometry: Geometry):
    """A writer chosen by the output's extension (.aedat4 or .npy); ``close()`` to keep the file, ``abort()``
    to leave nothing."""
    path = Path(path)
    if path.suffix == ".aedat4":
        return Aedat4Writer(path, geometry)
    if path.suffix == ".npy":
        return NpyWriter(path, geometry)
    raise SourceError(f"{path}: cannot write {path.suffix or 'files without extension'} (writable: {', '.join(WRITABLE)})")
