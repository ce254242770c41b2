"""hw.emulator.spec_arrays: a NetworkSpec -> (arrays, JSON-safe layout) -> the same NetworkSpec, exactly (dtypes,
shapes, field types, structure hash), for the built-in networks and one with non-finite and None fields; a layout or
arrays that are not a spec's are refused with one ValueError line naming the path."""
from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from edge.config import load_config, load_network_file
from snn.spec import (
    LIFParams, ModelParams, NetworkSpec, PairSTDP, PopulationSpec, ProjectionSpec, ShortTermPlasticity,
    ThirdFactorHebb,
)
from hw.emulator.spec_arrays import spec_from_arrays, spec_to_arrays
from snn.workloads import cuba_spec, stdp_spec

TRACKING = Path(__file__).resolve().parents[2] / "launch" / "networks" / "tracking_stdp.toml"


def odd_spec() -> NetworkSpec:
    """Infinite and None fields, ints in float fields, float32 and empty arrays, short-term plasticity."""
    return NetworkSpec(
        populations=(
            PopulationSpec("in", 3, kind="poisson", rate_hz=np.array([1.0, 0.0, 5.5], dtype=np.float32)),
            PopulationSpec("out", 2, lif=LIFParams(v_th_mv=12, noise_mv=0.25), v_init_mv=np.array([0.5, -1.0]),
                           model=ModelParams(substeps=3), stp=ShortTermPlasticity(tau_facil_ms=50.0), dale=""),
        ),
        projections=(
            ProjectionSpec("hebb", "in", "out", np.array([0, 1, 2]), np.array([1, 0, 1]), np.array([0.5, 1.0, -2.0]),
                           plasticity=ThirdFactorHebb(), delay_ticks=4),
            ProjectionSpec("pair", "out", "out", np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0),
                           plasticity=PairSTDP(nearest=True), port="inh", normalise_sum_mv=2.5),
        ),
        readout="out", dt_us=250, learning=False)


def tracking_spec() -> NetworkSpec:
    return load_network_file(TRACKING, load_config(None).run.dt_us)


