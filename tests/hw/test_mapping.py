"""Core mapping: every limit, overflowed by one, is refused by name; exactly at the limit fits; the per-core
counts agree with a plain-Python reference; the greedy split is maximal and deterministic; built-ins map."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from hw.emulator.mapping import INDEX_BITS_MAP, index_bits, map_network
from hw.emulator.profile import LOIHI
from snn.spec import NetworkSpec, PopulationSpec, ProjectionSpec

REPO = Path(__file__).resolve().parents[2]


def network(sizes: dict[str, int], synapses: dict[tuple[str, str], tuple[list, list]], inputs: str = "") -> NetworkSpec:
    """Populations in order (``inputs`` names the input one), synapses by (pre, post) as (pre ids, post ids)."""
    pops = tuple(PopulationSpec(name, size, kind="input" if name == inputs else "lif") for name, size in sizes.items())
    projs = tuple(ProjectionSpec(f"{a}_{b}", a, b, np.asarray(pre, np.int32), np.asarray(post, np.int32),
                                 np.full(len(pre), 0.1)) for (a, b), (pre, post) in synapses.items())
    return NetworkSpec(pops, projs, readout=[n for n in sizes if n != inputs][-1])


def fan_in(n_in: int, copies: np.ndarray | int = 1) -> NetworkSpec:
    """``n_in`` inputs onto one neuron, input i with ``copies[i]`` synapses (duplicates) onto it."""
    pre = np.repeat(np.arange(n_in), copies)
    return network({"in": n_in, "out": 1}, {("in", "out"): (pre, np.zeros(len(pre)))}, inputs="in")


def reference_usage(spec: NetworkSpec, report, profile) -> list[dict]:
    """Per-core resources counted synapse by synapse (slow and obvious) from the report's neuron ranges."""
    offsets = spec.offsets()
    core_of, local_of = {}, {}
    for core, entry in enumerate(report.per_core):
        local = 0
        for name, lo, hi in entry["populations"]:
            for i in range(lo, hi):
                core_of[offsets[name] + i], local_of[offsets[name] + i] = core, local
                local += 1
    axons = {}  # (core, pre) -> [count, largest local index]
    for proj in spec.projections:
        for a, b in zip(proj.pre_idx, proj.post_idx):
            pre, post = offsets[proj.pre] + int(a), offsets[proj.post] + int(b)
            entry = axons.setdefault((core_of[post], pre), [0, 0])
            entry[0] += 1
            entry[1] = max(entry[1], local_of[post])
    usage = [{"compartments": e["compartments"], "in_axons": 0, "out_axons": 0, "synapse_words": 0}
             for e in report.per_core]
    for (core, pre), (n, top) in axons.items():
        need = top.bit_length()
        bits = next(b for b in INDEX_BITS_MAP if b >= need)
        usage[core]["in_axons"] += 1
        usage[core]["synapse_words"] += math.ceil((n * (profile.weight_bits + profile.delay_bits + bits) + 10) / 64)
        if pre in core_of:
            usage[core_of[pre]]["out_axons"] += 1
    return usage


def test_index_bits_follow_the_nengo_loihi_map():
    assert index_bits(np.array([0, 1, 63, 64, 127, 128, 1023, 4095])).tolist() == [0, 6, 6, 7, 7, 8, 10, 12]


@pytest.mark.parametrize("n", [1024, 1025])
def test_compartments_at_the_limit_fit_one_core_and_one_more_opens_a_second(n):
    report = map_network(network({"a": n}, {}), LOIHI)
    assert report.fits
    assert [c["compartments"] for c in report.per_core] == ([1024] if n == 1024 else [1024, 1])
    assert report.per_core[-1]["populations"] == [["a", 1024 * (n > 1024), n]]


def test_in_axons_at_the_limit_fit():
    report = map_network(fan_in(4096), LOIHI)
    assert report.fits and report.cores == 1 and report.per_core[0]["in_axons"] == 4096


def test_in_axons_over_the_limit_are_refused_by_name():
    report = map_network(fan_in(4097), LOIHI)
    assert not report.fits
    v = report.violation
    assert (v.core, v.resource, v.value, v.maximum) == (0, "in_axons", 4097, 4096)
    assert report.to_dict()["violation"] == {"core": 0, "resource": "in_axons", "value": 4097, "maximum": 4096}


def test_synapse_words_at_the_limit_fit():
    # 14 synapses per axon: 14 * (8 + 6 + 0) + 10 = 206 bits = 4 words; 4096 axons = 16384 words
    report = map_network(fan_in(4096, 14), LOIHI)
    assert report.fits and report.per_core[0]["synapse_words"] == 16384


def test_synapse_words_over_the_limit_are_refused_by_name():
    copies = np.full(4096, 14)
    copies[-1] = 18  # 262 bits = 5 words: one word over
    report = map_network(fan_in(4096, copies), LOIHI)
    v = report.violation
    assert not report.fits and (v.core, v.resource, v.value, v.maximum) == (0, "synapse_words", 16385, 16384)


