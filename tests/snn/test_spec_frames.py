"""snn.frames.SpikeFrames (builders, counts, validation) and snn.spec.NetworkSpec validation messages."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from snn.frames import SpikeFrames
from edge.backends import open_backend
from snn.spec import LIFParams, NetworkSpec, PopulationSpec, ProjectionSpec, RewardSTDP


def test_from_lists_builds_csr():
    frames = SpikeFrames.from_lists([[3, 1], [], [0, 0, 2]])
    assert frames.tick_ptr.dtype == np.int64 and frames.neuron_ids.dtype == np.int32
    assert frames.tick_ptr.tolist() == [0, 2, 2, 5]
    assert frames.neuron_ids.tolist() == [3, 1, 0, 0, 2]
    assert frames.n_ticks == len(frames) == 3 and frames.n_spikes == 5
    assert [frames.tick(k).tolist() for k in range(3)] == [[3, 1], [], [0, 0, 2]]
    frames.validate(4)


def test_from_lists_of_empty_ticks_and_empty():
    for frames in (SpikeFrames.from_lists([[], []]), SpikeFrames.empty(2)):
        assert frames.n_ticks == 2 and frames.n_spikes == 0
        assert frames.tick_ptr.tolist() == [0, 0, 0]
        assert frames.counts(3).tolist() == [0, 0, 0]
        frames.validate(1)
    assert SpikeFrames.from_lists([]).n_ticks == 0


def test_counts():
    frames = SpikeFrames.from_lists([[3, 1], [], [0, 1, 1]])
    counts = frames.counts(5)
    assert counts.tolist() == [1, 3, 0, 1, 0]
    assert counts.dtype == np.int64


@pytest.mark.parametrize(
    "tick_ptr,ids,n,message",
    [
        ([1, 2], [0], 4, "start at 0"),
        ([[0, 1]], [0], 4, "1-D"),
        ([], [], 4, "1-D"),
        ([0, 2, 1], [0, 1], 4, "non-decreasing"),
        ([0, 2], [0], 4, "1 neuron ids but tick_ptr ends at 2"),
        ([0, 2], [0, 4], 4, r"outside 0\.\.3"),
        ([0, 1], [-1], 4, r"outside 0\.\.3"),
    ],
)
def test_validate_errors(tick_ptr, ids, n, message):
    frames = SpikeFrames(np.array(tick_ptr, dtype=np.int64), np.array(ids, dtype=np.int32))
    with pytest.raises(ValueError, match=message) as info:
        frames.validate(n, name="inputs")
    assert str(info.value).startswith("inputs:")


# --- NetworkSpec.validate ---------------------------------------------------------------------------

def spec(**changes) -> NetworkSpec:
    base = NetworkSpec(
        populations=(PopulationSpec("in", 3, kind="input"), PopulationSpec("hid", 2), PopulationSpec("out", 2)),
        projections=(
            ProjectionSpec("in_hid", "in", "hid", np.array([0, 2]), np.array([1, 0]), np.array([1.0, 2.0]), RewardSTDP()),
            ProjectionSpec("hid_out", "hid", "out", np.array([0, 1]), np.array([1, 1]), np.array([1.0, -1.0])),
        ),
        readout="out",
    )
    return replace(base, **changes)


def with_projection(index: int, **changes) -> NetworkSpec:
    projections = list(spec().projections)
    projections[index] = replace(projections[index], **changes)
    return spec(projections=tuple(projections))


def with_population(index: int, **changes) -> NetworkSpec:
    pops = list(spec().populations)
    pops[index] = replace(pops[index], **changes)
    return spec(populations=tuple(pops))


def test_valid_spec_passes_and_loads():
    spec().validate()
    backend = open_backend("numba?dtype=float64")
    backend.load(spec(), seed=0)
    assert backend.step(SpikeFrames.from_lists([[0, 2]]), 0.0).n_ticks == 1


@pytest.mark.parametrize(
    "bad,message",
    [
        (lambda: spec(dt_us=0), "network.dt_us"),
        (lambda: with_population(1, size=0), r"population 'hid'\.size"),
        (lambda: with_population(2, kind="izh"), r"population 'out'\.kind"),
        (lambda: with_population(1, lif=LIFParams(tau_mem_ms=0.0)), r"population 'hid'\.lif\.tau_mem_ms"),
        (lambda: with_population(2, lif=LIFParams(noise_mv=-1.0)), r"population 'out'\.lif\.noise_mv"),
        (lambda: with_population(1, lif=LIFParams(v_th_mv=0.0, v_reset_mv=1.0)), r"population 'hid'\.lif\.v_th_mv"),
        (lambda: with_population(1, name="in"), "duplicate names"),
        (lambda: with_population(1, kind="input"), "at most one 'input'"),
        (lambda: spec(readout="in"), r"network\.readout: 'in'"),
        (lambda: spec(readout="nope"), "no population named 'nope'"),
        (lambda: with_projection(1, post="in"), r"projection 'hid_out'\.post"),
        (lambda: with_projection(0, pre_idx=np.array([0, 3])), r"projection 'in_hid'\.pre_idx: outside 0\.\.2"),
        (lambda: with_projection(1, post_idx=np.array([0, -1])), r"projection 'hid_out'\.post_idx"),
        (lambda: with_projection(1, weight_mv=np.array([1.0])), r"projection 'hid_out': pre_idx, post_idx and weight_mv"),
        (lambda: with_projection(1, weight_mv=np.array([np.nan, 1.0])), r"projection 'hid_out'\.weight_mv"),
        (lambda: with_projection(0, plasticity=RewardSTDP(learning_rate=-1.0)),
         r"projection 'in_hid'\.plasticity\.learning_rate"),
        (lambda: with_projection(0, plasticity=RewardSTDP(tau_eligibility_ms=0.0)),
         r"projection 'in_hid'\.plasticity\.tau_eligibility_ms"),
        (lambda: with_projection(0, plasticity=RewardSTDP(w_min_mv=2.0, w_max_mv=1.0)),
         r"projection 'in_hid'\.plasticity\.w_max_mv"),
    ],
)
def test_validate_errors_name_the_owner_and_key(bad, message):
    bad_spec = bad()
    with pytest.raises(ValueError, match=message):
        bad_spec.validate()
    with pytest.raises(ValueError, match=message):
        open_backend("numba?dtype=float64").load(bad_spec, seed=0)


def test_numba_limits_are_the_back_ends_not_the_specs():
    """Per-neuron traces are a numba choice: the spec is valid, the numba back end refuses it in one line."""
    bad_spec = with_projection(1, plasticity=RewardSTDP(tau_pre_ms=5.0))
    bad_spec.validate()
    with pytest.raises(ValueError, match="numba backend: plastic projections must share tau_pre_ms"):
        open_backend("numba").load(bad_spec, seed=0)


def test_numba_refuses_a_refractory_period_beyond_its_counter():
    long_hold = replace(with_population(1, lif=LIFParams(refractory_ms=3277.0)), dt_us=100)  # 32770 ticks
    long_hold.validate()
    with pytest.raises(ValueError, match="numba backend: population 'hid': refractory_ms 3277.0 is more than 32767"):
        open_backend("numba").load(long_hold, seed=0)
    open_backend("numba").load(replace(with_population(1, lif=LIFParams(refractory_ms=3276.0)), dt_us=100), seed=0)


def test_structure_hash_ignores_weights_but_not_structure():
    base = spec()
    assert base.structure_sha256() == with_projection(0, weight_mv=base.projections[0].weight_mv + 1.0).structure_sha256()
    assert base.structure_sha256() != with_projection(0, post_idx=base.projections[0].post_idx[::-1].copy()).structure_sha256()
    assert base.structure_sha256() != with_population(1, lif=LIFParams(tau_mem_ms=11.0)).structure_sha256()
    assert base.structure_sha256() != spec(dt_us=500).structure_sha256()


def test_offsets_and_sizes():
    s = spec()
    assert s.offsets() == {"in": 0, "hid": 3, "out": 5}
    assert s.n_neurons == 7
    assert s.input.name == "in"
