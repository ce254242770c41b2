"""Back ends by URL: the one place that maps a URL to a back end (lazy imports, one-line errors).

A URL is a back-end name with options, or a scheme with a device path and options::

    numba                                   the reference back end, float64 state
    numba?dtype=float32                     the same in float32 (faster on large networks)
    emulator                                the fixed-point core emulator (integer, profile loihi)
    emulator?discretize=0                   the same mapping in float64 (matches numba; quantisation off)
    emulator?strict=1                       the first current wrap or voltage saturation is an error
    serial:///dev/ttyACM0?baud=921600       a board on a serial line (hw/serial/PROTOCOL.md), through pyserial
    serial://socket://host:7000             the same over any pyserial URL (socket://, rfc2217://, loop://)

``check_backend_url`` validates a URL without importing the back end (used when a config is loaded);
``open_backend`` validates and instantiates it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from urllib.parse import parse_qsl

from snn.backend import Backend


@dataclass(frozen=True)
class BackendKind:
    """One back end: its class, the options its URL takes (name -> allowed values, None = any) and their
    defaults, and whether its URL carries a device path (``scheme://path``)."""

    module: str
    cls: str
    options: dict[str, tuple[str, ...] | None]
    defaults: dict[str, str]
    has_path: bool = False


BACKENDS: dict[str, BackendKind] = {
    "numba": BackendKind("snn.engine.numba_backend", "NumbaBackend", {"dtype": ("float32", "float64")}, {"dtype": "float64"}),
    "emulator": BackendKind("hw.emulator.backend", "EmulatorBackend",
                            {"profile": ("loihi",), "strict": ("0", "1"), "discretize": ("0", "1")},
                            {"profile": "loihi", "strict": "0", "discretize": "1"}),
    "serial": BackendKind("hw.serial.backend", "SerialBackend",
                          {"baud": None, "timeout_ms": None, "retries": None, "reconnect_s": None,
                           "snapshot_every": None, "profile": ("loihi",)},
                          {"baud": "921600", "timeout_ms": "50", "retries": "5", "reconnect_s": "10",
                           "snapshot_every": "1000", "profile": "loihi"}, has_path=True),
}


@dataclass(frozen=True)
class BackendURL:
    """A parsed back-end URL: ``name``, device ``path`` ("" if none) and ``options`` (defaults filled in)."""

    name: str
    path: str
    options: dict[str, str]

    def __str__(self) -> str:
        head = f"{self.name}://{self.path}" if self.path else self.name
        query = "&".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"{head}?{query}" if query else head


def parse_backend_url(url: str) -> BackendURL:
    """Parse and validate ``url``; ValueError (one line, naming the URL) if the back end or an option is unknown."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"backend {url!r}: empty URL (known back ends: {', '.join(sorted(BACKENDS))})")
    head, _, query = url.partition("?")
    name, sep, path = head.partition("://")
    if name not in BACKENDS:
        raise ValueError(f"backend {url!r}: unknown back end {name!r} (known: {', '.join(sorted(BACKENDS))})")
    kind = BACKENDS[name]
    if bool(sep) != kind.has_path:
        form = f"{name}://DEVICE" if kind.has_path else name
        raise ValueError(f"backend {url!r}: write it as {form}[?option=value&...]")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ValueError(f"backend {url!r}: malformed options {query!r} (want option=value&...)") from None
    options = dict(kind.defaults)
    for key, value in pairs:
        if key not in kind.options:
            known = ", ".join(kind.options) or "none"
            raise ValueError(f"backend {url!r}: unknown option {key!r} for {name} (known: {known})")
        allowed = kind.options[key]
        if allowed is not None and value not in allowed:
            raise ValueError(f"backend {url!r}: option {key}={value!r} must be one of {', '.join(allowed)}")
        options[key] = value
    return BackendURL(name, path, options)


def check_backend_url(url: str) -> str:
    """The URL in canonical form (defaults spelled out) if valid; ValueError otherwise."""
    return str(parse_backend_url(url))


def open_backend(url: str) -> Backend:
    """A new, unloaded back end for ``url``; ValueError (one line) when the URL is not valid."""
    parsed = parse_backend_url(url)
    kind = BACKENDS[parsed.name]
    try:
        module = importlib.import_module(kind.module)
    except ImportError as e:
        raise ValueError(f"backend {url!r}: cannot import {kind.module} ({e})") from None
    args = (parsed.path,) if kind.has_path else ()
    return getattr(module, kind.cls)(*args, **parsed.options)
