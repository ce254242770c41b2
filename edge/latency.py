"""Block-latency histogram: fixed bins, so hours of blocks cost a fixed, small memory (soak, bench realtime)."""
from __future__ import annotations

import numpy as np

BIN_US = 5.0
N_BINS = 20_000  # up to 100 ms in 5 µs bins; longer blocks count in the last bin (and in ``worst_s``)


class LatencyHistogram:
    """Counts block durations (seconds in, milliseconds out) in BIN_US-wide bins."""

    def __init__(self) -> None:
        self.counts = np.zeros(N_BINS, dtype=np.int64)
        self.worst_s = 0.0

    def add(self, seconds: float) -> None:
        self.counts[min(int(seconds * 1e6 / BIN_US), N_BINS - 1)] += 1
        self.worst_s = max(self.worst_s, seconds)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def percentile_ms(self, q: float) -> float:
        """The q-quantile (0 < q <= 1) in milliseconds, at the centre of its bin."""
        cumulative = np.cumsum(self.counts) / max(self.total, 1)
        return round(float((np.searchsorted(cumulative, q) + 0.5) * BIN_US / 1000.0), 4)

    def summary(self) -> dict:
        """``block_latency_ms_p50``, ``_p99`` and ``_max`` as soak and bench realtime report them."""
        return {"block_latency_ms_p50": self.percentile_ms(0.5), "block_latency_ms_p99": self.percentile_ms(0.99),
                "block_latency_ms_max": round(self.worst_s * 1000.0, 3)}
