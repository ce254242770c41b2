"""snn.engine.kernel building blocks: Poisson spikes (geometric_ticks, poisson_spikes) against their statistics
and a plain-Python reference, and the per-projection kernels (propagate_projection with its dense fast paths,
postsynaptic_plasticity, apply_dopamine, decay_range, spikes_from_flags) against naive.synapses / naive.plasticity."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.network import NEVER, geometric_ref, log_keep_ref  # noqa: E402
from naive.plasticity import apply_dopamine_ref, postsynaptic_ref  # noqa: E402
from naive.rng import XorShift64Star  # noqa: E402
from naive.synapses import NaiveProjection, propagate_ref  # noqa: E402
from snn.engine.kernel import (  # noqa: E402
    apply_dopamine, decay_range, dense_row_add, spikes_from_flags, dense_row_pair_stdp, geometric_ticks, poisson_spikes,
    postsynaptic_plasticity, propagate_projection,
)
from snn.frames import SpikeFrames  # noqa: E402
from snn.engine.numba_backend import NumbaBackend  # noqa: E402
from snn.rng import make_rng_state  # noqa: E402
from snn.spec import LIFParams, NetworkSpec, PairSTDP, PopulationSpec, ProjectionSpec, RewardSTDP  # noqa: E402


def binomial_tolerance(n: int, p: float, sigmas: float = 5.0) -> float:
    return sigmas * math.sqrt(n * p * (1.0 - p))


# --- geometric_ticks / poisson_spikes ------------------------------------------------------------------------


def test_geometric_ticks_edge_cases():
    rng_state = make_rng_state(0)
    before = rng_state.copy()
    assert geometric_ticks(0.0, rng_state) == NEVER == 1 << 60  # p = 0: never, without a draw
    assert np.array_equal(rng_state, before)
    log_keep_p1 = -math.inf  # p = 1: log(1 - p) = -inf, every tick
    assert all(geometric_ticks(log_keep_p1, rng_state) == 1 for _ in range(100))


def test_geometric_ticks_matches_reference():
    rng_state = make_rng_state(5)
    ref = XorShift64Star(int(rng_state[0]))
    for p in (1e-4, 0.01, 0.3, 0.9, 0.999999):
        log_keep = math.log1p(-p)
        for _ in range(200):
            assert geometric_ticks(log_keep, rng_state) == geometric_ref(log_keep, ref)
    assert int(rng_state[0]) == ref.state


@pytest.mark.parametrize("p", [0.02, 0.2, 0.7])
def test_geometric_ticks_is_geometric(p):
    """P(k) = p (1 - p)^(k - 1) for k >= 1, mean 1 / p."""
    rng_state = make_rng_state(int(p * 1000))
    n = 20000
    draws = np.array([geometric_ticks(math.log1p(-p), rng_state) for _ in range(n)])
    assert draws.min() >= 1
    for k in (1, 2, 3, 5):
        expected = n * p * (1.0 - p) ** (k - 1)
        assert abs(np.count_nonzero(draws == k) - expected) < binomial_tolerance(n, p * (1.0 - p) ** (k - 1)), k
    assert abs(draws.mean() - 1.0 / p) < 5.0 * math.sqrt((1.0 - p) / n) / p


def run_poisson(prob: np.ndarray, n_ticks: int, seed: int, lo: int = 0, hi: int | None = None):
    """poisson_spikes tick by tick from a geometric first schedule; returns spike ticks per neuron."""
    n = len(prob)
    hi = n if hi is None else hi
    with np.errstate(divide="ignore"):
        log_keep = np.where(prob > 0, np.log1p(-prob), 0.0)
    rng_state = make_rng_state(seed)
    next_tick = np.array([geometric_ticks(lk, rng_state) - 1 for lk in log_keep], dtype=np.int64)
    spiked = np.zeros(n + 2, dtype=np.int32)
    trains = [[] for _ in range(n)]
    for tick in range(n_ticks):
        spiked[:2] = [-7, -8]
        n_spiked = poisson_spikes(next_tick, log_keep, lo, hi, tick, rng_state, spiked, 2)
        assert spiked[0] == -7 and spiked[1] == -8
        ids = spiked[2:n_spiked]
        assert np.all(np.diff(ids) > 0)  # neuron order
        for j in ids:
            trains[j].append(tick)
    return trains, next_tick, rng_state


def test_poisson_spikes_matches_reference():
    prob = np.array([0.0, 0.05, 0.3, 1.0, 0.6, 0.01])
    trains, next_tick, rng_state = run_poisson(prob, 300, seed=3, lo=1, hi=6)
    ref = XorShift64Star(int(make_rng_state(3)[0]))
    log_keep = [log_keep_ref(p) for p in prob]
    ref_next = [geometric_ref(lk, ref) - 1 for lk in log_keep]
    ref_trains = [[] for _ in prob]
    for tick in range(300):
        for j in range(1, 6):
            if ref_next[j] == tick:
                ref_trains[j].append(tick)
                ref_next[j] = tick + geometric_ref(log_keep[j], ref)
    assert trains == ref_trains
    assert next_tick.tolist() == ref_next and int(rng_state[0]) == ref.state
    assert trains[0] == [] and trains[3] == list(range(300))  # neuron 0 is outside lo..hi; p = 1 every tick


def test_poisson_spikes_rate_and_isi_statistics():
    """Each neuron is a Bernoulli(p) process per tick: the spike count of a group of n neurons over T ticks is
    Binomial(n T, p) and the fraction of inter-spike intervals of 1 tick is p."""
    groups = (0.01, 0.1, 0.45)
    n_per_group, n_ticks = 100, 1500
    prob = np.repeat(groups, n_per_group)
    trains, _, _ = run_poisson(prob, n_ticks, seed=11)
    for g, p in enumerate(groups):
        group = trains[g * n_per_group:(g + 1) * n_per_group]
        count = sum(len(t) for t in group)
        n_trials = n_per_group * n_ticks
        assert abs(count - n_trials * p) < binomial_tolerance(n_trials, p), p
        isi = np.concatenate([np.diff(t) for t in group])
        assert abs(np.mean(isi == 1) - p) < 5.0 * math.sqrt(p * (1.0 - p) / len(isi)), p
        assert abs(isi.mean() - 1.0 / p) < 5.0 * math.sqrt((1.0 - p) / len(isi)) / p, p


def relay_spec(rates_hz: np.ndarray, dt_us: int) -> NetworkSpec:
    """Poisson neurons, each relayed one-to-one by a LIF neuron that fires exactly one tick after each of its
    Poisson neuron's spikes (huge weight, input time constant << dt, no refractory period)."""
    n = len(rates_hz)
    relay = LIFParams(tau_mem_ms=10.0, tau_exc_ms=0.01, v_th_mv=10.0, refractory_ms=0.0)
    return NetworkSpec(
        (PopulationSpec("poi", n, kind="poisson", rate_hz=rates_hz), PopulationSpec("relay", n, lif=relay)),
        (ProjectionSpec("p", "poi", "relay", np.arange(n), np.arange(n), np.full(n, 1e6)),),
        readout="relay", dt_us=dt_us,
    )


