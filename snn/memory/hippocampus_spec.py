"""The stored hippocampal memory as a NetworkSpec: recall on the spiking engine (and so on any back end).

``snn.memory.hippocampus`` stores and recalls with its own fast kernels (k-winners-take-all, binary synapses).
``recall_network`` writes what it has stored into a network of LIF populations that any back end
compiles, so recall can run where the rest of the network runs:

- ``ec`` (input): the entorhinal code; a recall cue is its active cells firing every tick.
- ``ca3`` (lif, Dale: excitatory): perforant-path synapses from ``ec`` and recurrent synapses, both the
  memory's binary synapses times a weight in mV.
- ``ec_inh`` and ``ca3_inh`` (lif, Dale: inhibitory): one interneuron per entorhinal and per CA3 cell,
  relaying its partner's spikes to every CA3 cell as feedforward and feedback inhibition. Each spike
  inhibits by ``inhibition_balance`` times the mean excitation it gives a random CA3 cell (the stored
  synapses' density times their weight), so cells outside the cued pattern are net inhibited and the
  pattern's cells net excited: the spiking counterpart of k-winners-take-all.
- ``ca1`` (lif, the readout): one cell per label, driven by the CA3 cells stored with that label.

Weights are scaled so that a cue carrying all of a stored input's entorhinal cells drives the stored CA3
cells to about ``pp_drive_mv`` at steady state (three times threshold by default). ``EngineRecall`` runs
it on the reference ``numba`` back end.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snn.backend import Backend
from snn.frames import SpikeFrames
from snn.memory.hippocampus import Hippocampus
from snn.spec import LIFParams, NetworkSpec, PopulationSpec, ProjectionSpec


@dataclass(frozen=True)
class RecallNetworkConfig:
    """Weights and cells of the exported network (potentials in mV, times in ms).

    Parameters
    ----------
    pp_drive_mv : steady-state excitatory drive of a CA3 cell all of whose perforant synapses from the
        cue's active entorhinal cells are stored.
    recurrent_drive_mv : steady-state drive of a CA3 cell from a whole stored pattern firing every tick.
    inhibition_balance : inhibition per presynaptic spike, as a multiple of the mean excitation that spike
        gives a random cell (synapse density times weight): above 1, cells outside the cued pattern are
        net inhibited while the pattern's cells stay net excited.
    readout_mv : weight of a CA3 → CA1 synapse.
    relay_mv : weight of the one-to-one synapse that makes an interneuron fire with its partner.
    lif : parameters of every LIF population.
    """

    pp_drive_mv: float = 30.0
    recurrent_drive_mv: float = 15.0
    inhibition_balance: float = 1.5
    readout_mv: float = 1.0
    relay_mv: float = 40.0
    lif: LIFParams = LIFParams(tau_mem_ms=10.0, tau_exc_ms=5.0, tau_inh_ms=5.0, v_th_mv=10.0, refractory_ms=2.0)

    def __post_init__(self) -> None:
        for key in ("pp_drive_mv", "recurrent_drive_mv", "readout_mv", "relay_mv"):
            if not getattr(self, key) > 0:
                raise ValueError(f"recall_network.{key}: must be positive, got {getattr(self, key)!r}")
        if self.inhibition_balance < 0:
            raise ValueError(f"recall_network.inhibition_balance: must be >= 0, got {self.inhibition_balance!r}")


def _synapses(matrix: np.ndarray, weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pre, post = np.nonzero(matrix)
    return pre.astype(np.int32), post.astype(np.int32), np.full(pre.size, weight)


def _all_to_all(n_pre: int, n_post: int, weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pre, post = np.divmod(np.arange(n_pre * n_post), n_post)
    return pre.astype(np.int32), post.astype(np.int32), np.full(pre.size, weight)


def _one_to_one(n: int, weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = np.arange(n, dtype=np.int32)
    return ids, ids.copy(), np.full(n, weight)


def recall_network(memory: Hippocampus, config: RecallNetworkConfig = RecallNetworkConfig(),
                   dt_us: int = 1000) -> NetworkSpec:
    """The memory's stored synapses as a NetworkSpec (no plasticity: recall only)."""
    cfg = memory.config
    n_ca3, n_in = cfg.n_ca3, memory.n_input
    gain = config.lif.tau_exc_ms / (dt_us / 1000.0)  # steady-state drive per unit of weight fired every tick
    w_pp = config.pp_drive_mv / (cfg.k_ec(n_in) * gain)
    w_rec = config.recurrent_drive_mv / ((memory.ca3.k - 1) * gain)
    pp_density = float(memory.perforant.mean())
    rec_density = float(memory.ca3.recurrent.mean())
    lif = config.lif
    return NetworkSpec(
        populations=(
            PopulationSpec("ec", n_in, kind="input"),
            PopulationSpec("ec_inh", n_in, kind="lif", lif=lif, dale="inh"),
            PopulationSpec("ca3", n_ca3, kind="lif", lif=lif, dale="exc"),
            PopulationSpec("ca3_inh", n_ca3, kind="lif", lif=lif, dale="inh"),
            PopulationSpec("ca1", cfg.n_labels, kind="lif", lif=lif, dale="exc"),
        ),
        projections=(
            ProjectionSpec("perforant", "ec", "ca3", *_synapses(memory.perforant, w_pp)),
            ProjectionSpec("ec_relay", "ec", "ec_inh", *_one_to_one(n_in, config.relay_mv)),
            ProjectionSpec("feedforward_inhibition", "ec_inh", "ca3",
                           *_all_to_all(n_in, n_ca3, -config.inhibition_balance * pp_density * w_pp), port="inh"),
            ProjectionSpec("recurrent", "ca3", "ca3", *_synapses(memory.ca3.recurrent, w_rec)),
            ProjectionSpec("ca3_relay", "ca3", "ca3_inh", *_one_to_one(n_ca3, config.relay_mv)),
            ProjectionSpec("feedback_inhibition", "ca3_inh", "ca3",
                           *_all_to_all(n_ca3, n_ca3, -config.inhibition_balance * rec_density * w_rec), port="inh"),
            ProjectionSpec("readout", "ca3", "ca1", *_synapses(memory.readout, config.readout_mv)),
        ),
        readout="ca1",
        dt_us=dt_us,
        learning=False,
    )


