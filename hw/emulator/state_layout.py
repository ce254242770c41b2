"""Named state of the emulator: each portable or private array name -> how to read it, write it and check it.

Portable names are the numba back end's (snn.backend): ``projection/<name>/weight_mv`` in spec synapse order,
``population/<name>/v_mv``, ``g_exc_mv``, ``g_inh_mv``, ``refractory_ticks``, ``adaptation`` (alif),
``network/tick``, and the learning state (``pre_trace``, ``post_trace``, ``eligibility``,
``network/reward_baseline``), so a checkpoint moves between back ends. Integer state is exported in mV (v from
rest through the population's scale, currents through the port gain), traces in spike units (integer / 16),
eligibility through the projection's tag scale; private ``emulator/`` arrays hold the exact integers (or the
float mode's schedule and rings) and win over the portable ones on restore.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class StateArray:
    """One named array: ``get()`` returns a copy; ``put(value)`` stores a checked value; ``kind`` is "f" (float),
    "i" (integer) or "u" (uint64); ``shape``; ``limits`` (inclusive) for integer arrays, or None."""

    get: Callable[[], np.ndarray]
    put: Callable[[np.ndarray], None]
    kind: str
    shape: tuple
    limits: tuple[int, int] | None = None


def whole(array: np.ndarray, kind: str, limits: tuple[int, int] | None = None) -> StateArray:
    """The whole of ``array``, stored as is."""
    def put(value: np.ndarray) -> None:
        array[...] = value
    return StateArray(lambda: array.copy(), put, kind, array.shape, limits)


def part(array: np.ndarray, sl: slice, kind: str, limits: tuple[int, int] | None = None) -> StateArray:
    """A slice of a per-neuron array, stored as is."""
    def put(value: np.ndarray) -> None:
        array[sl] = value
    return StateArray(lambda: array[sl].copy(), put, kind, array[sl].shape, limits)


def scaled(array: np.ndarray, sl: slice, scale: float, offset: float, limit: int) -> StateArray:
    """A slice of an integer array shown as array / scale + offset (float); written back rounded, clipped to
    +-limit."""
    def get() -> np.ndarray:
        return array[sl] / scale + offset

    def put(value: np.ndarray) -> None:
        array[sl] = np.clip(np.round((value - offset) * scale), -limit, limit).astype(array.dtype)
    return StateArray(get, put, "f", array[sl].shape)


def scaled_range(array: np.ndarray, sl: slice, scale: float, lo: int, hi: int) -> StateArray:
    """A slice of an integer array shown as array / scale (float); written back rounded, clipped to lo..hi."""
    def get() -> np.ndarray:
        return array[sl] / scale

    def put(value: np.ndarray) -> None:
        array[sl] = np.clip(np.round(value * scale), lo, hi).astype(array.dtype)
    return StateArray(get, put, "f", array[sl].shape)


def carried(value: np.ndarray) -> StateArray:
    """An array this version does not evolve (learning state): kept as restored, returned as stored."""
    return whole(np.array(value, dtype=np.float64), "f")


def checked(owner: str, name: str, entry: StateArray, value) -> np.ndarray:
    """``value`` if it fits ``entry``; ValueError naming the array otherwise."""
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{owner}: array {name!r} is {type(value).__name__}, not an ndarray")
    wanted = {"f": "a float array", "i": "an integer array", "u": "a uint64 array"}[entry.kind]
    ok = (value.dtype.kind == "f" if entry.kind == "f" else value.dtype.kind in "iu" if entry.kind == "i"
          else value.dtype == np.uint64)
    if value.shape != entry.shape or not ok:
        raise ValueError(f"{owner}: array {name!r} is {value.dtype}{list(value.shape)}, this network needs "
                         f"{wanted} of shape {list(entry.shape)}")
    if entry.kind == "f" and not np.all(np.isfinite(value)):
        raise ValueError(f"{owner}: array {name!r} holds non-finite values")
    if entry.limits is not None and value.size and not (entry.limits[0] <= value.min()
                                                        and value.max() <= entry.limits[1]):
        raise ValueError(f"{owner}: array {name!r} holds values outside {entry.limits[0]}..{entry.limits[1]}")
    return value
