"""edge.bench.brian2_compare: generated Brian2 scripts, argument checks and venv handling, without Brian2.

The tests that really run Brian2 need its venv and NEUROEDGE_BRIAN2_TESTS=1 (about 25 s each).
"""
from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pytest

from edge.bench import brian2_compare as bc
from edge.bench.engine import compare_brian2, merge_brian2
from edge.bench.venvs import last_line


def _params(script: str) -> dict:
    """The PARAMS literal of a generated script."""
    for node in ast.parse(script).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "PARAMS":
            return ast.literal_eval(node.value)
    raise AssertionError("no PARAMS in the generated script")


@pytest.mark.parametrize("workload,n", [("cuba", 4000), ("cuba", 40000), ("cuba", None), ("stdp", None)])
def test_script_compiles_and_is_standalone_single_thread(workload, n):
    script = bc.brian2_script(workload, n)
    compile(script, f"<brian2 {workload}>", "exec")
    assert 'set_device("cpp_standalone", directory=PROJECT_DIR, build_on_run=False)' in script
    assert "openmp_threads = 0" in script
    assert 'b2.seed(PARAMS["seed"])' in script
    assert 'method="exact"' in script
    assert "SpikeMonitor" in script
    assert "device._last_run_time" in script
    assert "(unless refractory)" in script
    assert "import neuroedge" not in script and "from edge" not in script


def test_cuba_constants():
    params = _params(bc.brian2_script("cuba", 40000))
    assert params["n"] == 40000
    assert params["k_in"] / params["n"] == pytest.approx(0.002)
    assert params["we_mv"] == pytest.approx(60 * 0.27 / 10)
    assert params["wi_mv"] == pytest.approx(-20 * 4.5 / 10)
    expected = {"exc_fraction": 0.8, "taum_ms": 20.0, "taue_ms": 5.0, "taui_ms": 10.0, "vt_mv": -50.0,
                "vr_mv": -60.0, "el_mv": -49.0, "refractory_ms": 5.0, "dt_ms": 0.1, "duration_s": 1.0, "seed": 42}
    assert {k: params[k] for k in expected} == expected
    assert _params(bc.brian2_script("cuba", None))["n"] == 4000
    script = bc.brian2_script("cuba", 4000)
    assert "dv/dt = (ge + gi - (v - El)) / taum" in script
    assert "dge/dt = -ge / taue" in script and "dgi/dt = -gi / taui" in script
    assert 'P.v = "Vr + rand() * (Vt - Vr)"' in script


def test_stdp_constants_and_rule():
    script = bc.brian2_script("stdp", None)
    params = _params(script)
    expected = {"n_input": 784, "n_exc": 400, "rate_max_hz": 63.75, "taum_ms": 100.0, "taue_ms": 5.0,
                "taui_ms": 10.0, "v_rest_mv": -65.0, "v_reset_mv": -65.0, "v_thresh_mv": -52.0,
                "refractory_ms": 5.0, "wmax_mv": 0.5, "taupre_ms": 20.0, "taupost_ms": 20.0,
                "dapre_per_wmax": 0.01, "dapost_per_dapre": -1.05, "w_inh_mv": -0.5, "dt_ms": 0.5,
                "duration_s": 10.0, "seed": 42}
    assert params == expected
    # numpy draws in the WORKLOADS.md order: rates, then weights (784, 400), then v0.
    rates = script.index('rng.uniform(0.0, PARAMS["rate_max_hz"], N_IN)')
    weights = script.index('rng.uniform(0.0, PARAMS["wmax_mv"], (N_IN, N_EXC))')
    v0 = script.index('rng.uniform(PARAMS["v_reset_mv"], PARAMS["v_thresh_mv"], N_EXC)')
    assert script.index("np.random.default_rng(PARAMS[\"seed\"])") < rates < weights < v0
    pre = "ge_post += w\nApre += dApre\nw = clip(w + Apost, 0 * mV, wmax)\n"
    post = "Apost += dApost\nw = clip(w + Apre, 0 * mV, wmax)\n"
    assert pre in script and post in script
    assert 'on_pre="gi_post += w_inh"' in script and 'connect(condition="i != j")' in script
    assert "plastic.w = w0_mv.ravel() * mV" in script
    assert "np.repeat(np.arange(N_IN), N_EXC)" in script and "np.tile(np.arange(N_EXC), N_IN)" in script


