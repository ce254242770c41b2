"""Decode benchmark: each shared recording's format read through neuroedge, looped to >= min_events.

Also dv-processing's own AEDAT4 read and each event filter beside dv-processing's, on the same data, same run.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import dv_processing as dv
import numpy as np

from sensors.source import open_source
from sensors.types import EVENT_DTYPE

FILES = {
    "evt2": ("evt2.raw", "evt2_sample.raw"),
    "evt3": ("evt3_sample.raw",),
    "es": ("dvs.es",),
    "aedat4": ("dvs.aedat4", "evt2.aedat4", "evt2_sample.aedat4", "evt3_sample.aedat4"),
}
FILTER_EVENTS_FILE = "evt2_sample.aedat4"


def _loop(read_all, min_events: int) -> dict:
    """Call ``read_all()`` (returns events read) until min_events; millions of events per second."""
    read_all()
    events, start = 0, time.perf_counter()
    while events < min_events:
        events += read_all()
    wall_s = time.perf_counter() - start
    return {"mev_s": round(events / wall_s / 1e6, 1), "events": events, "wall_s": round(wall_s, 3)}


def _neuroedge_reader(paths: list[Path]):
    def read_all() -> int:
        n = 0
        for path in paths:
            source = open_source(path)
            while (batch := source.read()) is not None:
                n += len(batch.events)
            source.close()
        return n
    return read_all


def _dv_reader(paths: list[Path], to_numpy: bool):
    def read_all() -> int:
        n = 0
        for path in paths:
            reader = dv.io.MonoCameraRecording(str(path))
            while (store := reader.getNextEventBatch()) is not None:
                n += len(store.numpy()) if to_numpy else store.size()
        return n
    return read_all


def _write_dat(events: np.ndarray, width: int, height: int, path: Path) -> None:
    """A Prophesee DAT (CD, 8-byte records) generated from decoded events, for the DAT figure."""
    header = f"% Data file containing CD events.\n% Width {width}\n% Height {height}\n".encode()
    records = np.empty((len(events), 2), dtype="<u4")
    records[:, 0] = events["t"] - events["t"][0]
    records[:, 1] = events["x"].astype(np.uint32) | (events["y"].astype(np.uint32) << 14) | (events["p"].astype(np.uint32) << 28)
    path.write_bytes(header + bytes([0x0C, 8]) + records.tobytes())


def _all_events(path: Path) -> tuple[np.ndarray, object]:
    source = open_source(path)
    parts = []
    while (batch := source.read()) is not None:
        parts.append(batch.events.copy())
    return np.concatenate(parts, dtype=EVENT_DTYPE), source.geometry


def decode_benchmark(data_dir: Path, min_events: int) -> dict:
    """The ``bench decode`` JSON: per-format Mev/s, dv-processing's AEDAT4 read, and filter speeds."""
    events_dir = data_dir / "events"
    formats = {}
    for name, files in FILES.items():
        paths = [events_dir / f for f in files]
        formats[name] = {**_loop(_neuroedge_reader(paths), min_events), "files": list(files)}
        print(f"bench decode: {name} {formats[name]['mev_s']} Mev/s", file=sys.stderr, flush=True)
    aedat4 = [events_dir / f for f in FILES["aedat4"]]
    dv_numpy = _loop(_dv_reader(aedat4, to_numpy=True), min_events)
    dv_native = _loop(_dv_reader(aedat4, to_numpy=False), min_events)
    with tempfile.TemporaryDirectory() as tmp:
        events, geometry = _all_events(events_dir / "evt2_sample.raw")
        dat_path = Path(tmp) / "evt2_sample.dat"
        _write_dat(events, geometry.width, geometry.height, dat_path)
        formats["dat"] = {**_loop(_neuroedge_reader([dat_path]), min_events), "files": ["evt2_sample.raw as DAT (generated)"]}
    result = {
        "formats": formats,
        "dv_processing_aedat4_mev_s": dv_numpy["mev_s"],
        "dv_processing_aedat4_native_mev_s": dv_native["mev_s"],
        "min_events": min_events,
    }
    from sensors.filtering.filter_bench import filter_speeds

    events, geometry = _all_events(events_dir / FILTER_EVENTS_FILE)
    result["filters"] = {name: {key: None if value is None else round(value, 1) for key, value in figures.items()}
                         for name, figures in filter_speeds(events, geometry, min_events).items()}
    result["filters_input"] = FILTER_EVENTS_FILE
    return result
