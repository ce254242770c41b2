"""The stored hippocampal memory as a NetworkSpec: recall on the spiking engine (and so on any back end).

``snn.memory.hippocampus`` stores and recalls with its own fast kernels (k-winners-take-all, counting
synapses). ``recall_network`` writes what it has stored into a network that any back end compiles, so
recall can run where the rest of the network runs:

- ``ec`` (input): the entorhinal code; a recall cue is its active cells firing every tick.
- ``ca3`` (lif, Dale: excitatory): perforant-path synapses from ``ec`` (the stored co-activation counts
  times a weight in mV) and recurrent synapses (the binary CA3 synapses times a weight).
- ``ec_inh`` and ``ca3_inh`` (integrate-and-fire, Dale: inhibitory): one relay per entorhinal and per CA3
  cell, firing exactly once, one tick later, for each spike of its partner. ``ec_inh`` inhibits each CA3
  cell by the mean perforant weight onto it (its column mean), so the cue's net drive is the kernels'
  centred cue drive; ``ca3_inh`` inhibits every CA3 cell by ``inhibition_balance`` times the mean
  recurrent excitation a spike gives (synapse density times weight): cells outside the cued pattern are
  net inhibited, the pattern's cells net excited — the spiking counterpart of k-winners-take-all.
- ``ca1`` (integrate-and-fire, the readout): one non-leaky cell per label, summing the CA3 → label counts
  times ``readout_mv`` minus, through ``ca3_inh``, the label's mean count: its spikes count the kernels'
  centred label vote over the recall.

Excitation is delayed by the relays' one tick (``RELAY_TICKS``), so a spike's excitation and the
inhibition it recruits arrive together. Weights are scaled so that a cue carrying all of a stored input's
entorhinal cells, each stored once with it, drives its CA3 cells to about ``pp_drive_mv`` at steady state.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snn.backend import Backend
from snn.frames import SpikeFrames
from snn.memory.hippocampus import Hippocampus
from snn.spec import LIFParams, NetworkSpec, PopulationSpec, ProjectionSpec


RELAY_TICKS = 1
"""A relay interneuron fires one tick after its partner: excitation is delayed as much, so a spike's
excitation and the inhibition it recruits arrive together (no excitation-first oscillation)."""


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
    readout_mv : CA1 potential per stored CA3 → label co-activation per CA3 spike (CA1 fires every
        ``lif.v_th_mv - lif.v_rest_mv`` of net drive).
    lif : parameters of CA3 (and threshold and rest of the integrate-and-fire relays and CA1).

    Defaults: chosen on degraded random inputs (``bench memory``'s end-to-end task); a recurrent drive of
    60 mV (against 15) and a CA1 of counting cells (against leaky ones) gave the most correct labels at
    0.5-0.6 patterns per CA3 cell.
    """

    pp_drive_mv: float = 30.0
    recurrent_drive_mv: float = 60.0
    inhibition_balance: float = 1.5
    readout_mv: float = 0.5
    lif: LIFParams = LIFParams(tau_mem_ms=10.0, tau_exc_ms=5.0, tau_inh_ms=5.0, v_th_mv=10.0, refractory_ms=2.0)

    def __post_init__(self) -> None:
        for key in ("pp_drive_mv", "recurrent_drive_mv", "readout_mv"):
            if not getattr(self, key) > 0:
                raise ValueError(f"recall_network.{key}: must be positive, got {getattr(self, key)!r}")
        if self.inhibition_balance < 0:
            raise ValueError(f"recall_network.inhibition_balance: must be >= 0, got {self.inhibition_balance!r}")


def _counts(matrix: np.ndarray, weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A synapse per non-zero entry of ``matrix`` (pre × post), of ``weight`` times the entry."""
    pre, post = np.nonzero(matrix)
    return pre.astype(np.int32), post.astype(np.int32), weight * matrix[pre, post].astype(np.float64)


def _all_to_all(n_pre: int, post_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pre onto every post cell j, with weight ``post_weight[j]``."""
    n_post = post_weight.shape[0]
    pre, post = np.divmod(np.arange(n_pre * n_post), n_post)
    return pre.astype(np.int32), post.astype(np.int32), np.tile(np.asarray(post_weight, dtype=np.float64), n_pre)


def _one_to_one(n: int, weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = np.arange(n, dtype=np.int32)
    return ids, ids.copy(), np.full(n, weight)


def recall_network(memory: Hippocampus, config: RecallNetworkConfig = RecallNetworkConfig(),
                   dt_us: int = 1000) -> NetworkSpec:
    """The memory's stored synapses as a NetworkSpec (no plasticity: recall only); see the module text."""
    cfg = memory.config
    n_ca3, n_in = cfg.n_ca3, memory.n_input
    gain = config.lif.tau_exc_ms / (dt_us / 1000.0)  # steady-state drive per unit of weight fired every tick
    w_pp = config.pp_drive_mv / (cfg.k_ec(n_in) * gain)
    w_rec = config.recurrent_drive_mv / ((memory.ca3.k - 1) * gain)
    w_ro = config.readout_mv
    pp_column_mean = memory.perforant_column_total / n_in
    label_mean = memory.readout_label_total / n_ca3
    rec_density = float(memory.ca3.recurrent.mean())
    lif = config.lif
    relay_mv = lif.v_th_mv - lif.v_rest_mv  # one partner spike: exactly one relay spike, the next tick
    return NetworkSpec(
        populations=(
            PopulationSpec("ec", n_in, kind="input"),
            PopulationSpec("ec_inh", n_in, kind="integrate_fire", lif=lif, dale="inh"),
            PopulationSpec("ca3", n_ca3, kind="lif", lif=lif, dale="exc"),
            PopulationSpec("ca3_inh", n_ca3, kind="integrate_fire", lif=lif, dale="inh"),
            PopulationSpec("ca1", cfg.n_labels, kind="integrate_fire", lif=lif, dale="exc"),
        ),
        projections=(
            ProjectionSpec("perforant", "ec", "ca3", *_counts(memory.perforant, w_pp), delay_ticks=RELAY_TICKS),
            ProjectionSpec("ec_relay", "ec", "ec_inh", *_one_to_one(n_in, relay_mv)),
            ProjectionSpec("feedforward_inhibition", "ec_inh", "ca3",
                           *_all_to_all(n_in, -w_pp * pp_column_mean), port="inh"),
            ProjectionSpec("recurrent", "ca3", "ca3", *_counts(memory.ca3.recurrent, w_rec), delay_ticks=RELAY_TICKS),
            ProjectionSpec("ca3_relay", "ca3", "ca3_inh", *_one_to_one(n_ca3, relay_mv)),
            ProjectionSpec("feedback_inhibition", "ca3_inh", "ca3",
                           *_all_to_all(n_ca3, np.full(n_ca3, -config.inhibition_balance * rec_density * w_rec)),
                           port="inh"),
            ProjectionSpec("readout", "ca3", "ca1", *_counts(memory.readout, w_ro), delay_ticks=RELAY_TICKS),
            ProjectionSpec("readout_inhibition", "ca3_inh", "ca1", *_all_to_all(n_ca3, -w_ro * label_mean),
                           port="inh"),
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
