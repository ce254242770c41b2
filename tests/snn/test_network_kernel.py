"""snn.engine.kernel.run_ticks through NumbaBackend against a plain-Python network (naive.network), plus
state()/restore(), determinism, float32 and the engine bugs found while writing these tests (xfail)."""
from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import snn.engine.numba_backend as numba_backend  # noqa: E402
from naive.network import NaiveNetwork  # noqa: E402
from snn.frames import SpikeFrames  # noqa: E402
from snn.engine.numba_backend import NumbaBackend  # noqa: E402
from snn.spec import (  # noqa: E402
    LIFParams, NetworkSpec, PairSTDP, PopulationSpec, ProjectionSpec, RewardSTDP,
)

N_INPUT, N_POISSON, N_A, N_B = 5, 4, 4, 3
BLOCK_TICKS = 20
RATES_HZ = np.array([80.0, 250.0, 0.0, 500.0])  # one silent Poisson neuron
REWARD = RewardSTDP(tau_pre_ms=10.0, tau_post_ms=15.0, tau_eligibility_ms=50.0, tau_baseline_ms=30.0,
                    a_plus=1.0, a_minus=0.8, learning_rate=0.5, w_min_mv=0.0, w_max_mv=9.0)
PAIR = PairSTDP(tau_pre_ms=10.0, tau_post_ms=15.0, a_pre_mv=0.4, a_post_mv=-0.3, w_min_mv=0.0, w_max_mv=9.0)
# the plastic projections in_A (dense), A_B (dense), in_B (sparse), poi_B (sparse) under each rule set
RULE_SETS = {
    "reward": (REWARD, replace(REWARD, tau_eligibility_ms=20.0, a_plus=0.5, w_min_mv=0.5, w_max_mv=2.5),
               REWARD, replace(REWARD, learning_rate=0.2)),
    "pair": (PAIR, replace(PAIR, w_min_mv=0.5, w_max_mv=2.5), PAIR, replace(PAIR, a_pre_mv=0.8)),
    "mixed": (REWARD, PAIR, PAIR, REWARD),
}
PROJECTIONS = ("in_A", "poi_A", "A_B", "B_A", "in_B", "poi_B", "A_A", "empty")
PLASTIC = ("in_A", "A_B", "in_B", "poi_B")
DENSE = ("in_A", "A_B")


def i32(xs) -> np.ndarray:
    return np.array(xs, dtype=np.int32)


