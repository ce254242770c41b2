"""Pictures of benchmark runs: a spike raster and the weight distribution of a workload, as PNG.

Runs the workload again briefly (the first 0.5 s of W1, or all of W2) to record its spikes.
"""
from __future__ import annotations

import numpy as np

from edge.backends import open_backend
from snn.frames import SpikeFrames
from snn.workloads import cuba_spec, stdp_spec


def plot_workload(name: str, n: int | None, url: str, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = cuba_spec(n) if name == "cuba" else stdp_spec()
    backend = open_backend(url)
    backend.load(spec, seed=42)
    ticks = 5000 if name == "cuba" else 20000
    spikes = backend.step(SpikeFrames.empty(ticks), 0.0)
    tick_of_spike = np.repeat(np.arange(ticks), np.diff(spikes.tick_ptr))
    t_ms = tick_of_spike * spec.dt_us / 1000.0
    shown = spikes.neuron_ids < 400
    weights = backend.read(f"projection/{spec.projections[0].name}/weight_mv")
    fig, (raster, hist) = plt.subplots(1, 2, figsize=(13, 4), gridspec_kw={"width_ratios": [3, 1]})
    raster.plot(t_ms[shown], spikes.neuron_ids[shown], ",k")
    raster.set(xlabel="time (ms)", ylabel="neuron (first 400)", title=f"{name}: spike raster")
    hist.hist(weights, bins=50, color="tab:blue")
    hist.set(xlabel=f"{spec.projections[0].name} weight (mV)", ylabel="synapses", title="weight distribution")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
