"""Integer arithmetic of a Loihi-style compartment, as scalar Numba functions the core kernels inline.

Verified bit for bit against Lava 0.10.0 ``lava.proc.lif.models.PyLifModelBitAcc`` (tag ``bit_accurate_loihi``)
and ``lava.proc.dense.models.PyDenseModelBitAcc`` by ``edge.bench.lava_compare`` (``neuroedge bench emulator
--compare lava``); ``hw.emulator.lif_reference.lif_run`` is the compartment update built from these functions.
Conventions (HARDWARE.md section 4 and "Constants an emulator should use"):

- decay: x <- sign(x) * ((|x| * (4096 - d - offset)) >> 12) for a 12-bit decay constant d; the current uses
  offset 1 (Lava ``ds_offset``: d = 4095 clears it every tick), the voltage offset 0 (``dm_offset``);
- current: 24-bit wrap into (-2**23, 2**23]. Lava's test is ``u > 2**23 -> u - 2**24`` then
  ``u <= -2**23 -> u + 2**24`` (one pass), so 2**23 itself is kept and -2**23 becomes +2**23: one value off a
  true 24-bit two's complement, kept for bit-exactness with the field's reference. ``wrap_current`` reduces
  modulo 2**24 into that interval, which equals Lava's one pass wherever that pass lands in range (any
  |x| < 3 * 2**23, which covers decayed u plus a 16-bit ``a_in << 6``) and stays a wrap for the larger inputs
  a 21-bit dendritic accumulator can deliver (where Lava's single pass would leave u outside 24 bits);
- voltage: decay(v) + u + bias, saturated at +-(2**23 - 1) (Lava ``np.clip``);
- bias: mant << exp (mant 13-bit signed, exp 0..7; a negative exp shifts right, rounding toward minus infinity);
- threshold: spike iff v > vth_mant << 6 (after saturation); the spiking compartment's v is reset to 0;
- dendritic input: a weight mantissa w (-256..255) with exponent e arrives as w << (6 + e) (a right shift for
  negative 6 + e, rounding toward minus infinity). This is nengo-loihi's per-synapse rule. Lava's Dense
  shifts the accumulated sum instead (``sum(w) << e``, or ``>> -e`` for e <= 0) and its LIF then shifts
  ``a_in << 6``: the same result for e >= 0, but for e < 0 Lava floors the *sum* to a multiple of 2**6.
  ``accumulated_input`` is Lava's rule, for a kernel that accumulates raw mantissas per projection.
"""
from __future__ import annotations

import numpy as np
from numba import njit

DECAY_SHIFT = 12
"""Decay constants are 12-bit: the product is shifted right by 12."""
STATE_BITS = 24
"""Current and voltage width (signed)."""
ACT_SHIFT = 6
"""Dendritic input is MSB-aligned by 6 bits (Lava ``act_shift``, nengo-loihi weight exponent + 6)."""
VTH_SHIFT = 6
"""The threshold mantissa is MSB-aligned by 6 bits (Lava ``vth_shift``, nengo-loihi ``VTH_EXP``)."""

_HALF = 1 << (STATE_BITS - 1)          # 2**23
_MASK = (1 << STATE_BITS) - 1          # 2**24 - 1


@njit(cache=True, inline="always")
def decay_int(x: np.int64, d: np.int64, offset: np.int64) -> np.int64:
    """sign(x) * ((|x| * (4096 - d - offset)) >> 12), in int64 (no intermediate overflow for 24-bit x)."""
    keep = np.int64(4096) - d - offset
    if x >= 0:
        return (x * keep) >> DECAY_SHIFT
    return -(((-x) * keep) >> DECAY_SHIFT)


@njit(cache=True, inline="always")
def wrap_current(u: np.int64) -> np.int64:
    """u reduced modulo 2**24 into (-2**23, 2**23]: Lava's wrap (u > 2**23 -> u - 2**24; u <= -2**23 ->
    u + 2**24) wherever its single pass lands in range, i.e. for |u| < 3 * 2**23."""
    r = (u + np.int64(_HALF - 1)) & np.int64(_MASK)   # floor modulo 2**24 in two's complement
    return r - np.int64(_HALF - 1)


@njit(cache=True, inline="always")
def saturate_voltage(v: np.int64) -> np.int64:
    """Clip to +-(2**23 - 1)."""
    top = np.int64(_HALF - 1)
    if v > top:
        return top
    if v < -top:
        return -top
    return v


@njit(cache=True, inline="always")
def dendritic_input(w: np.int64, exponent: np.int64) -> np.int64:
    """A weight mantissa's input to the current: w << (6 + exponent) (>> for a negative shift)."""
    shift = np.int64(ACT_SHIFT) + exponent
    if shift >= 0:
        return w << shift
    return w >> (-shift)


@njit(cache=True, inline="always")
def accumulated_input(acc: np.int64, exponent: np.int64) -> np.int64:
    """Lava's Dense + LIF rule for a sum of weight mantissas: (acc << e, or acc >> -e for e <= 0) << 6."""
    if exponent > 0:
        scaled = acc << exponent
    else:
        scaled = acc >> (-exponent)
    return scaled << np.int64(ACT_SHIFT)


@njit(cache=True, inline="always")
def scaled_bias(mant: np.int64, exponent: np.int64) -> np.int64:
    """The bias added to v every tick: mant << exp (>> -exp for a negative exponent, as Lava ``scale_bias``)."""
    if exponent >= 0:
        return mant << exponent
    return mant >> (-exponent)


@njit(cache=True, inline="always")
def threshold_int(vth_mant: np.int64) -> np.int64:
    """The voltage threshold: vth_mant << 6 (a compartment spikes iff v > this)."""
    return vth_mant << np.int64(VTH_SHIFT)