def all_to_all(n_pre: int, n_post: int, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return i32(np.repeat(np.arange(n_pre), n_post)), i32(np.tile(np.arange(n_post), n_pre)), weights


def make_spec(rules: str = "reward", noise_mv: float = 0.0, learning: bool = True, dt_us: int = 1000) -> NetworkSpec:
    """input (5) + Poisson (4) -> LIF A (4) <-> LIF B (3); exc and inh ports with different time constants
    (B's tau_inh equals its tau_mem: the equal-tau gain); dense all-to-all and sparse projections."""
    lif_a = LIFParams(tau_mem_ms=10.0, tau_exc_ms=4.0, tau_inh_ms=8.0, v_rest_mv=0.0, v_reset_mv=-1.0,
                      v_th_mv=6.0, refractory_ms=2.0, noise_mv=noise_mv)
    lif_b = LIFParams(tau_mem_ms=15.0, tau_exc_ms=3.0, tau_inh_ms=15.0, v_rest_mv=0.5, v_reset_mv=0.0,
                      v_th_mv=5.0, refractory_ms=1.0, noise_mv=noise_mv / 2)
    r_in_a, r_a_b, r_in_b, r_poi_b = RULE_SETS[rules]
    gen = np.random.default_rng(123)
    projections = (
        ProjectionSpec("in_A", "in", "A", *all_to_all(N_INPUT, N_A, gen.uniform(1.0, 5.0, N_INPUT * N_A)), r_in_a),
        ProjectionSpec("poi_A", "poi", "A", i32([0, 1, 3, 3, 1]), i32([1, 0, 2, 3, 3]),
                       np.array([4.0, 3.0, 5.0, 2.0, 3.0])),
        ProjectionSpec("A_B", "A", "B", *all_to_all(N_A, N_B, gen.uniform(1.0, 4.0, N_A * N_B)), r_a_b),
        ProjectionSpec("B_A", "B", "A", i32([2, 0, 1]), i32([0, 3, 1]), np.array([-4.0, -3.0, -5.0]), port="inh"),
        # unsorted pre ids and a repeated (pre, post) pair on purpose (the back end sorts stably by pre)
        ProjectionSpec("in_B", "in", "B", i32([3, 0, 1, 4, 2, 0, 2, 0]), i32([0, 1, 1, 2, 2, 0, 0, 1]),
                       np.array([4.0, 5.0, 3.5, 6.0, 4.5, 2.0, 8.5, 1.0]), r_in_b),
        ProjectionSpec("poi_B", "poi", "B", i32([2, 1, 0, 3]), i32([1, 2, 0, 0]), np.array([2.0, 3.0, 2.5, 1.5]),
                       r_poi_b),
        ProjectionSpec("A_A", "A", "A", i32([1, 3]), i32([3, 1]), np.array([-3.0, -2.0]), port="inh"),
        ProjectionSpec("empty", "in", "A", i32([]), i32([]), np.zeros(0)),
    )
    pops = (
        PopulationSpec("in", N_INPUT, kind="input"),
        PopulationSpec("poi", N_POISSON, kind="poisson", rate_hz=RATES_HZ),
        PopulationSpec("A", N_A, lif=lif_a),
        PopulationSpec("B", N_B, lif=lif_b, v_init_mv=np.array([4.9, -2.0, 1.0])),
    )
    return NetworkSpec(pops, projections, readout="B", dt_us=dt_us, learning=learning)


def random_blocks(seed: int, n_blocks: int, p: float = 0.35):
    gen = np.random.default_rng(seed)
    blocks = []
    for _ in range(n_blocks):
        ticks = [np.flatnonzero(gen.random(N_INPUT) < p).tolist() for _ in range(BLOCK_TICKS)]
        for t in ticks:
            gen.shuffle(t)  # input ids need not be sorted
        blocks.append((ticks, float(gen.normal(0.0, 1.0))))
    return blocks


def frames_as_lists(frames: SpikeFrames) -> list[list[int]]:
    return [frames.tick(k).tolist() for k in range(frames.n_ticks)]


def csr_order(spec: NetworkSpec) -> np.ndarray:
    """Spec synapse index of each synapse in the back end's table (per projection, stable sort by pre)."""
    parts, start = [], 0
    for proj in spec.projections:
        parts.append(np.argsort(proj.pre_idx, kind="stable") + start)
        start += len(proj.pre_idx)
    return np.concatenate(parts).astype(np.int64)


def load(spec: NetworkSpec, seed: int, dtype: str = "float64") -> NumbaBackend:
    backend = NumbaBackend(dtype)
    backend.load(spec, seed)
    return backend


def flat_state(backend: NumbaBackend) -> dict[str, np.ndarray]:
    """The back end's whole-network arrays (global neuron ids, synapses in CSR order): its internals, which
    only this back end's own tests read."""
    return {key: np.array(value, copy=True) for key, value in (
        ("weight_mv", backend.syn.weight_mv), ("eligibility", backend.syn.eligibility),
        ("v_mv", backend.neurons.v_mv), ("g_exc_mv", backend.neurons.g_exc_mv), ("g_inh_mv", backend.neurons.g_inh_mv),
        ("refractory_left", backend.neurons.refractory_left), ("next_tick", backend.neurons.next_tick),
        ("pre_trace", backend.traces.pre), ("post_trace", backend.traces.post), ("tick", backend.tick),
        ("reward_baseline", backend.reward_baseline), ("rng_state", backend.rng_state))}


def assert_same_as_reference(backend: NumbaBackend, ref: NaiveNetwork, spec: NetworkSpec, atol: float = 1e-9) -> None:
    for proj in spec.projections:
        np.testing.assert_allclose(backend.read(f"projection/{proj.name}/weight_mv"), ref.projection(proj.name).weight,
                                   rtol=0, atol=atol)
    state = flat_state(backend)
    order = csr_order(spec)
    np.testing.assert_allclose(state["weight_mv"], np.array(ref.weight)[order], rtol=0, atol=atol)
    np.testing.assert_allclose(state["eligibility"], np.array(ref.eligibility)[order], rtol=0, atol=atol)
    for key, expected in (("v_mv", ref.v), ("g_exc_mv", ref.g_exc), ("g_inh_mv", ref.g_inh),
                          ("pre_trace", ref.pre_trace), ("post_trace", ref.post_trace)):
        np.testing.assert_allclose(state[key], expected, rtol=0, atol=atol, err_msg=key)
    assert state["refractory_left"].tolist() == ref.refractory_left
    assert state["next_tick"].tolist() == ref.next_tick
    assert int(state["tick"][0]) == ref.t
    assert state["reward_baseline"][0] == pytest.approx(ref.baseline, abs=1e-12)
    assert int(state["rng_state"][0]) == ref.rng.state


@pytest.mark.parametrize("noise_mv", [0.0, 1.5])
@pytest.mark.parametrize("learning", [True, False])
@pytest.mark.parametrize("rules", ["reward", "pair", "mixed"])
def test_numba_backend_matches_reference(rules, learning, noise_mv):
    spec = make_spec(rules, noise_mv=noise_mv, learning=learning)
    backend = load(spec, seed=4)
    assert [backend.net.proj_dense[c] for c in range(len(PROJECTIONS))] == [p in DENSE for p in PROJECTIONS]
    ref = NaiveNetwork(spec, seed=4)
    assert_same_as_reference(backend, ref, spec)  # initial state, incl. the Poisson schedule and v_init_mv
    w0 = {p.name: backend.read(f"projection/{p.name}/weight_mv") for p in spec.projections}
    n_out = 0
    for ticks, reward in random_blocks(0, 12):
        out = backend.step(SpikeFrames.from_lists(ticks), reward)
        expected = ref.step(ticks, reward)
        assert out.n_ticks == BLOCK_TICKS
        assert frames_as_lists(out) == expected
        n_out += out.n_spikes
        assert_same_as_reference(backend, ref, spec)
    # the comparison is not vacuous: every population with a drive fired, Poisson neuron 2 (0 Hz) never
    counts = np.array(ref.spike_count)
    poi, a, b = counts[N_INPUT:N_INPUT + N_POISSON], counts[9:9 + N_A], counts[13:]
    assert poi[2] == 0 and np.all(poi[[0, 1, 3]] > 0)
    assert a.sum() > 20 and b.sum() > 20 and n_out == b.sum()
    changed = {p: not np.array_equal(w0[p], backend.read(f"projection/{p}/weight_mv")) for p in PROJECTIONS}
    assert changed == {p: learning and p in PLASTIC for p in PROJECTIONS}


def test_set_learning_off_freezes_weights_but_not_traces():
    spec = make_spec("reward")
    backend = load(spec, seed=1)
    ref = NaiveNetwork(spec, seed=1)
    blocks = random_blocks(5, 10)
    for ticks, reward in blocks[:4]:
        backend.step(SpikeFrames.from_lists(ticks), reward)
        ref.step(ticks, reward)
    backend.set_learning(False)
    ref.learning = False
    before = flat_state(backend)
    for ticks, reward in blocks[4:]:
        assert frames_as_lists(backend.step(SpikeFrames.from_lists(ticks), reward)) == ref.step(ticks, reward)
    after = flat_state(backend)
    assert np.array_equal(after["weight_mv"], before["weight_mv"])
    assert np.array_equal(after["reward_baseline"], before["reward_baseline"])
    assert not np.array_equal(after["eligibility"], before["eligibility"])
    assert not np.array_equal(after["pre_trace"], before["pre_trace"])
    assert_same_as_reference(backend, ref, spec)
    backend.set_learning(True)
    ticks, reward = blocks[0]
    backend.step(SpikeFrames.from_lists(ticks), 3.0)
    assert not np.array_equal(flat_state(backend)["weight_mv"], before["weight_mv"])


def test_pair_stdp_off_line_has_no_effect_on_weights():
    spec = make_spec("pair", learning=False)
    backend = load(spec, seed=2)
    w0 = flat_state(backend)["weight_mv"]
    for ticks, reward in random_blocks(3, 5):
        backend.step(SpikeFrames.from_lists(ticks), reward)
    state = flat_state(backend)
    assert np.array_equal(state["weight_mv"], w0)
    assert np.all(state["eligibility"] == 0.0) and state["reward_baseline"][0] == 0.0  # no reward rule
    assert state["post_trace"].max() > 0.0


def test_small_output_buffer_grows_and_gives_the_same_result(monkeypatch):
    spec = make_spec("reward", noise_mv=1.0)
    blocks = random_blocks(4, 6)
    big = load(spec, seed=5)
    monkeypatch.setattr(numba_backend, "MIN_OUT_CAPACITY", 4)  # run_ticks must stop early and resume
    small = load(spec, seed=5)
    assert len(small._out_ids) == 4
    for ticks, reward in blocks:
        frames = SpikeFrames.from_lists(ticks * 3)
        a, b = big.step(frames, reward), small.step(frames, reward)
        assert np.array_equal(a.tick_ptr, b.tick_ptr) and np.array_equal(a.neuron_ids, b.neuron_ids)
    assert len(small._out_ids) > 4
    sa, sb = big.state(), small.state()
    assert all(np.array_equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("noise_mv", [0.0, 1.0])
def test_float32_runs_and_stays_close_to_float64(noise_mv):
    """float32 state: same spike trains as float64 over a short run (no spike lands within float32 rounding of
    the threshold here), potentials and weights within 1e-4 mV; with noise the spike trains may part
    (a threshold crossing flips), so then only the first blocks are compared."""
    blocks = random_blocks(8, 4 if noise_mv == 0.0 else 2)
    b64 = load(make_spec("reward", noise_mv=noise_mv), seed=6)
    b32 = load(make_spec("reward", noise_mv=noise_mv), seed=6, dtype="float32")
    state32 = flat_state(b32)
    for key in ("weight_mv", "v_mv", "g_exc_mv", "g_inh_mv", "pre_trace", "post_trace", "eligibility"):
        assert state32[key].dtype == np.float32, key
    assert b32.read("projection/in_A/weight_mv").dtype == np.float32
    n_spikes = 0
    for ticks, reward in blocks:
        frames = SpikeFrames.from_lists(ticks)
        out64, out32 = b64.step(frames, reward), b32.step(frames, reward)
        assert frames_as_lists(out32) == frames_as_lists(out64)
        n_spikes += out64.n_spikes
    assert n_spikes > 5
    s64, s32 = flat_state(b64), flat_state(b32)
    for key in ("weight_mv", "v_mv", "g_exc_mv", "g_inh_mv", "pre_trace", "post_trace", "eligibility"):
        np.testing.assert_allclose(s32[key], s64[key], rtol=1e-5, atol=1e-4, err_msg=key)
    for key in ("refractory_left", "next_tick", "rng_state", "tick", "reward_baseline"):
        assert np.array_equal(s32[key], s64[key]), key


def test_state_restore_round_trip_gives_identical_continuation():
    spec = make_spec("reward", noise_mv=1.0)
    blocks = random_blocks(2, 12)
    a = load(spec, seed=3)
    for ticks, reward in blocks[:5]:
        a.step(SpikeFrames.from_lists(ticks), reward)
    saved = a.state()
    first = [frames_as_lists(a.step(SpikeFrames.from_lists(t), r)) for t, r in blocks[5:]]
    end_a = a.state()
    # the same back end rewound, and a fresh one loaded with another seed (another Poisson schedule and RNG),
    # continue identically
    b = load(spec, seed=99)
    assert not np.array_equal(b.state()["numba/next_tick"], load(spec, seed=3).state()["numba/next_tick"])
    for backend in (a, b):
        backend.restore(saved)
        again = [frames_as_lists(backend.step(SpikeFrames.from_lists(t), r)) for t, r in blocks[5:]]
        assert again == first
        end = backend.state()
        assert end.keys() == end_a.keys()
        for key in end:
            assert np.array_equal(end[key], end_a[key]), key


def test_state_is_a_copy():
    backend = load(make_spec(), seed=0)
    state = backend.state()
    state["projection/in_A/weight_mv"][:] = 123.0
    assert not np.any(backend.state()["projection/in_A/weight_mv"] == 123.0)


@pytest.mark.parametrize("key", ["projection/in_A/weight_mv", "projection/in_B/eligibility", "population/A/v_mv",
                                 "population/B/g_inh_mv", "numba/next_tick", "numba/rng_state",
                                 "population/A/refractory_ticks", "network/reward_baseline"])
def test_restore_wrong_shape_names_the_array(key):
    backend = load(make_spec(), seed=0)
    state = backend.state()
    state[key] = np.zeros(len(state[key]) + 1, dtype=state[key].dtype)
    before = backend.state()
    with pytest.raises(ValueError, match=repr(key)):
        backend.restore(state)
    after = backend.state()  # nothing was half-restored
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_restore_wrong_type_missing_extra_or_non_finite_array_names_it():
    backend = load(make_spec(), seed=0)
    before = backend.state()
    cases = {
        "population/A/refractory_ticks": lambda s, k: s.__setitem__(k, s[k].astype(np.float64)),
        "projection/in_A/weight_mv": lambda s, k: s.__setitem__(k, s[k].astype(np.int64)),
        "population/A/post_trace": lambda s, k: s.pop(k),
        "projection/nope/weight_mv": lambda s, k: s.__setitem__(k, np.zeros(3)),
        "population/B/v_mv": lambda s, k: s[k].__setitem__(0, np.nan),
    }
    for key, spoil in cases.items():
        state = backend.state()
        spoil(state, key)
        with pytest.raises(ValueError, match=repr(key)):
            backend.restore(state)
    after = backend.state()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_portable_state_moves_between_float_types_and_ignores_other_back_ends_extras():
    """A float32 state restores into a float64 network (and back): the continuation stays close; private
    arrays of another back end are ignored, and without this back end's own extras it still runs."""
    spec = make_spec("reward", noise_mv=0.0)
    blocks = random_blocks(9, 6)
    b32 = load(spec, seed=3, dtype="float32")
    for ticks, reward in blocks[:3]:
        b32.step(SpikeFrames.from_lists(ticks), reward)
    saved = b32.state()
    b64 = load(spec, seed=3)
    b64.restore({**saved, "emulator/core_map": np.zeros(4, np.int16)})
    for key, value in b64.state().items():
        if not key.startswith("numba/rng"):
            np.testing.assert_allclose(value, saved[key], rtol=1e-6, atol=1e-6, err_msg=key)
    for ticks, reward in blocks[3:]:
        a, b = b32.step(SpikeFrames.from_lists(ticks), reward), b64.step(SpikeFrames.from_lists(ticks), reward)
        assert frames_as_lists(a) == frames_as_lists(b)
    portable = {k: v for k, v in saved.items() if not k.startswith("numba/")}
    fresh = load(spec, seed=3)
    fresh.restore(portable)
    assert int(fresh.state()["network/tick"][0]) == 3 * BLOCK_TICKS
    assert np.all(fresh.state()["numba/next_tick"] >= 3 * BLOCK_TICKS)  # the Poisson schedule starts from now


def run_outputs(seed: int, blocks) -> tuple[list, dict]:
    backend = load(make_spec("reward", noise_mv=2.0), seed=seed)
    outs = [frames_as_lists(backend.step(SpikeFrames.from_lists(t), r)) for t, r in blocks]
    return outs, backend.state()


def test_same_seed_same_outputs_with_noise():
    blocks = random_blocks(7, 15)
    out_a, state_a = run_outputs(11, blocks)
    out_b, state_b = run_outputs(11, blocks)
    assert out_a == out_b
    for key in state_a:
        assert np.array_equal(state_a[key], state_b[key]), key
    out_c, _ = run_outputs(12, blocks)
    assert out_c != out_a  # the noise and the Poisson spikes really depend on the seed


def test_step_before_load_raises():
    with pytest.raises(RuntimeError, match="load"):
        NumbaBackend("float64").step(SpikeFrames.empty(3), 0.0)


def test_read_unknown_array_raises():
    with pytest.raises(ValueError, match="'projection/nope/weight_mv'"):
        load(make_spec(), seed=0).read("projection/nope/weight_mv")


def one_to_one(port: str, weight: float, lif: LIFParams) -> NetworkSpec:
    return NetworkSpec(
        (PopulationSpec("in", 1, kind="input"), PopulationSpec("out", 1, lif=lif)),
        (ProjectionSpec("p", "in", "out", np.array([0]), np.array([0]), np.array([weight]), port=port),),
        readout="out",
    )


def test_spike_reaches_target_one_tick_later():
    lif = LIFParams(tau_mem_ms=10.0, tau_exc_ms=5.0, v_th_mv=5.0, refractory_ms=0.0)
    backend = load(one_to_one("exc", 200.0, lif), seed=0)
    out = backend.step(SpikeFrames.from_lists([[0], [], [], []]), 0.0)
    # tick 0: input spike -> g_exc = 200 after the LIF update; tick 1: v = 200 * k_exc = 17.2 mV fires
    # (k_exc = 5 / (5 - 10) (e^-0.2 - e^-0.1) = 0.0861)
    assert frames_as_lists(out)[:2] == [[], [0]]


@pytest.mark.parametrize("port,tau_exc,tau_inh", [("exc", 3.0, 12.0), ("inh", 3.0, 12.0), ("inh", 12.0, 20.0)])
def test_each_port_follows_its_own_time_constant(port, tau_exc, tau_inh):
    """One input spike of weight w on a port: v(t) = w tau_x / (tau_x - tau_m) (e^{-t/tau_x} - e^{-t/tau_m}),
    counted from the end of the spike's tick (tau_x = tau_m: w t / tau_m e^{-t/tau_m}); g_x = w e^{-t/tau_x}."""
    tau_m, w = 20.0, -7.0 if port == "inh" else 7.0
    lif = LIFParams(tau_mem_ms=tau_m, tau_exc_ms=tau_exc, tau_inh_ms=tau_inh, v_rest_mv=0.0, v_reset_mv=-50.0,
                    v_th_mv=100.0)
    backend = load(one_to_one(port, w, lif), seed=0)
    tau_x = tau_exc if port == "exc" else tau_inh
    backend.step(SpikeFrames.from_lists([[0]]), 0.0)
    for n in range(1, 40):
        backend.step(SpikeFrames.from_lists([[]]), 0.0)
        state = flat_state(backend)
        if math.isclose(tau_x, tau_m):
            v = w * n / tau_m * math.exp(-n / tau_m)
        else:
            v = w * tau_x / (tau_x - tau_m) * (math.exp(-n / tau_x) - math.exp(-n / tau_m))
        assert state["v_mv"][1] == pytest.approx(v, abs=1e-12)
        g_port, g_other = ("g_exc_mv", "g_inh_mv") if port == "exc" else ("g_inh_mv", "g_exc_mv")
        assert state[g_port][1] == pytest.approx(w * math.exp(-n / tau_x), abs=1e-12)
        assert state[g_other][1] == 0.0


def test_step_rejects_input_ids_outside_the_input_population():
    backend = load(make_spec(), seed=0)
    with pytest.raises(ValueError):
        backend.step(SpikeFrames.from_lists([[N_INPUT]]), 0.0)  # id of the first Poisson neuron, in memory bounds


@pytest.mark.parametrize("refractory_ms", [1.0, 3.0])
def test_noisy_neuron_stays_silent_for_its_refractory_period(refractory_ms):
    """Noise goes only to neurons that integrate in the tick: a neuron that fired is held at v_reset for
    refractory_ticks ticks and cannot fire again before refractory_ticks + 1 ticks."""
    lif = LIFParams(tau_mem_ms=10.0, v_rest_mv=0.0, v_reset_mv=0.0, v_th_mv=1.0, refractory_ms=refractory_ms,
                    noise_mv=20.0)
    backend = load(NetworkSpec((PopulationSpec("A", 100, lif=lif),), (), readout="A"), seed=0)
    out = backend.step(SpikeFrames.empty(200), 0.0)
    ticks = [[] for _ in range(100)]
    for k in range(out.n_ticks):
        for j in out.tick(k):
            ticks[j].append(k)
    isi = np.concatenate([np.diff(t) for t in ticks])
    assert len(isi) > 1000
    assert isi.min() == round(refractory_ms) + 1


# --- regressions: engine bugs found while writing these tests -------------------------------------------


def test_ragged_projection_that_looks_dense_propagates_to_the_right_neurons():
    # pre 0 -> A0, A1, A0 (repeated pair) and pre 1 -> A1: 4 = 2 x 2 synapses, posts [0, 1, 0, 1] after sorting
    lif = LIFParams(v_th_mv=1000.0)
    spec = NetworkSpec(
        (PopulationSpec("in", 2, kind="input"), PopulationSpec("A", 2, lif=lif), PopulationSpec("B", 2, lif=lif)),
        (ProjectionSpec("p", "in", "A", i32([0, 0, 0, 1]), i32([0, 1, 0, 1]), np.array([1.0, 2.0, 3.0, 4.0])),),
        readout="A",
    )
    backend = load(spec, seed=0)
    backend.step(SpikeFrames.from_lists([[0]]), 0.0)
    ref = NaiveNetwork(spec, seed=0)
    ref.step([[0]], 0.0)
    assert ref.g_exc == [0.0, 0.0, 4.0, 2.0, 0.0, 0.0]
    assert flat_state(backend)["g_exc_mv"].tolist() == ref.g_exc


def run_mixed(rewards: list[float], seed: int = 4) -> tuple[NumbaBackend, dict[str, np.ndarray], list]:
    """make_spec("mixed") on the numba back end and on the reference, the same random_blocks input with the
    given reward per block; every block's spikes and the whole state must match. Returns the back end, its
    initial weights per projection and the readout spikes per block."""
    spec = make_spec("mixed")
    backend, ref = load(spec, seed=seed), NaiveNetwork(spec, seed=seed)
    w0 = {p: backend.read(f"projection/{p}/weight_mv") for p in PROJECTIONS}
    outputs = []
    for (ticks, _), reward in zip(random_blocks(0, len(rewards)), rewards):
        out = frames_as_lists(backend.step(SpikeFrames.from_lists(ticks), reward))
        assert out == ref.step(ticks, reward)
        assert_same_as_reference(backend, ref, spec)
        outputs.append(out)
    return backend, w0, outputs


def test_pair_and_reward_stdp_can_share_a_network():
    """A network with both rules (in_A, poi_B: reward STDP; A_B, in_B: pair STDP) runs both: with reward 0 in
    every block the dopamine stays 0, so only the pair-STDP weights move (the reward projections still build
    eligibility); with rewards the reward-STDP weights move too. Both runs match the reference tick by tick."""
    reward_stdp, pair_stdp = ("in_A", "poi_B"), ("A_B", "in_B")
    assert [type(p.plasticity).__name__ for p in make_spec("mixed").projections if p.name in PLASTIC] == \
        ["RewardSTDP", "PairSTDP", "PairSTDP", "RewardSTDP"]
    n_blocks = 8
    rewards = [float(r) for _, r in random_blocks(0, n_blocks)]
    assert min(rewards) < 0 < max(rewards)

    quiet, w0, quiet_out = run_mixed([0.0] * n_blocks)
    w_quiet = {p: quiet.read(f"projection/{p}/weight_mv") for p in PROJECTIONS}
    assert sum(map(len, (s for block in quiet_out for s in block))) > 10  # the readout fired: pair STDP had posts
    for p in pair_stdp:
        assert not np.array_equal(w_quiet[p], w0[p]), f"{p}: pair STDP did not change weights with reward 0"
    for p in reward_stdp:
        np.testing.assert_array_equal(w_quiet[p], w0[p], err_msg=f"{p}: reward STDP moved without dopamine")
        assert np.any(quiet.read(f"projection/{p}/eligibility") != 0.0), f"{p}: no eligibility built up"
    for p in set(PROJECTIONS) - set(PLASTIC):
        np.testing.assert_array_equal(w_quiet[p], w0[p], err_msg=p)
    assert flat_state(quiet)["reward_baseline"][0] == 0.0

    rewarded, w0_again, _ = run_mixed(rewards)
    w_rewarded = {p: rewarded.read(f"projection/{p}/weight_mv") for p in PROJECTIONS}
    assert all(np.array_equal(w0_again[p], w0[p]) for p in PROJECTIONS)
    for p in PLASTIC:
        assert not np.array_equal(w_rewarded[p], w0[p]), f"{p}: weights did not change with rewards"
    for p in reward_stdp:
        assert not np.allclose(w_rewarded[p], w_quiet[p]), f"{p}: rewards made no difference"
    for p in set(PROJECTIONS) - set(PLASTIC):
        np.testing.assert_array_equal(w_rewarded[p], w0[p], err_msg=p)
    assert flat_state(rewarded)["reward_baseline"][0] != 0.0
