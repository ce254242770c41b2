"""``neuroedge map`` and ``neuroedge compile`` as subprocesses: the JSON mapping, the one-line refusal of a
network that does not fit (exit 2), and a core image that reads back."""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402

from hw.emulator.image import read_image  # noqa: E402

TRACKING = helpers.REPO / "launch" / "networks" / "tracking_stdp.toml"
TOO_WIDE = """
[network]
readout = "out"
[[network.populations]]
name = "in"
size = 5000
kind = "input"
[[network.populations]]
name = "out"
size = 10
[[network.projections]]
name = "in_out"
pre = "in"
post = "out"
connect = "all_to_all"
weight_mv = 0.5
"""


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_map_json_of_the_tracking_network_fits(tmp_path):
    result = helpers.run_cli(["map", TRACKING, "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    report = last_json(result.stdout)
    assert report["fits"] is True and report["cores"] >= 1 and len(report["per_core"]) == report["cores"]
    assert set(report["limits"]) == {"compartments", "in_axons", "out_axons", "synapse_words"}
    for core in report["per_core"]:
        assert {"compartments", "in_axons", "out_axons", "synapse_words", "populations"} <= set(core)
        assert all(core[k] <= report["limits"][k] for k in report["limits"])
    assert sum(c["compartments"] for c in report["per_core"]) == 64 + 32


def test_map_table_of_a_built_in(tmp_path):
    result = helpers.run_cli(["map", "w2"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "loihi cores, fits" in result.stdout.splitlines()[-1]


def test_a_network_that_does_not_fit_exits_2_with_one_line(tmp_path):
    net = tmp_path / "wide.toml"
    net.write_text(TOO_WIDE)
    result = helpers.run_cli(["map", net, "--json"], tmp_path)
    lines = helpers.stderr_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "axon" in lines[0] and "4096" in lines[0] and "5000" in lines[0] and "core 0" in lines[0]
    assert last_json(result.stdout)["fits"] is False


def test_an_unknown_network_exits_2_with_one_line(tmp_path):
    result = helpers.run_cli(["map", "no_such_network"], tmp_path)
    lines = helpers.stderr_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1 and "no_such_network" in lines[0]


def test_compile_writes_an_image_that_reads_back(tmp_path):
    out = tmp_path / "tracking.npz"
    result = helpers.run_cli(["compile", TRACKING, "-o", out, "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    summary = last_json(result.stdout)
    arrays, meta = read_image(out)
    assert meta["profile"] == "loihi" and meta["network_sha256"] == summary["network_sha256"]
    assert meta["mapping"]["fits"] is True and meta["mapping"]["cores"] == summary["cores"]
    assert {"row_ptr", "syn_pre", "syn_post", "weight_mv", "pop_params", "map_neuron_lo", "map_neuron_hi",
            "map_ranges"} <= set(arrays)
    assert int(arrays["map_neuron_lo"][0]) == 128 and int(arrays["map_neuron_hi"][-1]) == 128 + 64 + 32
    assert np.all(arrays["syn_post"] >= 128)


def test_compile_refuses_a_network_that_does_not_fit(tmp_path):
    net = tmp_path / "wide.toml"
    net.write_text(TOO_WIDE)
    result = helpers.run_cli(["compile", net, "-o", tmp_path / "wide.npz"], tmp_path)
    lines = helpers.stderr_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1 and "in_axons" in lines[0]
    assert not (tmp_path / "wide.npz").exists()


def test_map_and_compile_have_help(tmp_path):
    for command in ("map", "compile"):
        result = helpers.run_cli([command, "--help"], tmp_path)
        assert result.returncode == 0 and "NET" in result.stdout
