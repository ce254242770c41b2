"""snn.network_kernel.run_block through NumbaBackend against a plain-Python network, plus state and determinism."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive.network import NaiveNetwork  # noqa: E402
from snn.frames import SpikeFrames  # noqa: E402
from snn.numba_backend import NumbaBackend  # noqa: E402
from snn.spec import LIFParams, NetworkSpec, PopulationSpec, ProjectionSpec, RewardSTDP  # noqa: E402

N_INPUT, N_LIF = 5, 4
BLOCK_TICKS = 20
RULE = RewardSTDP(tau_pre_ms=10.0, tau_post_ms=15.0, tau_eligibility_ms=50.0, tau_baseline_ms=30.0,
                  a_plus=1.0, a_minus=0.8, learning_rate=0.5, w_min_mv=0.0, w_max_mv=9.0)


def make_spec(noise_mv: float = 0.0, learning: bool = True) -> NetworkSpec:
    lif = LIFParams(tau_mem_ms=10.0, tau_syn_ms=4.0, v_rest_mv=0.0, v_reset_mv=-1.0, v_th_mv=6.0,
                    refractory_ms=2.0, noise_mv=noise_mv)
    i32 = lambda xs: np.array(xs, dtype=np.int32)  # noqa: E731
    projections = (
        # input -> LIF, plastic (unsorted pre ids on purpose; the back end sorts them)
        ProjectionSpec("in_plastic", "in", "lif", i32([3, 0, 1, 4, 2, 0, 2]), i32([0, 1, 1, 2, 3, 3, 0]),
                       np.array([4.0, 5.0, 3.5, 6.0, 4.5, 2.0, 8.5]), RULE),
        # input -> LIF, fixed
        ProjectionSpec("in_fixed", "in", "lif", i32([1, 4, 0]), i32([2, 0, 3]), np.array([3.0, 2.5, 4.0])),
        # LIF -> LIF, plastic with its own eligibility time constant and bounds
        ProjectionSpec("rec_plastic", "lif", "lif", i32([0, 2, 3]), i32([1, 0, 2]), np.array([1.0, 2.0, 1.5]),
                       replace(RULE, tau_eligibility_ms=20.0, a_plus=0.5, w_min_mv=0.5, w_max_mv=2.5)),
        # LIF -> LIF, fixed inhibition
        ProjectionSpec("rec_fixed", "lif", "lif", i32([1, 3]), i32([3, 1]), np.array([-3.0, -2.0])),
    )
    pops = (PopulationSpec("in", N_INPUT, kind="input"), PopulationSpec("lif", N_LIF, lif=lif))
    return NetworkSpec(pops, projections, readout="lif", dt_us=1000, learning=learning)


def random_blocks(seed: int, n_blocks: int, p: float = 0.35):
    gen = np.random.default_rng(seed)
    blocks = []
    for _ in range(n_blocks):
        ticks = [np.flatnonzero(gen.random(N_INPUT) < p).tolist() for _ in range(BLOCK_TICKS)]
        blocks.append((ticks, float(gen.normal(0.0, 1.0))))
    return blocks


def frames_as_lists(frames: SpikeFrames) -> list[list[int]]:
    return [frames.tick(k).tolist() for k in range(frames.n_ticks)]


def csr_order(spec: NetworkSpec) -> np.ndarray:
    """Spec synapse index of each synapse in the back end's table (CSR: stable sort by global pre id)."""
    offsets = spec.offsets()
    pre = np.concatenate([p.pre_idx.astype(np.int64) + offsets[p.pre] for p in spec.projections])
    return np.argsort(pre, kind="stable")


def load(spec: NetworkSpec, seed: int) -> NumbaBackend:
    backend = NumbaBackend()
    backend.load(spec, seed)
    return backend


def assert_same_as_reference(backend: NumbaBackend, ref: NaiveNetwork, spec: NetworkSpec) -> None:
    start = 0
    for proj in spec.projections:
        m = len(proj.pre_idx)
        np.testing.assert_allclose(backend.weights(proj.name), ref.weight[start : start + m], rtol=0, atol=1e-9)
        start += m
    state = backend.state()
    order = csr_order(spec)
    np.testing.assert_allclose(state["weight_mv"], np.array(ref.weight)[order], rtol=0, atol=1e-9)
    np.testing.assert_allclose(state["eligibility"], np.array(ref.eligibility)[order], rtol=0, atol=1e-9)
    np.testing.assert_allclose(state["v_mv"], ref.v, rtol=0, atol=1e-9)
    np.testing.assert_allclose(state["i_syn_mv"], ref.i_syn, rtol=0, atol=1e-9)
    np.testing.assert_allclose(state["pre_trace"], ref.pre_trace, rtol=0, atol=1e-9)
    np.testing.assert_allclose(state["post_trace"], ref.post_trace, rtol=0, atol=1e-9)
    assert state["refractory_left"].tolist() == ref.refractory_left
    assert state["reward_baseline"][0] == pytest.approx(ref.baseline, abs=1e-12)
    assert int(state["rng_state"][0]) == ref.rng.state


