"""snn.engine.neuron_models against plain-Python references (tests/naive/neuron_models.py) and against the physics."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.neuron_models import (  # noqa: E402
    alif_step_ref,
    izhikevich_step_ref,
    lif_adapt_current_step_ref,
    lif_cond_step_ref,
)
from snn.engine.neuron_models import (  # noqa: E402
    alif_step,
    decay_factor,
    exact_synapse_gain,
    izhikevich_step,
    lif_adapt_current_step,
    lif_cond_step,
)

INT = "int"  # marks the refractory counter in a state layout


def _uniform(lo, hi):
    return lambda gen, n: gen.uniform(lo, hi, n)


def _ticks(hi):
    return lambda gen, n: gen.integers(0, hi + 1, n)


# name -> (kernel, reference, state layout [(name, init, kick)], scalar params after lo, hi)
MODELS = {
    "lif_cond": (
        lif_cond_step, lif_cond_step_ref,
        [("v", _uniform(-70.0, -50.0), None), ("g_exc", _uniform(0.0, 2.0), _uniform(0.0, 1.5)),
         ("g_inh", _uniform(0.0, 2.0), _uniform(0.0, 1.0)), ("refractory_left", _ticks(2), INT)],
        (-65.0, -70.0, -50.0, 0.0, -80.0, 1.0, 20.0, decay_factor(1.0, 5.0), decay_factor(1.0, 10.0), 2),
    ),
    "alif": (
        alif_step, alif_step_ref,
        [("v", _uniform(0.0, 10.0), None), ("i_syn", _uniform(0.0, 30.0), _uniform(0.0, 40.0)),
         ("theta", _uniform(0.0, 5.0), None), ("refractory_left", _ticks(1), INT)],
        (0.0, -1.0, 10.0, decay_factor(1.0, 20.0), exact_synapse_gain(1.0, 20.0, 5.0), decay_factor(1.0, 5.0),
         decay_factor(1.0, 100.0), 2.0, 1),
    ),
    "lif_adapt_current": (
        lif_adapt_current_step, lif_adapt_current_step_ref,
        [("v", _uniform(0.0, 10.0), None), ("i_syn", _uniform(0.0, 30.0), _uniform(0.0, 40.0)),
         ("w", _uniform(0.0, 5.0), None), ("refractory_left", _ticks(1), INT)],
        (0.0, -1.0, 10.0, decay_factor(1.0, 20.0), exact_synapse_gain(1.0, 20.0, 5.0),
         exact_synapse_gain(1.0, 20.0, 100.0), decay_factor(1.0, 5.0), decay_factor(1.0, 100.0), 3.0, 1),
    ),
    "izhikevich_figure_numerics": (
        izhikevich_step, izhikevich_step_ref,
        [("v", _uniform(-75.0, 25.0), None), ("u", _uniform(-16.0, -8.0), None),
         ("i_syn", _uniform(0.0, 15.0), _uniform(-5.0, 40.0))],
        (0.02, 0.2, -65.0, 8.0, 0.25, 1),
    ),
    "izhikevich_network_numerics": (
        izhikevich_step, izhikevich_step_ref,
        [("v", _uniform(-75.0, 25.0), None), ("u", _uniform(-16.0, -8.0), None),
         ("i_syn", _uniform(0.0, 15.0), _uniform(-5.0, 40.0))],
        (0.02, 0.2, -65.0, 8.0, 1.0, 2),
    ),
}


def make_state(layout, n, seed, dtype):
    gen = np.random.default_rng(seed)
    return {name: (init(gen, n).astype(np.int32) if kick == INT else init(gen, n).astype(dtype))
            for name, init, kick in layout}


def draw_kicks(layout, gen, n, tick):
    """Every 5th tick fresh input arrives so neurons keep firing: {name: (amount, replaces_value)}."""
    if tick % 5:
        return {}
    # The Izhikevich kernel reads i_syn without decaying it, so its input is replaced, not accumulated.
    return {name: (k(gen, n), name == "i_syn" and layout[1][0] == "u")
            for name, _, k in layout if k is not None and k != INT}


def apply_kicks(state, kicks):
    for name, (amount, replace) in kicks.items():
        if isinstance(state[name], np.ndarray):
            state[name][:] = amount if replace else state[name] + amount
        else:
            state[name] = [float(a) if replace else s + float(a) for s, a in zip(state[name], amount)]


def run_kernel(model, lo, hi, n, n_ticks, dtype, seed=3):
    kernel, _, layout, params = MODELS[model]
    state = make_state(layout, n, seed, dtype)
    gen = np.random.default_rng(seed + 1)
    spiked = np.full(n + 2, -1, dtype=np.int32)
    history = []
    for tick in range(n_ticks):
        apply_kicks(state, draw_kicks(layout, gen, n, tick))
        spiked[:2] = [101, 102]
        n_out = kernel(*state.values(), lo, hi, *params, spiked, 2)
        assert spiked[:2].tolist() == [101, 102]
        history.append(({k: v.copy() for k, v in state.items()}, spiked[2:n_out].tolist()))
    return history


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("lo,hi", [(0, 7), (2, 5)])
def test_kernel_matches_reference(model, lo, hi):
    kernel, reference, layout, params = MODELS[model]
    n = 7
    fast = make_state(layout, n, 11, np.float64)
    slow = {k: v.tolist() for k, v in fast.items()}
    gen = np.random.default_rng(12)
    spiked = np.full(n + 3, -1, dtype=np.int32)
    total = 0
    for tick in range(120):
        kicks = draw_kicks(layout, gen, n, tick)
        apply_kicks(fast, kicks)
        apply_kicks(slow, kicks)
        spiked[:3] = [101, 102, 103]
        n_out = kernel(*fast.values(), lo, hi, *params, spiked, 3)
        fired = reference(*slow.values(), lo, hi, *params)
        assert spiked[:3].tolist() == [101, 102, 103]
        assert spiked[3:n_out].tolist() == fired
        total += len(fired)
        for name, values in slow.items():
            np.testing.assert_allclose(fast[name], values, rtol=0, atol=1e-12, err_msg=f"{model}.{name}")
    assert total >= 2 * (hi - lo)


@pytest.mark.parametrize("model", list(MODELS))
def test_kernel_leaves_neurons_outside_lo_hi_alone(model):
    kernel, _, layout, params = MODELS[model]
    state = make_state(layout, 6, 5, np.float64)
    before = {k: v.copy() for k, v in state.items()}
    for _ in range(5):
        kernel(*state.values(), 2, 4, *params, np.zeros(6, dtype=np.int32), 0)
    for k in state:
        assert np.array_equal(state[k][:2], before[k][:2]) and np.array_equal(state[k][4:], before[k][4:])


@pytest.mark.parametrize("model", list(MODELS))
def test_float32_state_tracks_float64(model):
    n, n_ticks = 8, 60
    run64 = run_kernel(model, 0, n, n, n_ticks, np.float64)
    run32 = run_kernel(model, 0, n, n, n_ticks, np.float32)
    assert run32[-1][0]["v"].dtype == np.float32
    for (s64, f64), (s32, f32) in zip(run64, run32):
        assert f32 == f64
        for name in s64:
            np.testing.assert_allclose(s32[name], s64[name], rtol=1e-4, atol=1e-3, err_msg=f"{model}.{name}")


# ------------------------------------------------------------------------------------- exact synaptic gain


def test_exact_synapse_gain_limits_and_continuity():
    dt, tau = 1.0, 20.0
    limit = (dt / tau) * math.exp(-dt / tau)
    assert exact_synapse_gain(dt, tau, tau) == pytest.approx(limit, rel=1e-15)
    for eps in (1e-12, 1e-8, 1e-4):  # no cancellation next to the limit, from both sides
        for tau_syn in (tau * (1 + eps), tau * (1 - eps)):
            direct_slope = abs(exact_synapse_gain(dt, tau, tau_syn) - limit) / (eps * tau)
            assert direct_slope < 1e-3
    for tau_syn in (0.5, 2.0, 5.0, 19.0, 21.0, 100.0, 1e4):  # both branches agree with the textbook form
        textbook = tau_syn / (tau_syn - tau) * (math.exp(-dt / tau_syn) - math.exp(-dt / tau))
        assert exact_synapse_gain(dt, tau, tau_syn) == pytest.approx(textbook, rel=1e-12)
    assert exact_synapse_gain(dt, tau, math.inf) == pytest.approx(1.0 - math.exp(-dt / tau), rel=1e-15)
    assert exact_synapse_gain(1000.0, 1.0, 1e6) >= 0.0  # no overflow when dt >> tau_mem


# ---------------------------------------------------------------------------------------- conductance LIF


def cond_neuron(g_exc, g_inh, decay_exc=1.0, decay_inh=1.0, v0_mv=-65.0, v_th_mv=1e9, dt_ms=1.0):
    state = [np.array([v0_mv]), np.array([g_exc]), np.array([g_inh]), np.zeros(1, dtype=np.int32)]
    params = (-65.0, -70.0, v_th_mv, 0.0, -80.0, dt_ms, 20.0, decay_exc, decay_inh, 2)
    return state, params


@pytest.mark.parametrize("g_exc,g_inh", [(0.0, 0.0), (0.3, 0.0), (0.0, 2.0), (0.5, 1.5), (4.0, 0.2)])
def test_conductance_equilibrium_and_exact_relaxation(g_exc, g_inh):
    g_total = 1.0 + g_exc + g_inh
    v_inf = (-65.0 + g_exc * 0.0 + g_inh * -80.0) / g_total  # closed-form reversal-weighted equilibrium
    state, params = cond_neuron(g_exc, g_inh, v0_mv=-60.0)
    for n in range(1, 600):
        lif_cond_step(*state, 0, 1, *params, np.zeros(1, dtype=np.int32), 0)
        assert state[0][0] == pytest.approx(v_inf + (-60.0 - v_inf) * math.exp(-n * g_total / 20.0), abs=1e-12)
    assert state[0][0] == pytest.approx(v_inf, abs=1e-9)


def test_conductance_lif_stays_between_reversal_potentials():
    gen = np.random.default_rng(7)
    n = 64
    v = gen.uniform(-80.0, 0.0, n)
    g_exc, g_inh = gen.uniform(0.0, 50.0, n), gen.uniform(0.0, 50.0, n)
    refractory_left = np.zeros(n, dtype=np.int32)
    spiked = np.zeros(n, dtype=np.int32)
    params = (-65.0, -70.0, -50.0, 0.0, -80.0, 1.0, 20.0, decay_factor(1.0, 5.0), decay_factor(1.0, 10.0), 2)
    fired = 0
    for tick in range(300):
        if tick % 3 == 0:  # huge conductance steps: forward Euler would overshoot the reversal potentials
            g_exc += gen.uniform(0.0, 100.0, n) * (gen.random(n) < 0.5)
            g_inh += gen.uniform(0.0, 100.0, n) * (gen.random(n) < 0.5)
        fired += lif_cond_step(v, g_exc, g_inh, refractory_left, 0, n, *params, spiked, 0)
        assert np.all(v >= -80.0) and np.all(v <= 0.0)
    assert fired > n


def test_conductance_decays_and_neuron_fires_on_excitation():
    state, params = cond_neuron(3.0, 0.0, decay_exc=decay_factor(1.0, 5.0), v_th_mv=-50.0)
    spiked = np.zeros(1, dtype=np.int32)
    ticks = [t for t in range(100) if lif_cond_step(*state, 0, 1, *params, spiked, 0)]
    assert ticks and ticks[-1] < 30  # fires while g_exc is large, stops once it has decayed
    assert state[1][0] == pytest.approx(3.0 * math.exp(-100 / 5.0), rel=1e-12)


# ------------------------------------------------------------------------------------------- adaptive LIF


def adaptive_run(kernel, n_ticks, drive_mv, jump_mv, adapt_state_mv=0.0):
    dt, tau_mem = 1.0, 20.0
    decay_mem = decay_factor(dt, tau_mem)
    k_const = exact_synapse_gain(dt, tau_mem, math.inf)  # constant input: decay_syn = 1
    state = [np.zeros(1), np.array([drive_mv]), np.array([adapt_state_mv]), np.zeros(1, dtype=np.int32)]
    if kernel is alif_step:
        params = (0.0, 0.0, 10.0, decay_mem, k_const, 1.0, decay_factor(dt, 100.0), jump_mv, 2)
    else:
        params = (0.0, 0.0, 10.0, decay_mem, k_const, exact_synapse_gain(dt, tau_mem, 100.0), 1.0,
                  decay_factor(dt, 100.0), jump_mv, 2)
    spiked = np.zeros(1, dtype=np.int32)
    ticks, adapt = [], []
    for t in range(n_ticks):
        if kernel(*state, 0, 1, *params, spiked, 0):
            ticks.append(t + 1)
        adapt.append(state[2][0])
    return ticks, np.array(adapt), state


@pytest.mark.parametrize("kernel", [alif_step, lif_adapt_current_step])
def test_isis_lengthen_under_constant_drive(kernel):
    ticks, _, _ = adaptive_run(kernel, 1000, 25.0, 3.0)
    isi = np.diff(ticks)
    assert len(isi) >= 10
    assert np.all(np.diff(isi[:6]) >= 0) and isi[5] > isi[0]
    assert isi[-5:].mean() >= 1.5 * isi[0]
    assert np.ptp(isi[-5:]) <= 1  # settles to a steady adapted rate
    plain = np.diff(adaptive_run(kernel, 1000, 25.0, 0.0)[0])  # no jump: no adaptation
    assert np.ptp(plain) == 0 and np.all(isi > plain[0])


@pytest.mark.parametrize("kernel", [alif_step, lif_adapt_current_step])
def test_adaptation_returns_to_baseline_without_spikes(kernel):
    ticks, adapt, state = adaptive_run(kernel, 1000, 0.0, 3.0, adapt_state_mv=8.0)
    assert ticks == []
    n = np.arange(1, 1001)
    np.testing.assert_allclose(adapt, 8.0 * np.exp(-n / 100.0), rtol=1e-12)
    assert adapt[-1] < 1e-3
    assert abs(state[0][0]) < 1e-3  # v back at rest (the current form pushed it below rest first)


def test_alif_threshold_jumps_at_each_spike():
    ticks, theta, _ = adaptive_run(alif_step, 200, 25.0, 3.0)
    decay = decay_factor(1.0, 100.0)
    for t in ticks:  # theta after a spike tick = decayed previous value + the jump
        before = theta[t - 2] if t >= 2 else 0.0
        assert theta[t - 1] == pytest.approx(before * decay + 3.0, abs=1e-12)


# --------------------------------------------------------------------------------------------- Izhikevich

# Izhikevich (2004) "Which model to use for cortical spiking neurons?", Fig. 1, parameters and numerics of
# its published figure1.m: (a, b, c, d, I after the step, V0 with u0 = b*V0, time step ms, step onset ms).
# The patterns depend on the step size (e.g. (D) needs 0.2 ms), so each uses the published one.
FIGURE_1 = {
    "tonic_spiking": (0.02, 0.2, -65.0, 6.0, 14.0, -70.0, 0.25, 10.0),
    "phasic_spiking": (0.02, 0.25, -65.0, 6.0, 0.5, -64.0, 0.25, 20.0),
    "tonic_bursting": (0.02, 0.2, -50.0, 2.0, 15.0, -70.0, 0.25, 22.0),
    "phasic_bursting": (0.02, 0.25, -55.0, 0.05, 0.6, -64.0, 0.2, 20.0),
    "spike_frequency_adaptation": (0.01, 0.2, -65.0, 8.0, 30.0, -70.0, 0.25, 8.5),
}


def figure_1_spike_times_ms(pattern, duration_ms=500.0, dtype=np.float64):
    a, b, c, d, i_step, v0, dt, onset_ms = FIGURE_1[pattern]
    v, u, i_syn = np.array([v0], dtype), np.array([b * v0], dtype), np.zeros(1, dtype)
    spiked = np.zeros(1, dtype=np.int32)
    times = []
    for k in range(int(round(duration_ms / dt)) + 1):
        t = k * dt
        i_syn[0] = i_step if t > onset_ms else 0.0
        if izhikevich_step(v, u, i_syn, 0, 1, a, b, c, d, dt, 1, spiked, 0):
            times.append(t)
    return np.array(times), onset_ms


def test_izhikevich_tonic_spiking():
    times, onset = figure_1_spike_times_ms("tonic_spiking")
    isi = np.diff(times)
    assert len(times) >= 15 and times[0] > onset
    steady = isi[2:]  # an onset doublet, then regular firing
    assert np.ptp(steady) <= 0.5 and 20.0 < np.median(steady) < 35.0
    assert times[-1] > 500.0 - 2 * np.median(steady)  # keeps firing for as long as the step lasts


def test_izhikevich_phasic_spiking():
    times, onset = figure_1_spike_times_ms("phasic_spiking")
    assert len(times) == 1 and onset < times[0] < onset + 30.0  # one spike at onset, then silence


def test_izhikevich_tonic_bursting():
    times, onset = figure_1_spike_times_ms("tonic_bursting")
    isi = np.diff(times)
    short, long_ = isi[isi < 10.0], isi[isi > 30.0]
    assert len(short) + len(long_) == len(isi)  # bimodal: nothing between intra- and inter-burst gaps
    assert len(long_) >= 6 and np.ptp(long_) < 2.0
    bursts = np.split(times, np.flatnonzero(isi > 30.0) + 1)
    assert all(len(burst) >= 4 for burst in bursts)


def test_izhikevich_phasic_bursting():
    times, onset = figure_1_spike_times_ms("phasic_bursting")
    assert len(times) >= 3 and np.all(np.diff(times) < 10.0)  # one burst ...
    assert onset < times[0] < onset + 25.0 and times[-1] < onset + 60.0  # ... at onset, then silence


def test_izhikevich_spike_frequency_adaptation():
    times, onset = figure_1_spike_times_ms("spike_frequency_adaptation", duration_ms=300.0)
    isi = np.diff(times)
    assert len(isi) >= 6 and times[0] < onset + 5.0
    assert np.all(np.diff(isi[:5]) > 0)  # ISIs lengthen ...
    assert np.all(np.diff(isi) >= -0.25) and isi[-1] >= 10 * isi[0]  # ... and never shorten again


@pytest.mark.parametrize("pattern", list(FIGURE_1))
def test_izhikevich_float32_reproduces_float64_spike_times(pattern):
    t64, _ = figure_1_spike_times_ms(pattern, 300.0, np.float64)
    t32, _ = figure_1_spike_times_ms(pattern, 300.0, np.float32)
    assert t32.tolist() == t64.tolist()


def test_izhikevich_substeps_do_not_integrate_past_the_peak():
    v, u, i_syn = np.array([29.9, 25.0]), np.array([-13.0, -13.0]), np.array([10.0, 10.0])
    spiked = np.zeros(2, dtype=np.int32)
    assert izhikevich_step(v, u, i_syn, 0, 2, 0.02, 0.2, -65.0, 8.0, 1.0, 4, spiked, 0) == 2
    assert spiked.tolist() == [0, 1] and v.tolist() == [-65.0, -65.0]
    assert np.all(u < -13.0 + 8.0 + 1.0)  # the u step saw v near the peak, not a runaway value
