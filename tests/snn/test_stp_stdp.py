"""snn.engine.stp, snn.engine.delays and snn.engine.homeostasis kernels (the parts the engine calls) against references and closed forms."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.stp_stdp import (  # noqa: E402
    normalise_incoming_ref,
    random_projection,
    random_train,
    stp_efficacies_ref,
    stp_steady_state_ref,
)
from snn.engine.delays import drain_ring  # noqa: E402
from snn.engine.homeostasis import normalise_incoming  # noqa: E402
from snn.engine.stp import stp_on_spikes  # noqa: E402

N_PRE, N_POST, DT_MS = 5, 4, 1.0
DTYPES = [np.float64, np.float32]


def tol(dtype) -> dict:
    return {"rtol": 0, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-4}


def ids(spiked) -> np.ndarray:
    """The spike buffer as kernels see it: the valid ids, then stale entries that must be ignored."""
    return np.array(list(spiked) + [0, 1, 0], dtype=np.int32)


def decay_per_tick(tau_ms, dt_ms: float):
    """exp(-dt/tau) per element; tau = 0 gives 0 (no memory)."""
    tau = np.asarray(tau_ms, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(tau > 0, np.exp(-dt_ms / np.where(tau > 0, tau, 1.0)), 0.0)


# --- delay ring -----------------------------------------------------------------------------------------------

def test_drain_ring_adds_one_slot_and_clears_it():
    ring = np.arange(12.0).reshape(3, 4)
    target = np.ones(4)
    drain_ring(ring, 7, target)  # slot 7 % 3 = 1
    assert target.tolist() == [5.0, 6.0, 7.0, 8.0]
    assert ring[1].tolist() == [0.0] * 4 and ring[0].tolist() == [0.0, 1.0, 2.0, 3.0]


# --- short-term plasticity --------------------------------------------------------------------------------

def stp_state(u_base, dtype):
    n = len(u_base)
    return np.zeros(n, np.int64), np.array(u_base, dtype), np.ones(n, dtype), np.zeros(n, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(3))
def test_stp_matches_reference(seed, dtype):
    gen = np.random.default_rng(seed)
    u_base = gen.uniform(0.05, 0.7, N_PRE)
    tau_facil_ms = np.array([0.0, 20.0, 300.0, 750.0, 50.0])
    tau_rec_ms = np.array([800.0, 50.0, 100.0, 50.0, 400.0])
    n_ticks = 300
    train = random_train(gen, N_PRE, n_ticks, 0.15)
    last, u, x, efficacy = stp_state(u_base, dtype)
    d_facil, d_rec = decay_per_tick(tau_facil_ms, DT_MS).astype(dtype), decay_per_tick(tau_rec_ms, DT_MS).astype(dtype)
    got = [[] for _ in range(N_PRE)]
    for t, spiked in enumerate(train):
        stp_on_spikes(ids(spiked), len(spiked), t, last, u, x, u_base.astype(dtype), d_facil, d_rec, efficacy)
        for i in spiked:
            got[i].append(float(efficacy[i]))
    for i in range(N_PRE):
        spike_ticks = [t for t, spiked in enumerate(train) if i in spiked]
        assert len(spike_ticks) > 10
        expected = stp_efficacies_ref(spike_ticks, u_base[i], tau_facil_ms[i], tau_rec_ms[i], DT_MS)
        np.testing.assert_allclose(got[i], expected, **tol(dtype))


DEPRESSING = (0.5, 0.0, 800.0)      # U, tau_facil_ms, tau_rec_ms
FACILITATING = (0.15, 750.0, 50.0)


def regular_train_efficacies(params, interval_ticks: int, n_spikes: int) -> list[float]:
    u_base, tau_facil_ms, tau_rec_ms = params
    last, u, x, efficacy = stp_state([u_base], np.float64)
    d_facil, d_rec = decay_per_tick(np.array([tau_facil_ms]), DT_MS), decay_per_tick(np.array([tau_rec_ms]), DT_MS)
    out = []
    for n in range(n_spikes):
        stp_on_spikes(ids([0]), 1, 1000 + n * interval_ticks, last, u, x, np.array([u_base]), d_facil, d_rec, efficacy)
        out.append(float(efficacy[0]))
    return out


@pytest.mark.parametrize("interval_ticks", [5, 20, 50, 100, 250, 1000])
@pytest.mark.parametrize("params", [DEPRESSING, FACILITATING, (0.3, 200.0, 300.0)])
def test_stp_regular_train_reaches_closed_form_steady_state(params, interval_ticks):
    got = regular_train_efficacies(params, interval_ticks, 300)
    expected = stp_efficacies_ref([n * interval_ticks for n in range(300)], *params, DT_MS)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    steady = stp_steady_state_ref(*params, interval_ticks * DT_MS)
    assert got[-1] == pytest.approx(steady, rel=1e-10)


def test_stp_depression_and_facilitation_shape_the_psc_sequence():
    depressing = regular_train_efficacies(DEPRESSING, 50, 10)       # 20 Hz
    facilitating = regular_train_efficacies(FACILITATING, 50, 10)
    assert np.all(np.diff(depressing) < 0)
    assert np.all(np.diff(facilitating) > 0)
    # By hand: first spike U·1; second x = 1 - U e^{-T/τrec} with u = U (τf = 0), resp.
    # u = U + U(1-U)e^{-T/τf}, x = 1 - U e^{-T/τrec}.
    assert depressing[0] == 0.5 and facilitating[0] == 0.15
    assert depressing[1] == pytest.approx(0.5 * (1 - 0.5 * math.exp(-50 / 800)), rel=1e-14)
    u2 = 0.15 + 0.15 * 0.85 * math.exp(-50 / 750)
    assert facilitating[1] == pytest.approx(u2 * (1 - 0.15 * math.exp(-1)), rel=1e-14)
    # Both approach their stationary efficacy monotonically: depression from above, facilitation from below.
    steady_dep, steady_fac = stp_steady_state_ref(*DEPRESSING, 50.0), stp_steady_state_ref(*FACILITATING, 50.0)
    assert 0.0 < depressing[-1] - steady_dep < 0.02 * steady_dep
    assert 0.0 < steady_fac - facilitating[-1] < 0.1 * steady_fac


# --- synaptic scaling ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_normalise_incoming_sets_sums_and_skips_zero(dtype):
    gen = np.random.default_rng(4)
    table = random_projection(gen, N_PRE, N_POST, 0.7)
    weight = gen.uniform(0.1, 1.0, len(table["pairs"]))
    onto_0 = table["syn_post"] == 0
    weight[onto_0] = 0.0  # neuron 0 has a zero sum and must be left alone
    target = np.array([3.0, 2.5, 1.0, 4.0])
    expected = weight.tolist()
    got = weight.astype(dtype)
    normalise_incoming(table["in_ptr"], table["in_syn"], got, target.astype(dtype))
    normalise_incoming_ref(table["pairs"], expected, target, N_POST)
    np.testing.assert_allclose(got, expected, **tol(dtype))
    sums = np.bincount(table["syn_post"], weights=got.astype(np.float64), minlength=N_POST)
    has_input = np.bincount(table["syn_post"], minlength=N_POST) > 0
    assert sums[0] == 0.0
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(sums[1:][has_input[1:]], target[1:][has_input[1:]], rtol=rtol)
