"""The hippocampal memory in the loop: encoded input (event windows or audio utterances) → snn.memory.hippocampus →
``recall`` and ``novelty`` actions; storing on novelty or on a control command; its contents in checkpoints.

One memory input is the spike count per input neuron over a window of ``memory.window_ms`` (event streams:
the encoder's SpikeFrames, counted across blocks of any size) or over one utterance (audio: the word net's
input map, ``snn.hearing.word_net.Decision.input_counts``). Each input gives two actions, stamped with the
sensor time at the end of the window (or utterance):

- ``recall``  values ``(label, confidence)``: the CA1 label the input recalls (int, -1 when none) and its
  confidence in [0, 1];
- ``novelty`` values ``(novelty, stored)``: novelty in [0, 1] and whether the input was stored now (0/1).

An input with fewer than ``memory.min_activity`` spikes (silence) is not shown to the memory: it gives
``recall (-1, 0.0)`` and ``novelty (0.0, 0)`` and is never stored. In ``store = "novelty"`` mode the memory
stores an input whose novelty reaches ``hippocampus.novelty_threshold``; in ``"command"`` mode only ``store``
(the control command) does, and it stores the last input seen. The seq numbers the stage gives are its own;
the daemon stamps every action it publishes from one per-process counter.

Capacity: after ``memory.max_load`` patterns per CA3 cell (default 0.45: ``bench memory`` measures the whole
memory — DG storage, recall of degraded inputs through the perforant path, CA1 labels — at >= 95 % correct
labels up to 0.55) nothing more is stored, automatically or on command; ``memory_full`` in the status says
so, and ``memory_load`` with ``memory_expected_label_accuracy`` / ``memory_expected_novelty_auc`` tell what
recall is worth at the current load (``EXPECTED_BY_LOAD``). The
memory's arrays have a fixed size (``n_ca3`` is at most 20 000, see edge.config.RANGES), so storing never
grows it. On command (``store_on_command``) at most ``memory.max_stores_per_s`` stores are obeyed in any one
second; the rest are refused and counted (``memory_stores_refused``). ``clear`` forgets everything stored.
"""
from __future__ import annotations

import collections
import dataclasses

import numpy as np

from controllers.action import Action
from edge.config import MemoryConfig
from snn.frames import SpikeFrames
from snn.memory.hippocampus import Hippocampus

STATE_PREFIX = "memory."
"""Prefix of the memory's arrays in a checkpoint (beside the back end's or the hearing model's)."""

EXPECTED_BY_LOAD = (
    # load (patterns per CA3 cell), label accuracy, novelty AUC: `neuroedge bench memory --json`, end_to_end,
    # default HippocampusConfig, 512 random inputs 10 % active, degraded by 30 % dropped + 20 % noise inputs
    (0.0, 1.0, 1.0), (0.1, 1.0, 1.0), (0.2, 1.0, 1.0), (0.3, 1.0, 1.0), (0.4, 1.0, 1.0), (0.45, 0.995, 1.0),
    (0.5, 1.0, 1.0), (0.55, 0.98, 1.0), (0.6, 0.94, 1.0), (0.65, 0.91, 1.0), (0.7, 0.83, 0.996),
    (0.8, 0.69, 0.990), (1.0, 0.525, 0.969),
)
"""What recall is worth at a load, as measured end to end (tests/guards re-measure two rows); status reports it
interpolated at the current load. Other hippocampus parameters or inputs unlike these make it an estimate."""


def expected_quality(load: float) -> tuple[float, float]:
    """(label accuracy, novelty AUC) expected at ``load`` patterns per CA3 cell: EXPECTED_BY_LOAD, linearly
    interpolated (the last row beyond it)."""
    loads, labels, aucs = (np.array(column) for column in zip(*EXPECTED_BY_LOAD))
    return float(np.interp(load, loads, labels)), float(np.interp(load, loads, aucs))


WIRING_KEYS = ("n_dg", "dg_fan_in", "dg_sparsity", "n_ca3", "mossy_fan_in", "ca3_sparsity", "ec_sparsity",
               "n_labels", "seed")
"""Hippocampus parameters that fix its random wiring: stored contents only mean something under the same ones."""


