"""A spiking word classifier trained with a local, label-gated three-factor rule.

Input: an ``Utterance`` (see ``snn.utterance``), replayed onto a tonotopic × relative-time map of
``n_inputs * n_bins`` neurons. Output: ``n_classes`` non-leaky integrate-and-fire readout neurons, fully
connected from the map. The winning class is the neuron with the largest total drive (spike count times
threshold plus the residual membrane potential).

Learning (three factors, all local to a synapse):

1. **Eligibility**: each synapse from map neuron j is tagged by its presynaptic spike count during the
   replay, divided by the L2 norm of all presynaptic counts (divisive normalisation, so loud and quiet
   words tag alike).
2. **Postsynaptic dopamine**: when a label arrives (in training, or as reward on ZMQ at run time) and the
   labelled neuron's normalised drive does not beat the strongest other neuron by ``margin``, the
   labelled neuron receives +1 and that rival -1; otherwise nothing is learned (the error is zero).
3. **Update**: w[j, c] += learning_rate * dopamine[c] * eligibility[j].

There is no gradient, no backpropagation and no classifier outside the network: the rule is the
perceptron's error-correcting Hebbian update in three-factor form (Frémaux & Gerstner 2016).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snn.utterance import Utterance, replay_frames
from snn.word_net_kernels import apply_modulated_eligibility, integrate_readout


@dataclass(frozen=True)
class WordNetConfig:
    """Parameters.

    Parameters
    ----------
    n_classes : readout neurons (words).
    n_bins : relative-time bins of the input map.
    replay_ticks : ticks of one replay.
    threshold : readout firing threshold, in weight units.
    learning_rate : weight change per unit of dopamine and eligibility.
    margin : normalised drive by which the labelled neuron must win before learning stops.
    temperature : softmax temperature that turns normalised drives into confidences.
    """

    n_classes: int = 10
    n_bins: int = 16
    replay_ticks: int = 32
    threshold: float = 1.0
    learning_rate: float = 1.0
    margin: float = 0.05
    temperature: float = 0.05

    def __post_init__(self) -> None:
        for key in ("n_classes", "n_bins", "replay_ticks"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"word_net.{key}: must be a positive integer, got {value!r}")
        for key in ("threshold", "learning_rate", "temperature"):
            if not getattr(self, key) > 0:
                raise ValueError(f"word_net.{key}: must be positive, got {getattr(self, key)!r}")
        if self.margin < 0:
            raise ValueError(f"word_net.margin: must be >= 0, got {self.margin!r}")


@dataclass(frozen=True)
class Decision:
    """The network's answer to one utterance: ``label``, ``confidence`` in [0, 1], normalised ``drive``
    per class, readout ``spike_counts``, and ``input_counts``: the replay's spike count per map neuron
    (int64, n_map), what the network saw."""

    label: int
    confidence: float
    drive: np.ndarray
    spike_counts: np.ndarray
    input_counts: np.ndarray


class WordNet:
    """Readout weights and the eligibility of the last utterance; ``present`` then optionally ``reinforce``."""

    def __init__(self, config: WordNetConfig, n_inputs: int) -> None:
        self.config = config
        self.n_inputs = int(n_inputs)
        self.n_map = self.n_inputs * config.n_bins
        self.weights = np.zeros((self.n_map, config.n_classes))
        self._pre_ids = np.zeros(0, dtype=np.int32)
        self._eligibility = np.zeros(0)
        self._drive = np.zeros(config.n_classes)

    def present(self, utterance: Utterance) -> Decision:
        """Replay ``utterance`` through the readout; keep its eligibility for a later ``reinforce``."""
        cfg = self.config
        if utterance.neuron_ids.size and int(utterance.neuron_ids.max()) >= self.n_inputs:
            raise ValueError(f"word_net: input neuron {int(utterance.neuron_ids.max())} out of range "
                             f"(network has {self.n_inputs} inputs)")
        frames = replay_frames(utterance, cfg.n_bins, cfg.replay_ticks)
        membrane_v = np.zeros(cfg.n_classes)
        spike_counts = np.zeros(cfg.n_classes, dtype=np.int64)
        integrate_readout(frames.tick_ptr, frames.neuron_ids, self.weights, cfg.threshold, membrane_v,
                          spike_counts)
        input_counts = np.bincount(frames.neuron_ids, minlength=self.n_map)
        pre_ids = np.flatnonzero(input_counts)
        pre_counts = input_counts[pre_ids]
        norm = float(np.sqrt(np.sum(pre_counts.astype(np.float64) ** 2)))
        self._pre_ids = pre_ids.astype(np.int32)
        self._eligibility = pre_counts / norm if norm > 0 else np.zeros(0)
        self._drive = (cfg.threshold * spike_counts + membrane_v) / norm if norm > 0 else np.zeros(cfg.n_classes)
        return Decision(int(np.argmax(self._drive)), self._confidence(self._drive), self._drive.copy(),
                        spike_counts, input_counts)

    def _confidence(self, drive: np.ndarray) -> float:
        z = (drive - drive.max()) / self.config.temperature
        p = np.exp(z)
        return float(p.max() / p.sum())

    def reinforce(self, label: int, learning_rate: float | None = None) -> bool:
        """Label-gated dopamine on the last utterance's eligibility; True when weights changed."""
        cfg = self.config
        if not 0 <= label < cfg.n_classes:
            raise ValueError(f"word_net: label {label!r} out of range 0..{cfg.n_classes - 1}")
        if self._pre_ids.size == 0:
            return False
        others = self._drive.copy()
        others[label] = -np.inf
        rival = int(np.argmax(others))
        if self._drive[label] - self._drive[rival] > cfg.margin:
            return False
        dopamine = np.zeros(cfg.n_classes)
        dopamine[label] = 1.0
        dopamine[rival] = -1.0
        rate = cfg.learning_rate if learning_rate is None else learning_rate
        apply_modulated_eligibility(self.weights, self._pre_ids, self._eligibility, dopamine, rate)
        return True

    def state(self) -> dict[str, np.ndarray]:
        """The learned state: readout weights (n_map, n_classes)."""
        return {"weights": self.weights.copy()}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Load ``state()``; raises ValueError when the shape does not fit this network."""
        weights = np.asarray(state["weights"])
        if weights.shape != self.weights.shape:
            raise ValueError(f"word_net: weights must have shape {self.weights.shape}, got {weights.shape}")
        self.weights[...] = weights
