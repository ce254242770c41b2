"""Plain-Python xorshift64* reference for snn.rng: Python integers masked to 64 bits, math-module floats.

Mirrors the documented algorithm (Marsaglia xorshift 12/25/27, multiplier 0x2545F4914F6CDD1D).
"""
from __future__ import annotations

import math

MASK64 = (1 << 64) - 1
MULT = 0x2545F4914F6CDD1D


class XorShift64Star:
    """One generator; ``state`` is the plain int equivalent of the kernels' uint64 ``rng_state[0]``."""

    def __init__(self, state: int) -> None:
        self.state = int(state) & MASK64

    def next_u64(self) -> int:
        x = self.state
        x ^= x >> 12
        x ^= (x << 25) & MASK64
        x ^= x >> 27
        self.state = x
        return (x * MULT) & MASK64

    def next_uniform(self) -> float:
        return (self.next_u64() >> 11) / 9007199254740992.0

    def next_normal(self) -> float:
        u1 = 1.0 - self.next_uniform()
        u2 = self.next_uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
