"""Write event streams: AEDAT 4.0 through dv-processing, or a NumPy .npy of EVENT_DTYPE.

Writers take batches one by one, so a conversion holds one batch in memory at a time.
"""
from __future__ import annotations

import json
from pathlib import Path

import dv_processing as dv
import numpy as np

from sensors.types import EVENT_DTYPE, EventBatch, Geometry, SourceError

WRITABLE = (".aedat4", ".npy")
NPY_MAGIC = b"\x93NUMPY\x01\x00"


class Aedat4Writer:
    """Events to an AEDAT4 file with one event stream, written by dv-processing's MonoCameraWriter."""

    def __init__(self, path: Path, geometry: Geometry, camera_name: str = "neuroedge") -> None:
        config = dv.io.MonoCameraWriter.EventOnlyConfig(camera_name, (geometry.width, geometry.height))
        try:
            self._writer = dv.io.MonoCameraWriter(str(path), config)
        except RuntimeError as e:
            raise SourceError(f"{path}: cannot write AEDAT4 ({e})") from None

    def write(self, batch: EventBatch) -> None:
        """Append a batch (dv-processing has no bulk constructor from NumPy: events are built one by one in C++)."""
        e = batch.events
        if len(e) == 0:
            return
        events = map(dv.Event, e["t"].tolist(), e["x"].tolist(), e["y"].tolist(), (e["p"] > 0).tolist())
        self._writer.writeEventPacket(dv.EventPacket(dv.EventPacket.EventVector(events)))

    def close(self) -> None:
        self._writer = None


class NpyWriter:
    """Events to a ``.npy`` of EVENT_DTYPE, appended batch by batch; the header is fixed up on close.

    The geometry goes to a sidecar ``<file>.json`` (width, height, events), which NpyEventsSource reads.
    """

    def __init__(self, path: Path, geometry: Geometry) -> None:
        self.path = path
        self.geometry = geometry
        self.count = 0
        self._file = open(path, "wb")
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
        end = self._file.tell()
        if self._write_header(self.count) != self._header_len:
            raise SourceError(f"{self.path}: npy header size changed while writing")
        self._file.seek(end)
        self._file.close()
        sidecar = {"width": self.geometry.width, "height": self.geometry.height, "events": self.count}
        self.path.with_name(self.path.name + ".json").write_text(json.dumps(sidecar) + "\n")


def open_writer(path: str | Path, geometry: Geometry):
    """A writer chosen by the output's extension (.aedat4 or .npy)."""
    path = Path(path)
    if path.suffix == ".aedat4":
        return Aedat4Writer(path, geometry)
    if path.suffix == ".npy":
        return NpyWriter(path, geometry)
    raise SourceError(f"{path}: cannot write {path.suffix or 'files without extension'} (writable: {', '.join(WRITABLE)})")