@pytest.mark.parametrize("workload,n,match", [
    ("lif", 4000, "unknown workload 'lif'; expected one of cuba, stdp"),
    ("CUBA", 4000, "unknown workload"),
    ("cuba", 50, "cuba needs an integer n >= 80"),
    ("cuba", 4000.0, "cuba needs an integer n"),
    ("cuba", True, "cuba needs an integer n"),
    ("stdp", 1000, "stdp has a fixed size"),
])
def test_bad_arguments_raise_value_error(workload, n, match):
    with pytest.raises(ValueError, match=match):
        bc.brian2_script(workload, n)
    with pytest.raises(ValueError, match=match):
        bc.brian2_wall_s(workload, n)


@pytest.mark.parametrize("repeats", [0, -1, 2.0])
def test_bad_repeats(repeats):
    with pytest.raises(ValueError, match="repeats must be an integer >= 1"):
        bc.brian2_wall_s("cuba", 4000, repeats=repeats)


def test_venv_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("NEUROEDGE_BRIAN2_VENV", raising=False)
    assert bc.brian2_venv_dir() == Path.home() / ".cache" / "neuroedge" / "brian2-venv"
    monkeypatch.setenv("NEUROEDGE_BRIAN2_VENV", str(tmp_path / "b2"))
    assert bc.brian2_venv_dir() == tmp_path / "b2"


def test_wall_s_without_venv_is_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROEDGE_BRIAN2_VENV", str(tmp_path / "missing"))
    with pytest.raises(bc.Brian2Error, match="call ensure_brian2_venv") as info:
        bc.brian2_wall_s("stdp", None)
    assert "\n" not in str(info.value)


def test_ensure_needs_compiler(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROEDGE_BRIAN2_VENV", str(tmp_path / "b2"))
    monkeypatch.setattr(bc.shutil, "which", lambda tool: None if tool == "g++" else "/usr/bin/" + tool)
    with pytest.raises(bc.Brian2Error, match="needs 'g\\+\\+' on PATH"):
        bc.ensure_brian2_venv(log=lambda msg: None)
    assert not (tmp_path / "b2").exists()


def test_ensure_reuses_working_venv(monkeypatch, tmp_path):
    """A venv whose python answers ``import brian2`` is reused, not reinstalled (fake python here)."""
    venv = tmp_path / "b2"
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\necho 2.9.0\n")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("NEUROEDGE_BRIAN2_VENV", str(venv))
    monkeypatch.setattr(bc.shutil, "which", lambda tool: "/usr/bin/" + tool)
    messages = []
    assert bc.ensure_brian2_venv(log=messages.append) == venv
    assert messages == [f"brian2: reusing {venv} (Brian2 2.9.0)"]


def test_wall_s_failure_is_one_line_error(monkeypatch, tmp_path):
    """A failing Brian2 run reports the last stderr line and keeps its work directory (fake python here)."""
    venv = tmp_path / "b2"
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\necho 'Traceback ...' >&2\n"
                      "echo 'RuntimeError: Project compilation failed' >&2\nexit 1\n")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("NEUROEDGE_BRIAN2_VENV", str(venv))
    monkeypatch.setattr(bc.tempfile, "mkdtemp", lambda prefix: str(tmp_path / "work"))
    (tmp_path / "work").mkdir()
    with pytest.raises(bc.Brian2Error) as info:
        bc.brian2_wall_s("cuba", 4000, log=lambda msg: None)
    message = str(info.value)
    kept = tmp_path / "work"
    assert message == f"brian2 cuba N=4000 failed: RuntimeError: Project compilation failed (kept {kept})"
    assert "PARAMS = " in (tmp_path / "work" / "workload.py").read_text()


def test_last_line():
    assert last_line("a\nERROR: no such thing\n\n") == "ERROR: no such thing"
    assert last_line("") == "(no output)"


# --- the speed-up: edge.bench.engine.merge_brian2 / compare_brian2, without Brian2 ------------------------

OURS = {"workload": "W1 CUBA", "backend": "numba?dtype=float32", "dtype": "float32", "wall_s": 0.25,
        "cpu_s": 0.3, "rate_hz": 5.7, "seed": 0}
THEIRS = {"brian2_wall_s": 1.0, "brian2_build_s": 9.5, "brian2_compile_s": 8.0, "brian2_binary_wall_s": 1.2,
          "brian2_loop_s_runs": [1.0, 0.9, 1.1], "brian2_version": "2.9.0", "brian2_rate_hz": 5.6}


def test_merge_brian2_is_processor_time_over_processor_time():
    ours, theirs = dict(OURS), dict(THEIRS)
    merged = merge_brian2(ours, theirs)
    assert merged == {**OURS, **THEIRS, "speedup_vs_brian2": 3.33}  # 1.0 / 0.3, not 1.0 / 0.25 (wall_s) = 4.0
    assert list(merged)[-1] == "speedup_vs_brian2"
    assert ours == OURS and theirs == THEIRS  # inputs untouched


