"""Open any event source: recordings detected by content (the file's header, not its extension), live URLs.

Every source has ``geometry``, ``format``, ``read() -> EventBatch | None`` and ``close()``.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Protocol

from sensors.formats.event_stream import open_recording
from sensors.types import EventBatch, Geometry, SourceError

__all__ = ["EventSource", "SourceError", "detect_format", "open_source", "parse_geometry", "FORMATS"]


class EventSource(Protocol):
    geometry: Geometry
    format: str

    def read(self) -> EventBatch | None: ...

    def close(self) -> None: ...


FORMATS: dict[str, tuple[str, str]] = {
    "aedat4": ("sensors.formats.aedat4", "Aedat4Source"),
    "evt2": ("sensors.formats.evt2", "Evt2Source"),
    "evt3": ("sensors.formats.evt3", "Evt3Source"),
    "dat": ("sensors.formats.dat", "DatSource"),
    "es": ("sensors.formats.event_stream", "EventStreamSource"),
    "npy": ("sensors.formats.npy_events", "NpyEventsSource"),
    "video": ("sensors.live.frames_to_events", "FrameEventSource"),
}
"""Recorded formats: name -> (module, class); modules are imported only when used."""

_TAKES_GEOMETRY = {"evt2", "evt3", "dat", "npy"}
_VIDEO_MAGICS = (b"RIFF", b"\x1a\x45\xdf\xa3")


def _is_video(head: bytes) -> bool:
    return head.startswith(_VIDEO_MAGICS) or head[4:8] == b"ftyp"


def detect_format(path: Path, head: bytes) -> str:
    """Name of the format whose header ``head`` carries; SourceError when none matches."""
    from sensors.formats import dat, event_stream, npy_events
    from sensors.formats.aedat4 import AEDAT4_MAGIC
    from sensors.formats.prophesee_header import sniff_raw

    if head.startswith(AEDAT4_MAGIC):
        return "aedat4"
    raw = sniff_raw(head)
    if raw is not None:
        return raw
    for name, sniff in (("dat", dat.sniff), ("es", event_stream.sniff), ("npy", npy_events.sniff)):
        if sniff(head):
            return name
    if _is_video(head):
        return "video"
    raise SourceError(f"{path}: unrecognised event format (supported: AEDAT 4.0, Prophesee RAW EVT 2.0/3.0, "
                      "Prophesee DAT, Event Stream 2.0, NumPy .npy, video files)")


def parse_geometry(text: str) -> Geometry:
    """``"640x480"`` -> Geometry(640, 480); ValueError naming the text otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"geometry {text!r}: expected WIDTHxHEIGHT, e.g. 640x480")
    return Geometry(int(match.group(1)), int(match.group(2)))


def _open_live(target: str, geometry: Geometry | None) -> EventSource:
    if target.startswith("webcam:"):
        from sensors.live.frames_to_events import FrameEventSource

        index = target.split(":", 1)[1]
        if not index.isdigit():
            raise SourceError(f"{target}: expected webcam:INDEX, e.g. webcam:0")
        return FrameEventSource(int(index))
    from sensors.live.dv_live import DvLiveSource

    return DvLiveSource(target, geometry=geometry)


def open_source(target: str | Path, geometry: Geometry | None = None) -> EventSource:
    """Open a recording by content, or a live source: ``tcp://HOST:PORT`` (DV network stream),
    ``camera`` / ``camera://NAME`` (iniVation camera), ``webcam:INDEX`` (OpenCV camera -> events).

    ``geometry`` overrides the file's own for formats whose header may lack it (RAW, DAT, NPY).
    Raises SourceError (one line, naming the input) when the input is missing or unsupported.
    """
    text = str(target)
    if text.startswith(("tcp://", "camera", "webcam:")):
        return _open_live(text, geometry)
    path = Path(text)
    with open_recording(path) as f:
        head = f.read(4096)
    if not head:
        raise SourceError(f"{path}: empty file")
    name = detect_format(path, head)
    module_name, class_name = FORMATS[name]
    cls = getattr(importlib.import_module(module_name), class_name)
    if name in _TAKES_GEOMETRY and geometry is not None:
        return cls(path, geometry)
    return cls(path)
