"""Projection delays and short-term plasticity inside the engine's tick loop, against their closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest

from snn.frames import SpikeFrames
from edge.backends import open_backend
from snn.backend import Backend
from snn.spec import LIFParams, NetworkSpec, PopulationSpec, ProjectionSpec, ShortTermPlasticity

QUIET = LIFParams(v_th_mv=1e9, tau_exc_ms=5.0)


def relay(delay_ticks: int = 0, stp: ShortTermPlasticity | None = None) -> Backend:
    spec = NetworkSpec(
        (PopulationSpec("in", 1, kind="input", stp=stp), PopulationSpec("out", 1, lif=QUIET)),
        (ProjectionSpec("p", "in", "out", np.array([0], np.int32), np.array([0], np.int32), np.array([2.0]),
                        delay_ticks=delay_ticks),),
        readout="out",
    )
    backend = open_backend("numba?dtype=float64")
    backend.load(spec, seed=0)
    return backend


def input_trace(backend: Backend, spike_ticks: list[int], n_ticks: int) -> list[float]:
    """g_exc of the target after each tick."""
    out = []
    for t in range(n_ticks):
        backend.step(SpikeFrames.from_lists([[0] if t in spike_ticks else []]), 0.0)
        out.append(float(backend.read("population/out/g_exc_mv")[0]))
    return out


@pytest.mark.parametrize("delay", [1, 3, 7])
def test_a_delayed_spike_arrives_delay_ticks_after_an_undelayed_one(delay):
    direct = input_trace(relay(0), [2], 20)
    delayed = input_trace(relay(delay), [2], 20)
    first = next(t for t, g in enumerate(direct) if g > 0)
    assert next(t for t, g in enumerate(delayed) if g > 0) == first + delay
    np.testing.assert_allclose(delayed[first + delay:], direct[first:len(direct) - delay], rtol=1e-12)


def test_delay_out_of_range_is_refused():
    with pytest.raises(ValueError, match="delay_ticks"):
        relay(delay_ticks=-1)


def test_depressing_synapse_follows_the_tsodyks_markram_sequence():
    stp = ShortTermPlasticity(u_base=0.5, tau_facil_ms=0.0, tau_rec_ms=100.0)
    backend = relay(stp=stp)
    period = 10
    kicks = []
    for t in range(6 * period):
        before = float(backend.read("population/out/g_exc_mv")[0])
        backend.step(SpikeFrames.from_lists([[0] if t % period == 0 else []]), 0.0)
        after = float(backend.read("population/out/g_exc_mv")[0])
        if t % period == 0:
            kicks.append(after - before * math.exp(-1.0 / 5.0))
    u, x, want = 0.5, 1.0, []
    for _ in kicks:
        want.append(2.0 * u * x)
        x = 1.0 + (x * (1.0 - u) - 1.0) * math.exp(-period / 100.0)
    np.testing.assert_allclose(kicks, want, rtol=1e-9)
    assert all(a > b for a, b in zip(kicks, kicks[1:]))


def test_without_stp_every_spike_has_full_efficacy():
    backend = relay()
    g = input_trace(backend, [0, 10, 20], 21)
    assert g[0] == pytest.approx(2.0)


def test_synaptic_scaling_keeps_each_neurons_incoming_sum():
    from snn.spec import PairSTDP

    n_in, n_out = 20, 5
    pre, post = np.divmod(np.arange(n_in * n_out), n_out)
    rule = PairSTDP(a_pre_mv=0.05, a_post_mv=-0.01, w_max_mv=5.0)
    spec = NetworkSpec(
        (PopulationSpec("in", n_in, kind="poisson", rate_hz=np.linspace(5.0, 80.0, n_in)),
         PopulationSpec("out", n_out, lif=LIFParams(v_th_mv=2.0))),
        (ProjectionSpec("p", "in", "out", pre.astype(np.int32), post.astype(np.int32),
                        np.random.default_rng(0).uniform(0.1, 1.0, n_in * n_out), plasticity=rule,
                        normalise_sum_mv=10.0),),
        readout="out",
    )
    backend = open_backend("numba?dtype=float64")
    backend.load(spec, seed=1)
    start = backend.read("projection/p/weight_mv").copy()
    for _ in range(20):
        backend.step(SpikeFrames.empty(50), 0.0)
    w = backend.read("projection/p/weight_mv").reshape(n_in, n_out)
    np.testing.assert_allclose(w.sum(axis=0), 10.0, rtol=1e-9)
    assert not np.allclose(w.reshape(-1), start)


def pair_network(rule, pre_ticks, post_ticks, n_ticks=200):
    """One input -> one LIF neuron forced to fire at post_ticks (via a strong second input)."""
    spec = NetworkSpec(
        (PopulationSpec("in", 2, kind="input"), PopulationSpec("out", 1, lif=LIFParams(v_th_mv=0.5, tau_exc_ms=1.0, refractory_ms=10.0))),
        (ProjectionSpec("plastic", "in", "out", np.array([0], np.int32), np.array([0], np.int32), np.array([0.5]),
                        plasticity=rule),
         ProjectionSpec("drive", "in", "out", np.array([1], np.int32), np.array([0], np.int32), np.array([30.0]))),
        readout="out",
    )
    backend = open_backend("numba?dtype=float64")
    backend.load(spec, seed=0)
    ticks = [[0] if t in pre_ticks else [] for t in range(n_ticks)]
    for t in post_ticks:
        ticks[t - 1].append(1)  # the drive spike at t-1 makes the neuron fire at t
    out = backend.step(SpikeFrames.from_lists(ticks), 0.0)
    fired = np.repeat(np.arange(n_ticks), np.diff(out.tick_ptr)).tolist()
    return backend.read("projection/plastic/weight_mv")[0], fired


def test_triplet_without_triplet_terms_equals_pair_stdp():
    from snn.spec import PairSTDP, TripletSTDP

    pre, post = [10, 40, 41, 90, 130], [15, 35, 60, 75, 120]
    triplet = TripletSTDP(tau_pre_ms=20.0, tau_post_ms=30.0, a2_plus=0.01, a3_plus=0.0, a2_minus=0.008,
                          a3_minus=0.0, w_max_mv=5.0)
    pair = PairSTDP(tau_pre_ms=20.0, tau_post_ms=30.0, a_pre_mv=0.01, a_post_mv=-0.008, w_max_mv=5.0)
    w_triplet, fired = pair_network(triplet, pre, post)
    w_pair, _ = pair_network(pair, pre, post)
    assert fired == post
    assert w_triplet == pytest.approx(w_pair, rel=1e-12)


def test_triplet_potentiation_grows_with_the_postsynaptic_slow_trace():
    from snn.spec import TripletSTDP

    rule = TripletSTDP(tau_pre_ms=16.8, tau_post_ms=33.7, tau_x_ms=101.0, tau_y_ms=125.0, a2_plus=0.0,
                       a3_plus=0.01, a2_minus=0.0, a3_minus=0.0, w_max_mv=5.0)
    w_single, _ = pair_network(rule, [50], [60])
    w_burst, _ = pair_network(rule, [50], [40, 60])
    r1 = math.exp(-10 / 16.8)
    assert w_single == pytest.approx(0.5)                       # first post spike: o2 was still 0
    assert w_burst == pytest.approx(0.5 + 0.01 * r1 * math.exp(-20 / 125.0), rel=1e-9)


def test_nearest_neighbour_pairing_only_counts_the_latest_presynaptic_spike():
    from snn.spec import PairSTDP

    rule = dict(tau_pre_ms=20.0, tau_post_ms=20.0, a_pre_mv=0.01, a_post_mv=0.0, w_max_mv=5.0)
    w_all, _ = pair_network(PairSTDP(**rule), [40, 45, 50], [55])
    w_nearest, _ = pair_network(PairSTDP(**rule, nearest=True), [40, 45, 50], [55])
    e = math.exp(-1 / 4)  # 5 ms at tau 20 ms
    assert w_all == pytest.approx(0.5 + 0.01 * (e + e ** 2 + e ** 3), rel=1e-9)
    assert w_nearest == pytest.approx(0.5 + 0.01 * e, rel=1e-9)


def test_dales_law_is_checked_on_weights_and_plastic_bounds():
    from snn.spec import PairSTDP

    def spec(weights, rule=None):
        return NetworkSpec(
            (PopulationSpec("in", 2, kind="input", dale="exc"), PopulationSpec("out", 1)),
            (ProjectionSpec("p", "in", "out", np.array([0, 1], np.int32), np.array([0, 0], np.int32),
                            np.asarray(weights, float), plasticity=rule),),
            readout="out")
    spec([0.5, 1.0], PairSTDP(w_min_mv=0.0)).validate()
    with pytest.raises(ValueError, match="Dale's law"):
        spec([0.5, -1.0]).validate()
    with pytest.raises(ValueError, match=r"plasticity\.w_min_mv"):
        spec([0.5, 1.0], PairSTDP(w_min_mv=-1.0)).validate()


@pytest.mark.parametrize("kind", ["alif", "lif_adapt"])
def test_adaptation_lengthens_intervals_inside_the_engine(kind):
    from snn.spec import ModelParams

    lif = LIFParams(v_th_mv=10.0, tau_exc_ms=1000.0, refractory_ms=1.0)
    spec = NetworkSpec(
        (PopulationSpec("in", 1, kind="input"),
         PopulationSpec("n", 1, kind=kind, lif=lif, model=ModelParams(tau_adapt_ms=300.0, d_theta_mv=2.0, d_w_mv=2.0))),
        (ProjectionSpec("drive", "in", "n", np.array([0], np.int32), np.array([0], np.int32), np.array([40.0])),),
        readout="n")
    backend = open_backend("numba?dtype=float64")
    backend.load(spec, seed=0)
    out = backend.step(SpikeFrames.from_lists([[0]] + [[]] * 599), 0.0)
    ticks = np.repeat(np.arange(600), np.diff(out.tick_ptr))
    isi = np.diff(ticks)
    assert len(isi) >= 3 and isi[-1] > isi[0]


@pytest.mark.guard  # README "The SNN engine": pair STDP, additive, the documented window on both sides
@pytest.mark.parametrize("lag", [1, 3, 8, 20])
def test_pair_stdp_window_is_exponential_on_both_sides(lag):
    from snn.spec import PairSTDP

    rule = PairSTDP(tau_pre_ms=20.0, tau_post_ms=30.0, a_pre_mv=0.01, a_post_mv=-0.02, w_max_mv=5.0)
    w_causal, _ = pair_network(rule, [50], [50 + lag])        # pre before post: potentiation
    w_acausal, _ = pair_network(rule, [50 + lag], [50])       # post before pre: depression
    assert w_causal == pytest.approx(0.5 + 0.01 * math.exp(-lag / 20.0), rel=1e-9)
    assert w_acausal == pytest.approx(0.5 - 0.02 * math.exp(-lag / 30.0), rel=1e-9)
