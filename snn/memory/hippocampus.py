"""Hippocampal memory: DG pattern separation → CA3 one-shot auto-associative attractor → CA1 readout and
novelty (after the DG-CA3-CA1 model of noisy real-time robot perception in the survey behind neuroedge).

- **DG** (dentate gyrus): ``n_dg`` granule cells, each summing ``dg_fan_in`` random inputs; feedback
  inhibition lets only the ``dg_sparsity`` fraction most driven fire (k-winners-take-all). Expansion plus
  sparseness separates similar inputs.
- **Mossy fibres**: each CA3 cell sums ``mossy_fan_in`` random DG cells; the ``ca3_sparsity`` fraction
  most driven form the CA3 pattern the input imposes (the "detonator" input that selects who stores).
- **CA3**: binary recurrent synapses. Storage is one-shot and Hebbian: one presentation switches on every
  synapse between co-active cells (clipped, Willshaw-style). Recall runs the recurrent dynamics: each step
  every cell sums its recurrent input from the active set plus ``cue_gain`` times its (normalised) cue
  input, and feedback inhibition lets the k most driven fire, until the set repeats (an attractor) or
  ``max_steps``. A partial or noisy cue settles into the stored pattern (pattern completion).
- **Perforant path** (entorhinal input → CA3): the ``ec_sparsity`` fraction most active inputs form the
  entorhinal code; at storage every synapse from an active input to a cell of the stored CA3 pattern counts
  one more co-activation (one-shot, a saturating count per synapse: 8 bits). At recall the cue reaches CA3
  this way, not through DG (storage through DG, retrieval through the direct path, as in Treves & Rolls
  1992 and McNaughton & Morris 1987): DG's separation would turn a degraded cue into a different code, while
  the perforant path maps it onto the stored pattern's cells, and the recurrent dynamics complete it. The
  cue drive of a CA3 cell is the cue's mean count onto it minus the mean count onto it of the inputs outside
  the cue (what a random cue would give): graded counts keep a stored cue's cells above the rest long after binary
  synapses would all be on (at 0.3 patterns per CA3 cell a binary perforant path is ~80 % set and a
  degraded cue selects its pattern no better than chance), and the centring keeps cells that were stored
  often from winning every recall.
- **CA1**: synapses from CA3 to ``n_labels`` label cells that count, like the perforant path's, how often
  the two were stored together; a label's vote is the settled CA3 set's mean count for it minus the other CA3
  cells' mean count for it (clipped at 0), the label the one with the largest vote, its confidence that vote
  (at most 1). Binary label synapses would mostly all be on by 0.5 patterns per CA3 cell.
  **Novelty** compares CA3's settled state with its cue: familiarity = (fraction of synapse pairs within the
  settled set that are stored) × (mean centred perforant-path cue drive of the settled cells, a fraction of
  the cue); novelty = 1 - familiarity. A stored input, even degraded, settles into a fully connected
  set that its cue drives; a new one is usually pulled into some stored attractor that its cue hardly
  drives. The label's confidence is therefore its vote times the familiarity, so a new input's label
  comes with a low confidence.

Units: inputs are non-negative activity values (spike counts per input neuron over a window); drives are
in units of input activity (DG), active DG cells (mossy) and stored synapses (CA3). All random wiring comes
from ``seed``; store, recall and novelty are deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snn.memory.hippocampus_kernels import (
    associate, centred_cue_drive, fan_in_drive, k_winners, settle, store_pattern,
)
from snn.state_check import check_state_arrays


@dataclass(frozen=True)
class HippocampusConfig:
    """Sizes, sparseness and dynamics.

    Parameters
    ----------
    n_dg, dg_fan_in, dg_sparsity : DG cells, inputs per DG cell, fraction of DG cells active.
    n_ca3, mossy_fan_in, ca3_sparsity : CA3 cells, DG cells per CA3 cell, fraction of CA3 cells active.
    cue_gain : weight of the cue during recall, relative to a fully active pattern's recurrent input.
    max_steps : recurrent steps at most per recall.
    ec_sparsity : fraction of inputs (the most active) that form the entorhinal code of the perforant path.
    n_labels : CA1 label cells.
    novelty_threshold : ``observe`` stores an input when its novelty is at or above this.
    seed : seed of all random wiring and of the tie-breaking priorities.
    """

    n_dg: int = 4000
    dg_fan_in: int = 24
    dg_sparsity: float = 0.02
    n_ca3: int = 1000
    mossy_fan_in: int = 400
    ca3_sparsity: float = 0.05
    cue_gain: float = 0.05
    max_steps: int = 10
    ec_sparsity: float = 0.1
    n_labels: int = 10
    novelty_threshold: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("n_dg", "dg_fan_in", "n_ca3", "mossy_fan_in", "max_steps", "n_labels"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"hippocampus.{key}: must be a positive integer, got {value!r}")
        for key in ("dg_sparsity", "ca3_sparsity", "ec_sparsity", "novelty_threshold"):
            if not 0.0 < getattr(self, key) <= 1.0:
                raise ValueError(f"hippocampus.{key}: must be in (0, 1], got {getattr(self, key)!r}")
        if self.cue_gain < 0:
            raise ValueError(f"hippocampus.cue_gain: must be >= 0, got {self.cue_gain!r}")
        if self.k_ca3 >= self.n_ca3:
            raise ValueError(f"hippocampus.ca3_sparsity: leaves no inactive CA3 cell, got {self.ca3_sparsity!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"hippocampus.seed: must be a non-negative integer, got {self.seed!r}")
        if self.mossy_fan_in > self.n_dg:
            raise ValueError(f"hippocampus.mossy_fan_in: must not exceed n_dg, got {self.mossy_fan_in!r}")

    @property
    def k_dg(self) -> int:
        return max(1, round(self.dg_sparsity * self.n_dg))

    @property
    def k_ca3(self) -> int:
        return max(2, round(self.ca3_sparsity * self.n_ca3))

    def k_ec(self, n_input: int) -> int:
        return max(1, round(self.ec_sparsity * n_input))


@dataclass(frozen=True)
class Recollection:
    """What recall gave: ``label`` (-1 when nothing is stored), ``confidence`` in [0, 1] (vote fraction times
    familiarity), ``novelty`` in
    [0, 1], the settled CA3 set ``ca3`` (ascending ids), recurrent ``steps`` taken, and whether the input
    was ``stored``."""

    label: int
    confidence: float
    novelty: float
    ca3: np.ndarray
    steps: int
    stored: bool = False


class CA3Memory:
    """The recurrent auto-associative memory alone: store CA3 patterns, recall from cues (sets of ids)."""

    def __init__(self, n: int, k: int, cue_gain: float = 0.05, max_steps: int = 10, seed: int = 0) -> None:
        if not 2 <= k < n:
            raise ValueError(f"CA3Memory: k must be in 2..{n - 1}, got {k}")
        self.n, self.k = int(n), int(k)
        self.cue_gain = float(cue_gain)
        self.max_steps = int(max_steps)
        self.priority = np.random.default_rng(seed).random(n)
        self.recurrent = np.zeros((n, n), dtype=np.uint8)
        self.n_stored = 0
        self._state = np.empty(n, dtype=np.int64)

    def store(self, pattern: np.ndarray) -> int:
        """One-shot storage of a set of active ids; returns the synapses newly switched on."""
        ids = np.unique(np.asarray(pattern, dtype=np.int64))
        if ids.size and (ids[0] < 0 or ids[-1] >= self.n):
            raise ValueError(f"CA3Memory.store: ids must be in 0..{self.n - 1}")
        self.n_stored += 1
        return store_pattern(self.recurrent, ids)

    def settle_from(self, cue_drive: np.ndarray, initial: np.ndarray) -> tuple[np.ndarray, int, float]:
        """Settle from ``initial`` ids with the per-cell ``cue_drive`` (max 1) held on; returns the settled
        ids, steps and the fraction of synapse pairs within the settled set that are stored."""
        initial = np.ascontiguousarray(initial, dtype=np.int64)
        gain = self.cue_gain * (self.k - 1)
        n_active, steps, pairs = settle(self.recurrent, cue_drive, gain, initial, initial.size, self.priority,
                                        self.k, self.max_steps, self._state)
        support = pairs / (n_active * (n_active - 1)) if n_active > 1 else 0.0
        return self._state[:n_active].copy(), int(steps), float(support)

    def recall(self, cue: np.ndarray) -> np.ndarray:
        """Pattern completion from a cue (a set of ids, possibly partial and noisy): the settled set."""
        ids = np.unique(np.asarray(cue, dtype=np.int64))
        if ids.size and (ids[0] < 0 or ids[-1] >= self.n):
            raise ValueError(f"CA3Memory.recall: ids must be in 0..{self.n - 1}")
        cue_drive = np.zeros(self.n)
        cue_drive[ids] = 1.0
        return self.settle_from(cue_drive, ids)[0]

    def _arrays(self) -> dict[str, np.ndarray]:
        """The state arrays by name (the live arrays, not copies)."""
        return {"recurrent": self.recurrent, "n_stored": np.array([self.n_stored], dtype=np.int64)}

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the state arrays: recurrent synapses (uint8 (n, n)), number stored (int64 (1,))."""
        return {key: value.copy() for key, value in self._arrays().items()}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load ``state()``; ValueError naming the array when one is missing, extra, or of another dtype or
        shape (see ``snn.state_check``); nothing is loaded then."""
        check_state_arrays("CA3Memory.restore", self._arrays(), state)
        self.recurrent[...] = state["recurrent"]
        self.n_stored = int(state["n_stored"][0])


class Hippocampus:
    """DG → CA3 → CA1 over input vectors of ``n_input`` activities; ``observe`` recalls and stores if novel."""

    def __init__(self, config: HippocampusConfig, n_input: int) -> None:
        if n_input < 1:
            raise ValueError(f"hippocampus: n_input must be positive, got {n_input}")
        self.config = config
        self.n_input = int(n_input)
        rng = np.random.default_rng(config.seed)
        self.dg_fan_in_ids = rng.integers(0, n_input, size=(config.n_dg, config.dg_fan_in)).astype(np.int64)
        self.mossy_fan_in_ids = np.stack([rng.choice(config.n_dg, config.mossy_fan_in, replace=False)
                                          for _ in range(config.n_ca3)]).astype(np.int64)
        self.input_priority = rng.random(n_input)
        self.dg_priority = rng.random(config.n_dg)
        self.ca3 = CA3Memory(config.n_ca3, config.k_ca3, config.cue_gain, config.max_steps,
                             seed=int(rng.integers(2**31)))
        self.perforant = np.zeros((n_input, config.n_ca3), dtype=np.uint8)
        self.perforant_column_total = np.zeros(config.n_ca3, dtype=np.int64)  # perforant.sum(axis=0), kept
        self.readout = np.zeros((config.n_ca3, config.n_labels), dtype=np.uint8)
        self.readout_label_total = np.zeros(config.n_labels, dtype=np.int64)  # readout.sum(axis=0), kept
        self._dg_drive = np.empty(config.n_dg)
        self._dg_active = np.empty(config.n_dg)
        self._winners = np.empty(max(config.n_dg, config.n_ca3, n_input), dtype=np.int64)
        self._mossy = np.empty(config.n_ca3)
        self._pp = np.empty(config.n_ca3)

    def _check(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.shape != (self.n_input,):
            raise ValueError(f"hippocampus: input must have shape ({self.n_input},), got {x.shape}")
        if not np.isfinite(x).all() or (x < 0).any():
            raise ValueError("hippocampus: input must be finite and non-negative")
        return x

    def entorhinal(self, x: np.ndarray) -> np.ndarray:
        """The entorhinal code of input ``x``: its most active inputs (ascending ids)."""
        n = k_winners(self._check(x), self.input_priority, self.config.k_ec(self.n_input), self._winners)
        return self._winners[:n].copy()

    def dentate(self, x: np.ndarray) -> np.ndarray:
        """The DG cells that fire for input ``x`` (ascending ids)."""
        fan_in_drive(self._check(x), self.dg_fan_in_ids, self._dg_drive)
        n = k_winners(self._dg_drive, self.dg_priority, self.config.k_dg, self._winners)
        return self._winners[:n].copy()

    def imposed_pattern(self, x: np.ndarray) -> np.ndarray:
        """The CA3 set that DG's mossy fibres impose for input ``x`` (what storage writes)."""
        self._dg_active[:] = 0.0
        self._dg_active[self.dentate(x)] = 1.0
        fan_in_drive(self._dg_active, self.mossy_fan_in_ids, self._mossy)
        n = k_winners(self._mossy, self.ca3.priority, self.ca3.k, self._winners)
        return self._winners[:n].copy()

    def store(self, x: np.ndarray, label: int | None = None) -> np.ndarray:
        """One-shot storage of input ``x`` (and its label in CA1); returns the stored CA3 set."""
        if label is not None and not 0 <= label < self.config.n_labels:
            raise ValueError(f"hippocampus: label {label!r} out of range 0..{self.config.n_labels - 1}")
        pattern = self.imposed_pattern(x)
        if pattern.size == 0:
            raise ValueError("hippocampus: the input has no activity; nothing to store")
        self.ca3.store(pattern)
        associate(self.perforant, self.entorhinal(x), pattern, self.perforant_column_total)
        if label is not None:
            associate(self.readout, pattern, np.array([label], dtype=np.int64), self.readout_label_total)
        return pattern

    def recall(self, x: np.ndarray) -> Recollection:
        """Complete ``x`` in CA3 and read out label, confidence and novelty (nothing is stored)."""
        centred_cue_drive(self.perforant, self.entorhinal(x), self.perforant_column_total, self._pp)
        n = k_winners(self._pp, self.ca3.priority, self.ca3.k, self._winners)
        if n == 0:
            return Recollection(-1, 0.0, 1.0, np.zeros(0, dtype=np.int64), 0)
        settled, steps, support = self.ca3.settle_from(self._pp, self._winners[:n].copy())
        familiarity = support * float(self._pp[settled].mean()) if settled.size else 0.0
        votes = np.empty(self.config.n_labels)
        centred_cue_drive(self.readout, settled, self.readout_label_total, votes)
        label = int(np.argmax(votes)) if votes.max() > 0 else -1
        confidence = min(1.0, float(votes[label])) * familiarity if label >= 0 else 0.0
        return Recollection(label, confidence, 1.0 - familiarity, settled, steps)

    def observe(self, x: np.ndarray, label: int | None = None, allow_store: bool = True) -> Recollection:
        """Recall; when the input is novel (novelty >= novelty_threshold), has some activity and
        ``allow_store``, store it."""
        found = self.recall(x)
        if allow_store and found.novelty >= self.config.novelty_threshold and np.any(np.asarray(x) > 0):
            self.store(x, label)
            return Recollection(found.label, found.confidence, found.novelty, found.ca3, found.steps, True)
        return found

    @property
    def n_stored(self) -> int:
        return self.ca3.n_stored

    def _arrays(self) -> dict[str, np.ndarray]:
        """The memory's arrays by name (the live arrays, not copies)."""
        return {"ca3_recurrent": self.ca3.recurrent, "perforant": self.perforant, "ca1_readout": self.readout,
                "n_stored": np.array([self.ca3.n_stored], dtype=np.int64)}

    def state(self) -> dict[str, np.ndarray]:
        """The memory's contents (copies): CA3 recurrent synapses, perforant-path co-activation counts, CA1
        readout, number stored."""
        return {key: value.copy() for key, value in self._arrays().items()}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load ``state()``; ValueError naming the array when one is missing, extra, or of another dtype or
        shape (see ``snn.state_check``); nothing is loaded then."""
        check_state_arrays("Hippocampus.restore", self._arrays(), state)
        self.ca3.restore({"recurrent": state["ca3_recurrent"], "n_stored": state["n_stored"]})
        self.perforant[...] = state["perforant"]
        self.perforant_column_total[:] = self.perforant.sum(axis=0, dtype=np.int64)
        self.readout[...] = state["ca1_readout"]
        self.readout_label_total[:] = self.readout.sum(axis=0, dtype=np.int64)
