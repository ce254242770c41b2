"""bench realtime: the real daemon at real time, timed per block, with a malformed flood from another process."""
import pytest

from edge.bench.realtime import realtime_benchmark
from edge.latency import LatencyHistogram


def test_latency_histogram_percentiles_in_milliseconds():
    hist = LatencyHistogram()
    for us in range(1, 101):  # 1..100 µs
        hist.add(us * 1e-6)
    summary = hist.summary()
    assert hist.total == 100
    assert 0.045 <= summary["block_latency_ms_p50"] <= 0.055
    assert 0.095 <= summary["block_latency_ms_p99"] <= 0.105
    assert summary["block_latency_ms_max"] == 0.1


def test_a_flooded_realtime_run_keeps_pace_and_counts_the_flood():
    result = realtime_benchmark(2.0, flood_hz=500.0, seed=3, log=lambda m: None)
    assert result["blocks"] == 200 and 1.9 <= result["wall_s"] <= 4.0  # paced: 2 s of 10 ms blocks
    assert result["flood"]["sent"] > 300 and result["malformed_messages"] > 100
    assert result["flood"]["replies"] > 0  # malformed control requests are answered, not dropped
    assert 0 < result["block_latency_ms_p50"] <= result["block_latency_ms_p99"]
    assert result["overrun_fraction"] == pytest.approx(result["overruns"] / 200)


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ValueError, match="--seconds must be > 0"):
        realtime_benchmark(0.0)
    with pytest.raises(ValueError, match="--flood-hz must lie in"):
        realtime_benchmark(1.0, flood_hz=-5.0)
