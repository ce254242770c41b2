"""The one place that maps back-end names to classes (lazy imports, clear errors).

Only ``numba`` exists so far; the emulator and serial board plug in here.
"""
from __future__ import annotations

import importlib

from snn.backend import Backend

BACKENDS: dict[str, tuple[str, str]] = {
    "numba": ("snn.numba_backend", "NumbaBackend"),
}


def open_backend(name: str) -> Backend:
    """Instantiate the back end named ``name``; raise ValueError listing the known names otherwise."""
    if name not in BACKENDS:
        raise ValueError(f"backend {name!r}: unknown (known: {', '.join(sorted(BACKENDS))})")
    module_name, class_name = BACKENDS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"backend {name!r}: cannot import {module_name} ({e})") from None
    return getattr(module, class_name)()
