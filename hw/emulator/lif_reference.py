"""Our Loihi-1 LIF compartment update over T ticks, the per-current-accumulator step of the emulator's core.

Built only from the scalar primitives of ``hw.emulator.fixed_point``. With ``refractory_ticks == 0`` it equals
Lava 0.10's bit-accurate LIF (``PyLifModelBitAcc``, tag ``bit_accurate_loihi``) bit for bit; checked by
``edge.bench.lava_compare.compare_lif`` (``neuroedge bench emulator --compare lava``). One tick, per compartment:

1. u <- wrap24(decay(u, du + 1) + (a_in << 6))           (current: decay, then input, then the 24-bit wrap)
2. v <- sat24(decay(v, dv) + u + (bias_mant << bias_exp)) (voltage uses the *new* u; saturation +-(2**23 - 1))
3. spike iff v > vth_mant << 6; a spiking compartment's v <- 0 (u is not reset)

Refractory period (Loihi 1 and nengo-loihi have one, Lava's bit-accurate LIF does not): with
``refractory_ticks = r > 0`` a compartment that spiked at tick t keeps v = 0 and cannot spike during ticks
t+1 .. t+r, while its u keeps decaying and integrating input; the bias is not integrated meanwhile. Cases with
r > 0 are therefore checked against a plain-Python loop only, never against Lava.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from hw.emulator.fixed_point import (
    decay_int, dendritic_input, saturate_voltage, scaled_bias, threshold_int, wrap_current,
)

DECAY_MAX = 4095
"""du and dv are 12-bit unsigned."""


@njit(cache=True)
def _lif_kernel(u0, v0, a_in, du, dv, bias_mant, bias_exp, vth_mant, refractory, u_out, v_out, s_out):
    n_ticks, n = a_in.shape
    one = np.int64(1)
    zero = np.int64(0)
    for i in range(n):
        u = u0[i]
        v = v0[i]
        bias = scaled_bias(bias_mant[i], bias_exp[i])
        vth = threshold_int(vth_mant[i])
        hold = zero
        for t in range(n_ticks):
            u = wrap_current(decay_int(u, du, one) + dendritic_input(a_in[t, i], zero))
            spike = zero
            if hold > 0:
                hold -= 1
                v = zero
            else:
                v = saturate_voltage(decay_int(v, dv, zero) + u + bias)
                if v > vth:
                    spike = one
                    v = zero
                    hold = refractory[i]
            u_out[t, i] = u
            v_out[t, i] = v
            s_out[t, i] = spike


def _per_compartment(name: str, value, n: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iub":
        raise ValueError(f"lif_run: {name} must be integer, got dtype {arr.dtype}")
    if arr.ndim == 0:
        return np.full(n, int(arr), dtype=np.int64)
    if arr.shape != (n,):
        raise ValueError(f"lif_run: {name} must be a scalar or shape ({n},), got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _decay_const(name: str, value) -> np.int64:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"lif_run: {name} must be an integer in 0..{DECAY_MAX}, got {value!r}")
    if not 0 <= int(value) <= DECAY_MAX:
        raise ValueError(f"lif_run: {name} must be in 0..{DECAY_MAX}, got {value}")
    return np.int64(value)


def lif_run(u0, v0, a_in, du, dv, bias_mant, bias_exp, vth_mant, refractory_ticks=0):
    """Run n compartments for T ticks from (u0, v0) with dendritic inputs ``a_in[T, n]``.

    Parameters
    ----------
    u0, v0 : int or int array (n,)
        Initial current and voltage (24-bit integers).
    a_in : int array (T, n)
        Dendritic input per tick (Lava ``a_in``, before its ``<< 6``; 16-bit in Lava's Dense).
    du, dv : int
        12-bit decay constants (0..4095) shared by the group, as in Lava.
    bias_mant, bias_exp, vth_mant, refractory_ticks : int or int array (n,)
        Bias mantissa and exponent, threshold mantissa (threshold = vth_mant << 6), refractory ticks (>= 0).

    Returns
    -------
    (u, v, spikes) : three int64 arrays (T, n)
        State after each tick (v after the reset) and the spikes (0 or 1) emitted at each tick.
    """
    a = np.asarray(a_in)
    if a.ndim != 2 or a.dtype.kind not in "iub":
        raise ValueError(f"lif_run: a_in must be an integer array (T, n), got {a.dtype} {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.int64)
    n_ticks, n = a.shape
    refractory = _per_compartment("refractory_ticks", refractory_ticks, n)
    if (refractory < 0).any():
        raise ValueError("lif_run: refractory_ticks must be >= 0")
    u = np.empty((n_ticks, n), dtype=np.int64)
    v = np.empty((n_ticks, n), dtype=np.int64)
    s = np.empty((n_ticks, n), dtype=np.int64)
    _lif_kernel(_per_compartment("u0", u0, n), _per_compartment("v0", v0, n), a,
                _decay_const("du", du), _decay_const("dv", dv),
                _per_compartment("bias_mant", bias_mant, n), _per_compartment("bias_exp", bias_exp, n),
                _per_compartment("vth_mant", vth_mant, n), refractory, u, v, s)
    return u, v, s
