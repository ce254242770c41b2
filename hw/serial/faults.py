"""Faults a test board injects into its own replies, seeded, on the board's simulated clock.

``--faults drop=0.01,flip=1e-4,garbage_per_s=1,stall_ms=50,reset_every_s=60`` (any subset):

- ``drop=P``: each reply frame is not sent, with probability P (the host times out and retransmits; the board
  answers the repeat from its cache);
- ``flip=Q``: each sent byte has one random bit flipped, with probability Q (the host's CRC catches it);
- ``garbage_per_s=R``: R bursts per simulated second of 1..64 random bytes (zeros included) before a reply
  (the host resynchronises on the next delimiter);
- ``stall_ms=M``: once per simulated second a reply is held for M ms (longer than the host's timeout, it
  is retransmitted);
- ``reset_every_s=T``: every T simulated seconds the board resets after executing a STEP, before replying
  (new session, network and state gone): the host reconnects, reloads and replays.

Simulated time is the furthest network time the board has reached (its tick counter times the tick length;
blocks a host re-runs after a reconnect lie below it and do not advance it), so a faulty run is the same on any
machine; the random draws come from a generator seeded by ``--seed``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

GARBAGE_MAX_BYTES = 64


@dataclass(frozen=True)
class FaultSpec:
    """Fault rates (see the module docstring); all zero: a clean board."""

    drop: float = 0.0
    flip: float = 0.0
    garbage_per_s: float = 0.0
    stall_ms: float = 0.0
    reset_every_s: float = 0.0

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) > 0 for f in fields(self))


def parse_faults(text: str) -> FaultSpec:
    """``key=value,...`` -> FaultSpec; ValueError (one line) naming an unknown key or a value out of range."""
    known = {f.name for f in fields(FaultSpec)}
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, raw = item.partition("=")
        if not sep or key not in known:
            raise ValueError(f"--faults {item!r}: want key=value with key one of {', '.join(sorted(known))}")
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"--faults {key}={raw!r}: not a number") from None
        if not np.isfinite(value) or value < 0 or (key in ("drop", "flip") and value > 1):
            raise ValueError(f"--faults {key}={raw}: must be finite and >= 0" + (" and <= 1" if key in ("drop", "flip")
                                                                                 else ""))
        values[key] = value
    return FaultSpec(**values)


class FaultInjector:
    """Decides, reply by reply, what the board's faults do; counts each kind it injected."""

    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(seed)
        self.counts = {"dropped": 0, "flipped_bytes": 0, "garbage_bursts": 0, "stalls": 0, "resets": 0}
        self._garbage_due_s = self._next_garbage(0.0)
        self._stall_due_s = 1.0 if spec.stall_ms > 0 else np.inf
        self._reset_due_s = spec.reset_every_s if spec.reset_every_s > 0 else np.inf

    def _next_garbage(self, now_s: float) -> float:
        rate = self.spec.garbage_per_s
        return now_s + float(self.rng.exponential(1.0 / rate)) if rate > 0 else np.inf

    def reset_due(self, sim_s: float) -> bool:
        """True once each time the simulated clock passes the next reset time."""
        if sim_s < self._reset_due_s:
            return False
        self._reset_due_s += self.spec.reset_every_s
        self.counts["resets"] += 1
        return True

    def stall_s(self, sim_s: float) -> float:
        """Seconds to hold the next reply (0 unless a stall is due)."""
        if sim_s < self._stall_due_s:
            return 0.0
        self._stall_due_s = sim_s + 1.0
        self.counts["stalls"] += 1
        return self.spec.stall_ms / 1000.0

    def garbage(self, sim_s: float) -> bytes:
        """Random bytes to send before the next reply (empty unless bursts are due)."""
        out = bytearray()
        while sim_s >= self._garbage_due_s:
            n = int(self.rng.integers(1, GARBAGE_MAX_BYTES + 1))
            out += self.rng.integers(0, 256, n, dtype=np.uint8).tobytes()
            self.counts["garbage_bursts"] += 1
            self._garbage_due_s = self._next_garbage(self._garbage_due_s)
        return bytes(out)

    def mangle(self, wire: bytes) -> bytes | None:
        """A reply's wire bytes as sent: None when dropped, else with random bit flips."""
        if self.spec.drop > 0 and self.rng.random() < self.spec.drop:
            self.counts["dropped"] += 1
            return None
        if self.spec.flip <= 0:
            return wire
        n_flips = int(self.rng.binomial(len(wire), self.spec.flip))
        if n_flips == 0:
            return wire
        data = np.frombuffer(wire, dtype=np.uint8).copy()
        where = self.rng.integers(0, len(data), n_flips)
        data[where] ^= (np.uint8(1) << self.rng.integers(0, 8, n_flips).astype(np.uint8))
        self.counts["flipped_bytes"] += n_flips
        return data.tobytes()