def test_poisson_population_rate_through_the_backend():
    """NumbaBackend converts rate_hz to p = rate dt per tick (dt = 0.5 ms here), draws the first spike
    geometrically from tick 0 (numpy default_rng(seed)) and the rest in the kernel: counts and ISIs match."""
    dt_us, n_ticks = 500, 3000
    rates = {200.0: 80, 800.0: 80, 0.0: 5, 2000.0: 5}  # rate_hz -> neurons; 2000 Hz at 0.5 ms is p = 1
    rates_hz = np.concatenate([np.full(n, r) for r, n in rates.items()])
    backend = NumbaBackend("float64")
    backend.load(relay_spec(rates_hz, dt_us), seed=21)
    first = backend.state()["numba/next_tick"][:len(rates_hz)]
    out = backend.step(SpikeFrames.empty(n_ticks + 1), 0.0)  # relay spikes lag by one tick
    trains = [[] for _ in rates_hz]
    for k in range(1, out.n_ticks):
        for j in out.tick(k):
            trains[j].append(k - 1)
    start = 0
    for rate, n in rates.items():
        p = rate * dt_us / 1e6
        group, first_group = trains[start:start + n], first[start:start + n]
        start += n
        count, n_trials = sum(len(t) for t in group), n * n_ticks
        assert abs(count - n_trials * p) <= binomial_tolerance(n_trials, p), rate
        if p == 0.0:
            assert np.all(first_group == NEVER)
            continue
        assert all(t[0] == f for t, f in zip(group, first_group))  # the relay shows the Poisson spikes
        if p == 1.0:
            assert all(t == list(range(n_ticks)) for t in group)
            continue
        assert abs(np.mean(first_group == 0) - p) <= 5.0 * math.sqrt(p * (1 - p) / n), rate
        isi = np.concatenate([np.diff(t) for t in group])
        assert abs(np.mean(isi == 1) - p) < 5.0 * math.sqrt(p * (1.0 - p) / len(isi)), rate


# --- per-projection kernels ----------------------------------------------------------------------------------

N_IN, N_A, N_B = 6, 5, 4
PAIR = PairSTDP(tau_pre_ms=10.0, tau_post_ms=15.0, a_pre_mv=0.4, a_post_mv=-0.3, w_min_mv=0.5, w_max_mv=4.0)
REWARD = RewardSTDP(tau_eligibility_ms=30.0, a_plus=0.7, a_minus=0.9, learning_rate=0.3, w_min_mv=0.5,
                    w_max_mv=4.0)


