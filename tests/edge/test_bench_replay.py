"""``bench replay``: the tiled input it builds, and its JSON on a small tiling of the shared EVT2 file.

No timing is asserted: the figures depend on the machine."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402

from edge.bench.replay import SOURCE_FILE, decode_all, replay_benchmark, write_tiled  # noqa: E402
from edge.cli import main  # noqa: E402
from sensors.formats.npy_events import NpyEventsSource  # noqa: E402
from sensors.types import EVENT_DTYPE, Geometry  # noqa: E402

KEYS = {"events", "wall_s", "mev_s", "realtime_factor", "input", "blocks", "actions_sha256", "compile_excluded",
        "copies", "source_events", "duration_us", "wall_s_runs", "backend"}


def evt2_path() -> Path:
    path = helpers.data_dir() / "events" / SOURCE_FILE
    if not path.is_file():
        pytest.skip(f"recording {path} not available (set NEUROEDGE_DATA)")
    return path


def test_tiled_copies_follow_each_other_in_time(tmp_path):
    events = np.zeros(5, dtype=EVENT_DTYPE)
    events["t"] = [100, 100, 103, 107, 110]
    events["x"], events["y"], events["p"] = [0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [1, 0, 1, 0, 1]
    path = tmp_path / "tiled.npy"
    info = write_tiled(events, Geometry(5, 5), 3, path)
    assert info == {"copies": 3, "source_events": 5, "events": 15, "period_us": 11}
    source = NpyEventsSource(path)  # geometry from the sidecar
    assert source.geometry == Geometry(5, 5)
    tiled = source.read().events
    assert source.read() is None
    assert tiled["t"].tolist() == [t + 11 * k for k in range(3) for t in [100, 100, 103, 107, 110]]
    for field in "xyp":
        assert np.array_equal(tiled[field], np.tile(events[field], 3))


def test_replay_benchmark_on_two_copies_reads_every_event(tmp_path):
    source_events = len(decode_all(evt2_path())[0])
    result = replay_benchmark(helpers.data_dir(), copies=2, repeats=2, workdir=tmp_path)
    assert KEYS <= set(result)
    assert result["copies"] == 2 and result["source_events"] == source_events
    assert result["events"] == 2 * source_events
    assert result["mev_s"] == round(result["events"] / result["wall_s"] / 1e6, 1)
    assert result["wall_s"] == min(result["wall_s_runs"]) and len(result["wall_s_runs"]) == 2
    assert result["blocks"] * result["block_ticks"] == result["ticks"] == result["actions"] * result["block_ticks"]
    assert result["compile_excluded"] is True and result["format"] == "npy"
    assert list(tmp_path.iterdir()) == []  # the built input is removed


def test_bench_replay_cli_prints_one_json_line_last(capsys):
    data = evt2_path().parent.parent
    assert main(["bench", "replay", "--copies", "1", "--repeats", "1", "--data", str(data), "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out.strip().splitlines()[-1])
    assert KEYS <= set(result) and result["copies"] == 1
    assert "bench replay:" in err  # progress goes to stderr


def test_replay_benchmark_refuses_no_copies(tmp_path):
    with pytest.raises(ValueError, match="copies"):
        replay_benchmark(tmp_path, copies=0)
