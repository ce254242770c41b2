"""Hand freed heap memory back to the operating system (glibc ``malloc_trim``), so a daemon that runs for days
keeps a resident size that follows what it holds, not the high-water mark of its allocations.

A checkpoint builds and frees megabytes of arrays and zip buffers; glibc keeps such freed chunks in the heap
for reuse, and their pages stay resident and fragment over hours. Trimming after each checkpoint costs well
under a millisecond. On a C library without ``malloc_trim`` (musl, macOS) it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util


def _load_malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _load_malloc_trim()


def release_free_heap() -> bool:
    """Return free heap pages to the OS; True when the C library did (False when it has no malloc_trim)."""
    return bool(_MALLOC_TRIM(0)) if _MALLOC_TRIM is not None else False
