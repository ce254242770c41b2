"""The 16-lane integer LIF update (hw.emulator.lanes via kernels.int_lif_vector) equals the one-compartment
update (kernels.int_lif_scalar) lane for lane: state, spikes in id order, active / idle and saturation counts,
over ranges that do and do not fill whole blocks and at the 24-bit limits."""
from __future__ import annotations

import numpy as np
import pytest

from hw.emulator.fixed_point import decay_int
from hw.emulator.kernels import (
    ACT_ACTIVE, ACT_IDLE, CURRENT_LIMIT, N_ACTIVITY, OVF_VOLTAGE, VOLTAGE_LIMIT, Cores, Counters, IntNeurons,
    _decay_exact, int_lif_scalar, int_lif_vector,
)
from snn.codes import MODEL_LIF
from snn.rng import make_rng_state

N = 300


def _state(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """v, u_exc, u_inh, refractory ticks: random, with a share at the limits and at zero."""
    v = rng.integers(-VOLTAGE_LIMIT, VOLTAGE_LIMIT + 1, n)
    u_exc = rng.integers(-CURRENT_LIMIT + 1, CURRENT_LIMIT + 1, n)
    u_inh = rng.integers(-(1 << 16), 1 << 16, n)
    left = np.where(rng.random(n) < 0.2, rng.integers(1, 5, n), 0)
    for array, low, high in ((v, -VOLTAGE_LIMIT, VOLTAGE_LIMIT), (u_exc, -CURRENT_LIMIT + 1, CURRENT_LIMIT)):
        pick = rng.random(n) < 0.1
        array[pick] = np.where(rng.random(pick.sum()) < 0.5, high, low)
    quiet = rng.random(n) < 0.15
    v[quiet], u_exc[quiet], u_inh[quiet] = 0, 0, 0
    return [v, u_exc, u_inh, left]


def _scalar(params: dict, lo: int, hi: int, state: list[np.ndarray]):
    v, u_exc, u_inh, left = (a.astype(np.int64) for a in state)
    n = len(v)
    one = lambda value: np.array([value], dtype=np.int64)  # noqa: E731
    cores = Cores(np.array([MODEL_LIF], np.int32), one(lo), one(hi), one(params["vth"]), one(params["v_reset"]),
                  one(params["dv"]), one(params["du_exc"]), one(params["du_inh"]), one(params["refractory"]),
                  one(0), one(0), one(params["bias"]), one(0))
    neurons = IntNeurons(v, u_exc, u_inh, left, np.zeros(n, np.int64), make_rng_state(1), np.zeros(n, np.int64),
                         np.zeros(n, np.uint8))
    counters = Counters(np.zeros(N_ACTIVITY, np.int64), np.zeros((1, 2), np.int64), np.full(5, -1, np.int64), False)
    spiked = np.zeros(n, np.int32)
    n_spiked, stop = int_lif_scalar(cores, 0, neurons, counters, spiked, 0)
    assert not stop
    return [v, u_exc, u_inh, left], spiked[:n_spiked], counters


def _vector(params: dict, lo: int, hi: int, state: list[np.ndarray]):
    v, u_exc, u_inh, left = (a.astype(np.int32) for a in state)
    activity, overflows = np.zeros(N_ACTIVITY, np.int64), np.zeros((1, 2), np.int64)
    spiked = np.zeros(len(v), np.int32)
    fired = np.zeros(len(v), np.uint8)
    n_spiked = int_lif_vector(0, lo, hi, params["vth"], params["v_reset"], params["bias"], params["dv"],
                              params["du_exc"], params["du_inh"], params["refractory"], v, u_exc, u_inh, left, fired,
                              activity, overflows, spiked, 0)
    assert not fired.any()
    return [v, u_exc, u_inh, left], spiked[:n_spiked], activity, overflows


@pytest.mark.parametrize("lo,hi", [(0, N), (3, N - 5), (16, 48), (7, 20), (5, 9)])
@pytest.mark.parametrize("seed", range(4))
def test_sixteen_lanes_equal_one_compartment_at_a_time(lo, hi, seed):
    rng = np.random.default_rng(seed)
    params = {"vth": int(rng.integers(1, VOLTAGE_LIMIT)), "v_reset": int(rng.integers(-(1 << 20), 1 << 20)),
              "bias": int(rng.choice([0, rng.integers(-(1 << 20), 1 << 20)])),
              "dv": int(rng.choice([0, 1, 4095, rng.integers(0, 4096)])),
              "du_exc": int(rng.choice([0, 4095, rng.integers(0, 4096)])),
              "du_inh": int(rng.integers(0, 4096)), "refractory": int(rng.integers(0, 64))}
    state = _state(rng, N)
    for _ in range(3):
        want, want_ids, counters = _scalar(params, lo, hi, state)
        got, got_ids, activity, overflows = _vector(params, lo, hi, state)
        for name, a, b in zip(("v", "u_exc", "u_inh", "refractory"), want, got):
            np.testing.assert_array_equal(b.astype(np.int64), a, err_msg=name)
        np.testing.assert_array_equal(got_ids, want_ids)
        assert activity[ACT_ACTIVE] == counters.activity[ACT_ACTIVE]
        assert activity[ACT_IDLE] == counters.activity[ACT_IDLE]
        assert overflows[0, OVF_VOLTAGE] == counters.overflows[0, OVF_VOLTAGE]
        state = want


def test_the_float_decay_is_the_integer_decay_at_the_edges():
    values = np.array([0, 1, -1, 4095, 4096, -4097, VOLTAGE_LIMIT, -VOLTAGE_LIMIT, CURRENT_LIMIT, -CURRENT_LIMIT + 1])
    for d in (0, 1, 2047, 4094, 4095):
        for offset in (0, 1):
            keep = (4096 - d - offset) / 4096.0
            for x in values:
                assert _decay_exact(np.int64(x), keep) == decay_int(np.int64(x), np.int64(d), np.int64(offset))
