"""Throughput of the event filters against dv-processing's filters of the same kind, on the same batches.

Called by the benchmark command; returns million events per second per filter.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from sensors.filtering.filters import (
    BackgroundActivityConfig,
    BackgroundActivityFilter,
    DownsampleConfig,
    DownsampleFilter,
    HotPixelConfig,
    HotPixelFilter,
    PolarityConfig,
    PolarityFilter,
    RefractoryConfig,
    RefractoryFilter,
    RegionConfig,
    RegionFilter,
)
from sensors.types import EventBatch, Geometry, as_events, check_events

HOT_PIXELS = 16
"""Hot pixels listed in the hot-pixel benchmark (spread along the sensor's diagonal)."""


def to_dv_store(events: np.ndarray):
    """A dv-processing EventStore holding ``events`` (one push_back per event; dv has no bulk constructor)."""
    import dv_processing as dv

    store = dv.EventStore()
    push = store.push_back
    for t, x, y, p in zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(),
                          events["p"].astype(bool).tolist()):
        push(t, x, y, p)
    return store


def _cases(geometry: Geometry) -> dict[str, tuple[Callable, Callable | None]]:
    """name -> (make our filter, make dv-processing's filter of the same kind or None)."""
    w, h = geometry.width, geometry.height
    region = RegionConfig(w // 4, h // 4, max(1, w // 2), max(1, h // 2))
    hot = HotPixelConfig(tuple(((i * w) // HOT_PIXELS, (i * h) // HOT_PIXELS) for i in range(HOT_PIXELS)))
    try:
        import dv_processing as dv
    except ImportError:
        dv = None

    def dv_make(build: Callable) -> Callable | None:
        return None if dv is None else build

    keep_mask = HotPixelFilter(geometry, hot).keep_mask * np.uint8(255)
    dv_refractory = None if dv is None else getattr(dv, "RefractoryPeriodFilter", None)
    return {
        "background_activity": (lambda: BackgroundActivityFilter(geometry, BackgroundActivityConfig()),
                                dv_make(lambda: dv.noise.BackgroundActivityNoiseFilter((w, h)))),
        "refractory": (lambda: RefractoryFilter(geometry, RefractoryConfig()),
                       None if dv_refractory is None else (lambda: dv_refractory((w, h)))),
        "region": (lambda: RegionFilter(geometry, region),
                   dv_make(lambda: dv.EventRegionFilter((region.x, region.y, region.width, region.height)))),
        "polarity": (lambda: PolarityFilter(PolarityConfig(1)), dv_make(lambda: dv.EventPolarityFilter(True))),
        "hot_pixel": (lambda: HotPixelFilter(geometry, hot), dv_make(lambda: dv.EventMaskFilter(keep_mask))),
        "downsample": (lambda: DownsampleFilter(geometry, DownsampleConfig(2, 2)), None),
        "downsample_refractory": (lambda: DownsampleFilter(geometry, DownsampleConfig(2, 2, 250)), None),
    }


def _ours_pass(make: Callable, batches: list[EventBatch]) -> float:
    f = make()
    f.apply(batches[0])  # load the compiled kernel before timing
    f.reset()
    start = time.perf_counter()
    for batch in batches:
        f.apply(batch)
    return time.perf_counter() - start


def _dv_pass(make: Callable, stores: list) -> float:
    f = make()
    start = time.perf_counter()
    for store in stores:
        f.accept(store)
        f.generateEvents()
    return time.perf_counter() - start


def filter_speeds(events: np.ndarray, geometry: Geometry, min_events: int, *,
                  batch_events: int = 10_000) -> dict[str, dict[str, float | None]]:
    """Million events per second of each filter, and of dv-processing's filter of the same kind.

    ``events`` (EVENT_DTYPE or dv-processing's ``numpy()`` layout, time-ordered, on ``geometry``; checked
    once) are cut into batches of ``batch_events``, and dv-processing gets the same batches as shallow
    EventStore slices. Each filter makes whole passes over the batches (a fresh filter per pass, so time
    never runs backwards) until it has processed at least ``min_events``, alternating pass by pass with
    dv-processing's filter of the same kind. The rate is that of the fastest pass, as ``timeit`` reports,
    because other processes on the machine can only slow a pass down.

    Returns ``{name: {"mev_s": float, "dv_processing_mev_s": float | None}}``; None where dv-processing
    2.0.4 has no such filter (refractory: C++ only, downsample: none) or is not installed.
    """
    if min_events < 1 or batch_events < 1:
        raise ValueError(f"filter_speeds: min_events and batch_events must be >= 1, got {min_events}, {batch_events}")
    events = np.ascontiguousarray(as_events(events))  # dv-processing's field names are accepted too
    if len(events) == 0:
        raise ValueError("filter_speeds.events: no events")
    check_events(events, geometry, "filter_speeds.events")  # dv-processing does not bounds-check
    starts = range(0, len(events), batch_events)
    batches = [EventBatch(events[i:i + batch_events], geometry) for i in starts]
    cases = _cases(geometry)
    stores = None
    if any(dv_make is not None for _, dv_make in cases.values()):
        whole = to_dv_store(events)
        stores = [whole.slice(i, min(batch_events, len(events) - i)) for i in starts]
    n = len(events)
    passes = -(-min_events // n)
    result: dict[str, dict[str, float | None]] = {}
    for name, (make, dv_make) in cases.items():
        ours, theirs = [], []
        for _ in range(passes):  # alternate, so both see the same machine load
            ours.append(_ours_pass(make, batches))
            if dv_make is not None:
                theirs.append(_dv_pass(dv_make, stores))
        result[name] = {
            "mev_s": n / min(ours) / 1e6,
            "dv_processing_mev_s": n / min(theirs) / 1e6 if theirs else None,
        }
    return result