@pytest.mark.parametrize("n_dst, fits", [(4, True), (5, False)])
def test_out_axons_over_the_limit_are_refused_by_name(n_dst, fits):
    profile = dataclasses.replace(LOIHI, compartments=1, out_axons=4)  # one neuron a core: one core per target
    spec = network({"src": 1, "dst": n_dst}, {("src", "dst"): ([0] * n_dst, list(range(n_dst)))})
    report = map_network(spec, profile)
    assert report.fits is fits
    if fits:
        assert report.per_core[0]["out_axons"] == 4
    else:
        v = report.violation
        assert (v.core, v.resource, v.value, v.maximum) == (0, "out_axons", 5, 4)


def test_a_core_over_its_out_axons_is_refilled_with_fewer_neurons():
    profile = dataclasses.replace(LOIHI, compartments=4, out_axons=6)
    # every src neuron reaches three dst cores (one target on each): four on a core would need 12 out-axons
    spec = network({"src": 4, "dst": 12}, {("src", "dst"): (np.repeat(np.arange(4), 3), [0, 4, 8] * 4)})
    report = map_network(spec, profile)
    assert report.fits
    assert all(c["out_axons"] <= 6 for c in report.per_core)
    assert report.per_core[0]["populations"] == [["src", 0, 2]]


def random_network(seed: int) -> NetworkSpec:
    rng = np.random.default_rng(seed)
    sizes = {"in": 300, "a": int(rng.integers(50, 400)), "b": int(rng.integers(1, 300))}
    synapses = {}
    for pre, post, p in (("in", "a", 0.3), ("a", "a", 0.2), ("a", "b", 0.5), ("b", "a", 0.1), ("in", "b", 0.05)):
        pre_ids, post_ids = np.nonzero(rng.random((sizes[pre], sizes[post])) < p)
        synapses[(pre, post)] = (pre_ids, post_ids)
    return network(sizes, synapses, inputs="in")


@pytest.mark.parametrize("seed", range(4))
def test_per_core_counts_match_a_synapse_by_synapse_reference(seed):
    profile = dataclasses.replace(LOIHI, compartments=128, in_axons=400, out_axons=1000, synapse_words=900)
    spec = random_network(seed)
    report = map_network(spec, profile)
    assert report.fits
    reference = reference_usage(spec, report, profile)
    assert [{k: c[k] for k in reference[0]} for c in report.per_core] == reference
    for core in report.per_core:
        assert all(core[k] <= report.limits[k] for k in report.limits)
    assert sum(c["compartments"] for c in report.per_core) == spec.n_neurons - 300


@pytest.mark.parametrize("seed", range(3))
def test_the_greedy_split_is_maximal(seed):
    """Without out-axon refills, no core could take its successor's first neuron."""
    profile = dataclasses.replace(LOIHI, compartments=128, in_axons=400, out_axons=10**6, synapse_words=900)
    spec = random_network(seed)
    report = map_network(spec, profile)
    offsets = spec.offsets()
    for core in range(report.cores - 1):
        lo, hi = int(report.neuron_lo[core]), int(report.neuron_hi[core]) + 1
        pre, post = [], []
        for proj in spec.projections:  # every synapse onto the core's neurons and its successor's first one
            target = np.asarray(proj.post_idx) + offsets[proj.post]
            keep = (target >= lo) & (target < hi)
            pre.append(np.asarray(proj.pre_idx)[keep] + offsets[proj.pre])
            post.append(target[keep] - lo)
        grown = network({"all": spec.n_neurons, "core": hi - lo},
                        {("all", "core"): (np.concatenate(pre), np.concatenate(post))}, inputs="all")
        roomy = dataclasses.replace(profile, compartments=4096, in_axons=10**6, synapse_words=10**9)
        usage = map_network(grown, roomy).per_core[0]
        assert (usage["compartments"] > profile.compartments or usage["in_axons"] > profile.in_axons
                or usage["synapse_words"] > profile.synapse_words), (core, usage)


def test_the_split_is_deterministic():
    a = map_network(random_network(7), LOIHI)
    b = map_network(random_network(7), LOIHI)
    assert a.to_dict() == b.to_dict()
    assert np.array_equal(a.neuron_lo, b.neuron_lo) and np.array_equal(a.neuron_hi, b.neuron_hi)


@pytest.mark.parametrize("name", ["launch/networks/tracking_stdp.toml", "tracking", "w1", "w2", "word", "memory"])
def test_the_built_in_networks_map(name):
    from edge.cores import load_net

    spec = load_net(str(REPO / name) if name.endswith(".toml") else name)
    report = map_network(spec, LOIHI)
    assert report.fits, report.violation
    assert report.cores >= 1 and len(report.per_core) == report.cores
    for core in report.per_core:
        assert all(core[k] <= report.limits[k] for k in report.limits)
    on_core = sum(p.size for p in spec.populations if p.kind != "input")
    assert sum(c["compartments"] for c in report.per_core) == on_core
