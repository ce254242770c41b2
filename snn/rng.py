"""Counter-free xorshift64* random numbers for Numba kernels, with the generator state passed in as data.

A kernel receives ``rng_state`` (uint64 array of length 1) so replay with the same seed is bit-identical.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_MULT = np.uint64(0x2545F4914F6CDD1D)


def make_rng_state(seed: int) -> np.ndarray:
    """A non-zero uint64 state array derived from ``seed`` through NumPy's SeedSequence."""
    value = np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)
    value[0] |= np.uint64(1)
    return value


@njit(cache=True)
def next_u64(rng_state: np.ndarray) -> np.uint64:
    x = rng_state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng_state[0] = x
    return x * _MULT


@njit(cache=True)
def next_uniform(rng_state: np.ndarray) -> float:
    """Uniform float in [0, 1) with 53 random bits."""
    return (next_u64(rng_state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def next_normal(rng_state: np.ndarray) -> float:
    """Standard normal draw (Box-Muller, one of the pair)."""
    u1 = 1.0 - next_uniform(rng_state)
    u2 = next_uniform(rng_state)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
