"""Open a recorded event source by content (the file's header), not by its extension.

Every source has ``geometry``, ``format``, ``read() -> EventBatch | None`` and ``close()``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from sensors.aedat4 import AEDAT4_MAGIC, Aedat4Source
from sensors.types import EventBatch, Geometry, SourceError

__all__ = ["EventSource", "SourceError", "open_source"]


class EventSource(Protocol):
    geometry: Geometry
    format: str

    def read(self) -> EventBatch | None: ...

    def close(self) -> None: ...


def open_source(path: str | Path) -> EventSource:
    """Open a recording; raise SourceError (one line, naming the file) when it is missing or unsupported."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory, not a recording") from None
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e.strerror})") from None
    if not head:
        raise SourceError(f"{path}: empty file")
    if head.startswith(AEDAT4_MAGIC):
        return Aedat4Source(path)
    raise SourceError(f"{path}: unrecognised event format (supported: AEDAT 4.0)")