@pytest.mark.parametrize("brian2_s, cpu_s, speedup", [
    (1.0, 0.3, 3.33),        # 3.333... rounds down
    (2.0, 0.3, 6.67),        # 6.666... rounds up
    (1.5, 0.5, 3.0),
    (12.3456, 1.0, 12.35),
    (0.123, 0.0411, 2.99),   # 2.9927...
    (0.02, 0.3, 0.07),       # Brian2 faster: a speed-up below 1
    (0.001, 0.3, 0.0),       # 0.0033...: rounds to 0.0, still a number
    (40.0, 0.0123, 3252.03),  # 3252.0325...
])
def test_merge_brian2_speedup_hand_numbers(brian2_s, cpu_s, speedup):
    merged = merge_brian2({**OURS, "cpu_s": cpu_s}, {**THEIRS, "brian2_wall_s": brian2_s})
    assert merged["speedup_vs_brian2"] == speedup
    assert (merged["cpu_s"], merged["brian2_wall_s"], merged["wall_s"]) == (cpu_s, brian2_s, OURS["wall_s"])


def test_merge_brian2_without_processor_time_gives_none_and_refuses_overwrites():
    assert merge_brian2({**OURS, "cpu_s": 0.0}, THEIRS)["speedup_vs_brian2"] is None
    with pytest.raises(ValueError, match="would overwrite cpu_s, rate_hz"):
        merge_brian2(OURS, {**THEIRS, "rate_hz": 1.0, "cpu_s": 9.0})


FAKE_BRIAN2_PYTHON = r"""#!/bin/sh
# stands in for the Brian2 venv's python: answers the version probe; for a workload script (argv: script
# project repeats result_json) writes a result in the precision the script asks for
if [ "$1" = "-c" ]; then echo 2.9.0; exit 0; fi
dtype=$(sed -n 's/^FLOAT_DTYPE = "\(.*\)"$/\1/p' "$1")
[ -n "$dtype" ] || dtype=float64
cat > "$4" <<EOF
{"brian2_wall_s": 1.0, "brian2_build_s": 9.5, "brian2_compile_s": 8.0, "brian2_binary_wall_s": 1.2,
 "brian2_loop_s_runs": [1.0, 0.9, 1.1], "brian2_version": "2.9.0", "brian2_rate_hz": 5.6, "brian2_dtype": "$dtype"}
EOF
"""


def test_compare_brian2_adds_their_result_and_the_processor_time_speedup(monkeypatch, tmp_path):
    """compare_brian2 end to end with a stand-in for the Brian2 venv (a shell script, no Brian2)."""
    venv = tmp_path / "b2"
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_BRIAN2_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("NEUROEDGE_BRIAN2_VENV", str(venv))
    monkeypatch.setattr(bc.shutil, "which", lambda tool: "/usr/bin/" + tool)
    messages = []
    merged = compare_brian2(dict(OURS), "cuba", 4000, log=messages.append)
    assert {k: merged[k] for k in OURS} == OURS
    assert merged["brian2_wall_s"] == 1.0 and merged["brian2_version"] == "2.9.0"
    assert merged["speedup_vs_brian2"] == 3.33
    assert merged["brian2_dtype"] == OURS["dtype"]  # Brian2 was asked for our precision: like with like
    assert messages[0] == f"brian2: reusing {venv} (Brian2 2.9.0)"


_REAL = pytest.mark.skipif(
    os.environ.get("NEUROEDGE_BRIAN2_TESTS") != "1" or not (bc.brian2_venv_dir() / "bin" / "python").is_file(),
    reason="needs the Brian2 venv (ensure_brian2_venv) and NEUROEDGE_BRIAN2_TESTS=1")


@_REAL
def test_real_cuba_small():
    result = bc.brian2_wall_s("cuba", 4000, repeats=1, log=lambda msg: None)
    assert result["brian2_version"].startswith("2.9")
    assert 0 < result["brian2_wall_s"] <= result["brian2_binary_wall_s"]
    assert 5.0 < result["brian2_rate_hz"] < 6.2
    assert "brian2_final_mean_weight_mv" not in result


@_REAL
def test_real_stdp():
    result = bc.brian2_wall_s("stdp", None, repeats=1, log=lambda msg: None)
    assert 6.4 < result["brian2_rate_hz"] < 7.0
    assert 0.22 < result["brian2_final_mean_weight_mv"] < 0.27
    assert result["brian2_n_synapses"] == 784 * 400 + 400 * 399
