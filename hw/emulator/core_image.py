"""The contents of a core image: a network's mapping onto cores, its compiled tables and the network itself.

``image_contents`` gives the (arrays, meta) pair ``hw.emulator.image.write_image`` stores. The network spec
travels as hw.emulator.spec_arrays writes it (arrays ``spec.<path>``, layout in ``meta["spec"]``), so a board
can rebuild it from the image alone. The array set is open: later stages (integer parameters) add their own
names beside these.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hw.emulator.mapping import MappingReport
from snn.compile import CompiledNetwork, compile_network
from snn.spec import NetworkSpec
from hw.emulator.spec_arrays import spec_to_arrays

RESOURCE_WORDS = {"compartments": "neurons", "in_axons": "input axons", "out_axons": "output axons",
                  "synapse_words": "words of synapse memory"}
"""What each per-core resource counts, in words, for error lines."""
MAPPING_PREFIX = "map_"
"""Prefix of the mapping's arrays; the compiled network's arrays keep their CompiledNetwork field names."""


def mapping_arrays(report: MappingReport, spec: NetworkSpec) -> dict[str, np.ndarray]:
    """The mapping as arrays: ``map_neuron_lo`` / ``map_neuron_hi`` (int64 [cores]: each core's global neuron
    ids lo..hi-1) and ``map_ranges`` (int64 [k, 4]: core, population index in the spec, local lo, local hi)."""
    index = {pop.name: i for i, pop in enumerate(spec.populations)}
    rows = [[core, index[name], lo, hi] for core, entry in enumerate(report.per_core)
            for name, lo, hi in entry["populations"]]
    return {f"{MAPPING_PREFIX}neuron_lo": np.asarray(report.neuron_lo, dtype=np.int64),
            f"{MAPPING_PREFIX}neuron_hi": np.asarray(report.neuron_hi, dtype=np.int64),
            f"{MAPPING_PREFIX}ranges": np.array(rows, dtype=np.int64).reshape(-1, 4)}


def compiled_arrays(net: CompiledNetwork) -> dict[str, np.ndarray]:
    """Every array of a CompiledNetwork (CSR tables and float parameter rows), by field name."""
    return {f.name: getattr(net, f.name) for f in dataclasses.fields(net)
            if isinstance(getattr(net, f.name), np.ndarray)}


def image_contents(spec: NetworkSpec, report: MappingReport) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) of ``spec`` as mapped by ``report`` (from ``map_network``); meta carries the profile name,
    the network's structure SHA-256, the mapping report and the spec's layout (``spec``, beside its arrays).
    ValueError (``fit_error``) when it does not fit."""
    if not report.fits:
        raise ValueError(fit_error(report))
    net = compile_network(spec)
    spec_arrays, layout = spec_to_arrays(spec)
    arrays = {**compiled_arrays(net), **mapping_arrays(report, spec), **spec_arrays}
    meta = {"profile": report.profile, "network_sha256": spec.structure_sha256(), "dt_us": int(spec.dt_us),
            "n_neurons": int(net.n_neurons), "n_input": int(net.n_input), "readout": spec.readout,
            "populations": [[p.name, p.kind, int(p.size)] for p in spec.populations],
            "projections": [c.name for c in spec.projections], "mapping": report.to_dict(), "spec": layout}
    return arrays, meta


def fit_error(report: MappingReport) -> str:
    """One line naming what does not fit, e.g. ``core 0 needs 5000 in_axons (input axons), the loihi core has
    at most 4096``."""
    v = report.violation
    return (f"core {v.core} needs {v.value} {v.resource} ({RESOURCE_WORDS[v.resource]}), "
            f"the {report.profile} core has at most {v.maximum}")