def kernel_spec(rule, dense: bool, port: str) -> NetworkSpec:
    """A filler projection first (so the one under test has non-zero row and column offsets), then A -> B."""
    gen = np.random.default_rng(7)
    if dense:
        pre, post = np.repeat(np.arange(N_A), N_B), np.tile(np.arange(N_B), N_A)
    else:  # unsorted, with a repeated pair, a silent presynaptic neuron (4) and an unreached target (3)
        pre, post = np.array([3, 0, 2, 0, 1, 3, 0, 2]), np.array([1, 2, 0, 2, 1, 0, 0, 2])
    weights = gen.uniform(0.0, 4.5, len(pre))  # some outside [w_min, w_max]: clipped on their first update
    return NetworkSpec(
        (PopulationSpec("in", N_IN, kind="input"), PopulationSpec("A", N_A), PopulationSpec("B", N_B)),
        (ProjectionSpec("filler", "in", "A", np.array([0, 5, 5]), np.array([1, 1, 4]), np.ones(3)),
         ProjectionSpec("p", "A", "B", pre, post, weights, rule, port=port)),
        readout="B",
    )


@pytest.mark.parametrize("learn", [True, False])
@pytest.mark.parametrize("rule", [None, PAIR, REWARD], ids=["fixed", "pair", "reward"])
@pytest.mark.parametrize("dense", [True, False], ids=["dense", "sparse"])
def test_projection_kernels_match_reference(dense, rule, learn):
    spec = kernel_spec(rule, dense, port="inh" if rule is None else "exc")
    b = NumbaBackend("float64")
    b.load(spec, seed=0)
    net = b.net
    assert list(net.proj_dense) == [False, dense]
    offsets = spec.offsets()
    ref = NaiveProjection(spec, spec.projections[1], offsets, spec.dt_us / 1000.0)
    perm = np.argsort(spec.projections[1].pre_idx, kind="stable")  # spec index of each table slot ...
    table = slice(3, 3 + len(perm))  # ... of this projection (after the filler's 3 synapses)
    gen = np.random.default_rng(1)
    n = spec.n_neurons
    weight, eligibility = net.weight_mv.copy(), np.zeros(net.n_synapses)
    start = gen.normal(0.0, 1.0, len(perm))
    eligibility[table], ref.eligibility = start[perm], start.tolist()
    g_exc, g_inh = gen.normal(0.0, 1.0, n), gen.normal(0.0, 1.0, n)
    ref_g_exc, ref_g_inh = g_exc.tolist(), g_inh.tolist()
    g_exc0, g_inh0 = g_exc.copy(), g_inh.copy()
    filler = weight[:3].copy()
    spiked = np.zeros(n + 4, dtype=np.int32)
    for round_ in range(8):
        pre_trace, post_trace = gen.uniform(0.0, 3.0, n), gen.uniform(0.0, 3.0, n)
        ids = np.flatnonzero(gen.random(n) < 0.5).astype(np.int32)  # any population, shuffled
        gen.shuffle(ids)
        spiked[:len(ids)], spiked[len(ids):] = ids, offsets["A"]  # a stale tail must be ignored
        propagate_projection(spiked, len(ids), net.proj_pre_lo[1], net.proj_pre_hi[1], net.proj_post_lo[1],
                             net.proj_dense[1], net.proj_rule[1], net.proj_rule_params[1], net.proj_row_off[1],
                             net.row_ptr, net.syn_post, weight, eligibility, post_trace, np.zeros(n),
                             g_exc if net.proj_port[1] == 0 else g_inh, np.ones(n), False, learn)
        propagate_ref(ref, ids.tolist(), ref_g_exc, ref_g_inh, post_trace, learn)
        if rule is not None:
            postsynaptic_plasticity(spiked, len(ids), net.proj_pre_lo[1], net.proj_pre_hi[1], net.proj_post_lo[1],
                                    net.proj_post_hi[1], net.proj_rule[1], net.proj_rule_params[1], net.proj_in_off[1],
                                    net.proj_dense[1], net.row_ptr[net.proj_row_off[1]], net.in_ptr, net.in_syn,
                                    net.syn_pre, weight, eligibility, pre_trace, np.zeros(n), learn)
        postsynaptic_ref(ref, ids.tolist(), pre_trace, learn)
        dopamine = float(gen.normal(0.0, 2.0))
        if rule is REWARD:
            s0, s1 = net.proj_syn_lo[1], net.proj_syn_hi[1]
            apply_dopamine(net.proj_rule_params[1], s0, s1, weight, eligibility, dopamine, learn)
        apply_dopamine_ref(ref, dopamine, learn)
        np.testing.assert_allclose(weight[table], np.array(ref.weight)[perm], rtol=0, atol=1e-12)
        np.testing.assert_allclose(eligibility[table], np.array(ref.eligibility)[perm], rtol=0, atol=1e-12)
        np.testing.assert_allclose(g_exc, ref_g_exc, rtol=0, atol=1e-12)
        np.testing.assert_allclose(g_inh, ref_g_inh, rtol=0, atol=1e-12)
    assert np.array_equal(weight[:3], filler)  # the other projection is untouched
    w0 = np.asarray(spec.projections[1].weight_mv)
    assert np.array_equal(np.asarray(ref.weight), w0) == (rule is None or not learn)
    if rule is not None and learn:
        assert min(ref.weight) >= 0.5 and max(ref.weight) <= 4.0
    port_before, port_after = (g_inh0, g_inh) if rule is None else (g_exc0, g_exc)
    b_lo = offsets["B"]
    assert np.all(port_after[b_lo:b_lo + 3] != port_before[b_lo:b_lo + 3])  # B3 has no synapse when sparse
    assert np.array_equal(port_after[:b_lo], port_before[:b_lo])
    other_before, other_after = (g_exc0, g_exc) if rule is None else (g_inh0, g_inh)
    assert np.array_equal(other_after, other_before)  # the other port is untouched