def assert_same(a, b, path: str = "spec") -> None:
    """a and b equal field by field, with the same types, and arrays with the same dtype and shape."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, tuple):
        assert len(a) == len(b), path
        for k, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}.{k}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), path
    else:
        assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), f"{path}: {a!r} != {b!r}"


def through_json(layout: dict) -> dict:
    return json.loads(json.dumps(layout, allow_nan=False))


@pytest.mark.parametrize("build", [lambda: cuba_spec(400), stdp_spec, tracking_spec, odd_spec],
                         ids=["cuba400", "stdp", "tracking", "odd"])
def test_a_round_trip_through_json_is_exact(build):
    spec = build()
    arrays, layout = spec_to_arrays(spec)
    back = spec_from_arrays(arrays, through_json(layout))
    assert_same(spec, back)
    assert back.structure_sha256() == spec.structure_sha256()
    for name in arrays:
        assert name.startswith("spec.") and "/" not in name, name


def test_non_finite_floats_and_none_are_encoded_json_safe():
    arrays, layout = spec_to_arrays(odd_spec())
    hebb = layout["fields"]["projections"]["tuple"][0]["fields"]["plasticity"]["fields"]
    assert hebb["tau_eligibility_ms"] == {"float": "inf"} and hebb["w_min_mv"] == {"float": "-inf"}
    population = layout["fields"]["populations"]["tuple"][0]["fields"]
    assert population["v_init_mv"] is None and population["stp"] is None
    assert sorted(arrays) == ["spec.populations.0.rate_hz", "spec.populations.1.v_init_mv",
                              "spec.projections.0.post_idx", "spec.projections.0.pre_idx",
                              "spec.projections.0.weight_mv", "spec.projections.1.post_idx",
                              "spec.projections.1.pre_idx", "spec.projections.1.weight_mv"]


def test_other_arrays_beside_the_spec_are_ignored():
    arrays, layout = spec_to_arrays(odd_spec())
    assert_same(odd_spec(), spec_from_arrays({**arrays, "row_ptr": np.arange(4)}, layout))


def test_numpy_scalars_come_back_as_the_python_numbers_they_equal():
    spec = dataclasses.replace(odd_spec(), dt_us=np.int64(250))
    back = spec_from_arrays(*spec_to_arrays(spec))
    assert back.dt_us == 250 and type(back.dt_us) is int


def test_a_field_the_layout_lacks_takes_its_default():
    arrays, layout = spec_to_arrays(odd_spec())
    del layout["fields"]["projections"]["tuple"][0]["fields"]["delay_ticks"]
    assert spec_from_arrays(arrays, layout).projections[0].delay_ticks == 0


def population(layout: dict, k: int = 1) -> dict:
    return layout["fields"]["populations"]["tuple"][k]["fields"]


def set_class(layout, arrays):
    layout["fields"]["projections"]["tuple"][0]["fields"]["plasticity"]["class"] = "Pickle"


def drop_array(layout, arrays):
    del arrays["spec.projections.0.weight_mv"]


def array_not_numpy(layout, arrays):
    arrays["spec.projections.0.weight_mv"] = [0.5, 1.0, -2.0]


def string_size(layout, arrays):
    population(layout)["size"] = "2"


def bool_size(layout, arrays):
    population(layout)["size"] = True


def array_for_a_float(layout, arrays):
    population(layout)["lif"]["fields"]["tau_mem_ms"] = {"array": "spec.populations.1.v_init_mv"}


def wrong_rule(layout, arrays):
    layout["fields"]["projections"]["tuple"][0]["fields"]["plasticity"] = population(layout)["lif"]


def unknown_field(layout, arrays):
    population(layout)["colour"] = "blue"


def missing_required(layout, arrays):
    del layout["fields"]["readout"]


def bad_float(layout, arrays):
    population(layout)["lif"]["fields"]["noise_mv"] = {"float": "huge"}


def not_a_node(layout, arrays):
    population(layout)["dale"] = {"set": ["exc"]}


def unused_array(layout, arrays):
    arrays["spec.populations.1.extra"] = np.zeros(2)


def root_not_a_network(layout, arrays):
    layout.update(layout["fields"]["populations"]["tuple"][1])


def invalid_network(layout, arrays):
    arrays["spec.projections.0.pre_idx"] = np.array([0, 1, 7])


@pytest.mark.parametrize("damage, words", [
    (set_class, ["spec.projections.0.plasticity", "unknown class 'Pickle'"]),
    (drop_array, ["spec.projections.0.weight_mv", "missing array"]),
    (array_not_numpy, ["spec.projections.0.weight_mv", "not a numpy array"]),
    (string_size, ["spec.populations.1.size", "str does not fit"]),
    (bool_size, ["spec.populations.1.size", "bool does not fit"]),
    (array_for_a_float, ["spec.populations.1.lif.tau_mem_ms", "ndarray does not fit"]),
    (wrong_rule, ["spec.projections.0.plasticity", "LIFParams does not fit"]),
    (unknown_field, ["spec.populations.1.colour", "no such field"]),
    (missing_required, ["spec.readout", "missing field"]),
    (bad_float, ["spec.populations.1.lif.noise_mv", "'huge'"]),
    (not_a_node, ["spec.populations.1.dale", "not a layout node"]),
    (unused_array, ["spec.populations.1.extra", "not named by the layout"]),
    (root_not_a_network, ["spec:", "root must be a NetworkSpec"]),
    (invalid_network, ["network spec: projection 'hebb'.pre_idx"]),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_what_is_not_a_spec_is_refused_in_one_line(damage, words):
    arrays, layout = spec_to_arrays(odd_spec())
    arrays, layout = dict(arrays), copy.deepcopy(through_json(layout))
    damage(layout, arrays)
    with pytest.raises(ValueError) as info:
        spec_from_arrays(arrays, layout)
    text = str(info.value)
    assert "\n" not in text, text
    for word in words:
        assert word in text, text


@pytest.mark.parametrize("change, words", [
    ({"readout": ["out"]}, ["spec.readout", "list does not fit"]),
    ({"projections": [odd_spec().projections[0]]}, ["spec.projections", "list does not fit"]),
], ids=["list-readout", "list-projections"])
def test_a_spec_with_a_mistyped_field_is_refused_when_encoded(change, words):
    with pytest.raises(ValueError) as info:
        spec_to_arrays(dataclasses.replace(odd_spec(), **change))
    assert "\n" not in str(info.value) and all(word in str(info.value) for word in words), str(info.value)
