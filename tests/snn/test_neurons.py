"""The LIF kernels the engine runs per tick (snn.engine.kernel.run_ticks: lif_add_noise, then
snn.engine.neuron_models.lif_exact_integrate, then spikes_from_flags) against a plain-Python reference (naive.lif) and
against the closed-form LIF physics."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.lif import exact_gain_ref, lif_integrate_ref, lif_noise_ref, lif_threshold_ref  # noqa: E402
from naive.rng import XorShift64Star  # noqa: E402
from snn.codes import (  # noqa: E402
    P_DECAY_EXC, P_DECAY_INH, P_DECAY_MEM, P_K_EXC, P_K_INH, P_NOISE, P_REFRACTORY, P_V_RESET, P_V_REST, P_V_TH,
)
from snn.engine.kernel import FLAG_BLOCK_BYTES, lif_add_noise, spikes_from_flags  # noqa: E402


def lif_threshold(v, refractory_left, lo, hi, v_th, v_reset, refractory_ticks, spiked, n_spiked):
    """The engine's threshold step: flags (as lif_exact_integrate writes them), then spikes_from_flags."""
    fired = np.zeros(-(-len(v) // FLAG_BLOCK_BYTES) * FLAG_BLOCK_BYTES, dtype=np.uint8)
    fired[lo:hi] = v[lo:hi] >= v_th
    return spikes_from_flags(fired, v, refractory_left, lo, hi, v_reset, refractory_ticks, spiked, n_spiked)
from snn.engine.neuron_models import lif_exact_integrate as lif_integrate  # noqa: E402  (what run_ticks calls)
from snn.compile import lif_row  # noqa: E402
from snn.rng import make_rng_state  # noqa: E402
from snn.spec import LIFParams  # noqa: E402

DT_MS = 1.0
STATE = ("v", "g_exc", "g_inh", "refractory_left")


def make_neurons(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "v": rng.uniform(-2.0, 9.0, n),
        "g_exc": rng.uniform(0.0, 60.0, n),
        "g_inh": rng.uniform(-30.0, 0.0, n),
        "refractory_left": rng.integers(0, 3, n).astype(np.int32),
    }


def integrate_args(p: LIFParams) -> tuple[float, ...]:
    """(v_rest, v_reset, decay_mem, k_exc, k_inh, decay_exc, decay_inh) computed here from the closed forms."""
    return (p.v_rest_mv, p.v_reset_mv, math.exp(-DT_MS / p.tau_mem_ms),
            exact_gain_ref(DT_MS, p.tau_mem_ms, p.tau_exc_ms),
            exact_gain_ref(DT_MS, p.tau_mem_ms, p.tau_inh_ms), math.exp(-DT_MS / p.tau_exc_ms),
            math.exp(-DT_MS / p.tau_inh_ms))


@pytest.mark.parametrize("tau_mem_ms,tau_exc_ms,tau_inh_ms", [(20.0, 5.0, 8.0), (10.0, 10.0, 3.0), (4.0, 5.0, 30.0)])
def test_lif_row_matches_the_closed_forms(tau_mem_ms, tau_exc_ms, tau_inh_ms):
    p = LIFParams(tau_mem_ms=tau_mem_ms, tau_exc_ms=tau_exc_ms, tau_inh_ms=tau_inh_ms, v_rest_mv=-1.0,
                  v_reset_mv=-3.0, v_th_mv=7.0, refractory_ms=3.0, noise_mv=0.5)
    row = lif_row(p, DT_MS)
    v_rest, v_reset, decay_mem, k_exc, k_inh, decay_exc, decay_inh = integrate_args(p)
    assert (row[P_V_REST], row[P_V_RESET], row[P_V_TH], row[P_REFRACTORY], row[P_NOISE]) == (-1.0, -3.0, 7.0, 3, 0.5)
    np.testing.assert_allclose(
        [row[P_DECAY_MEM], row[P_K_EXC], row[P_K_INH], row[P_DECAY_EXC], row[P_DECAY_INH]],
        [decay_mem, k_exc, k_inh, decay_exc, decay_inh], rtol=1e-12, atol=0)
    # the equal-tau gain is the limit of the general one
    assert exact_gain_ref(DT_MS, 10.0, 10.0) == pytest.approx(exact_gain_ref(DT_MS, 10.0, 10.0 + 1e-6), rel=1e-6)


@pytest.mark.parametrize("noise_mv", [0.0, 2.0])
@pytest.mark.parametrize("lo,hi", [(0, 70), (3, 67)])
def test_lif_kernels_match_reference(noise_mv, lo, hi):
    """70 neurons (more than one 64-neuron threshold chunk), noise -> integrate -> threshold as run_ticks does."""
    gen = np.random.default_rng(42)
    n = 70
    p = LIFParams(tau_mem_ms=12.0, tau_exc_ms=4.0, tau_inh_ms=9.0, v_rest_mv=0.5, v_reset_mv=-1.5, v_th_mv=10.0,
                  refractory_ms=2.0, noise_mv=noise_mv)
    args = integrate_args(p)
    fast = make_neurons(n, gen)
    slow = {k: v.tolist() for k, v in fast.items()}
    rng_state = make_rng_state(9)
    ref_rng = XorShift64Star(int(rng_state[0]))
    spiked = np.full(n + 3, -1, dtype=np.int32)
    n_fired_total = 0
    for tick in range(60):
        if tick % 7 == 0:  # kick the inputs now and then so neurons keep firing
            kick_exc, kick_inh = gen.uniform(0.0, 80.0, n), gen.uniform(-10.0, 0.0, n)
            fast["g_exc"] += kick_exc
            fast["g_inh"] += kick_inh
            slow["g_exc"] = [a + b for a, b in zip(slow["g_exc"], kick_exc.tolist())]
            slow["g_inh"] = [a + b for a, b in zip(slow["g_inh"], kick_inh.tolist())]
        if noise_mv > 0.0:
            lif_add_noise(fast["v"], fast["refractory_left"], lo, hi, noise_mv, rng_state)
            lif_noise_ref(slow["v"], slow["refractory_left"], lo, hi, noise_mv, ref_rng)
        lif_integrate(*(fast[k] for k in STATE), lo, hi, *args)
        lif_integrate_ref(*(slow[k] for k in STATE), lo, hi, *args)
        spiked[:3] = [101, 102, 103]  # entries before n_spiked must be kept
        n_out = lif_threshold(fast["v"], fast["refractory_left"], lo, hi, p.v_th_mv, p.v_reset_mv, 2, spiked, 3)
        fired = lif_threshold_ref(slow["v"], slow["refractory_left"], lo, hi, p.v_th_mv, p.v_reset_mv, 2)
        assert list(spiked[:3]) == [101, 102, 103]
        assert spiked[3:n_out].tolist() == fired
        n_fired_total += len(fired)
        for k in STATE:
            np.testing.assert_allclose(fast[k], slow[k], rtol=0, atol=1e-9, err_msg=k)
        assert int(rng_state[0]) == ref_rng.state
    assert n_fired_total >= 2 * (hi - lo)


def test_lif_kernels_leave_neurons_outside_lo_hi_alone():
    gen = np.random.default_rng(1)
    fast = make_neurons(80, gen)
    fast["v"][:] = 50.0  # everyone above threshold
    fast["refractory_left"][:] = 0
    before = {k: v.copy() for k, v in fast.items()}
    args = integrate_args(LIFParams())
    lo, hi = 2, 70
    lif_add_noise(fast["v"], fast["refractory_left"], lo, hi, 1.0, make_rng_state(0))
    lif_integrate(*(fast[k] for k in STATE), lo, hi, *args)
    spiked = np.zeros(80, dtype=np.int32)
    n = lif_threshold(fast["v"], fast["refractory_left"], lo, hi, 10.0, 0.0, 2, spiked, 0)
    assert spiked[:n].tolist() == list(range(lo, hi))
    for k in STATE:
        assert np.array_equal(fast[k][:lo], before[k][:lo]) and np.array_equal(fast[k][hi:], before[k][hi:]), k
        assert not np.array_equal(fast[k][lo:hi], before[k][lo:hi]), k


def test_threshold_chunks_find_a_single_spiker_anywhere():
    for j in (0, 63, 64, 65, 129, 199):
        v, refractory_left = np.zeros(200), np.zeros(200, dtype=np.int32)
        v[j] = 10.0  # exactly at threshold fires
        spiked = np.zeros(200, dtype=np.int32)
        assert lif_threshold(v, refractory_left, 0, 200, 10.0, -1.0, 4, spiked, 0) == 1
        assert spiked[0] == j and v[j] == -1.0 and refractory_left[j] == 4
        assert np.count_nonzero(v) == 1 and np.count_nonzero(refractory_left) == 1


def test_noise_skips_refractory_neurons_and_draws_in_neuron_order():
    v = np.zeros(5)
    refractory_left = np.array([0, 2, 0, 1, 0], dtype=np.int32)
    rng_state = make_rng_state(3)
    ref = XorShift64Star(int(rng_state[0]))
    lif_add_noise(v, refractory_left, 0, 5, 2.5, rng_state)
    expected = [2.5 * ref.next_normal(), 0.0, 2.5 * ref.next_normal(), 0.0, 2.5 * ref.next_normal()]
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-12)
    assert int(rng_state[0]) == ref.state  # exactly three draws


# --- closed-form physics ----------------------------------------------------------------------------------


def biexponential(g0: float, t_ms: float, tau_mem_ms: float, tau_x_ms: float) -> float:
    """v(t) at rest 0 after an input g(0) = g0 decaying with tau_x: dv/dt = (g - v) / tau_m."""
    if tau_x_ms == tau_mem_ms:
        return g0 * t_ms / tau_mem_ms * math.exp(-t_ms / tau_mem_ms)
    return g0 * tau_x_ms / (tau_x_ms - tau_mem_ms) * (math.exp(-t_ms / tau_x_ms) - math.exp(-t_ms / tau_mem_ms))


@pytest.mark.parametrize("tau_mem_ms,tau_exc_ms,tau_inh_ms", [(20.0, 5.0, 8.0), (10.0, 10.0, 25.0), (5.0, 2.0, 5.0)])
def test_single_synaptic_kick_is_the_exact_biexponential(tau_mem_ms, tau_exc_ms, tau_inh_ms):
    """A kick on each port at t = 0 gives v(n dt) = biexp(g_exc0, tau_exc) + biexp(g_inh0, tau_inh) exactly
    (to rounding), whatever the step: the update is the exact solution over a tick, not an Euler step."""
    p = LIFParams(tau_mem_ms=tau_mem_ms, tau_exc_ms=tau_exc_ms, tau_inh_ms=tau_inh_ms, v_rest_mv=0.0)
    row = lif_row(p, DT_MS)
    args = (row[P_V_REST], row[P_V_RESET], row[P_DECAY_MEM], row[P_K_EXC], row[P_K_INH], row[P_DECAY_EXC],
            row[P_DECAY_INH])
    g_exc0, g_inh0 = 12.0, -7.0
    v, g_exc, g_inh, refractory_left = np.zeros(1), np.array([g_exc0]), np.array([g_inh0]), np.zeros(1, np.int32)
    peak = 0.0
    for n in range(1, 120):
        lif_integrate(v, g_exc, g_inh, refractory_left, 0, 1, *args)
        t = n * DT_MS
        expected = biexponential(g_exc0, t, tau_mem_ms, tau_exc_ms) + biexponential(g_inh0, t, tau_mem_ms, tau_inh_ms)
        assert v[0] == pytest.approx(expected, abs=1e-12)
        assert g_exc[0] == pytest.approx(g_exc0 * math.exp(-t / tau_exc_ms), abs=1e-12)
        assert g_inh[0] == pytest.approx(g_inh0 * math.exp(-t / tau_inh_ms), abs=1e-12)
        peak = max(peak, abs(v[0]))
    assert peak > 0.5  # the inputs really moved the membrane


def constant_input(g_mv: float, tau_mem_ms: float, v_th_mv: float, refractory_ticks: int):
    """One neuron at rest (0 mV) with a constant input: decay_exc = 1 and k_exc = 1 - e^{-dt/tau_m} make the
    exact update v <- g + (v - g) e^{-dt/tau_m}."""
    decay_mem = math.exp(-DT_MS / tau_mem_ms)
    state = [np.zeros(1), np.array([g_mv]), np.zeros(1), np.zeros(1, dtype=np.int32)]
    return state, (0.0, 0.0, decay_mem, 1.0 - decay_mem, 0.0, 1.0, 1.0), (v_th_mv, 0.0, refractory_ticks)


def lif_tick(state, args, threshold) -> int:
    spiked = np.zeros(1, dtype=np.int32)
    lif_integrate(*state, 0, 1, *args)
    return lif_threshold(state[0], state[3], 0, 1, *threshold, spiked, 0)


def spike_ticks(neuron, n_ticks: int) -> list[int]:
    return [t + 1 for t in range(n_ticks) if lif_tick(*neuron)]  # ticks elapsed when the spike is emitted


def test_subthreshold_trajectory_is_the_exact_exponential():
    tau, g_mv = 20.0, 8.0
    state, args, threshold = constant_input(g_mv, tau, 10.0, 0)
    for n in range(1, 50):
        lif_tick(state, args, threshold)
        assert state[0][0] == pytest.approx(g_mv * (1.0 - math.exp(-n * DT_MS / tau)), abs=1e-12)
    assert state[1][0] == g_mv  # decay_exc = 1 keeps the input


def test_pinned_trajectory():
    # v_n = 15 * (1 - 0.9**n) with decay_mem 0.9, k = 0.1: 1.5, 2.85, 4.065, 5.1585, 6.14265 (hand computed).
    state, _, threshold = constant_input(15.0, 1.0, 10.0, 0)
    args = (0.0, 0.0, 0.9, 0.1, 0.0, 1.0, 1.0)
    trajectory = []
    for _ in range(5):
        lif_tick(state, args, threshold)
        trajectory.append(state[0][0])
    np.testing.assert_allclose(trajectory, [1.5, 2.85, 4.065, 5.1585, 6.14265], rtol=0, atol=1e-12)


@pytest.mark.parametrize("g_mv", [10.5, 12.0, 15.0, 20.0, 40.0])
@pytest.mark.parametrize("tau_mem_ms", [10.0, 20.0])
def test_time_to_first_spike_matches_closed_form(g_mv, tau_mem_ms):
    v_th = 10.0
    closed = tau_mem_ms / DT_MS * math.log(g_mv / (g_mv - v_th))
    first = spike_ticks(constant_input(g_mv, tau_mem_ms, v_th, 0), 400)[0]
    assert abs(first - math.ceil(closed)) <= 1
    assert closed <= first < closed + 1 + 1e-9  # first tick with v >= v_th


def test_below_threshold_input_never_fires():
    assert spike_ticks(constant_input(9.99, 20.0, 10.0, 0), 2000) == []


@pytest.mark.parametrize("refractory_ticks", [0, 2, 5])
def test_f_i_curve_matches_closed_form(refractory_ticks):
    tau, v_th = 20.0, 10.0
    for g_mv in (11.0, 13.0, 17.0, 25.0, 50.0):
        ticks = spike_ticks(constant_input(g_mv, tau, v_th, refractory_ticks), 3000)
        isi_ms = np.diff(ticks) * DT_MS
        t_isi_ms = tau * math.log(g_mv / (g_mv - v_th))
        closed_rate_hz = 1000.0 / (refractory_ticks * DT_MS + t_isi_ms)
        # After reset the neuron waits out the refractory ticks and then integrates from 0 mV again.
        assert len(isi_ms) > 10
        assert np.all(np.abs(isi_ms - (refractory_ticks * DT_MS + t_isi_ms)) < DT_MS)
        measured_rate_hz = 1000.0 / isi_ms.mean()
        assert measured_rate_hz <= closed_rate_hz + 1e-9  # discretisation can only delay a spike
        assert 1000.0 / (isi_ms.mean() - DT_MS) >= closed_rate_hz


def test_refractory_neuron_holds_its_reset_potential_while_inputs_decay():
    tau_m, tau_exc = 20.0, 5.0
    p = LIFParams(tau_mem_ms=tau_m, tau_exc_ms=tau_exc, v_reset_mv=-5.0, v_th_mv=10.0)
    row = lif_row(p, DT_MS)
    args = (row[P_V_REST], row[P_V_RESET], row[P_DECAY_MEM], row[P_K_EXC], row[P_K_INH], row[P_DECAY_EXC],
            row[P_DECAY_INH])
    state = [np.array([9.9]), np.array([100.0]), np.zeros(1), np.zeros(1, dtype=np.int32)]
    threshold = (10.0, -5.0, 3)
    v, g_exc, refractory_left = state[0], state[1], state[3]
    assert lif_tick(state, args, threshold) == 1
    assert v[0] == -5.0 and refractory_left[0] == 3
    for n, left in enumerate((2, 1, 0), start=2):
        assert lif_tick(state, args, threshold) == 0
        assert v[0] == -5.0 and refractory_left[0] == left
        assert g_exc[0] == pytest.approx(100.0 * math.exp(-n / tau_exc), rel=1e-14)  # the input still decays
    g = g_exc[0]
    lif_tick(state, args, threshold)  # integrates again from v_reset with the decayed input
    assert v[0] == pytest.approx(-5.0 * math.exp(-1.0 / tau_m) + g * row[P_K_EXC], abs=1e-12)
