"""neuroedge soak, short: the real daemon loop in compressed time with the bus client, a dark sensor and an
unwritable checkpoint directory — every checkpoint verified, no exception, learned state finite."""
import edge.soak as soak_module


def test_a_short_soak_survives_its_faults_and_reports(monkeypatch):
    monkeypatch.setattr(soak_module, "DARK_EVERY_S", 20.0)
    monkeypatch.setattr(soak_module, "DARK_S", 5.0)
    monkeypatch.setattr(soak_module, "BLOCKED_EVERY_S", 30.0)
    monkeypatch.setattr(soak_module, "BLOCKED_S", 10.0)
    monkeypatch.setattr(soak_module, "RSS_EVERY_S", 10.0)
    result = soak_module.soak(hours=60 / 3600, seed=1, checkpoint_s=0.2, log=lambda m: None)
    assert result["exceptions"] == 0 and result["state_finite"] and result["guard_trips"] == 0
    assert result["checkpoints_written"] > 0
    assert result["checkpoints_verified"] == result["checkpoints_written"]
    assert result["unwritable_spells"] >= 1 and result["checkpoint_failures"] >= 1
    assert result["blocks"] == 6000 and len(result["rss_kib"]) >= 5
    assert 0 < result["block_latency_ms_p50"] <= result["block_latency_ms_p99"] <= result["block_latency_ms_max"] + 0.01
    assert result["client"]["rewards"] > 0 and result["malformed_messages"] > 0
