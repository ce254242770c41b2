"""lif_run (hw/emulator/lif_reference.py) against a plain-Python loop, and against Lava 0.10's bit-accurate LIF
when the Lava venv exists (edge/bench/lava_compare.py; never built here)."""
from __future__ import annotations

import numpy as np
import pytest

from edge.bench import lava_compare
from edge.bench.lava_compare import CASE_KINDS, coverage, first_difference, random_cases, reference_run
from hw.emulator.lif_reference import lif_run

HALF = 1 << 23
TOP = HALF - 1


def py_lif(u0, v0, a_in, du, dv, bias_mant, bias_exp, vth, refractory=0):
    """Lava PyLifModelBitAcc.subthr_dynamics + spiking_activation + reset, one compartment at a time, in
    Python ints; plus our refractory hold (v = 0, no spike for ``refractory`` ticks after a spike)."""
    ticks, n = len(a_in), len(a_in[0])
    per = lambda x: [int(x)] * n if np.ndim(x) == 0 else [int(y) for y in x]  # noqa: E731
    u0, v0, bias_mant, bias_exp, vth, refractory = map(per, (u0, v0, bias_mant, bias_exp, vth, refractory))

    def decay(x, keep):
        prod = x * keep
        return ((prod > 0) - (prod < 0)) * (abs(prod) >> 12)

    out = [[[0] * n for _ in range(ticks)] for _ in range(3)]
    for i in range(n):
        u, v, hold = u0[i], v0[i], 0
        bias = bias_mant[i] << bias_exp[i] if bias_exp[i] >= 0 else bias_mant[i] >> -bias_exp[i]
        for t in range(ticks):
            x = decay(u, 4096 - (du + 1)) + (int(a_in[t][i]) << 6)
            w = x - 2 * HALF if x > HALF else x
            u = x + 2 * HALF if w <= -HALF else w
            spike = 0
            if hold > 0:
                hold -= 1
                v = 0
            else:
                v = min(max(decay(v, 4096 - dv) + u + bias, -TOP), TOP)
                if v > vth[i] << 6:
                    spike, v, hold = 1, 0, refractory[i]
            out[0][t][i], out[1][t][i], out[2][t][i] = u, v, spike
    return [np.array(o, dtype=np.int64) for o in out]


@pytest.mark.parametrize("seed", range(3))
def test_lif_run_matches_python_loop_on_random_cases(seed):
    for case in random_cases(2 * len(CASE_KINDS), seed):
        for refractory in (0, 1, 5):
            got = lif_run(case["u0"], case["v0"], case["a_in"], case["du"], case["dv"], case["bias_mant"],
                          case["bias_exp"], case["vth"], refractory)
            want = py_lif(case["u0"], case["v0"], case["a_in"], case["du"], case["dv"], case["bias_mant"],
                          case["bias_exp"], case["vth"], refractory)
            for name, g, w in zip("uvs", got, want):
                assert g.dtype == np.int64 and g.shape == (case["T"], case["n"])
                np.testing.assert_array_equal(g, w, err_msg=f"{case['kind']} refractory={refractory} {name}")


def test_random_cases_cover_wrap_saturation_negative_inputs_and_bias():
    totals = {}
    for case in random_cases(len(CASE_KINDS) * 4, 0):
        for key, count in coverage(case, reference_run(case)).items():
            totals[key] = totals.get(key, 0) + count
    for key in ("u_wraps", "v_saturations_pos", "v_saturations_neg", "spikes", "negative_inputs",
                "bias_on_compartments", "bias_off_compartments"):
        assert totals[key] > 0, (key, totals)
    kinds = [c["kind"] for c in random_cases(len(CASE_KINDS), 1)]
    assert kinds == list(CASE_KINDS)


def test_wrap_boundary_case_hits_both_edges():
    case = next(c for c in random_cases(len(CASE_KINDS), 0) if c["kind"] == "wrap_boundary")
    u = reference_run(case)["u"][0]
    assert list(u) == [HALF, HALF, -HALF + 1, -HALF + 1]


def test_refractory_holds_v_while_u_integrates():
    a_in = np.full((12, 1), 200, dtype=np.int64)
    u0, v0, s0 = lif_run(0, 0, a_in, 0, 0, 0, 0, 300, 0)
    u3, v3, s3 = lif_run(0, 0, a_in, 0, 0, 0, 0, 300, 3)
    np.testing.assert_array_equal(u0, u3)                      # the current is not affected by refractoriness
    first = int(np.flatnonzero(s3[:, 0])[0])
    assert np.all(v3[first:first + 4, 0] == 0) and not s3[first + 1:first + 4, 0].any()
    assert s0.sum() > s3.sum()


def test_lif_run_validates():
    a = np.zeros((3, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="du"):
        lif_run(0, 0, a, 4096, 0, 0, 0, 1)
    with pytest.raises(ValueError, match="a_in"):
        lif_run(0, 0, a.astype(float), 0, 0, 0, 0, 1)
    with pytest.raises(ValueError, match="bias_mant"):
        lif_run(0, 0, a, 0, 0, np.zeros(3, dtype=np.int64), 0, 1)
    with pytest.raises(ValueError, match="refractory"):
        lif_run(0, 0, a, 0, 0, 0, 0, 1, -1)


def test_first_difference_names_tick_compartment_and_variable():
    case = random_cases(1, 0)[0]
    ours = reference_run(case)
    theirs = {k: v.tolist() for k, v in ours.items()}
    assert first_difference(0, case, ours, theirs) is None
    theirs["v"][2][0] += 1
    msg = first_difference(0, case, ours, theirs)
    assert "v at tick 2 compartment 0" in msg and "\n" not in msg


def test_missing_venv_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROEDGE_LAVA_VENV", str(tmp_path / "none"))
    assert not lava_compare.lava_available()
    with pytest.raises(lava_compare.LavaError, match="ensure_lava_venv") as err:
        lava_compare.compare_lif(2, 0, log=lambda m: None, build_venv=False)
    assert "\n" not in str(err.value)


def test_no_python310_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(lava_compare, "python310_candidates", lambda: ["/nonexistent/python3.10"])
    with pytest.raises(lava_compare.LavaError, match="no Python 3.10") as err:
        lava_compare.find_python310()
    assert "\n" not in str(err.value)


@pytest.mark.skipif(not lava_compare.lava_available(),
                    reason="no Lava venv (create it with: neuroedge bench emulator --compare lava)")
def test_bit_exact_with_lava():
    result = lava_compare.compare_lif(len(CASE_KINDS) * 3, seed=7, log=lambda m: None, build_venv=False)
    assert result["first_mismatch"] is None
    assert result["lava_bit_exact"] is True and result["lava_cases"] == len(CASE_KINDS) * 3
    assert result["lava_version"].startswith("0.10") and result["lava_model"] == "PyLifModelBitAcc"
    cov = result["lava_coverage"]
    assert cov["u_wraps"] > 0 and cov["v_saturations_neg"] > 0 and cov["spikes"] > 0
