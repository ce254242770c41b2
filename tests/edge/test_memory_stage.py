"""MemoryStage: windows of encoded input spikes → hippocampal memory → recall/novelty actions; its config."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402

from edge.config import ConfigError, MemoryConfig, config_from_dict, load_config  # noqa: E402
from edge.hearing import Hearing, HearingConfig  # noqa: E402
from edge.memory_stage import MemoryStage, expected_quality, split_memory, with_memory  # noqa: E402
from snn.frames import SpikeFrames  # noqa: E402
from snn.memory.hippocampus import Hippocampus, HippocampusConfig  # noqa: E402
from snn.hearing.utterance import Utterance  # noqa: E402

N_INPUT = 64
DT_US = 1000
WINDOW_TICKS = 7
SMALL = HippocampusConfig(n_dg=600, dg_fan_in=12, n_ca3=300, mossy_fan_in=60, ca3_sparsity=0.05, seed=4)


def memory_config(**fields) -> MemoryConfig:
    base = MemoryConfig(enabled=True, window_ms=WINDOW_TICKS * DT_US / 1000, store="novelty", min_activity=20,
                        hippocampus=SMALL)
    return replace(base, **fields)


def random_frames(n_ticks: int, seed: int, rate: float = 0.1) -> SpikeFrames:
    """Input spikes of ``n_ticks`` ticks: a few active inputs per tick, with a few silent stretches."""
    rng = np.random.default_rng(seed)
    ticks = []
    for k in range(n_ticks):
        silent = (k // 20) % 5 == 3  # 20-tick gaps: some windows fall below min_activity
        ticks.append([] if silent else sorted(rng.choice(N_INPUT, rng.binomial(N_INPUT, rate), replace=False)))
    return SpikeFrames.from_lists(ticks)


def cut(frames: SpikeFrames, start: int, stop: int) -> SpikeFrames:
    ptr = frames.tick_ptr[start:stop + 1]
    return SpikeFrames(ptr - ptr[0], frames.neuron_ids[ptr[0]:ptr[-1]])


def push_in_blocks(stage: MemoryStage, frames: SpikeFrames, sizes, t0_us: int = 0) -> list:
    actions, tick = [], 0
    sizes = iter(sizes)
    while tick < frames.n_ticks:
        n = min(next(sizes), frames.n_ticks - tick)
        actions += stage.push(cut(frames, tick, tick + n), t0_us + tick * DT_US)
        tick += n
    return actions


def summary(actions) -> list:
    return [(a.name, a.values, a.t_us) for a in actions]


def test_windows_complete_at_the_right_ticks_whatever_the_block_size():
    frames = random_frames(250, seed=1)
    t0 = 5_000_000
    rng = np.random.default_rng(2)
    chunkings = {"whole": [frames.n_ticks], "ticks": [1] * 250, "blocks10": [10] * 25,
                 "window": [WINDOW_TICKS] * 40, "random": list(rng.integers(1, 30, size=250))}
    results = {}
    for name, sizes in chunkings.items():
        stage = MemoryStage(memory_config(), N_INPUT, DT_US)
        results[name] = summary(push_in_blocks(stage, frames, sizes, t0))
        assert stage.windows == 250 // WINDOW_TICKS and stage._filled == 250 % WINDOW_TICKS
    first = results["whole"]
    for name, got in results.items():
        assert got == first, name

    # two actions per window, stamped with the window's end, the same as a Hippocampus fed by hand
    n_windows = 250 // WINDOW_TICKS
    assert [a[0] for a in first] == ["recall", "novelty"] * n_windows
    assert [a[2] for a in first[::2]] == [t0 + (w + 1) * WINDOW_TICKS * DT_US for w in range(n_windows)]
    reference = Hippocampus(SMALL, N_INPUT)
    for w in range(n_windows):
        x = cut(frames, w * WINDOW_TICKS, (w + 1) * WINDOW_TICKS).counts(N_INPUT).astype(float)
        recall, novelty = first[2 * w][1], first[2 * w + 1][1]
        if x.sum() < 20:
            assert recall == (-1, 0.0) and novelty == (0.0, 0)
            continue
        found = reference.observe(x)
        assert recall == (found.label, round(found.confidence, 6))
        assert novelty == (round(found.novelty, 6), int(found.stored))


def test_silent_windows_neither_store_nor_crash():
    stage = MemoryStage(memory_config(min_activity=20), N_INPUT, DT_US)
    actions = stage.push(SpikeFrames.empty(3 * WINDOW_TICKS), 0)
    sparse = SpikeFrames.from_lists([[1, 2, 3]] * 5 + [[]] * (WINDOW_TICKS - 5))  # 15 spikes < 20
    actions += stage.push(sparse, 3 * WINDOW_TICKS * DT_US)
    assert summary(actions) == [(name, values, (w + 1) * WINDOW_TICKS * DT_US)
                                for w in range(4) for name, values in (("recall", (-1, 0.0)), ("novelty", (0.0, 0)))]
    assert stage.windows == 4 and stage.recalls == 0 and stage.stored == 0 and stage.last_novelty == 0.0
    with pytest.raises(ValueError, match=r"15 spikes, below memory\.min_activity = 20"):
        stage.store(1)
    assert stage.stored == 0
    assert stage.push(SpikeFrames.empty(0), 0) == []  # an empty block is no window


def test_novelty_mode_stores_what_is_new_once():
    stage = MemoryStage(memory_config(store="novelty"), N_INPUT, DT_US)
    window = random_frames(WINDOW_TICKS, seed=5, rate=0.2)
    first = stage.push(window, 0)
    assert first[1].values[0] == 1.0 and first[1].values[1] == 1 and stage.stored == 1
    again = stage.push(window, WINDOW_TICKS * DT_US)
    assert again[1].values == (0.0, 0) and stage.stored == 1 and stage.recalls == 2


def test_a_full_memory_stores_nothing_more_and_says_so():
    config = memory_config(store="novelty", max_load=3 / SMALL.n_ca3)  # room for three patterns
    stage = MemoryStage(config, N_INPUT, DT_US)
    for k in range(6):
        stage.push(random_frames(WINDOW_TICKS, seed=100 + k, rate=0.2), k * WINDOW_TICKS * DT_US)
    assert stage.stored == 3 and stage.full and stage.status()["memory_full"] is True
    with pytest.raises(ValueError, match="full"):
        stage.store(1)
    assert stage.stored == 3


def test_status_tells_the_load_and_the_recall_quality_measured_there():
    stage = MemoryStage(memory_config(store="novelty"), N_INPUT, DT_US)
    status = stage.status()
    assert status["memory_load"] == 0.0 and status["memory_expected_label_accuracy"] == 1.0
    for k in range(4):
        stage.push(random_frames(WINDOW_TICKS, seed=100 + k, rate=0.2), k * WINDOW_TICKS * DT_US)
    status = stage.status()
    assert status["memory_load"] == round(stage.stored / SMALL.n_ca3, 4) > 0
    assert (status["memory_expected_label_accuracy"], status["memory_expected_novelty_auc"]) == tuple(
        round(v, 4) for v in expected_quality(stage.stored / SMALL.n_ca3))


def test_expected_quality_interpolates_the_measured_table_and_falls_past_the_limit():
    assert expected_quality(0.3) == (1.0, 1.0)
    labels_06, _ = expected_quality(0.6)
    assert labels_06 < 0.95 < expected_quality(0.55)[0]
    assert expected_quality(0.575)[0] == pytest.approx((0.98 + 0.94) / 2)
    assert expected_quality(5.0) == expected_quality(1.0)


def test_memory_max_load_is_validated():
    with pytest.raises(ValueError, match=r"memory\.max_load"):
        memory_config(max_load=0.0).validate()


def test_command_mode_stores_the_last_window_only_on_store():
    stage = MemoryStage(memory_config(store="command"), N_INPUT, DT_US)
    with pytest.raises(ValueError, match="no input has completed"):
        stage.store()
    a, b = random_frames(WINDOW_TICKS, seed=6, rate=0.2), random_frames(WINDOW_TICKS, seed=7, rate=0.2)
    out = stage.push(a, 0) + stage.push(b, WINDOW_TICKS * DT_US)
    assert [x.values[1] for x in out[1::2]] == [0, 0] and stage.stored == 0  # novel, but not stored
    for bad in (True, 3.0, "3", -1, SMALL.n_labels):
        with pytest.raises(ValueError, match="label"):
            stage.store(bad)
    assert stage.store(3) == SMALL.k_ca3 and stage.stored == 1  # the last window: b
    recall_b, novelty_b = stage.push(b, 0)
    assert recall_b.values == (3, 1.0) and novelty_b.values == (0.0, 0)
    recall_a, novelty_a = stage.push(a, 0)
    assert novelty_a.values[0] > novelty_b.values[0] and stage.stored == 1


def test_state_round_trip_and_checkpoint_prefix():
    frames = random_frames(17 * WINDOW_TICKS, seed=8, rate=0.2)  # whole windows: no window left open
    stage = MemoryStage(memory_config(), N_INPUT, DT_US)
    stage.push(frames, 0)
    stage.store(2)
    assert stage.stored >= 2
    arrays = with_memory({"weight_mv": np.zeros(3)}, stage)
    assert set(arrays) == {"weight_mv", "memory.ca3_recurrent", "memory.perforant", "memory.ca1_readout",
                           "memory.n_stored"}
    rest, memory = split_memory(arrays)
    assert set(rest) == {"weight_mv"} and with_memory(rest, None) is rest

    fresh = MemoryStage(memory_config(), N_INPUT, DT_US)
    fresh.check_meta(stage.meta())
    fresh.restore(memory)
    assert fresh.stored == stage.stored
    probe = random_frames(WINDOW_TICKS, seed=9, rate=0.2)
    assert summary(fresh.push(probe, 0)) == summary(stage.push(probe, 0))

    other = MemoryStage(memory_config(), N_INPUT + 1, DT_US)
    with pytest.raises(ValueError, match="'perforant'"):
        other.restore(memory)
    with pytest.raises(ValueError, match="64 inputs"):
        other.check_meta(stage.meta())
    with pytest.raises(ValueError, match=r"memory\.hippocampus\.seed"):
        MemoryStage(memory_config(hippocampus=replace(SMALL, seed=5)), N_INPUT, DT_US).check_meta(stage.meta())
    with pytest.raises(ValueError, match="'n_stored'"):
        fresh.restore({k: v for k, v in memory.items() if k != "n_stored"})
    with pytest.raises(ValueError, match="'ca1_readout' is float64"):
        fresh.restore({**memory, "ca1_readout": memory["ca1_readout"].astype(np.float64)})


def test_bad_inputs_are_refused():
    stage = MemoryStage(memory_config(), N_INPUT, DT_US)
    with pytest.raises(ValueError, match="outside 0..63"):
        stage.push(SpikeFrames.from_lists([[N_INPUT]]), 0)
    with pytest.raises(ValueError, match=r"shape \(64,\)"):
        stage.observe_vector(np.ones(N_INPUT + 1), 0)
    vector_only = MemoryStage(memory_config(window_ms=0.3), N_INPUT, None)  # audio: no windows
    assert len(vector_only.observe_vector(np.full(N_INPUT, 2.0), 123)) == 2
    with pytest.raises(ValueError, match="observe_vector"):
        vector_only.push(SpikeFrames.empty(1), 0)


def test_the_word_net_reports_its_input_counts_per_map_neuron():
    hearing = Hearing(HearingConfig())
    n_bins = hearing.config.word_net.n_bins
    u = Utterance(ticks=np.array([0, 0, 5, 99], dtype=np.int64), neuron_ids=np.array([0, 3, 3, 31], dtype=np.int32),
                  n_ticks=100, start_tick=0)
    x = hearing.net.present(u).input_counts
    assert x.shape == (hearing.net.n_map,) and x.sum() == 4
    assert x[0] == 1 and x[3 * n_bins] == 2 and x[31 * n_bins + n_bins - 1] == 1


def test_memory_config_keys_and_launch_file():
    config = config_from_dict({"memory": {"enabled": True, "window_ms": 20, "store": "command", "min_activity": 5,
                                          "hippocampus": {"n_ca3": 500, "cue_gain": 0, "seed": 2}}})
    m = config.memory
    assert m.enabled and m.window_ms == 20.0 and m.store == "command" and m.min_activity == 5
    assert m.hippocampus == HippocampusConfig(n_ca3=500, cue_gain=0.0, seed=2)
    assert config_from_dict({}).memory == MemoryConfig() and MemoryConfig().enabled is False
    launch = load_config(helpers.REPO / "launch" / "memory.toml")
    assert launch.memory.enabled and launch.memory.store == "novelty" and launch.source.kind == "scene"
    assert launch.memory.hippocampus == HippocampusConfig()


@pytest.mark.parametrize("table, key", [
    ({"memory": {"enabled": "yes"}}, "memory.enabled"),
    ({"memory": {"window_ms": 0}}, "memory.window_ms"),
    ({"memory": {"enabled": True, "window_ms": 2.5}}, "memory.window_ms"),
    ({"memory": {"store": "always"}}, "memory.store"),
    ({"memory": {"min_activity": -1}}, "memory.min_activity"),
    ({"memory": {"min_activity": 2.5}}, "memory.min_activity"),
    ({"memory": {"windw_ms": 50}}, "memory.windw_ms"),
    ({"memory": {"hippocampus": {"n_dgg": 10}}}, "memory.hippocampus.n_dgg"),
    ({"memory": {"hippocampus": {"n_dg": 0}}}, "memory.hippocampus.n_dg"),
    ({"memory": {"hippocampus": {"dg_sparsity": 1.5}}}, "memory.hippocampus.dg_sparsity"),
    ({"memory": {"hippocampus": {"mossy_fan_in": 9000}}}, "memory.hippocampus.mossy_fan_in"),
    ({"memory": {"hippocampus": {"n_ca3": 2}}}, "memory.hippocampus.ca3_sparsity"),
    ({"memory": {"hippocampus": {"seed": -1}}}, "memory.hippocampus.seed"),
    ({"memory": {"hippocampus": 3}}, "memory.hippocampus"),
])
def test_memory_config_errors_name_the_key(table, key):
    with pytest.raises(ConfigError, match=rf"^config\.{key}: "):
        config_from_dict(table)
