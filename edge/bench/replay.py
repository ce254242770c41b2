"""Replay benchmark: end-to-end ``replay`` speed on a dense recording, the shared EVT2 file tiled end to end.

Builds the input itself in a temporary folder (never the repo), then times the real replay path on it.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edge.config import Config, load_config
from edge.replay import replay
from sensors.source import open_source
from sensors.types import EVENT_DTYPE, EventBatch
from sensors.formats.writers import NpyWriter

SOURCE_FILE = "evt2.raw"
"""The shared recording that is tiled (``events/`` of the data folder)."""
DEFAULT_COPIES = 50
DEFAULT_REPEATS = 5


def _log(message: str) -> None:
    print(f"bench replay: {message}", file=sys.stderr, flush=True)


def decode_all(path: Path) -> tuple[np.ndarray, object]:
    """Every event of a recording in one EVENT_DTYPE array, and its geometry."""
    source = open_source(path)
    try:
        parts = []
        while (batch := source.read()) is not None:
            parts.append(np.array(batch.events, dtype=EVENT_DTYPE))
        return np.concatenate(parts), source.geometry
    finally:
        source.close()


def write_tiled(events: np.ndarray, geometry, copies: int, path: Path) -> dict:
    """Write ``copies`` copies of ``events`` end to end as a ``.npy`` (EVENT_DTYPE) with its ``.json``
    geometry sidecar, one copy in memory at a time. Copy k is shifted by ``k * (span + 1)`` µs, where
    span is the last minus the first timestamp, so time keeps increasing across the joins."""
    t = events["t"]
    period_us = int(t[-1] - t[0]) + 1
    writer = NpyWriter(path, geometry)
    shifted = events.copy()
    try:
        for k in range(copies):
            shifted["t"] = t + k * period_us
            writer.write(EventBatch(shifted, geometry))
    finally:
        writer.close()
    return {"copies": copies, "source_events": len(events), "events": copies * len(events),
            "period_us": period_us}


def replay_benchmark(data_dir: Path, copies: int = DEFAULT_COPIES, repeats: int = DEFAULT_REPEATS,
                     config: Config | None = None, workdir: Path | None = None) -> dict:
    """The ``bench replay`` JSON: ``edge.replay.replay`` on ``copies`` tiled copies of ``evt2.raw``.

    The input is built first (decode once, tile with time shifts, write ``.npy`` + sidecar) in
    ``workdir`` or a temporary folder that is removed afterwards. One untimed replay warms up (Numba
    compilation or cache loading, page cache); compile time is therefore excluded. Then ``repeats``
    timed replays run with the default config (or ``config``); ``wall_s`` is the fastest of them (all
    are in ``wall_s_runs``), and ``mev_s = events / wall_s / 1e6``. Every run must read every event
    and give the same ``actions_sha256``, else RuntimeError.
    """
    if copies < 1:
        raise ValueError(f"bench replay: copies must be >= 1, got {copies}")
    if repeats < 1:
        raise ValueError(f"bench replay: repeats must be >= 1, got {repeats}")
    config = config or load_config(None)
    source = data_dir / "events" / SOURCE_FILE
    with tempfile.TemporaryDirectory(prefix="neuroedge-bench-replay-", dir=workdir) as tmp:
        path = Path(tmp) / f"{source.stem}_x{copies}.npy"
        start = time.perf_counter()
        events, geometry = decode_all(source)
        tiled = write_tiled(events, geometry, copies, path)
        del events
        build_s = time.perf_counter() - start
        _log(f"built {path.name}: {tiled['events']} events ({copies} x {SOURCE_FILE}) in {build_s:.2f} s")
        seed = config.run.seed
        replay(str(path), config, seed, speed=None)
        _log("warm-up replay done")
        runs = []
        for i in range(repeats):
            runs.append(replay(str(path), config, seed, speed=None))
            _log(f"run {i + 1}/{repeats}: {runs[-1]['wall_s']} s")
    for run in runs:
        if run["events"] != tiled["events"]:
            raise RuntimeError(f"bench replay: replay read {run['events']} events, the input has {tiled['events']}")
    if len({run["actions_sha256"] for run in runs}) != 1:
        raise RuntimeError("bench replay: repeated replays of the same input gave different actions")
    best = min(runs, key=lambda run: run["wall_s"])
    wall_s = best["wall_s"]
    duration_s = best["duration_us"] * 1e-6
    block_ticks = config.run.block_ticks
    return {
        "bench": "replay",
        "input": f"{SOURCE_FILE} x{copies}, tiled end to end with time shifts of {tiled['period_us']} us, as .npy",
        "source": str(source.resolve()),
        "format": best["format"],
        "copies": copies,
        "source_events": tiled["source_events"],
        "events": best["events"],
        "duration_us": best["duration_us"],
        "wall_s": wall_s,
        "mev_s": round(best["events"] / wall_s / 1e6, 1),
        "realtime_factor": round(duration_s / wall_s, 2),
        "wall_s_runs": [run["wall_s"] for run in runs],
        "repeats": repeats,
        "warmup": True,
        "compile_excluded": True,
        "build_s": round(build_s, 3),
        "dt_us": config.run.dt_us,
        "block_ticks": block_ticks,
        "blocks": best["ticks"] // block_ticks,
        "ticks": best["ticks"],
        "actions": best["actions"],
        "actions_sha256": best["actions_sha256"],
        "backend": best["backend"],
        "seed": best["seed"],
    }
