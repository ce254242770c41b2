"""The stored memory exported as a NetworkSpec recalls on the spiking engine as the fast kernels do."""
from __future__ import annotations

import numpy as np
import pytest

from edge.backends import open_backend
from edge.bench.memory import degrade_input, random_inputs
from snn.memory.hippocampus import Hippocampus, HippocampusConfig
from snn.memory.hippocampus_spec import EngineRecall, RecallNetworkConfig, cue_frames, recall_network

N_INPUT = 512
N_STORED = 20


@pytest.fixture(scope="module")
def stored():
    rng = np.random.default_rng(0)
    memory = Hippocampus(HippocampusConfig(), N_INPUT)
    inputs = random_inputs(N_INPUT, N_STORED, 0.1, rng)
    for i, x in enumerate(inputs):
        memory.store(x, i % 10)
    return memory, inputs, rng


def test_spec_holds_the_stored_synapses_and_obeys_dale(stored):
    memory, _, _ = stored
    spec = recall_network(memory)
    spec.validate()
    assert [p.name for p in spec.populations] == ["ec", "ec_inh", "ca3", "ca3_inh", "ca1"]
    assert spec.readout == "ca1" and not spec.learning
    by_name = {p.name: p for p in spec.projections}
    perforant = by_name["perforant"]
    assert perforant.pre_idx.size == np.count_nonzero(memory.perforant)
    unit = perforant.weight_mv.min() / memory.perforant[memory.perforant > 0].min()
    np.testing.assert_allclose(perforant.weight_mv, unit * memory.perforant[perforant.pre_idx, perforant.post_idx])
    assert by_name["recurrent"].pre_idx.size == int(memory.ca3.recurrent.sum())
    assert by_name["readout"].pre_idx.size == np.count_nonzero(memory.readout)
    assert np.all(by_name["feedback_inhibition"].weight_mv < 0)
    # the centring: each entorhinal relay spike takes back a CA3 cell's mean perforant weight
    ff = by_name["feedforward_inhibition"]
    np.testing.assert_allclose(ff.weight_mv[:memory.config.n_ca3],
                               -unit * memory.perforant.sum(axis=0) / memory.n_input)
    assert {p.kind for p in spec.populations if p.name in ("ec_inh", "ca3_inh", "ca1")} == {"integrate_fire"}
    assert all(p.plasticity is None for p in spec.projections)


def test_engine_recall_gives_the_stored_labels_like_the_kernels(stored):
    memory, inputs, rng = stored
    on_engine = EngineRecall(memory, open_backend("numba"))
    for i, x in enumerate(inputs[:8]):
        cue = degrade_input(x, 0.3, 0.2, rng)
        label, counts = on_engine.recall(cue)
        assert label == i % 10 == memory.recall(cue).label
        assert counts[label] > 0


def test_a_new_input_evokes_less_ca1_activity_than_a_stored_one(stored):
    memory, inputs, rng = stored
    on_engine = EngineRecall(memory, open_backend("numba"))
    familiar = sum(on_engine.recall(x)[1].sum() for x in inputs[:4])
    novel = sum(on_engine.recall(x)[1].sum() for x in random_inputs(N_INPUT, 4, 0.1, rng))
    assert novel < 0.25 * familiar


def test_each_recall_starts_from_rest(stored):
    memory, inputs, _ = stored
    on_engine = EngineRecall(memory, open_backend("numba"))
    first = on_engine.recall(inputs[1])[1]
    on_engine.recall(inputs[2])
    assert np.array_equal(on_engine.recall(inputs[1])[1], first)


def test_cue_frames_fire_the_entorhinal_code_every_tick(stored):
    memory, inputs, _ = stored
    frames = cue_frames(memory, inputs[0], 5)
    ec = memory.entorhinal(inputs[0])
    assert frames.n_ticks == 5 and np.array_equal(frames.tick(3), ec)


def test_config_validation_names_the_key():
    with pytest.raises(ValueError, match="recall_network.pp_drive_mv"):
        RecallNetworkConfig(pp_drive_mv=0.0)
    with pytest.raises(ValueError, match="recall_network.inhibition_balance"):
        RecallNetworkConfig(inhibition_balance=-1.0)
