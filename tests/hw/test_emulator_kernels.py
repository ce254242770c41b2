"""The core emulator's kernels through EmulatorBackend: exact equality with the plain-Python integer core
(tests/naive/loihi.py), overflow counting and strict mode, determinism, quantisation limits, the float mode
against the numba back end, and the energy report."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.backends import open_backend  # noqa: E402
from hw.emulator.backend import EmulatorBackend  # noqa: E402
from hw.emulator.profile import LOIHI  # noqa: E402
from hw.emulator.quantize import quantize  # noqa: E402
from naive.loihi import NaiveIntegerCore  # noqa: E402
from snn.compile import compile_network  # noqa: E402
from snn.frames import SpikeFrames  # noqa: E402
from snn.rng import make_rng_state  # noqa: E402
from snn.spec import LIFParams, NetworkSpec, PairSTDP, PopulationSpec, ProjectionSpec  # noqa: E402

N_IN, N_POI, N_A, N_B = 5, 3, 4, 3


def i32(xs) -> np.ndarray:
    return np.array(xs, dtype=np.int32)


def network(poisson: bool = True, delay: int = 2, kind: str = "lif", plastic: bool = False, noise_mv: float = 0.0,
            b_rest_mv: float = 0.0) -> NetworkSpec:
    """input (+ Poisson) -> A -> B with a delayed projection and inhibition back onto A; optionally membrane
    noise on A and B resting at ``b_rest_mv`` (above its 1.5 mV threshold: W1's case, a bias in the core)."""
    gen = np.random.default_rng(11)
    lif_a = LIFParams(tau_mem_ms=10.0, tau_exc_ms=4.0, tau_inh_ms=8.0, v_th_mv=6.0, v_reset_mv=-1.0,
                      refractory_ms=2.0, noise_mv=noise_mv)
    lif_b = LIFParams(tau_mem_ms=15.0, tau_exc_ms=3.0, tau_inh_ms=6.0, v_th_mv=1.5, refractory_ms=1.0,
                      v_rest_mv=b_rest_mv)
    dense = (i32(np.repeat(np.arange(N_IN), N_A)), i32(np.tile(np.arange(N_A), N_IN)))
    pops = [PopulationSpec("in", N_IN, kind="input"), PopulationSpec("A", N_A, kind=kind, lif=lif_a),
            PopulationSpec("B", N_B, lif=lif_b)]
    rule = PairSTDP(a_pre_mv=0.1, a_post_mv=-0.1, w_min_mv=0.0, w_max_mv=9.0) if plastic else None
    projs = [ProjectionSpec("in_A", "in", "A", *dense, gen.uniform(1.0, 5.0, N_IN * N_A), rule),
             ProjectionSpec("A_B", "A", "B", i32([0, 1, 2, 3, 0]), i32([0, 1, 2, 0, 2]), gen.uniform(3.0, 7.0, 5),
                            delay_ticks=delay),
             ProjectionSpec("B_A", "B", "A", i32([0, 2]), i32([1, 3]), np.array([-4.0, -2.5]), port="inh")]
    if poisson:
        pops.insert(1, PopulationSpec("poi", N_POI, kind="poisson", rate_hz=np.array([150.0, 0.0, 400.0])))
        projs.append(ProjectionSpec("poi_A", "poi", "A", i32([0, 2, 2]), i32([1, 0, 3]), np.array([4.0, 3.0, 5.0])))
    return NetworkSpec(tuple(pops), tuple(projs), readout="B")


def input_ticks(seed: int, n: int, n_in: int = N_IN, p: float = 0.4) -> list[list[int]]:
    gen = np.random.default_rng(seed)
    return [np.flatnonzero(gen.random(n_in) < p).tolist() for _ in range(n)]


def loaded(url: str, spec: NetworkSpec, seed: int = 3):
    backend = open_backend(url)
    backend.load(spec, seed)
    return backend


def naive_for(spec: NetworkSpec, seed: int) -> NaiveIntegerCore:
    net = compile_network(spec)
    return NaiveIntegerCore(net, quantize(net, LOIHI), int(make_rng_state(seed)[0]))



def assert_same_state(backend: EmulatorBackend, naive: NaiveIntegerCore) -> None:
    assert backend.read("emulator/v").tolist() == naive.v
    assert backend.read("emulator/u_exc").tolist() == naive.u[0]
    assert backend.read("emulator/u_inh").tolist() == naive.u[1]


@pytest.mark.parametrize("block, noise_mv, b_rest_mv", [(1, 0.0, 0.0), (7, 0.0, 0.0), (7, 0.8, 2.0)])
def test_integer_core_equals_the_plain_python_core_tick_for_tick(block, noise_mv, b_rest_mv):
    spec = network(noise_mv=noise_mv, b_rest_mv=b_rest_mv)
    backend, naive = loaded("emulator", spec, seed=5), naive_for(spec, 5)
    ticks = input_ticks(1, 42)
    lo = compile_network(spec).readout_lo
    fired = 0
    for start in range(0, len(ticks), block):
        chunk = ticks[start:start + block]
        out = backend.step(SpikeFrames.from_lists(chunk), 0.0)
        for k, ids in enumerate(chunk):
            expected = [j - lo for j in naive.tick(start + k, ids) if j >= lo]
            assert out.tick(k).tolist() == expected, f"tick {start + k}"
            fired += len(expected)
        assert_same_state(backend, naive)
    assert fired > 0
    overflows = backend.report()["overflows"]
    assert all(v == {"current_wraps": 0, "voltage_saturations": 0} for v in overflows.values())


def test_a_current_wraps_and_a_voltage_saturates_and_both_are_counted():
    spec = network(poisson=False)
    backend, naive = loaded("emulator", spec), naive_for(spec, 3)
    n, top = N_IN + N_A + N_B, (1 << 23) - 1
    ring = np.zeros((3, n), np.int64)
    ring[0, N_IN + 0] = top - 5     # A0: input pending for tick 0 that, added to the spike's, wraps the current
    u_inh, v = np.zeros(n, np.int64), np.zeros(n, np.int64)
    u_inh[N_IN + 1] = -top + 10     # A1: a huge inhibition drives v below the saturation
    v[N_IN + 1] = -top + 100
    backend.write("emulator/ring_exc", ring)
    backend.write("emulator/u_inh", u_inh)
    backend.write("emulator/v", v)
    naive.ring[(0, 0)] = ring[0].tolist()
    naive.u[1][:], naive.v[:] = u_inh.tolist(), v.tolist()
    backend.step(SpikeFrames.from_lists([[0], []]), 0.0)
    naive.tick(0, [0])
    naive.tick(1, [])
    assert_same_state(backend, naive)
    counts = backend.report()["overflows"]["A"]
    assert counts == {"current_wraps": naive.overflows[1][0], "voltage_saturations": naive.overflows[1][1]}
    assert counts["current_wraps"] >= 1 and counts["voltage_saturations"] >= 1
    assert backend.read("emulator/v")[N_IN + 1] == -top        # saturated, not wrapped


def test_strict_mode_stops_at_the_first_overflow_in_one_line():
    spec = network(poisson=False)
    backend = loaded("emulator?strict=1", spec)
    ring = np.zeros((3, N_IN + N_A + N_B), np.int64)
    ring[0, N_IN + 2] = (1 << 23) - 1  # pending for tick 0: the spike of input 1 onto A2 wraps the current
    backend.write("emulator/ring_exc", ring)
    with pytest.raises(ValueError) as info:
        backend.step(SpikeFrames.from_lists([[1], []]), 0.0)
    message = str(info.value)
    assert "\n" not in message
    for word in ("strict", "'A'", "neuron 2", "exc current", str(1 << 23)):
        assert word in message


def test_same_seed_same_spikes_other_seed_other_spikes():
    spec = network()
    runs = []
    for seed in (8, 8, 9):
        backend = loaded("emulator", spec, seed)
        runs.append([backend.step(SpikeFrames.from_lists(input_ticks(k, 10)), 0.0).tick_ptr.tolist()
                     + backend.read("emulator/v").tolist() for k in range(5)])
    assert runs[0] == runs[1] and runs[0] != runs[2]


@pytest.mark.parametrize("spec, words", [
    (network(delay=63), ["projection 'A_B'", "delay of 63", "62"]),
    (network(kind="izhikevich"), ["population 'A'", "'izhikevich'", "input, poisson, lif, alif, integrate_fire"]),
])
def test_what_the_core_cannot_represent_is_refused_in_one_line(spec, words):
    for url in ("emulator", "emulator?discretize=0"):
        with pytest.raises(ValueError) as info:
            loaded(url, spec)
        assert "\n" not in str(info.value)
        for word in words:
            assert word in str(info.value)


def test_delay_62_is_the_longest():
    loaded("emulator", network(delay=62)).step(SpikeFrames.from_lists(input_ticks(0, 70)), 0.0)


def test_float_mode_equals_numba_float64():
    spec = network(poisson=False)
    emu, ref = loaded("emulator?discretize=0", spec), loaded("numba?dtype=float64", spec)
    fired = 0
    for k in range(8):
        frames = SpikeFrames.from_lists(input_ticks(20 + k, 15))
        out_e, out_r = emu.step(frames, 0.0), ref.step(frames, 0.0)
        assert out_e.tick_ptr.tolist() == out_r.tick_ptr.tolist()
        assert out_e.neuron_ids.tolist() == out_r.neuron_ids.tolist()
        fired += out_r.n_spikes
        for pop in ("A", "B"):
            for var in ("v_mv", "g_exc_mv", "g_inh_mv"):
                name = f"population/{pop}/{var}"
                np.testing.assert_allclose(emu.read(name), ref.read(name), rtol=1e-6, atol=1e-12, err_msg=name)
    assert fired > 0


def test_integer_weights_are_reported_and_close_to_the_spec():
    spec = network()
    backend = loaded("emulator", spec)
    errors = backend.report()["weight_rel_error"]
    for proj in spec.projections:
        assert 0 <= errors[proj.name] < 2.0 ** -5, proj.name
        np.testing.assert_allclose(backend.read(f"projection/{proj.name}/weight_mv"), proj.weight_mv,
                                   rtol=errors[proj.name] * (1 + 1e-9))


def test_state_round_trip_is_exact_in_integer_mode():
    spec = network()
    a = loaded("emulator", spec, seed=1)
    a.step(SpikeFrames.from_lists(input_ticks(3, 12)), 0.0)
    b = loaded("emulator", spec, seed=2)
    b.restore(a.state())
    frames = SpikeFrames.from_lists(input_ticks(4, 30))
    assert b.step(frames, 0.0).neuron_ids.tolist() == a.step(frames, 0.0).neuron_ids.tolist()
    assert all(np.array_equal(x, b.state()[k]) for k, x in a.state().items())


def test_learning_switches_on_and_off_on_a_plastic_network():
    backend = loaded("emulator", network(plastic=True))
    assert backend.report()["learning"]
    backend.set_learning(False)
    assert not backend.report()["learning"]
    backend.set_learning(True)
    assert backend.report()["learning"]


def test_report_energy_is_the_profile_model_of_the_counted_activity():
    spec = network()
    backend = loaded("emulator", spec)
    backend.step(SpikeFrames.from_lists(input_ticks(5, 50)), 0.0)
    r = backend.report()
    assert r["cores"] == 3 and r["ticks"] == 50 and r["synops"] > 0 and r["spikes"] > 0
    assert r["active_updates"] + r["idle_updates"] == 50 * (N_POI + N_A + N_B)
    p = LOIHI
    energy = (r["synops"] * p.energy_synop_j + r["active_updates"] * p.energy_neuron_active_j
              + r["idle_updates"] * p.energy_neuron_idle_j + r["spikes"] * p.energy_spike_local_j
              + 3 * p.static_power_per_core_w * 50 * 1e-3)
    assert r["energy_j"] == pytest.approx(energy, rel=1e-12)
    assert r["est_tick_latency_us"] > p.time_barrier_s * 1e6