@pytest.mark.parametrize("noise_mv", [0.0, 1.5])
@pytest.mark.parametrize("learning", [True, False])
def test_numba_backend_matches_reference(noise_mv, learning):
    spec = make_spec(noise_mv=noise_mv, learning=learning)
    backend = load(spec, seed=4)
    ref = NaiveNetwork(spec, int(backend.state()["rng_state"][0]))
    w0 = [backend.weights(p.name) for p in spec.projections]
    n_out = 0
    for ticks, reward in random_blocks(0, 12):
        out = backend.step(SpikeFrames.from_lists(ticks), reward)
        expected = ref.step(ticks, reward, spec.dt_us)
        assert out.n_ticks == BLOCK_TICKS
        assert frames_as_lists(out) == expected
        n_out += out.n_spikes
        assert_same_as_reference(backend, ref, spec)
    assert n_out > 20  # the comparison is not vacuous
    changed = [not np.array_equal(w, backend.weights(p.name)) for w, p in zip(w0, spec.projections)]
    assert changed == ([True, False, True, False] if learning else [False] * 4)


def test_set_learning_off_freezes_weights_but_not_traces():
    spec = make_spec()
    backend = load(spec, seed=1)
    ref = NaiveNetwork(spec, int(backend.state()["rng_state"][0]))
    blocks = random_blocks(5, 10)
    for ticks, reward in blocks[:4]:
        backend.step(SpikeFrames.from_lists(ticks), reward)
        ref.step(ticks, reward, spec.dt_us)
    backend.set_learning(False)
    ref.learning = False
    before = backend.state()
    for ticks, reward in blocks[4:]:
        assert frames_as_lists(backend.step(SpikeFrames.from_lists(ticks), reward)) == ref.step(ticks, reward, spec.dt_us)
    after = backend.state()
    assert np.array_equal(after["weight_mv"], before["weight_mv"])
    assert np.array_equal(after["reward_baseline"], before["reward_baseline"])
    assert not np.array_equal(after["eligibility"], before["eligibility"])
    assert_same_as_reference(backend, ref, spec)
    backend.set_learning(True)
    ticks, reward = blocks[0]
    backend.step(SpikeFrames.from_lists(ticks), 3.0)
    assert not np.array_equal(backend.state()["weight_mv"], before["weight_mv"])


def test_state_restore_round_trip_gives_identical_continuation():
    spec = make_spec(noise_mv=1.0)
    blocks = random_blocks(2, 12)
    a = load(spec, seed=3)
    for ticks, reward in blocks[:5]:
        a.step(SpikeFrames.from_lists(ticks), reward)
    saved = a.state()
    first = [frames_as_lists(a.step(SpikeFrames.from_lists(t), r)) for t, r in blocks[5:]]
    end_a = a.state()
    # the same back end rewound, and a fresh one loaded with another seed, continue identically
    b = load(spec, seed=99)
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
    state["weight_mv"][:] = 123.0
    assert not np.any(backend.state()["weight_mv"] == 123.0)


@pytest.mark.parametrize("key", ["weight_mv", "eligibility", "v_mv", "rng_state", "refractory_left"])
def test_restore_wrong_shape_names_the_array(key):
    backend = load(make_spec(), seed=0)
    state = backend.state()
    state[key] = np.zeros(len(state[key]) + 1, dtype=state[key].dtype)
    before = backend.state()
    with pytest.raises(ValueError, match=repr(key)):
        backend.restore(state)
    after = backend.state()  # nothing was half-restored
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_restore_wrong_dtype_or_missing_array_names_it():
    backend = load(make_spec(), seed=0)
    state = backend.state()
    state["refractory_left"] = state["refractory_left"].astype(np.float64)
    with pytest.raises(ValueError, match="'refractory_left'"):
        backend.restore(state)
    state = backend.state()
    del state["post_trace"]
    with pytest.raises(ValueError, match="'post_trace'"):
        backend.restore(state)


def run_outputs(seed: int, blocks) -> tuple[list, dict]:
    backend = load(make_spec(noise_mv=2.0), seed=seed)
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
    assert out_c != out_a  # the noise really depends on the seed


def test_step_before_load_raises():
    with pytest.raises(RuntimeError, match="load"):
        NumbaBackend().step(SpikeFrames.empty(3), 0.0)


def test_weights_unknown_projection_raises():
    with pytest.raises(ValueError, match="'nope'"):
        load(make_spec(), seed=0).weights("nope")


def test_spike_reaches_target_one_tick_later():
    lif = LIFParams(tau_mem_ms=10.0, tau_syn_ms=5.0, v_th_mv=5.0, refractory_ms=0.0)
    spec = NetworkSpec(
        (PopulationSpec("in", 1, kind="input"), PopulationSpec("out", 1, lif=lif)),
        (ProjectionSpec("p", "in", "out", np.array([0]), np.array([0]), np.array([200.0])),),
        readout="out",
    )
    backend = load(spec, seed=0)
    out = backend.step(SpikeFrames.from_lists([[0], [], [], []]), 0.0)
    # tick 0: input spike -> current arrives after the LIF update; tick 1: 200 * (1 - e^-0.1) = 19 mV fires
    assert frames_as_lists(out)[:2] == [[], [0]]


def test_step_rejects_input_ids_outside_the_input_population():
    backend = load(make_spec(), seed=0)
    with pytest.raises(ValueError):
        backend.step(SpikeFrames.from_lists([[N_INPUT]]), 0.0)  # id of the first LIF neuron, in memory bounds
