"""Networks described as data (TOML tables): connectivity rules, weights, rules, and errors naming the key."""
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from snn.frames import SpikeFrames
from edge.backends import open_backend
from snn.spec import PairSTDP, RewardSTDP
from snn.spec_dict import spec_from_dict

LAUNCH = Path(__file__).resolve().parents[2] / "launch" / "networks"


def small(**overrides) -> dict:
    data = {
        "seed": 1, "readout": "out",
        "populations": [{"name": "in", "size": 4, "kind": "poisson", "rate_hz": 100.0},
                        {"name": "out", "size": 3, "lif": {"v_th_mv": 5.0}}],
        "projections": [{"name": "p", "pre": "in", "post": "out", "connect": "all_to_all", "weight_mv": 3.0,
                         "plasticity": {"rule": "pair_stdp", "a_pre_mv": 0.01, "w_max_mv": 5.0}}],
    }
    data.update(overrides)
    return data


def test_connectivity_rules_and_weights():
    spec = spec_from_dict(small())
    proj = spec.projections[0]
    assert len(proj.pre_idx) == 12 and np.all(proj.weight_mv == 3.0) and isinstance(proj.plasticity, PairSTDP)
    data = small()
    data["projections"][0].update(connect="bernoulli", p=0.5, weight_min_mv=0.0, weight_max_mv=1.0)
    del data["projections"][0]["weight_mv"]
    proj = spec_from_dict(data).projections[0]
    assert 0 < len(proj.pre_idx) < 12 and np.all((proj.weight_mv >= 0) & (proj.weight_mv < 1))
    assert np.array_equal(spec_from_dict(data).projections[0].pre_idx, proj.pre_idx)  # seeded


def test_spec_from_dict_runs_on_the_numba_backend():
    backend = open_backend("numba?dtype=float64")
    backend.load(spec_from_dict(small()), seed=0)
    out = backend.step(SpikeFrames.empty(200), 0.0)
    assert out.n_spikes > 0


@pytest.mark.parametrize("change, key", [
    (lambda d: d.update(bogus=1), "network.bogus"),
    (lambda d: d["populations"][1].update(sizee=3), "populations[1].sizee"),
    (lambda d: d["populations"][1]["lif"].update(v_th_mv="x"), "populations[1].lif.v_th_mv"),
    (lambda d: d["projections"][0].update(pre="nope"), "projections[0].pre"),
    (lambda d: d["projections"][0].update(connect="ring"), "projections[0].connect"),
    (lambda d: d["projections"][0]["plasticity"].update(rule="hebb"), "projections[0].plasticity.rule"),
    (lambda d: d["projections"][0]["plasticity"].update(tau_pre_ms=0.0), "tau_pre_ms"),
    (lambda d: d.pop("readout"), "network.readout"),
])
def test_errors_name_the_key(change, key):
    data = small()
    change(data)
    with pytest.raises(ValueError) as err:
        spec_from_dict(data)
    assert key in str(err.value)


def test_the_shipped_network_file_loads():
    data = tomllib.loads((LAUNCH / "tracking_stdp.toml").read_text())["network"]
    spec = spec_from_dict(data)
    assert spec.input.size == 128 and spec.population(spec.readout).size == 32
    assert isinstance(spec.projections[1].plasticity, RewardSTDP)


def test_models_stp_and_delays_from_tables():
    data = small()
    data["populations"][0]["stp"] = {"u_base": 0.2, "tau_facil_ms": 500.0, "tau_rec_ms": 50.0}
    data["populations"][1].update(kind="izhikevich", model={"a": 0.02, "b": 0.2, "c": -65.0, "d": 6.0})
    data["projections"][0]["delay_ticks"] = 3
    spec = spec_from_dict(data)
    assert spec.populations[0].stp.u_base == 0.2 and spec.populations[1].model.d == 6.0
    assert spec.projections[0].delay_ticks == 3
    backend = open_backend("numba?dtype=float64")
    backend.load(spec, seed=0)
    backend.step(SpikeFrames.empty(100), 0.0)
