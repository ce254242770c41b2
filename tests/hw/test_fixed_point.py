"""The scalar fixed-point primitives of hw/emulator/fixed_point.py against plain-Python integer arithmetic
written from Lava 0.10's PyLifModelBitAcc / PyDenseModelBitAcc (HARDWARE.md section 4)."""
from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from hw.emulator.fixed_point import (
    accumulated_input, decay_int, dendritic_input, saturate_voltage, scaled_bias, threshold_int, wrap_current,
)

HALF = 1 << 23
TOP = HALF - 1
RNG = np.random.default_rng(12345)


# Numba-compiled callers: the primitives are inline="always" helpers meant to be called from kernels.
@njit(cache=False)
def _decay(x, d, offset):
    return decay_int(x, d, offset)


@njit(cache=False)
def _wrap(u):
    return wrap_current(u)


@njit(cache=False)
def _sat(v):
    return saturate_voltage(v)


@njit(cache=False)
def _dend(w, e):
    return dendritic_input(w, e)


@njit(cache=False)
def _acc(a, e):
    return accumulated_input(a, e)


@njit(cache=False)
def _bias(m, e):
    return scaled_bias(m, e)


@njit(cache=False)
def _vth(m):
    return threshold_int(m)


def py_decay(x: int, d: int, offset: int) -> int:
    """Lava: sign(x * keep) * (|x * keep| >> 12)."""
    prod = x * (4096 - d - offset)
    sign = (prod > 0) - (prod < 0)
    return sign * (abs(prod) >> 12)


def py_wrap_lava(u: int) -> int:
    """Lava's single pass: > 2**23 loses 2**24, then <= -2**23 gains 2**24 (tested on the original value)."""
    w = u - 2 * HALF if u > HALF else u
    return u + 2 * HALF if w <= -HALF else w


def py_wrap_mod(u: int) -> int:
    """u modulo 2**24 into (-2**23, 2**23]."""
    r = (u + HALF - 1) % (1 << 24)
    return r - (HALF - 1)


EDGE_STATES = [0, 1, -1, 2, -2, 4095, -4095, 4096, -4096, TOP, -TOP, HALF, -HALF, HALF + 1, -HALF - 1,
               HALF - 2, -HALF + 2]


@pytest.mark.parametrize("offset", [0, 1])
def test_decay_int_matches_python(offset):
    ds = [0, 1, 2, 2047, 2048, 4094, 4095 - offset, 4095]
    xs = EDGE_STATES + [int(x) for x in RNG.integers(-HALF, HALF + 1, 400)]
    for d in ds + [int(d) for d in RNG.integers(0, 4096, 20)]:
        if 4096 - d - offset < 0:
            continue
        for x in xs:
            assert _decay(np.int64(x), np.int64(d), np.int64(offset)) == py_decay(x, d, offset), (x, d, offset)


def test_decay_int_edges():
    assert _decay(np.int64(HALF), np.int64(4095), np.int64(1)) == 0           # du = 4095 clears u
    assert _decay(np.int64(-HALF), np.int64(4095), np.int64(1)) == 0
    assert _decay(np.int64(TOP), np.int64(0), np.int64(0)) == TOP               # dv = 0 keeps v
    assert _decay(np.int64(-TOP), np.int64(0), np.int64(0)) == -TOP
    assert _decay(np.int64(-1), np.int64(0), np.int64(1)) == 0                  # rounds toward zero, not -inf
    assert _decay(np.int64(-4097), np.int64(0), np.int64(1)) == -4095   # 4097 * 4095 >> 12
    assert _decay(np.int64(4097), np.int64(0), np.int64(1)) == 4095


def test_wrap_current_edges():
    assert _wrap(np.int64(HALF)) == HALF                 # Lava keeps +2**23 (its test is u > 2**23)
    assert _wrap(np.int64(HALF + 1)) == -HALF + 1
    assert _wrap(np.int64(-HALF)) == HALF                # and -2**23 becomes +2**23
    assert _wrap(np.int64(-HALF + 1)) == -HALF + 1
    assert _wrap(np.int64(-HALF - 1)) == HALF - 1
    assert _wrap(np.int64(0)) == 0
    assert _wrap(np.int64(TOP)) == TOP


def test_wrap_current_equals_lava_single_pass_in_its_domain():
    # decayed u in (-2**23, 2**23] plus a 16-bit a_in << 6: |x| <= 2**23 + 2**21; Lava's pass is exact up to 3 * 2**23
    xs = EDGE_STATES + [3 * HALF - 1, -3 * HALF + 1, HALF + (1 << 21), -HALF - (1 << 21)]
    xs += [int(x) for x in RNG.integers(-3 * HALF + 1, 3 * HALF, 3000)]
    for x in xs:
        assert _wrap(np.int64(x)) == py_wrap_lava(x) == py_wrap_mod(x), x


def test_wrap_current_is_modular_beyond():
    for x in [int(x) for x in RNG.integers(-(1 << 40), 1 << 40, 2000)] + [1 << 30, -(1 << 30), 5 * HALF, -5 * HALF]:
        got = _wrap(np.int64(x))
        assert got == py_wrap_mod(x), x
        assert -HALF < got <= HALF and (got - x) % (1 << 24) == 0


def test_saturate_voltage():
    for v in EDGE_STATES + [1 << 30, -(1 << 30)] + [int(x) for x in RNG.integers(-(1 << 26), 1 << 26, 2000)]:
        assert _sat(np.int64(v)) == min(max(v, -TOP), TOP), v
    assert _sat(np.int64(HALF)) == TOP
    assert _sat(np.int64(-HALF)) == -TOP


def test_dendritic_input_per_synapse():
    for w in [-256, -255, -1, 0, 1, 127, 255] + [int(x) for x in RNG.integers(-256, 256, 50)]:
        for e in range(-7, 8):
            shift = 6 + e
            expected = w * 2 ** shift if shift >= 0 else w // 2 ** (-shift)   # floor for a right shift
            assert _dend(np.int64(w), np.int64(e)) == expected, (w, e)


def test_accumulated_input_is_lava_dense_then_lif():
    for acc in [0, 1, -1, 63, -63, 127, -129, 32767, -32768] + [int(x) for x in RNG.integers(-5000, 5000, 100)]:
        for e in range(-7, 8):
            scaled = acc * 2 ** e if e > 0 else acc // 2 ** (-e)
            assert _acc(np.int64(acc), np.int64(e)) == scaled * 64, (acc, e)
    # equal to the per-synapse rule for e >= 0, coarser (a floor of the sum) for e < 0
    assert _acc(np.int64(5), np.int64(-2)) == 64 and _dend(np.int64(5), np.int64(-2)) == 80


def test_scaled_bias_and_threshold():
    for m in [-4096, -4095, -1, 0, 1, 4095] + [int(x) for x in RNG.integers(-4096, 4096, 50)]:
        for e in range(-3, 8):
            expected = m * 2 ** e if e >= 0 else m // 2 ** (-e)
            assert _bias(np.int64(m), np.int64(e)) == expected, (m, e)
    assert _bias(np.int64(4095), np.int64(7)) == 4095 * 128
    assert _bias(np.int64(-4096), np.int64(7)) == -(1 << 19)
    for m in [0, 1, 1000, (1 << 17) - 1]:
        assert _vth(np.int64(m)) == m * 64
    assert _vth(np.int64((1 << 17) - 1)) < TOP   # the largest threshold is below positive saturation