def cue_frames(memory: Hippocampus, x: np.ndarray, n_ticks: int) -> SpikeFrames:
    """The cue: the entorhinal cells of input ``x`` firing on every one of ``n_ticks`` ticks."""
    ec = memory.entorhinal(x).astype(np.int32)
    tick_ptr = np.arange(n_ticks + 1, dtype=np.int64) * ec.size
    return SpikeFrames(tick_ptr, np.tile(ec, n_ticks))


class EngineRecall:
    """The exported memory loaded once on a back end (any, through the seam: ``edge.backends.open_backend``);
    each ``recall`` starts from the rest state."""

    def __init__(self, memory: Hippocampus, backend: Backend, config: RecallNetworkConfig = RecallNetworkConfig(),
                 n_ticks: int = 50, seed: int = 0) -> None:
        self.memory = memory
        self.spec = recall_network(memory, config)
        self.n_ticks = int(n_ticks)
        self.backend = backend
        self.backend.load(self.spec, seed)
        # recall changes no weight: only the neurons' state (and the clock) go back to rest between recalls
        self._rest = {k: v for k, v in self.backend.state().items() if not k.startswith("projection/")}
        self._n_labels = self.spec.population("ca1").size

    def recall(self, x: np.ndarray) -> tuple[int, np.ndarray]:
        """(the label whose CA1 cell fired most, or -1 when none fired; the CA1 spike counts) for input ``x``."""
        for name, value in self._rest.items():
            self.backend.write(name, value)
        counts = self.backend.step(cue_frames(self.memory, x, self.n_ticks), 0.0).counts(self._n_labels)
        return (int(np.argmax(counts)) if counts.max() > 0 else -1), counts