class MemoryStage:
    """A Hippocampus over ``n_input`` input neurons, fed by event blocks (``push``) or whole vectors
    (``observe_vector``). Counters: ``windows`` (inputs completed), ``recalls`` (inputs shown to the memory),
    ``stored`` (patterns in the memory, including restored ones), ``last_novelty``, ``stores_refused`` (store
    commands over ``max_stores_per_s``), ``clears``."""

    def __init__(self, config: MemoryConfig, n_input: int, dt_us: int | None) -> None:
        config.validate()
        self.config = config
        self.n_input = int(n_input)
        self.dt_us = dt_us  # None: whole vectors only (audio), no windows
        self.window_ticks = config.window_ticks(dt_us) if dt_us is not None else 0
        self.hippocampus = Hippocampus(config.hippocampus, self.n_input)
        self.store_on_novelty = config.store == "novelty"
        self.windows = 0
        self.recalls = 0
        self.last_novelty: float | None = None
        self._counts = np.zeros(self.n_input, dtype=np.int64)
        self._filled = 0  # ticks of the open window seen so far
        self._last: np.ndarray | None = None  # the last completed input
        self._seq = 0
        self.max_patterns = max(1, int(config.max_load * config.hippocampus.n_ca3))
        self.stores_refused = 0
        self.clears = 0
        self._command_stores: collections.deque[float] = collections.deque()  # monotonic s of recent ones

    @property
    def full(self) -> bool:
        """True once ``max_load`` patterns per CA3 cell are stored: nothing more is stored."""
        return self.stored >= self.max_patterns

    @property
    def stored(self) -> int:
        return self.hippocampus.n_stored

    def push(self, frames: SpikeFrames, t_us: int) -> list[Action]:
        """Count the block's input spikes (its first tick starts at sensor time ``t_us``); for each window that
        completes in it, consult the memory and return its ``recall`` and ``novelty`` actions."""
        if self.dt_us is None:
            raise ValueError("memory: this stage takes whole vectors (observe_vector), it has no tick length")
        ptr, ids = frames.tick_ptr, frames.neuron_ids
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.n_input):
            raise ValueError(f"memory: input neuron id outside 0..{self.n_input - 1}")
        actions: list[Action] = []
        tick, n_ticks = 0, frames.n_ticks
        while tick < n_ticks:
            take = min(self.window_ticks - self._filled, n_ticks - tick)
            lo, hi = int(ptr[tick]), int(ptr[tick + take])
            if hi > lo:
                self._counts += np.bincount(ids[lo:hi], minlength=self.n_input)
            tick += take
            self._filled += take
            if self._filled == self.window_ticks:
                actions += self._observe(self._counts.astype(np.float64), t_us + tick * self.dt_us)
                self._counts[:] = 0
                self._filled = 0
        return actions

    def observe_vector(self, x: np.ndarray, t_us: int) -> list[Action]:
        """One whole memory input (an utterance's input-map counts) ending at sensor time ``t_us``."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.n_input,):
            raise ValueError(f"memory: input must have shape ({self.n_input},), got {x.shape}")
        return self._observe(x.copy(), t_us)

    def _observe(self, x: np.ndarray, t_us: int) -> list[Action]:
        self.windows += 1
        self._last = x
        if x.sum() < self.config.min_activity:
            label, confidence, novelty, stored = -1, 0.0, 0.0, False
        else:
            found = self.hippocampus.observe(x, allow_store=self.store_on_novelty and not self.full)
            self.recalls += 1
            label, confidence, novelty, stored = found.label, found.confidence, found.novelty, found.stored
        self.last_novelty = round(float(novelty), 6)
        recall = Action("recall", (int(label), round(float(confidence), 6)), int(t_us), self._seq)
        news = Action("novelty", (self.last_novelty, int(stored)), int(t_us), self._seq + 1)
        self._seq += 2
        return [recall, news]

    def store(self, label: int | None = None) -> int:
        """Store the last input seen (with ``label`` in CA1 when given); return the stored CA3 set's size.

        ValueError (one line) when nothing was seen yet, the last input was below ``min_activity``, or the
        label is not an integer in 0..n_labels-1."""
        if label is not None and (isinstance(label, bool) or not isinstance(label, (int, np.integer))):
            raise ValueError(f"memory: label must be an integer, got {type(label).__name__}")
        n_labels = self.config.hippocampus.n_labels
        if label is not None and not 0 <= label < n_labels:
            raise ValueError(f"memory: label {label} out of range 0..{n_labels - 1}")
        if self._last is None:
            raise ValueError("memory: no input has completed yet; nothing to store")
        if self.full:
            raise ValueError(f"memory: full ({self.stored} patterns = memory.max_load {self.config.max_load} per "
                             f"CA3 cell); nothing stored")
        activity = int(self._last.sum())
        if activity < self.config.min_activity:
            raise ValueError(f"memory: the last input has {activity} spikes, below memory.min_activity = "
                             f"{self.config.min_activity}; nothing stored")
        return int(self.hippocampus.store(self._last, None if label is None else int(label)).size)

    def store_on_command(self, label: int | None, now_s: float) -> int:
        """``store`` for a control command at monotonic time ``now_s``: refused (ValueError, one line, counted in
        ``stores_refused``) when ``max_stores_per_s`` stores were obeyed within the last second; a store that
        fails for another reason takes no place in that budget."""
        recent = self._command_stores
        while recent and now_s - recent[0] >= 1.0:
            recent.popleft()
        limit = self.config.max_stores_per_s
        if len(recent) >= limit:
            self.stores_refused += 1
            raise ValueError(f"memory: refused, {len(recent)} stores in the last second (memory.max_stores_per_s "
                             f"= {limit}); retry later")
        size = self.store(label)
        recent.append(now_s)
        return size

    def clear(self) -> int:
        """Forget everything stored (CA3 synapses, perforant path, CA1 readout: as a fresh memory; the wiring,
        the counters and the open window stay); return how many patterns were stored. An empty memory is left
        as it is (no work: a flood of clears costs nothing)."""
        forgotten = self.stored
        if forgotten:
            self.hippocampus.restore({key: np.zeros_like(value) for key, value in self.hippocampus.state().items()})
            self.clears += 1
        return forgotten

    @property
    def load(self) -> float:
        """Patterns stored per CA3 cell."""
        return self.stored / self.config.hippocampus.n_ca3

    def status(self) -> dict:
        label_accuracy, novelty_auc = expected_quality(self.load)
        return {"memory_stored": self.stored, "memory_windows": self.windows, "memory_recalls": self.recalls,
                "last_novelty": self.last_novelty, "memory_full": self.full,
                "memory_stores_refused": self.stores_refused, "memory_clears": self.clears,
                "memory_load": round(self.load, 4), "memory_expected_label_accuracy": round(label_accuracy, 4),
                "memory_expected_novelty_auc": round(novelty_auc, 4)}

    def state(self) -> dict[str, np.ndarray]:
        """The memory's contents (unprefixed): see Hippocampus.state."""
        return self.hippocampus.state()

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load ``state()`` (unprefixed, as ``split_memory`` gives it): exactly Hippocampus.restore's strictness,
        so a missing, extra, mis-shaped or mis-typed array raises ValueError naming it and nothing is loaded."""
        self.hippocampus.restore(state)

    def meta(self) -> dict:
        """What a checkpoint records beside the arrays: input size and hippocampus parameters."""
        return {"n_input": self.n_input, "hippocampus": dataclasses.asdict(self.config.hippocampus)}

    def check_meta(self, meta: dict) -> None:
        """ValueError when a checkpoint's memory was wired differently (other size, seed or sparseness)."""
        if meta.get("n_input", self.n_input) != self.n_input:
            raise ValueError(f"memory: saved for {meta['n_input']} inputs, this stream has {self.n_input}")
        saved = meta.get("hippocampus") or {}
        for key in WIRING_KEYS:
            if key in saved and saved[key] != getattr(self.config.hippocampus, key):
                raise ValueError(f"memory: saved with memory.hippocampus.{key} = {saved[key]!r}, "
                                 f"configured {getattr(self.config.hippocampus, key)!r}")


def with_memory(arrays: dict[str, np.ndarray], stage: MemoryStage | None) -> dict[str, np.ndarray]:
    """``arrays`` plus the stage's contents under ``memory.`` (unchanged when there is no stage)."""
    if stage is None:
        return arrays
    return {**arrays, **{STATE_PREFIX + key: value for key, value in stage.state().items()}}


def split_memory(arrays: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(the other arrays, the memory's arrays without their prefix) of a checkpoint."""
    rest = {k: v for k, v in arrays.items() if not k.startswith(STATE_PREFIX)}
    memory = {k[len(STATE_PREFIX):]: v for k, v in arrays.items() if k.startswith(STATE_PREFIX)}
    return rest, memory
