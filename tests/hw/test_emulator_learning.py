"""On-chip learning of the core emulator (hw.emulator.learning) and its integrate_fire and alif kinds: the
integer core equals the plain-Python integer core of tests/naive/loihi.py exactly (traces, tags, weights and
every stochastic-rounding draw), is deterministic for a seed, learns in the direction of the reward's sign,
saturates at the quantised bounds and counts its learning updates in the energy; float mode matches numba."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.backends import open_backend  # noqa: E402
from hw.emulator.learning import to_reward_int  # noqa: E402
from hw.emulator.profile import LOIHI  # noqa: E402
from hw.emulator.quantize import quantize  # noqa: E402
from naive.loihi import NaiveIntegerCore  # noqa: E402
from snn.compile import compile_network  # noqa: E402
from snn.frames import SpikeFrames  # noqa: E402
from snn.rng import make_rng_state  # noqa: E402
from snn.spec import (  # noqa: E402
    LIFParams, ModelParams, NetworkSpec, PairSTDP, PopulationSpec, ProjectionSpec, RewardSTDP, ThirdFactorHebb,
)

N_IN, N_POI, N_A, N_B = 6, 3, 5, 4
REWARD = RewardSTDP(tau_pre_ms=10.0, tau_post_ms=15.0, tau_eligibility_ms=40.0, tau_baseline_ms=30.0,
                    a_plus=1.0, a_minus=0.6, learning_rate=0.4, w_min_mv=0.0, w_max_mv=9.0)
PAIR = PairSTDP(tau_pre_ms=10.0, tau_post_ms=15.0, a_pre_mv=0.3, a_post_mv=-0.25, w_min_mv=0.0, w_max_mv=9.0)


def i32(xs) -> np.ndarray:
    return np.array(xs, dtype=np.int32)


def network(rule=REWARD, kind: str = "lif") -> NetworkSpec:
    """input + Poisson -> A <-> B (the conformance suite's network), plastic input -> A and A -> B."""
    gen = np.random.default_rng(7)
    lif_a = LIFParams(tau_mem_ms=10.0, tau_exc_ms=4.0, tau_inh_ms=8.0, v_th_mv=6.0, v_reset_mv=-1.0,
                      refractory_ms=2.0)
    lif_b = LIFParams(tau_mem_ms=15.0, tau_exc_ms=3.0, tau_inh_ms=6.0, v_th_mv=1.5, refractory_ms=1.0)
    dense = (i32(np.repeat(np.arange(N_IN), N_A)), i32(np.tile(np.arange(N_A), N_IN)))
    extra = {"model": ModelParams(tau_adapt_ms=30.0, d_theta_mv=1.0)} if kind == "alif" else {}
    return NetworkSpec(
        populations=(PopulationSpec("in", N_IN, kind="input"),
                     PopulationSpec("poi", N_POI, kind="poisson", rate_hz=np.array([100.0, 0.0, 400.0])),
                     PopulationSpec("A", N_A, kind=kind, lif=lif_a, **extra), PopulationSpec("B", N_B, lif=lif_b)),
        projections=(
            ProjectionSpec("in_A", "in", "A", *dense, gen.uniform(1.0, 5.0, N_IN * N_A), rule),
            ProjectionSpec("poi_A", "poi", "A", i32([0, 2, 2]), i32([1, 0, 4]), np.array([4.0, 3.0, 5.0])),
            ProjectionSpec("A_B", "A", "B", i32([4, 0, 1, 3, 0]), i32([0, 1, 2, 3, 3]), gen.uniform(4.0, 8.0, 5),
                           rule),
            ProjectionSpec("B_A", "B", "A", i32([2, 0]), i32([0, 3]), np.array([-4.0, -3.0]), port="inh"),
        ),
        readout="B")


def word_like(n_in: int = 4) -> NetworkSpec:
    """Inputs -> two integrate-and-fire readouts, all-to-all, learned by a per-neuron third factor."""
    pre, post = i32(np.repeat(np.arange(n_in), 2)), i32(np.tile(np.arange(2), n_in))
    return NetworkSpec(
        (PopulationSpec("in", n_in, kind="input"),
         PopulationSpec("out", 2, kind="integrate_fire", lif=LIFParams(v_th_mv=1.0, refractory_ms=0.0))),
        (ProjectionSpec("in_out", "in", "out", pre, post, np.full(len(pre), 0.3),
                        ThirdFactorHebb(learning_rate=0.05, tau_eligibility_ms=20.0, w_min_mv=-2.0, w_max_mv=2.0)),),
        readout="out")


def input_ticks(seed: int, n: int, n_in: int = N_IN, p: float = 0.35) -> list[list[int]]:
    gen = np.random.default_rng(seed)
    return [np.flatnonzero(gen.random(n_in) < p).tolist() for _ in range(n)]


def loaded(url: str, spec: NetworkSpec, seed: int = 3):
    backend = open_backend(url)
    backend.load(spec, seed)
    return backend


class Host:
    """The host's reward baseline and dopamine, as hw.emulator.backend computes them (numba's rule)."""

    def __init__(self, spec: NetworkSpec) -> None:
        rules = [p.plasticity for p in spec.projections if isinstance(p.plasticity, RewardSTDP)]
        self.tau = rules[0].tau_baseline_ms if rules else None
        self.dt_ms, self.baseline = spec.dt_us / 1000.0, 0.0

    def dopamine(self, reward: float, n_ticks: int) -> int:
        if self.tau is None:
            return 0
        d = reward - self.baseline
        self.baseline += (1.0 - math.exp(-n_ticks * self.dt_ms / self.tau)) * d
        return to_reward_int(d)


def naive_for(spec: NetworkSpec, seed: int) -> NaiveIntegerCore:
    net = compile_network(spec)
    return NaiveIntegerCore(net, quantize(net, LOIHI), int(make_rng_state(seed)[0]), learning=spec.learning)


def assert_same(backend, naive: NaiveIntegerCore) -> None:
    assert backend.read("emulator/w_mant").tolist() == naive.w
    assert backend.read("emulator/tag").tolist() == naive.tag
    assert backend.read("emulator/pre_trace").tolist() == naive.pre
    assert backend.read("emulator/post_trace").tolist() == naive.post
    assert backend.read("emulator/v").tolist() == naive.v
    assert backend.read("emulator/u_exc").tolist() == naive.u[0]


@pytest.mark.parametrize("rule", [REWARD, PAIR], ids=["reward", "pair"])
@pytest.mark.parametrize("kind", ["lif", "alif"])
def test_integer_learning_equals_the_plain_python_core_draw_for_draw(rule, kind):
    spec = network(rule, kind)
    backend, naive, host = loaded("emulator", spec, seed=5), naive_for(spec, 5), Host(spec)
    lo = compile_network(spec).readout_lo
    gen = np.random.default_rng(2)
    t = fired = 0
    for length in (1, 7, 20, 13, 20, 20):
        chunk, reward = input_ticks(t + 100, length), float(gen.normal())
        out = backend.step(SpikeFrames.from_lists(chunk), reward)
        for k, ids in enumerate(chunk):
            expected = [j - lo for j in naive.tick(t + k, ids) if j >= lo]
            assert out.tick(k).tolist() == expected, f"tick {t + k}"
            fired += len(expected)
        naive.end_block(host.dopamine(reward, length))
        t += length
        assert_same(backend, naive)
    assert fired > 0
    assert backend.read("emulator/w_mant").tolist() != quantize(compile_network(spec), LOIHI).w_mant.tolist()
    assert backend.report()["learning_updates"] == naive.updates > 0


def test_third_factor_on_integrate_fire_equals_the_plain_python_core():
    spec = word_like()
    backend, naive = loaded("emulator", spec, seed=4), naive_for(spec, 4)
    t = 0
    for k, reward in enumerate([0.0, np.array([0.5, -0.25]), 1.0, np.array([-1.0, 0.75]), np.zeros(2)]):
        chunk = input_ticks(k, 6, n_in=4, p=0.5)
        backend.step(SpikeFrames.from_lists(chunk), reward)
        for i, ids in enumerate(chunk):
            naive.tick(t + i, ids)
        t += len(chunk)
        values = np.broadcast_to(np.asarray(reward, dtype=float), (2,))
        modulator = [0] * 4 + [to_reward_int(x) for x in values]
        naive.end_block(0, modulator if values.any() else None)
        assert_same(backend, naive)
    assert backend.read("emulator/w_mant").tolist() != quantize(compile_network(spec), LOIHI).w_mant.tolist()


def test_learning_is_deterministic_for_a_seed():
    spec = network(REWARD)
    runs = []
    for seed in (8, 8, 9):
        backend = loaded("emulator", spec, seed)
        for k in range(6):
            backend.step(SpikeFrames.from_lists(input_ticks(k, 20)), 0.5 * (-1) ** k)
        runs.append(backend.read("emulator/w_mant").tolist() + backend.read("emulator/tag").tolist())
    assert runs[0] == runs[1] and runs[0] != runs[2]


def drive_network(rule: RewardSTDP) -> NetworkSpec:
    """A reward-modulated input -> out layer where inputs make the outputs fire (pre before post)."""
    n_in, n_out = 10, 4
    pre, post = i32(np.repeat(np.arange(n_in), n_out)), i32(np.tile(np.arange(n_out), n_in))
    lif = LIFParams(tau_mem_ms=10.0, tau_exc_ms=4.0, tau_inh_ms=4.0, v_th_mv=4.0, refractory_ms=2.0)
    return NetworkSpec(
        (PopulationSpec("in", n_in, kind="input"), PopulationSpec("out", n_out, lif=lif)),
        (ProjectionSpec("in_out", "in", "out", pre, post, np.full(len(pre), 4.0), rule),),
        readout="out")


DRIVE = RewardSTDP(tau_pre_ms=20.0, tau_post_ms=20.0, tau_eligibility_ms=100.0, tau_baseline_ms=1e9,
                   a_plus=1.0, a_minus=0.0, learning_rate=0.0001, w_min_mv=0.0, w_max_mv=8.0)


def weight_change(url: str, reward: float, seed: int = 1) -> float:
    spec = drive_network(DRIVE)
    backend = loaded(url, spec, seed)
    before = backend.read("projection/in_out/weight_mv")   # as quantised, in integer mode
    for k in range(10):
        backend.step(SpikeFrames.from_lists(input_ticks(50 + k, 20, n_in=10, p=0.3)), reward)
    return float(np.mean(backend.read("projection/in_out/weight_mv") - before))


def test_the_weights_follow_the_sign_of_the_reward_and_track_the_float_rule():
    up, down = weight_change("emulator", 1.0), weight_change("emulator", -1.0)
    assert up > 0.05 and down < -0.05
    float_up, float_down = weight_change("emulator?discretize=0", 1.0), weight_change("emulator?discretize=0", -1.0)
    assert float_up > 0 and float_down < 0
    assert up == pytest.approx(float_up, rel=0.25) and down == pytest.approx(float_down, rel=0.25)
    assert weight_change("emulator", 0.0) == 0.0  # no dopamine, no change


def test_weights_saturate_at_the_quantised_bounds():
    fast = RewardSTDP(tau_pre_ms=20.0, tau_post_ms=20.0, tau_eligibility_ms=100.0, tau_baseline_ms=1e9,
                      a_plus=1.0, a_minus=0.0, learning_rate=1.0, w_min_mv=1.0, w_max_mv=6.0)
    spec = drive_network(fast)
    for reward, bound in ((3.0, 6.0), (-3.0, 1.0)):
        backend = loaded("emulator", spec)
        for k in range(8):
            backend.step(SpikeFrames.from_lists(input_ticks(k, 20, n_in=10, p=0.3)), reward)
        w = backend.read("projection/in_out/weight_mv")
        mant = backend.read("emulator/w_mant")
        assert len(set(mant.tolist())) == 1, "every synapse pinned at the bound"
        step = w[0] / mant[0]   # mV per mantissa unit
        assert abs(w[0] - bound) <= step / 2 + 1e-12   # the bound rounded to the mantissa grid


def test_learning_updates_are_charged_at_the_syn_update_energy():
    spec = drive_network(DRIVE)
    on, off = loaded("emulator", spec), loaded("emulator", spec)
    off.set_learning(False)
    for backend in (on, off):
        backend.step(SpikeFrames.from_lists(input_ticks(0, 20, n_in=10)), 1.0)
    r_on, r_off = on.report(), off.report()
    assert r_on["learning"] and not r_off["learning"]
    assert r_on["learning_updates"] == 40 and r_off["learning_updates"] == 0   # every synapse once per block
    extra = r_on["energy_j"] - r_off["energy_j"]
    assert extra == pytest.approx(40 * LOIHI.energy_syn_update_j, rel=1e-6)


def test_integer_learning_state_round_trip_is_exact():
    spec = network(REWARD)
    a = loaded("emulator", spec, seed=1)
    for k in range(3):
        a.step(SpikeFrames.from_lists(input_ticks(k, 20)), 0.7)
    b = loaded("emulator", spec, seed=2)
    b.restore(a.state())
    for k in range(3, 6):
        frames = SpikeFrames.from_lists(input_ticks(k, 20))
        assert b.step(frames, -0.4).neuron_ids.tolist() == a.step(frames, -0.4).neuron_ids.tolist()
    assert all(np.array_equal(x, b.state()[k]) for k, x in a.state().items())
    assert a.read("projection/in_A/eligibility").shape == (N_IN * N_A,)


def test_integrate_fire_keeps_the_remainder_in_integers():
    spec = word_like()
    backend = loaded("emulator", spec)
    backend.write("projection/in_out/weight_mv", np.full(8, 0.75))
    out = backend.step(SpikeFrames.from_lists([[0, 1, 2], [], []]), 0.0)
    assert [out.tick(k).tolist() for k in range(3)] == [[], [0, 1], [0, 1]]
    np.testing.assert_allclose(backend.read("population/out/v_mv"), [0.25, 0.25], atol=3 * 2.0 ** -7)


@pytest.mark.parametrize("kind", ["alif", "integrate_fire"])
def test_float_mode_new_kinds_equal_numba_float64(kind):
    spec = network(None, kind) if kind == "alif" else word_like()
    emu, ref = loaded("emulator?discretize=0", spec), loaded("numba?dtype=float64", spec)
    n_in = spec.populations[0].size
    for k in range(6):
        frames = SpikeFrames.from_lists(input_ticks(30 + k, 15, n_in=n_in, p=0.5))
        assert emu.step(frames, 0.0).neuron_ids.tolist() == ref.step(frames, 0.0).neuron_ids.tolist()
    for name in emu.state():
        if name.startswith("population/"):
            np.testing.assert_allclose(emu.read(name), ref.read(name), rtol=1e-9, atol=1e-12, err_msg=name)


def test_integer_core_refuses_to_learn_with_synaptic_scaling():
    spec = drive_network(DRIVE)
    scaled = NetworkSpec(spec.populations, (ProjectionSpec(**{**spec.projections[0].__dict__,
                                                              "normalise_sum_mv": 20.0}),), readout="out")
    backend = loaded("emulator", scaled)
    assert not backend.report()["learning"]
    with pytest.raises(ValueError, match="normalise_sum_mv"):
        backend.set_learning(True)
    loaded("emulator?discretize=0", scaled).set_learning(True)
