"""snn.neurons.lif_step against a plain-Python reference and against the closed-form LIF physics."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.lif import lif_step_ref  # noqa: E402
from naive.rng import XorShift64Star  # noqa: E402
from snn.neurons import lif_step  # noqa: E402
from snn.rng import make_rng_state  # noqa: E402

DT_MS = 1.0


def make_neurons(n: int, rng: np.random.Generator, noise_mv: float) -> dict[str, np.ndarray]:
    return {
        "v": rng.uniform(-2.0, 9.0, n),
        "i_syn": rng.uniform(0.0, 30.0, n),
        "refractory_left": rng.integers(0, 3, n).astype(np.int32),
        "decay_mem": np.exp(-DT_MS / rng.uniform(5.0, 30.0, n)),
        "decay_syn": np.exp(-DT_MS / rng.uniform(2.0, 10.0, n)),
        "v_rest": rng.uniform(-1.0, 1.0, n),
        "v_reset": rng.uniform(-2.0, 0.0, n),
        "v_th": np.full(n, 10.0),
        "refractory_ticks": rng.integers(0, 4, n).astype(np.int32),
        "noise": np.where(rng.random(n) < 0.7, noise_mv, 0.0),
    }


STATE = ("v", "i_syn", "refractory_left")
PARAMS = ("decay_mem", "decay_syn", "v_rest", "v_reset", "v_th", "refractory_ticks", "noise")


@pytest.mark.parametrize("noise_mv", [0.0, 2.0])
@pytest.mark.parametrize("lo,hi", [(0, 6), (2, 5)])
def test_lif_step_matches_reference(noise_mv, lo, hi):
    gen = np.random.default_rng(42)
    n = 6
    fast = make_neurons(n, gen, noise_mv)
    slow = {k: [x.item() for x in v] for k, v in fast.items()}
    rng_state = make_rng_state(9)
    ref_rng = XorShift64Star(int(rng_state[0]))
    spiked = np.full(n + 3, -1, dtype=np.int32)
    n_fired_total = 0
    for tick in range(60):
        if tick % 7 == 0:  # kick the currents now and then so neurons keep firing
            kick = gen.uniform(0.0, 40.0, n)
            fast["i_syn"] += kick
            slow["i_syn"] = [a + b for a, b in zip(slow["i_syn"], kick.tolist())]
        spiked[:3] = [101, 102, 103]  # entries before n_spiked must be kept
        n_out = lif_step(*(fast[k] for k in STATE), *(fast[k] for k in PARAMS), rng_state, lo, hi, spiked, 3)
        fired = lif_step_ref(*(slow[k] for k in STATE), *(slow[k] for k in PARAMS), ref_rng, lo, hi)
        assert list(spiked[:3]) == [101, 102, 103]
        assert spiked[3:n_out].tolist() == fired
        n_fired_total += len(fired)
        np.testing.assert_allclose(fast["v"], slow["v"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(fast["i_syn"], slow["i_syn"], rtol=0, atol=1e-12)
        assert fast["refractory_left"].tolist() == slow["refractory_left"]
        assert int(rng_state[0]) == ref_rng.state
    assert n_fired_total >= 2 * (hi - lo)


def test_lif_step_leaves_neurons_outside_lo_hi_alone():
    gen = np.random.default_rng(1)
    fast = make_neurons(6, gen, 1.0)
    before = {k: v.copy() for k, v in fast.items()}
    lif_step(*(fast[k] for k in STATE), *(fast[k] for k in PARAMS), make_rng_state(0), 2, 4,
             np.zeros(6, dtype=np.int32), 0)
    for k in STATE:
        assert np.array_equal(fast[k][:2], before[k][:2]) and np.array_equal(fast[k][4:], before[k][4:])


def single_neuron(i_mv: float, tau_mem_ms: float, v_th_mv: float, refractory_ticks: int):
    """One neuron at rest (0 mV) with a constant synaptic current (decay_syn = 1)."""
    return [
        np.zeros(1), np.array([i_mv]), np.zeros(1, dtype=np.int32),
        np.array([math.exp(-DT_MS / tau_mem_ms)]), np.ones(1), np.zeros(1), np.zeros(1),
        np.array([v_th_mv]), np.array([refractory_ticks], dtype=np.int32), np.zeros(1),
        make_rng_state(0),
    ]


def spike_ticks(args, n_ticks: int) -> list[int]:
    spiked = np.zeros(1, dtype=np.int32)
    out = []
    for t in range(n_ticks):
        if lif_step(*args, 0, 1, spiked, 0):
            out.append(t + 1)  # ticks elapsed when the spike is emitted
    return out


def test_subthreshold_trajectory_is_the_exact_exponential():
    tau, i_mv = 20.0, 8.0
    args = single_neuron(i_mv, tau, 10.0, 0)
    for n in range(1, 50):
        lif_step(*args, 0, 1, np.zeros(1, dtype=np.int32), 0)
        assert args[0][0] == pytest.approx(i_mv * (1.0 - math.exp(-n * DT_MS / tau)), abs=1e-12)
    assert args[1][0] == i_mv  # decay_syn = 1 keeps the current


def test_pinned_trajectory():
    # v_n = 15 * (1 - 0.9**n) with decay_mem 0.9: 1.5, 2.85, 4.065, 5.1585, 6.14265 (hand computed).
    args = single_neuron(15.0, 1.0, 10.0, 0)
    args[3][0] = 0.9
    trajectory = []
    for _ in range(5):
        lif_step(*args, 0, 1, np.zeros(1, dtype=np.int32), 0)
        trajectory.append(args[0][0])
    np.testing.assert_allclose(trajectory, [1.5, 2.85, 4.065, 5.1585, 6.14265], rtol=0, atol=1e-12)


@pytest.mark.parametrize("i_mv", [10.5, 12.0, 15.0, 20.0, 40.0])
@pytest.mark.parametrize("tau_mem_ms", [10.0, 20.0])
def test_time_to_first_spike_matches_closed_form(i_mv, tau_mem_ms):
    v_th = 10.0
    closed = tau_mem_ms / DT_MS * math.log(i_mv / (i_mv - v_th))
    first = spike_ticks(single_neuron(i_mv, tau_mem_ms, v_th, 0), 400)[0]
    assert abs(first - math.ceil(closed)) <= 1
    assert closed <= first < closed + 1 + 1e-9  # first tick with v >= v_th


def test_below_threshold_current_never_fires():
    assert spike_ticks(single_neuron(9.99, 20.0, 10.0, 0), 2000) == []


@pytest.mark.parametrize("refractory_ticks", [0, 2, 5])
def test_f_i_curve_matches_closed_form(refractory_ticks):
    tau, v_th = 20.0, 10.0
    for i_mv in (11.0, 13.0, 17.0, 25.0, 50.0):
        ticks = spike_ticks(single_neuron(i_mv, tau, v_th, refractory_ticks), 3000)
        isi_ms = np.diff(ticks) * DT_MS
        t_isi_ms = tau * math.log(i_mv / (i_mv - v_th))
        closed_rate_hz = 1000.0 / (refractory_ticks * DT_MS + t_isi_ms)
        # After reset the neuron waits out the refractory ticks and then integrates from 0 mV again.
        assert np.all(np.abs(isi_ms - (refractory_ticks * DT_MS + t_isi_ms)) < DT_MS)
        measured_rate_hz = 1000.0 / isi_ms.mean()
        assert measured_rate_hz <= closed_rate_hz + 1e-9  # discretisation can only delay a spike
        assert 1000.0 / (isi_ms.mean() - DT_MS) >= closed_rate_hz


def test_refractory_neuron_is_held_at_reset_and_ignores_input():
    args = single_neuron(100.0, 20.0, 10.0, 3)
    v, _, refractory_left = args[0], args[1], args[2]
    v[0] = 9.9
    args[6][0] = -5.0  # v_reset
    spiked = np.zeros(1, dtype=np.int32)
    assert lif_step(*args, 0, 1, spiked, 0) == 1
    assert v[0] == -5.0 and refractory_left[0] == 3
    for left in (2, 1, 0):
        assert lif_step(*args, 0, 1, spiked, 0) == 0
        assert v[0] == -5.0 and refractory_left[0] == left
    lif_step(*args, 0, 1, spiked, 0)  # integrates again from v_reset
    decay = math.exp(-DT_MS / 20.0)
    assert v[0] == pytest.approx(100.0 + (-5.0 - 100.0) * decay, abs=1e-12)
