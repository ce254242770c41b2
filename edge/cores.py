"""``neuroedge map`` and ``neuroedge compile``: a network (TOML file or built-in name) onto cores of a profile.

Built-in networks: ``tracking`` (the default config's tracking network), ``w1`` (W1 CUBA, 4000 neurons),
``w2`` (W2 on-line STDP), ``word`` (the hearing word network on the default audio encoder), ``memory`` (the
hippocampal recall network of a Hippocampus holding random inputs).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from edge.config import load_config, load_network_file
from snn.spec import NetworkSpec

MEMORY_INPUTS, MEMORY_STORED, MEMORY_ACTIVE = 512, 100, 0.1
"""The ``memory`` network: input size, stored random inputs and their active fraction (as ``bench memory``)."""


def _tracking() -> NetworkSpec:
    from controllers.tracking import tracking_network

    config = load_config(None)
    return tracking_network(config.network, config.encoder.grid_w, config.encoder.grid_h, config.run.seed,
                            dt_us=config.run.dt_us)


def _w1() -> NetworkSpec:
    from snn.workloads import cuba_spec

    return cuba_spec(4000)


def _w2() -> NetworkSpec:
    from snn.workloads import stdp_spec

    return stdp_spec()


def _word() -> NetworkSpec:
    from edge.hearing import HearingConfig
    from snn.encoding.encode_audio import AudioEncoder
    from snn.hearing.word_net import word_network

    config = HearingConfig()
    return word_network(config.word_net, AudioEncoder(config.audio).n_neurons)


def _memory() -> NetworkSpec:
    import numpy as np

    from edge.bench.memory import random_inputs
    from snn.memory.hippocampus import Hippocampus, HippocampusConfig
    from snn.memory.hippocampus_spec import recall_network

    config = HippocampusConfig()
    memory = Hippocampus(config, MEMORY_INPUTS)
    for i, x in enumerate(random_inputs(MEMORY_INPUTS, MEMORY_STORED, MEMORY_ACTIVE, np.random.default_rng(0))):
        memory.store(x, i % config.n_labels)
    return recall_network(memory)


BUILTIN = {"tracking": _tracking, "w1": _w1, "w2": _w2, "word": _word, "memory": _memory}


def load_net(net: str) -> NetworkSpec:
    """A built-in network by name, else a network TOML file (as ``run --network`` takes, at the default dt_us)."""
    if net in BUILTIN:
        return BUILTIN[net]()
    if not Path(net).is_file():
        raise ValueError(f"{net}: neither a network file nor a built-in network ({', '.join(BUILTIN)})")
    return load_network_file(net, load_config(None).run.dt_us)


def _profile(name: str):
    from hw.emulator.profile import PROFILES

    return PROFILES[name]


def _table(report) -> str:
    rows = [f"{'core':>5} {'compartments':>12} {'in_axons':>9} {'out_axons':>9} {'synapse_words':>13}  populations"]
    for core, c in enumerate(report.per_core):
        pops = ", ".join(f"{name}[{lo}:{hi}]" for name, lo, hi in c["populations"])
        rows.append(f"{core:>5} {c['compartments']:>12} {c['in_axons']:>9} {c['out_axons']:>9} "
                    f"{c['synapse_words']:>13}  {pops}")
    limits = report.limits
    rows.append(f"{'limit':>5} {limits['compartments']:>12} {limits['in_axons']:>9} {limits['out_axons']:>9} "
                f"{limits['synapse_words']:>13}")
    rows.append(f"{report.cores} {report.profile} cores, " + ("fits" if report.fits else "does not fit"))
    return "\n".join(rows)


def cmd_map(net: str, profile_name: str, as_json: bool) -> int:
    """Print the mapping of ``net`` (a table, or one JSON line); exit 2 with one stderr line when it does not fit."""
    from hw.emulator.core_image import fit_error
    from hw.emulator.mapping import map_network

    report = map_network(load_net(net), _profile(profile_name))
    print(json.dumps(report.to_dict()) if as_json else _table(report))
    if not report.fits:
        print(f"map: {fit_error(report)}", file=sys.stderr)
        return 2
    return 0


def cmd_compile(net: str, output: str, profile_name: str, as_json: bool) -> int:
    """Map and compile ``net`` and write its core image to ``output``; exit 2 with one stderr line when the
    network does not fit."""
    from hw.emulator.core_image import fit_error, image_contents
    from hw.emulator.image import write_image
    from hw.emulator.mapping import map_network

    spec, profile = load_net(net), _profile(profile_name)
    report = map_network(spec, profile)
    if not report.fits:
        print(f"compile: {fit_error(report)}", file=sys.stderr)
        return 2
    arrays, meta = image_contents(spec, report)
    digest = write_image(output, arrays, meta)
    summary = {"image": str(output), "profile": profile.name, "cores": report.cores, "arrays": len(arrays),
               "arrays_sha256": digest, "network_sha256": meta["network_sha256"]}
    print(json.dumps(summary) if as_json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0
