"""``bench tracking``: the reference controller's weight-scale sweep and the JSON it reports, on tiny runs.

No on-target level is asserted (2 simulated seconds learn nothing); only the keys and the bookkeeping."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from edge.bench.tracking import REFERENCE_W_MV, reference_scales, tracking_benchmark, w_key
from edge.cli import main
from edge.config import load_config

KEYS = {"on_target_learning", "on_target_frozen", "on_target_reference", "reference_w_mv_best",
        "on_target_reference_by_w_mv", "per_seed", "seeds", "sim_seconds", "final_window_s",
        "on_target_window_half_px", "runs", "wall_s", "compile_s", "realtime_factor",
        "realtime_factor_per_process", "jobs", "cpu_count"}


def check_summary(summary: dict, scales: tuple[float, ...], seeds: int) -> None:
    assert KEYS <= set(summary)
    by_w = summary["on_target_reference_by_w_mv"]
    assert list(by_w) == [w_key(w) for w in scales]
    best = summary["reference_w_mv_best"]
    assert best in scales
    assert summary["on_target_reference"] == by_w[w_key(best)] == max(by_w.values())
    assert best == min(w for w in scales if by_w[w_key(w)] == max(by_w.values()))  # ties: the smallest scale
    assert summary["runs"] == seeds * (2 + len(scales))
    assert len(summary["per_seed"]) == seeds
    for row in summary["per_seed"]:
        assert set(row) == {"seed", "learning", "frozen", "reference", "reference_by_w_mv"}
        assert list(row["reference_by_w_mv"]) == list(by_w)
        assert row["reference"] == row["reference_by_w_mv"][w_key(best)]
        assert all(0.0 <= v <= 1.0 for v in (row["learning"], row["frozen"], *row["reference_by_w_mv"].values()))
    for key in by_w:
        assert by_w[key] == pytest.approx(np.median([r["reference_by_w_mv"][key] for r in summary["per_seed"]]))
    assert summary["on_target_reference"] == pytest.approx(np.median([r["reference"] for r in summary["per_seed"]]))


def test_scales_include_the_configs_own():
    config = load_config(None)
    assert reference_scales(config) == tuple(sorted({*REFERENCE_W_MV, config.network.reference_w_mv}))
    custom = replace(config, network=replace(config.network, reference_w_mv=25.0))
    assert reference_scales(custom, (40, 10, 10.0)) == (10.0, 25.0, 40.0)
    with pytest.raises(ValueError, match="must be > 0 mV"):
        reference_scales(config, (0.0, 10.0))
    assert [w_key(w) for w in (10.0, 12.5, 60)] == ["10", "12.5", "60"]


def test_sweep_reports_the_best_scale():
    config = load_config(None)
    result = tracking_benchmark(config, seeds=2, sim_seconds=2.0, final_s=1.0, jobs=2)
    summary = result["summary"]
    check_summary(summary, reference_scales(config), seeds=2)
    json.dumps(summary)  # JSON-able as it is
    assert set(result["curves"]) == {"learning", "frozen", "reference"}
    assert all(len(curve) == 2 for curve in result["curves"].values())


def test_cli_json_line(capsys):
    assert main(["bench", "tracking", "--json", "--seeds", "1", "--sim-seconds", "2", "--final-seconds", "1",
                 "--jobs", "1"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    check_summary(summary, reference_scales(load_config(None)), seeds=1)