def test_dense_row_add_and_pair_stdp_hand_example():
    target, post_trace = np.zeros(6), np.array([0.0, 0.0, 1.0, 2.0, 0.5, 9.0])
    weight = np.array([9.0, 1.0, 2.0, 3.0, 4.0])
    dense_row_add(target, weight, 1, 3, 2, 1.0)  # weights 1..3 onto neurons 2..4
    assert target.tolist() == [0.0, 0.0, 1.0, 2.0, 3.0, 0.0]
    dense_row_pair_stdp(target, weight, post_trace, 1, 3, 2, 1.5, 0.0, 2.5, 1.0)  # depression magnitude 1.5
    assert target.tolist() == [0.0, 0.0, 2.0, 4.0, 6.0, 0.0]  # adds the weights before their update
    assert weight.tolist() == [9.0, 0.0, 0.0, 2.25, 4.0]  # 1 - 1.5 -> 0 (clipped), 2 - 3 -> 0, 3 - 0.75


def test_apply_dopamine_clips_and_decays_every_tick():
    b = NumbaBackend("float64")
    rule = RewardSTDP(tau_eligibility_ms=1.0 / math.log(2.0), learning_rate=1.0, w_min_mv=0.0, w_max_mv=2.0)
    spec = NetworkSpec((PopulationSpec("in", 3, kind="input"), PopulationSpec("A", 1)),
                       (ProjectionSpec("p", "in", "A", np.arange(3), np.zeros(3, int), np.ones(3), rule),),
                       readout="A")
    b.load(spec, seed=0)
    weight, eligibility = np.ones(3), np.array([100.0, -100.0, 0.1])
    apply_dopamine(b.net.proj_rule_params[0], 0, 3, weight, eligibility, 1.0, True)
    assert weight.tolist() == [2.0, 0.0, 1.1]
    np.testing.assert_allclose(eligibility, [50.0, -50.0, 0.05], rtol=1e-14)
    apply_dopamine(b.net.proj_rule_params[0], 0, 3, weight, eligibility, 5.0, False)  # not learning: still decays
    assert weight.tolist() == [2.0, 0.0, 1.1]
    np.testing.assert_allclose(eligibility, [25.0, -25.0, 0.025], rtol=1e-14)


def test_decay_range():
    trace, decay = np.arange(1.0, 7.0), np.full(6, 0.5)
    decay_range(trace, decay, 2, 5)
    assert trace.tolist() == [1.0, 2.0, 1.5, 2.0, 2.5, 6.0]


def test_spikes_from_flags_finds_every_flag_in_id_order_at_any_alignment():
    rng = np.random.default_rng(3)
    for lo, hi in [(0, 64), (3, 61), (5, 6), (0, 1), (17, 40), (31, 33), (40, 96), (63, 64)]:
        fired = np.zeros(96, dtype=np.uint8)
        fired[lo:hi] = rng.random(hi - lo) < 0.2
        want = np.flatnonzero(fired).tolist()
        v, refractory = np.full(96, 5.0), np.zeros(96, dtype=np.int32)
        spiked = np.full(96, -1, dtype=np.int32)
        n = spikes_from_flags(fired, v, refractory, lo, hi, -1.0, 3, spiked, 0)
        assert spiked[:n].tolist() == want
        assert np.all(v[want] == -1.0) and np.all(refractory[want] == 3)
        assert not fired.any()
